"""Submitting a task draft: claim it, ask the platform once, record what happened.

The claim (draft → submitting, a compare-and-set) is what makes a double tap, or two operators
pressing Submit together, create one task. A claimed draft always ends in a definite status:
submitted, back to draft with the platform's reason, or unknown when the answer was lost (or the
bot stopped mid-call), because then nobody can say whether the task exists and Submit must not be
offered again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import UserFacingError
from bot.i18n import _
from bot.laaffic.client import LaafficClient
from bot.laaffic.errors import PlatformError, PlatformOutcomeUnknown
from bot.laaffic.models import TaskSettings, TaskType
from bot.services import tasks as drafts
from bot.services import teams
from bot.services.task_callees import index_task_callees
from storage.db import Database
from storage.models import DraftStatus, DraftStep, TaskDraft, UploadPart, utcnow

log = logging.getLogger(__name__)


class SubmitStatus(StrEnum):
    SUBMITTED = "submitted"  # the task exists; `task_id` set
    SUBMITTED_WITHOUT_ID = "submitted_without_id"  # accepted, but the platform gave no id
    REFUSED = "refused"  # the platform (or the client's checks) said no; the draft is open again
    OUTCOME_UNKNOWN = "outcome_unknown"  # the answer was lost; check before trying again
    NOT_OPEN = "not_open"  # another press got there first, or the draft is not a draft any more
    NOT_READY = "not_ready"  # questions above are still open


@dataclass(frozen=True)
class ChatDefaults:
    """The chat's settings that go with every task it submits."""

    app_id: str
    display_num: str | None = None
    ccode: str | None = None


@dataclass(frozen=True)
class SubmitOutcome:
    status: SubmitStatus
    draft: TaskDraft
    part: UploadPart | None = None
    error: str | None = None  # plain text

    @property
    def task_id(self) -> int | None:
        return self.draft.task_id


OnClaimed = Callable[[TaskDraft], Awaitable[None]]


def draft_settings(client: LaafficClient, draft: TaskDraft, defaults: ChatDefaults) -> TaskSettings:
    """The draft's answers as the platform's task settings (checked: InvalidRequest)."""
    task_type = TaskType(draft.task_type or 0)
    return client.task_settings(
        task_type,
        voice_group_ids=[draft.voice_group_id] if draft.voice_group_id else [],
        callout_rate=draft.callout_rate if task_type == TaskType.AGENT_GROUP_CALL else None,
        display_num=defaults.display_num,
        ccode=defaults.ccode,
        remark=draft.remark or None,
        max_ringing_time=draft.max_ringing_time or None,
        app_id=defaults.app_id,
    )


async def submit_draft(
    db: Database,
    client: LaafficClient,
    *,
    draft_id: int,
    chat_id: int,
    user_id: int,
    is_admin: bool,
    defaults: ChatDefaults,
    on_claimed: OnClaimed | None = None,
) -> SubmitOutcome:
    """Submit the draft once. `on_claimed` runs after the claim, before the platform call (to show
    progress); its failure is logged and does not stop the submit."""
    draft = await db.run(lambda s: drafts.get_draft(s, draft_id, chat_id))
    if draft is None:
        raise UserFacingError(_("This task draft no longer exists. Start again with /newtask."))
    if draft.status != DraftStatus.DRAFT:
        return SubmitOutcome(SubmitStatus.NOT_OPEN, draft)
    if draft.step != DraftStep.CONFIRM:
        return SubmitOutcome(SubmitStatus.NOT_READY, draft)
    if draft.voice_group_id:
        group_id = draft.voice_group_id
        # The group was this team's when it was picked; routes can move since.
        await db.run(
            lambda s: teams.require_group(
                s, chat_id=chat_id, is_admin=is_admin, voice_group_id=group_id, group_name=None
            )
        )
    claimed = await db.run(
        lambda s: drafts.claim_draft(s, draft_id, DraftStatus.DRAFT, DraftStatus.SUBMITTING)
    )
    if not claimed:
        fresh = await db.run(lambda s: drafts.get_draft(s, draft_id, chat_id))
        return SubmitOutcome(SubmitStatus.NOT_OPEN, fresh or draft)
    part = await db.run(lambda s: drafts.part_of_draft(s, draft))
    if on_claimed is not None:
        try:
            await on_claimed(draft)
        except Exception:
            log.exception("could not show the progress of submitting draft %s", draft_id)
    try:
        if part is None or part.platform_file_path is None:
            raise ValueError(_("The number file of this draft is gone; upload it again."))
        task_id = await client.submit_task(
            file_path=part.platform_file_path,
            file_name=part.file_name,
            settings=draft_settings(client, draft, defaults),
        )
    except PlatformOutcomeUnknown as exc:
        error = str(exc)
        final = await db.run(
            lambda s: drafts.finish_draft(s, draft_id, DraftStatus.UNKNOWN, error=error)
        )
        return SubmitOutcome(SubmitStatus.OUTCOME_UNKNOWN, final, part, error)
    except (PlatformError, ValueError) as exc:
        # Refused (by the platform, or by the client's checks, InvalidRequest) before anything
        # was created: the draft is open again, with the reason shown.
        error = str(exc)
        final = await db.run(
            lambda s: drafts.finish_draft(s, draft_id, DraftStatus.DRAFT, error=error)
        )
        return SubmitOutcome(SubmitStatus.REFUSED, final, part, error)
    except BaseException:
        # A bug or a shutdown in the middle of the call: whether the task exists is unknown.
        await db.run(
            lambda s: drafts.finish_draft(
                s,
                draft_id,
                DraftStatus.UNKNOWN,
                error=_(
                    "The bot stopped while submitting, so it can't tell whether the task was created."
                ),
            )
        )
        raise

    def finish(session):  # noqa: ANN001, ANN202
        final = drafts.finish_draft(session, draft_id, DraftStatus.SUBMITTED, task_id=task_id)
        if task_id is not None:
            drafts.record_task(
                session,
                final,
                task_id,
                file_name=part.file_name,
                app_id=defaults.app_id,
                submitted_by=user_id,
                display_num=defaults.display_num,
            )
        return final

    final = await db.run(finish)
    if task_id is not None and part is not None:
        # Apart from recording the task: the task exists whatever becomes of its index.
        submitted_at = utcnow()
        try:
            await db.run(lambda s: index_task_callees(s, task_id, chat_id, part, submitted_at))
        except Exception:
            log.exception("task %s: its callees could not be indexed", task_id)
    log.info("user %s submitted task %s in chat %s", user_id, task_id, chat_id)
    status = SubmitStatus.SUBMITTED if task_id is not None else SubmitStatus.SUBMITTED_WITHOUT_ID
    return SubmitOutcome(status, final, part)
