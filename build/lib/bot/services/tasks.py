"""Calling tasks: drafts with idempotency keys, submitting once, and the task's life after that."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, select

from bot.errors import UserFacingError
from bot.laaffic.models import TaskType
from storage.models import CallTask, NumberUpload, PendingAction, TaskDraft, UploadPart, utcnow

RING_MIN, RING_MAX = 20, 120
RATE_MAX = 50


def new_draft(session: Session, *, chat_id: int, user_id: int, part_id: int) -> TaskDraft:
    part = session.get(UploadPart, part_id)
    upload = session.get(NumberUpload, part.upload_id) if part else None
    if part is None or upload is None or upload.chat_id != chat_id:
        raise UserFacingError(
            "That upload doesn't belong to this chat. Send the number file here first."
        )
    if part.platform_file_path is None:
        raise UserFacingError(
            f"Upload #{upload.id} isn't on the platform yet: press its "
            f"[Upload to platform] button first."
        )
    draft = TaskDraft(
        idempotency_key=secrets.token_urlsafe(16),
        chat_id=chat_id,
        user_id=user_id,
        upload_part_id=part_id,
        step="type",
    )
    session.add(draft)
    session.flush()
    return draft


def resolve_part(session: Session, chat_id: int, ref: str) -> UploadPart:
    """`12` or `12.2` (upload 12, part 2) → the upload part, checked to belong to the chat."""
    head, _, tail = ref.lstrip("#").partition(".")
    if not head.isdigit() or (tail and not tail.isdigit()):
        raise UserFacingError(
            f"“{ref[:20]}” is not an upload number. Use the number from the file's "
            f"report, like 12 (or 12.2 for the second part of a split file)."
        )
    upload = session.get(NumberUpload, int(head))
    if upload is None or upload.chat_id != chat_id:
        raise UserFacingError(f"There is no upload #{head} in this chat.")
    parts = list(
        session.exec(
            select(UploadPart).where(UploadPart.upload_id == upload.id).order_by(UploadPart.part)
        )
    )
    index = int(tail) if tail else 1
    if not parts or index > len(parts):
        raise UserFacingError(f"Upload #{head} has no part {index}.")
    if len(parts) > 1 and not tail:
        raise UserFacingError(
            f"Upload #{head} was split into {len(parts)} files: say which one, e.g. {head}.1."
        )
    return parts[index - 1]


def get_draft(session: Session, draft_id: int, chat_id: int) -> TaskDraft:
    draft = session.get(TaskDraft, draft_id)
    if draft is None or draft.chat_id != chat_id:
        raise UserFacingError("This task draft no longer exists. Start again with /newtask.")
    return draft


def save_draft(session: Session, draft: TaskDraft) -> TaskDraft:
    row = session.get(TaskDraft, draft.id)
    for name in (
        "step",
        "task_type",
        "voice_group_id",
        "callout_rate",
        "max_ringing_time",
        "remark",
        "message_id",
        "status",
        "error",
        "task_id",
    ):
        setattr(row, name, getattr(draft, name))
    row.updated_at = utcnow()
    session.add(row)
    return row


def claim_draft(session: Session, draft_id: int, from_status: str, to_status: str) -> bool:
    """Compare-and-set on the draft's status: the one thing that makes a double submit create one task."""
    result = session.execute(
        update(TaskDraft)
        .where(TaskDraft.id == draft_id, TaskDraft.status == from_status)
        .values(status=to_status, updated_at=utcnow())
    )
    return result.rowcount == 1


def draft_awaiting_text(session: Session, chat_id: int, user_id: int) -> TaskDraft | None:
    return session.exec(
        select(TaskDraft)
        .where(
            TaskDraft.chat_id == chat_id,
            TaskDraft.user_id == user_id,
            TaskDraft.status == "draft",
            TaskDraft.step.in_(("rate_text", "ring_text", "remark_text")),  # type: ignore[attr-defined]
        )
        .order_by(TaskDraft.updated_at.desc())
    ).first()  # type: ignore[attr-defined]


def record_task(
    session: Session, draft: TaskDraft, task_id: int, file_name: str | None, app_id: str
) -> None:
    session.merge(
        CallTask(
            task_id=task_id,
            chat_id=draft.chat_id,
            upload_part_id=draft.upload_part_id,
            task_type=draft.task_type or 0,
            voice_group_id=draft.voice_group_id,
            callout_rate=draft.callout_rate,
            max_ringing_time=draft.max_ringing_time,
            remark=draft.remark,
            file_name=file_name,
            app_id=app_id,
            created_by=draft.user_id,
        )
    )


def chat_tasks(session: Session, chat_id: int, limit: int = 30) -> list[CallTask]:
    return list(
        session.exec(
            select(CallTask)
            .where(CallTask.chat_id == chat_id)
            .order_by(CallTask.created_at.desc())
            .limit(limit)
        )
    )  # type: ignore[attr-defined]


def parse_rate(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= RATE_MAX:
        raise UserFacingError(
            f"The call-out rate is a whole number from 1 to {RATE_MAX} (numbers "
            f"dialled at once per available agent); “{text[:10]}” is not."
        )
    return int(text)


def parse_ring(text: str) -> int:
    if not text.strip().isdigit() or not RING_MIN <= int(text) <= RING_MAX:
        raise UserFacingError(
            f"The maximum ringing time is {RING_MIN}–{RING_MAX} seconds; “{text[:10]}” is not."
        )
    return int(text)


def check_remark(text: str) -> str:
    text = text.strip()
    if len(text) > 50:
        raise UserFacingError(f"A remark is at most 50 characters; yours has {len(text)}.")
    return text


@dataclass
class OneLineTask:
    ref: str
    task_type: TaskType
    group: str | None
    rate: int | None
    ring: int | None
    remark: str | None


ONE_LINE_USAGE = (
    'Usage: /newtask &lt;upload&gt; agents &lt;group&gt; [rate=N] [ring=S] ["remark"]\n'
    '   or: /newtask &lt;upload&gt; auto [group] [ring=S] ["remark"]\n'
    'Example: <code>/newtask 12 agents Sales-Team-1 rate=2 ring=40 "March leads"</code>\n'
    "Or just <code>/newtask 12</code> and pick the rest with buttons."
)


def parse_one_line(text: str) -> OneLineTask:
    """Parse the power-user form: `<upload> agents|auto [group] rate=N ring=S "remark"`."""
    import shlex

    try:
        words = shlex.split(text)
    except ValueError:
        raise UserFacingError(f"The remark's quotes don't match.\n{ONE_LINE_USAGE}") from None
    if len(words) < 2:
        raise UserFacingError(ONE_LINE_USAGE)
    ref, kind, rest = words[0], words[1].lower(), words[2:]
    if kind in ("agents", "agent", "transfer"):
        task_type = TaskType.AGENT_GROUP_CALL
    elif kind in ("auto", "automatic"):
        task_type = TaskType.AUTOMATIC
    else:
        raise UserFacingError(
            f"The task type is “agents” or “auto”, not “{kind[:20]}”.\n{ONE_LINE_USAGE}"
        )
    group = rate = ring = remark = None
    for word in rest:
        low = word.lower()
        if low.startswith("rate="):
            rate = parse_rate(word[5:])
        elif low.startswith("ring="):
            ring = parse_ring(word[5:])
        elif group is None and remark is None and " " not in word and not text.count(f'"{word}"'):
            group = word
        else:
            remark = check_remark(word if remark is None else f"{remark} {word}")
    if task_type == TaskType.AGENT_GROUP_CALL and group is None:
        raise UserFacingError(
            f"A task with transfer to agents needs an agent group.\n{ONE_LINE_USAGE}"
        )
    return OneLineTask(ref, task_type, group, rate, ring, remark)


def new_pending(
    session: Session, *, chat_id: int, user_id: int, kind: str, payload: dict
) -> PendingAction:
    action = PendingAction(chat_id=chat_id, user_id=user_id, kind=kind, payload=json.dumps(payload))
    session.add(action)
    session.flush()
    return action


def claim_pending(
    session: Session, action_id: int, chat_id: int, to_status: str
) -> PendingAction | None:
    result = session.execute(
        update(PendingAction)
        .where(
            PendingAction.id == action_id,
            PendingAction.chat_id == chat_id,
            PendingAction.status == "pending",
        )
        .values(status=to_status)
    )
    if result.rowcount != 1:
        return None
    return session.get(PendingAction, action_id)
