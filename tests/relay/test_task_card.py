"""The live task card against the simulator over real HTTP, stored in a real database: one card per
change, at most every few seconds, final state at the end, then no more polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, timedelta

import pytest

from bot.laaffic.client import LaafficClient
from bot.relay.task_card import (
    UNKNOWN_TO_PLATFORM,
    CardResult,
    TaskCardPoller,
    TaskProgress,
    edit_key,
    store_card,
)
from storage.db import Database
from storage.models import BoundChat, CallTask, utcnow
from tests.fakes.simulator import RunningSimulator
from tests.laaffic.test_simulator_calls import Sandbox
from tests.relay.conftest import TEAM, add_task, bind, outbox


@pytest.fixture
async def client(simulator: RunningSimulator) -> AsyncIterator[LaafficClient]:
    async with LaafficClient(
        simulator.base_url,
        simulator.config.api_key,
        simulator.config.api_secret,
        simulator.config.app_id,
    ) as c:
        yield c


UNTIL_ENDED = 10**9  # simulated seconds "submitting": until the test calls end_submitting()


def cards(db: Database, task_id: int) -> list[str]:
    return [m.text for m in outbox(db, TEAM) if m.edit_key == edit_key(task_id)]


async def wait_status(sandbox: Sandbox, task_id: int, status: int) -> None:
    await asyncio.to_thread(sandbox.wait_status, task_id, status, 20)


async def make_client(running: RunningSimulator) -> LaafficClient:
    c = running.config
    return LaafficClient(running.base_url, c.api_key, c.api_secret, c.app_id)


async def test_a_task_gets_one_card_per_change_that_ends_completed(
    database: Database, start_simulator
) -> None:
    # The task stays submitting until the test ends that phase: the polls that must see no
    # change do not race the simulator's clock.
    running = start_simulator(speed=300, submit_delay_s=UNTIL_ENDED, answer_rate=0.5, seed=4)
    sandbox = Sandbox(running, agents=2)
    task_id = sandbox.submit(8, remark="March leads")
    bind(database, TEAM, thread_id=9)
    add_task(database, task_id, TEAM, remark="March leads")
    client = await make_client(running)
    try:
        poller = TaskCardPoller(database, client, UTC)
        assert await poller.poll() == 1
        (first,) = cards(database, task_id)
        assert f"Task <code>{task_id}</code></b> — submitting · March leads" in first
        assert "Called 0 of 8 (0.0%) · remaining 8" in first
        assert [m.thread_id for m in outbox(database, TEAM)] == [9]
        before = dict(running.simulator.requests)
        assert await poller.poll() == 0  # nothing changed: one task query, no detail queries
        after = running.simulator.requests
        assert after["/v3/cc/preview/query"] - before.get("/v3/cc/preview/query", 0) == 1
        assert after["/v3/cc/preview/queryTaskDetail"] == before["/v3/cc/preview/queryTaskDetail"]
        # Another replica (its own memory) sees the same card in the outbox and adds none.
        assert await TaskCardPoller(database, client, UTC).poll() == 0

        running.simulator.engine.end_submitting(task_id)
        await wait_status(sandbox, task_id, 12)
        assert await poller.poll() == 1
        final = cards(database, task_id)[-1]
        numbers = sandbox.numbers(task_id)
        answered = sum(n["status"] == 9 for n in numbers)
        failed = sum(n["status"] == 7 for n in numbers)
        task = sandbox.task(task_id)
        assert "— completed" in final and "Called 8 of 8 (100.0%) · remaining 0" in final
        assert f"Answered {answered} · transferred {task['transfersNum']}" in final
        assert f"failed {failed}" in final
        assert "Final counters" in final
        assert database.call(lambda s: s.get(CallTask, task_id)).last_status == 12
        queries = running.simulator.requests["/v3/cc/preview/query"]
        assert await poller.poll() == 0  # final: not polled any more
        assert running.simulator.requests["/v3/cc/preview/query"] == queries
        assert all(m.kind == "task_card" for m in outbox(database, TEAM))
    finally:
        await client.aclose()


async def test_a_cancelled_task_ends_its_card_with_cancelled(
    database: Database, start_simulator
) -> None:
    running = start_simulator(speed=20, submit_delay_s=0, seed=5)
    sandbox = Sandbox(running, agents=1)
    task_id = sandbox.submit(30)
    bind(database, TEAM)
    add_task(database, task_id, TEAM)
    client = await make_client(running)
    try:
        poller = TaskCardPoller(database, client, UTC)
        await poller.poll()
        await client.cancel_task(task_id)
        await wait_status(sandbox, task_id, 14)
        assert await poller.poll() == 1
        final = cards(database, task_id)[-1]
        assert final.startswith("✖") and "— cancelled" in final
        assert database.call(lambda s: s.get(CallTask, task_id)).last_status == 14
    finally:
        await client.aclose()


async def test_a_task_the_platform_never_shows_stops_being_polled_after_an_hour(
    database: Database, client: LaafficClient
) -> None:
    bind(database, TEAM)
    add_task(database, 990001, TEAM, created_at=utcnow() - timedelta(hours=2))
    add_task(database, 990002, TEAM)  # just submitted: the platform may not list it yet
    assert await TaskCardPoller(database, client, UTC).poll() == 0
    assert database.call(lambda s: s.get(CallTask, 990001)).last_status == UNKNOWN_TO_PLATFORM
    assert database.call(lambda s: s.get(CallTask, 990002)).last_status is None
    assert outbox(database) == []


async def test_tasks_of_unbound_chats_and_old_tasks_are_not_polled(
    database: Database, simulator: RunningSimulator, client: LaafficClient
) -> None:
    bind(database, TEAM, active=False)
    add_task(database, 990003, TEAM)
    bind(database, -5, title="other")
    add_task(database, 990004, -5, created_at=utcnow() - timedelta(days=4))
    before = simulator.simulator.requests.get("/v3/cc/preview/query", 0)
    assert await TaskCardPoller(database, client, UTC).poll() == 0
    assert simulator.simulator.requests.get("/v3/cc/preview/query", 0) == before


def progress(**changes: object) -> TaskProgress:
    values = dict(
        task_id=77, state="calling", status=11, total=10, remaining=8, transferred=1, lost=0
    )
    values.update(changes)
    return TaskProgress(**values)  # type: ignore[arg-type]


def test_a_changed_card_waits_for_its_interval_but_a_final_one_never_does(
    database: Database,
) -> None:
    bind(database, TEAM)
    add_task(database, 77, TEAM)
    chat = database.call(lambda s: s.get(BoundChat, TEAM))
    t0 = utcnow()

    def store(p: TaskProgress, at) -> CardResult:  # noqa: ANN001
        return database.call(lambda s: store_card(s, 77, chat, p, UTC, at))

    assert store(progress(updated_at=t0), t0) is CardResult.STORED
    later = t0 + timedelta(seconds=2)
    assert store(progress(updated_at=later), later) is CardResult.UNCHANGED  # same counters
    changed = progress(remaining=6, updated_at=later)
    assert store(changed, later) is CardResult.TOO_SOON
    assert len(cards(database, 77)) == 1
    at = t0 + timedelta(seconds=6)
    assert store(progress(remaining=6, updated_at=at), at) is CardResult.STORED
    at = t0 + timedelta(seconds=7)
    done = progress(state="completed", status=12, remaining=0, final=True, updated_at=at)
    assert store(done, at) is CardResult.STORED
    assert len(cards(database, 77)) == 3
    assert database.call(lambda s: s.get(CallTask, 77)).last_status == 12
    assert database.call(lambda s: store_card(s, 78, chat, done, UTC, at)) is CardResult.GONE
