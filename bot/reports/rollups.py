"""Per-15-minute rollups of call records and ringing events, kept up to date as the relay stores
them, so a day's summary never scans the day's records.

The relay counts the rows it newly stored in its own transaction (`RollupBatch`: one upsert per
rollup row a batch touches; a duplicate push inserts nothing and counts nothing), so the rollups
match a recount of the raw rows exactly (tests/reports/test_figures.py recounts). A missed ring is
counted by the transaction that claims its (call, agent) row in `ring_miss`, so replicas relaying
the same call at once cannot count it twice. `count_call` and `count_ringing` count one row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import (
    AgentRollup,
    CallRecord,
    CallRollup,
    RingingEvent,
    RingMiss,
    RingRollup,
    table_of,
)

BUCKET = timedelta(minutes=15)

# hangupReason (platform-api.md §3.19): 3 = hung up after a successful transfer to an agent;
# 4–7 = the call failed (abnormal, operator no service, out of service area, busy).
TRANSFERRED_REASONS = frozenset({3})
FAILED_REASONS = frozenset({4, 5, 6, 7})


def bucket_of(moment: datetime) -> datetime:
    """The start of the 15-minute UTC bucket holding `moment` (naive values are taken as UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def is_transfer(record: CallRecord) -> bool:
    """The call reached an agent: the platform says so, or a group call was answered by one."""
    if record.hangup_reason in TRANSFERRED_REASONS:
        return True
    return record.call_type == 1 and bool(record.agent_name) and record.answered


def is_failure(record: CallRecord) -> bool:
    return record.hangup_reason in FAILED_REASONS


_CALL_KEYS = ("bucket_start", "group_name", "hangup_reason")
_CALL_COUNTERS = ("calls", "answered", "talk_seconds", "transfers", "failures", "cost", "costed")
_AGENT_KEYS = ("bucket_start", "group_name", "agent_name")
_AGENT_COUNTERS = ("calls", "answered", "talk_seconds")
_RING_KEYS = ("bucket_start", "group_name", "sip_account")
_RING_COUNTERS = ("rings", "missed")


def _add(counts: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], *values: Any) -> None:
    total = counts.get(key)
    if total is None:
        counts[key] = list(values)
    else:
        for i, value in enumerate(values):
            total[i] += value


class RollupBatch:
    """The rollup counts of the rows one relay transaction stored, written together by `write`:
    one upsert per rollup row the batch touches (sums of its records), instead of one statement
    per record and counter.

    Add the rows in the order they were stored: a ringing event's misses are counted against the
    events of its call stored before it (see `_new_misses`).
    """

    def __init__(self) -> None:
        self._calls: dict[tuple[Any, ...], list[Any]] = {}
        self._agents: dict[tuple[Any, ...], list[Any]] = {}
        self._rings: dict[tuple[Any, ...], list[Any]] = {}
        self._ringing: list[RingingEvent] = []

    def add_call(self, record: CallRecord) -> None:
        """Count one newly stored call record."""
        bucket = bucket_of(record.call_start_at or record.received_at)
        group = record.agent_group_name or ""
        talk = max(record.call_duration or 0, 0)
        cost = record.cost
        answered = int(record.answered)
        reason = -1 if record.hangup_reason is None else record.hangup_reason
        _add(
            self._calls,
            (bucket, group, reason),
            1,
            answered,
            talk,
            int(is_transfer(record)),
            int(is_failure(record)),
            float(cost) if cost is not None else 0.0,
            int(cost is not None),
        )
        if record.agent_name:
            _add(self._agents, (bucket, group, record.agent_name), 1, answered, talk)

    def add_ringing(self, event: RingingEvent) -> None:
        """Count one newly stored ringing event (its id set): a ring for its agent, and a miss for
        each agent in its noAnswerSipList that no earlier event of the same call listed."""
        self._ringing.append(event)

    def write(self, session: Session) -> None:
        """Add the counts to the rollup tables (in the caller's transaction)."""
        misses = _new_misses(session, self._ringing)
        for event, missed in zip(self._ringing, misses, strict=True):
            bucket = bucket_of(event.event_at or event.received_at)
            group = event.group_name or ""
            if event.sip_account:
                _add(self._rings, (bucket, group, event.sip_account), 1, 0)
            for sip in missed:
                _add(self._rings, (bucket, group, sip), 0, 1)
        self._ringing = []
        for table, keys, counters, counts in (
            (CallRollup, _CALL_KEYS, _CALL_COUNTERS, self._calls),
            (AgentRollup, _AGENT_KEYS, _AGENT_COUNTERS, self._agents),
            (RingRollup, _RING_KEYS, _RING_COUNTERS, self._rings),
        ):
            if counts:
                # In key order, so two transactions touching the same rollup rows lock them in
                # the same order (no deadlock on PostgreSQL).
                rows = [
                    dict(zip(keys + counters, (*key, *counts[key]), strict=True))
                    for key in sorted(counts)
                ]
                session.execute(_upsert(session, table_of(table), keys, counters), rows)
                counts.clear()


def _upsert(
    session: Session, table: Table, keys: tuple[str, ...], counters: tuple[str, ...]
) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET counter = counter + excluded.counter, built once
    per dialect and table (the statement is then cached compiled), executed with many rows."""
    dialect = session.get_bind().dialect.name
    cached = _UPSERTS.get((dialect, table.name))
    if cached is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(table)
        set_ = {name: table.c[name] + stmt.excluded[name] for name in counters}
        cached = _UPSERTS[(dialect, table.name)] = stmt.on_conflict_do_update(
            index_elements=list(keys), set_=set_
        )
    return cached


_UPSERTS: dict[tuple[str, str], Any] = {}

# Rows per INSERT into ring_miss (3 parameters each: well under SQLite's variable limit).
_CLAIM_CHUNK = 1000


def _new_misses(session: Session, events: list[RingingEvent]) -> list[list[str]]:
    """For each newly stored event (in the order stored), the agents of its noAnswerSipList whose
    miss of the call is counted now: the (call, agent) rows in `ring_miss` this transaction
    inserted, each given to the first event of the batch that lists it. An agent already listed
    by another stored event of the call (earlier in this batch, in an earlier one, or in one that
    another replica is committing: the INSERT waits for it) is not counted again. An event
    without a callId has nothing to match, so each of its agents counts."""
    listed: list[list[str]] = []
    pairs: dict[tuple[str, str], datetime] = {}
    for event in events:
        sips = list(dict.fromkeys(_sip_list(event.no_answer_sip_list)))
        listed.append(sips)
        if event.call_id:
            moment = event.event_at or event.received_at
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
            for sip in sips:
                pairs.setdefault((event.call_id, sip), moment)
    claimed: set[tuple[str, str]] = set()
    if pairs:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = table_of(RingMiss)
        # Sorted, so two transactions claiming overlapping agents take the row locks in one order.
        rows = [
            {"call_id": call_id, "sip_account": sip, "missed_at": moment}
            for (call_id, sip), moment in sorted(pairs.items())
        ]
        for start in range(0, len(rows), _CLAIM_CHUNK):
            stmt = (
                insert(table)
                .values(rows[start : start + _CLAIM_CHUNK])
                .on_conflict_do_nothing(index_elements=["call_id", "sip_account"])
                .returning(table.c.call_id, table.c.sip_account)  # not rowcount: see psycopg
            )
            claimed.update((call_id, sip) for call_id, sip in session.execute(stmt))
    misses = []
    for event, sips in zip(events, listed, strict=True):
        if not event.call_id:
            misses.append(sips)
            continue
        mine = [sip for sip in sips if (event.call_id, sip) in claimed]
        claimed.difference_update((event.call_id, sip) for sip in mine)
        misses.append(mine)
    return misses


def _sip_list(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(x) for x in value if x] if isinstance(value, list) else []


def count_call(session: Session, record: CallRecord) -> None:
    """Add one newly stored call record to its buckets."""
    batch = RollupBatch()
    batch.add_call(record)
    batch.write(session)


def count_ringing(session: Session, event: RingingEvent) -> None:
    """Add one newly stored ringing event to its buckets (see `RollupBatch.add_ringing`)."""
    batch = RollupBatch()
    batch.add_ringing(event)
    batch.write(session)
