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
from bot.handlers.base import Request, command
from bot.laaffic import limits
from bot.laaffic.errors import PlatformError
from bot.laaffic.models import Agent, AgentGroup
from bot.render import code, esc
from bot.services import groups as group_service
from bot.services import teams
from bot.services.access import Role
from bot.services.groups import typed_name
from storage.models import GroupRoute

log = logging.getLogger(__name__)

AGENT_STATUS = {1: "offline", 2: "idle", 3: "busy", 4: "wrap-up", 5: "on break"}
STRATEGY = {1: "longest idle", 2: "fewest calls taken", 3: "agent priority", 4: "round-robin"}
# A card stays one message: past this many agents it says how many more there are.
AGENTS_ON_GROUP_CARD = 50


@command("/groups", Role.VIEWER)
async def list_groups(req: Request) -> None:
    if req.args and (len(req.args) > 1 or req.args[0].lower() != "all"):
        raise UsageError(
            f"“{' '.join(req.args)[:40]}” is not an option of /groups.", command="groups"
        )
    show_all = bool(req.args)
    if show_all and not req.is_admin:
        raise UserFacingError(
            "/groups all shows every team's groups and is for ccbot admins. /groups shows this "
            "team's groups."
        )
    groups = await req.runtime.client.list_groups()

    def load(session: Session) -> tuple[dict[int, list[GroupRoute]], set[int]]:
        return group_service.routes_by_group(session), teams.routed_group_ids(
            session, req.chat_id
        )

    routes, own = await req.runtime.database.run(load)
    # An admin's private chat has no team of its own: it sees everything.
    everything = show_all or (req.is_private and req.is_admin)
    shown = groups if everything else [g for g in groups if g.voice_group_id in own]
    if not shown:
        text = (
            "There are no agent groups yet."
            if not groups
            else "This team has no agent groups yet."
        )
        lines = [f"{text} Create one with {code('/newgroup Sales-Team-1')}."]
        if groups and req.is_admin:
            lines.append(f"{len(groups)} group(s) belong to other teams: /groups all lists them.")
        await req.reply("\n".join(lines))
        return
    title = "All agent groups" if everything else "This team's agent groups"
    lines = [f"<b>{title}</b> ({len(shown)})"]
    for g in sorted(shown, key=lambda g: (g.group_name or "").lower()):
        here_routes = [
            r for r in routes.get(g.voice_group_id, []) if r.active and r.chat_id == req.chat_id
        ]
        here = " · events here" if here_routes else ""
        lines.append(
            f"• {esc(g.group_name)} — id {code(g.voice_group_id)}, "
            f"{g.count_seat or 0} agent(s){here}"
        )
    hidden = len(groups) - len(shown)
    if hidden and req.is_admin:
        lines.append(f"{hidden} more belong to other teams: /groups all lists them.")
    await req.reply("\n".join(lines))


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
        f"Created the agent group <b>{esc(name)}</b> with id {code(group_id)}. It is this "
        f"team's: its ringing events and call records will be posted {_where_posted(req)}.\n"
        f"Next: add agents with {code(f'/addagents {typed_name(name)} 5')}."
    )


def _where_posted(req: Request) -> str:
    """Where this chat's notifications go: the topic /bind chose in a forum, else the chat."""
    topic = req.chat.thread_id if req.chat else None
    if topic is None:
        return "in this chat"
    return "in this topic" if req.thread_id == topic else "in the topic where /bind was run"


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
    lines = [
        f"<b>{esc(group.group_name)}</b> — id {code(group.voice_group_id)}",
        f"Agents: {len(agents)} (quota {quota.total}, {quota.remaining} more can be created)",
        f"Application: {esc(group.app_name)}",
        f"Inbound routing: {esc(STRATEGY.get(settings.callin_strategy or 0, settings.callin_strategy))}",
        f"Transfer after: {_seconds(settings.timeout_transfer_sec)} · wrap-up: "
        f"{_seconds(settings.wrap_up_time)} · queue wait: {_seconds(settings.timeout_wait_sec)}",
        f"Number masking: {'on' if settings.encrypt_number == 0 else 'off'} · media node: "
        f"{esc(settings.fs_node)}",
    ]
    lines += [_agent_line(a) for a in agents[:AGENTS_ON_GROUP_CARD]]
    if len(agents) > AGENTS_ON_GROUP_CARD:
        more = f"/agents {typed_name(group.group_name or str(group.voice_group_id))}"
        lines.append(f"… and {len(agents) - AGENTS_ON_GROUP_CARD} more: {code(more)}")
    await req.reply("\n".join(lines))


def _seconds(value: int | None) -> str:
    return "not set" if value is None else f"{value} s"


def _agent_line(agent: Agent) -> str:
    state = "disabled" if agent.enable == 1 else AGENT_STATUS.get(agent.status or 0, "unknown")
    stats = f", {agent.connect_num or 0}/{agent.num or 0} calls connected" if agent.num else ""
    return f"• {esc(agent.name)} ({code(agent.key_id)}): {state}{stats}"


@command("/agents", Role.VIEWER)
async def list_agents(req: Request) -> None:
    if not req.args:
        raise UsageError(command="agents")
    group = await _team_group(req, joined_name(req.args))
    agents = await req.runtime.client.list_agents(group.voice_group_id)
    if not agents:
        add = f"/addagents {typed_name(group.group_name or str(group.voice_group_id))} 5"
        await req.reply(
            f"The group <b>{esc(group.group_name)}</b> has no agents yet. Add some with "
            f"{code(add)}."
        )
        return
    counts: dict[str, int] = {}
    for a in agents:
        state = "disabled" if a.enable == 1 else AGENT_STATUS.get(a.status or 0, "unknown")
        counts[state] = counts.get(state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines = [f"<b>{esc(group.group_name)}</b>: {len(agents)} agent(s) — {summary}"]
    lines += [_agent_line(a) for a in agents]
    await req.reply("\n".join(lines))


def _check_display_num(value: str) -> str:
    if not limits.DISPLAY_NUM_RE.fullmatch(value):
        raise UserFacingError(
            f"A display number is 1–{limits.DISPLAY_NUM_MAX} letters or digits (A–Z, 0–9, "
            f"nothing else); “{value[:30]}” is not one."
        )
    return value


def _check_ccode(value: str) -> str:
    code = value.removeprefix("+").lstrip("0")  # "0091" is 91 written with its dialling prefix
    if not limits.CCODE_RE.fullmatch(code):
        raise UserFacingError(
            f"A country code is 1–4 digits 0–9, like 91 or 86; “{value[:20]}” is not one."
        )
    return code


@command("/addagents", Role.OPERATOR)
async def add_agents(req: Request) -> None:
    if len(req.args) < 2:
        raise UsageError(command="addagents")
    if len(req.args) > 4 or (len(req.args) > 2 and not req.args[1].lstrip("-").isdigit()):
        # `/addagents Sales Team Two 5`: the name was not quoted.
        raise UsageError(
            f"The second word must be the number of agents, and “{req.args[1][:20]}” is not a "
            f"number. If the group name has spaces, put it in double quotes, like "
            f'/addagents "Sales Team Two" 5.',
            command="addagents",
        )
    # The count's upper bound comes after the quota: "can take only 3 more" is the useful answer.
    count = parse_int(req.args[1], "The number of agents", 1, None)
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
            f"The group {group.group_name} can take only {quota.remaining} more agent(s) "
            f"(quota {quota.total}); you asked for {count}. Nothing was created. Ask for fewer, "
            f"or ask your Laaffic account manager to raise the quota."
        )
    if count > limits.AGENT_BATCH_MAX:
        raise UserFacingError(
            f"One /addagents creates at most {limits.AGENT_BATCH_MAX} agents; you asked for "
            f"{count}. Nothing was created. Run it again for each batch of up to "
            f"{limits.AGENT_BATCH_MAX}."
        )
    created = await client.add_agents(
        group.voice_group_id, count, display_num=display_num, ccode=ccode
    )
    names = ", ".join(esc(a.name) for a in created)
    creds = f"/agentcreds {typed_name(group.group_name or str(group.voice_group_id))}"
    await req.reply(
        f"Created {len(created)} agent(s) in <b>{esc(group.group_name)}</b>: {names}.\n"
        f"{quota.remaining - len(created)} more can be created. An admin gets their SIP "
        f"logins privately with {code(creds)}."
    )


@command("/agentcreds", Role.ADMIN)
async def agent_credentials(req: Request) -> None:
    if not req.args:
        raise UsageError(command="agentcreds")
    group = await _team_group(req, joined_name(req.args))
    agents = await req.runtime.client.list_agents(group.voice_group_id)
    if not agents:
        await req.reply(f"The group <b>{esc(group.group_name)}</b> has no agents yet.")
        return
    lines = [f"<b>SIP logins of {esc(group.group_name)}</b> — keep them private."]
    lines += [
        f"{esc(a.name)}: account {code(a.account or a.name)} password {code(a.password or '—')}"
        for a in agents
    ]
    try:
        await send_text(req.context.bot, req.runtime.database, req.user_id, "\n".join(lines))
    except DeliveryError as exc:
        if not isinstance(exc.outcome, BotRemoved):
            raise
        raise UserFacingError(
            "I can't write to you privately yet. Open a private chat with me, press "
            "Start, then run /agentcreds again."
        ) from None
    if not req.is_private:
        await req.reply("I sent the SIP logins to you in a private message.")


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
