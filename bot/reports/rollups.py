"""Per-chat, per-15-minute rollups of call records and ringing events, kept up to date as the
relay stores them, so a day's summary never scans the day's records.

A record is counted once in each chat the relay attributed it to (bot/relay/routing.py), and the
`CallChat` rows saying so are written by the same batch, so a past day keeps the chats it had.
The relay counts the rows it newly stored in its own transaction (`RollupBatch`: one upsert per
rollup row a batch touches; a duplicate push inserts nothing and counts nothing), so the rollups
match a recount of the raw rows exactly (tests/reports/test_figures.py recounts). A missed ring is
counted by the transaction that claims its (call, agent) row in `ring_miss`, so replicas relaying
the same call at once cannot count it twice. `count_call` and `count_ringing` count one row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import (
    AgentRollup,
    CallChat,
    CallRecord,
    CallRollup,
    RingingEvent,
    RingMiss,
    RingRollup,
    as_utc,
    json_strings,
    table_of,
)

BUCKET = timedelta(minutes=15)

# hangupReason (platform-api.md §3.19): 3 = hung up after a successful transfer to an agent;
# 2 = the callee hung up while agents' phones rang (lost waiting for an agent).
TRANSFERRED_REASONS = frozenset({3})
LOST_REASONS = frozenset({2})


def bucket_of(moment: datetime) -> datetime:
    """The start of the 15-minute UTC bucket holding `moment` (naive values are taken as UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def agent_of(record: CallRecord) -> str | None:
    """The agent of a call as every figure and message names it: the agent's name, else the
    agent's account (a record may carry only the account, or a name too long to keep)."""
    return record.agent_name or record.agent_account or None


def is_transfer(record: CallRecord) -> bool:
    """The call reached an agent: the platform says so, or a group call was answered by one."""
    if record.hangup_reason in TRANSFERRED_REASONS:
        return True
    return record.call_type == 1 and bool(agent_of(record)) and record.answered


def is_lost(record: CallRecord) -> bool:
    """The callee answered and waited for an agent, and no agent answered."""
    return record.hangup_reason in LOST_REASONS and not is_transfer(record)


def is_failure(record: CallRecord) -> bool:
    """The call failed: the callee did not answer (the hang-up reason says why), as the task
    card's "failed" counts the numbers whose call did not go through."""
    return not record.answered


@dataclass(kw_only=True)
class CallCounts:
    """The counters every figure of calls shares (the daily summary, the digest), each record
    counted the way the rollups count it, so that the two always agree."""

    calls: int = 0
    answered: int = 0
    talk_seconds: int = 0
    transfers: int = 0
    lost: int = 0
    failures: int = 0
    cost: float = 0.0
    costed: int = 0
    failure_reasons: Counter[int] = field(default_factory=Counter)  # -1: no reason given

    def add_record(self, record: CallRecord) -> None:
        """Count one call record."""
        self.calls += 1
        self.answered += int(record.answered)
        self.talk_seconds += max(record.call_duration or 0, 0)
        self.transfers += int(is_transfer(record))
        self.lost += int(is_lost(record))
        if is_failure(record):
            self.failures += 1
            self.failure_reasons[-1 if record.hangup_reason is None else record.hangup_reason] += 1
        if record.cost is not None:
            self.cost += record.cost
            self.costed += 1


_CALL_KEYS = ("chat_id", "bucket_start", "group_name", "hangup_reason")
_CALL_COUNTERS = (
    "calls",
    "answered",
    "talk_seconds",
    "transfers",
    "lost",
    "failures",
    "cost",
    "costed",
)
_AGENT_KEYS = ("chat_id", "bucket_start", "group_name", "agent_name")
_AGENT_COUNTERS = ("calls", "answered", "talk_seconds")
_RING_KEYS = ("chat_id", "bucket_start", "group_name", "sip_account")
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
        self._ringing: list[tuple[RingingEvent, list[int]]] = []
        self._links: list[dict[str, Any]] = []

    def add_call(self, record: CallRecord, chat_ids: list[int], now: datetime) -> None:
        """Count one newly stored call record (its id set) in each of these chats, under its
        agent group (the relay stores a group call no agent answered under its task's group:
        `Router.group_of_call`)."""
        if not chat_ids:
            return
        bucket = bucket_of(record.call_start_at or record.received_at)
        group = record.agent_group_name or ""
        talk = max(record.call_duration or 0, 0)
        cost = record.cost
        answered = int(record.answered)
        reason = -1 if record.hangup_reason is None else record.hangup_reason
        counts = (
            1,
            answered,
            talk,
            int(is_transfer(record)),
            int(is_lost(record)),
            int(is_failure(record)),
            float(cost) if cost is not None else 0.0,
            int(cost is not None),
        )
        for chat_id in chat_ids:
            self._links.append(
                {
                    "call_record_id": record.id,
                    "chat_id": chat_id,
                    # The day the rollups place it in, so that a day's export lists the
                    # calls its summary counts (a record may come without a start time).
                    "call_start_at": record.call_start_at or record.received_at,
                    "relayed_at": now,
                }
            )
            _add(self._calls, (chat_id, bucket, group, reason), *counts)
            agent = agent_of(record)
            if agent:
                _add(self._agents, (chat_id, bucket, group, agent), 1, answered, talk)

    def add_ringing(self, event: RingingEvent, chat_ids: list[int]) -> None:
        """Count one newly stored ringing event (its id set) in each of these chats: a ring for
        its agent, and a miss for each agent in its noAnswerSipList that no earlier event of the
        same call listed."""
        self._ringing.append((event, chat_ids))

    def write(self, session: Session) -> None:
        """Add the counts to the rollup tables (in the caller's transaction)."""
        misses = _new_misses(session, [event for event, _ in self._ringing])
        for (event, chat_ids), missed in zip(self._ringing, misses, strict=True):
            bucket = bucket_of(event.event_at or event.received_at)
            group = event.group_name or ""
            for chat_id in chat_ids:
                if event.sip_account:
                    _add(self._rings, (chat_id, bucket, group, event.sip_account), 1, 0)
                for sip in missed:
                    _add(self._rings, (chat_id, bucket, group, sip), 0, 1)
        self._ringing = []
        if self._links:
            # In key order, like the rollups below; new records only, so nothing conflicts.
            self._links.sort(key=lambda link: (link["call_record_id"], link["chat_id"]))
            session.execute(insert_links(session), self._links)
            self._links = []
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
        sips = list(dict.fromkeys(json_strings(event.no_answer_sip_list, skip_empty=True)))
        listed.append(sips)
        if event.call_id:
            moment = as_utc(event.event_at or event.received_at)
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


def insert_links(session: Session) -> Any:
    """INSERT INTO call_chat, ignoring a link already there, built once per dialect."""
    dialect = session.get_bind().dialect.name
    cached = _UPSERTS.get((dialect, "call_chat"))
    if cached is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        cached = _UPSERTS[(dialect, "call_chat")] = insert(
            table_of(CallChat)
        ).on_conflict_do_nothing()
    return cached


def count_call(session: Session, record: CallRecord, chat_ids: list[int]) -> None:
    """Add one newly stored call record to its buckets in these chats."""
    batch = RollupBatch()
    batch.add_call(record, chat_ids, datetime.now(UTC))
    batch.write(session)


def count_ringing(session: Session, event: RingingEvent, chat_ids: list[int]) -> None:
    """Add one newly stored ringing event to its buckets (see `RollupBatch.add_ringing`)."""
    batch = RollupBatch()
    batch.add_ringing(event, chat_ids)
    batch.write(session)
