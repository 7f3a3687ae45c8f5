"""The relay worker: stored pushes (`PushInbox`) → typed rows → routed messages in the outbox.

Exactly once, across crashes and replicas:
- A worker *claims* a batch of pending rows by writing its lease (a token unique to this claim and
  an expiry) on them with a compare-and-set: `UPDATE … WHERE id IN (…) AND status='pending' AND
  (no lease OR lease expired)`. On PostgreSQL the candidates are picked with `FOR UPDATE SKIP
  LOCKED`, so replicas never wait on each other's rows. Nothing held in this process's memory
  decides who owns a row, so several replicas can share the table.
- It then *relays* the batch in ONE transaction per batch. Reads come first: every typed row the
  batch may store is built, routed and rendered before the first write, so that on SQLite the one
  write lock (which the listener's inbox commits wait for) is held only for the few multi-row
  writes that follow. Then, for each row, the compare-and-set
  `status pending → done|failed WHERE lease_owner = <our token>` (a row whose lease expired and was
  taken over is skipped), then the typed rows (`INSERT … ON CONFLICT DO NOTHING` on their UNIQUE
  keys, so a platform retry or a second copy adds nothing), then one outbox message per chat that
  wants it, only for rows that were new. A crash before the commit leaves everything as it was and
  the lease expires; a crash after it leaves nothing to redo.
- A row that cannot be parsed is marked failed with the reason (kept, with its body). A row that
  breaks the transaction is retried on its own, so the other rows of its batch go on; if the
  database refuses it outright (a value it cannot hold) it is failed with that reason, otherwise it
  is retried with backoff and failed after MAX_ATTEMPTS, never dropped. A failed push is counted,
  copied to `dead_letter` and told to the admins (bot/relay/store_failures.py).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar, cast

from sqlalchemy import and_, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError
from sqlmodel import Session, SQLModel, col, select

from bot.alerts.relay import RelayedRows
from bot.alerts.relay import evaluate as evaluate_alerts
from bot.config import chat_zone
from bot.delivery.outbox import OutboxKind, Outgoing, enqueue_many
from bot.i18n import language_of
from bot.metrics import PUSHES_DUPLICATE, PUSHES_UNROUTED
from bot.relay.parse import ParsedPush, ParseError, PushKind, parse_push
from bot.relay.routing import Router, relays_call, relays_ringing
from bot.relay.screen_pops import relay_screen_pops
from bot.relay.store_failures import FailReason, count_failed, keep_failed_push, tell_admins
from bot.reports.rollups import RollupBatch
from bot.views.relayed import call_message, ringing_message
from bot.views.values import ChatDisplay
from storage.db import Database
from storage.models import (
    BoundChat,
    CallRecord,
    InboxStatus,
    PushInbox,
    RingingEvent,
    table_of,
    utcnow,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 100
LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 5
IDLE_POLL_S = 0.05  # how often an idle worker looks for new rows (wake() is faster still)


@dataclass(frozen=True)
class ClaimedPush:
    id: int
    kind: str
    body: str
    received_at: datetime
    attempts: int
    last_error: str | None


@dataclass
class BatchOutcome:
    """What one claim-and-relay cycle did (for logs, metrics and tests)."""

    claimed: int = 0
    done: int = 0
    failed: int = 0
    retried: int = 0
    lost_lease: int = 0  # claimed, but the lease expired and another worker took the row
    messages: int = 0
    duplicates: Counter[str] = field(default_factory=Counter)
    unrouted: Counter[str] = field(default_factory=Counter)
    failures: Counter[FailReason] = field(default_factory=Counter)  # `failed`, by reason

    def add(self, other: BatchOutcome) -> None:
        for name in ("claimed", "done", "failed", "retried", "lost_lease", "messages"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.duplicates.update(other.duplicates)
        self.unrouted.update(other.unrouted)
        self.failures.update(other.failures)


@dataclass(frozen=True)
class _Prepared:
    """A typed row the batch may store, routed and rendered before the batch's first write."""

    push_id: int
    key: str  # its UNIQUE key: dedupe_key | call_session_id
    row: dict[str, Any]
    model: RingingEvent | CallRecord
    targets: list[BoundChat]
    messages: list[Outgoing]


# The table of each kind of typed row, and its UNIQUE key (`_Prepared.key`).
_TABLES: dict[PushKind, tuple[type[SQLModel], str]] = {
    PushKind.RINGING: (RingingEvent, "dedupe_key"),
    PushKind.CALL: (CallRecord, "call_session_id"),
}

_OPTIONAL: dict[type[Any], dict[str, Any]] = {}  # per model: its fields that have a default
M = TypeVar("M", bound=SQLModel)


def new_row(model: type[M], values: dict[str, Any]) -> M:
    """What `model(**values)` builds, a transient row (SQLModel table models do not validate),
    about 15x cheaper: the values go into the instance's dict at once, as SQLAlchemy does for a row
    it loads, instead of one instrumented setattr per field (a quarter of the relay's time, py-spy).
    The fields not given get their defaults; the row can still be added to a session."""
    optional = _OPTIONAL.get(model)
    if optional is None:
        optional = _OPTIONAL[model] = {
            name: info for name, info in model.model_fields.items() if not info.is_required()
        }
    row = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    fields = row.__dict__
    for name, info in optional.items():
        if name not in values:
            fields[name] = info.get_default(call_default_factory=True)
    fields.update(values)
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return cast(M, row)


def _default_name() -> str:
    return f"{socket.gethostname()[:24]}/{os.getpid()}/{secrets.token_hex(2)}"


def insert_new(
    session: Session, model: type[Any], rows: list[dict[str, Any]], key: str
) -> dict[str, int]:
    """INSERT … ON CONFLICT DO NOTHING for rows in one statement; the new rows' ids by key.

    RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT, and rowcount would
    not say which rows were new. Both backends; SQLite since 3.35.
    """
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__
    # In key order, so two workers inserting overlapping rows lock them in the same order
    # (no deadlock on PostgreSQL when a retried push is relayed by both at once).
    ordered = sorted(rows, key=lambda row: row[key])
    # The rows as parameters, not in the statement (`.values(rows)`): the statement is then
    # compiled once and cached, and SQLAlchemy sends the rows as multi-row INSERTs
    # ("insertmanyvalues") with their RETURNING.
    stmt = insert(table).on_conflict_do_nothing().returning(table.c[key], table.c.id)
    return {k: i for k, i in session.execute(stmt, ordered)}


class RelayWorker:
    """Claims and relays stored pushes; `start()` runs it on the loop, `wake()` hurries it."""

    def __init__(
        self,
        database: Database,
        *,
        platform_tz: tzinfo,
        default_zone: tzinfo,
        name: str | None = None,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = LEASE,
        idle_poll_s: float = IDLE_POLL_S,
        admin_user_ids: Iterable[int] = (),
    ) -> None:
        self.database = database
        # Told (one notice an hour, edited in place) when a push cannot be stored after all.
        self.admin_user_ids = frozenset(admin_user_ids)
        self.platform_tz = platform_tz
        self.default_zone = default_zone
        self.name = (name or _default_name())[:48]
        self.batch_size = batch_size
        self.lease = lease
        self.idle_poll_s = idle_poll_s
        self._claims = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self.last_cycle_at: float | None = None  # time.monotonic() of the last finished cycle
        # Called after a cycle that relayed something (the app wakes the sender with it).
        self.on_relayed: list[Callable[[], None]] = []

    # ---- claiming ------------------------------------------------------------------------------

    def claim(self, now: datetime | None = None) -> tuple[str, list[ClaimedPush]]:
        """Lease up to `batch_size` pending rows; returns the claim's token and the rows won."""
        now = now or utcnow()
        token = f"{self.name}:{next(self._claims)}"
        claimable = and_(
            col(PushInbox.status) == InboxStatus.PENDING,
            or_(col(PushInbox.lease_until).is_(None), col(PushInbox.lease_until) < now),
        )
        with self.database.session() as session:

            def candidates(limit: int) -> list[int]:
                stmt = select(PushInbox.id).where(claimable).order_by(col(PushInbox.id))
                stmt = stmt.limit(limit)
                if not self.database.is_sqlite:
                    stmt = stmt.with_for_update(skip_locked=True)
                # A primary key is never NULL; the model says int | None for rows not yet stored.
                return cast(list[int], list(session.exec(stmt).all()))

            def take(ids: list[int]) -> int:
                result = session.exec(
                    update(PushInbox)
                    .where(col(PushInbox.id).in_(ids), claimable)
                    .values(
                        lease_owner=token,
                        lease_until=now + self.lease,
                        attempts=PushInbox.attempts + 1,
                    )
                )
                return result.rowcount

            # On SQLite this first read takes no lock; the UPDATE is the compare-and-set.
            ids = candidates(self.batch_size)
            if not ids:
                return token, []
            won = take(ids)
            if won < len(ids) and self.database.is_sqlite:
                # Another worker took some between our read and our write. We hold the write
                # lock now, so a second read is exact: top the batch up from what is left.
                more = candidates(self.batch_size - won)
                if more:
                    take(more)
                    ids += more
            # Columns, not ORM objects: nothing here is changed through the session.
            inbox = table_of(PushInbox).c
            rows = session.execute(
                sa_select(
                    inbox.id, inbox.kind, inbox.body, inbox.received_at, inbox.attempts, inbox.error
                )
                .where(inbox.id.in_(ids), inbox.lease_owner == token)
                .order_by(inbox.id)
            )
            return token, [ClaimedPush(*row) for row in rows]

    # ---- relaying ------------------------------------------------------------------------------

    def relay(
        self, token: str, pushes: list[ClaimedPush], now: datetime | None = None
    ) -> BatchOutcome:
        """Relay claimed rows in one transaction; on a failure, each row on its own."""
        if not pushes:
            return BatchOutcome()
        now = now or utcnow()
        parsed = {p.id: self._parse(p) for p in pushes}
        try:
            with self.database.session() as session:
                outcome = self._relay_in(session, token, pushes, parsed, now)
        except Exception as exc:
            if len(pushes) == 1:
                return self._after_failure(token, pushes[0], exc, now)
            log.warning(
                "relay batch of %d failed (%s); relaying its rows one by one",
                len(pushes),
                _first_line(exc),
            )
            outcome = BatchOutcome(claimed=len(pushes))
            for push in pushes:
                single = self.relay(token, [push], now)
                single.claimed = 0
                outcome.add(single)
            return outcome
        self._count(outcome)
        return outcome

    def _parse(self, push: ClaimedPush) -> ParsedPush | ParseError:
        try:
            return parse_push(push.kind, push.body, self.platform_tz)
        except ParseError as exc:
            return exc

    def _relay_in(
        self,
        session: Session,
        token: str,
        pushes: list[ClaimedPush],
        parsed: dict[int, ParsedPush | ParseError],
        now: datetime,
    ) -> BatchOutcome:
        """The batch's transaction: reads first, then the writes, so that on SQLite the write
        lock (taken by the first write, held to the commit, and waited for by the listener's
        inbox commits) is held only for a few multi-row statements, not for the Python work."""
        # 0. Reads only: route and render every typed row the batch may store (bench/RESULTS.md,
        #    "The real `ccbot run`": the lock held through this work cost the listener 3x).
        events, calls = self._prepare(session, pushes, parsed, now)
        # 1. The compare-and-set on every row (it also takes the rows' write locks): rows whose
        #    lease expired and went to another worker are left alone from here on.
        outcome, done = self._settle(session, token, pushes, parsed, now)
        # 2. The typed rows (INSERT … ON CONFLICT DO NOTHING, one statement per table) with their
        #    rollups, and
        # 3. one outbox message per chat that wants it, only for new rows, in the order they came,
        #    stored with one statement at the end.
        rollups = RollupBatch()
        messages: list[Outgoing] = []
        new_events: list[RingingEvent] = []
        stored = self._store_new(session, PushKind.RINGING, events, done, outcome, messages)
        for prepared in stored:  # in the order they came (the rollups count misses in that order)
            event = cast(RingingEvent, prepared.model)
            new_events.append(event)
            rollups.add_ringing(event, [chat.chat_id for chat in prepared.targets])
        new_calls: list[CallRecord] = []
        for prepared in self._store_new(session, PushKind.CALL, calls, done, outcome, messages):
            record = cast(CallRecord, prepared.model)
            new_calls.append(record)
            # The chats it goes to are the chats it counts in, decided once, in this batch.
            rollups.add_call(record, [chat.chat_id for chat in prepared.targets], now)
        rollups.write(session)
        # 4. What else reacts to the rows just stored, in the transaction: it sees `new_events`
        #    and `new_calls` (stored, ids set, routed), may append to `messages` and write rows
        #    of its own with `session`. The agents' private screen pops (ahead of the team chats'
        #    messages by their urgency), then the alert rules.
        relay_screen_pops(session, new_events, new_calls, now, messages, self.default_zone)
        evaluate_alerts(
            session,
            RelayedRows(events=new_events, records=new_calls),
            messages,
            now,
            self.default_zone,
        )
        enqueue_many(session, messages)
        return outcome

    def _settle(
        self,
        session: Session,
        token: str,
        pushes: list[ClaimedPush],
        parsed: dict[int, ParsedPush | ParseError],
        now: datetime,
    ) -> tuple[BatchOutcome, set[int]]:
        """Fail the unreadable rows and those past MAX_ATTEMPTS, mark the others done; the
        outcome so far and the ids of the rows this transaction relays."""
        outcome = BatchOutcome(claimed=len(pushes))
        readable: list[int] = []
        for push in pushes:
            result = parsed[push.id]
            error, reason = None, None
            if isinstance(result, ParseError):
                error, reason = str(result), FailReason.UNREADABLE
            elif push.attempts > MAX_ATTEMPTS:
                last = push.last_error or "unknown error"
                error = f"gave up after {push.attempts - 1} attempts: {last}"
                reason = FailReason.GAVE_UP
            if error is None or reason is None:
                readable.append(push.id)
            elif self._fail(session, token, push, reason, error, now, tell=False):
                outcome.failed += 1
                outcome.failures[reason] += 1
            else:
                outcome.lost_lease += 1
        if outcome.failed:
            tell_admins(session, self.admin_user_ids, now)
        done = self._finish(session, token, readable, InboxStatus.DONE, None, now)
        outcome.done += len(done)
        outcome.lost_lease += len(readable) - len(done)
        return outcome, done

    def _prepare(
        self,
        session: Session,
        pushes: list[ClaimedPush],
        parsed: dict[int, ParsedPush | ParseError],
        now: datetime,
    ) -> tuple[list[_Prepared], list[_Prepared]]:
        """Every ringing event and call record the batch may store, built, routed and rendered
        with reads only (whether each is new, and whose push is still ours, the writes decide).

        A call record finds its task in the ringing events stored before it: those already in
        the table, else those of this batch (stored just before it, in the same transaction)."""
        ringing: list[tuple[int, dict[str, Any]]] = []
        call_rows: list[tuple[int, dict[str, Any]]] = []
        for push in pushes:
            result = parsed[push.id]
            if not isinstance(result, ParsedPush) or push.attempts > MAX_ATTEMPTS:
                continue
            stamp = {"received_at": push.received_at, "inbox_id": push.id}
            ringing += [(push.id, {**event.values, **stamp}) for event in result.ringing]
            if result.call is not None:
                call_rows.append((push.id, {**result.call.values, **stamp}))
        router = Router(session)
        router.load_tasks([row["task_id"] for _, row in ringing])
        events = []
        for push_id, row in ringing:
            event = new_row(RingingEvent, row)
            targets = router.ringing_targets(event.group_name, event.task_id)
            texts = self._ringing_messages(targets, event, now)
            events.append(_Prepared(push_id, row["dedupe_key"], row, event, targets, texts))
        calls = []
        if call_rows:
            router.load_call_tasks([row["call_id"] for _, row in call_rows])
            router.add_batch_events([row for _, row in ringing])
            router.load_callees([row for _, row in call_rows])
            for push_id, row in call_rows:
                record = new_row(CallRecord, row)
                targets = router.call_targets(record)
                group = router.group_of_call(record)
                if group and not row.get("agent_group_name"):
                    # A group call no agent answered: the platform names no group. It is stored
                    # under its task's group, so the figures, /calls, /export and the alert rules
                    # (which read a group's history) all see it as that group's call. (The push's
                    # own body stays in the inbox.)
                    row["agent_group_name"] = record.agent_group_name = group
                texts = self._call_messages(targets, record, now)
                calls.append(
                    _Prepared(push_id, row["call_session_id"], row, record, targets, texts)
                )
        return events, calls

    @classmethod
    def _store_new(
        cls,
        session: Session,
        kind: PushKind,
        prepared: list[_Prepared],
        done: set[int],
        outcome: BatchOutcome,
        messages: list[Outgoing],
    ) -> list[_Prepared]:
        """Store the rows of the pushes this transaction relays (`done`) in one statement; those
        that were new, in the order they came, their ids set and their messages taken. A row
        stored before, or twice in the batch, is stored once and counted as a duplicate."""
        model, key = _TABLES[kind]
        ids = insert_new(session, model, [p.row for p in prepared if p.push_id in done], key)
        new = []
        for row in prepared:
            if row.push_id not in done:
                continue
            row_id = ids.pop(row.key, None)  # twice in a batch: once
            if row_id is None:
                outcome.duplicates[kind] += 1
                continue
            row.model.id = row_id
            new.append(row)
            cls._take(row, kind, outcome, messages)
        return new

    @staticmethod
    def _take(
        prepared: _Prepared, kind: PushKind, outcome: BatchOutcome, messages: list[Outgoing]
    ) -> None:
        """A newly stored row's messages go to the outbox."""
        if not prepared.targets:
            outcome.unrouted[kind] += 1
        messages += prepared.messages
        outcome.messages += len(prepared.messages)

    def _finish(
        self,
        session: Session,
        token: str,
        push_ids: list[int],
        status: InboxStatus,
        error: str | None,
        now: datetime,
    ) -> set[int]:
        """pending → status for the rows still leased to `token`; returns the ids it changed."""
        if not push_ids:
            return set()
        result = session.execute(
            update(PushInbox)
            .where(
                col(PushInbox.id).in_(push_ids),
                col(PushInbox.lease_owner) == token,
                col(PushInbox.status) == InboxStatus.PENDING,
            )
            .values(status=status, processed_at=now, error=error)
            .returning(col(PushInbox.id))
        )
        return set(result.scalars())

    def _fail(
        self,
        session: Session,
        token: str,
        push: ClaimedPush,
        reason: FailReason,
        error: str,
        now: datetime,
        *,
        tell: bool = True,
    ) -> bool:
        """pending → failed (if the row is still ours), with its body kept as a dead letter and
        (`tell`) the admins told; False when the lease went to another worker."""
        if not self._finish(session, token, [push.id], InboxStatus.FAILED, error, now):
            return False
        log.warning("push %s (%s) failed: %s", push.id, push.kind, error)
        keep_failed_push(
            session,
            push_id=push.id,
            kind=push.kind,
            body=push.body,
            received_at=push.received_at,
            reason=error,
            now=now,
            admin_user_ids=self.admin_user_ids if tell else (),
        )
        return True

    def _ringing_messages(
        self, targets: list[BoundChat], event: RingingEvent, now: datetime
    ) -> list[Outgoing]:
        messages = []
        texts: dict[ChatDisplay, str] = {}  # chats that show it alike share the rendering
        for chat in targets:
            if relays_ringing(chat, now):
                display = self._display(chat)
                if display not in texts:
                    texts[display] = ringing_message(event, display)
                messages.append(
                    Outgoing(
                        chat.chat_id,
                        texts[display],
                        OutboxKind.RINGING,
                        chat.thread_id,
                        event_at=event.event_at,
                    )
                )
        return messages

    def _call_messages(
        self, targets: list[BoundChat], record: CallRecord, now: datetime
    ) -> list[Outgoing]:
        messages = []
        texts: dict[ChatDisplay, str] = {}
        for chat in targets:
            if relays_call(chat, record.answered, now):
                display = self._display(chat)
                if display not in texts:
                    texts[display] = call_message(record, display)
                messages.append(
                    Outgoing(chat.chat_id, texts[display], OutboxKind.CALL, chat.thread_id)
                )
        return messages

    def _display(self, chat: BoundChat) -> ChatDisplay:
        return ChatDisplay(
            mask_numbers=chat.mask_numbers,
            zone=chat_zone(chat, self.default_zone),
            language=language_of(chat.language),
        )

    def _after_failure(
        self, token: str, push: ClaimedPush, exc: Exception, now: datetime
    ) -> BatchOutcome:
        """One row broke its transaction: fail it if the database refuses its values outright,
        else retry it later (with backoff), failing it after MAX_ATTEMPTS."""
        reason = _first_line(exc)
        # DataError/IntegrityError, or a value our own column types refused before sending.
        refused = isinstance(exc, (DataError, IntegrityError)) or (
            isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)
        )
        if refused:
            return self._give_up(
                token, push, FailReason.REFUSED, f"the database refused it: {reason}", now
            )
        if push.attempts >= MAX_ATTEMPTS:
            return self._give_up(
                token,
                push,
                FailReason.GAVE_UP,
                f"gave up after {push.attempts} attempts: {reason}",
                now,
            )
        return self._retry_later(token, push, reason, now)

    def _give_up(
        self, token: str, push: ClaimedPush, why: FailReason, reason: str, now: datetime
    ) -> BatchOutcome:
        try:
            with self.database.session() as session:
                if not self._fail(session, token, push, why, reason, now):
                    return BatchOutcome(claimed=1, lost_lease=1)
        except SQLAlchemyError:
            log.exception("could not mark push %s failed; its lease will expire", push.id)
            return BatchOutcome(claimed=1, retried=1)
        count_failed([why])
        return BatchOutcome(claimed=1, failed=1, failures=Counter({why: 1}))

    def _retry_later(
        self, token: str, push: ClaimedPush, reason: str, now: datetime
    ) -> BatchOutcome:
        backoff = timedelta(seconds=min(2 ** (push.attempts - 1), 60))
        log.warning("push %s: will retry in %s: %s", push.id, backoff, reason)
        try:
            with self.database.session() as session:
                session.execute(
                    update(PushInbox)
                    .where(col(PushInbox.id) == push.id, col(PushInbox.lease_owner) == token)
                    .values(lease_until=now + backoff, error=reason[:2000])
                )
        except SQLAlchemyError:
            log.exception("could not note the failure of push %s; its lease will expire", push.id)
        return BatchOutcome(claimed=1, retried=1)

    def _count(self, outcome: BatchOutcome) -> None:
        """Metrics only for what was committed."""
        for kind, n in outcome.duplicates.items():
            PUSHES_DUPLICATE.labels(kind=str(kind)).inc(n)
        for kind, n in outcome.unrouted.items():
            PUSHES_UNROUTED.labels(kind=str(kind)).inc(n)
        count_failed(outcome.failures.elements())

    def run_once(self) -> BatchOutcome:
        """Claim one batch and relay it (blocking; the loop runs it in a thread).

        INBOX_DEPTH is not set here: the listener's inbox writer (bot/relay/ingest.py) keeps it,
        recounting the table every few seconds; a COUNT after every batch was a full index scan
        per 100 pushes for a figure that was already kept."""
        token, pushes = self.claim()
        outcome = self.relay(token, pushes)
        if pushes:
            log.debug("relayed %s", outcome)
        return outcome

    # ---- running on the loop -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Tell the worker new rows were committed (safe from any thread, a no-op when stopped)."""
        loop, event = self._loop, self._wake
        if loop is None or event is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    async def start(self) -> None:
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="relay-worker")
        log.info("relay worker %s started", self.name)

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if self._wake is not None:
            self._wake.set()
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=15)
            except TimeoutError:
                log.error("relay worker did not stop in time; its leases will expire")
        self._loop = None

    async def _run(self) -> None:
        assert self._wake is not None
        failures = 0
        while not self._stopping:
            self._wake.clear()  # before the cycle: a wake() during it makes the next wait short
            try:
                outcome = await asyncio.to_thread(self.run_once)
                failures = 0
            except Exception:
                failures += 1
                log.exception("relay cycle failed (%d in a row); trying again", failures)
                await asyncio.sleep(min(0.5 * 2 ** (failures - 1), 10))
                continue
            finally:
                self.last_cycle_at = time.monotonic()
            if outcome.claimed:
                for hook in self.on_relayed:
                    hook()
                continue  # there may be more
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_s)
            except TimeoutError:
                pass


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]
