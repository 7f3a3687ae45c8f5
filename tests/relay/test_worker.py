"""The relay worker on a real SQLite file and (with TEST_DATABASE_URL) a real PostgreSQL: stored
pushes become typed rows and outbox messages exactly once, routed to the right chats."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.metrics import INBOX_DEPTH, REGISTRY
from bot.relay.ingest import InboxWriter
from bot.relay.parse import PushKind
from bot.relay.routing import unrouted_groups
from bot.relay.worker import MAX_ATTEMPTS, RelayWorker
from storage.db import Database
from storage.models import (
    CallRecord,
    CallRollup,
    InboxStatus,
    PushInbox,
    RingingEvent,
    RingRollup,
    utcnow,
)
from tests.relay.conftest import (
    MANAGERS,
    SHANGHAI,
    TASK_CHAT,
    TEAM,
    add_push,
    add_pushes,
    add_task,
    bind,
    call_record,
    drain,
    inbox,
    outbox,
    ringing_event,
    route,
)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rows(db: Database, model: type) -> list[Any]:
    return db.call(lambda s: list(s.exec(select(model).order_by(model.id))))


def new_worker(db: Database, name: str, **options: Any) -> RelayWorker:
    return RelayWorker(db, platform_tz=SHANGHAI, default_zone=ZoneInfo("UTC"), name=name, **options)


def test_the_platforms_retries_and_repeated_events_give_one_row_and_one_message(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM, notify_calls="each")
    route(database, "Sales-Team-1", TEAM)
    before = metric("ccbot_pushes_duplicate_total", kind="ringing")
    before_calls = metric("ccbot_pushes_duplicate_total", kind="call")
    for _ in range(3):  # the platform retries a ringing push at once, up to 3 attempts
        add_push(database, "ringing", [ringing_event()])
    add_push(database, "ringing", [ringing_event(), ringing_event()])  # the same event twice
    add_push(database, "call", call_record())
    add_push(database, "call", call_record())  # a record retried 30 minutes later
    outcome = drain(worker)
    assert outcome.done == 6 and outcome.failed == 0
    assert len(rows(database, RingingEvent)) == 1
    assert len(rows(database, CallRecord)) == 1
    assert [m.kind for m in outbox(database, TEAM)] == ["ringing", "call"]
    assert all(r.status == InboxStatus.DONE for r in inbox(database))
    assert metric("ccbot_pushes_duplicate_total", kind="ringing") - before == 4
    assert metric("ccbot_pushes_duplicate_total", kind="call") - before_calls == 1
    # A later ring of the same call to another agent is a new event, and a new message.
    add_push(database, "ringing", [ringing_event(sipAccount="1344C025cb_003")])
    drain(worker)
    assert len(outbox(database, TEAM)) == 3


def test_a_group_routed_to_several_chats_and_a_task_from_another_reaches_each_once(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    bind(database, MANAGERS, thread_id=77)  # a forum topic
    bind(database, TASK_CHAT)
    route(database, "Sales-Team-1", TEAM)
    route(database, "Sales-Team-1", MANAGERS)
    add_task(database, 561235, TASK_CHAT)
    add_task(database, 561236, TEAM)  # submitted from a chat that also routes the group
    add_push(database, "ringing", [ringing_event()])
    add_push(database, "ringing", [ringing_event(taskId=561236, sipAccount="other")])
    drain(worker)
    sent = outbox(database)
    assert sorted(m.chat_id for m in sent) == sorted([TEAM, MANAGERS, TASK_CHAT, TEAM, MANAGERS])
    assert {m.thread_id for m in sent if m.chat_id == MANAGERS} == {77}
    assert {m.thread_id for m in sent if m.chat_id != MANAGERS} == {None}


def test_a_call_record_reaches_the_chat_of_the_task_its_call_rang_for(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TASK_CHAT, notify_calls="each")
    add_task(database, 561235, TASK_CHAT)
    # The ringing event of the call (at 13:42:35 Shanghai, during the call) carries the task id.
    add_push(
        database,
        "ringing",
        [ringing_event(callId="23111714122312000001", callinEventTime="2023-11-17 13:42:35")],
    )
    add_push(database, "call", call_record(agentGroupName="Nobody-Routes-This"))
    drain(worker)
    assert [m.kind for m in outbox(database, TASK_CHAT)] == ["ringing", "call"]


def test_the_exact_group_name_wins_and_otherwise_any_case_matches(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    bind(database, MANAGERS)
    route(database, "Sales", TEAM, group_id=1)
    route(database, "SALES", MANAGERS, group_id=2)
    route(database, "support-team", MANAGERS, group_id=3)
    add_push(database, "ringing", [ringing_event(seatGroupName="Sales")])
    add_push(
        database,
        "ringing",
        [ringing_event(seatGroupName="Support-Team", taskId=None, sipAccount="b")],
    )
    drain(worker)
    assert [m.chat_id for m in outbox(database)] == [TEAM, MANAGERS]


def test_inactive_routes_and_unbound_chats_get_nothing(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM, active=False)
    bind(database, MANAGERS)
    route(database, "Sales-Team-1", TEAM)
    route(database, "Sales-Team-1", MANAGERS, active=False)
    add_push(database, "ringing", [ringing_event(taskId=None)])
    drain(worker)
    assert outbox(database) == []


def test_a_push_for_a_group_nobody_routes_is_kept_counted_and_listed(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    before = metric("ccbot_pushes_unrouted_total", kind="ringing")
    before_calls = metric("ccbot_pushes_unrouted_total", kind="call")
    now = utcnow()
    stamp = (now + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")  # now, in Shanghai
    add_push(
        database,
        "ringing",
        [ringing_event(seatGroupName="Night-Shift", taskId=None, callinEventTime=stamp)],
    )
    add_push(database, "call", call_record(agentGroupName="Night-Shift", callStartTime=stamp))
    add_push(
        database, "call", call_record(callSessionId="2", agentGroupName=None, callStartTime=stamp)
    )
    add_push(
        database, "ringing", [ringing_event(sipAccount="x", callinEventTime=stamp, taskId=None)]
    )
    drain(worker)
    assert metric("ccbot_pushes_unrouted_total", kind="ringing") - before == 1
    assert metric("ccbot_pushes_unrouted_total", kind="call") - before_calls == 2
    assert {e.group_name for e in rows(database, RingingEvent)} == {"Night-Shift", "Sales-Team-1"}
    assert len(rows(database, CallRecord)) == 2
    seen = database.call(lambda s: unrouted_groups(s, now - timedelta(hours=24)))
    assert [(g.group_name, g.ringing_events, g.call_records) for g in seen] == [
        ("Night-Shift", 1, 1),
        (None, 0, 1),
    ]


CHAT_SETTINGS = [
    # (chat settings, ringing message?, answered call message?, unanswered call message?)
    ({}, True, False, False),  # the defaults: ringing on, calls as a digest
    ({"notify_ringing": False}, False, False, False),
    ({"notify_calls": "each"}, True, True, True),
    ({"notify_calls": "answered"}, True, True, False),
    ({"notify_calls": "off"}, True, False, False),
    ({"notify_calls": "each", "muted_until": "future"}, False, False, False),
    ({"notify_calls": "each", "muted_until": "past"}, True, True, True),
    ({"notify_ringing": False, "notify_calls": "answered"}, False, True, False),
]


def test_each_chat_setting_decides_what_is_enqueued(
    database: Database, worker: RelayWorker
) -> None:
    """One chat per combination, all routing the same group, all sent the same three pushes."""
    for i, (settings, *_) in enumerate(CHAT_SETTINGS):
        values = dict(settings)
        if values.get("muted_until") == "future":
            values["muted_until"] = utcnow() + timedelta(hours=1)
        elif values.get("muted_until") == "past":
            values["muted_until"] = utcnow() - timedelta(minutes=1)
        bind(database, -1000 - i, **values)
        route(database, "Sales-Team-1", -1000 - i)
    add_push(database, "ringing", [ringing_event(taskId=None)])
    add_push(database, "call", call_record(callSessionId="answered"))
    add_push(
        database,
        "call",
        call_record(callSessionId="missed", answerTime=None, callDuration=0, voiceUrl=None),
    )
    drain(worker)
    for i, (settings, ringing, answered, unanswered) in enumerate(CHAT_SETTINGS):
        kinds = [(m.kind, "Not answered" in m.text) for m in outbox(database, -1000 - i)]
        expected = [("ringing", False)] * ringing + [("call", False)] * answered
        expected += [("call", True)] * unanswered
        assert kinds == expected, settings
    # Whatever the chats get, every event is stored (for digests and summaries).
    assert len(rows(database, RingingEvent)) == 1 and len(rows(database, CallRecord)) == 2


def test_a_masked_chat_gets_masked_numbers_and_another_chat_the_full_ones(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM, mask_numbers=True)
    bind(database, MANAGERS)
    route(database, "Sales-Team-1", TEAM)
    route(database, "Sales-Team-1", MANAGERS)
    add_push(database, "ringing", [ringing_event(taskId=None)])
    drain(worker)
    (team,) = outbox(database, TEAM)
    (managers,) = outbox(database, MANAGERS)
    assert "+91 98•••••210" in team.text and "9812345210" not in team.text
    assert "+91 9812345210" in managers.text


def test_malformed_rows_are_failed_with_their_reason_and_the_rest_of_the_batch_is_relayed(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    bad = {
        add_push(database, "ringing", "{not json"): "The body is not JSON",
        add_push(database, "ringing", {"callId": "1"}): "The ringing push is an object, not an array",
        add_push(database, "call", call_record(callSessionId=None)): "callSessionId",
        add_push(
            database, "ringing", [ringing_event(), {"sipAccount": "x"}]
        ): "Ringing event #2 has no callId",
        add_push(database, "mystery", "{}"): "unknown push kind",
    }
    good = add_push(database, "ringing", [ringing_event(taskId=None)])
    outcome = drain(worker)
    assert outcome.failed == 5 and outcome.done == 1
    by_id = {r.id: r for r in inbox(database)}
    for push_id, reason in bad.items():
        row = by_id[push_id]
        assert row.status == InboxStatus.FAILED and reason in (row.error or ""), row.error
        assert row.body  # kept as received, for inspection
    assert by_id[good].status == InboxStatus.DONE
    # Nothing of a failed push was half-stored: its good first event is not there either.
    assert len(rows(database, RingingEvent)) == 1 and len(outbox(database)) == 1


def test_a_record_with_one_unreadable_optional_field_is_stored_and_relayed(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM, notify_calls="each")
    route(database, "Sales-Team-1", TEAM)
    add_push(database, "call", call_record(cost="abc", callDuration=-5, answerTime="bad"))
    add_push(database, "ringing", [ringing_event(callinEventTime="yesterday")])
    outcome = drain(worker)
    assert outcome.done == 2 and outcome.failed == 0
    [record] = rows(database, CallRecord)
    assert record.cost is None and record.call_duration == 0
    assert set(json.loads(record.extra)["unreadable"]) == {"cost", "callDuration", "answerTime"}
    [event] = rows(database, RingingEvent)
    assert event.event_at is None
    assert sorted(m.kind for m in outbox(database, TEAM)) == ["call", "ringing"]


def _poison(db: Database, errcode: str) -> None:
    """A trigger that makes the database refuse one agent's ringing events."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON ringing_event "
                    "WHEN NEW.sip_account = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.sip_account = 'poison' THEN "
                    f"RAISE EXCEPTION 'poisoned row' USING ERRCODE = '{errcode}'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER poison BEFORE INSERT ON ringing_event "
                    "FOR EACH ROW EXECUTE FUNCTION poison()"
                )
            )


def test_a_row_the_database_refuses_is_failed_with_the_reason_and_its_batch_still_relayed(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    _poison(database, "22000")  # data_exception on PostgreSQL
    first = add_push(database, "ringing", [ringing_event(taskId=None)])
    poisoned = add_push(database, "ringing", [ringing_event(sipAccount="poison", taskId=None)])
    last = add_push(database, "ringing", [ringing_event(sipAccount="third", taskId=None)])
    outcome = drain(worker)
    assert (outcome.done, outcome.failed) == (2, 1)
    by_id = {r.id: r for r in inbox(database)}
    assert by_id[first].status == by_id[last].status == InboxStatus.DONE
    assert by_id[poisoned].status == InboxStatus.FAILED
    assert (
        "the database refused it" in by_id[poisoned].error
        and "poisoned row" in by_id[poisoned].error
    )
    assert len(outbox(database, TEAM)) == 2


def test_a_transient_database_failure_is_retried_later_and_then_relayed(
    database: Database, worker: RelayWorker
) -> None:
    if database.is_sqlite:
        pytest.skip("a transient error on demand needs a PostgreSQL trigger")
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    _poison(database, "40001")  # serialization_failure: worth trying again
    push_id = add_push(database, "ringing", [ringing_event(sipAccount="poison", taskId=None)])
    outcome = worker.run_once()
    assert outcome.retried == 1
    (row,) = inbox(database)
    assert row.status == InboxStatus.PENDING and "poisoned row" in row.error
    assert row.lease_until > utcnow()  # backing off: not claimable again at once
    assert worker.run_once().claimed == 0
    with database.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER poison ON ringing_event"))
    token, pushes = worker.claim(now=utcnow() + timedelta(minutes=2))
    assert [p.id for p in pushes] == [push_id]
    assert worker.relay(token, pushes).done == 1
    assert len(outbox(database, TEAM)) == 1


def test_a_row_that_keeps_failing_is_given_up_after_its_attempts_with_the_last_error(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    add_push(
        database,
        "ringing",
        [ringing_event(taskId=None)],
        attempts=MAX_ATTEMPTS,
        error="connection reset",
        lease_owner="crashed",
        lease_until=utcnow() - timedelta(seconds=1),
    )
    assert drain(worker).failed == 1
    (row,) = inbox(database)
    assert row.status == InboxStatus.FAILED
    assert row.error == f"gave up after {MAX_ATTEMPTS} attempts: connection reset"
    assert outbox(database) == []


def test_an_expired_lease_is_taken_over_and_the_late_worker_changes_nothing(
    database: Database,
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    for i in range(3):
        add_push(database, "ringing", [ringing_event(sipAccount=f"agent_{i}", taskId=None)])
    stalled, rescuer = new_worker(database, "stalled"), new_worker(database, "rescuer")
    # The first worker claimed the rows long enough ago that its lease ran out (it hung, or died).
    token, pushes = stalled.claim(now=utcnow() - timedelta(minutes=5))
    assert len(pushes) == 3
    outcome = drain(rescuer)
    assert outcome.done == 3
    assert {r.lease_owner.split(":")[0] for r in inbox(database)} == {"rescuer"}
    # The stalled worker wakes up and finishes its batch: its compare-and-set finds nothing.
    late = stalled.relay(token, pushes)
    assert late.lost_lease == 3 and late.done == 0
    assert len(outbox(database)) == 3 and len(rows(database, RingingEvent)) == 3


def test_a_live_lease_is_not_taken(database: Database) -> None:
    add_push(database, "ringing", [ringing_event()])
    holder, other = new_worker(database, "holder"), new_worker(database, "other")
    token, pushes = holder.claim()
    assert len(pushes) == 1
    assert other.run_once().claimed == 0
    assert holder.relay(token, pushes).done == 1


def test_two_workers_sharing_the_tables_relay_every_push_exactly_once(migrated_url: str) -> None:
    """Two replicas (each its own engine) in threads, over pushes with duplicates among them."""
    setup = Database(migrated_url)
    try:
        bind(setup, TEAM, notify_calls="each")
        bind(setup, MANAGERS)
        route(setup, "Sales-Team-1", TEAM)
        route(setup, "Sales-Team-1", MANAGERS)
        events, sessions = 80, 60
        pushes: list[tuple[str, Any]] = []
        for i in range(events):
            pushes.append(("ringing", [ringing_event(sipAccount=f"agent_{i}", taskId=None)]))
            if i % 3 == 0:  # a retry of an earlier push, stored again
                again = ringing_event(sipAccount=f"agent_{i // 2}", taskId=None)
                pushes.append(("ringing", [again]))
            pushes.append(("call", call_record(callSessionId=f"s{i % sessions}")))
        add_pushes(setup, pushes)
        replicas = [Database(migrated_url), Database(migrated_url)]
        workers = [new_worker(db, f"replica{i}", batch_size=5) for i, db in enumerate(replicas)]
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def run(worker: RelayWorker) -> None:
            try:
                start.wait()
                drain(worker)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for db in replicas:
            db.dispose()
        assert not errors, errors
        assert {r.status for r in inbox(setup)} == {InboxStatus.DONE}
        owners = {r.lease_owner.split(":")[0] for r in inbox(setup)}
        assert owners == {"replica0", "replica1"}, owners  # both took part
        assert len(rows(setup, RingingEvent)) == events
        assert len(rows(setup, CallRecord)) == sessions
        team, managers = outbox(setup, TEAM), outbox(setup, MANAGERS)
        assert sum(m.kind == "ringing" for m in team) == events
        assert sum(m.kind == "call" for m in team) == sessions
        assert len(managers) == events  # ringing only: its calls come as a digest
        ringing_texts = [m.text for m in team if m.kind == "ringing"]
        assert len(set(ringing_texts)) == events  # no message twice
    finally:
        setup.dispose()


async def test_the_inbox_depth_gauge_follows_the_pending_rows_as_the_worker_relays_them(
    database: Database,
) -> None:
    """The listener's inbox writer is the gauge's one writer: it adds what it commits and its
    recount takes off what the worker relayed; the worker's cycle itself never counts."""
    small = new_worker(database, "small", batch_size=2)
    writer = InboxWriter(database.url, depth_refresh_s=0.05)
    await writer.start()
    try:
        for i in range(5):
            body = json.dumps([ringing_event(sipAccount=f"a{i}")])
            await writer.store_push(PushKind.RINGING, body)
        assert metric("ccbot_inbox_depth") == 5
        assert (await asyncio.to_thread(small.run_once)).done == 2
        await until(lambda: metric("ccbot_inbox_depth") == 3)
        await asyncio.to_thread(drain, small)
        await until(lambda: metric("ccbot_inbox_depth") == 0)
        await writer.store_push(PushKind.RINGING, json.dumps([ringing_event(sipAccount="b")]))
        assert metric("ccbot_inbox_depth") == 1
    finally:
        await writer.stop()
    INBOX_DEPTH.set(7)  # no writer now: a relay cycle leaves the gauge alone
    assert (await asyncio.to_thread(small.run_once)).done == 1
    assert metric("ccbot_inbox_depth") == 7


async def until(
    check: Callable[[], bool], timeout: float = 30.0, *, what: str = "the condition"
) -> None:
    """Wait for `check` to hold; the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not reached in {timeout} s"
        await asyncio.sleep(0.01)


async def test_the_running_worker_relays_a_push_within_moments_of_wake(database: Database) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    # Polling alone would take an hour: only wake() can bring these pushes in while we wait.
    worker = new_worker(database, "live", idle_poll_s=3600.0)
    await worker.start()
    try:
        await until(lambda: worker.last_cycle_at is not None)  # idle now, on its hour-long poll
        add_push(database, "ringing", [ringing_event(taskId=None)])
        worker.wake()
        await until(lambda: len(outbox(database, TEAM)) == 1, what="relayed after wake()")
        # wake() from another thread works too.
        add_push(database, "ringing", [ringing_event(taskId=None, sipAccount="b")])
        await asyncio.to_thread(worker.wake)
        await until(
            lambda: len(outbox(database, TEAM)) == 2, what="relayed after wake() from a thread"
        )
        assert worker.running
    finally:
        await worker.stop()
    assert not worker.running
    worker.wake()  # harmless once stopped


async def test_the_running_worker_finds_new_rows_by_polling_alone(database: Database) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    worker = new_worker(database, "poller")
    await worker.start()
    try:
        await until(lambda: worker.last_cycle_at is not None)  # its first cycle found nothing
        add_push(database, "ringing", [ringing_event(taskId=None)])  # and no wake()
        await until(lambda: bool(outbox(database, TEAM)), what="relayed by polling")
    finally:
        await worker.stop()
    assert json.loads(rows(database, RingingEvent)[0].no_answer_sip_list) == ["1344C025cb_002"]
    assert rows(database, PushInbox)[0].processed_at is not None


def test_new_rows_are_counted_in_the_summary_rollups_once_and_duplicates_not_at_all(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    rang = "2025-09-18 18:35:00"
    ring = [
        ringing_event(callId="X", sipAccount="a", noAnswerSipList=[], callinEventTime=rang),
        ringing_event(callId="X", sipAccount="b", noAnswerSipList=["a"], callinEventTime=rang),
        ringing_event(callId="X", sipAccount="c", noAnswerSipList=["a", "b"], callinEventTime=rang),
    ]
    for event in ring:  # one batch, in the order the platform sent them
        add_push(database, "ringing", [event])
    add_push(database, "ringing", [ring[2]])  # a retry
    add_push(database, "call", call_record(callSessionId="r1", callDuration=30))
    add_push(database, "call", call_record(callSessionId="r2", answerTime=None, callDuration=0))
    add_push(database, "call", call_record(callSessionId="r1", callDuration=30))  # a retry
    drain(worker)
    rings = {r.sip_account: (r.rings, r.missed) for r in rows_of(database, RingRollup)}
    assert rings == {"a": (1, 1), "b": (1, 1), "c": (1, 0)}
    (calls,) = rows_of(database, CallRollup)
    assert (calls.calls, calls.answered, calls.talk_seconds) == (2, 1, 30)


def rows_of(db: Database, model: type) -> list[Any]:
    return db.call(lambda s: list(s.exec(select(model))))


def test_misses_count_once_per_call_and_agent_within_a_batch_and_across_batches(
    database: Database,
) -> None:
    """A batch's events are stored with one INSERT; their misses are still counted in the order
    the events came, against the events of the call stored before each."""
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    rang = "2025-09-18 18:35:00"

    def ring(call: str, sip: str, missed: list[str]) -> dict[str, Any]:
        return ringing_event(
            callId=call, sipAccount=sip, noAnswerSipList=missed, callinEventTime=rang, taskId=None
        )

    pushes = [
        [ring("X", "a", [])],
        [ring("X", "b", ["a"])],  # batch 1 ends here
        [ring("X", "c", ["a", "b"]), ring("X", "b", ["a"])],  # the second is a retry
        [ring("Y", "a", [])],  # batch 2 ends here
        [ring("X", "d", ["a", "b", "c"]), ring("Y", "b", ["a"])],
    ]
    for body in pushes:
        add_push(database, "ringing", body)
    small = new_worker(database, "small", batch_size=2)
    outcome = drain(small)
    assert (outcome.done, outcome.duplicates["ringing"]) == (5, 1)
    rings = {r.sip_account: (r.rings, r.missed) for r in rows_of(database, RingRollup)}
    assert rings == {"a": (2, 2), "b": (2, 1), "c": (1, 1), "d": (1, 0)}
    agents = [m.text.split("agent <b>")[1].split("</b>")[0] for m in outbox(database, TEAM)]
    assert agents == ["a", "b", "c", "a", "d", "b"]  # the order the events came
