"""Every command once: its right, a one-line description, its usage and an example. /help, the
usage answers to wrong arguments, the command menus and the README are written from this list.

All text here is plain (the renderer escapes it); the limits come from `bot/laaffic/limits.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_, _
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
    private_only: bool = False  # works only in a private chat with the bot (an agent's own)
    note: str = ""  # plain text after the example in usage answers, when the forms need a hint

    @property
    def description(self) -> str:
        """The one-line description in the current language (/help, the command menus)."""
        return _(self.summary)

    @property
    def forms(self) -> list[str]:
        """The usage forms in the current language, the limits filled in."""
        return _(self.usage, **LIMITS).split("\n")

    @property
    def hint(self) -> str:
        return _(self.note, **LIMITS) if self.note else ""

    @property
    def usage_text(self) -> str:
        """Plain text: "Usage: …", "Example: …" and the note."""
        forms = self.forms
        lines = [_("Usage: {form}", form=forms[0])] + [
            _("   or: {form}", form=form) for form in forms[1:]
        ]
        example = _("Example: {example}", example=self.example)
        return "\n".join([*lines, example, *([self.hint] if self.note else [])])

    @property
    def usage_html(self) -> str:
        """The same, rendered: the forms and the note escaped, the example as code."""
        forms = self.forms
        lines = [_("Usage: {form}", form=esc(forms[0]))] + [
            _("   or: {form}", form=esc(form)) for form in forms[1:]
        ]
        note = [esc(self.hint)] if self.note else []
        return "\n".join([*lines, _("Example: {example}", example=code(self.example)), *note])


# The limits the usage texts name, as placeholders: one text in the catalog whatever they are.
LIMITS = {
    "name_min": limits.GROUP_NAME_MIN,
    "name_max": limits.GROUP_NAME_MAX,
    "rate": f"{limits.CALLOUT_RATE_MIN}–{limits.CALLOUT_RATE_MAX}",
    "ring": f"{limits.RINGING_TIME_MIN}–{limits.RINGING_TIME_MAX}",
    "batch_max": limits.AGENT_BATCH_MAX,
    "remark_max": limits.REMARK_MAX,
    "display_max": limits.DISPLAY_NUM_MAX,
}

COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo("help", Role.NONE, N_("what I can do for you here"), N_("/help"), "/help"),
    CommandInfo(
        "whoami", Role.NONE, N_("your user id and your role in this chat"), N_("/whoami"), "/whoami"
    ),
    CommandInfo(
        "groups",
        Role.VIEWER,
        N_("this team's agent groups with their agent counts; admins add 'all' for every team's"),
        N_("/groups [all]"),
        "/groups",
    ),
    CommandInfo(
        "group",
        Role.VIEWER,
        N_("one group's settings, quota and agents"),
        N_("/group <group name or id>"),
        "/group Sales-Team-1",
    ),
    CommandInfo(
        "newgroup",
        Role.OPERATOR,
        N_("create an agent group for this team; its events come to this chat"),
        N_("/newgroup <name, {name_min}–{name_max} characters, unique in the application>"),
        '/newgroup "Sales Team Two"',
    ),
    CommandInfo(
        "agents",
        Role.VIEWER,
        N_("a group's agents, their status and who is linked to them for screen pops"),
        N_("/agents <group name or id>"),
        "/agents Sales-Team-1",
    ),
    CommandInfo(
        "link",
        Role.OPERATOR,
        N_(
            "link an agent's SIP account of this team to the Telegram user who answers it: they "
            "get a private screen pop whenever it rings"
        ),
        N_(
            "/link <SIP account> <@username or user id>\n"
            "/link <SIP account> (as a reply to one of the person's messages)"
        ),
        "/link 1344C025cb_001 @ravi",
        group_only=True,
    ),
    CommandInfo(
        "unlink",
        Role.OPERATOR,
        N_("stop a SIP account's screen pops (its waiting pops are dropped)"),
        N_("/unlink <SIP account>"),
        "/unlink 1344C025cb_001",
        group_only=True,
    ),
    CommandInfo(
        "iam",
        Role.NONE,
        N_("in a private chat with me: ask your team to link your SIP account to you"),
        N_("/iam <SIP account> (in your private chat with me)"),
        "/iam 1344C025cb_001",
        private_only=True,
    ),
    CommandInfo(
        "pop",
        Role.NONE,
        N_("in a private chat with me: your screen pops, on or off, and your linked SIP accounts"),
        N_("/pop (shows them)\n/pop on|off"),
        "/pop off",
        private_only=True,
    ),
    CommandInfo(
        "addagents",
        Role.OPERATOR,
        N_("create agents in one of this team's groups, after checking its quota"),
        N_("/addagents <group> <count 1–{batch_max}> [display number] [country code]"),
        "/addagents Sales-Team-1 5 1234 91",
    ),
    CommandInfo(
        "agentcreds",
        Role.ADMIN,
        N_("SIP accounts and passwords, sent to you privately"),
        N_("/agentcreds <group name or id>"),
        "/agentcreds Sales-Team-1",
    ),
    CommandInfo(
        "route",
        Role.OPERATOR,
        N_(
            "make a group this team's (too): its events come here and this chat acts on it; "
            "admins, or chat administrators for a group no team has yet"
        ),
        N_("/route <group name or id>"),
        "/route Sales-Team-1",
        group_only=True,
    ),
    CommandInfo(
        "unroute",
        Role.OPERATOR,
        N_("stop a group's events coming here (admins and chat administrators)"),
        N_("/unroute <group name or id>"),
        "/unroute Sales-Team-1",
        group_only=True,
    ),
    CommandInfo(
        "routes",
        Role.VIEWER,
        N_("the agent groups whose ringing events and call records come to this chat"),
        N_("/routes"),
        "/routes",
    ),
    CommandInfo(
        "notify",
        Role.VIEWER,
        N_("what this chat gets of ringing events and call records; operators change it"),
        N_(
            "/notify (shows it)\n"
            "/notify ringing on|off\n"
            "/notify calls each|answered|digest|off (digest: every 15 minutes, the default)\n"
            "/notify sound (shows which kinds make a sound here)\n"
            "/notify sound alerts|ringing|calls|digests|summaries|tasks|notices on|off"
        ),
        "/notify calls answered",
        note=N_("Alerts and notices make a sound by default; the routine stream arrives silently."),
    ),
    CommandInfo(
        "alerts",
        Role.VIEWER,
        N_("the call-centre alerts of this chat and their thresholds; operators change them"),
        N_(
            "/alerts (lists them)\n"
            "/alerts unanswered <calls in a row, default 5>\n"
            "/alerts answer-rate <percent, default 30> [<minutes, default 15>] [<at least calls, "
            "default 20>]\n"
            "/alerts missed-rings <rings in a row, default 3>\n"
            "/alerts no-pushes <minutes, default 10>\n"
            "/alerts balance <amount> (off by default)\n"
            "/alerts task-stalled <minutes, default 15>\n"
            "/alerts <rule> off|on"
        ),
        "/alerts unanswered 8",
    ),
    CommandInfo(
        "topic",
        Role.OPERATOR,
        N_("typed inside a forum topic: send one kind of message there"),
        N_(
            "/topic alerts|ringing|calls|summaries|tasks (inside the topic)\n"
            "/topic <kind> off (back to the chat's main place)"
        ),
        "/topic alerts",
        group_only=True,
    ),
    CommandInfo(
        "topics",
        Role.VIEWER,
        N_("which forum topic each kind of message goes to"),
        N_("/topics"),
        "/topics",
    ),
    CommandInfo(
        "mute",
        Role.OPERATOR,
        N_("post nothing here for a while; the events are still kept"),
        N_("/mute <duration: 30m, 2h, 1d …, at most 7 days>"),
        "/mute 2h",
    ),
    CommandInfo(
        "unmute", Role.OPERATOR, N_("post relayed events here again"), N_("/unmute"), "/unmute"
    ),
    CommandInfo(
        "upload",
        Role.OPERATOR,
        N_("send a number file (xlsx, xls, ods, csv, txt) to check and upload"),
        N_("/upload, then send the file as a reply (or send the file with the caption /upload)"),
        "/upload",
    ),
    CommandInfo(
        "newtask",
        Role.OPERATOR,
        N_("create a calling task from an uploaded file"),
        N_(
            "/newtask <upload> (and pick the rest with buttons)\n"
            '/newtask <upload> agents <group> [rate={rate}] [ring={ring} s] ["remark"]\n'
            '/newtask <upload> auto [group] [ring={ring} s] ["remark", at most {remark_max} '
            "characters]"
        ),
        '/newtask 12 agents Sales-Team-1 rate=2 ring=40 "March leads"',
        note=N_(
            'A group name with spaces goes in quotes: /newtask 12 agents "Sales Team Two" '
            '(with auto: group="Sales Team Two").'
        ),
    ),
    CommandInfo(
        "tasks",
        Role.VIEWER,
        N_("this chat's tasks; admins add 'all' for every task of the app"),
        N_("/tasks [all]"),
        "/tasks",
    ),
    CommandInfo(
        "task",
        Role.VIEWER,
        N_("a task's card with live counters and actions"),
        N_("/task <task id>"),
        "/task 5000123",
    ),
    CommandInfo(
        "cancel",
        Role.OPERATOR,
        N_("cancel a task (asks to confirm)"),
        N_("/cancel <task id>"),
        "/cancel 5000123",
    ),
    CommandInfo(
        "rate",
        Role.OPERATOR,
        N_("change a task's call-out rate (asks to confirm)"),
        N_("/rate <task id> <rate {rate}>"),
        "/rate 5000123 3",
    ),
    CommandInfo(
        "rerun",
        Role.OPERATOR,
        N_("call a task's numbers again: failed, uncalled or all"),
        N_("/rerun <task id> failed|uncalled|all"),
        "/rerun 5000123 failed",
    ),
    CommandInfo(
        "balance",
        Role.VIEWER,
        N_("the account balance, gift and credit"),
        N_("/balance"),
        "/balance",
    ),
    CommandInfo(
        "settings",
        Role.VIEWER,
        N_("this chat's defaults; operators change them"),
        N_(
            "/settings (shows them)\n"
            "/settings ccode <country calling code, digits>\n"
            "/settings displaynum <display number, at most {display_max} letters or "
            "digits>\n"
            "/settings timezone <IANA time zone>\n"
            "/settings app <voice application id> (admins)\n"
            "/settings mask on|off (callee numbers masked in relayed messages)\n"
            "/settings language en|zh (the language I write in here)\n"
            "/settings <name> - (clears it)"
        ),
        "/settings ccode 91",
    ),
    CommandInfo(
        "bind",
        Role.ADMIN,
        N_("let the bot act in this chat (or topic)"),
        N_("/bind (in the group, or in the forum topic that gets the notifications)"),
        "/bind",
        group_only=True,
    ),
    CommandInfo(
        "unbind",
        Role.ADMIN,
        N_("stop acting in this chat"),
        N_("/unbind"),
        "/unbind",
        group_only=True,
    ),
    CommandInfo(
        "role",
        Role.ADMIN,
        N_("give a member a role: operator, viewer or none"),
        N_(
            "/role operator|viewer|none <@username or user id>\n"
            "/role operator|viewer|none (as a reply to one of the member's messages)"
        ),
        "/role operator @alice",
        group_only=True,
    ),
    CommandInfo(
        "summary",
        Role.VIEWER,
        N_("a day's calls, answers, talk time, agents and a chart"),
        N_("/summary [today | yesterday | YYYY-MM-DD] (default: yesterday)"),
        "/summary yesterday",
    ),
    CommandInfo(
        "schedule",
        Role.VIEWER,
        N_("when the daily summary comes; operators change it"),
        N_("/schedule (shows it)\n/schedule <HH:MM> [IANA time zone]\n/schedule off"),
        "/schedule 18:00 Asia/Kolkata",
    ),
    CommandInfo(
        "export",
        Role.OPERATOR,
        N_("a day's call records as an .xlsx file"),
        N_("/export [today | yesterday | YYYY-MM-DD]"),
        "/export 2026-11-30",
    ),
    CommandInfo(
        "calls",
        Role.VIEWER,
        N_("the stored calls to one callee number"),
        N_("/calls <callee number>"),
        "/calls +91 98765 43210",
    ),
    CommandInfo(
        "status",
        Role.ADMIN,
        N_("how ccbot is doing: replicas, queues, relay lag, last errors"),
        N_("/status"),
        "/status",
    ),
    CommandInfo(
        "audit",
        Role.ADMIN,
        N_("the last platform calls made through the bot"),
        N_("/audit [how many, 1–50]"),
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
