"""What the platform simulator really sends (bot/laaffic/simulator) is accepted and stored."""

from __future__ import annotations

import json

from tests.laaffic.test_simulator_calls import Sandbox, wait_until
from tests.listener.conftest import ThreadedListener


def test_every_push_of_a_simulated_task_is_answered_200_and_stored_as_sent(
    start_simulator, threaded_listener: ThreadedListener
) -> None:
    running = start_simulator(
        speed=500,
        push_url=threaded_listener.push_url(),
        agent_answer_rate=0.4,
        answer_rate=0.7,
        seed=11,
    )
    sandbox = Sandbox(running, agents=3)
    task_id = sandbox.submit(12)
    sandbox.wait_status(task_id, 12, timeout=15)
    calls = wait_until(
        lambda: (
            len(rows := [r for r in threaded_listener.inbox_rows() if r.kind == "call"]) == 12
            and rows
        )
    )
    # The simulator notes an attempt once it has read the answer, just after the commit.
    attempts = wait_until(
        lambda: (
            len(seen := running.call(lambda: list(running.simulator.pushes.attempts)))
            == len(threaded_listener.inbox_rows())
            and seen
        )
    )
    assert all(a.status_code == 200 and a.attempt == 1 for a in attempts)
    rows = threaded_listener.inbox_rows()
    # Each body is stored as the simulator serialised it.
    sent = sorted(json.dumps(a.body, ensure_ascii=False) for a in attempts)
    assert sorted(r.body for r in rows) == sent
    assert {json.loads(r.body)["callSessionId"] for r in calls} == {
        a.body["callSessionId"] for a in attempts if a.kind == "record"
    }
    assert any(r.kind == "ringing" for r in rows)
    assert threaded_listener.dead_letters() == []
    sandbox.close()
