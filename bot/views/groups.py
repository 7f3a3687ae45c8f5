"""Answers about agent groups and agents: /groups, /newgroup, /group, /agents, /addagents and the
SIP logins /agentcreds sends privately. Commands suggested in an answer come in as plain text."""

from __future__ import annotations

from collections.abc import Sequence

from bot.laaffic.models import Agent, AgentGroup, AgentQuota, CreatedAgent, GroupSettings
from bot.render import code, esc

AGENT_STATUS = {1: "offline", 2: "idle", 3: "busy", 4: "wrap-up", 5: "on break"}
STRATEGY = {1: "longest idle", 2: "fewest calls taken", 3: "agent priority", 4: "round-robin"}


def agent_state(agent: Agent) -> str:
    return "disabled" if agent.enable == 1 else AGENT_STATUS.get(agent.status or 0, "unknown")


def no_groups(*, any_exist: bool, others: int | None) -> str:
    """/groups when this team has none; `others` (for admins) counts other teams' groups."""
    if any_exist:
        text = "This team has no agent groups yet."
    else:
        text = "There are no agent groups yet."
    lines = [f"{text} Create one with {code('/newgroup Sales-Team-1')}."]
    if others:
        lines.append(f"{others} group(s) belong to other teams: /groups all lists them.")
    return "\n".join(lines)


def group_list(
    groups: Sequence[AgentGroup], *, everything: bool, events_here: set[int], hidden: int
) -> str:
    """/groups: the groups by name, with their agents and whether their events come here;
    `hidden` (for admins) counts the other teams' groups not shown."""
    title = "All agent groups" if everything else "This team's agent groups"
    lines = [f"<b>{title}</b> ({len(groups)})"]
    for g in sorted(groups, key=lambda g: (g.group_name or "").lower()):
        here = " · events here" if g.voice_group_id in events_here else ""
        lines.append(
            f"• {esc(g.group_name)} — id {code(g.voice_group_id)}, "
            f"{g.count_seat or 0} agent(s){here}"
        )
    if hidden:
        lines.append(f"{hidden} more belong to other teams: /groups all lists them.")
    return "\n".join(lines)


def group_created(name: str, group_id: int, *, where: str, next_command: str) -> str:
    """/newgroup; `where` is plain text ("in this chat", "in this topic", …)."""
    return (
        f"Created the agent group <b>{esc(name)}</b> with id {code(group_id)}. It is this "
        f"team's: its ringing events and call records will be posted {esc(where)}.\n"
        f"Next: add agents with {code(next_command)}."
    )


def _seconds(value: int | None) -> str:
    return "not set" if value is None else f"{value} s"


def agent_line(agent: Agent) -> str:
    stats = f", {agent.connect_num or 0}/{agent.num or 0} calls connected" if agent.num else ""
    return f"• {esc(agent.name)} ({code(agent.key_id)}): {agent_state(agent)}{stats}"


def group_card(
    group: AgentGroup,
    settings: GroupSettings,
    agents: Sequence[Agent],
    quota: AgentQuota,
    *,
    shown: int,
    more_command: str,
) -> str:
    """/group: the group's settings and its first `shown` agents (`more_command` lists all)."""
    strategy = STRATEGY.get(settings.callin_strategy or 0, settings.callin_strategy)
    lines = [
        f"<b>{esc(group.group_name)}</b> — id {code(group.voice_group_id)}",
        f"Agents: {len(agents)} (quota {quota.total}, {quota.remaining} more can be created)",
        f"Application: {esc(group.app_name)}",
        f"Inbound routing: {esc(strategy)}",
        f"Transfer after: {_seconds(settings.timeout_transfer_sec)} · wrap-up: "
        f"{_seconds(settings.wrap_up_time)} · queue wait: {_seconds(settings.timeout_wait_sec)}",
        f"Number masking: {'on' if settings.encrypt_number == 0 else 'off'} · media node: "
        f"{esc(settings.fs_node)}",
    ]
    lines += [agent_line(a) for a in agents[:shown]]
    if len(agents) > shown:
        lines.append(f"… and {len(agents) - shown} more: {code(more_command)}")
    return "\n".join(lines)


def no_agents(group_name: str | None, *, add_command: str | None = None) -> str:
    """A group without agents; `add_command` (plain text) says how to add some."""
    if add_command is None:
        return f"The group <b>{esc(group_name)}</b> has no agents yet."
    return (
        f"The group <b>{esc(group_name)}</b> has no agents yet. Add some with {code(add_command)}."
    )


def agent_list(group: AgentGroup, agents: Sequence[Agent]) -> str:
    """/agents: how many in each state, then one line per agent."""
    counts: dict[str, int] = {}
    for a in agents:
        state = agent_state(a)
        counts[state] = counts.get(state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines = [f"<b>{esc(group.group_name)}</b>: {len(agents)} agent(s) — {summary}"]
    lines += [agent_line(a) for a in agents]
    return "\n".join(lines)


def agents_created(
    group_name: str | None, created: Sequence[CreatedAgent], *, remaining: int, creds_command: str
) -> str:
    """/addagents: who was created, how many more fit, and how an admin gets the logins."""
    names = ", ".join(esc(a.name) for a in created)
    return (
        f"Created {len(created)} agent(s) in <b>{esc(group_name)}</b>: {names}.\n"
        f"{remaining} more can be created. An admin gets their SIP "
        f"logins privately with {code(creds_command)}."
    )


def sip_logins(group_name: str | None, agents: Sequence[Agent]) -> str:
    """The agents' SIP accounts and passwords, for an admin's private chat only."""
    lines = [f"<b>SIP logins of {esc(group_name)}</b> — keep them private."]
    lines += [
        f"{esc(a.name)}: account {code(a.account or a.name)} password {code(a.password or '—')}"
        for a in agents
    ]
    return "\n".join(lines)
