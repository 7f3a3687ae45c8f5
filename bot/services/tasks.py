"""Task drafts, submitted tasks and confirmation questions in the database.

The compare-and-set claims (`claim_draft`, `claim_pending`) are what make a double press do one
thing. The workflows that call the platform are in `task_submit` and `task_actions`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from bot.errors import UserFacingError
from bot.i18n import _, n_
from bot.laaffic.models import TaskType
from bot.services.task_input import UploadRef, parse_upload_ref
from storage.models import (
    ActionKind,
    ActionStatus,
    CallTask,
    DraftStatus,
    DraftStep,
    NumberUpload,
    PendingAction,
    TaskDraft,
    UploadPart,
    UploadStatus,
    utcnow,
)

# ---- drafts -------------------------------------------------------------------------------------


def uploaded_part_of_chat(session: Session, part_id: int, chat_id: int) -> UploadPart | None:
    """The upload part when it was uploaded in this chat; None otherwise."""
    part = session.get(UploadPart, part_id)
    upload = session.get(NumberUpload, part.upload_id) if part else None
    if part is None or upload is None or upload.chat_id != chat_id:
        return None
    return part


def new_draft(session: Session, *, chat_id: int, user_id: int, part_id: int) -> TaskDraft:
    part = session.get(UploadPart, part_id)
    upload = session.get(NumberUpload, part.upload_id) if part else None
    if part is None or upload is None or upload.chat_id != chat_id:
        raise UserFacingError(
            _("That upload doesn't belong to this chat. Send the number file here first.")
        )
    if part.platform_file_path is None:
        raise UserFacingError(
            _(
                "Upload #{id} isn't on the platform yet: press its [Upload to platform] button first.",
                id=upload.id,
            )
        )
    draft = TaskDraft(chat_id=chat_id, user_id=user_id, upload_part_id=part_id)
    session.add(draft)
    session.flush()
    return draft


def resolve_part(session: Session, chat_id: int, text: str) -> UploadPart:
    """`12` or `12.2` (upload 12, part 2) → the upload part, checked to belong to the chat."""
    ref: UploadRef = parse_upload_ref(text)
    upload = session.get(NumberUpload, ref.upload_id)
    if upload is None or upload.chat_id != chat_id:
        raise UserFacingError(
            _(
                "There is no upload #{upload_id} in this chat. Send the number file here first.",
                upload_id=ref.upload_id,
            )
        )
    parts = list(
        session.exec(
            select(UploadPart)
            .where(UploadPart.upload_id == upload.id)
            .order_by(col(UploadPart.part))
        )
    )
    if upload.status == UploadStatus.EMPTY or not parts:
        raise UserFacingError(
            _(
                "Upload #{upload_id} had no valid numbers, so there is nothing to call. Fix the file "
                "and send it again.",
                upload_id=ref.upload_id,
            )
        )
    if upload.status == UploadStatus.DISCARDED:
        raise UserFacingError(
            _(
                "Upload #{upload_id} was discarded, so it is not on the platform. Send the file again "
                "to call its numbers.",
                upload_id=ref.upload_id,
            )
        )
    index = ref.part or 1
    if index > len(parts):
        files = n_("one file", "{count} files", len(parts))
        raise UserFacingError(
            _(
                "Upload #{upload_id} has {files}, so there is no file {index}: give a part from "
                "{upload_id}.1 to {upload_id}.{count}.",
                upload_id=ref.upload_id,
                files=files,
                index=index,
                count=len(parts),
            )
        )
    if len(parts) > 1 and ref.part is None:
        raise UserFacingError(
            _(
                "Upload #{upload_id} was split into {count} files: say which one, e.g. {upload_id}.1.",
                upload_id=ref.upload_id,
                count=len(parts),
            )
        )
    return parts[index - 1]


def get_draft(session: Session, draft_id: int, chat_id: int) -> TaskDraft | None:
    """The draft, when it was made in this chat."""
    draft = session.get(TaskDraft, draft_id)
    return draft if draft is not None and draft.chat_id == chat_id else None


_DRAFT_FIELDS = (
    "user_id",
    "step",
    "task_type",
    "voice_group_id",
    "callout_rate",
    "max_ringing_time",
    "remark",
    "message_id",
    "error",
)


def save_draft(session: Session, draft: TaskDraft) -> TaskDraft:
    """Store the answers of a draft that is still a draft; its status moves only by a claim."""
    row = session.get(TaskDraft, draft.id)
    if row is None:
        raise UserFacingError(_("This task draft no longer exists. Start again with /newtask."))
    if row.status != DraftStatus.DRAFT:
        raise UserFacingError(
            _("Someone submitted or cancelled this draft a moment ago, so nothing was changed.")
        )
    for name in _DRAFT_FIELDS:
        setattr(row, name, getattr(draft, name))
    row.updated_at = utcnow()
    session.add(row)
    return row


def claim_draft(
    session: Session, draft_id: int, from_status: DraftStatus, to_status: DraftStatus
) -> bool:
    """Compare-and-set on the draft's status: the one thing that makes a double submit create one task."""
    result = session.execute(
        update(TaskDraft)
        .where(col(TaskDraft.id) == draft_id, col(TaskDraft.status) == from_status)
        .values(status=to_status, updated_at=utcnow())
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def finish_draft(
    session: Session,
    draft_id: int,
    status: DraftStatus,
    *,
    error: str | None = None,
    task_id: int | None = None,
) -> TaskDraft:
    """Record how a claimed submit ended (only the submit that claimed the draft calls this)."""
    row = session.get(TaskDraft, draft_id)
    assert row is not None
    row.status, row.error, row.task_id = status, error, task_id
    row.updated_at = utcnow()
    session.add(row)
    return row


def next_step(draft: TaskDraft) -> DraftStep:
    """The first question the draft has no answer to yet."""
    if draft.task_type is None:
        return DraftStep.TYPE
    if draft.voice_group_id is None:
        return DraftStep.GROUP
    if draft.task_type == TaskType.AGENT_GROUP_CALL and not draft.callout_rate:
        return DraftStep.RATE
    if draft.max_ringing_time is None:
        return DraftStep.RING
    if draft.remark is None:
        return DraftStep.REMARK
    return DraftStep.CONFIRM


def part_of_draft(session: Session, draft: TaskDraft) -> UploadPart | None:
    return session.get(UploadPart, draft.upload_part_id) if draft.upload_part_id else None


# ---- submitted tasks ----------------------------------------------------------------------------


def record_task(
    session: Session,
    draft: TaskDraft,
    task_id: int,
    *,
    file_name: str | None,
    app_id: str,
    submitted_by: int,
    display_num: str | None = None,
) -> None:
    session.merge(
        CallTask(
            task_id=task_id,
            chat_id=draft.chat_id,
            upload_part_id=draft.upload_part_id,
            task_type=draft.task_type or 0,
            voice_group_id=draft.voice_group_id or None,
            callout_rate=draft.callout_rate,
            max_ringing_time=draft.max_ringing_time,
            remark=draft.remark,
            file_name=file_name,
            app_id=app_id,
            created_by=submitted_by,
            display_num=display_num,
        )
    )


def chat_tasks(session: Session, chat_id: int, limit: int = 30) -> list[CallTask]:
    return list(
        session.exec(
            select(CallTask)
            .where(CallTask.chat_id == chat_id)
            .order_by(col(CallTask.created_at).desc())
            .limit(limit)
        )
    )


def known_task(session: Session, task_id: int) -> CallTask | None:
    return session.get(CallTask, task_id)


def remember_rate(session: Session, task_id: int, rate: int) -> None:
    """A confirmed /rate: a later re-run sends the rate the task has now."""
    task = session.get(CallTask, task_id)
    if task is not None:
        task.callout_rate = rate
        session.add(task)


def follow_again(session: Session, task_id: int) -> None:
    """A confirmed /rerun: the task runs again, so its live card (which stopped at the final
    state) follows it again, to the re-run's end. Tasks not submitted from a chat have none."""
    task = session.get(CallTask, task_id)
    if task is not None:
        task.last_status = None
        session.add(task)


# ---- confirmation questions ---------------------------------------------------------------------


@dataclass(frozen=True)
class ActionPayload:
    """What a confirmation button will do, stored with the question (JSON in `payload`).

    The task's type and groups are kept as the platform reported them when the question was asked,
    so the answer can be checked against the team rule and re-run without asking again.
    """

    task_id: int
    rate: int | None = None
    which: str | None = None  # task_actions.RerunChoice value
    task_type: int | None = None
    group_ids: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ActionPayload:
        data = json.loads(text)
        return cls(
            task_id=int(data["task_id"]),
            rate=int(data["rate"]) if data.get("rate") is not None else None,
            which=data.get("which"),
            task_type=int(data["task_type"]) if data.get("task_type") is not None else None,
            group_ids=[int(g) for g in data.get("group_ids") or []],
        )


def new_pending(
    session: Session, *, chat_id: int, user_id: int, kind: ActionKind, payload: ActionPayload
) -> PendingAction:
    action = PendingAction(chat_id=chat_id, user_id=user_id, kind=kind, payload=payload.to_json())
    session.add(action)
    session.flush()
    return action


def get_pending(session: Session, action_id: int, chat_id: int) -> PendingAction | None:
    action = session.get(PendingAction, action_id)
    return action if action is not None and action.chat_id == chat_id else None


def claim_pending(
    session: Session, action_id: int, chat_id: int, to_status: ActionStatus
) -> PendingAction | None:
    """Answer an open question once: compare-and-set from PENDING; None when already answered."""
    result = session.execute(
        update(PendingAction)
        .where(
            col(PendingAction.id) == action_id,
            col(PendingAction.chat_id) == chat_id,
            col(PendingAction.status) == ActionStatus.PENDING,
        )
        .values(status=to_status)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return None
    return session.get(PendingAction, action_id)
