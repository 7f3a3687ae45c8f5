"""A task's life: /tasks, /task, /cancel, /rate, /rerun, the task card's buttons and the
confirmation buttons.

Every command and button goes through `task_actions.load_task`, which applies the team rule
(`bot.services.teams`): a chat acts on the tasks it submitted or that are for its agent groups;
ccbot admins act anywhere, and only they see `/tasks all`. Only what the task's state allows is
offered, and the commands refuse the same states with a sentence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Message
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Request, button, command
from bot.handlers.catalogue import usage
from bot.i18n import _
from bot.laaffic import limits
from bot.laaffic.models import Task
from bot.services import task_actions, teams
from bot.services import tasks as store
from bot.services.access import Role
from bot.services.task_actions import RerunChoice
from bot.services.task_input import ROW_ID_MAX, parse_rate, parse_task_id, whole_number
from bot.views.task_cards import (
    STALE_BUTTON,
    action_result,
    all_tasks_title,
    chat_tasks_title,
    question,
    rate_picker,
    task_card,
    task_list,
)
from storage.models import ActionKind

log = logging.getLogger(__name__)

LIST_MAX = 30  # tasks shown by /tasks; one page of the platform's list is searched

# Usage answers come from the command catalogue, like every command's.
TASK_USAGE = usage("task")
TASKS_USAGE = usage("tasks")
CANCEL_USAGE = usage("cancel")
RATE_USAGE = usage("rate")
RERUN_USAGE = usage("rerun")


def _stale() -> UserFacingError:
    return UserFacingError(_(STALE_BUTTON))


def _pressed(req: Request) -> Message | None:
    """The message whose button was pressed, when the bot can still edit it."""
    message = req.query.message if req.query else None
    return message if isinstance(message, Message) else None


async def _load(req: Request, task_id: int) -> Task:
    return await task_actions.load_task(
        req.runtime.database,
        req.runtime.client,
        task_id=task_id,
        chat_id=req.chat_id,
        is_admin=req.is_admin,
    )


async def _ask(
    req: Request,
    task: Task,
    kind: ActionKind,
    *,
    rate: int | None = None,
    which: RerunChoice | None = None,
) -> None:
    action = await task_actions.ask(
        req.runtime.database,
        task,
        kind,
        chat_id=req.chat_id,
        user_id=req.user_id,
        rate=rate,
        which=which,
    )
    assert action.id is not None
    card = question(action.id, task, kind, rate=rate, which=which)
    await req.reply(card.text, card.rows)


# ---- commands -------------------------------------------------------------------------------------


@command("/tasks", Role.VIEWER)
async def list_tasks(req: Request) -> None:
    if len(req.args) > 1 or (req.args and req.args[0].lower() != "all"):
        raise UsageError(TASKS_USAGE)
    show_all = bool(req.args)
    if show_all and not req.is_admin:
        raise UserFacingError(
            _(
                "/tasks all lists every team's tasks, so it is for ccbot admins only. /tasks lists "
                "this chat's tasks.",
            )
        )
    client, db = req.runtime.client, req.runtime.database
    page = await client.query_tasks(page=1, size=limits.PAGE_SIZE_MAX)
    if show_all:
        tasks = page.records[:LIST_MAX]
        title = all_tasks_title(len(tasks), page.total)
    else:
        records = page.records

        def ours(session):  # noqa: ANN001, ANN202
            mine = [t.task_id for t in store.chat_tasks(session, req.chat_id, LIST_MAX)]
            owned = [
                t
                for t in records
                if teams.chat_owns_task(session, req.chat_id, t.task_id, t.voice_group_ids or [])
            ]
            return mine, owned

        mine, tasks = await db.run(ours)
        listed = {t.task_id for t in records}
        # Our own tasks older than the platform's first page: asked for one by one (a few).
        for task_id in [t for t in mine if t not in listed][:10]:
            found = await client.get_task(task_id)
            if found is not None:
                tasks.append(found)
        tasks = sorted(tasks, key=lambda t: t.task_id, reverse=True)[:LIST_MAX]
        title = chat_tasks_title(len(tasks))
    if not tasks:
        await req.reply(
            _("The application has no tasks yet.")
            if show_all
            else _("No tasks yet. Upload a number file, then press [Create task…] or use /newtask.")
        )
        return
    await req.reply(task_list(title, tasks))


@command("/task", Role.VIEWER)
async def show_task(req: Request) -> None:
    if len(req.args) != 1:
        raise UsageError(TASK_USAGE)
    task = await _load(req, parse_task_id(req.args[0], TASK_USAGE))
    card = task_card(task)
    await req.reply(card.text, card.rows)


@command("/cancel", Role.OPERATOR)
async def cancel_task(req: Request) -> None:
    if len(req.args) != 1:
        raise UsageError(CANCEL_USAGE)
    task = await _load(req, parse_task_id(req.args[0], CANCEL_USAGE))
    await _ask(req, task, ActionKind.CANCEL)


@command("/rate", Role.OPERATOR)
async def rate_task(req: Request) -> None:
    if len(req.args) != 2:
        raise UsageError(RATE_USAGE)
    task_id = parse_task_id(req.args[0], RATE_USAGE)
    rate = parse_rate(req.args[1])
    task = await _load(req, task_id)
    await _ask(req, task, ActionKind.RATE, rate=rate)


@command("/rerun", Role.OPERATOR)
async def rerun_task(req: Request) -> None:
    choices = {c.value: c for c in RerunChoice}
    if len(req.args) == 2 and req.args[1].lower() not in choices:
        raise UsageError(
            _(
                "“{value}” is not a re-run choice: say failed, uncalled or all.",
                value=req.args[1][:20],
            ),
            command="rerun",
        )
    if len(req.args) != 2:
        raise UsageError(RERUN_USAGE)
    task_id = parse_task_id(req.args[0], RERUN_USAGE)
    task = await _load(req, task_id)
    await _ask(req, task, ActionKind.RERUN, which=choices[req.args[1].lower()])


# ---- the task card's buttons ----------------------------------------------------------------------


@dataclass(frozen=True)
class TaskPress:
    task_id: int
    action: str
    rate: int | None = None


def _parse_task_press(args: list[str]) -> TaskPress:
    task_id = whole_number(args[0], 1, limits.PLATFORM_ID_MAX) if args else None
    if task_id is None:
        raise _stale()
    if len(args) == 2 and args[1] in ("refresh", "cancel", "rate", "rerun"):
        return TaskPress(task_id, args[1])
    if len(args) == 3 and args[1] == "setrate":
        rate = whole_number(args[2], limits.CALLOUT_RATE_MIN, limits.CALLOUT_RATE_MAX)
        if rate is None:
            raise _stale()
        return TaskPress(task_id, "setrate", rate)
    raise _stale()


@button("tk", Role.VIEWER)
async def task_button(req: Request) -> None:
    press = _parse_task_press(req.args)
    if press.action != "refresh" and req.role < Role.OPERATOR:
        log.warning(
            "refused task button %s from viewer %s in chat %s",
            press.action,
            req.user_id,
            req.chat_id,
        )
        await req.toast(
            _("Only members with the operator role can change tasks; nothing was done."), alert=True
        )
        return
    task = await _load(req, press.task_id)
    if press.action == "refresh":
        message = _pressed(req)
        card = task_card(task)
        if message is not None:
            await req.edit(message, card.text, card.rows)
        else:
            await req.reply(card.text, card.rows)
        await req.toast(_("Refreshed"))
        return
    if press.action == "cancel":
        await _ask(req, task, ActionKind.CANCEL)
    elif press.action == "rerun":
        await _ask(req, task, ActionKind.RERUN, which=RerunChoice.FAILED)
    elif press.action == "rate":
        task_actions.check_allowed(task, ActionKind.RATE)
        picker = rate_picker(task.task_id)
        await req.reply(picker.text, picker.rows)
    else:
        await _ask(req, task, ActionKind.RATE, rate=press.rate)
    await req.toast(_("Answer below"))


# ---- the confirmation buttons ---------------------------------------------------------------------


@button("pa", Role.OPERATOR)
async def confirm_button(req: Request) -> None:
    if len(req.args) != 2 or req.args[1] not in ("yes", "no"):
        raise _stale()
    action_id = whole_number(req.args[0], 1, ROW_ID_MAX)
    if action_id is None:
        raise _stale()
    db = req.runtime.database
    action = await db.run(lambda s: store.get_pending(s, action_id, req.chat_id))
    if action is None:
        raise _stale()
    message = _pressed(req)

    async def answered(kind: ActionKind, payload: store.ActionPayload) -> None:
        # Claimed: answer the press now (the platform call may take a while). Its outcome, good or
        # bad, replaces the question; no progress edit, which would spend the group's message
        # budget (about 20 a minute) for a call that usually takes well under a second.
        await req.toast("")

    outcome = await task_actions.answer(
        db,
        req.runtime.client,
        action=action,
        confirmed=req.args[1] == "yes",
        chat_id=req.chat_id,
        is_admin=req.is_admin,
        app_id=req.app_id,
        on_claimed=answered,
    )
    if outcome.result == task_actions.ActionResult.ALREADY_ANSWERED:
        await req.toast(action_result(outcome), alert=True)
        return
    if message is not None:
        await req.edit(message, action_result(outcome))
    else:
        await req.reply(action_result(outcome))
    if outcome.result == task_actions.ActionResult.DECLINED:
        await req.toast(_("Left as it is"))


def register(application: Application) -> None:
    for name, fn in (
        ("tasks", list_tasks),
        ("task", show_task),
        ("cancel", cancel_task),
        ("rate", rate_task),
        ("rerun", rerun_task),
    ):
        application.add_handler(CommandHandler(name, fn))
    for fn in (task_button, confirm_button):
        application.add_handler(CallbackQueryHandler(fn, pattern=fn.callback_pattern))
