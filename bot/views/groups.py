"""Answers about agent groups and agents: /groups, /newgroup, /group, /agents, /addagents and the
SIP logins /agentcreds sends privately. Commands suggested in an answer come in as plain text."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import N_, _
from bot.laaffic.models import Agent, AgentGroup, AgentQuota, CreatedAgent, GroupSettings
from bot.render import code, esc

AGENT_STATUS = {
    1: N_("offline"),
    2: N_("idle"),
    3: N_("busy"),
    4: N_("wrap-up"),
    5: N_("on break"),
}
STRATEGY = {
    1: N_("longest idle"),
    2: N_("fewest calls taken"),
    3: N_("agent priority"),
    4: N_("round-robin"),
}


def agent_state(agent: Agent) -> str:
    if agent.enable == 1:
        return _("disabled")
    return _(AGENT_STATUS[agent.status]) if agent.status in AGENT_STATUS else _("unknown")


def no_groups(*, any_exist: bool, others: int | None) -> str:
    """/groups when this team has none; `others` (for admins) counts other teams' groups."""
    if any_exist:
        text = _("This team has no agent groups yet.")
    else:
        text = _("There are no agent groups yet.")
    lines = [
        _(
            "{text} Create one with {value}.",
            text=text,
            value=code("/newgroup Sales-Team-1"),
        )
    ]
    if others:
        lines.append(
            _(
                "{others} group(s) belong to other teams: /groups all lists them.",
                others=others,
            )
        )
    return "\n".join(lines)


def group_list(
    groups: Sequence[AgentGroup], *, everything: bool, events_here: set[int], hidden: int
) -> str:
    """/groups: the groups by name, with their agents and whether their events come here;
    `hidden` (for admins) counts the other teams' groups not shown."""
    title = _("All agent groups") if everything else _("This team's agent groups")
    lines = [f"<b>{title}</b> ({len(groups)})"]
    for g in sorted(groups, key=lambda g: (g.group_name or "").lower()):
        here = _(" · events here") if g.voice_group_id in events_here else ""
        lines.append(
            _(
                "• {group_name} — id {voice_group_id}, {value} agent(s){here}",
                group_name=esc(g.group_name),
                voice_group_id=code(g.voice_group_id),
                value=g.count_seat or 0,
                here=here,
            )
        )
    if hidden:
        lines.append(
            _(
                "{hidden} more belong to other teams: /groups all lists them.",
                hidden=hidden,
            )
        )
    return "\n".join(lines)


def group_created(name: str, group_id: int, *, where: str, next_command: str) -> str:
    """/newgroup; `where` is plain text ("in this chat", "in this topic", …)."""
    return _(
        "Created the agent group <b>{name}</b> with id {group_id}. It is this team's: its "
        "ringing events and call records will be posted {where}.\nNext: add agents with "
        "{next_command}.",
        name=esc(name),
        group_id=code(group_id),
        where=esc(where),
        next_command=code(next_command),
    )


def _seconds(value: int | None) -> str:
    return _("not set") if value is None else f"{value} s"


def agent_line(agent: Agent) -> str:
    stats = (
        _(
            ", {value}/{value2} calls connected",
            value=agent.connect_num or 0,
            value2=agent.num or 0,
        )
        if agent.num
        else ""
    )
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
    strategy = (
        _(STRATEGY[settings.callin_strategy])
        if settings.callin_strategy in STRATEGY
        else settings.callin_strategy
    )
    lines = [
        _(
            "<b>{group_name}</b> — id {voice_group_id}",
            group_name=esc(group.group_name),
            voice_group_id=code(group.voice_group_id),
        ),
        _(
            "Agents: {count} (quota {total}, {remaining} more can be created)",
            count=len(agents),
            total=quota.total,
            remaining=quota.remaining,
        ),
        _(
            "Application: {app_name}",
            app_name=esc(group.app_name),
        ),
        _(
            "Inbound routing: {strategy}",
            strategy=esc(strategy),
        ),
        _(
            "Transfer after: {seconds} · wrap-up: {seconds2} · queue wait: {seconds3}",
            seconds=_seconds(settings.timeout_transfer_sec),
            seconds2=_seconds(settings.wrap_up_time),
            seconds3=_seconds(settings.timeout_wait_sec),
        ),
        _(
            "Number masking: {value} · media node: {fs_node}",
            value="on" if settings.encrypt_number == 0 else "off",
            fs_node=esc(settings.fs_node),
        ),
    ]
    lines += [agent_line(a) for a in agents[:shown]]
    if len(agents) > shown:
        lines.append(
            _(
                "… and {value} more: {more_command}",
                value=len(agents) - shown,
                more_command=code(more_command),
            )
        )
    return "\n".join(lines)


def no_agents(group_name: str | None, *, add_command: str | None = None) -> str:
    """A group without agents; `add_command` (plain text) says how to add some."""
    if add_command is None:
        return _(
            "The group <b>{group_name}</b> has no agents yet.",
            group_name=esc(group_name),
        )
    return _(
        "The group <b>{group_name}</b> has no agents yet. Add some with {add_command}.",
        group_name=esc(group_name),
        add_command=code(add_command),
    )


def agent_list(group: AgentGroup, agents: Sequence[Agent]) -> str:
    """/agents: how many in each state, then one line per agent."""
    counts: dict[str, int] = {}
    for a in agents:
        state = agent_state(a)
        counts[state] = counts.get(state, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines = [
        _(
            "<b>{group_name}</b>: {count} agent(s) — {summary}",
            group_name=esc(group.group_name),
            count=len(agents),
            summary=summary,
        )
    ]
    lines += [agent_line(a) for a in agents]
    return "\n".join(lines)


def agents_created(
    group_name: str | None, created: Sequence[CreatedAgent], *, remaining: int, creds_command: str
) -> str:
    """/addagents: who was created, how many more fit, and how an admin gets the logins."""
    names = ", ".join(esc(a.name) for a in created)
    return _(
        "Created {count} agent(s) in <b>{group_name}</b>: {names}.\n{remaining} more can be "
        "created. An admin gets their SIP logins privately with {creds_command}.",
        count=len(created),
        group_name=esc(group_name),
        names=names,
        remaining=remaining,
        creds_command=code(creds_command),
    )


def sip_logins(group_name: str | None, agents: Sequence[Agent]) -> str:
    """The agents' SIP accounts and passwords, for an admin's private chat only."""
    lines = [
        _(
            "<b>SIP logins of {group_name}</b> — keep them private.",
            group_name=esc(group_name),
        )
    ]
    lines += [
        _(
            "{name}: account {value} password {value2}",
            name=esc(a.name),
            value=code(a.account or a.name),
            value2=code(a.password or "—"),
        )
        for a in agents
    ]
    return "\n".join(lines)
