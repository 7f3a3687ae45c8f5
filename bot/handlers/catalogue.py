"""Every command once: its right, a one-line description and an example. /help, the command menus
and the README are written from this list."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.access import Role


@dataclass(frozen=True)
class CommandInfo:
    name: str
    role: Role
    summary: str
    example: str
    group_only: bool = False


COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo("help", Role.NONE, "what I can do for you here", "/help"),
    CommandInfo("whoami", Role.NONE, "your user id and your role in this chat", "/whoami"),
    CommandInfo("groups", Role.VIEWER, "agent groups with their agent counts", "/groups"),
    CommandInfo("group", Role.VIEWER, "one group's settings and agents", "/group Sales-Team-1"),
    CommandInfo(
        "newgroup",
        Role.OPERATOR,
        "create an agent group; its events come to this chat",
        "/newgroup Sales-Team-1",
    ),
    CommandInfo("agents", Role.VIEWER, "a group's agents and their status", "/agents Sales-Team-1"),
    CommandInfo(
        "addagents",
        Role.OPERATOR,
        "create agents: group, count, [display number], [country code]",
        "/addagents Sales-Team-1 5 1234 91",
    ),
    CommandInfo(
        "agentcreds",
        Role.ADMIN,
        "SIP accounts and passwords, sent to you privately",
        "/agentcreds Sales-Team-1",
    ),
    CommandInfo(
        "upload",
        Role.OPERATOR,
        "send a number file (xlsx, xls, ods, csv, txt) to check and upload",
        "/upload",
    ),
    CommandInfo(
        "newtask",
        Role.OPERATOR,
        "create a calling task from an uploaded file",
        '/newtask 12 agents Sales-Team-1 rate=2 ring=40 "March leads"',
    ),
    CommandInfo(
        "tasks", Role.VIEWER, "this chat's tasks; add 'all' for every task of the app", "/tasks all"
    ),
    CommandInfo(
        "task", Role.VIEWER, "a task's card with live counters and actions", "/task 5000123"
    ),
    CommandInfo("cancel", Role.OPERATOR, "cancel a task (asks to confirm)", "/cancel 5000123"),
    CommandInfo(
        "rate", Role.OPERATOR, "change a task's call-out rate (asks to confirm)", "/rate 5000123 3"
    ),
    CommandInfo(
        "rerun",
        Role.OPERATOR,
        "call a task's numbers again: failed, uncalled or all",
        "/rerun 5000123 failed",
    ),
    CommandInfo(
        "routes",
        Role.VIEWER,
        "the agent groups whose ringing events and call records come to this chat",
        "/routes",
    ),
    CommandInfo(
        "route",
        Role.OPERATOR,
        "post an agent group's events in this chat too (chat administrators)",
        "/route Sales-Team-1",
    ),
    CommandInfo(
        "unroute",
        Role.OPERATOR,
        "stop an agent group's events coming to this chat (chat administrators)",
        "/unroute Sales-Team-1",
    ),
    CommandInfo(
        "notify",
        Role.VIEWER,
        "what this chat gets: ringing on|off, calls each|answered|digest|off",
        "/notify calls answered",
    ),
    CommandInfo("mute", Role.OPERATOR, "post nothing here for a while (at most 7 days)", "/mute 2h"),
    CommandInfo("unmute", Role.OPERATOR, "post relayed events here again", "/unmute"),
    CommandInfo("balance", Role.VIEWER, "the account balance, gift and credit", "/balance"),
    CommandInfo(
        "settings", Role.VIEWER, "this chat's defaults; operators change them", "/settings ccode 91"
    ),
    CommandInfo(
        "bind", Role.ADMIN, "let the bot act in this chat (or topic)", "/bind", group_only=True
    ),
    CommandInfo("unbind", Role.ADMIN, "stop acting in this chat", "/unbind", group_only=True),
    CommandInfo(
        "role",
        Role.ADMIN,
        "give a member a role: operator, viewer or none",
        "/role operator @alice",
        group_only=True,
    ),
    CommandInfo(
        "summary",
        Role.VIEWER,
        "a day's calls, answers, talk time, agents and a chart",
        "/summary yesterday",
    ),
    CommandInfo(
        "schedule",
        Role.VIEWER,
        "when the daily summary comes; operators change it",
        "/schedule 18:00 Asia/Kolkata",
    ),
    CommandInfo(
        "export", Role.OPERATOR, "a day's call records as an .xlsx file", "/export 2026-11-30"
    ),
    CommandInfo(
        "calls", Role.VIEWER, "the stored calls to one callee number", "/calls +91 98765 43210"
    ),
    CommandInfo(
        "status",
        Role.ADMIN,
        "how ccbot is doing: replicas, queues, relay lag, last errors",
        "/status",
    ),
    CommandInfo("audit", Role.ADMIN, "the last platform calls made through the bot", "/audit 20"),
)


def commands_for(role: Role) -> list[CommandInfo]:
    return [c for c in COMMANDS if c.role <= role]
