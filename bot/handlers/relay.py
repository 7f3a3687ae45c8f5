"""/route, /unroute, /routes, /notify, /mute, /unmute, and `/settings mask` (called from
bot/handlers/account.py): which agent groups' events come to this chat, and how."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo

from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot.args import joined_name
from bot.config import chat_zone
from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Request, command, refusal
from bot.relay import chat_settings
from bot.relay.digest import DIGEST_INTERVAL
from bot.relay.routing import NotifyCalls, is_muted, notify_calls_of, unrouted_groups
from bot.render import code, esc
from bot.services import groups as group_service
from bot.services.access import Role
from storage.models import BoundChat, utcnow

log = logging.getLogger(__name__)

UNROUTED_WINDOW = timedelta(hours=24)
CALLS_IN_WORDS = {
    NotifyCalls.EACH: "a message for every call",
    NotifyCalls.ANSWERED: "a message for every answered call",
    NotifyCalls.DIGEST: f"a digest every {int(DIGEST_INTERVAL.total_seconds() // 60)} minutes",
    NotifyCalls.OFF: "nothing (they still count in the daily summary)",
}


def _zone(req: Request, chat: BoundChat | None) -> tzinfo:
    return chat_zone(chat, req.runtime.settings.default_zone)


def _when(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    today = utcnow().astimezone(zone).date()
    day = "" if local.date() == today else f" on {local:%a %d %b}"
    return f"{local:%H:%M}{day} ({getattr(zone, 'key', str(zone))})"


def notify_summary(req: Request, chat: BoundChat) -> str:
    """What this chat gets relayed, as HTML lines."""
    now = utcnow()
    ringing = "on" if chat.notify_ringing else "off"
    calls = CALLS_IN_WORDS[notify_calls_of(chat)]
    lines = [
        f"Ringing events: <b>{ringing}</b>",
        f"Call records: <b>{esc(calls)}</b>",
        f"Callee numbers: <b>{'masked' if chat.mask_numbers else 'shown in full'}</b>",
    ]
    if is_muted(chat, now) and chat.muted_until is not None:
        lines.append(
            f"🔕 <b>Muted</b> until {esc(_when(chat.muted_until, _zone(req, chat)))}: nothing is "
            f"posted here until then (/unmute ends it now)."
        )
    return "\n".join(lines)


def withdrawn_words(withdrawn: int) -> str:
    """What became of the messages that were waiting to be posted, when some were taken back."""
    if not withdrawn:
        return ""
    were = "message that was" if withdrawn == 1 else "messages that were"
    return (
        f" The {withdrawn} {were} still waiting to be posted here will not be posted (their "
        f"events stay stored too)."
    )


async def _chat_administrator(req: Request) -> bool:
    """Whether the member administers this Telegram chat (asked of Telegram each time)."""
    try:
        member = await req.context.bot.get_chat_member(req.chat_id, req.user_id)
    except TelegramError as exc:
        raise UserFacingError(
            f"I could not check with Telegram whether you administer this chat ({exc}), so "
            f"nothing was changed. Try again in a moment."
        ) from None
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def _require_route_right(req: Request, what: str) -> None:
    """ccbot admins may change any chat's routes; operators who administer this Telegram chat
    may change this chat's (and take only groups no team has: see /route)."""
    if req.is_admin or await _chat_administrator(req):
        return
    raise UserFacingError(
        f"You can't use {what} here: it needs the admin role, or being an administrator of this "
        f"Telegram chat. Nothing was changed."
    )


def _in_group(req: Request, what: str) -> None:
    if req.is_private:
        raise UserFacingError(
            f"Run {what} in the team's group: it decides which agent groups are that team's."
        )


@command("/route", Role.OPERATOR)
async def route(req: Request) -> None:
    _in_group(req, "/route")
    if not req.args:
        raise UsageError(command="route")
    await _require_route_right(req, "/route")
    group = await group_service.find_group(req.runtime.client, joined_name(req.args))

    def apply(session):  # noqa: ANN001, ANN202
        already = chat_settings.is_routed_here(session, group.voice_group_id, req.chat_id)
        others = chat_settings.other_chat_ids(session, group.voice_group_id, req.chat_id)
        if others and not already and not req.is_admin:
            # Routing makes a group the chat's team's: a chat administrator may take a group no
            # team has yet, never another team's.
            raise UserFacingError(
                f"The agent group “{group.group_name}” ({group.voice_group_id}) is another "
                f"team's already, so nothing was changed. Only a ccbot admin can route it to "
                f"this chat as well."
            )
        group_service.route_group(session, group, req.chat_id, req.app_id, req.user_id)
        return already, others

    already, others = await req.runtime.database.run(apply)
    log.info("user %s routed group %s to chat %s", req.user_id, group.voice_group_id, req.chat_id)
    name = f"<b>{esc(group.group_name)}</b> ({code(group.voice_group_id)})"
    also = f" It stays routed to {', '.join(code(c) for c in others)} as well." if others else ""
    if already:
        await req.reply(f"The agent group {name} is this team's already.{also}")
        return
    assert req.chat is not None
    await req.reply(
        f"The agent group {name} is this team's now: its ringing events and call records come "
        f"to this chat, and this chat acts on it.{also}\n{notify_summary(req, req.chat)}\n"
        f"Change what is posted with /notify; stop it with <code>/unroute "
        f"{esc(group_service.typed_name(group.group_name))}</code>."
    )


@command("/unroute", Role.OPERATOR)
async def unroute(req: Request) -> None:
    _in_group(req, "/unroute")
    if not req.args:
        raise UsageError(command="unroute")
    await _require_route_right(req, "/unroute")
    key = joined_name(req.args)
    removed = await req.runtime.database.run(
        lambda s: chat_settings.remove_route(s, req.chat_id, key)
    )
    log.info(
        "user %s unrouted group %s from chat %s", req.user_id, removed.voice_group_id, req.chat_id
    )
    await req.reply(
        f"The agent group <b>{esc(removed.group_name)}</b> ({code(removed.voice_group_id)}) no "
        f"longer comes to this chat. Its events are still stored; <code>/route "
        f"{esc(group_service.typed_name(removed.group_name))}</code> brings them back."
    )


@command("/routes", Role.VIEWER)
async def routes(req: Request) -> None:
    since = utcnow() - UNROUTED_WINDOW

    def load(session):  # noqa: ANN001, ANN202
        mine = chat_settings.chat_routes(session, req.chat_id)
        unrouted = unrouted_groups(session, since) if req.is_admin else []
        return mine, unrouted

    mine, unrouted = await req.runtime.database.run(load)
    if mine:
        lines = [f"<b>Agent groups whose events come to this chat</b> ({len(mine)})"]
        for r, others in mine:
            also = f" · also in {others} other chat(s)" if others else ""
            lines.append(f"• {esc(r.group_name)} — id {code(r.voice_group_id)}{also}")
    else:
        lines = [
            "No agent group's events come to this chat yet. Create a group here with "
            "<code>/newgroup Sales-Team-1</code>, or route one made elsewhere with "
            "<code>/route Sales-Team-1</code>."
        ]
    if req.chat is not None:
        lines += ["", notify_summary(req, req.chat)]
    if req.is_admin:
        lines.append("")
        if unrouted:
            lines.append(
                "<b>Unrouted groups seen in the last 24 hours</b> (stored, posted and counted "
                "nowhere)"
            )
            for g in unrouted:
                counts = []
                if g.ringing_events:
                    counts.append(f"{g.ringing_events} ringing event(s)")
                if g.call_records:
                    counts.append(f"{g.call_records} call record(s)")
                if g.group_name is None:
                    lines.append(
                        f"• without an agent group, counted in no chat (no task of a bound "
                        f"chat dialled them): {', '.join(counts)}"
                    )
                else:
                    lines.append(
                        f"• {esc(g.group_name)}: {', '.join(counts)} — "
                        f"<code>/route {esc(group_service.typed_name(g.group_name))}</code>"
                    )
        else:
            lines.append("Every agent group seen in the last 24 hours is routed to some chat.")
    await req.reply("\n".join(lines))


@command("/notify", Role.VIEWER)
async def notify(req: Request) -> None:
    chat = req.chat
    assert chat is not None
    if not req.args:
        await req.reply(f"<b>What this chat gets</b>\n{notify_summary(req, chat)}")
        return
    choices = {"ringing": "on or off", "calls": "each, answered, digest or off"}
    first = req.args[0].lower()
    if first not in choices:
        raise UsageError(
            f"“{req.args[0][:20]}” is not something /notify changes: say ringing or calls.",
            command="notify",
        )
    if len(req.args) != 2:
        raise UsageError(f"Say what /notify {first} should be: {choices[first]}.", command="notify")
    if req.role < Role.OPERATOR:
        await req.reply(esc(refusal(req, Role.OPERATOR, f"/notify {req.args[0].lower()}")))
        return
    what, value = req.args[0].lower(), req.args[1]
    if what == "ringing":
        on = chat_settings.parse_on_off(value, "/notify ringing")
        saved, withdrawn = await req.runtime.database.run(
            lambda s: chat_settings.set_notify_ringing(s, req.chat_id, on)
        )
    else:
        mode = chat_settings.parse_notify_calls(value)
        saved, withdrawn = await req.runtime.database.run(
            lambda s: chat_settings.set_notify_calls(s, req.chat_id, mode)
        )
    req.chat = saved
    await req.reply(f"Saved.{withdrawn_words(withdrawn)}\n{notify_summary(req, saved)}")


@command("/mute", Role.OPERATOR)
async def mute(req: Request) -> None:
    if not req.args:
        raise UsageError(command="mute")
    duration = chat_settings.parse_duration(" ".join(req.args))
    chat, withdrawn = await req.runtime.database.run(
        lambda s: chat_settings.mute(s, req.chat_id, duration)
    )
    req.chat = chat
    assert chat.muted_until is not None
    # Only a chat on digests gets one after the mute; the others have the daily summary.
    later = (
        "the first digest after it shows them"
        if notify_calls_of(chat) is NotifyCalls.DIGEST
        else "the daily summary counts them"
    )
    await req.reply(
        f"🔕 Muted until {esc(_when(chat.muted_until, _zone(req, chat)))}: no ringing events, "
        f"call records or digests are posted here until then. They are still stored, and "
        f"{later}.{withdrawn_words(withdrawn)} /unmute ends it now."
    )


@command("/unmute", Role.OPERATOR)
async def unmute(req: Request) -> None:
    chat, was_muted = await req.runtime.database.run(lambda s: chat_settings.unmute(s, req.chat_id))
    req.chat = chat
    if not was_muted:
        await req.reply(f"This chat was not muted.\n{notify_summary(req, chat)}")
        return
    await req.reply(f"🔔 Unmuted: events are posted here again.\n{notify_summary(req, chat)}")


async def settings_mask(req: Request, value: str | None) -> None:
    """`/settings mask on|off`: callee numbers masked (+91 98•••••210) in this chat's messages."""
    if req.role < Role.OPERATOR:
        await req.reply(esc(refusal(req, Role.OPERATOR, "/settings mask")))
        return
    if value is None:
        raise UsageError("Say on or off, for example /settings mask on.", command="settings")
    on = chat_settings.parse_on_off(value, "/settings mask")
    chat = await req.runtime.database.run(lambda s: chat_settings.set_mask(s, req.chat_id, on))
    req.chat = chat
    if on:
        await req.reply(
            "Saved. Callee numbers are now masked in the messages posted here, for example "
            "+91 98•••••210."
        )
    else:
        await req.reply("Saved. Callee numbers are now shown in full in the messages posted here.")


def register(application: Application) -> None:
    for name, fn in (
        ("route", route),
        ("unroute", unroute),
        ("routes", routes),
        ("notify", notify),
        ("mute", mute),
        ("unmute", unmute),
    ):
        application.add_handler(CommandHandler(name, fn))
