"""Every command once: its right, a one-line description, its usage and an example. /help, the
usage answers to wrong arguments, the command menus and the README are written from this list.

All text here is plain (the renderer escapes it); the limits come from `bot/laaffic/limits.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.laaffic import limits
from bot.render import code, esc
from bot.services.access import Role


@dataclass(frozen=True)
class CommandInfo:
    name: str
    role: Role
    summary: str
    usage: str  # the command's forms, one per line, plain text: <value>, [optional]
    example: str
    group_only: bool = False
    note: str = ""  # plain text after the example in usage answers, when the forms need a hint

    @property
    def usage_text(self) -> str:
        """Plain text: "Usage: …", "Example: …" and the note."""
        forms = self.usage.split("\n")
        lines = [f"Usage: {forms[0]}"] + [f"   or: {form}" for form in forms[1:]]
        return "\n".join([*lines, f"Example: {self.example}", *([self.note] if self.note else [])])

    @property
    def usage_html(self) -> str:
        """The same, rendered: the forms and the note escaped, the example as code."""
        forms = self.usage.split("\n")
        lines = [f"Usage: {esc(forms[0])}"] + [f"   or: {esc(form)}" for form in forms[1:]]
        note = [esc(self.note)] if self.note else []
        return "\n".join([*lines, f"Example: {code(self.example)}", *note])


_GROUP_NAME = f"{limits.GROUP_NAME_MIN}–{limits.GROUP_NAME_MAX} characters"
_RATE = f"{limits.CALLOUT_RATE_MIN}–{limits.CALLOUT_RATE_MAX}"
_RING = f"{limits.RINGING_TIME_MIN}–{limits.RINGING_TIME_MAX}"

COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo("help", Role.NONE, "what I can do for you here", "/help", "/help"),
    CommandInfo(
        "whoami", Role.NONE, "your user id and your role in this chat", "/whoami", "/whoami"
    ),
    CommandInfo(
        "groups",
        Role.VIEWER,
        "this team's agent groups with their agent counts; admins add 'all' for every team's",
        "/groups [all]",
        "/groups",
    ),
    CommandInfo(
        "group",
        Role.VIEWER,
        "one group's settings, quota and agents",
        "/group <group name or id>",
        "/group Sales-Team-1",
    ),
    CommandInfo(
        "newgroup",
        Role.OPERATOR,
        "create an agent group for this team; its events come to this chat",
        f"/newgroup <name, {_GROUP_NAME}, unique in the application>",
        '/newgroup "Sales Team Two"',
    ),
    CommandInfo(
        "agents",
        Role.VIEWER,
        "a group's agents and their status",
        "/agents <group name or id>",
        "/agents Sales-Team-1",
    ),
    CommandInfo(
        "addagents",
        Role.OPERATOR,
        "create agents in one of this team's groups, after checking its quota",
        f"/addagents <group> <count 1–{limits.AGENT_BATCH_MAX}> [display number] [country code]",
        "/addagents Sales-Team-1 5 1234 91",
    ),
    CommandInfo(
        "agentcreds",
        Role.ADMIN,
        "SIP accounts and passwords, sent to you privately",
        "/agentcreds <group name or id>",
        "/agentcreds Sales-Team-1",
    ),
    CommandInfo(
        "route",
        Role.OPERATOR,
        "make a group this team's (too): its events come here and this chat acts on it; "
        "admins, or chat administrators for a group no team has yet",
        "/route <group name or id>",
        "/route Sales-Team-1",
        group_only=True,
    ),
    CommandInfo(
        "unroute",
        Role.OPERATOR,
        "stop a group's events coming here (admins and chat administrators)",
        "/unroute <group name or id>",
        "/unroute Sales-Team-1",
        group_only=True,
    ),
    CommandInfo(
        "routes",
        Role.VIEWER,
        "the agent groups whose ringing events and call records come to this chat",
        "/routes",
        "/routes",
    ),
    CommandInfo(
        "notify",
        Role.VIEWER,
        "what this chat gets of ringing events and call records; operators change it",
        "/notify (shows it)\n"
        "/notify ringing on|off\n"
        "/notify calls each|answered|digest|off (digest: every 15 minutes, the default)\n"
        "/notify sound (shows which kinds make a sound here)\n"
        "/notify sound alerts|ringing|calls|digests|summaries|tasks|notices on|off",
        "/notify calls answered",
        note="Alerts and notices make a sound by default; the routine stream arrives silently.",
    ),
    CommandInfo(
        "alerts",
        Role.VIEWER,
        "the call-centre alerts of this chat and their thresholds; operators change them",
        "/alerts (lists them)\n"
        "/alerts unanswered <calls in a row, default 5>\n"
        "/alerts answer-rate <percent, default 30> [<minutes, default 15>] [<at least calls, "
        "default 20>]\n"
        "/alerts missed-rings <rings in a row, default 3>\n"
        "/alerts no-pushes <minutes, default 10>\n"
        "/alerts balance <amount> (off by default)\n"
        "/alerts task-stalled <minutes, default 15>\n"
        "/alerts <rule> off|on",
        "/alerts unanswered 8",
    ),
    CommandInfo(
        "topic",
        Role.OPERATOR,
        "typed inside a forum topic: send one kind of message there",
        "/topic alerts|ringing|calls|summaries|tasks (inside the topic)\n"
        "/topic <kind> off (back to the chat's main place)",
        "/topic alerts",
        group_only=True,
    ),
    CommandInfo(
        "topics", Role.VIEWER, "which forum topic each kind of message goes to", "/topics", "/topics"
    ),
    CommandInfo(
        "mute",
        Role.OPERATOR,
        "post nothing here for a while; the events are still kept",
        "/mute <duration: 30m, 2h, 1d …, at most 7 days>",
        "/mute 2h",
    ),
    CommandInfo("unmute", Role.OPERATOR, "post relayed events here again", "/unmute", "/unmute"),
    CommandInfo(
        "upload",
        Role.OPERATOR,
        "send a number file (xlsx, xls, ods, csv, txt) to check and upload",
        "/upload, then send the file as a reply (or send the file with the caption /upload)",
        "/upload",
    ),
    CommandInfo(
        "newtask",
        Role.OPERATOR,
        "create a calling task from an uploaded file",
        "/newtask <upload> (and pick the rest with buttons)\n"
        f'/newtask <upload> agents <group> [rate={_RATE}] [ring={_RING} s] ["remark"]\n'
        f'/newtask <upload> auto [group] [ring={_RING} s] ["remark", at most {limits.REMARK_MAX} '
        "characters]",
        '/newtask 12 agents Sales-Team-1 rate=2 ring=40 "March leads"',
        note='A group name with spaces goes in quotes: /newtask 12 agents "Sales Team Two" '
        '(with auto: group="Sales Team Two").',
    ),
    CommandInfo(
        "tasks",
        Role.VIEWER,
        "this chat's tasks; admins add 'all' for every task of the app",
        "/tasks [all]",
        "/tasks",
    ),
    CommandInfo(
        "task",
        Role.VIEWER,
        "a task's card with live counters and actions",
        "/task <task id>",
        "/task 5000123",
    ),
    CommandInfo(
        "cancel",
        Role.OPERATOR,
        "cancel a task (asks to confirm)",
        "/cancel <task id>",
        "/cancel 5000123",
    ),
    CommandInfo(
        "rate",
        Role.OPERATOR,
        "change a task's call-out rate (asks to confirm)",
        f"/rate <task id> <rate {_RATE}>",
        "/rate 5000123 3",
    ),
    CommandInfo(
        "rerun",
        Role.OPERATOR,
        "call a task's numbers again: failed, uncalled or all",
        "/rerun <task id> failed|uncalled|all",
        "/rerun 5000123 failed",
    ),
    CommandInfo(
        "balance", Role.VIEWER, "the account balance, gift and credit", "/balance", "/balance"
    ),
    CommandInfo(
        "settings",
        Role.VIEWER,
        "this chat's defaults; operators change them",
        "/settings (shows them)\n"
        "/settings ccode <country calling code, digits>\n"
        f"/settings displaynum <display number, at most {limits.DISPLAY_NUM_MAX} letters or "
        "digits>\n"
        "/settings timezone <IANA time zone>\n"
        "/settings app <voice application id> (admins)\n"
        "/settings mask on|off (callee numbers masked in relayed messages)\n"
        "/settings <name> - (clears it)",
        "/settings ccode 91",
    ),
    CommandInfo(
        "bind",
        Role.ADMIN,
        "let the bot act in this chat (or topic)",
        "/bind (in the group, or in the forum topic that gets the notifications)",
        "/bind",
        group_only=True,
    ),
    CommandInfo(
        "unbind", Role.ADMIN, "stop acting in this chat", "/unbind", "/unbind", group_only=True
    ),
    CommandInfo(
        "role",
        Role.ADMIN,
        "give a member a role: operator, viewer or none",
        "/role operator|viewer|none <@username or user id>\n"
        "/role operator|viewer|none (as a reply to one of the member's messages)",
        "/role operator @alice",
        group_only=True,
    ),
    CommandInfo(
        "summary",
        Role.VIEWER,
        "a day's calls, answers, talk time, agents and a chart",
        "/summary [today | yesterday | YYYY-MM-DD] (default: yesterday)",
        "/summary yesterday",
    ),
    CommandInfo(
        "schedule",
        Role.VIEWER,
        "when the daily summary comes; operators change it",
        "/schedule (shows it)\n/schedule <HH:MM> [IANA time zone]\n/schedule off",
        "/schedule 18:00 Asia/Kolkata",
    ),
    CommandInfo(
        "export",
        Role.OPERATOR,
        "a day's call records as an .xlsx file",
        "/export [today | yesterday | YYYY-MM-DD]",
        "/export 2026-11-30",
    ),
    CommandInfo(
        "calls",
        Role.VIEWER,
        "the stored calls to one callee number",
        "/calls <callee number>",
        "/calls +91 98765 43210",
    ),
    CommandInfo(
        "status",
        Role.ADMIN,
        "how ccbot is doing: replicas, queues, relay lag, last errors",
        "/status",
        "/status",
    ),
    CommandInfo(
        "audit",
        Role.ADMIN,
        "the last platform calls made through the bot",
        "/audit [how many, 1–50]",
        "/audit 20",
    ),
)

BY_NAME: dict[str, CommandInfo] = {c.name: c for c in COMMANDS}


def info(name: str) -> CommandInfo:
    """The catalogue entry of a command (`"addagents"` or `"/addagents"`)."""
    return BY_NAME[name.lstrip("/")]


def usage(name: str) -> str:
    """Plain text "Usage: … Example: …" of a command."""
    return info(name).usage_text


def commands_for(role: Role) -> list[CommandInfo]:
    return [c for c in COMMANDS if c.role <= role]
