"""The simulator's call engine, pushes and fault injection, over real HTTP at high speed."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.laaffic.limits import CALLOUT_RATE_MAX
from bot.laaffic.simulator import SimulatorConfig
from tests.fakes.simulator import PushReceiver, RunningSimulator, SignedClient

APP = "HsiT9A6d"
RINGING_FIELDS = {
    "callId",
    "type",
    "taskId",
    "called",
    "calledInfo",
    "seatGroupName",
    "noAnswerSipList",
    "sipAccount",
    "callinEventTime",
}
RECORD_FIELDS = {
    "callId", "callSessionId", "called", "calledInfo", "caller", "ccode", "ccodeName", "agentName",
    "agentGroupName", "agentAccount", "callDuration", "callType", "hangupCode", "hangupReason",
    "hangingDirection", "labels", "baseCost", "cost", "remark", "callStartTime", "answerTime", "callEndTime",
    "voiceUrl",
}  # fmt: skip
WIDE_WINDOW = {"startTime": "2000-01-01 00:00:00", "endTime": "2100-01-01T00:00:00+08:00"}


def wait_until(check: Callable[[], Any], timeout: float = 8.0, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(every)


class Sandbox:
    """A group with agents and helpers to run tasks on one simulator."""

    def __init__(
        self,
        running: RunningSimulator,
        agents: int = 3,
        group_name: str = "call team",
        app_id: str = APP,
    ) -> None:
        self.running = running
        self.platform = SignedClient(running)
        self.platform.data("/v3/cc/seatGroup/addGroup", {"appId": app_id, "groupName": group_name})
        records = self.platform.data(
            "/v3/cc/seatGroup/query", {"current": 1, "size": 10, "params": {}}
        )["records"]
        self.group_id = next(r["voiceGroupId"] for r in records if r["groupName"] == group_name)
        self.agents = (
            self.platform.data(
                "/v3/cc/seat/addSeatList", {"voiceGroupId": self.group_id, "size": agents}
            )
            if agents
            else []
        )

    def submit(self, count: int, **extra: Any) -> int:
        rows = "phone,name,city\n" + "".join(
            f"9198{i:08d},Customer {i},Pune\n" for i in range(count)
        )
        upload = self.platform.data(
            "/v3/cc/preview/upload",
            {"fileName": "callees.csv", "file": base64.b64encode(rows.encode()).decode()},
        )
        body = {
            "filePath": upload["filePath"],
            "fileName": "callees.csv",
            "type": 1,
            "voiceGroupId": [self.group_id],
            "appId": APP,
            "calloutRate": 1,
            **extra,
        }
        return self.platform.data("/v3/cc/preview/submitTask", body)

    def task(self, task_id: int) -> dict:
        page = self.platform.data(
            "/v3/cc/preview/query", {"current": 1, "size": 10, "params": {"taskId": task_id}}
        )
        return page["records"][0]

    def numbers(self, task_id: int, **params: Any) -> list[dict]:
        body = {"current": 1, "size": 100, "params": {"taskId": task_id, **params}}
        return self.platform.data("/v3/cc/preview/queryTaskDetail", body)["records"]

    def wait_status(self, task_id: int, status: int, timeout: float = 10.0) -> dict:
        return wait_until(lambda: (t := self.task(task_id))["taskStatus"] == status and t, timeout)

    def records(self, **params: Any) -> list[dict]:
        body = {"current": 1, "size": 100, "params": {**WIDE_WINDOW, **params}}
        return self.platform.data("/v3/cc/record/query", body)["records"]

    def close(self) -> None:
        self.platform.close()


def test_a_task_goes_from_submitting_to_calling_to_completed_with_progress(start_simulator) -> None:
    # Submitting until the test ends it, so the first look sees it however slow the machine.
    running = start_simulator(speed=400, submit_delay_s=10**9, seed=3)
    sandbox = Sandbox(running, agents=3)
    task_id = sandbox.submit(12, remark="first run")
    first = sandbox.task(task_id)
    assert (
        first["taskStatus"],
        first["finishFlag"],
        first["remainCount"],
        first["totalCount"],
    ) == (16, 0, 12, 12)
    assert first["completedRate"] == "0.00%" and first["voiceGroupId"] == [sandbox.group_id]
    assert all(n["status"] == 5 and n["callCount"] == 0 for n in sandbox.numbers(task_id))

    running.simulator.engine.end_submitting(task_id)
    calling = sandbox.wait_status(task_id, 11)
    assert calling["finishFlag"] == 0
    seen_statuses: set[int] = set()

    def done() -> dict | None:
        rows = sandbox.numbers(task_id)
        seen_statuses.update(r["status"] for r in rows)
        task = sandbox.task(task_id)
        return task if task["taskStatus"] == 12 else None

    finished = wait_until(done, timeout=15)
    assert 1 in seen_statuses  # numbers were seen while being called
    assert (finished["finishFlag"], finished["remainCount"], finished["completedRate"]) == (
        1,
        0,
        "100.00%",
    )
    rows = sandbox.numbers(task_id)
    assert {r["status"] for r in rows} <= {7, 9} and all(r["callCount"] == 1 for r in rows)
    assert rows[0]["var01"] == "Customer 0" and rows[0]["var02"] == "Pune"
    assert all(r["errorReason"] for r in rows if r["status"] == 7)
    assert all(r["callId"] for r in rows)

    records = sandbox.records()
    assert len(records) == 12 and {r["callId"] for r in records} == {r["callId"] for r in rows}
    transferred = [r for r in records if r["hangupReason"] == 3]
    assert finished["transfersNum"] == len(transferred) > 0
    assert finished["callFailuresNum"] == sum(1 for r in records if r["hangupReason"] == 2)
    assert {r["seatName"] for r in rows if r["seatName"]} <= {a["name"] for a in sandbox.agents}
    agents = sandbox.platform.data("/v3/cc/seat/query", {"current": 1, "size": 10, "params": {}})[
        "records"
    ]
    assert sum(a["connectNum"] for a in agents) == len(transferred)
    assert all(a["status"] == 2 for a in agents)
    spent = sum(float(r["cost"]) for r in records)
    balance = sandbox.platform.get("/v3/getBalance")["balance"]
    assert spent > 0 and float(balance) == pytest.approx(100 - spent)
    sandbox.close()


def test_agents_on_a_call_are_busy_and_cannot_be_deleted_or_disabled(start_simulator) -> None:
    sandbox = Sandbox(
        start_simulator(speed=20, answer_rate=1.0, agent_answer_rate=1.0, early_hangup_rate=0),
        agents=1,
    )
    task_id = sandbox.submit(3)
    seat_query = {"current": 1, "size": 10, "params": {"status": 3}}
    busy = wait_until(lambda: sandbox.platform.data("/v3/cc/seat/query", seat_query)["records"])
    key_id = busy[0]["keyId"]
    assert (
        sandbox.platform.post("/v3/cc/seat/batchingSeat", {"type": 2, "idList": [key_id]})["status"]
        == "-68"
    )
    assert (
        sandbox.platform.post("/v3/cc/seat/batchingSeat", {"type": 3, "idList": [key_id]})["status"]
        == "-67"
    )
    sandbox.platform.data("/v3/cc/preview/agent/cancelTask", {"taskId": task_id})
    sandbox.close()


def test_cancel_then_resend_the_uncalled_numbers(start_simulator) -> None:
    sandbox = Sandbox(start_simulator(speed=500, seed=5, submit_delay_s=100), agents=4)
    task_id = sandbox.submit(24)
    sandbox.wait_status(task_id, 11)
    wait_until(lambda: any(n["status"] in (7, 9) for n in sandbox.numbers(task_id)))
    assert (
        sandbox.platform.data("/v3/cc/preview/agent/cancelTask", {"taskId": str(task_id)}) is None
    )
    cancelled = sandbox.task(task_id)
    assert cancelled["taskStatus"] == 14 and cancelled["finishFlag"] == 1
    assert (
        sandbox.platform.post("/v3/cc/preview/agent/cancelTask", {"taskId": task_id})["status"]
        == "-41"
    )
    edit = {"taskId": task_id, "calloutRate": 2}
    assert sandbox.platform.post("/v3/cc/preview/agent/editTask", edit)["status"] == "-41"

    resend = {
        "taskId": task_id,
        "resendType": 2,
        "type": 1,
        "voiceGroupId": [sandbox.group_id],
        "appId": APP,
        "calloutRate": 3,
    }
    # The call in progress when the task was cancelled still runs; until it ends, the task can't re-run.
    wait_until(lambda: not any(n["status"] == 1 for n in sandbox.numbers(task_id)))
    wait_until(lambda: sandbox.platform.post("/v3/cc/preview/resendTask", resend)["status"] == "0")
    uncalled_before = sum(1 for n in sandbox.numbers(task_id) if n["callCount"] == 0)
    assert uncalled_before > 0
    assert sandbox.task(task_id)["taskStatus"] == 16
    assert sandbox.platform.post("/v3/cc/preview/resendTask", resend)["status"] == "-41"
    sandbox.wait_status(task_id, 12, timeout=15)
    rows = sandbox.numbers(task_id)
    assert all(n["status"] in (7, 9) for n in rows)
    assert sandbox.platform.post("/v3/cc/preview/resendTask", resend)["status"] == "-42"

    failed = sum(1 for n in rows if n["status"] == 7)
    again = sandbox.platform.post("/v3/cc/preview/resendTask", {**resend, "resendType": 1})
    assert again["status"] == ("0" if failed else "-42")
    if failed:
        sandbox.wait_status(task_id, 12, timeout=15)
        retried = [n for n in sandbox.numbers(task_id) if n["callCount"] == 2]
        assert len(retried) == failed
    sandbox.close()


def test_an_automatic_call_task_without_groups_calls_without_agents(
    start_simulator, push_receiver: PushReceiver
) -> None:
    running = start_simulator(speed=2000, push_url=push_receiver.url, auto_call_concurrency=3)
    sandbox = Sandbox(running, agents=2)
    rows = "919800000001\n919800000002\n919800000003\n919800000004\n"
    upload = sandbox.platform.data(
        "/v3/cc/preview/upload",
        {"fileName": "auto.csv", "file": base64.b64encode(rows.encode()).decode()},
    )
    body = {
        "filePath": upload["filePath"],
        "fileName": "auto.csv",
        "type": 0,
        "displayNum": "4455",
        "ccode": "91",
    }
    task_id = sandbox.platform.data("/v3/cc/preview/submitTask", body)
    task = sandbox.wait_status(task_id, 12)
    assert (task["taskType"], task["transfersNum"], task["voiceGroupId"]) == (0, 0, [])
    records = [r.body for r in push_receiver.wait_for(4, kind="record")]
    assert {r["callType"] for r in records} == {3} and {r["caller"] for r in records} == {"4455"}
    assert all(r["agentName"] is None for r in records) and push_receiver.of_kind("ringing") == []
    assert (
        sandbox.platform.post(
            "/v3/cc/preview/agent/editTask", {"taskId": task_id, "calloutRate": 2}
        )["status"]
        == "-22"
    )
    sandbox.close()


def test_edit_task_changes_rate_and_remark(start_simulator) -> None:
    sandbox = Sandbox(start_simulator(speed=20, submit_delay_s=1000), agents=1)
    task_id = sandbox.submit(2)
    assert (
        sandbox.platform.data(
            "/v3/cc/preview/agent/editTask",
            {"taskId": task_id, "calloutRate": 3, "remark": "faster"},
        )
        is None
    )
    task = sandbox.task(task_id)
    assert (task["calloutRate"], task["remark"]) == (3, "faster")
    assert (
        sandbox.platform.post(
            "/v3/cc/preview/agent/editTask",
            {"taskId": task_id, "calloutRate": CALLOUT_RATE_MAX + 1},
        )["status"]
        == "-22"
    )
    assert (
        sandbox.platform.post(
            "/v3/cc/preview/agent/editTask",
            {"taskId": task_id, "calloutRate": 2, "remark": "x" * 51},
        )["status"]
        == "-22"
    )
    assert (
        sandbox.platform.post("/v3/cc/preview/agent/editTask", {"taskId": 1, "calloutRate": 2})[
            "status"
        ]
        == "-24"
    )
    sandbox.close()


def test_a_task_using_a_group_of_another_application_is_minus_74_on_resend(start_simulator) -> None:
    running = start_simulator(speed=200)
    sandbox = Sandbox(running, agents=1)
    theirs = Sandbox(running, agents=0, group_name="their team", app_id="Xq7Lm2Pa")
    task_id = sandbox.submit(1)
    sandbox.wait_status(task_id, 12)
    resend = {
        "taskId": task_id,
        "resendType": 3,
        "type": 1,
        "voiceGroupId": [theirs.group_id],
        "appId": APP,
        "calloutRate": 1,
    }
    assert sandbox.platform.post("/v3/cc/preview/resendTask", resend)["status"] == "-74"
    sandbox.close()
    theirs.close()


def test_pushes_follow_the_documented_shapes_and_match_record_query(
    start_simulator, push_receiver: PushReceiver
) -> None:
    running = start_simulator(
        speed=500, push_url=push_receiver.url, agent_answer_rate=0.4, answer_rate=0.7, seed=11
    )
    sandbox = Sandbox(running, agents=3)
    task_id = sandbox.submit(15)
    sandbox.wait_status(task_id, 12, timeout=15)
    records = [r.body for r in push_receiver.wait_for(15, kind="record")]
    rings = [r.body for r in push_receiver.of_kind("ringing")]

    assert all(set(r) == RECORD_FIELDS for r in records)
    assert len({r["callSessionId"] for r in records}) == 15
    agent_names = {a["name"] for a in sandbox.agents}
    for r in records:
        assert r["callType"] == 1 and r["ccode"] == "91" and r["ccodeName"] == "India"
        assert r["hangupReason"] in range(10) and r["hangingDirection"] in (0, 1, 3)
        assert r["calledInfo"] == f"Customer {int(r['called'][4:])},Pune"
        assert time.strptime(r["callStartTime"], "%Y-%m-%d %H:%M:%S")
        assert r["callEndTime"] >= r["callStartTime"]
        if r["hangupReason"] == 3:
            assert r["agentName"] in agent_names and r["agentAccount"] == r["agentName"]
            assert r["agentGroupName"] == "call team" and r["answerTime"] and r["callDuration"] > 0
            assert float(r["cost"]) > 0
        if r["answerTime"] is None:
            assert r["callDuration"] == 0 and r["cost"] == "0.0000"
    assert 0 < sum(1 for r in records if r["answerTime"]) < 15

    assert rings and all(isinstance(body, list) and len(body) == 1 for body in rings)
    events = [body[0] for body in rings]
    assert all(
        set(e) == RINGING_FIELDS and e["type"] == 1 and e["taskId"] == task_id for e in events
    )
    assert {e["sipAccount"] for e in events} <= agent_names
    by_call: dict[str, list[dict]] = {}
    for e in events:
        by_call.setdefault(e["callId"], []).append(e)
    for call_events in by_call.values():
        # Each new ring lists the agents that already rang and did not answer. Pushes travel
        # concurrently and may arrive out of order, so the rings are put back in order first.
        call_events.sort(key=lambda e: len(e["noAnswerSipList"]))
        for i, e in enumerate(call_events):
            assert e["noAnswerSipList"] == [x["sipAccount"] for x in call_events[:i]]
    assert any(len(c) >= 2 for c in by_call.values())
    assert set(by_call) <= {r["callId"] for r in records}
    # The moment of the ring, in UTC+8, lies within its call.
    first = events[0]
    call = next(r for r in records if r["callId"] == first["callId"])
    assert call["callStartTime"] <= first["callinEventTime"] <= call["callEndTime"]

    queried = sandbox.records()
    assert sorted(queried, key=lambda r: r["callSessionId"]) == sorted(
        records, key=lambda r: r["callSessionId"]
    )
    older = sandbox.platform.data(
        "/v3/voice/ccRecordQuery",
        {
            "current": 1,
            "size": 100,
            "params": {
                "strTime": records[0]["callStartTime"][:10] + " 00:00:00",
                "endTime": records[0]["callStartTime"][:10] + "T23:59:59+08:00",
            },
        },
    )
    assert older["total"] == 15
    answered_to_agent = sandbox.records(hangupReason=[3])
    assert len(answered_to_agent) == sum(1 for r in records if r["hangupReason"] == 3)
    one = records[0]
    assert [r["callSessionId"] for r in sandbox.records(calledOrCaller=one["called"])] == [
        one["callSessionId"]
    ]
    assert sandbox.records(startTime="2001-01-01 00:00:00", endTime="2001-01-02 00:00:00") == []
    assert (
        sandbox.platform.post(
            "/v3/cc/record/query",
            {"current": 1, "size": 10, "params": {"startTime": "yesterday", "endTime": "today"}},
        )["status"]
        == "-11"
    )
    assert (
        sandbox.platform.post("/v3/cc/record/query", {"current": 1, "size": 10, "params": {}})[
            "status"
        ]
        == "-22"
    )
    too_wide = {"strTime": "2025-01-01 00:00:00", "endTime": "2025-03-01 00:00:00"}
    assert (
        sandbox.platform.post(
            "/v3/voice/ccRecordQuery", {"current": 1, "size": 10, "params": too_wide}
        )["status"]
        == "-25"
    )
    sandbox.close()


def test_ringing_pushes_are_retried_at_once_up_to_3_attempts(
    start_simulator, push_receiver: PushReceiver
) -> None:
    # One customer who answers, three agents who all let it ring: three ringing events, one record.
    running = start_simulator(
        speed=80,
        push_url=push_receiver.url,
        answer_rate=1.0,
        agent_answer_rate=0.0,
        early_hangup_rate=0,
        record_retry_interval_s=0.3,
    )
    sandbox = Sandbox(running, agents=3)
    push_receiver.fail_next(5, status=503, kind="ringing")
    push_receiver.fail_next(2, status=500, kind="record")
    sandbox.submit(1)
    records = push_receiver.wait_for(3, kind="record", timeout=10)
    rings = push_receiver.of_kind("ringing")
    sent = [r.body[0]["sipAccount"] for r in rings]
    first, second, third = (a["name"] for a in sandbox.agents)
    # First event: 3 failed attempts, then given up. Second: 2 failures and a success. Third: at once.
    assert sent == [first] * 3 + [second] * 3 + [third]
    assert [r.answered for r in rings] == [503] * 5 + [200, 200]
    assert rings[2].at - rings[0].at < 0.25  # immediate retries, not spaced
    assert [r.body[0]["noAnswerSipList"] for r in rings[::3]] == [[], [first], [first, second]]

    assert [r.answered for r in records] == [500, 500, 200]
    assert records[0].body == records[1].body == records[2].body
    assert records[0].body["hangupReason"] == 2 and records[0].body["agentName"] is None
    gaps = [b.at - a.at for a, b in zip(records, records[1:], strict=False)]
    assert all(0.25 <= gap < 1.5 for gap in gaps), gaps

    def record_attempts() -> list[tuple]:
        attempts = running.call(lambda: list(running.simulator.pushes.attempts))
        return [(a.attempt, a.status_code) for a in attempts if a.kind == "record"]

    # The simulator's own log of what it sent agrees (once its last answer is in).
    assert wait_until(lambda: len(record_attempts()) == 3)
    assert record_attempts() == [(1, 500), (2, 500), (3, 200)]
    sandbox.close()


def test_a_record_push_is_given_up_after_3_retries(
    start_simulator, push_receiver: PushReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    running = start_simulator(
        speed=500, push_url=push_receiver.url, answer_rate=0.0, record_retry_interval_s=0.05
    )
    sandbox = Sandbox(running, agents=1)
    push_receiver.fail_next(10, kind="record")
    sandbox.submit(1)
    push_receiver.wait_for(4, kind="record")
    # Once the simulator says it gave up, no attempt can follow (no quiet spell to wait out).
    wait_until(lambda: "gave up on a record push after 4 attempts" in caplog.text)
    assert len(push_receiver.of_kind("record")) == 4  # one attempt + 3 retries
    assert len(sandbox.records()) == 1  # the record stays queryable
    sandbox.close()


def outcomes(seed: int, start_simulator) -> list[tuple]:
    sandbox = Sandbox(start_simulator(speed=2000, seed=seed), agents=1)
    task_id = sandbox.submit(6)
    sandbox.wait_status(task_id, 12, timeout=15)
    result = sorted(
        (
            r["called"],
            r["hangupReason"],
            r["callDuration"],
            r["hangingDirection"],
            r["agentName"],
            r["hangupCode"],
        )
        for r in sandbox.records()
    )
    sandbox.close()
    return result


def test_the_same_seed_gives_the_same_calls(start_simulator) -> None:
    first = outcomes(7, start_simulator)
    assert first == outcomes(7, start_simulator)
    assert first != outcomes(8, start_simulator)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_call_times_are_the_platform_clock_in_its_zone(start_simulator, zone: str) -> None:
    sandbox = Sandbox(start_simulator(speed=500, platform_timezone=zone), agents=1)
    sandbox.wait_status(sandbox.submit(1), 12)
    start = datetime.strptime(sandbox.records()[0]["callStartTime"], "%Y-%m-%d %H:%M:%S")
    now_there = datetime.now(UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    assert abs((now_there - start).total_seconds()) < 60
    sandbox.close()


def test_an_unknown_platform_timezone_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="not an IANA time zone"):
        SimulatorConfig(platform_timezone="Mars/Olympus")


# --- fault injection ---------------------------------------------------------------------------------


def groups(platform: SignedClient) -> list[str]:
    page = platform.data("/v3/cc/seatGroup/query", {"current": 1, "size": 100, "params": {}})
    return [g["groupName"] for g in page["records"]]


# A delayed answer is held far longer than the client waits for it, so the client's timeout fires
# because of the fault whatever the machine's load; every other request waits as long as it needs.
FAULT_DELAY_S = 2.0
GIVE_UP_S = 0.3


def test_fault_injection(simulator: RunningSimulator) -> None:
    platform = SignedClient(simulator)
    sim = simulator.simulator
    path = "/v3/cc/seatGroup/addGroup"

    simulator.call(sim.inject_fault, path, "http_500")
    response = platform.http.post(
        path, json={"appId": APP, "groupName": "alpha"}, headers=simulator.headers()
    )
    assert response.status_code == 500 and groups(platform) == []
    assert platform.post(path, {"appId": APP, "groupName": "alpha"})["status"] == "0"  # only once

    simulator.call(sim.inject_fault, path, "delay_after_apply", FAULT_DELAY_S)
    with pytest.raises(httpx.ReadTimeout):
        platform.post(path, {"appId": APP, "groupName": "bravo"}, timeout=GIVE_UP_S)
    assert "bravo" in groups(platform)  # applied although the client gave up: an ambiguous create

    simulator.call(sim.inject_fault, path, "delay_before_apply", FAULT_DELAY_S)
    with pytest.raises(httpx.ReadTimeout):
        platform.post(path, {"appId": APP, "groupName": "charlie"}, timeout=GIVE_UP_S)
    assert "charlie" not in groups(platform)

    simulator.call(sim.inject_fault, path, "drop", 0, 2)
    for name in ("delta", "echo"):
        # The connection closes without an answer: the client reads its end (EOF), or a reset
        # when the server closed it with the request body still unread (it depends on timing).
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            platform.post(path, {"appId": APP, "groupName": name})
    assert not {"delta", "echo"} & set(groups(platform))

    assert sim.requests[path] == 6
    with pytest.raises(ValueError):
        sim.inject_fault(path, "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sim.inject_fault("/v3/cc/nothing", "drop")
    wait_until(
        lambda: "charlie" in groups(platform)
    )  # the delayed request is applied after its delay
    platform.close()
