"""/link, /unlink, /iam (with its Confirm/Refuse card), /pop, and the private /start welcome:
who gets the screen pop of which SIP account.

A SIP account's team is decided by the platform's agent list, never by the text typed: /link
looks the account up among the agents of this chat's routed groups; /iam looks it up on the
platform and posts the request into the chat that owns its group, where only that chat's
operators can decide it.
"""

from __future__ import annotations

import logging
import re

from sqlmodel import Session, col, select
from telegram import Message
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.args import TELEGRAM_USER_ID_MAX, USERNAME_RE, parse_int
from bot.delivery.replies import send_text
from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Request, button, command, keyboard, user_by_username
from bot.i18n import N_, _, language_of, speaking
from bot.laaffic.models import Agent
from bot.relay import agent_links as links
from bot.relay.agent_links import DecisionResult, LinkResult
from bot.services.access import Role
from bot.views import agent_links as views
from storage.models import BoundChat, GroupRoute, KnownUser

log = logging.getLogger(__name__)

# A SIP account as the platform names agents: letters, digits and a few separators.
SIP_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")
NOT_A_BOT = N_("A SIP account can be linked to a person, not to a bot.")
UNSEEN_FOR_LINK = N_(
    "I haven't seen {user} yet, so I don't know their user id. Ask them to send "
    "any command here (for example /whoami), or run /link as a reply to one of "
    "their messages."
)


def _sip(req: Request, word: str, command_name: str) -> str:
    if not SIP_RE.fullmatch(word):
        raise UsageError(
            _(
                "“{word}” is not a SIP account name (letters, digits, _ . - only).",
                word=word[:40],
            ),
            command=command_name,
        )
    return word


def _account_of(agent: Agent) -> str:
    return agent.account or agent.name


async def _label(req: Request, user_id: int) -> str:
    known = await req.runtime.database.run(lambda s: s.get(KnownUser, user_id))
    name = None
    if known is not None:
        name = known.full_name or (f"@{known.username}" if known.username else None)
    return views.person(name, user_id)


async def _target_user(req: Request) -> int:
    """The user named by @username or id as the second argument, or the author of the message
    the command replies to."""
    message = req.message
    if len(req.args) == 2:
        who = req.args[1]
        if who.lstrip("-+").isdigit():
            return parse_int(who, _("A user id"), 1, TELEGRAM_USER_ID_MAX)
        if not USERNAME_RE.fullmatch(who):
            raise UsageError(
                _("“{who}” is neither a @username nor a user id.", who=who[:40]), command="link"
            )
        user = await user_by_username(req, who, UNSEEN_FOR_LINK)
        return user.user_id
    reply = message.reply_to_message if message is not None else None
    if len(req.args) == 1 and reply is not None and reply.from_user is not None:
        if reply.from_user.is_bot:
            raise UserFacingError(_(NOT_A_BOT))
        return reply.from_user.id
    raise UsageError(command="link")


# ---- /link, /unlink --------------------------------------------------------------------------


@command("/link", Role.OPERATOR)
async def link(req: Request) -> None:
    if req.is_private and req.chat is None:  # an admin's private chat is a team (the sandbox)
        await req.reply(views.team_only("/link"))
        return
    if not req.args or len(req.args) > 2:
        raise UsageError(command="link")
    sip = _sip(req, req.args[0], "link")
    user_id = await _target_user(req)
    if user_id == req.context.bot.id:
        raise UserFacingError(_(NOT_A_BOT))
    routes = await req.runtime.database.run(lambda s: _routes_of(s, req.chat_id))
    if not routes:
        await req.reply(views.no_groups())
        return
    agent = await _find_in_groups(req, sip, routes)
    if agent is None:
        await req.reply(views.not_in_team(sip, [r.group_name for r in routes]))
        return
    route = next(r for r in routes if r.voice_group_id == agent.voice_group_id)
    outcome = await req.runtime.database.run(
        lambda s: links.link_account(
            s,
            sip_account=sip,
            user_id=user_id,
            chat_id=req.chat_id,
            voice_group_id=route.voice_group_id,
            group_name=agent.group_name or route.group_name,
            by_user=req.user_id,
        )
    )
    who = await _label(req, outcome.link.user_id)
    log.info("user %s linked %s to %s in chat %s: %s", req.user_id, sip, user_id, req.chat_id,
             outcome.result.value)
    if outcome.result is LinkResult.LINKED:
        text = views.linked(
            sip, who, outcome.link.group_name, outcome.started, req.context.bot.username
        )
    elif outcome.result is LinkResult.ALREADY:
        text = views.already_linked(sip, who)
    elif outcome.result is LinkResult.TAKEN:
        text = views.taken(sip, who)
    else:
        text = views.other_team(sip)
    await req.reply(text)


def _routes_of(session: Session, chat_id: int) -> list[GroupRoute]:
    return list(
        session.exec(
            select(GroupRoute)
            .where(GroupRoute.chat_id == chat_id, col(GroupRoute.active))
            .order_by(col(GroupRoute.group_name))
        )
    )


async def _find_in_groups(req: Request, sip: str, routes: list[GroupRoute]) -> Agent | None:
    """The platform's agent with this SIP account in one of these groups (each group's list)."""
    seen: set[int] = set()
    for route in routes:
        if route.voice_group_id in seen:
            continue
        seen.add(route.voice_group_id)
        agents = await req.runtime.client.list_agents(route.voice_group_id)
        for agent in agents:
            if _account_of(agent) == sip or agent.name == sip:
                if agent.voice_group_id is None:
                    agent = agent.model_copy(update={"voice_group_id": route.voice_group_id})
                return agent
    return None


@command("/unlink", Role.OPERATOR)
async def unlink(req: Request) -> None:
    if req.is_private and req.chat is None:
        await req.reply(views.team_only("/unlink"))
        return
    if len(req.args) != 1:
        raise UsageError(command="unlink")
    sip = _sip(req, req.args[0], "unlink")
    removed, withdrawn = await req.runtime.database.run(
        lambda s: links.unlink_account(
            s, sip_account=sip, chat_id=req.chat_id, is_admin=req.is_admin, by_user=req.user_id
        )
    )
    if removed is None:
        await req.reply(views.not_linked_here(sip))
        return
    log.info("user %s unlinked %s in chat %s", req.user_id, sip, req.chat_id)
    await req.reply(views.unlinked(sip, await _label(req, removed.user_id), withdrawn))


# ---- /iam and its card -----------------------------------------------------------------------


@command("/iam", Role.NONE, needs_binding=False)
async def iam(req: Request) -> None:
    if not req.is_private:
        await req.reply(views.private_only("/iam"))
        return
    if len(req.args) != 1:
        raise UsageError(command="iam")
    sip = _sip(req, req.args[0], "iam")
    existing = await req.runtime.database.run(lambda s: s.get(links.AgentLink, sip))
    if existing is not None:
        text = views.iam_already(sip) if existing.user_id == req.user_id else views.iam_taken(sip)
        await req.reply(text)
        return
    asked = await req.runtime.database.run(lambda s: links.pending_request(s, sip, req.user_id))
    if asked is not None:
        await req.reply(views.iam_pending(sip))
        return
    agent = await _find_on_platform(req, sip)
    if agent is None or agent.voice_group_id is None:
        await req.reply(views.unknown_account(sip))
        return
    group_id = agent.voice_group_id
    team: BoundChat | None = await req.runtime.database.run(
        lambda s: links.team_chat_of_group(s, group_id)
    )
    group_name = agent.group_name or str(group_id)
    if team is None:
        await req.reply(views.no_team(sip, group_name))
        return
    request = await req.runtime.database.run(
        lambda s: links.request_link(
            s,
            sip_account=sip,
            user_id=req.user_id,
            chat_id=team.chat_id,
            voice_group_id=group_id,
            group_name=group_name,
        )
    )
    with speaking(language_of(team.language)):  # the card is the team chat's to read
        card = views.request_card(await _label(req, req.user_id), sip, group_name)
        rows = [[(_("Confirm"), f"iam:{request.id}:y"), (_("Refuse"), f"iam:{request.id}:n")]]
    await send_text(
        req.context.bot,
        req.runtime.database,
        team.chat_id,
        card,
        thread_id=team.thread_id,
        markup=keyboard(rows),
        admins=req.runtime.settings.admin_user_ids,
    )
    log.info("user %s asked chat %s to link %s", req.user_id, team.chat_id, sip)
    await req.reply(views.request_sent(sip, team.title))


async def _find_on_platform(req: Request, sip: str) -> Agent | None:
    client = req.runtime.client
    for agents in (await client.list_agents(None, name=sip),):
        for agent in agents:
            if _account_of(agent) == sip or agent.name == sip:
                return agent
    return None


# What a press on a card decided before says (toast), by the request's status.
ALREADY_DECIDED = {
    "confirmed": N_("This request was already confirmed; nothing more was done."),
    "refused": N_("This request was already refused; nothing more was done."),
    "pending": N_("This request was already decided; nothing more was done."),
}


@button("iam", Role.OPERATOR)
async def iam_button(req: Request) -> None:
    args = req.args
    if len(args) != 2 or not args[0].isdigit() or args[1] not in ("y", "n"):
        await req.toast(_("This button is no longer valid; nothing was done."), alert=True)
        return
    confirm = args[1] == "y"
    decision = await req.runtime.database.run(
        lambda s: links.decide_request(
            s, request_id=int(args[0]), chat_id=req.chat_id, by_user=req.user_id, confirm=confirm
        )
    )
    if decision.result is DecisionResult.GONE or decision.request is None:
        await req.toast(_("This request no longer exists; nothing was done."), alert=True)
        return
    if decision.result is DecisionResult.WRONG_CHAT:
        log.warning("user %s pressed request %s in chat %s", req.user_id, args[0], req.chat_id)
        await req.toast(
            _(
                "Only the operators of the team whose group holds this SIP account can decide "
                "this request; nothing was done."
            ),
            alert=True,
        )
        return
    request = decision.request
    if decision.result is DecisionResult.DECIDED:
        await req.toast(_(ALREADY_DECIDED.get(request.status, ALREADY_DECIDED["pending"])))
        return
    outcome = decision.link
    applied = confirm and outcome is not None and outcome.result is LinkResult.LINKED
    await req.toast(_("Confirmed.") if applied else (_("Refused.") if not confirm else _("Not linked.")))
    card = views.request_card(
        await _label(req, request.user_id), request.sip_account, request.group_name
    )
    by = await _label(req, req.user_id)
    message = req.query.message if req.query is not None else None
    text = views.request_decided(card, confirm, by)
    if confirm and not applied and outcome is not None:
        why = views.taken(request.sip_account, await _label(req, outcome.link.user_id))
        text += "\n" + why
    if isinstance(message, Message):
        await req.edit(message, text)
    else:
        await req.reply(text)
    agent_language = await req.runtime.database.run(
        lambda s: links.private_language(s, request.user_id)
    )
    with speaking(agent_language):  # the agent reads it in their private chat
        tell = views.told_confirmed(request.sip_account) if applied else None
        if not confirm:
            tell = views.told_refused(request.sip_account)
    if tell is not None:
        try:
            await send_text(
                req.context.bot,
                req.runtime.database,
                request.user_id,
                tell,
                admins=req.runtime.settings.admin_user_ids,
            )
        except TelegramError as exc:
            log.warning("could not tell user %s about their request: %s", request.user_id, exc)


# ---- the agent's own settings ----------------------------------------------------------------


@command("/pop", Role.NONE, needs_binding=False)
async def pop(req: Request) -> None:
    if not req.is_private:
        await req.reply(views.private_only("/pop"))
        return
    if len(req.args) > 1:
        raise UsageError(command="pop")
    if req.args:
        word = req.args[0].lower()
        if word not in ("on", "off"):
            raise UsageError(_("“{word}” is not on or off.", word=req.args[0][:20]), command="pop")
        on = word == "on"
        withdrawn = await req.runtime.database.run(lambda s: links.set_pops(s, req.user_id, on))
        links_now = await req.runtime.database.run(lambda s: links.links_of(s, req.user_id))
        await req.runtime.database.run(
            lambda s: links.audit(
                s, action=f"pop_{word}", user_id=req.user_id, chat_id=None,
                sip_accounts=[link.sip_account for link in links_now],
            )
        )
        await req.reply(views.pop_set(on, withdrawn))
        return
    recipient, mine = await req.runtime.database.run(
        lambda s: links.recipient_state(s, req.user_id)
    )
    on = recipient.pops_on if recipient is not None else True
    started = recipient.started if recipient is not None else False
    blocked = recipient.blocked if recipient is not None else False
    await req.reply(
        views.pop_state(on, started, blocked, [(x.sip_account, x.group_name) for x in mine])
    )


async def private_start(req: Request) -> None:
    """/start in a private chat: the bot may write to this user from now on; they learn what
    will come and how to stop it."""
    mine = await req.runtime.database.run(lambda s: links.recipient_started(s, req.user_id))
    await req.reply(views.welcome([x.sip_account for x in mine]))


async def linked_section(req: Request, voice_group_id: int) -> str:
    """/agents' last lines: who is linked to the group's SIP accounts (HTML)."""
    found = await req.runtime.database.run(lambda s: links.links_in_group(s, voice_group_id))
    rows = [(sip, await _label(req, link.user_id)) for sip, link in sorted(found.items())]
    return views.linked_agents(rows)


def register(application: Application) -> None:
    for name, fn in (("link", link), ("unlink", unlink), ("iam", iam), ("pop", pop)):
        application.add_handler(CommandHandler(name, fn))
    application.add_handler(CallbackQueryHandler(iam_button, pattern=iam_button.callback_pattern))
