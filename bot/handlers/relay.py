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
from bot.handlers import alerts as alert_handlers
from bot.handlers.base import Request, command, refusal
from bot.i18n import N_, _
from bot.relay import chat_settings
from bot.relay.digest import DIGEST_INTERVAL
from bot.relay.routing import NotifyCalls, is_muted, notify_calls_of, unrouted_groups
from bot.render import esc
from bot.services import groups as group_service
from bot.services.access import Role
from bot.views import relay_settings as views
from storage.models import BoundChat, utcnow

log = logging.getLogger(__name__)

UNROUTED_WINDOW = timedelta(hours=24)
CALLS_IN_WORDS = {
    NotifyCalls.EACH: N_("a message for every call"),
    NotifyCalls.ANSWERED: N_("a message for every answered call"),
    NotifyCalls.DIGEST: N_("a digest every {minutes} minutes"),
    NotifyCalls.OFF: N_("nothing (they still count in the daily summary)"),
}


def _zone(req: Request, chat: BoundChat | None) -> tzinfo:
    return chat_zone(chat, req.runtime.settings.default_zone)


def _when(moment: datetime, zone: tzinfo) -> str:
    return views.when(moment, zone, utcnow())


def notify_summary(req: Request, chat: BoundChat) -> str:
    """What this chat gets relayed, as HTML lines (`bot.views.relay_settings.notify_summary`)."""
    muted_until = (
        _when(chat.muted_until, _zone(req, chat))
        if is_muted(chat, utcnow()) and chat.muted_until is not None
        else None
    )
    return views.notify_summary(
        ringing=chat.notify_ringing,
        calls_words=_(
            CALLS_IN_WORDS[notify_calls_of(chat)],
            minutes=int(DIGEST_INTERVAL.total_seconds() // 60),
        ),
        masked=chat.mask_numbers,
        muted_until=muted_until,
    )


async def _chat_administrator(req: Request) -> bool:
    """Whether the member administers this Telegram chat (asked of Telegram each time)."""
    try:
        member = await req.context.bot.get_chat_member(req.chat_id, req.user_id)
    except TelegramError as exc:
        raise UserFacingError(
            _(
                "I could not check with Telegram whether you administer this chat ({exc}), so nothing "
                "was changed. Try again in a moment.",
                exc=exc,
            )
        ) from None
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def _require_route_right(req: Request, what: str) -> None:
    """ccbot admins may change any chat's routes; operators who administer this Telegram chat
    may change this chat's (and take only groups no team has: see /route)."""
    if req.is_admin or await _chat_administrator(req):
        return
    raise UserFacingError(
        _(
            "You can't use {what} here: it needs the admin role, or being an administrator of this "
            "Telegram chat. Nothing was changed.",
            what=what,
        )
    )


def _in_group(req: Request, what: str) -> None:
    if req.is_private:
        raise UserFacingError(
            _(
                "Run {what} in the team's group: it decides which agent groups are that team's.",
                what=what,
            )
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
                _(
                    "The agent group “{group_name}” ({voice_group_id}) is another team's already, so "
                    "nothing was changed. Only a ccbot admin can route it to this chat as well.",
                    group_name=group.group_name,
                    voice_group_id=group.voice_group_id,
                )
            )
        group_service.route_group(session, group, req.chat_id, req.app_id, req.user_id)
        return already, others

    already, others = await req.runtime.database.run(apply)
    log.info("user %s routed group %s to chat %s", req.user_id, group.voice_group_id, req.chat_id)
    if already:
        await req.reply(views.routed_already(group.group_name, group.voice_group_id, others))
        return
    assert req.chat is not None
    await req.reply(
        views.routed(group.group_name, group.voice_group_id, others, notify_summary(req, req.chat))
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
    await req.reply(views.unrouted(removed.group_name, removed.voice_group_id))


@command("/routes", Role.VIEWER)
async def routes(req: Request) -> None:
    since = utcnow() - UNROUTED_WINDOW

    def load(session):  # noqa: ANN001, ANN202
        mine = chat_settings.chat_routes(session, req.chat_id)
        unrouted = unrouted_groups(session, since) if req.is_admin else []
        return mine, unrouted

    mine, unrouted = await req.runtime.database.run(load)
    await req.reply(
        views.routes_list(
            [(r.group_name, r.voice_group_id, others) for r, others in mine],
            summary=notify_summary(req, req.chat) if req.chat is not None else None,
            unrouted_groups=unrouted if req.is_admin else None,
        )
    )


@command("/notify", Role.VIEWER)
async def notify(req: Request) -> None:
    chat = req.chat
    assert chat is not None
    if not req.args:
        await req.reply(views.what_this_chat_gets(notify_summary(req, chat)))
        return
    choices = {"ringing": _("on or off"), "calls": _("each, answered, digest or off")}
    first = req.args[0].lower()
    if first == "sound":
        await alert_handlers.notify_sound(req)
        return
    if first not in choices:
        raise UsageError(
            _(
                "“{value}” is not something /notify changes: say ringing, calls or sound.",
                value=req.args[0][:20],
            ),
            command="notify",
        )
    if len(req.args) != 2:
        raise UsageError(
            _(
                "Say what /notify {first} should be: {choices}.",
                first=first,
                choices=choices[first],
            ),
            command="notify",
        )
    if req.role < Role.OPERATOR:
        await req.reply(
            esc(
                refusal(
                    req,
                    Role.OPERATOR,
                    _(
                        "/notify {lower}",
                        lower=req.args[0].lower(),
                    ),
                )
            )
        )
        return
    what, value = req.args[0].lower(), req.args[1]
    if what == "ringing":
        on = chat_settings.parse_on_off(value, _("/notify ringing"))
        saved, withdrawn = await req.runtime.database.run(
            lambda s: chat_settings.set_notify_ringing(s, req.chat_id, on)
        )
    else:
        mode = chat_settings.parse_notify_calls(value)
        saved, withdrawn = await req.runtime.database.run(
            lambda s: chat_settings.set_notify_calls(s, req.chat_id, mode)
        )
    req.chat = saved
    await req.reply(views.notify_saved(withdrawn, notify_summary(req, saved)))


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
    await req.reply(
        views.muted(
            _when(chat.muted_until, _zone(req, chat)),
            digest_follows=notify_calls_of(chat) is NotifyCalls.DIGEST,
            withdrawn=withdrawn,
        )
    )


@command("/unmute", Role.OPERATOR)
async def unmute(req: Request) -> None:
    chat, was_muted = await req.runtime.database.run(lambda s: chat_settings.unmute(s, req.chat_id))
    req.chat = chat
    if not was_muted:
        await req.reply(views.not_muted(notify_summary(req, chat)))
        return
    await req.reply(views.unmuted(notify_summary(req, chat)))


async def settings_mask(req: Request, value: str | None) -> None:
    """`/settings mask on|off`: callee numbers masked (+91 98•••••210) in this chat's messages."""
    if req.role < Role.OPERATOR:
        await req.reply(esc(refusal(req, Role.OPERATOR, _("/settings mask"))))
        return
    if value is None:
        raise UsageError(_("Say on or off, for example /settings mask on."), command="settings")
    on = chat_settings.parse_on_off(value, _("/settings mask"))
    chat = await req.runtime.database.run(lambda s: chat_settings.set_mask(s, req.chat_id, on))
    req.chat = chat
    if on:
        await req.reply(
            _(
                "Saved. Callee numbers are now masked in the messages posted here, for example +91 "
                "98•••••210.",
            )
        )
    else:
        await req.reply(
            _("Saved. Callee numbers are now shown in full in the messages posted here.")
        )


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
