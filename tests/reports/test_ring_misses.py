"""Missed rings are counted once per call and agent: across transactions, within one, across the
upgrade that added `ring_miss`, and when two replicas store two events of a call at the same
moment (two concurrent transactions on PostgreSQL)."""

from __future__ import annotations

import functools
import json
import queue
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.db import Database
from storage.migrate import alembic_config
from storage.models import RingMiss, RingRollup
from tests.reports import helpers

AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
CHAT = -1001000000001
store_ringing = functools.partial(helpers.store_ringing, chats=[CHAT])  # the chat they went to


def _missed(database: Database) -> dict[str, int]:
    with database.session() as s:
        rows = s.exec(select(RingRollup)).all()
    totals: dict[str, int] = {}
    for row in rows:
        if row.missed:
            totals[row.sip_account] = totals.get(row.sip_account, 0) + row.missed
    return totals


def _claims(database: Database) -> set[tuple[str, str]]:
    with database.session() as s:
        return {(m.call_id, m.sip_account) for m in s.exec(select(RingMiss))}


def test_a_miss_counts_once_per_call_and_agent_however_its_events_are_stored(
    database: Database,
) -> None:
    # Call X rings a1, then a2 (a1 missed), then a3 (a1 and a2 missed): the list is cumulative.
    with database.session() as s:
        store_ringing(s, call_id="X", sip_account="a1", event_at=AT)
        store_ringing(s, call_id="X", sip_account="a2", event_at=AT, no_answer=["a1"])
    with database.session() as s:  # a later transaction
        store_ringing(s, call_id="X", sip_account="a3", event_at=AT, no_answer=["a1", "a2"])
        # the same agent twice in one list, and a call without an id (nothing to match it by)
        store_ringing(s, call_id="Y", sip_account="a9", event_at=AT, no_answer=["a1", "a1"])
        store_ringing(s, call_id=None, sip_account="a8", event_at=AT, no_answer=["a2"])
        store_ringing(s, call_id=None, sip_account="a7", event_at=AT, no_answer=["a2"])
    assert _missed(database) == {"a1": 2, "a2": 3}
    assert _claims(database) == {("X", "a1"), ("X", "a2"), ("Y", "a1")}


def test_the_miss_is_counted_in_the_bucket_of_the_first_event_that_lists_it(
    database: Database,
) -> None:
    with database.session() as s:
        store_ringing(s, call_id="Z", sip_account="a2", event_at=AT, no_answer=["a1"])
    with database.session() as s:
        store_ringing(
            s, call_id="Z", sip_account="a3", event_at=AT + timedelta(minutes=20), no_answer=["a1"]
        )
    with database.session() as s:
        (miss,) = s.exec(select(RingMiss)).all()
        buckets = {r.bucket_start: r.missed for r in s.exec(select(RingRollup)) if r.missed}
    assert miss.missed_at == AT and buckets == {AT: 1}


def test_events_stored_before_the_upgrade_are_claimed_by_it(database_url: str) -> None:
    """0003t fills ring_miss from the stored events, so an event stored after the upgrade does
    not count again a miss that an event stored before it already counted."""
    from alembic import command

    cfg = alembic_config(database_url)
    command.upgrade(cfg, "0003s")
    old = Database(database_url)
    try:
        with old.engine.begin() as conn:
            for n, (call, sip, listed) in enumerate(
                [
                    ("P", "a1", []),
                    ("P", "a2", ["a1"]),
                    ("P", "a3", ["a1", "a2"]),
                    (None, "a4", ["a1"]),
                ]
            ):
                conn.execute(
                    text(
                        "INSERT INTO ringing_event (dedupe_key, call_id, sip_account, "
                        "no_answer_sip_list, event_at, received_at, extra) VALUES "
                        "(:key, :call, :sip, :listed, :at, :at, '{}')"
                    ),
                    {
                        "key": f"k{n}",
                        "call": call,
                        "sip": sip,
                        "listed": json.dumps(listed),
                        "at": (AT + timedelta(seconds=n)).replace(tzinfo=None),
                    },
                )
    finally:
        old.dispose()
    command.upgrade(cfg, "head")
    database = Database(database_url)
    try:
        with database.session() as s:
            claims = {(m.call_id, m.sip_account): m.missed_at for m in s.exec(select(RingMiss))}
        assert claims == {
            ("P", "a1"): AT + timedelta(seconds=1),
            ("P", "a2"): AT + timedelta(seconds=2),
        }
        with database.session() as s:  # the call's next event, relayed after the upgrade
            store_ringing(
                s, call_id="P", sip_account="a5", event_at=AT, no_answer=["a1", "a2", "a3"]
            )
        assert _missed(database) == {"a3": 1}  # a1 and a2 were counted before the upgrade
    finally:
        database.dispose()


def test_two_replicas_storing_two_events_of_a_call_at_once_count_its_miss_once(
    database: Database,
) -> None:
    """Replica A stores an event of call R listing a1 and has not committed; replica B stores
    another event of R listing a1 meanwhile. B must wait for A and then not count a1 again
    (reading R's earlier events, B could not see A's uncommitted one and would count it too)."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: its transactions never overlap")
    pid: queue.Queue[int] = queue.Queue()
    failure: list[BaseException] = []

    def replica_b() -> None:
        try:
            with database.session() as s:
                pid.put(s.exec(text("SELECT pg_backend_pid()")).one()[0])  # type: ignore[call-overload]
                store_ringing(s, call_id="R", sip_account="b1", event_at=AT, no_answer=["a1"])
        except BaseException as exc:  # reported by the test thread
            failure.append(exc)

    with database.session() as a:
        store_ringing(a, call_id="R", sip_account="a2", event_at=AT, no_answer=["a1"])
        b = threading.Thread(target=replica_b)
        b.start()
        b_pid = pid.get(timeout=30)
        # Wait (no assertion on time) until B is blocked on A's uncommitted rows.
        deadline = time.monotonic() + 60
        with database.engine.connect() as watch:
            while True:
                waiting = watch.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": b_pid},
                ).scalar()
                watch.rollback()
                if waiting == "Lock":
                    break
                assert b.is_alive() and time.monotonic() < deadline, "B never waited for A"
                time.sleep(0.01)
    b.join(timeout=60)  # A committed on leaving its block; B finishes
    assert not b.is_alive() and not failure, failure
    assert _missed(database) == {"a1": 1}
    assert _claims(database) == {("R", "a1")}
    with database.session() as s:
        rings = {r.sip_account: r.rings for r in s.exec(select(RingRollup)) if r.rings}
    assert rings == {"a2": 1, "b1": 1}
