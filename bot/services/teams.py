"""Which team may act on what: the one check that commands and buttons alike go through.

The rule: each bound chat is a team. A chat acts on
- the agent groups routed to it (an active `GroupRoute` for that chat: made by `/newgroup` there,
  or by a ccbot admin's `/route <group>` there, for a group created elsewhere), and
- the tasks submitted from it, or submitted for one of its groups.
`ADMIN_USER_IDS` admins act anywhere. Everything else is refused with a sentence that says whose it
is not and how to make it yours, and nothing is done. Cross-team views (`/tasks all`, `/groups all`)
are for admins only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from bot.errors import UserFacingError
from bot.i18n import _
from storage.models import CallTask, GroupRoute


def routed_group_ids(session: Session, chat_id: int) -> set[int]:
    """The agent groups whose events come to this chat (and that it may act on)."""
    rows = session.exec(
        select(GroupRoute.voice_group_id).where(
            GroupRoute.chat_id == chat_id,
            col(GroupRoute.active).is_(True),
        )
    )
    return set(rows)


def chat_owns_group(session: Session, chat_id: int, voice_group_id: int) -> bool:
    return voice_group_id in routed_group_ids(session, chat_id)


def chat_owns_task(
    session: Session, chat_id: int, task_id: int, group_ids: Iterable[int] = ()
) -> bool:
    """True when the task was submitted from this chat, or is for one of its groups.

    `group_ids` are the task's agent groups as the platform reports them, so a task created
    outside the bot for this team's group is the team's too.
    """
    task = session.get(CallTask, task_id)
    if task is not None and task.chat_id == chat_id:
        return True
    groups = set(group_ids)
    if task is not None and task.voice_group_id:
        groups.add(task.voice_group_id)
    return bool(groups & routed_group_ids(session, chat_id))


def require_group(
    session: Session, *, chat_id: int, is_admin: bool, voice_group_id: int, group_name: str | None
) -> None:
    """Raise a plain-text `UserFacingError` unless this chat may act on the group."""
    if is_admin or chat_owns_group(session, chat_id, voice_group_id):
        return
    name = group_name or str(voice_group_id)
    raise UserFacingError(
        _(
            "The agent group “{name}” ({voice_group_id}) is not this team's, so nothing was done. "
            "A chat acts only on the groups routed to it: a ccbot admin can make this one this "
            "team's by running /route {voice_group_id} here.",
            name=name,
            voice_group_id=voice_group_id,
        )
    )


def require_task(
    session: Session,
    *,
    chat_id: int,
    is_admin: bool,
    task_id: int,
    group_ids: Iterable[int] = (),
) -> None:
    """Raise a plain-text `UserFacingError` unless this chat may act on the task."""
    if is_admin or chat_owns_task(session, chat_id, task_id, group_ids):
        return
    raise UserFacingError(
        _(
            "Task {task_id} was not submitted from this chat or for one of its agent groups, so "
            "nothing was done. /tasks lists this chat's tasks.",
            task_id=task_id,
        )
    )
