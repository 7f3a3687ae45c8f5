"""The live task card: for each task submitted from a chat (`CallTask`), one message that the
sender edits in place (outbox rows of kind task_card with edit_key "task:<taskId>") while the task
runs, ending with "completed" or "cancelled".

Where the counters come from (platform-api.md §3.15, §3.16): the task query gives the total, the
numbers remaining, the calls transferred to agents and the calls lost waiting for one; the task
detail, filtered by number status and asked for one row, gives through its `total` how many
numbers were answered (status 9, called) and how many failed (status 7, call abnormal). The task
query is polled every POLL_EVERY_S; the two detail queries only when the task query shows a change.

A card is enqueued only when its counters or state changed, at most every MIN_CARD_INTERVAL (the
final card always), and the check is made under the task row's write lock against the newest card
already in the outbox, so two replicas polling the same task do not both enqueue the same card.
Polling stops when the task is final (`CallTask.last_status` holds its final status), when the
platform never showed the task within FORGET_UNKNOWN_AFTER (last_status UNKNOWN_TO_PLATFORM), or
when it is older than ACTIVE_FOR. Muting does not stop the card: it is the answer to the chat's own
action and an edit makes no sound.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, tzinfo
from enum import Enum

from sqlalchemy import or_, update
from sqlmodel import Session, col, select
from telegram.ext import Application, ContextTypes

from bot.audit import Actor, current_actor
from bot.config import chat_zone
from bot.delivery.outbox import OutboxKind, enqueue
from bot.i18n import language_of
from bot.laaffic.client import LaafficClient
from bot.laaffic.errors import PlatformError
from bot.laaffic.models import NumberStatus, Task, TaskStatus
from bot.relay.digest import leads_jobs
from bot.views.task_cards import TaskProgress, live_card_message
from bot.views.values import ChatDisplay
from storage.db import Database
from storage.models import BoundChat, CallTask, OutboxMessage, utcnow

log = logging.getLogger(__name__)

POLL_EVERY_S = 5.0
MIN_CARD_INTERVAL = timedelta(seconds=5)
ACTIVE_FOR = timedelta(days=3)
FORGET_UNKNOWN_AFTER = timedelta(hours=1)
UNKNOWN_TO_PLATFORM = -1  # CallTask.last_status: the platform never showed this task
FINAL_STATUSES = (TaskStatus.COMPLETED, TaskStatus.SUBMIT_FAILED, TaskStatus.CANCELLED)


def edit_key(task_id: int) -> str:
    return f"task:{task_id}"


def progress_of(
    task: Task, answered: int | None, failed: int | None, now: datetime
) -> TaskProgress:
    final = task.is_finished
    status = int(task.task_status) if task.task_status is not None else None
    state = task.status_label
    if final and not (isinstance(task.task_status, TaskStatus) and task.task_status.is_final):
        # finishFlag 1 with a status we do not know as final: completed, and polling stops.
        state, status = TaskStatus.COMPLETED.label, int(TaskStatus.COMPLETED)
    return TaskProgress(
        task_id=task.task_id,
        state=state,
        status=status,
        total=task.total_count or 0,
        remaining=task.remain_count or 0,
        transferred=task.transfers_num or 0,
        lost=task.call_failures_num or 0,
        answered=answered,
        failed=failed,
        remark=task.remark,
        final=final,
        updated_at=now,
    )


def active_tasks(session: Session, now: datetime) -> list[tuple[CallTask, BoundChat]]:
    """Tasks submitted from a bound chat that are not final yet (and not too old)."""
    stmt = (
        select(CallTask, BoundChat)
        .join(BoundChat, col(BoundChat.chat_id) == col(CallTask.chat_id))
        .where(
            col(BoundChat.active).is_(True),
            col(CallTask.created_at) >= now - ACTIVE_FOR,
            or_(
                col(CallTask.last_status).is_(None),
                col(CallTask.last_status).not_in(
                    [int(s) for s in FINAL_STATUSES] + [UNKNOWN_TO_PLATFORM]
                ),
            ),
        )
        .order_by(col(CallTask.task_id))
    )
    return [(task, chat) for task, chat in session.exec(stmt)]


def _body(text: str) -> str:
    """The card without its last line (the time of the change), for comparing two cards."""
    return text.rsplit("\n", 1)[0]


class CardResult(Enum):
    STORED = "stored"
    UNCHANGED = "unchanged"  # the newest card already shows this
    TOO_SOON = "too soon"  # changed, but the last card is younger than MIN_CARD_INTERVAL
    GONE = "gone"  # the task row is not there any more


def store_card(
    session: Session,
    task_id: int,
    chat: BoundChat,
    progress: TaskProgress,
    default_zone: tzinfo,
    now: datetime,
) -> CardResult:
    """Enqueue the card if it differs from the newest one and the last is old enough."""
    # Write first: the task row's lock makes a second replica wait here and then see this card.
    # (Writing a non-final status early is harmless; only a final one stops the polling, and a
    # final card is never held back.)
    locked = session.exec(
        update(CallTask).where(col(CallTask.task_id) == task_id).values(last_status=progress.status)
    )
    if locked.rowcount != 1:
        return CardResult.GONE
    display = ChatDisplay(
        mask_numbers=chat.mask_numbers,
        zone=chat_zone(chat, default_zone),
        language=language_of(chat.language),
    )
    text = live_card_message(progress, display)
    last = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.edit_key == edit_key(task_id))
        .order_by(col(OutboxMessage.id).desc())
        .limit(1)
    ).first()
    if last is not None:
        if _body(last.text) == _body(text):
            return CardResult.UNCHANGED
        if not progress.final and now - last.created_at < MIN_CARD_INTERVAL:
            return CardResult.TOO_SOON
    enqueue(
        session,
        chat_id=chat.chat_id,
        text=text,
        kind=OutboxKind.TASK_CARD,
        thread_id=chat.thread_id,
        edit_key=edit_key(task_id),
    )
    return CardResult.STORED


def _forget(session: Session, task_id: int) -> None:
    session.execute(
        update(CallTask)
        .where(col(CallTask.task_id) == task_id)
        .values(last_status=UNKNOWN_TO_PLATFORM)
    )


class TaskCardPoller:
    """Polls the platform for the chats' running tasks and enqueues their cards when they change."""

    def __init__(self, database: Database, client: LaafficClient, default_zone: tzinfo) -> None:
        self.database = database
        self.client = client
        self.default_zone = default_zone
        # The task query's answer at the last poll, per task: an unchanged answer costs no
        # detail queries and no database write. Only an optimisation; the database decides.
        self._seen: dict[int, tuple] = {}

    async def poll(self, now: datetime | None = None) -> int:
        """One round over the running tasks; returns how many cards were enqueued."""
        now = now or utcnow()
        tasks = await self.database.run(lambda s: active_tasks(s, now))
        enqueued = 0
        for call_task, chat in tasks:
            token = current_actor.set(
                Actor(user_id=None, chat_id=chat.chat_id, command="task card")
            )
            try:
                enqueued += await self._poll_one(call_task, chat, now)
            except PlatformError as exc:
                log.warning("task card %s: the platform did not answer: %s", call_task.task_id, exc)
            finally:
                current_actor.reset(token)
        return enqueued

    async def _poll_one(self, call_task: CallTask, chat: BoundChat, now: datetime) -> int:
        task_id = call_task.task_id
        task = await self.client.get_task(task_id)
        if task is None:
            if call_task.created_at < now - FORGET_UNKNOWN_AFTER:
                log.warning("task %s is unknown to the platform; its card stops", task_id)
                await self.database.run(lambda s: _forget(s, task_id))
            return 0
        seen = (
            task.task_status,
            task.finish_flag,
            task.total_count,
            task.remain_count,
            task.transfers_num,
            task.call_failures_num,
            task.remark,
        )
        if self._seen.get(task_id) == seen:
            return 0
        answered = await self._count(task_id, NumberStatus.CALLED)
        failed = await self._count(task_id, NumberStatus.ABNORMAL)
        progress = progress_of(task, answered, failed, now)
        result = await self.database.run(
            lambda s: store_card(s, task_id, chat, progress, self.default_zone, now)
        )
        if progress.final:
            self._seen.pop(task_id, None)
        elif result is not CardResult.TOO_SOON:  # too soon: the next poll tries again
            self._seen[task_id] = seen
        return int(result is CardResult.STORED)

    async def _count(self, task_id: int, status: NumberStatus) -> int | None:
        try:
            page = await self.client.task_detail(task_id, statuses=[status], page=1, size=1)
        except PlatformError as exc:
            log.info("task %s: could not count %s numbers: %s", task_id, status.name, exc)
            return None
        return page.total


def schedule(
    application: Application,
    poller: TaskCardPoller,
    *,
    first: float = 2.0,
    every: float = POLL_EVERY_S,
) -> None:
    """Run the poller on PTB's JobQueue every `every` seconds (one round at a time)."""
    lock = asyncio.Lock()  # only keeps this process from overlapping rounds; not for correctness

    async def job(context: ContextTypes.DEFAULT_TYPE) -> None:
        if not leads_jobs(context):
            return
        if lock.locked():
            return
        async with lock:
            try:
                await poller.poll()
            except Exception:
                log.exception("the task card round failed; the next one will catch up")

    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    application.job_queue.run_repeating(job, interval=every, first=first, name="relay-task-cards")
