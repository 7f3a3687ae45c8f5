"""What a chat gets relayed, and its routes: the services behind /notify, /mute, /unmute,
/settings mask, /route, /unroute and /routes. Plain values in, rows out; errors are plain text."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.delivery.outbox import OutboxKind, withdraw_waiting
from bot.errors import UserFacingError
from bot.i18n import _
from bot.relay.agent_links import group_unrouted
from bot.relay.routing import NotifyCalls
from bot.views.relayed import mask_shown_numbers
from storage.models import BoundChat, GroupRoute, OutboxMessage, OutboxStatus, utcnow

MAX_MUTE = timedelta(days=7)
# Digits 0-9 only, like every number in a command (\d would also take ２ and ٣).
_DURATION = re.compile(r"^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?$")
ON_OFF = {"on": True, "off": False, "yes": True, "no": False}


def parse_duration(text: str) -> timedelta:
    """ "30m", "2h", "1d", "1h30m" → a timedelta from 1 minute to 7 days; a sentence otherwise."""
    value = text.strip().lower().replace(" ", "")
    match = _DURATION.match(value) if value else None
    if match is None or not any(match.groups()):
        raise UserFacingError(
            _(
                "“{text}” is not a duration I understand. Use a number of minutes, hours or days, such "
                "as 30m, 2h or 1d (at most 7 days).",
                text=text[:20],
            )
        )
    days, hours, minutes = (int(g or 0) for g in match.groups())
    if days > 7 or hours > 7 * 24 or minutes > 7 * 24 * 60:
        raise UserFacingError(_("A chat can be muted for at most 7 days, for example /mute 7d."))
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if duration < timedelta(minutes=1):
        raise UserFacingError(_("Mute for at least a minute, for example /mute 30m."))
    if duration > MAX_MUTE:
        raise UserFacingError(_("A chat can be muted for at most 7 days, for example /mute 7d."))
    return duration


def parse_on_off(text: str, what: str) -> bool:
    try:
        return ON_OFF[text.strip().lower()]
    except KeyError:
        raise UserFacingError(
            _(
                "Say on or off, for example {what} on.",
                what=what,
            )
        ) from None


def parse_notify_calls(text: str) -> NotifyCalls:
    try:
        return NotifyCalls(text.strip().lower())
    except ValueError:
        raise UserFacingError(
            _(
                "“{text}” is not a choice for call records. Use each (a message per call), answered (a "
                "message per answered call), digest (a summary every 15 minutes) or off, for example "
                "/notify calls answered.",
                text=text[:20],
            )
        ) from None


def _chat(session: Session, chat_id: int) -> BoundChat:
    chat = session.get(BoundChat, chat_id)
    if chat is None or not chat.active:
        raise UserFacingError(_("This chat is not bound any more, so nothing was changed."))
    return chat


def set_notify_ringing(session: Session, chat_id: int, on: bool) -> tuple[BoundChat, int]:
    """Returns the chat and how many waiting ringing messages were taken back (when off)."""
    chat = _chat(session, chat_id)
    chat.notify_ringing = on
    session.add(chat)
    withdrawn = 0 if on else withdraw_waiting(session, chat_id, (OutboxKind.RINGING,))
    return chat, withdrawn


def set_notify_calls(
    session: Session, chat_id: int, mode: NotifyCalls, now: datetime | None = None
) -> tuple[BoundChat, int]:
    """Returns the chat and how many waiting call messages were taken back (when off). Other
    modes leave them: a message says nothing of whether its call was answered, and a call taken
    back would be missing from the first digest."""
    chat = _chat(session, chat_id)
    if mode is NotifyCalls.DIGEST and chat.notify_calls != NotifyCalls.DIGEST:
        # The first digest covers calls from now on, not those already posted one by one.
        chat.last_digest_at = now or utcnow()
    chat.notify_calls = mode.value
    session.add(chat)
    off = mode is NotifyCalls.OFF
    return chat, withdraw_waiting(session, chat_id, (OutboxKind.CALL,)) if off else 0


def mute(
    session: Session, chat_id: int, duration: timedelta, now: datetime | None = None
) -> tuple[BoundChat, int]:
    """Returns the chat and how many waiting ringing and call messages were taken back (a
    waiting digest stays: the calls it sums up would be in no later digest)."""
    chat = _chat(session, chat_id)
    chat.muted_until = (now or utcnow()) + duration
    session.add(chat)
    return chat, withdraw_waiting(session, chat_id, (OutboxKind.RINGING, OutboxKind.CALL))


def unmute(session: Session, chat_id: int) -> tuple[BoundChat, bool]:
    """Returns the chat and whether it was muted."""
    chat = _chat(session, chat_id)
    was_muted = chat.muted_until is not None and chat.muted_until > utcnow()
    chat.muted_until = None
    session.add(chat)
    return chat, was_muted


def set_mask(session: Session, chat_id: int, on: bool) -> BoundChat:
    chat = _chat(session, chat_id)
    chat.mask_numbers = on
    session.add(chat)
    if on:
        # The relay renders a message when it stores it: the ones still waiting were rendered
        # with full numbers, and a flood's worth of them went on showing them for minutes.
        waiting = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == OutboxStatus.PENDING,
                col(OutboxMessage.kind).in_([OutboxKind.RINGING.value, OutboxKind.CALL.value]),
            )
        )
        for message in waiting:
            message.text = mask_shown_numbers(message.text)
            session.add(message)
    return chat


# ---- routes --------------------------------------------------------------------------------------


def chat_routes(session: Session, chat_id: int) -> list[tuple[GroupRoute, int]]:
    """This chat's active routes, each with how many other chats also route that group."""
    routes = list(
        session.exec(
            select(GroupRoute)
            .where(GroupRoute.chat_id == chat_id, col(GroupRoute.active).is_(True))
            .order_by(func.lower(GroupRoute.group_name))
        )
    )
    return [(r, other_chats(session, r.voice_group_id, chat_id)) for r in routes]


def other_chats(session: Session, voice_group_id: int, chat_id: int) -> int:
    stmt = select(func.count()).where(
        GroupRoute.voice_group_id == voice_group_id,
        GroupRoute.chat_id != chat_id,
        col(GroupRoute.active).is_(True),
    )
    return int(session.exec(stmt).one())


def other_chat_ids(session: Session, voice_group_id: int, chat_id: int) -> list[int]:
    """The other chats with an active route for this group."""
    stmt = select(GroupRoute.chat_id).where(
        GroupRoute.voice_group_id == voice_group_id,
        GroupRoute.chat_id != chat_id,
        col(GroupRoute.active).is_(True),
    )
    return sorted(session.exec(stmt))


def is_routed_here(session: Session, voice_group_id: int, chat_id: int) -> bool:
    route = session.exec(
        select(GroupRoute).where(
            GroupRoute.voice_group_id == voice_group_id, GroupRoute.chat_id == chat_id
        )
    ).first()
    return route is not None and route.active


def remove_route(session: Session, chat_id: int, name_or_id: str) -> GroupRoute:
    """Delete this chat's route for the group named (id, exact name, or name in any case).

    Deleted rather than switched off: /bind switches a chat's inactive routes back on.
    """
    key = name_or_id.strip()
    routes = list(session.exec(select(GroupRoute).where(GroupRoute.chat_id == chat_id)))
    found = [r for r in routes if key.isdigit() and r.voice_group_id == int(key)]
    found = found or [r for r in routes if r.group_name == key]
    found = found or [r for r in routes if r.group_name.casefold() == key.casefold()]
    if len(found) != 1:
        raise UserFacingError(
            _(
                "No agent group “{key}” is routed to this chat, so nothing was changed. /routes lists "
                "the groups whose events come here.",
                key=key[:40],
            )
        )
    route = found[0]
    session.delete(route)
    group_unrouted(session, chat_id, route.voice_group_id)  # its agents' waiting pops go
    return route
