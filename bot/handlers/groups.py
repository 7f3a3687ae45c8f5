"""/groups, /newgroup, /group, /agents, /addagents, /agentcreds."""

from __future__ import annotations

import logging

from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import Application, CommandHandler

from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Request, command
from bot.laaffic.models import Agent
from bot.render import code, esc, split_message
from bot.services import groups as group_service
from bot.services.access import Role

log = logging.getLogger(__name__)

AGENT_STATUS = {1: "offline", 2: "idle", 3: "busy", 4: "wrap-up", 5: "on break"}
STRATEGY = {1: "longest idle", 2: "fewest calls taken", 3: "agent priority", 4: "round-robin"}


@command("/groups", Role.VIEWER)
async def list_groups(req: Request) -> None:
    groups = await req.runtime.client.list_groups()
    if not groups:
        await req.reply(
            "There are no agent groups yet. Create one with <code>/newgroup Sales-Team-1</code>."
        )
        return
    routes = await req.runtime.database.run(group_service.routes_by_group)
    lines = [f"<b>Agent groups</b> ({len(groups)})"]
    for g in sorted(groups, key=lambda g: (g.group_name or "").lower()):
        here_routes = [
            r for r in routes.get(g.voice_group_id, []) if r.active and r.chat_id == req.chat_id
        ]
        here = " · events here" if here_routes else ""
        lines.append(
            f"• {esc(g.group_name)} — id {code(g.voice_group_id)}, "
            f"{g.count_seat or 0} agent(s){here}"
        )
    await req.reply("\n".join(lines))


NEWGROUP_USAGE = (
    "Usage: /newgroup &lt;name&gt; (4–32 characters, unique in the application).\n"
    "Example: <code>/newgroup Sales-Team-1</code>"
)


@command("/newgroup", Role.OPERATOR)
async def new_group(req: Request) -> None:
    if not req.args:
        raise UsageError(NEWGROUP_USAGE)
    name = group_service.check_group_name(" ".join(req.args))
    client = req.runtime.client
    group_id = await client.add_group(name, app_id=req.app_id)
    group = next((g for g in await client.list_groups(name) if g.voice_group_id == group_id), None)
    if group is None:
        from bot.laaffic.models import AgentGroup

        group = AgentGroup(voice_group_id=group_id, group_name=name)
    await req.runtime.database.run(
        lambda s: group_service.route_group(s, group, req.chat_id, req.app_id, req.user_id)
    )
    await req.reply(
        f"Created the agent group <b>{esc(name)}</b> with id {code(group_id)}. Its ringing "
        f"events and call records will be posted in this chat.\n"
        f"Next: add agents with <code>/addagents {esc(name)} 5</code>."
    )


@command("/group", Role.VIEWER)
async def show_group(req: Request) -> None:
    if not req.args:
        raise UsageError(
            "Usage: /group &lt;name or id&gt;. Example: <code>/group Sales-Team-1</code>"
        )
    client = req.runtime.client
    group = await group_service.find_group(client, " ".join(req.args))
    settings = await client.get_group_settings(group.voice_group_id)
    agents = await client.list_agents(group.voice_group_id)
    quota = await client.agent_quota(group.voice_group_id)
    lines = [
        f"<b>{esc(group.group_name)}</b> — id {code(group.voice_group_id)}",
        f"Application: {esc(group.app_name)}",
        f"Inbound routing: {esc(STRATEGY.get(settings.callin_strategy or 0, settings.callin_strategy))}",
        f"Transfer after: {_seconds(settings.timeout_transfer_sec)} · wrap-up: "
        f"{_seconds(settings.wrap_up_time)} · queue wait: {_seconds(settings.timeout_wait_sec)}",
        f"Number masking: {'on' if settings.encrypt_number == 0 else 'off'} · media node: "
        f"{esc(settings.fs_node)}",
        f"Agents: {len(agents)} (quota {quota.total}, {quota.remaining} more can be created)",
    ]
    lines += [_agent_line(a) for a in agents[:50]]
    if len(agents) > 50:
        lines.append(f"… and {len(agents) - 50} more: /agents {esc(group.group_name)}")
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
        raise UsageError(
            "Usage: /agents &lt;group name or id&gt;. Example: <code>/agents Sales-Team-1</code>"
        )
    group = await group_service.find_group(req.runtime.client, " ".join(req.args))
    agents = await req.runtime.client.list_agents(group.voice_group_id)
    if not agents:
        await req.reply(
            f"The group <b>{esc(group.group_name)}</b> has no agents yet. Add some with "
            f"<code>/addagents {esc(group.group_name)} 5</code>."
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


ADDAGENTS_USAGE = (
    "Usage: /addagents &lt;group&gt; &lt;count&gt; [display number] [country code].\n"
    "Example: <code>/addagents Sales-Team-1 5 1234 91</code>"
)
MAX_AGENTS_PER_CALL = 100


@command("/addagents", Role.OPERATOR)
async def add_agents(req: Request) -> None:
    if len(req.args) < 2 or not req.args[1].isdigit():
        raise UsageError(ADDAGENTS_USAGE)
    count = int(req.args[1])
    if not 1 <= count <= MAX_AGENTS_PER_CALL:
        raise UsageError(
            f"The count must be between 1 and {MAX_AGENTS_PER_CALL}.\n{ADDAGENTS_USAGE}"
        )
    display_num = req.args[2] if len(req.args) > 2 else (req.chat.display_num if req.chat else None)
    ccode = req.args[3] if len(req.args) > 3 else req.ccode
    if display_num and (len(display_num) > 20 or not display_num.isalnum()):
        raise UsageError(
            f"The display number must be at most 20 letters or digits.\n{ADDAGENTS_USAGE}"
        )
    if ccode and not ccode.isdigit():
        raise UsageError(f"The country code must be digits, e.g. 91.\n{ADDAGENTS_USAGE}")
    client = req.runtime.client
    group = await group_service.find_group(client, req.args[0])
    quota = await client.agent_quota(group.voice_group_id)
    if quota.remaining < count:
        raise UserFacingError(
            f"The group <b>{esc(group.group_name)}</b> can take only {quota.remaining} more agent(s) "
            f"(quota {quota.total}); you asked for {count}. Nothing was created. Ask for fewer, or ask "
            f"your Laaffic account manager to raise the quota."
        )
    created = await client.add_agents(
        group.voice_group_id, count, display_num=display_num, ccode=ccode
    )
    names = ", ".join(esc(a.name) for a in created)
    await req.reply(
        f"Created {len(created)} agent(s) in <b>{esc(group.group_name)}</b>: {names}.\n"
        f"{quota.remaining - len(created)} more can be created. An admin gets their SIP "
        f"logins privately with <code>/agentcreds {esc(group.group_name)}</code>."
    )


@command("/agentcreds", Role.ADMIN)
async def agent_credentials(req: Request) -> None:
    if not req.args:
        raise UsageError(
            "Usage: /agentcreds &lt;group&gt;. Example: <code>/agentcreds Sales-Team-1</code>"
        )
    group = await group_service.find_group(req.runtime.client, " ".join(req.args))
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
        for chunk in _chunks(lines):
            await req.context.bot.send_message(req.user_id, chunk, parse_mode=ParseMode.HTML)
    except Forbidden:
        raise UserFacingError(
            "I can't write to you privately yet. Open a private chat with me, press "
            "Start, then run /agentcreds again."
        ) from None
    if not req.is_private:
        await req.reply("I sent the SIP logins to you in a private message.")


def _chunks(lines: list[str]) -> list[str]:
    return split_message("\n".join(lines))


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
