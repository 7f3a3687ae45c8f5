"""Agent groups: find by name or id, create with a route to the chat, and routes.

Errors are plain text (the handler guard escapes them); names are shown the way they must be
typed, in quotes when they have spaces.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, TypeVar

from sqlmodel import Session, col, select

from bot.errors import UserFacingError
from bot.i18n import _
from bot.laaffic import limits
from bot.laaffic.client import LaafficClient
from bot.laaffic.models import AgentGroup
from bot.numbers.marks import strip_invisible
from storage.models import GroupRoute

T = TypeVar("T")


def visible_name(name: str) -> str:
    """A group name without the invisible characters a copy from a chat or a spreadsheet can
    carry (zero-width spaces, direction marks) and without surrounding spaces."""
    return strip_invisible(name)[0].strip()


class GroupNames(Generic[T]):
    """THE rule for matching an agent group's name, used by routing, the figures (through the
    relay's attribution), /route, /unroute and group lookups: the exact name first; else the
    same name without invisible characters; else that, in any case (SUMGRP1 is sumgrp1). Each
    tier is tried only when the one before found nothing, so an exact name is never shadowed."""

    def __init__(self, named: Iterable[tuple[str, T]]) -> None:
        self._tiers: tuple[dict[str, list[T]], ...] = (
            defaultdict(list),
            defaultdict(list),
            defaultdict(list),
        )
        for name, value in named:
            for tier, key in zip(self._tiers, _keys(name), strict=True):
                tier[key].append(value)

    def find(self, name: str | None) -> list[T]:
        """The values whose name matches `name` at the first tier that has any; [] for none."""
        if not name:
            return []
        found = self._tiers[0].get(name)
        if found:
            return list(found)
        for tier, key in zip(self._tiers[1:], _keys(name)[1:], strict=True):
            found = tier.get(key)
            if found:
                return list(found)
        return []


def _keys(name: str) -> tuple[str, str, str]:
    visible = visible_name(name)
    return name, visible, visible.casefold()


def typed_name(name: str) -> str:
    """A group name as a user types it in a command: in double quotes when it has spaces."""
    return f'"{name}"' if any(c.isspace() for c in name) else name


def check_group_name(name: str) -> str:
    name = name.strip()
    if not limits.GROUP_NAME_MIN <= len(name) <= limits.GROUP_NAME_MAX:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise UserFacingError(
            _(
                "A group name must be {group_name_min}–{group_name_max} characters long; “{shown}” has "
                "{count}. Choose another name and try again.",
                group_name_min=limits.GROUP_NAME_MIN,
                group_name_max=limits.GROUP_NAME_MAX,
                shown=shown,
                count=len(name),
            )
        )
    if any(not c.isprintable() for c in name):
        raise UserFacingError(
            _(
                "A group name can't contain line breaks or other invisible characters. Type it on one "
                "line and try again.",
            )
        )
    mixed = _look_alike_scripts(name)
    if mixed:
        scripts, letter, script = mixed
        raise UserFacingError(
            _(
                "“{name}” mixes {scripts} letters (“{letter}” is {script}), which look the same in "
                "lists, so two groups could seem to have one name. Type the name in one alphabet and "
                "try again.",
                name=name,
                scripts=scripts,
                letter=letter,
                script=script,
            )
        )
    return name


# Alphabets with letters that look like each other's (a/а/α, o/о/ο, p/р/ρ …).
_CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _look_alike_scripts(name: str) -> tuple[str, str, str] | None:
    """(“Latin and Cyrillic”, the first letter of the second alphabet, its alphabet) when `name`
    mixes letters of alphabets that look alike; None otherwise (digits, signs and other
    alphabets, e.g. Chinese beside Latin, are fine)."""
    first: dict[str, str] = {}
    for char in name:
        if not char.isalpha():
            continue
        script = unicodedata.name(char, "").split(" ", 1)[0]
        if script in _CONFUSABLE_SCRIPTS:
            first.setdefault(script, char)
    if len(first) < 2:
        return None
    names = [script.title() for script in first]
    later = list(first)[1]
    return " and ".join(names), first[later], later.title()


def routed_name(session: Session, group_id: int) -> str | None:
    """The name a route keeps for agent group `group_id` (None when no chat routes it)."""
    stmt = select(GroupRoute.group_name).where(col(GroupRoute.voice_group_id) == group_id)
    return session.exec(stmt).first() or None


def _as_id(key: str) -> int | None:
    if key.isascii() and key.isdigit() and 1 <= int(key) <= limits.PLATFORM_ID_MAX:
        return int(key)
    return None


async def find_group(client: LaafficClient, name_or_id: str) -> AgentGroup:
    """The group whose id or name is given.

    An exact name wins; otherwise a name that differs only in upper/lower case, when exactly one
    group has it. Several such groups are reported as ambiguous, with their ids, not as missing.
    """
    key = name_or_id.strip()
    shown = key if len(key) <= 40 else key[:40] + "…"
    if not key:
        raise UserFacingError(_("Give the group's name or id. /groups lists them."))
    group_id = _as_id(_visible(key))
    # The platform's name filter is not documented as exact or case-blind: ask it first (cheap),
    # then look through every group for the case-blind match.
    groups = await client.list_groups(None if group_id else key)
    for group in groups:
        if group_id is not None and group.voice_group_id == group_id:
            return group
        if group.group_name == key:
            return group
    if group_id is None:
        groups = await client.list_groups()
    matches = GroupNames((g.group_name or "", g) for g in groups).find(key)
    if len(matches) == 1 or (matches and matches[0].group_name == key):
        return matches[0]
    similar = matches
    if similar:
        listed = ", ".join(
            _(
                "{typed_name} (id {voice_group_id})",
                typed_name=typed_name(g.group_name or ""),
                voice_group_id=g.voice_group_id,
            )
            for g in sorted(similar, key=lambda g: g.voice_group_id)
        )
        raise UserFacingError(
            _(
                "Several agent groups are called “{shown}” apart from upper and lower case: {listed}. "
                "Give the exact name or the id.",
                shown=shown,
                listed=listed,
            )
        )
    what = (
        _(
            "with the id {key}",
            key=key,
        )
        if group_id is not None
        else f"“{shown}”"
    )
    raise UserFacingError(
        _(
            "There is no agent group {what}. /groups lists the groups and their ids.",
            what=what,
        )
    )


def _visible(name: str) -> str:
    return visible_name(name)


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
