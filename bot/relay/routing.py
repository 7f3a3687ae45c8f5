"""Which chats a ringing event or call record goes to, and whether each chat wants it now.

Routing, for one event:
- every bound chat with an active route (`GroupRoute`) for the agent group named in the push
  (`seatGroupName` / `agentGroupName`), by the one group-name rule (`bot.services.groups.
  GroupNames`: exact, else without invisible characters, else in any case);
- for a ringing event with a `taskId`, the chat that submitted that task (`CallTask.chat_id`);
- for a call record, the chat of the task its call belongs to: the task a ringing event of the
  same `callId` carried; else, when no such event was stored (an automatic call, a call that
  reached no agent), the task that dialled its called number: a `TaskCallee` row of a task
  submitted in the TASK_WINDOW before the call started, whose calling number is the record's
  caller when both are known (the newest such task when several are);
each chat once. The chats a call record goes to are also the chats it counts in (`CallChat`, the
rollups): decided once, here, when the record is stored. Whether the chat then gets a message
depends on its settings (`/notify`, `/mute`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.services.groups import GroupNames
from bot.services.task_callees import TASK_WINDOW
from storage.models import (
    BoundChat,
    CallChat,
    CallRecord,
    CallTask,
    GroupRoute,
    RingingEvent,
    TaskCallee,
    as_utc,
)

# A number is matched to a task submitted in TASK_WINDOW before the call started (the clock of
# the platform may run a little ahead of ours: CLOCK_SLACK).
CLOCK_SLACK = timedelta(minutes=10)


class NotifyCalls(StrEnum):
    """`BoundChat.notify_calls`: what a chat gets of call records."""

    EACH = "each"  # one message per call record
    ANSWERED = "answered"  # one message per answered call
    DIGEST = "digest"  # a digest every DIGEST_INTERVAL (the default)
    OFF = "off"  # nothing (the records still count in the daily summary)


DEFAULT_NOTIFY_CALLS = NotifyCalls.DIGEST


def notify_calls_of(chat: BoundChat) -> NotifyCalls:
    try:
        return NotifyCalls(chat.notify_calls)
    except ValueError:
        return DEFAULT_NOTIFY_CALLS


def is_muted(chat: BoundChat, now: datetime) -> bool:
    return chat.muted_until is not None and chat.muted_until > now


def relays_ringing(chat: BoundChat, now: datetime) -> bool:
    return chat.active and chat.notify_ringing and not is_muted(chat, now)


def relays_call(chat: BoundChat, answered: bool, now: datetime) -> bool:
    """True when this chat gets a message of its own for this call record."""
    if not chat.active or is_muted(chat, now):
        return False
    mode = notify_calls_of(chat)
    return mode is NotifyCalls.EACH or (mode is NotifyCalls.ANSWERED and answered)


class Router:
    """Routing lookups for one transaction; routes and chats are read once and kept."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._routes: GroupNames[int] | None = None
        self._chats: dict[int, BoundChat | None] = {}
        self._task_chat: dict[int, int | None] = {}
        self._task_group: dict[int, int | None] = {}  # task → its agent group's id (voiceGroupId)
        self._group_names: dict[int, str | None] = {}  # agent group id → its name, from routes
        self._call_task: dict[str, int | None] = {}
        # called digits → the tasks that dialled them: (task id, chat, submitted at, display number)
        self._callee_tasks: dict[str, list[tuple[int, int, datetime, str | None]]] = {}

    def _load_routes(self) -> GroupNames[int]:
        if self._routes is None:
            rows = list(
                self.session.exec(
                    select(GroupRoute.group_name, GroupRoute.chat_id)
                    .where(col(GroupRoute.active).is_(True))
                    .order_by(col(GroupRoute.id))
                )
            )
            self._routes = GroupNames(rows)
            self._load_chats({chat_id for _, chat_id in rows})
        return self._routes

    def _load_chats(self, chat_ids: set[int]) -> None:
        """Read these chats in one query (the routed chats, with the routes)."""
        wanted = sorted(chat_ids - self._chats.keys())
        if not wanted:
            return
        found = {
            chat.chat_id: chat
            for chat in self.session.exec(
                select(BoundChat).where(col(BoundChat.chat_id).in_(wanted))
            )
        }
        for chat_id in wanted:
            chat = found.get(chat_id)
            self._chats[chat_id] = chat if chat is not None and chat.active else None

    def chats_for_group(self, group_name: str | None) -> list[int]:
        """Chat ids with an active route for this group name (the one group-name rule)."""
        return self._load_routes().find(group_name)

    def chat(self, chat_id: int) -> BoundChat | None:
        """The bound, active chat, or None."""
        if chat_id not in self._chats:
            chat = self.session.get(BoundChat, chat_id)
            self._chats[chat_id] = chat if chat is not None and chat.active else None
        return self._chats[chat_id]

    def chat_for_task(self, task_id: int | None) -> int | None:
        if task_id is None:
            return None
        if task_id not in self._task_chat:
            self.load_tasks([task_id])
        return self._task_chat[task_id]

    def load_tasks(self, task_ids: list[int | None]) -> None:
        """Look up which chat submitted each of these tasks, in one query (for `chat_for_task`)."""
        wanted = sorted({t for t in task_ids if t is not None} - self._task_chat.keys())
        if not wanted:
            return
        stmt = select(CallTask.task_id, CallTask.chat_id, CallTask.voice_group_id).where(
            col(CallTask.task_id).in_(wanted)
        )
        found = {task_id: (chat_id, group) for task_id, chat_id, group in self.session.exec(stmt)}
        for task_id in wanted:
            chat_id, group = found.get(task_id, (None, None))
            self._task_chat[task_id] = chat_id
            self._task_group[task_id] = group

    def task_for_call(self, call_id: str | None) -> int | None:
        """The task of a call, from a stored ringing event of the same callId that carried it
        (the first stored, when several did)."""
        if not call_id:
            return None
        if call_id not in self._call_task:
            self.load_call_tasks([call_id])
        return self._call_task[call_id]

    def load_call_tasks(self, call_ids: list[str | None]) -> None:
        """Look up the tasks of these calls in one query (for `task_for_call`). Kept for the
        transaction: call it after the ringing events it should see were stored."""
        wanted = sorted({c for c in call_ids if c} - self._call_task.keys())
        if not wanted:
            return
        stmt = (
            select(RingingEvent.call_id, RingingEvent.task_id)
            .where(col(RingingEvent.call_id).in_(wanted), col(RingingEvent.task_id).is_not(None))
            .order_by(col(RingingEvent.id).desc())
        )  # ix_ringing_event_call
        found = dict(self.session.exec(stmt).all())  # the lowest id of each call wins
        for call_id in wanted:
            self._call_task[call_id] = found.get(call_id)
        self.load_tasks(list(found.values()))

    def add_batch_events(self, rows: list[dict[str, object]]) -> None:
        """Count the ringing events the caller's transaction is about to store as stored, for
        `task_for_call` (call it after `load_call_tasks`). They will have higher ids than the
        stored ones, given in key order, so a call's task stays the stored one's if any, else
        the batch's event with the lowest key that carries one (for the calls looked up)."""
        for row in sorted(rows, key=lambda r: str(r["dedupe_key"])):
            call_id, task_id = str(row.get("call_id") or ""), row.get("task_id")
            if isinstance(task_id, int) and self._call_task.get(call_id, 0) is None:
                self._call_task[call_id] = task_id  # looked up, and no stored event had one
        self.load_tasks(list(self._call_task.values()))

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

    def load_callees(self, records: list[dict[str, object]]) -> None:
        """Look up, in one query, the tasks that dialled the called numbers of these records
        (for `call_targets`); only records whose call no stored ringing event tied to a task."""
        wanted = sorted(
            {
                str(r["called_digits"])
                for r in records
                if r.get("called_digits") and self._call_task.get(str(r.get("call_id"))) is None
            }
            - self._callee_tasks.keys()
        )
        if not wanted:
            return
        stmt = (
            sa_select(
                col(TaskCallee.callee_digits),
                col(TaskCallee.task_id),
                col(TaskCallee.chat_id),
                col(TaskCallee.created_at),
                col(CallTask.display_num),
            )
            .join(CallTask, col(CallTask.task_id) == col(TaskCallee.task_id), isouter=True)
            .where(col(TaskCallee.callee_digits).in_(wanted))
        )  # ix_task_callee_digits
        found: dict[str, list[tuple[int, int, datetime, str | None]]] = {d: [] for d in wanted}
        for digits, task_id, chat_id, created, display in self.session.execute(stmt):
            found[digits].append((task_id, chat_id, as_utc(created), display))
        self._callee_tasks.update(found)

    def task_by_number(self, record: CallRecord) -> tuple[int, int] | None:
        """(task id, chat id) of the task that dialled this record's number around its start
        (see the module's docstring), or None."""
        digits = record.called_digits
        if not digits:
            return None
        if digits not in self._callee_tasks:
            self.load_callees([{"called_digits": digits, "call_id": None}])
        start = as_utc(record.call_start_at or record.received_at)
        caller = _digits_of(record.caller)
        best: tuple[datetime, int, int] | None = None
        for task_id, chat_id, created, display in self._callee_tasks.get(digits, []):
            if not created - CLOCK_SLACK <= start <= created + TASK_WINDOW:
                continue
            if caller and display and _digits_of(display) not in ("", caller):
                continue  # another calling number: another task's call
            if best is None or (created, task_id) > best[:2]:
                best = (created, task_id, chat_id)
        return None if best is None else (best[1], best[2])

    def call_task(self, record: CallRecord) -> tuple[int | None, int | None]:
        """(task id, chat id) of the task a call record belongs to, as far as it is known: by a
        ringing event of its call, else by its called number."""
        task_id = self.task_for_call(record.call_id)
        if task_id is not None:
            return task_id, self.chat_for_task(task_id)
        by_number = self.task_by_number(record)
        return (None, None) if by_number is None else by_number

    def call_targets(self, record: CallRecord) -> list[BoundChat]:
        """The chats a call record goes to, and counts in (see the module's docstring)."""
        chat_ids = self.chats_for_group(record.agent_group_name)
        task_chat = self.call_task(record)[1]
        if task_chat is not None:
            chat_ids.append(task_chat)
        return self._targets(chat_ids)

    def group_of_call(self, record: CallRecord) -> str | None:
        """The agent group a call record counts under: the one it names, else (a group call that
        no agent answered names none) its task's agent group, by the name a route gave it."""
        if record.agent_group_name:
            return record.agent_group_name
        task_id = self.call_task(record)[0]
        if task_id is None:
            return None
        if task_id not in self._task_group:
            self.load_tasks([task_id])
        group_id = self._task_group.get(task_id)
        if group_id is None:
            return None
        if group_id not in self._group_names:
            stmt = (
                select(GroupRoute.group_name)
                .where(col(GroupRoute.voice_group_id) == group_id)
                .order_by(col(GroupRoute.active).desc(), col(GroupRoute.id).desc())
                .limit(1)
            )
            self._group_names[group_id] = self.session.exec(stmt).first()
        return self._group_names[group_id]


def _digits_of(text: str | None) -> str:
    return "".join(ch for ch in text or "" if "0" <= ch <= "9")


@dataclass(frozen=True)
class UnroutedGroup:
    """An agent group named in recent pushes that no chat routes (None: pushes naming none)."""

    group_name: str | None
    ringing_events: int
    call_records: int


def unrouted_groups(session: Session, since: datetime) -> list[UnroutedGroup]:
    """Groups seen since `since` (by event time, on the indexed columns) with no active route,
    with their ringing events and the call records that count in no chat; the call records
    without an agent group that count in no chat under None (those of the chats' tasks count)."""
    ringing = dict(
        session.exec(
            select(RingingEvent.group_name, func.count())
            .where(col(RingingEvent.event_at) >= since)
            .group_by(RingingEvent.group_name)
        ).all()
    )
    counted = select(CallChat.call_record_id).where(
        col(CallChat.call_record_id) == col(CallRecord.id)
    )
    calls = dict(
        session.exec(
            select(CallRecord.agent_group_name, func.count())
            .where(col(CallRecord.call_start_at) >= since, ~counted.exists())
            .group_by(CallRecord.agent_group_name)
        ).all()
    )
    router = Router(session)
    unrouted = []
    for name in set(ringing) | set(calls):
        if name and router.chats_for_group(name):
            continue
        if not name and not calls.get(name):
            continue  # ringing events without a group go to their task's chat
        unrouted.append(UnroutedGroup(name, ringing.get(name, 0), calls.get(name, 0)))
    unrouted.sort(key=lambda g: (g.group_name is None, -(g.ringing_events + g.call_records)))
    return unrouted
