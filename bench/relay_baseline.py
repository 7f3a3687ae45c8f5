# A frozen baseline: kept as it was for bench/relay_throughput.py to compare against; it is not
# dead code to remove, and it is not updated when bot/ changes (only its imports follow moves).
"""The relay worker's cycle as it was before the per-cycle work was batched (commit 9bac4c6), kept
only as the baseline of `bench/relay_throughput.py`. Not used by the bot.

Same claim, same one transaction per batch, same rows written; the differences are how: one
INSERT per ringing event, one SELECT and one upsert per rollup counter, one ORM flush per outbox
message, one routing lookup per call record, and a COUNT over the inbox after every batch. It is a
subclass of today's worker that overrides the relay path with the old code, and uses frozen copies
of the old rollup, routing and enqueue helpers, so changes to those in bot/ do not leak into it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.metrics import INBOX_DEPTH
from bot.relay.parse import ParsedPush, ParseError, PushKind
from bot.relay.routing import relays_call, relays_ringing
from bot.relay.worker import (
    MAX_ATTEMPTS,
    BatchOutcome,
    ClaimedPush,
    RelayWorker,
    insert_new,
)
from bot.reports.rollups import bucket_of, is_failure, is_transfer
from bot.views.relayed import call_message, ringing_message
from storage.models import (
    AgentRollup,
    BoundChat,
    CallRecord,
    CallRollup,
    CallTask,
    GroupRoute,
    InboxStatus,
    OutboxMessage,
    OutboxStatus,
    PushInbox,
    RingingEvent,
    RingRollup,
    utcnow,
)


class BaselineWorker(RelayWorker):
    """`RelayWorker` with the relay path of commit 9bac4c6."""

    def run_once(self) -> BatchOutcome:
        token, pushes = self.claim()
        outcome = self.relay(token, pushes)
        if pushes:
            INBOX_DEPTH.set(self._pending_count())
        return outcome

    def _pending_count(self) -> int:
        with self.database.session() as session:
            stmt = (
                select(func.count())
                .select_from(PushInbox)
                .where(PushInbox.status == InboxStatus.PENDING)
            )
            return int(session.exec(stmt).one())

    def _relay_in(
        self,
        session: Session,
        token: str,
        pushes: list[ClaimedPush],
        parsed: dict[int, ParsedPush | ParseError],
        now: datetime,
    ) -> BatchOutcome:
        outcome = BatchOutcome(claimed=len(pushes))
        readable: list[int] = []
        for push in pushes:
            result = parsed[push.id]
            error = None
            if isinstance(result, ParseError):
                error = str(result)
            elif push.attempts > MAX_ATTEMPTS:
                error = f"gave up after {push.attempts - 1} attempts: {push.last_error}"
            if error is None:
                readable.append(push.id)
            elif self._finish(session, token, [push.id], InboxStatus.FAILED, error, now):
                outcome.failed += 1
            else:
                outcome.lost_lease += 1
        done = self._finish(session, token, readable, InboxStatus.DONE, None, now)
        outcome.done += len(done)
        outcome.lost_lease += len(readable) - len(done)
        ringing: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for push in pushes:
            result = parsed[push.id]
            if push.id not in done or not isinstance(result, ParsedPush):
                continue
            stamp = {"received_at": push.received_at, "inbox_id": push.id}
            ringing += [{**event.values, **stamp} for event in result.ringing]
            if result.call is not None:
                calls.append({**result.call.values, **stamp})
        router = _Router(session)
        for row in ringing:
            new = insert_new(session, RingingEvent, [row], "dedupe_key")
            if not new:
                outcome.duplicates[PushKind.RINGING] += 1
                continue
            event = RingingEvent(id=new[row["dedupe_key"]], **row)
            _count_ringing(session, event)
            targets = router.ringing_targets(event.group_name, event.task_id)
            if not targets:
                outcome.unrouted[PushKind.RINGING] += 1
            for chat in targets:
                if relays_ringing(chat, now):
                    text = ringing_message(event, self._display(chat))
                    _enqueue(session, chat, text, "ringing")
                    outcome.messages += 1
        new_calls = insert_new(session, CallRecord, calls, "call_session_id")
        for row in calls:
            record_id = new_calls.pop(row["call_session_id"], None)
            if record_id is None:
                outcome.duplicates[PushKind.CALL] += 1
                continue
            record = CallRecord(id=record_id, **row)
            _count_call(session, record)
            targets = router.call_targets(record)
            if not targets:
                outcome.unrouted[PushKind.CALL] += 1
            for chat in targets:
                if relays_call(chat, record.answered, now):
                    text = call_message(record, self._display(chat))
                    _enqueue(session, chat, text, "call")
                    outcome.messages += 1
        return outcome


# Rollups are kept per chat now (migration 0004a); the frozen code path counts every push once,
# for one chat, which is the same number of upserts it always made.
BASELINE_CHAT = 0


def _enqueue(session: Session, chat: BoundChat, text: str, kind: str) -> None:
    message = OutboxMessage(
        chat_id=chat.chat_id,
        thread_id=chat.thread_id,
        kind=kind,
        text=text,
        status=OutboxStatus.PENDING,
        not_before=utcnow(),
    )
    session.add(message)
    session.flush()


class _Router:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._exact: dict[str, list[int]] | None = None
        self._folded: dict[str, list[int]] = {}
        self._chats: dict[int, BoundChat | None] = {}
        self._task_chat: dict[int, int | None] = {}

    def chats_for_group(self, group_name: str | None) -> list[int]:
        if not group_name:
            return []
        if self._exact is None:
            rows = self.session.exec(
                select(GroupRoute.group_name, GroupRoute.chat_id)
                .where(col(GroupRoute.active).is_(True))
                .order_by(col(GroupRoute.id))
            )
            exact: dict[str, list[int]] = {}
            folded: dict[str, list[int]] = {}
            for name, chat_id in rows:
                exact.setdefault(name, []).append(chat_id)
                folded.setdefault(name.casefold(), []).append(chat_id)
            self._exact, self._folded = exact, folded
        return list(self._exact.get(group_name) or self._folded.get(group_name.casefold(), []))

    def chat(self, chat_id: int) -> BoundChat | None:
        if chat_id not in self._chats:
            chat = self.session.get(BoundChat, chat_id)
            self._chats[chat_id] = chat if chat is not None and chat.active else None
        return self._chats[chat_id]

    def chat_for_task(self, task_id: int | None) -> int | None:
        if task_id is None:
            return None
        if task_id not in self._task_chat:
            task = self.session.get(CallTask, task_id)
            self._task_chat[task_id] = task.chat_id if task is not None else None
        return self._task_chat[task_id]

    def task_for_call(self, call_id: str | None) -> int | None:
        if not call_id:
            return None
        stmt = (
            select(RingingEvent.task_id)
            .where(RingingEvent.call_id == call_id, col(RingingEvent.task_id).is_not(None))
            .limit(1)
        )
        return self.session.exec(stmt).first()

    def _targets(self, chat_ids: list[int]) -> list[BoundChat]:
        seen: set[int] = set()
        chats = []
        for chat_id in chat_ids:
            if chat_id in seen:
                continue
            seen.add(chat_id)
            chat = self.chat(chat_id)
            if chat is not None:
                chats.append(chat)
        return chats

    def ringing_targets(self, group_name: str | None, task_id: int | None) -> list[BoundChat]:
        chat_ids = self.chats_for_group(group_name)
        task_chat = self.chat_for_task(task_id)
        if task_chat is not None:
            chat_ids.append(task_chat)
        return self._targets(chat_ids)

    def call_targets(self, record: CallRecord) -> list[BoundChat]:
        chat_ids = self.chats_for_group(record.agent_group_name)
        task_chat = self.chat_for_task(self.task_for_call(record.call_id))
        if task_chat is not None:
            chat_ids.append(task_chat)
        return self._targets(chat_ids)


def _upsert(session: Session, table: Any, keys: list[str], row: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(**row)
    counters = {name: table.c[name] + stmt.excluded[name] for name in row if name not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=counters))


def _count_call(session: Session, record: CallRecord) -> None:
    bucket = bucket_of(record.call_start_at or record.received_at)
    group = record.agent_group_name or ""
    talk = max(record.call_duration or 0, 0)
    cost = record.cost
    _upsert(
        session,
        CallRollup.__table__,
        ["chat_id", "bucket_start", "group_name", "hangup_reason"],
        {
            "chat_id": BASELINE_CHAT,
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
            AgentRollup.__table__,
            ["chat_id", "bucket_start", "group_name", "agent_name"],
            {
                "chat_id": BASELINE_CHAT,
                "bucket_start": bucket,
                "group_name": group,
                "agent_name": record.agent_name,
                "calls": 1,
                "answered": int(record.answered),
                "talk_seconds": talk,
            },
        )


def _sip_list(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(x) for x in value if x] if isinstance(value, list) else []


def _count_ringing(session: Session, event: RingingEvent) -> None:
    bucket = bucket_of(event.event_at or event.received_at)
    group = event.group_name or ""
    keys = ["chat_id", "bucket_start", "group_name", "sip_account"]
    table: Table = RingRollup.__table__  # type: ignore[attr-defined]
    if event.sip_account:
        row = {
            "chat_id": BASELINE_CHAT,
            "bucket_start": bucket,
            "group_name": group,
            "sip_account": event.sip_account,
        }
        _upsert(session, table, keys, {**row, "rings": 1, "missed": 0})
    already: set[str] = set()
    if event.call_id:
        stmt = select(RingingEvent.no_answer_sip_list).where(
            RingingEvent.call_id == event.call_id,
            RingingEvent.id != event.id,  # type: ignore[arg-type]
        )
        for raw in session.exec(stmt):
            already.update(_sip_list(raw))
    for sip in dict.fromkeys(_sip_list(event.no_answer_sip_list)):
        if sip not in already:
            row = {
                "chat_id": BASELINE_CHAT,
                "bucket_start": bucket,
                "group_name": group,
                "sip_account": sip,
            }
            _upsert(session, table, keys, {**row, "rings": 0, "missed": 1})
