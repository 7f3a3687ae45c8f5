"""Agent groups: find by name or id, create with a route to the chat, and routes."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.errors import UserFacingError
from bot.laaffic.client import LaafficClient
from bot.laaffic.models import AgentGroup
from storage.models import GroupRoute

GROUP_NAME_MIN, GROUP_NAME_MAX = 4, 32


def check_group_name(name: str) -> str:
    name = name.strip()
    if not GROUP_NAME_MIN <= len(name) <= GROUP_NAME_MAX:
        raise UserFacingError(
            f"A group name must be {GROUP_NAME_MIN}–{GROUP_NAME_MAX} characters long; "
            f"“{name[:40]}” has {len(name)}. Choose another name and try again."
        )
    return name


async def find_group(client: LaafficClient, name_or_id: str) -> AgentGroup:
    """The group whose id or exact name is given; a clear error when there is none."""
    key = name_or_id.strip()
    groups = await client.list_groups(None if key.isdigit() else key)
    for group in groups:
        if key.isdigit() and group.voice_group_id == int(key):
            return group
        if group.group_name == key:
            return group
    lowered = [g for g in groups if (g.group_name or "").lower() == key.lower()]
    if len(lowered) == 1:
        return lowered[0]
    raise UserFacingError(
        f"There is no agent group “{key[:40]}”. /groups lists the groups and their ids."
    )


def route_group(
    session: Session, group: AgentGroup, chat_id: int, app_id: str | None, user_id: int | None
) -> GroupRoute:
    """Route the group's events to this chat (a group may be routed to several chats)."""
    route = session.exec(
        select(GroupRoute).where(
            GroupRoute.voice_group_id == group.voice_group_id, GroupRoute.chat_id == chat_id
        )
    ).first() or GroupRoute(
        voice_group_id=group.voice_group_id, chat_id=chat_id, group_name=group.group_name or ""
    )
    route.group_name = group.group_name or route.group_name
    route.app_id = app_id
    route.active = True
    route.created_by = user_id
    session.add(route)
    return route


def routes_by_group(session: Session) -> dict[int, list[GroupRoute]]:
    """Every route, by agent group id."""
    routes: dict[int, list[GroupRoute]] = {}
    for route in session.exec(select(GroupRoute).order_by(GroupRoute.id)):  # type: ignore[arg-type]
        routes.setdefault(route.voice_group_id, []).append(route)
    return routes
