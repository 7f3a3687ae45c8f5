"""Per-15-minute rollups of call records and ringing events, kept up to date as the relay stores
them, so a day's summary never scans the day's records.

`count_call` and `count_ringing` run inside the relay's transaction, right after the typed row was
inserted for the first time (a duplicate push inserts nothing and counts nothing), so the rollups
match a recount of the raw rows exactly (tests/reports/test_figures.py recounts). A missed ring is
counted by the transaction that claims its (call, agent) row in `ring_miss`, so replicas relaying
the same call at once cannot count it twice.
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


def _upsert(session: Session, table: Table, keys: list[str], row: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**row)
    counters = {name: table.c[name] + stmt.excluded[name] for name in row if name not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=counters))


def count_call(session: Session, record: CallRecord) -> None:
    """Add one newly stored call record to its buckets."""
    bucket = bucket_of(record.call_start_at or record.received_at)
    group = record.agent_group_name or ""
    talk = max(record.call_duration or 0, 0)
    cost = record.cost
    _upsert(
        session,
        table_of(CallRollup),
        ["bucket_start", "group_name", "hangup_reason"],
        {
            "bucket_start": bucket,
            "group_name": group,
            "hangup_reason": -1 if record.hangup_reason is None else record.hangup_reason,
            "calls": 1,
            "answered": int(record.answered),
            "talk_seconds": talk,
            "transfers": int(is_transfer(record)),
            "failures": int(is_failure(record)),
            "cost": float(cost) if cost is not None else 0.0,
            "costed": int(cost is not None),
        },
    )
    if record.agent_name:
        _upsert(
            session,
            table_of(AgentRollup),
            ["bucket_start", "group_name", "agent_name"],
            {
                "bucket_start": bucket,
                "group_name": group,
                "agent_name": record.agent_name,
                "calls": 1,
                "answered": int(record.answered),
                "talk_seconds": talk,
            },
        )


def _claim_misses(session: Session, event: RingingEvent, sips: list[str]) -> list[str]:
    """The agents of `sips` whose miss of this call is counted now: those whose `RingMiss` row
    this transaction inserted. An agent already listed by another stored event of the call (in
    this transaction, an earlier one, or one another replica is committing: the INSERT waits for
    it) is not. An event without a callId has nothing to match, so each of its agents counts."""
    if not event.call_id or not sips:
        return sips
    moment = event.event_at or event.received_at
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(RingMiss)
    # Sorted, so two transactions claiming overlapping agents take the row locks in one order.
    rows = [
        {"call_id": event.call_id, "sip_account": sip, "missed_at": moment} for sip in sorted(sips)
    ]
    stmt = (
        insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["call_id", "sip_account"])
        .returning(table.c.sip_account)  # not rowcount: psycopg's is unreliable here
    )
    claimed = set(session.execute(stmt).scalars())
    return [sip for sip in sips if sip in claimed]


def _sip_list(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(x) for x in value if x] if isinstance(value, list) else []


def count_ringing(session: Session, event: RingingEvent) -> None:
    """Add one newly stored ringing event: a ring for its agent, and a miss for each agent in its
    noAnswerSipList that no other stored event of the same call listed (the list is cumulative),
    exactly once per call and agent even when replicas store the call's events at once."""
    moment = event.event_at or event.received_at
    bucket = bucket_of(moment)
    group = event.group_name or ""
    keys = ["bucket_start", "group_name", "sip_account"]
    table = table_of(RingRollup)
    if event.sip_account:
        _upsert(
            session,
            table,
            keys,
            {
                "bucket_start": bucket,
                "group_name": group,
                "sip_account": event.sip_account,
                "rings": 1,
                "missed": 0,
            },
        )
    listed = list(dict.fromkeys(_sip_list(event.no_answer_sip_list)))
    for sip in _claim_misses(session, event, listed):
        _upsert(
            session,
            table,
            keys,
            {
                "bucket_start": bucket,
                "group_name": group,
                "sip_account": sip,
                "rings": 0,
                "missed": 1,
            },
        )
