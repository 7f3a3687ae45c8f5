"""Who may do what: chat bindings, roles, known users, chat migration."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import (
    BoundChat,
    CallTask,
    ChatRole,
    GroupRoute,
    KnownUser,
    NumberUpload,
    TaskDraft,
    table_of,
    utcnow,
)


class Role(IntEnum):
    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES = {"operator": Role.OPERATOR, "viewer": Role.VIEWER, "none": Role.NONE}


def remember_user(
    session: Session,
    user_id: int,
    username: str | None,
    full_name: str | None,
    language_code: str | None = None,
) -> None:
    """Insert or refresh the user in one statement: a member's updates run at the same time
    (a file and a command), and two first sightings must not collide on the primary key.
    An update without a language_code keeps the one seen before."""
    values = {
        "user_id": user_id,
        "username": username.lower() if username else None,
        "full_name": (full_name or "")[:256] or None,
        "last_seen": utcnow(),
        "language_code": (language_code or "")[:16] or None,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = table_of(KnownUser)
    stmt = insert(table).values(**values)
    refreshed: dict[str, Any] = {k: stmt.excluded[k] for k in ("username", "full_name", "last_seen")}
    refreshed["language_code"] = func.coalesce(stmt.excluded.language_code, table.c.language_code)
    session.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_=refreshed))


def find_user_by_username(session: Session, username: str) -> KnownUser | None:
    name = username.lstrip("@").lower()
    return session.exec(select(KnownUser).where(KnownUser.username == name)).first()


def get_bound_chat(session: Session, chat_id: int) -> BoundChat | None:
    chat = session.get(BoundChat, chat_id)
    return chat if chat is not None and chat.active else None


def bind_chat(
    session: Session,
    chat_id: int,
    *,
    title: str | None,
    chat_type: str,
    thread_id: int | None,
    by_user: int,
    language: str | None = None,
) -> tuple[BoundChat, bool]:
    """Bind (or re-bind) a chat; returns the chat and whether it was bound before. A chat
    without a language of its own takes `language` (the binding admin's)."""
    chat = session.get(BoundChat, chat_id)
    was_bound = chat is not None and chat.active
    if chat is None:
        chat = BoundChat(chat_id=chat_id)
    chat.title = (title or "")[:256] or None
    chat.chat_type = chat_type
    chat.thread_id = thread_id
    chat.active = True
    chat.bound_by = by_user
    chat.bound_at = utcnow()
    if chat.language is None and language is not None:
        chat.language = language
    session.add(chat)
    # Routes of this chat were switched off when it was unbound or the bot removed.
    for route in session.exec(select(GroupRoute).where(GroupRoute.chat_id == chat_id)):
        route.active = True
        session.add(route)
    return chat, was_bound


def unbind_chat(session: Session, chat_id: int) -> int:
    """Unbind a chat; its routes stop. Returns how many routes were switched off."""
    chat = session.get(BoundChat, chat_id)
    if chat is not None:
        chat.active = False
        session.add(chat)
    return disable_routes(session, chat_id)


def forget_topic(session: Session, chat_id: int, thread_id: int) -> bool:
    """The chat's notification topic was deleted: notifications go to its main thread. False
    when the binding had already moved elsewhere."""
    chat = session.get(BoundChat, chat_id)
    if chat is None or chat.thread_id != thread_id:
        return False
    chat.thread_id = None
    session.add(chat)
    return True


def disable_routes(session: Session, chat_id: int) -> int:
    active = select(GroupRoute).where(
        GroupRoute.chat_id == chat_id, col(GroupRoute.active).is_(True)
    )
    routes = list(session.exec(active))
    for route in routes:
        route.active = False
        session.add(route)
    return len(routes)


def role_in_chat(session: Session, chat_id: int, user_id: int) -> Role:
    """The member's role in a bound chat (viewer unless given another); NONE if unbound."""
    if get_bound_chat(session, chat_id) is None:
        return Role.NONE
    row = session.get(ChatRole, (chat_id, user_id))
    if row is None:
        return Role.VIEWER
    return ROLE_NAMES.get(row.role, Role.VIEWER)


def set_role(session: Session, chat_id: int, user_id: int, role: Role, by_user: int) -> None:
    row = session.get(ChatRole, (chat_id, user_id)) or ChatRole(
        chat_id=chat_id, user_id=user_id, role=""
    )
    row.role = role.label
    row.granted_by = by_user
    row.granted_at = utcnow()
    session.add(row)


def migrate_chat(session: Session, old_chat_id: int, new_chat_id: int) -> bool:
    """Move a chat's binding, roles and routes to its new id (group → supergroup upgrade)."""
    old = session.get(BoundChat, old_chat_id)
    if old is None:
        return False
    if session.get(BoundChat, new_chat_id) is None:
        new = BoundChat(**{**old.model_dump(), "chat_id": new_chat_id, "chat_type": "supergroup"})
        session.add(new)
    old.active = False
    session.add(old)
    for role in list(session.exec(select(ChatRole).where(ChatRole.chat_id == old_chat_id))):
        if session.get(ChatRole, (new_chat_id, role.user_id)) is None:
            session.add(
                ChatRole(
                    chat_id=new_chat_id,
                    user_id=role.user_id,
                    role=role.role,
                    granted_by=role.granted_by,
                    granted_at=role.granted_at,
                )
            )
        session.delete(role)
    moved = {
        r.voice_group_id
        for r in session.exec(select(GroupRoute).where(GroupRoute.chat_id == new_chat_id))
    }
    for route in list(session.exec(select(GroupRoute).where(GroupRoute.chat_id == old_chat_id))):
        if route.voice_group_id in moved:
            session.delete(route)  # the new chat routes this group already
        else:
            route.chat_id = new_chat_id
            session.add(route)
    # Tasks, uploads and drafts keep pointing at the chat they were made in.
    for model in (CallTask, NumberUpload, TaskDraft):
        for row in session.exec(select(model).where(model.chat_id == old_chat_id)):
            row.chat_id = new_chat_id
            session.add(row)
    return True
