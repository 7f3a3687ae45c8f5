"""The call digest on SQLite and PostgreSQL: what it counts, when it is due, once per window."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.relay.digest import DIGEST_INTERVAL, SETTLE, _advance, run_digests
from bot.relay.worker import RelayWorker
from storage.db import Database
from storage.models import BoundChat, utcnow
from tests.relay.conftest import (
    MANAGERS,
    TASK_CHAT,
    TEAM,
    add_push,
    add_task,
    bind,
    drain,
    outbox,
    platform_time,
    recent_call,
    ringing_event,
    route,
)

UTC_ZONE = ZoneInfo("UTC")


def chat(db: Database, chat_id: int) -> BoundChat:
    return db.call(lambda s: s.get(BoundChat, chat_id))


def digests(db: Database, chat_id: int) -> list[str]:
    return [m.text for m in outbox(db, chat_id) if m.kind == "digest"]


def store_calls(db: Database, worker: RelayWorker, now, **received) -> None:  # noqa: ANN001
    """Three calls of Sales-Team-1 (two answered), one of another group, and missed rings."""
    arrived = received.get("received_at", now - timedelta(minutes=5))
    at = {"received_at": arrived}
    began = arrived - timedelta(minutes=3)
    add_push(db, "call", recent_call(began, callSessionId="a1", callDuration=60), **at)
    add_push(db, "call", recent_call(began, callSessionId="a2", callDuration=120), **at)
    add_push(
        db,
        "call",
        recent_call(began, callSessionId="m1", answerTime=None, callDuration=0, hangupReason=0),
        **at,
    )
    add_push(db, "call", recent_call(began, callSessionId="x1", agentGroupName="Other-Team"), **at)
    rang = platform_time(began + timedelta(seconds=5))
    for i, missed in enumerate((["ag_1"], ["ag_1", "ag_2"], ["ag_3"])):
        event = ringing_event(callId=f"c{i}", noAnswerSipList=missed, taskId=None)
        add_push(db, "ringing", [{**event, "callinEventTime": rang}], **at)
    # The same call rang twice: ag_1 missed it once, not twice.
    event = ringing_event(callId="c1", sipAccount="ag_9", noAnswerSipList=["ag_1"], taskId=None)
    add_push(db, "ringing", [{**event, "callinEventTime": rang}], **at)
    drain(worker)


def after_relay() -> datetime:
    """A digest run's time once what was just relayed has settled into its window."""
    return utcnow() + SETTLE


def test_a_digest_sums_up_the_chats_calls_since_its_last_digest(
    database: Database, worker: RelayWorker
) -> None:
    now = utcnow()
    bind(database, TEAM, last_digest_at=now - DIGEST_INTERVAL - timedelta(minutes=1))
    route(database, "Sales-Team-1", TEAM)
    store_calls(database, worker, now)
    run_at = after_relay()
    assert run_digests(database, default_zone=UTC_ZONE, now=run_at) == 1
    (text,) = digests(database, TEAM)
    assert "Calls since" in text and "Sales-Team-1" in text
    # The daily summary's counters, in the task card's words.
    assert "Called <b>3</b> · answered 2 (66.7%) · transferred 2 · failed 1" in text
    assert "Talk time: 3:00 total · 1:30 average per answered call" in text
    assert "Failed: no answer 1" in text
    assert "Agents who missed most rings: ag_1 (2), ag_2 (1), ag_3 (1)" in text
    assert chat(database, TEAM).last_digest_at == run_at - SETTLE
    # Not due again until 15 minutes later.
    assert run_digests(database, default_zone=UTC_ZONE, now=run_at + timedelta(minutes=5)) == 0
    assert len(digests(database, TEAM)) == 1


def test_a_window_without_calls_sends_nothing_but_moves_on(
    database: Database, worker: RelayWorker
) -> None:
    now = utcnow()
    bind(database, TEAM, last_digest_at=now - timedelta(minutes=20))
    route(database, "Sales-Team-1", TEAM)
    store_calls(database, worker, now)
    assert run_digests(database, default_zone=UTC_ZONE, now=after_relay()) == 1
    later = chat(database, TEAM).last_digest_at + DIGEST_INTERVAL + SETTLE
    assert run_digests(database, default_zone=UTC_ZONE, now=later) == 0  # nothing new came
    assert len(digests(database, TEAM)) == 1
    assert chat(database, TEAM).last_digest_at == later - SETTLE


def test_only_chats_on_digest_get_one_and_each_counts_its_own_groups_and_tasks(
    database: Database, worker: RelayWorker
) -> None:
    now = utcnow()
    bind(database, TEAM, notify_calls="each")
    bind(database, MANAGERS)  # digest is the default
    bind(database, TASK_CHAT, last_digest_at=now - timedelta(hours=1))
    route(database, "Sales-Team-1", TEAM)
    route(database, "Sales-Team-1", MANAGERS)
    add_task(database, 561235, TASK_CHAT)
    at = {"received_at": now - timedelta(minutes=5)}
    began = now - timedelta(minutes=8)
    rang = platform_time(began + timedelta(seconds=2))
    event = ringing_event(callId="23111714122312000001", callinEventTime=rang)
    add_push(database, "ringing", [event], **at)
    add_push(database, "call", recent_call(began, agentGroupName="Elsewhere"), **at)  # task's call
    add_push(database, "call", recent_call(began, callSessionId="s2", callId="other-call"), **at)
    drain(worker)
    assert run_digests(database, default_zone=UTC_ZONE, now=after_relay()) == 2
    assert digests(database, TEAM) == []
    assert "Called <b>1</b> · answered 1 (100.0%)" in digests(database, MANAGERS)[0]
    assert "Called <b>1</b> · answered 1 (100.0%)" in digests(database, TASK_CHAT)[0]


def test_a_late_record_or_one_without_a_start_time_counts_in_the_window_it_arrived(
    database: Database, worker: RelayWorker
) -> None:
    now = utcnow()
    bind(database, TEAM, last_digest_at=now - timedelta(minutes=16))
    route(database, "Sales-Team-1", TEAM)
    # A call of 5 hours ago whose push only got through now, and one without callStartTime: each
    # would have been posted now in `each` mode, so each counts in this digest.
    add_push(database, "call", recent_call(now - timedelta(hours=5)))
    add_push(
        database, "call", {**recent_call(now, callSessionId="no-start"), "callStartTime": None}
    )
    drain(worker)
    assert run_digests(database, default_zone=UTC_ZONE, now=after_relay()) == 1
    assert "Called <b>2</b>" in digests(database, TEAM)[0]


def test_a_muted_chat_gets_no_digest_and_the_first_after_covers_the_mute(
    database: Database, worker: RelayWorker
) -> None:
    now = utcnow()
    start = now - timedelta(minutes=40)
    bind(database, TEAM, last_digest_at=start, muted_until=now + timedelta(minutes=10))
    route(database, "Sales-Team-1", TEAM)
    store_calls(database, worker, now, received_at=now - timedelta(minutes=30))
    assert run_digests(database, default_zone=UTC_ZONE, now=after_relay()) == 0
    assert chat(database, TEAM).last_digest_at == start  # the window stays open
    later = after_relay() + timedelta(minutes=11)  # the mute is over
    assert run_digests(database, default_zone=UTC_ZONE, now=later) == 1
    assert "Called <b>3</b>" in digests(database, TEAM)[0]


def test_the_compare_and_set_lets_one_of_two_runs_take_a_window(database: Database) -> None:
    now = utcnow()
    bind(database, TEAM, last_digest_at=now - timedelta(minutes=20))
    stale = chat(database, TEAM)  # what both replicas read
    assert database.call(lambda s: _advance(s, stale, now)) is True
    assert database.call(lambda s: _advance(s, stale, now + timedelta(seconds=1))) is False
    assert chat(database, TEAM).last_digest_at == now
    fresh = chat(database, TEAM)
    fresh.last_digest_at = None  # a chat that never had a digest: NULL compares too
    database.call(lambda s: s.merge(fresh))
    assert database.call(lambda s: _advance(s, fresh, now)) is True


def test_two_replicas_running_digests_at_once_send_one(migrated_url: str) -> None:
    setup = Database(migrated_url)
    try:
        now = utcnow()
        for chat_id in (TEAM, MANAGERS, TASK_CHAT):
            bind(setup, chat_id, last_digest_at=now - timedelta(minutes=20))
            route(setup, "Sales-Team-1", chat_id, group_id=abs(chat_id))
        worker = RelayWorker(setup, platform_tz=UTC_ZONE, default_zone=UTC_ZONE, name="w")
        add_push(
            setup,
            "call",
            recent_call(now - timedelta(minutes=3)),
            received_at=now - timedelta(minutes=1),
        )
        drain(worker)
        run_at = after_relay()
        replicas = [Database(migrated_url) for _ in range(2)]
        sent: list[int] = []
        barrier = threading.Barrier(2)

        def run(db: Database) -> None:
            barrier.wait()
            sent.append(run_digests(db, default_zone=UTC_ZONE, now=run_at))

        threads = [threading.Thread(target=run, args=(db,)) for db in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for db in replicas:
            db.dispose()
        assert sum(sent) == 3
        for chat_id in (TEAM, MANAGERS, TASK_CHAT):
            assert len(digests(setup, chat_id)) == 1
        rows = setup.call(lambda s: list(s.exec(select(BoundChat))))
        assert {r.last_digest_at for r in rows} == {run_at - SETTLE}
    finally:
        setup.dispose()
