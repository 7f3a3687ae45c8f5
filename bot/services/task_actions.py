"""A task's life after submit: which changes its state allows, asking to confirm, and applying the
confirmed change (cancel, call-out rate, re-run) once.

What the platform allows (platform-api.md §3.14, §3.17, §3.18, and the simulator's rules):
- cancel: while the task has not ended (taskStatus not completed, submission failed or cancelled);
- call-out rate (editTask): only a group call with transfer to agents, while it has not ended;
- re-run (resendTask): only once the task has ended (-41 "bad status" otherwise).
Buttons are offered and commands accepted by the same functions, so what is offered can work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import UserFacingError
from bot.i18n import _
from bot.laaffic.client import LaafficClient
from bot.laaffic.errors import PlatformError
from bot.laaffic.models import ResendType, Task, TaskType
from bot.services import tasks as store
from bot.services import teams
from storage.db import Database
from storage.models import ActionKind, ActionStatus, PendingAction

log = logging.getLogger(__name__)


class RerunChoice(StrEnum):
    FAILED = "failed"
    UNCALLED = "uncalled"
    ALL = "all"

    @property
    def resend_type(self) -> ResendType:
        return {
            RerunChoice.FAILED: ResendType.FAILED,
            RerunChoice.UNCALLED: ResendType.UNCALLED,
            RerunChoice.ALL: ResendType.ALL,
        }[self]

    @property
    def asking(self) -> str:
        """For the question: "Re-run task 5: {asking}?"."""
        return {
            RerunChoice.FAILED: _("call its failed numbers again"),
            RerunChoice.UNCALLED: _("call the numbers it has not called yet"),
            RerunChoice.ALL: _("call all its numbers again"),
        }[self]

    @property
    def queued(self) -> str:
        """For the result: "Task 5: {queued}."."""
        return {
            RerunChoice.FAILED: _("its failed numbers are queued to be called again"),
            RerunChoice.UNCALLED: _("the numbers it had not called yet are queued to be called"),
            RerunChoice.ALL: _("all its numbers are queued to be called again"),
        }[self]


def is_agent_call(task: Task) -> bool:
    return task.task_type == TaskType.AGENT_GROUP_CALL


def can_cancel(task: Task) -> bool:
    return not task.is_finished


def can_change_rate(task: Task) -> bool:
    return is_agent_call(task) and not task.is_finished


def can_rerun(task: Task) -> bool:
    return task.is_finished


def check_allowed(task: Task, kind: ActionKind) -> None:
    """Raise a plain sentence when the task's state does not allow `kind`."""
    status = task.status_label
    if kind == ActionKind.CANCEL and not can_cancel(task):
        raise UserFacingError(
            _(
                "Task {task_id} has already ended ({status}), so there is nothing to cancel. /rerun "
                "{task_id} failed calls its failed numbers again.",
                task_id=task.task_id,
                status=status,
            )
        )
    if kind == ActionKind.RATE and not is_agent_call(task):
        raise UserFacingError(
            _(
                "Task {task_id} is automatic calling, which has no call-out rate: the rate belongs to "
                "group calls with transfer to agents.",
                task_id=task.task_id,
            )
        )
    if kind == ActionKind.RATE and not can_change_rate(task):
        raise UserFacingError(
            _(
                "Task {task_id} has already ended ({status}), so its call-out rate can't change.",
                task_id=task.task_id,
                status=status,
            )
        )
    if kind == ActionKind.RERUN and not can_rerun(task):
        raise UserFacingError(
            _(
                "Task {task_id} is still running ({status}). A task is re-run once it has ended: wait "
                "for it to finish, or cancel it first with /cancel {task_id}.",
                task_id=task.task_id,
                status=status,
            )
        )


async def load_task(
    db: Database, client: LaafficClient, *, task_id: int, chat_id: int, is_admin: bool
) -> Task:
    """The platform's task, when this chat may see and act on it (the team rule)."""
    task = await client.get_task(task_id)
    if task is None:
        raise UserFacingError(
            _(
                "The platform has no task {task_id}. /tasks lists this chat's tasks.",
                task_id=task_id,
            )
        )
    groups = list(task.voice_group_ids or [])
    await db.run(
        lambda s: teams.require_task(
            s, chat_id=chat_id, is_admin=is_admin, task_id=task_id, group_ids=groups
        )
    )
    return task


async def ask(
    db: Database,
    task: Task,
    kind: ActionKind,
    *,
    chat_id: int,
    user_id: int,
    rate: int | None = None,
    which: RerunChoice | None = None,
) -> PendingAction:
    """Store the question "do `kind` to `task`?" after checking the task's state allows it."""
    check_allowed(task, kind)
    payload = store.ActionPayload(
        task_id=task.task_id,
        rate=rate,
        which=which.value if which else None,
        task_type=int(task.task_type) if task.task_type is not None else None,
        group_ids=list(task.voice_group_ids or []),
    )
    return await db.run(
        lambda s: store.new_pending(s, chat_id=chat_id, user_id=user_id, kind=kind, payload=payload)
    )


class ActionResult(StrEnum):
    DONE = "done"
    DECLINED = "declined"
    ALREADY_ANSWERED = "already_answered"
    FAILED = "failed"  # the platform refused or could not be reached; `error` says which


@dataclass(frozen=True)
class ActionOutcome:
    result: ActionResult
    kind: ActionKind
    payload: store.ActionPayload
    error: str | None = None  # plain text

    @property
    def task_id(self) -> int:
        return self.payload.task_id

    @property
    def rerun(self) -> RerunChoice:
        return RerunChoice(self.payload.which or RerunChoice.FAILED)


OnClaimed = Callable[[ActionKind, store.ActionPayload], Awaitable[None]]


async def answer(
    db: Database,
    client: LaafficClient,
    *,
    action: PendingAction,
    confirmed: bool,
    chat_id: int,
    is_admin: bool,
    app_id: str,
    on_claimed: OnClaimed | None = None,
) -> ActionOutcome:
    """Answer the question once; when confirmed, make the platform call once.

    `action` is the question as the handler loaded it (checked to be this chat's). The team rule is
    checked again here (routes can move between question and answer), before anything is done.
    """
    assert action.id is not None
    action_id = action.id
    payload = store.ActionPayload.from_json(action.payload)
    kind = ActionKind(action.kind)
    if action.status != ActionStatus.PENDING:
        return ActionOutcome(ActionResult.ALREADY_ANSWERED, kind, payload)
    if confirmed:
        await db.run(
            lambda s: teams.require_task(
                s,
                chat_id=chat_id,
                is_admin=is_admin,
                task_id=payload.task_id,
                group_ids=payload.group_ids,
            )
        )
    to_status = ActionStatus.CONFIRMED if confirmed else ActionStatus.DECLINED
    claimed = await db.run(lambda s: store.claim_pending(s, action_id, chat_id, to_status))
    if claimed is None:
        return ActionOutcome(ActionResult.ALREADY_ANSWERED, kind, payload)
    if not confirmed:
        return ActionOutcome(ActionResult.DECLINED, kind, payload)
    if on_claimed is not None:
        try:
            await on_claimed(kind, payload)
        except Exception:
            log.exception("could not show the progress of confirmation %s", action_id)
    try:
        if kind == ActionKind.CANCEL:
            await client.cancel_task(payload.task_id)
        elif kind == ActionKind.RATE:
            rate = payload.rate or 1
            await client.edit_task(payload.task_id, rate)
            await db.run(lambda s: store.remember_rate(s, payload.task_id, rate))
        else:
            await _rerun(db, client, payload, app_id)
            await db.run(lambda s: store.follow_again(s, payload.task_id))
    except (PlatformError, ValueError) as exc:
        return ActionOutcome(
            ActionResult.FAILED, kind, payload, await _why_failed(client, kind, payload, exc)
        )
    log.info("confirmed %s of task %s in chat %s", kind, payload.task_id, chat_id)
    return ActionOutcome(ActionResult.DONE, kind, payload)


async def _why_failed(
    client: LaafficClient, kind: ActionKind, payload: store.ActionPayload, exc: Exception
) -> str:
    """The sentence for a confirmed action that failed. -41 (bad status) means the task moved on
    between the question and the answer (it ended, or a re-run started): say what it is now
    rather than the code's general "check the task's status"."""
    if not isinstance(exc, PlatformError) or exc.code != "-41":
        return str(exc)
    try:
        task = await client.get_task(payload.task_id)
    except PlatformError:
        return str(exc)
    if task is None:
        return str(exc)
    try:
        check_allowed(task, kind)
    except UserFacingError as now:
        return _(
            "{now} It changed after you were asked; nothing was done. ({detail})",
            now=now,
            detail=exc.detail,
        )
    return str(exc)


async def _rerun(
    db: Database, client: LaafficClient, payload: store.ActionPayload, app_id: str
) -> None:
    """Re-run with the settings the task was submitted with (the bot's record when it has one)."""
    known = await db.run(lambda s: store.known_task(s, payload.task_id))
    if known is not None:
        task_type = TaskType(known.task_type)
        groups = [known.voice_group_id] if known.voice_group_id else list(payload.group_ids)
        rate = known.callout_rate or 1
        app_id = known.app_id or app_id
    else:
        task_type = TaskType(payload.task_type or 0)
        groups, rate = list(payload.group_ids), 1
    which = RerunChoice(payload.which or RerunChoice.FAILED)
    settings = client.task_settings(
        task_type,
        voice_group_ids=groups,
        callout_rate=rate if task_type == TaskType.AGENT_GROUP_CALL else None,
        app_id=app_id,
    )
    await client.resend_task(payload.task_id, which.resend_type, settings=settings)
