"""Calling tasks: the guided /newtask flow, the one-line form, and /tasks, /task, /cancel, /rate,
/rerun with their buttons. Every destructive action asks to confirm first."""

from __future__ import annotations

import json
import logging

from telegram import ForceReply, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Context, Keyboard, Request, button, command, resolve, run_guarded
from bot.laaffic.errors import PlatformError, PlatformOutcomeUnknown
from bot.laaffic.models import ResendType, Task, TaskType
from bot.render import code, esc
from bot.services import groups as group_service
from bot.services import tasks as task_service
from bot.services.access import Role
from storage.models import CallTask, TaskDraft, UploadPart

log = logging.getLogger(__name__)

GROUPS_PER_PAGE = 6
TYPE_LABEL = {0: "automatic calling", 1: "group call with transfer to agents"}


# ---- the draft card ---------------------------------------------------------------------------


async def _draft_view(req: Request, draft: TaskDraft) -> tuple[str, Keyboard | None]:
    db = req.runtime.database
    part = await db.run(lambda s: s.get(UploadPart, draft.upload_part_id))
    numbers = (
        part.platform_total
        if part and part.platform_total is not None
        else (part.rows if part else 0)
    )
    head = [
        f"<b>New calling task</b> from {code(part.file_name if part else '?')} ({numbers} numbers)"
    ]
    if draft.task_type is not None:
        head.append(f"Type: {TYPE_LABEL[draft.task_type]}")
    d = draft.id
    step = draft.step
    if step == "type":
        return "\n".join(head + ["How should the numbers be called?"]), [
            [("🤖 Automatic calling", f"nt:{d}:type:0")],
            [("👥 Transfer to agents", f"nt:{d}:type:1")],
            [("✖ Cancel", f"nt:{d}:cancel")],
        ]
    if step.startswith("group"):
        page = int(step.split(":")[1]) if ":" in step else 0
        groups = sorted(
            await req.runtime.client.list_groups(), key=lambda g: (g.group_name or "").lower()
        )
        if not groups:
            raise UserFacingError("There are no agent groups yet: create one with /newgroup first.")
        chunk = groups[page * GROUPS_PER_PAGE : (page + 1) * GROUPS_PER_PAGE]
        rows: list[list[tuple[str, str]]] = [
            [(f"{g.group_name} ({g.count_seat or 0} agents)", f"nt:{d}:grp:{g.voice_group_id}")]
            for g in chunk
        ]
        nav = []
        if page > 0:
            nav.append(("◀ Previous", f"nt:{d}:gpage:{page - 1}"))
        if (page + 1) * GROUPS_PER_PAGE < len(groups):
            nav.append(("Next ▶", f"nt:{d}:gpage:{page + 1}"))
        if draft.task_type == TaskType.AUTOMATIC:
            nav.append(("No group", f"nt:{d}:grp:0"))
        rows += [nav] if nav else []
        rows.append([("✖ Cancel", f"nt:{d}:cancel")])
        pages = (len(groups) + GROUPS_PER_PAGE - 1) // GROUPS_PER_PAGE
        return "\n".join(head + [f"Which agent group? (page {page + 1} of {pages})"]), rows
    if draft.voice_group_id:
        head.append(f"Agent group: {code(draft.voice_group_id)}")
    if step == "rate":
        return "\n".join(
            head + ["Call-out rate: how many numbers to dial at once per available agent?"]
        ), [
            [
                ("1", f"nt:{d}:rate:1"),
                ("2", f"nt:{d}:rate:2"),
                ("3", f"nt:{d}:rate:3"),
                ("Type…", f"nt:{d}:rate:typed"),
            ],
            [("✖ Cancel", f"nt:{d}:cancel")],
        ]
    if step == "rate_text":
        return "\n".join(head + ["Reply to this message with the call-out rate (1–50)."]), None
    if draft.callout_rate:
        head.append(f"Call-out rate: {draft.callout_rate}")
    if step == "ring":
        return "\n".join(head + ["Maximum ringing time before giving up on a number?"]), [
            [
                ("30 s", f"nt:{d}:ring:30"),
                ("40 s", f"nt:{d}:ring:40"),
                ("60 s", f"nt:{d}:ring:60"),
                ("Type…", f"nt:{d}:ring:typed"),
            ],
            [("Platform default", f"nt:{d}:ring:0"), ("✖ Cancel", f"nt:{d}:cancel")],
        ]
    if step == "ring_text":
        return "\n".join(
            head + ["Reply to this message with the ringing time in seconds (20–120)."]
        ), None
    if draft.max_ringing_time:
        head.append(f"Maximum ringing: {draft.max_ringing_time} s")
    if step == "remark":
        return "\n".join(head + ["Add a remark (shown on the platform, at most 50 characters)?"]), [
            [("No remark", f"nt:{d}:remark:none"), ("Type…", f"nt:{d}:remark:typed")],
            [("✖ Cancel", f"nt:{d}:cancel")],
        ]
    if step == "remark_text":
        return "\n".join(
            head + ["Reply to this message with the remark (at most 50 characters)."]
        ), None
    return await _confirm_view(req, draft, part, numbers)


async def _confirm_view(
    req: Request, draft: TaskDraft, part: UploadPart | None, numbers: int
) -> tuple[str, Keyboard | None]:
    d = draft.id
    lines = [
        "<b>Confirm the calling task</b>",
        f"Numbers: {numbers} from {code(part.file_name if part else '?')}",
        f"Type: {TYPE_LABEL[draft.task_type or 0]}",
    ]
    if draft.voice_group_id:
        group = await group_service.find_group(req.runtime.client, str(draft.voice_group_id))
        agents = await req.runtime.client.list_agents(draft.voice_group_id)
        enabled = sum(1 for a in agents if a.enable != 1)
        lines.append(
            f"Agent group: {esc(group.group_name)} ({code(group.voice_group_id)}), "
            f"{enabled} enabled agent(s) of {len(agents)}"
        )
        if draft.task_type == TaskType.AGENT_GROUP_CALL and enabled == 0:
            lines.append(
                "⚠ No enabled agents in this group: calls would have nobody to transfer to."
            )
    if draft.task_type == TaskType.AGENT_GROUP_CALL:
        lines.append(f"Call-out rate: {draft.callout_rate} number(s) at once per available agent")
    lines.append(
        f"Maximum ringing: {f'{draft.max_ringing_time} s' if draft.max_ringing_time else 'platform default'}"
    )
    lines.append(f"Remark: {esc(draft.remark) if draft.remark else '—'}")
    if req.chat and req.chat.display_num:
        lines.append(f"Display number: {code(req.chat.display_num)}")
    lines.append("Calls start as soon as you press Submit, and they cost money.")
    if draft.error:
        lines.append(f"✗ Last attempt failed: {esc(draft.error)}")
    return "\n".join(lines), [[("✅ Submit", f"nt:{d}:submit"), ("✖ Cancel", f"nt:{d}:cancel")]]


async def _show_draft(req: Request, draft: TaskDraft, *, new_message: bool = False) -> None:
    text, rows = await _draft_view(req, draft)
    message = req.query.message if (req.query and not new_message) else None
    if draft.step.endswith("_text"):
        # Typed answers must be replies to the bot: with privacy mode on they are all we see.
        prompt = await req.context.bot.send_message(
            req.chat_id,
            text,
            parse_mode="HTML",
            message_thread_id=_thread(req),
            reply_markup=ForceReply(selective=True, input_field_placeholder="Type your answer"),
        )
        draft.message_id = prompt.message_id
    elif message is not None:
        await req.edit(message, text, rows)
        draft.message_id = message.message_id
    else:
        sent = await req.reply(text, rows)
        draft.message_id = sent.message_id
    await req.runtime.database.run(lambda s: task_service.save_draft(s, draft))


def _thread(req: Request) -> int | None:
    msg = req.message
    return msg.message_thread_id if msg is not None and msg.is_topic_message else None


def _next_step(draft: TaskDraft) -> str:
    if draft.task_type is None:
        return "type"
    if draft.voice_group_id is None:
        return "group"
    if draft.task_type == TaskType.AGENT_GROUP_CALL and not draft.callout_rate:
        return "rate"
    if draft.max_ringing_time is None:
        return "ring"
    if draft.remark is None:
        return "remark"
    return "confirm"


# ---- /newtask -------------------------------------------------------------------------------------


@command("/newtask", Role.OPERATOR)
async def new_task(req: Request) -> None:
    if not req.args:
        raise UsageError(task_service.ONE_LINE_USAGE)
    text = req.text.split(maxsplit=1)[1] if len(req.text.split(maxsplit=1)) > 1 else ""
    db = req.runtime.database
    if len(req.args) == 1:
        part = await db.run(lambda s: task_service.resolve_part(s, req.chat_id, req.args[0]))
        draft = await db.run(
            lambda s: task_service.new_draft(
                s, chat_id=req.chat_id, user_id=req.user_id, part_id=part.id
            )
        )
        await _show_draft(req, draft, new_message=True)
        return
    spec = task_service.parse_one_line(text)
    part = await db.run(lambda s: task_service.resolve_part(s, req.chat_id, spec.ref))
    group_id = 0
    if spec.group is not None:
        group_id = (await group_service.find_group(req.runtime.client, spec.group)).voice_group_id
    if spec.task_type == TaskType.AGENT_GROUP_CALL and spec.rate is None:
        spec.rate = 1

    def create(session):  # noqa: ANN001, ANN202
        draft = task_service.new_draft(
            session, chat_id=req.chat_id, user_id=req.user_id, part_id=part.id
        )
        draft.task_type = int(spec.task_type)
        draft.voice_group_id = group_id
        draft.callout_rate = spec.rate
        draft.max_ringing_time = spec.ring or 0
        draft.remark = spec.remark or ""
        draft.step = "confirm"
        session.add(draft)
        return draft

    draft = await db.run(create)
    await _show_draft(req, draft, new_message=True)


@button("nt", Role.OPERATOR)
async def draft_button(req: Request) -> None:
    db = req.runtime.database
    if req.args[0] == "new":
        part_id = int(req.args[1])
        draft = await db.run(
            lambda s: task_service.new_draft(
                s, chat_id=req.chat_id, user_id=req.user_id, part_id=part_id
            )
        )
        await req.toast("New task")
        await _show_draft(req, draft, new_message=True)
        return
    draft_id, action = int(req.args[0]), req.args[1]
    value = req.args[2] if len(req.args) > 2 else ""
    draft = await db.run(lambda s: task_service.get_draft(s, draft_id, req.chat_id))
    if action == "submit":
        await _submit(req, draft)
        return
    if draft.status != "draft":
        await req.toast(_draft_state(draft), alert=True)
        return
    if action == "cancel":
        if await db.run(lambda s: task_service.claim_draft(s, draft_id, "draft", "cancelled")):
            await req.toast("Cancelled")
            if req.query and req.query.message:
                await req.edit(req.query.message, "✖ Task draft cancelled; nothing was submitted.")
        return
    if action == "type":
        draft.task_type = int(value)
        draft.voice_group_id = None
        draft.step = "group"
    elif action == "gpage":
        draft.step = f"group:{int(value)}"
    elif action == "grp":
        draft.voice_group_id = int(value)
        if draft.task_type == TaskType.AGENT_GROUP_CALL and not draft.voice_group_id:
            raise UserFacingError("A task with transfer to agents needs an agent group.")
        draft.step = _next_step(draft)
    elif action == "rate":
        if value == "typed":
            draft.step = "rate_text"
        else:
            draft.callout_rate = task_service.parse_rate(value)
            draft.step = _next_step(draft)
    elif action == "ring":
        if value == "typed":
            draft.step = "ring_text"
        else:
            draft.max_ringing_time = 0 if value == "0" else task_service.parse_ring(value)
            draft.step = _next_step(draft)
    elif action == "remark":
        if value == "typed":
            draft.step = "remark_text"
        else:
            draft.remark = ""
            draft.step = _next_step(draft)
    await req.toast("")
    await _show_draft(req, draft)


def _draft_state(draft: TaskDraft) -> str:
    return {
        "submitting": "This task is being submitted right now; nothing more was done.",
        "submitted": f"Already submitted as task {draft.task_id}; nothing more was done.",
        "cancelled": "This draft was cancelled; start again with /newtask.",
        "unknown": "The platform's answer to this submit was lost; check /tasks before trying again.",
    }.get(draft.status, f"This draft is {draft.status}.")


async def _submit(req: Request, draft: TaskDraft) -> None:
    db = req.runtime.database
    if draft.step != "confirm":
        await req.toast("Finish the steps above first.", alert=True)
        return
    if not await db.run(lambda s: task_service.claim_draft(s, draft.id, "draft", "submitting")):
        fresh = await db.run(lambda s: task_service.get_draft(s, draft.id, req.chat_id))
        await req.toast(_draft_state(fresh), alert=True)
        return
    await req.toast("Submitting…")
    part = await db.run(lambda s: s.get(UploadPart, draft.upload_part_id))
    client = req.runtime.client
    message = req.query.message if req.query else None
    try:
        task_id = await client.submit_task(
            file_path=part.platform_file_path,
            file_name=part.file_name,
            task_type=TaskType(draft.task_type or 0),
            voice_group_ids=[draft.voice_group_id] if draft.voice_group_id else [],
            callout_rate=draft.callout_rate
            if draft.task_type == TaskType.AGENT_GROUP_CALL
            else None,
            display_num=req.chat.display_num if req.chat else None,
            ccode=req.chat.ccode if req.chat else None,
            remark=draft.remark or None,
            max_ringing_time=draft.max_ringing_time or None,
            app_id=req.app_id,
        )
    except PlatformOutcomeUnknown as exc:
        draft.status, draft.error = "unknown", str(exc)
        await db.run(lambda s: task_service.save_draft(s, draft))
        if message is not None:
            await req.edit(message, f"⚠ {esc(str(exc))}\nCheck /tasks before creating it again.")
        return
    except (PlatformError, ValueError) as exc:
        draft.status, draft.error = "draft", str(exc)
        await db.run(lambda s: task_service.save_draft(s, draft))
        if message is not None:
            text, rows = await _draft_view(req, draft)
            await req.edit(message, text, rows)
        return
    draft.status, draft.task_id, draft.error = "submitted", task_id, None

    def finish(session):  # noqa: ANN001, ANN202
        task_service.save_draft(session, draft)
        if task_id is not None:
            task_service.record_task(session, draft, task_id, part.file_name, req.app_id)

    await db.run(finish)
    log.info("user %s submitted task %s in chat %s", req.user_id, task_id, req.chat_id)
    if task_id is None:
        # An older platform version answered without the id and the client could not find it.
        if message is not None:
            await req.edit(
                message,
                "✓ The platform accepted the task but did not say its id. "
                "/tasks all lists the application's tasks; the newest is yours.",
            )
        return
    if message is not None:
        text, _ = await _confirm_view(req, draft, part, part.platform_total or part.rows)
        text = text.replace(
            "<b>Confirm the calling task</b>", f"<b>✓ Task {code(task_id)} submitted</b>"
        )
        text = text.replace(
            "Calls start as soon as you press Submit, and they cost money.",
            f"Follow it with /task {task_id}.",
        )
        await req.edit(message, text, _task_buttons(task_id) if task_id else None)


async def typed_answer(update: Update, context: Context) -> None:
    """A text reply to the bot while a draft waits for a typed rate, ringing time or remark."""
    message = update.effective_message
    if message is None or message.reply_to_message is None or message.from_user is None:
        return
    if (
        message.reply_to_message.from_user is None
        or message.reply_to_message.from_user.id != context.bot.id
    ):
        return
    req = await resolve(update, context)
    if req is None or req.role < Role.OPERATOR:
        return
    draft = await req.runtime.database.run(
        lambda s: task_service.draft_awaiting_text(s, req.chat_id, req.user_id)
    )
    if draft is None or draft.message_id != message.reply_to_message.message_id:
        return

    async def apply(req: Request) -> None:
        text = message.text or ""
        if draft.step == "rate_text":
            draft.callout_rate = task_service.parse_rate(text)
        elif draft.step == "ring_text":
            draft.max_ringing_time = task_service.parse_ring(text)
        else:
            draft.remark = task_service.check_remark(text)
        draft.step = _next_step(draft)
        await _show_draft(req, draft, new_message=True)

    await run_guarded(req, "task draft", apply)


# ---- the task's life ------------------------------------------------------------------------------


def _task_buttons(task_id: int) -> Keyboard:
    return [
        [("🔄 Refresh", f"tk:{task_id}:refresh"), ("✖ Cancel", f"tk:{task_id}:cancel")],
        [("⚙ Rate…", f"tk:{task_id}:rate"), ("🔁 Re-run failed", f"tk:{task_id}:rerun")],
    ]


def _task_card(task: Task) -> str:
    status = task.status_label
    total = task.total_count or 0
    remaining = task.remain_count or 0
    done = max(total - remaining, 0)
    rate = (
        f"{task.completed_rate:.0f}%"
        if task.completed_rate is not None
        else (f"{100 * done / total:.0f}%" if total else "—")
    )
    lines = [
        f"<b>Task {code(task.task_id)}</b> — {esc(status)}",
        f"Type: {TYPE_LABEL.get(task.task_type or 0, task.task_type)}",
        f"Group: {esc(task.seat_group_name or ', '.join(map(str, task.voice_group_ids or [])) or '—')}",
        f"Progress: {done} of {total} called ({rate}), {remaining} remaining",
        f"Transferred to agents: {task.transfers_num or 0} · lost calls: {task.call_failures_num or 0}",
    ]
    if task.remark:
        lines.append(f"Remark: {esc(task.remark)}")
    return "\n".join(lines)


async def _load_task(req: Request, task_id: int) -> Task:
    task = await req.runtime.client.get_task(task_id)
    if task is None:
        raise UserFacingError(
            f"The platform has no task {task_id}. /tasks lists this chat's tasks."
        )
    return task


def _task_id(text: str, usage: str) -> int:
    if not text.isdigit():
        raise UsageError(usage)
    return int(text)


@command("/tasks", Role.VIEWER)
async def list_tasks(req: Request) -> None:
    show_all = bool(req.args) and req.args[0].lower() == "all"
    page = await req.runtime.client.query_tasks(page=1, size=100)
    by_id = {t.task_id: t for t in page.records}
    if show_all:
        tasks = page.records[:30]
        title = f"<b>All tasks of the application</b> (latest {len(tasks)} of {page.total})"
    else:
        mine = await req.runtime.database.run(lambda s: task_service.chat_tasks(s, req.chat_id))
        tasks = [by_id[t.task_id] for t in mine if t.task_id in by_id]
        missing = [t.task_id for t in mine if t.task_id not in by_id]
        for task_id in missing[:10]:
            found = await req.runtime.client.get_task(task_id)
            if found is not None:
                tasks.append(found)
        title = f"<b>This chat's tasks</b> ({len(tasks)})"
    if not tasks:
        await req.reply(
            "No tasks yet. Upload a number file, then press [Create task…] or use /newtask."
            if not show_all
            else "The application has no tasks yet."
        )
        return
    lines = [title]
    for t in tasks:
        status = t.status_label
        total, remaining = t.total_count or 0, t.remain_count or 0
        lines.append(
            f"• {code(t.task_id)} {esc(status)} — {total - remaining}/{total} called"
            f"{' · ' + esc(t.remark) if t.remark else ''}"
        )
    lines.append("Details: /task &lt;id&gt;")
    await req.reply("\n".join(lines))


@command("/task", Role.VIEWER)
async def show_task(req: Request) -> None:
    usage = "Usage: /task &lt;task id&gt;. Example: <code>/task 5000123</code>"
    if not req.args:
        raise UsageError(usage)
    task = await _load_task(req, _task_id(req.args[0], usage))
    await req.reply(_task_card(task), _task_buttons(task.task_id))


async def _ask_confirm(req: Request, kind: str, payload: dict, question: str, yes: str) -> None:
    action = await req.runtime.database.run(
        lambda s: task_service.new_pending(
            s, chat_id=req.chat_id, user_id=req.user_id, kind=kind, payload=payload
        )
    )
    await req.reply(
        question, [[(yes, f"pa:{action.id}:yes"), ("Keep it as it is", f"pa:{action.id}:no")]]
    )


CANCEL_USAGE = "Usage: /cancel &lt;task id&gt;. Example: <code>/cancel 5000123</code>"
RATE_USAGE = "Usage: /rate &lt;task id&gt; &lt;rate 1–50&gt;. Example: <code>/rate 5000123 3</code>"
RERUN_USAGE = (
    "Usage: /rerun &lt;task id&gt; failed|uncalled|all. Example: <code>/rerun 5000123 failed</code>"
)
RERUN_KINDS = {"failed": ResendType.FAILED, "uncalled": ResendType.UNCALLED, "all": ResendType.ALL}


@command("/cancel", Role.OPERATOR)
async def cancel_task(req: Request) -> None:
    if not req.args:
        raise UsageError(CANCEL_USAGE)
    await _confirm_cancel(req, _task_id(req.args[0], CANCEL_USAGE))


async def _confirm_cancel(req: Request, task_id: int) -> None:
    task = await _load_task(req, task_id)
    await _ask_confirm(
        req,
        "cancel",
        {"task_id": task_id},
        f"Cancel task {code(task_id)}? {task.remain_count or 0} number(s) not yet called "
        f"will not be called. This can't be undone (a re-run can call them later).",
        "Yes, cancel the task",
    )


@command("/rate", Role.OPERATOR)
async def rate_task(req: Request) -> None:
    if len(req.args) != 2:
        raise UsageError(RATE_USAGE)
    task_id = _task_id(req.args[0], RATE_USAGE)
    rate = task_service.parse_rate(req.args[1])
    await _load_task(req, task_id)
    await _confirm_rate(req, task_id, rate)


async def _confirm_rate(req: Request, task_id: int, rate: int) -> None:
    await _ask_confirm(
        req,
        "rate",
        {"task_id": task_id, "rate": rate},
        f"Change the call-out rate of task {code(task_id)} to {rate}?",
        f"Yes, set rate {rate}",
    )


@command("/rerun", Role.OPERATOR)
async def rerun_task(req: Request) -> None:
    if len(req.args) != 2 or req.args[1].lower() not in RERUN_KINDS:
        raise UsageError(RERUN_USAGE)
    task_id = _task_id(req.args[0], RERUN_USAGE)
    await _confirm_rerun(req, task_id, req.args[1].lower())


async def _confirm_rerun(req: Request, task_id: int, which: str) -> None:
    await _load_task(req, task_id)
    await _ask_confirm(
        req,
        "rerun",
        {"task_id": task_id, "which": which},
        f"Call the {which} numbers of task {code(task_id)} again? The calls cost money.",
        f"Yes, re-run {which}",
    )


@button("tk", Role.VIEWER)
async def task_button(req: Request) -> None:
    task_id, action = int(req.args[0]), req.args[1]
    if action == "refresh":
        task = await _load_task(req, task_id)
        await req.toast("Refreshed")
        if req.query and req.query.message:
            await req.edit(req.query.message, _task_card(task), _task_buttons(task_id))
        return
    if req.role < Role.OPERATOR:
        log.warning(
            "refused task button %s from viewer %s in chat %s", action, req.user_id, req.chat_id
        )
        await req.toast(
            "Only members with the operator role can change tasks; nothing was done.", True
        )
        return
    await req.toast("")
    if action == "cancel":
        await _confirm_cancel(req, task_id)
    elif action == "rerun":
        await _confirm_rerun(req, task_id, "failed")
    elif action == "rate":
        await req.reply(
            f"New call-out rate for task {code(task_id)}:",
            [[(str(n), f"tk:{task_id}:setrate:{n}") for n in (1, 2, 3, 4, 5)]],
        )
    elif action == "setrate":
        await _confirm_rate(req, task_id, task_service.parse_rate(req.args[2]))


@button("pa", Role.OPERATOR)
async def confirm_button(req: Request) -> None:
    action_id, answer = int(req.args[0]), req.args[1]
    db = req.runtime.database
    action = await db.run(
        lambda s: task_service.claim_pending(
            s, action_id, req.chat_id, "done" if answer == "yes" else "cancelled"
        )
    )
    message = req.query.message if req.query else None
    if action is None:
        await req.toast("This question was already answered; nothing more was done.", alert=True)
        return
    if answer != "yes":
        await req.toast("Left as it is")
        if message is not None:
            await req.edit(message, "Left as it is; nothing was changed.")
        return
    payload = json.loads(action.payload)
    task_id = int(payload["task_id"])
    client = req.runtime.client
    try:
        if action.kind == "cancel":
            await client.cancel_task(task_id)
            result = f"✓ Task {code(task_id)} cancelled."
        elif action.kind == "rate":
            await client.edit_task(task_id, int(payload["rate"]))
            result = f"✓ Task {code(task_id)} now calls at rate {int(payload['rate'])}."
        elif action.kind == "rerun":
            result = await _rerun(req, task_id, payload["which"])
        else:
            result = "Nothing to do."
    except PlatformError as exc:
        result = f"✗ {esc(str(exc))}"
    await req.toast("Done")
    if message is not None:
        await req.edit(message, result)


async def _rerun(req: Request, task_id: int, which: str) -> str:
    client = req.runtime.client
    known = await req.runtime.database.run(lambda s: s.get(CallTask, task_id))
    task = await _load_task(req, task_id)
    task_type = TaskType(known.task_type if known else (task.task_type or 0))
    groups = (
        [known.voice_group_id]
        if known and known.voice_group_id
        else list(task.voice_group_ids or [])
    )
    rate = (known.callout_rate if known else None) or 1
    await client.resend_task(
        task_id,
        RERUN_KINDS[which],
        task_type,
        voice_group_ids=groups,
        callout_rate=rate if task_type == TaskType.AGENT_GROUP_CALL else None,
        app_id=(known.app_id if known and known.app_id else req.app_id),
    )
    return f"✓ Task {code(task_id)}: the {which} numbers are queued to be called again."


def register(application: Application) -> None:
    for name, fn in (
        ("newtask", new_task),
        ("tasks", list_tasks),
        ("task", show_task),
        ("cancel", cancel_task),
        ("rate", rate_task),
        ("rerun", rerun_task),
    ):
        application.add_handler(CommandHandler(name, fn))
    for fn in (draft_button, task_button, confirm_button):
        application.add_handler(CallbackQueryHandler(fn, pattern=fn.callback_pattern))
    application.add_handler(
        MessageHandler(filters.TEXT & filters.REPLY & ~filters.COMMAND, typed_answer)
    )
