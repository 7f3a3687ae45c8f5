"""/start, /help, /whoami, /bind, /unbind, /role, /audit, and the chat's own life
(bot removed, group upgraded to a supergroup)."""

from __future__ import annotations

import functools
import logging

from sqlmodel import Session
from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.args import TELEGRAM_USER_ID_MAX, USERNAME_RE, parse_int
from bot.delivery.chat_changes import admin_language, agent_refuses, move_chat
from bot.delivery.outbox import OutboxKind, withdraw_waiting
from bot.delivery.replies import send_text
from bot.errors import UsageError, UserFacingError
from bot.handlers import agents_link
from bot.handlers.base import Context, Request, command, runtime_of, user_by_username
from bot.handlers.catalogue import LIMITS, commands_for
from bot.i18n import N_, _, language_of, n_, normalise, number, speaking, switch
from bot.laaffic import limits
from bot.relay.agent_links import member_shut_out
from bot.services import access
from bot.services.access import ROLE_NAMES, Role
from bot.views import admin as views
from storage.models import KnownUser, utcnow
from storage.queries import recent_audit_entries

log = logging.getLogger(__name__)


@command("/start", Role.NONE, needs_binding=False)
async def start(req: Request) -> None:
    if req.is_private:
        await agents_link.private_start(req)
        return
    if req.chat is None:
        await req.reply(
            _(
                "Hello! I run the Laaffic call center from this chat once I'm bound: a ccbot "
                "admin has to run /bind here. /help lists what I can do."
            )
        )
        return
    await req.reply(
        _(
            "Hello! I run the Laaffic call center from Telegram: agent groups, agents, number "
            "files and calling tasks, and I relay call events into your team chats. "
            "/help lists what you can do here."
        )
    )


UPLOAD_NOTE = N_(
    "Number files: send the file with the caption /upload (or reply to my /upload "
    "prompt with it); I check it and offer to upload it."
)
HELP_NOTES = (
    N_(
        "Names with spaces: put them in double quotes wherever a group name goes, like "
        '/group "Sales Team Two".'
    ),
    N_(
        "Teams: each bound chat is a team. It sees and acts on the agent groups routed to it "
        "(created in that chat, or moved there by a ccbot admin) and on the tasks submitted from "
        "it or for its groups; other teams' groups and tasks are refused. ccbot admins act on "
        "every team's."
    ),
    N_(
        "Platform limits: group names {name_min}–{name_max} characters; "
        "display numbers at most {display_max} letters or digits; call-out rate "
        "{rate}; ringing time {ring} s; remarks at most "
        "{remark_max} characters; at most {batch_max} agents per /addagents; "
        "at most {rows_max} numbers per platform file."
    ),
)


@command("/help", Role.NONE, needs_binding=False)
async def help_command(req: Request) -> None:
    situation = None
    if req.chat is None and not req.is_private:
        situation = _("This chat is not bound yet: a ccbot admin must run /bind here before I act.")
    elif req.is_private and req.role == Role.NONE:
        situation = _(
            "I work in team chats: add me to your team's group and ask a ccbot admin to run "
            "/bind there. Here you can use /help and /whoami."
        )
    commands = [
        info
        for info in commands_for(req.role)
        if not (info.group_only and req.is_private) and not (info.private_only and not req.is_private)
    ]
    notes: list[str] = []
    if req.role >= Role.OPERATOR:
        notes.append(_(UPLOAD_NOTE))
    if req.role >= Role.VIEWER:
        values = {**LIMITS, "rows_max": number(limits.UPLOAD_ROWS_MAX)}
        notes += [_(note, **values) if "{" in note else _(note) for note in HELP_NOTES]
    await req.reply(
        views.help_message(req.role.label, situation=situation, commands=commands, notes=notes)
    )


@command("/whoami", Role.NONE, needs_binding=False)
async def whoami(req: Request) -> None:
    where = (
        _("this private chat")
        if req.is_private
        else (_("this chat") if req.chat else _("this unbound chat"))
    )
    await req.reply(views.whoami_message(req.user_id, req.role.label, where, req.chat_id))


@command("/bind", Role.ADMIN, needs_binding=False)
async def bind(req: Request) -> None:
    if req.is_private:
        await req.reply(_("Your private chat with me needs no binding. Run /bind in a team group."))
        return
    message = req.message
    assert message is not None
    thread_id = message.message_thread_id if message.is_topic_message else None
    title = message.chat.title

    def do(session):  # noqa: ANN001, ANN202
        return access.bind_chat(
            session,
            req.chat_id,
            title=title,
            chat_type=message.chat.type,
            thread_id=thread_id,
            by_user=req.user_id,
            language=normalise(req.user_language_code),
        )

    chat, was_bound = await req.runtime.database.run(do)
    switch(language_of(chat.language))
    where = _("this topic") if thread_id else _("this chat")
    lines = [
        _(
            "{bound}: I act in this chat now, and notifications go to {where}. "
            "Members are viewers until you give them a role with /role operator (as a reply to "
            "their message, or with their @username or id).",
            bound=_("Re-bound") if was_bound else _("Bound"),
            where=where,
        )
    ]
    if req.runtime.can_read_all_group_messages or await _bot_is_admin(req):
        lines.append(
            _(
                "I can see every message here (I am a group admin, or privacy mode is off), so "
                "operators can simply drop number files into the chat."
            )
        )
    else:
        lines.append(
            _(
                "Privacy mode is on, so I only see commands and replies to me: operators send a "
                "number file with the caption /upload, or reply to my /upload prompt with it. "
                "(Make me a group admin, or turn privacy off with @BotFather, to take any file.)"
            )
        )
    await req.reply("\n".join(lines))


async def _bot_is_admin(req: Request) -> bool:
    """A group admin bot sees every message even with privacy mode on."""
    try:
        member = await req.context.bot.get_chat_member(req.chat_id, req.context.bot.id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


@command("/unbind", Role.ADMIN)
async def unbind(req: Request) -> None:
    if req.is_private:
        await req.reply(_("Your private chat with me can't be unbound."))
        return

    def do(session):  # noqa: ANN001, ANN202
        routes = access.unbind_chat(session, req.chat_id)
        # What was already queued for the chat would go on arriving for minutes otherwise.
        kinds = (OutboxKind.RINGING, OutboxKind.CALL, OutboxKind.DIGEST)
        return routes, withdraw_waiting(session, req.chat_id, kinds)

    routes, withdrawn = await req.runtime.database.run(do)
    dropped = (
        n_(
            " The {count} relayed message(s) still waiting to be posted here will not be posted.",
            " The {count} relayed message(s) still waiting to be posted here will not be posted.",
            withdrawn,
        )
        if withdrawn
        else ""
    )
    await req.reply(
        n_(
            "Unbound: I no longer act in this chat, and {count} agent group(s) no longer send "
            "their events here.{dropped} /bind undoes this.",
            "Unbound: I no longer act in this chat, and {count} agent group(s) no longer send "
            "their events here.{dropped} /bind undoes this.",
            routes,
            dropped=dropped,
        )
    )


UNSEEN_FOR_ROLE = N_(
    "I haven't seen {user} yet, so I don't know their user id. Ask them "
    "to send any command here (for example /whoami), or run /role as a "
    "reply to one of their messages."
)


@command("/role", Role.ADMIN)
async def role(req: Request) -> None:
    if req.is_private:
        await req.reply(_("Roles are per team chat: run /role in the group."))
        return
    if not req.args or len(req.args) > 2:
        raise UsageError(command="role")
    if req.args[0].lower() not in ROLE_NAMES:
        raise UsageError(
            _("“{value}” is not a role: use operator, viewer or none.", value=req.args[0][:20]),
            command="role",
        )
    new_role = ROLE_NAMES[req.args[0].lower()]
    message = req.message
    assert message is not None
    target_id: int | None = None
    target_label = ""
    if len(req.args) == 2:
        who = req.args[1]
        if who.lstrip("-+").isdigit() or who.startswith("-"):
            target_id = parse_int(who, _("A user id"), 1, TELEGRAM_USER_ID_MAX)
            known = await req.runtime.database.run(lambda s: s.get(KnownUser, target_id))
            target_label = (known.full_name or f"@{known.username}") if known else _("User")
        elif not USERNAME_RE.fullmatch(who):
            raise UsageError(
                _("“{value}” is neither a @username nor a user id.", value=who[:40]),
                command="role",
            )
        else:
            user = await user_by_username(req, who, UNSEEN_FOR_ROLE)
            target_id, target_label = user.user_id, f"@{user.username}"
    elif message.reply_to_message is not None and message.reply_to_message.from_user is not None:
        target = message.reply_to_message.from_user
        if target.is_bot:
            await req.reply(_("Bots can't be given a role."))
            return
        target_id, target_label = target.id, target.full_name
    else:
        raise UsageError(command="role")
    if target_id == req.context.bot.id:
        await req.reply(_("Bots can't be given a role."))
        return
    if req.runtime.is_admin(target_id):
        raise UserFacingError(
            _(
                "{user} ({id}) is a ccbot admin (listed in ADMIN_USER_IDS): roles "
                "don't apply to admins, who have every right in every chat, so nothing was "
                "changed. To take their rights away, remove them from ADMIN_USER_IDS and restart "
                "the bot.",
                user=target_label,
                id=target_id,
            )
        )
    def change(session: Session) -> None:
        access.set_role(session, req.chat_id, target_id, new_role, req.user_id)
        if new_role == Role.NONE:  # their screen pops of this team's accounts stop at once
            member_shut_out(session, req.chat_id, target_id)

    await req.runtime.database.run(change)
    log.info(
        "user %s set role %s for %s in chat %s", req.user_id, new_role.label, target_id, req.chat_id
    )
    what = {
        Role.OPERATOR: _("can now create groups and agents, upload numbers and run tasks here"),
        Role.VIEWER: _("can now only look (groups, agents, tasks, balance) here"),
        Role.NONE: _("can no longer use the bot in this chat"),
    }[new_role]
    await req.reply(views.role_changed(target_label, target_id, new_role.label, what))


AUDIT_MAX = 50


@command("/audit", Role.ADMIN)
async def audit(req: Request) -> None:
    if len(req.args) > 1:
        raise UsageError(command="audit")
    try:
        limit = parse_int(req.args[0], _("How many"), 1, AUDIT_MAX) if req.args else 10
    except UserFacingError as exc:
        raise UsageError(str(exc), command="audit") from None
    rows = await req.runtime.database.run(lambda s: recent_audit_entries(s, limit))
    if not rows:
        await req.reply(_("No platform calls have been made through the bot yet."))
        return
    await req.reply(views.audit_list(rows))


async def bot_membership_changed(update: Update, context: Context) -> None:
    """Removed from a chat: its routes stop, and admins are told."""
    change = update.my_chat_member
    if change is None:
        return
    runtime = runtime_of(context)
    status = change.new_chat_member.status
    if status not in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return
    chat = change.chat
    if chat.type == ChatType.PRIVATE and not runtime.is_admin(chat.id):
        # An agent blocked the bot: their screen pops stop now, and their team hears it once.
        await runtime.database.run(lambda s: agent_refuses(s, chat.id, utcnow()))
        if runtime.sender is not None:
            runtime.sender.wake()
        return

    def do(session):  # noqa: ANN001, ANN202
        bound = access.get_bound_chat(session, chat.id)
        if bound is None:
            return False, 0, 0
        routes = access.unbind_chat(session, chat.id)
        # Nothing waiting can reach the chat now; each would be refused and the admins told a
        # second time (by the sender, "I can no longer post in chat …").
        return True, routes, withdraw_waiting(session, chat.id, tuple(OutboxKind))

    was_bound, routes, withdrawn = await runtime.database.run(do)
    if not was_bound:
        return
    log.warning("bot removed from chat %s (%s); %s route(s) disabled", chat.id, chat.title, routes)
    for admin_id in runtime.settings.admin_user_ids:
        language = await runtime.database.run(functools.partial(admin_language, admin_id=admin_id))
        with speaking(language):
            text = views.removed_from_chat(chat.title, chat.id, routes, withdrawn)
        try:
            await send_text(context.bot, runtime.database, admin_id, text)
        except Exception:
            log.warning(
                "could not tell admin %s that the bot was removed from %s", admin_id, chat.id
            )


async def chat_migrated(update: Update, context: Context) -> None:
    """A group became a supergroup: move its binding, roles and routes to the new id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    # Telegram sends two service messages (old and new chat); they hold both chats' barrier
    # (bot/updates.py), so they run one after the other, and the second finds nothing to move.
    moved = await move_chat(runtime_of(context).database, old, new)
    if moved:
        log.info("chat %s migrated to %s: binding, roles and routes moved", old, new)


def register(application: Application) -> None:
    for name, fn in (
        ("start", start),
        ("help", help_command),
        ("whoami", whoami),
        ("bind", bind),
        ("unbind", unbind),
        ("role", role),
        ("audit", audit),
    ):
        application.add_handler(CommandHandler(name, fn))
    application.add_handler(
        ChatMemberHandler(bot_membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated))
