"""Answers of /route, /unroute, /routes, /notify, /mute and /unmute: which agent groups' events
come to a chat, and how they are posted there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Protocol

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
    day = "" if local.date() == today else f" on {local:%a %d %b}"
    return f"{local:%H:%M}{day} ({getattr(zone, 'key', str(zone))})"


def notify_summary(
    *, ringing: bool, calls_words: str, masked: bool, muted_until: str | None
) -> str:
    """What a chat gets relayed, as lines; `calls_words` and `muted_until` are plain text."""
    lines = [
        f"Ringing events: <b>{'on' if ringing else 'off'}</b>",
        f"Call records: <b>{esc(calls_words)}</b>",
        f"Callee numbers: <b>{'masked' if masked else 'shown in full'}</b>",
    ]
    if muted_until is not None:
        lines.append(
            f"🔕 <b>Muted</b> until {esc(muted_until)}: nothing is "
            f"posted here until then (/unmute ends it now)."
        )
    return "\n".join(lines)


def withdrawn_words(withdrawn: int) -> str:
    """What became of the messages that were waiting to be posted, when some were taken back."""
    if not withdrawn:
        return ""
    were = "message that was" if withdrawn == 1 else "messages that were"
    return (
        f" The {withdrawn} {were} still waiting to be posted here will not be posted (their "
        f"events stay stored too)."
    )


def _group(name: str | None, group_id: int) -> str:
    return f"<b>{esc(name)}</b> ({code(group_id)})"


def _also(others: Sequence[int]) -> str:
    return f" It stays routed to {', '.join(code(c) for c in others)} as well." if others else ""


def routed_already(name: str | None, group_id: int, others: Sequence[int]) -> str:
    return f"The agent group {_group(name, group_id)} is this team's already.{_also(others)}"


def routed(name: str, group_id: int, others: Sequence[int], summary: str) -> str:
    """/route: the group is the team's now; `summary` is `notify_summary`'s."""
    return (
        f"The agent group {_group(name, group_id)} is this team's now: its ringing events and "
        f"call records come to this chat, and this chat acts on it.{_also(others)}\n{summary}\n"
        f"Change what is posted with /notify; stop it with <code>/unroute "
        f"{esc(typed_name(name))}</code>."
    )


def unrouted(name: str, group_id: int) -> str:
    return (
        f"The agent group {_group(name, group_id)} no "
        f"longer comes to this chat. Its events are still stored; <code>/route "
        f"{esc(typed_name(name))}</code> brings them back."
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
        lines = [f"<b>Agent groups whose events come to this chat</b> ({len(mine)})"]
        for name, group_id, others in mine:
            also = f" · also in {others} other chat(s)" if others else ""
            lines.append(f"• {esc(name)} — id {code(group_id)}{also}")
    else:
        lines = [
            "No agent group's events come to this chat yet. Create a group here with "
            "<code>/newgroup Sales-Team-1</code>, or route one made elsewhere with "
            "<code>/route Sales-Team-1</code>."
        ]
    if summary is not None:
        lines += ["", summary]
    if unrouted_groups is not None:
        lines.append("")
        if unrouted_groups:
            lines.append(
                "<b>Unrouted groups seen in the last 24 hours</b> (stored, posted and counted "
                "nowhere)"
            )
            for g in unrouted_groups:
                counts = []
                if g.ringing_events:
                    counts.append(f"{g.ringing_events} ringing event(s)")
                if g.call_records:
                    counts.append(f"{g.call_records} call record(s)")
                if g.group_name is None:
                    lines.append(
                        f"• without an agent group, counted in no chat (no task of a bound "
                        f"chat dialled them): {', '.join(counts)}"
                    )
                else:
                    lines.append(
                        f"• {esc(g.group_name)}: {', '.join(counts)} — "
                        f"<code>/route {esc(typed_name(g.group_name))}</code>"
                    )
        else:
            lines.append("Every agent group seen in the last 24 hours is routed to some chat.")
    return "\n".join(lines)


def what_this_chat_gets(summary: str) -> str:
    return f"<b>What this chat gets</b>\n{summary}"


def notify_saved(withdrawn: int, summary: str) -> str:
    return f"Saved.{withdrawn_words(withdrawn)}\n{summary}"


def muted(until: str, *, digest_follows: bool, withdrawn: int) -> str:
    """/mute; `until` is plain text. Only a chat on digests gets one after the mute."""
    later = (
        "the first digest after it shows them"
        if digest_follows
        else "the daily summary counts them"
    )
    return (
        f"🔕 Muted until {esc(until)}: no ringing events, "
        f"call records or digests are posted here until then. They are still stored, and "
        f"{later}.{withdrawn_words(withdrawn)} /unmute ends it now."
    )


def unmuted(summary: str) -> str:
    return f"🔔 Unmuted: events are posted here again.\n{summary}"


def not_muted(summary: str) -> str:
    return f"This chat was not muted.\n{summary}"
