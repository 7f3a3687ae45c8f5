"""/groups, /newgroup, /group, /agents, /addagents, /agentcreds (/route is in bot/handlers/relay.py).

A chat acts on its own team's groups only (`bot/services/teams.py`); admins act on any.
"""

from __future__ import annotations

import logging

from sqlmodel import Session
from telegram.ext import Application, CommandHandler

from bot.args import joined_name, parse_int
from bot.delivery.replies import send_text
from bot.delivery.telegram_errors import BotRemoved, DeliveryError
from bot.errors import UsageError, UserFacingError
from bot.handlers import agents_link
from bot.handlers.base import Request, command
from bot.i18n import _
from bot.laaffic import limits
from bot.laaffic.errors import PlatformError
from bot.laaffic.models import AgentGroup
from bot.services import groups as group_service
from bot.services import teams
from bot.services.access import Role
from bot.services.groups import typed_name
from bot.views import groups as views
from storage.models import GroupRoute

log = logging.getLogger(__name__)

# A card stays one message: past this many agents it says how many more there are.
AGENTS_ON_GROUP_CARD = 50


@command("/groups", Role.VIEWER)
async def list_groups(req: Request) -> None:
    if req.args and (len(req.args) > 1 or req.args[0].lower() != "all"):
        raise UsageError(
            _(
                "“{value}” is not an option of /groups.",
                value=" ".join(req.args)[:40],
            ),
            command="groups",
        )
    show_all = bool(req.args)
    if show_all and not req.is_admin:
        raise UserFacingError(
            _(
                "/groups all shows every team's groups and is for ccbot admins. /groups shows this "
                "team's groups.",
            )
        )
    groups = await req.runtime.client.list_groups()

    def load(session: Session) -> tuple[dict[int, list[GroupRoute]], set[int]]:
        return group_service.routes_by_group(session), teams.routed_group_ids(session, req.chat_id)

    routes, own = await req.runtime.database.run(load)
    # An admin's private chat has no team of its own: it sees everything.
    everything = show_all or (req.is_private and req.is_admin)
    shown = groups if everything else [g for g in groups if g.voice_group_id in own]
    if not shown:
        others = len(groups) if groups and req.is_admin else None
        await req.reply(views.no_groups(any_exist=bool(groups), others=others))
        return
    events_here = {
        group_id
        for group_id, group_routes in routes.items()
        if any(r.active and r.chat_id == req.chat_id for r in group_routes)
    }
    hidden = len(groups) - len(shown) if req.is_admin else 0
    await req.reply(
        views.group_list(shown, everything=everything, events_here=events_here, hidden=hidden)
    )


@command("/newgroup", Role.OPERATOR)
async def new_group(req: Request) -> None:
    if not req.args:
        raise UsageError(command="newgroup")
    name = group_service.check_group_name(joined_name(req.args))
    client = req.runtime.client
    group_id = await client.add_group(name, app_id=req.app_id)
    try:
        listed = await client.list_groups(name)
    except PlatformError as exc:
        # The group exists now: route it with what we know rather than leave it without a team
        # (a second /newgroup would only get -20, "already exists").
        log.warning("new group %s: the group list could not be read: %s", group_id, exc)
        listed = []
    group = next((g for g in listed if g.voice_group_id == group_id), None)
    if group is None:
        group = AgentGroup(voice_group_id=group_id, group_name=name)
    await req.runtime.database.run(
        lambda s: group_service.route_group(s, group, req.chat_id, req.app_id, req.user_id)
    )
    await req.reply(
        views.group_created(
            name,
            group_id,
            where=_where_posted(req),
            next_command=_(
                "/addagents {typed_name} 5",
                typed_name=typed_name(name),
            ),
        )
    )


def _where_posted(req: Request) -> str:
    """Where this chat's notifications go: the topic /bind chose in a forum, else the chat."""
    topic = req.chat.thread_id if req.chat else None
    if topic is None:
        return _("in this chat")
    return _("in this topic") if req.thread_id == topic else _("in the topic where /bind was run")


async def _team_group(req: Request, name_or_id: str) -> AgentGroup:
    """The named group, if this chat's team may act on it."""
    group = await group_service.find_group(req.runtime.client, name_or_id)
    await req.require_group(group)
    return group


@command("/group", Role.VIEWER)
async def show_group(req: Request) -> None:
    if not req.args:
        raise UsageError(command="group")
    client = req.runtime.client
    group = await _team_group(req, joined_name(req.args))
    settings = await client.get_group_settings(group.voice_group_id)
    agents = await client.list_agents(group.voice_group_id)
    quota = await client.agent_quota(group.voice_group_id)
    more = _(
        "/agents {typed_name}",
        typed_name=typed_name(group.group_name or str(group.voice_group_id)),
    )
    await req.reply(
        views.group_card(
            group, settings, agents, quota, shown=AGENTS_ON_GROUP_CARD, more_command=more
        )
    )


@command("/agents", Role.VIEWER)
async def list_agents(req: Request) -> None:
    if not req.args:
        raise UsageError(command="agents")
    group = await _team_group(req, joined_name(req.args))
    agents = await req.runtime.client.list_agents(group.voice_group_id)
    if not agents:
        add = _(
            "/addagents {typed_name} 5",
            typed_name=typed_name(group.group_name or str(group.voice_group_id)),
        )
        await req.reply(views.no_agents(group.group_name, add_command=add))
        return
    linked = await agents_link.linked_section(req, group.voice_group_id)
    await req.reply(views.agent_list(group, agents) + linked)


def _check_display_num(value: str) -> str:
    if not limits.DISPLAY_NUM_RE.fullmatch(value):
        raise UserFacingError(
            _(
                "A display number is 1–{display_num_max} letters or digits (A–Z, 0–9, nothing else); "
                "“{value}” is not one.",
                display_num_max=limits.DISPLAY_NUM_MAX,
                value=value[:30],
            )
        )
    return value


def _check_ccode(value: str) -> str:
    code = value.removeprefix("+").lstrip("0")  # "0091" is 91 written with its dialling prefix
    if not limits.CCODE_RE.fullmatch(code):
        raise UserFacingError(
            _(
                "A country code is 1–4 digits 0–9, like 91 or 86; “{value}” is not one.",
                value=value[:20],
            )
        )
    return code


@command("/addagents", Role.OPERATOR)
async def add_agents(req: Request) -> None:
    if len(req.args) < 2:
        raise UsageError(command="addagents")
    if len(req.args) > 4 or (len(req.args) > 2 and not req.args[1].lstrip("-").isdigit()):
        # `/addagents Sales Team Two 5`: the name was not quoted.
        raise UsageError(
            _(
                "The second word must be the number of agents, and “{value}” is not a number. If the "
                'group name has spaces, put it in double quotes, like /addagents "Sales Team Two" 5.',
                value=req.args[1][:20],
            ),
            command="addagents",
        )
    # The count's upper bound comes after the quota: "can take only 3 more" is the useful answer.
    count = parse_int(req.args[1], _("The number of agents"), 1, None)
    display_num = (
        _check_display_num(req.args[2])
        if len(req.args) > 2
        else (req.chat.display_num if req.chat else None)
    )
    ccode = _check_ccode(req.args[3]) if len(req.args) > 3 else req.ccode
    client = req.runtime.client
    group = await _team_group(req, req.args[0])
    quota = await client.agent_quota(group.voice_group_id)
    if quota.remaining < count:
        raise UserFacingError(
            _(
                "The group {group_name} can take only {remaining} more agent(s) (quota {total}); you "
                "asked for {count}. Nothing was created. Ask for fewer, or ask your Laaffic account "
                "manager to raise the quota.",
                group_name=group.group_name,
                remaining=quota.remaining,
                total=quota.total,
                count=count,
            )
        )
    if count > limits.AGENT_BATCH_MAX:
        raise UserFacingError(
            _(
                "One /addagents creates at most {agent_batch_max} agents; you asked for {count}. "
                "Nothing was created. Run it again for each batch of up to {agent_batch_max}.",
                agent_batch_max=limits.AGENT_BATCH_MAX,
                count=count,
            )
        )
    created = await client.add_agents(
        group.voice_group_id, count, display_num=display_num, ccode=ccode
    )
    creds = _(
        "/agentcreds {typed_name}",
        typed_name=typed_name(group.group_name or str(group.voice_group_id)),
    )
    await req.reply(
        views.agents_created(
            group.group_name,
            created,
            remaining=quota.remaining - len(created),
            creds_command=creds,
        )
    )


@command("/agentcreds", Role.ADMIN)
async def agent_credentials(req: Request) -> None:
    if not req.args:
        raise UsageError(command="agentcreds")
    group = await _team_group(req, joined_name(req.args))
    agents = await req.runtime.client.list_agents(group.voice_group_id)
    if not agents:
        await req.reply(views.no_agents(group.group_name))
        return
    try:
        await send_text(
            req.context.bot,
            req.runtime.database,
            req.user_id,
            views.sip_logins(group.group_name, agents),
        )
    except DeliveryError as exc:
        if not isinstance(exc.outcome, BotRemoved):
            raise
        raise UserFacingError(
            _(
                "I can't write to you privately yet. Open a private chat with me, press Start, then "
                "run /agentcreds again.",
            )
        ) from None
    if not req.is_private:
        await req.reply(_("I sent the SIP logins to you in a private message."))


def register(application: Application) -> None:
    for name, fn in (
        ("groups", list_groups),
        ("newgroup", new_group),
        ("group", show_group),
        ("agents", list_agents),
        ("addagents", add_agents),
        ("agentcreds", agent_credentials),
    ):
        application.add_handler(CommandHandler(name, fn))
