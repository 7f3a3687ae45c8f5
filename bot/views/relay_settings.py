"""Answers of /route, /unroute, /routes, /notify, /mute and /unmute: which agent groups' events
come to a chat, and how they are posted there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Protocol

from bot.i18n import _, weekday_day
from bot.render import code, esc
from bot.services.groups import typed_name


class UnroutedGroup(Protocol):
    """A group named in recent pushes that no chat routes (`bot.relay.routing.UnroutedGroup`)."""

    @property
    def group_name(self) -> str | None: ...
    @property
    def ringing_events(self) -> int: ...
    @property
    def call_records(self) -> int: ...


def when(moment: datetime, zone: tzinfo, now: datetime) -> str:
    """A time in the chat's zone, with its day when not today: "18:30 on Sat 01 Mar (UTC)"."""
    local = moment.astimezone(zone)
    today = now.astimezone(zone).date()
    day = "" if local.date() == today else _(" on {day}", day=weekday_day(local))
    return f"{local:%H:%M}{day} ({getattr(zone, 'key', str(zone))})"


def notify_summary(
    *, ringing: bool, calls_words: str, masked: bool, muted_until: str | None
) -> str:
    """What a chat gets relayed, as lines; `calls_words` and `muted_until` are plain text."""
    lines = [
        _(
            "Ringing events: <b>{value}</b>",
            value="on" if ringing else "off",
        ),
        _(
            "Call records: <b>{calls_words}</b>",
            calls_words=esc(calls_words),
        ),
        _(
            "Callee numbers: <b>{value}</b>",
            value="masked" if masked else "shown in full",
        ),
    ]
    if muted_until is not None:
        lines.append(
            _(
                "🔕 <b>Muted</b> until {muted_until}: nothing is posted here until then (/unmute ends "
                "it now).",
                muted_until=esc(muted_until),
            )
        )
    return "\n".join(lines)


def withdrawn_words(withdrawn: int) -> str:
    """What became of the messages that were waiting to be posted, when some were taken back."""
    if not withdrawn:
        return ""
    were = _("message that was") if withdrawn == 1 else _("messages that were")
    return _(
        " The {withdrawn} {were} still waiting to be posted here will not be posted (their "
        "events stay stored too).",
        withdrawn=withdrawn,
        were=were,
    )


def _group(name: str | None, group_id: int) -> str:
    return f"<b>{esc(name)}</b> ({code(group_id)})"


def _also(others: Sequence[int]) -> str:
    return (
        _(
            " It stays routed to {join} as well.",
            join=", ".join(code(c) for c in others),
        )
        if others
        else ""
    )


def routed_already(name: str | None, group_id: int, others: Sequence[int]) -> str:
    return _(
        "The agent group {group} is this team's already.{also}",
        group=_group(name, group_id),
        also=_also(others),
    )


def routed(name: str, group_id: int, others: Sequence[int], summary: str) -> str:
    """/route: the group is the team's now; `summary` is `notify_summary`'s."""
    return _(
        "The agent group {group} is this team's now: its ringing events and call records come "
        "to this chat, and this chat acts on it.{also}\n{summary}\nChange what is posted with "
        "/notify; stop it with <code>/unroute {typed_name}</code>.",
        group=_group(name, group_id),
        also=_also(others),
        summary=summary,
        typed_name=esc(typed_name(name)),
    )


def unrouted(name: str, group_id: int) -> str:
    return _(
        "The agent group {group} no longer comes to this chat. Its events are still stored; "
        "<code>/route {typed_name}</code> brings them back.",
        group=_group(name, group_id),
        typed_name=esc(typed_name(name)),
    )


def routes_list(
    mine: Sequence[tuple[str | None, int, int]],
    *,
    summary: str | None,
    unrouted_groups: Sequence[UnroutedGroup] | None,
) -> str:
    """/routes: this chat's groups (name, id, how many other chats get it), what the chat gets
    (`summary`), and for admins (`unrouted_groups` not None) the groups no chat routes."""
    if mine:
        lines = [
            _(
                "<b>Agent groups whose events come to this chat</b> ({count})",
                count=len(mine),
            )
        ]
        for name, group_id, others in mine:
            also = (
                _(
                    " · also in {others} other chat(s)",
                    others=others,
                )
                if others
                else ""
            )
            lines.append(
                _(
                    "• {name} — id {group_id}{also}",
                    name=esc(name),
                    group_id=code(group_id),
                    also=also,
                )
            )
    else:
        lines = [
            _(
                "No agent group's events come to this chat yet. Create a group here with "
                "<code>/newgroup Sales-Team-1</code>, or route one made elsewhere with <code>/route "
                "Sales-Team-1</code>.",
            )
        ]
    if summary is not None:
        lines += ["", summary]
    if unrouted_groups is not None:
        lines.append("")
        if unrouted_groups:
            lines.append(
                _(
                    "<b>Unrouted groups seen in the last 24 hours</b> (stored, posted and counted nowhere)"
                )
            )
            for g in unrouted_groups:
                counts = []
                if g.ringing_events:
                    counts.append(
                        _(
                            "{ringing_events} ringing event(s)",
                            ringing_events=g.ringing_events,
                        )
                    )
                if g.call_records:
                    counts.append(
                        _(
                            "{call_records} call record(s)",
                            call_records=g.call_records,
                        )
                    )
                if g.group_name is None:
                    lines.append(
                        _(
                            "• without an agent group, counted in no chat (no task of a bound chat dialled them): "
                            "{join}",
                            join=", ".join(counts),
                        )
                    )
                else:
                    lines.append(
                        _(
                            "• {group_name}: {join} — <code>/route {typed_name}</code>",
                            group_name=esc(g.group_name),
                            join=", ".join(counts),
                            typed_name=esc(typed_name(g.group_name)),
                        )
                    )
        else:
            lines.append(_("Every agent group seen in the last 24 hours is routed to some chat."))
    return "\n".join(lines)


def what_this_chat_gets(summary: str) -> str:
    return _(
        "<b>What this chat gets</b>\n{summary}",
        summary=summary,
    )


def notify_saved(withdrawn: int, summary: str) -> str:
    return _("Saved.") + f"{withdrawn_words(withdrawn)}\n{summary}"


def muted(until: str, *, digest_follows: bool, withdrawn: int) -> str:
    """/mute; `until` is plain text. Only a chat on digests gets one after the mute."""
    later = (
        _("the first digest after it shows them")
        if digest_follows
        else _("the daily summary counts them")
    )
    return _(
        "🔕 Muted until {until}: no ringing events, call records or digests are posted here "
        "until then. They are still stored, and {later}.{withdrawn_words} /unmute ends it now.",
        until=esc(until),
        later=later,
        withdrawn_words=withdrawn_words(withdrawn),
    )


def unmuted(summary: str) -> str:
    return _(
        "🔔 Unmuted: events are posted here again.\n{summary}",
        summary=summary,
    )


def not_muted(summary: str) -> str:
    return _(
        "This chat was not muted.\n{summary}",
        summary=summary,
    )
