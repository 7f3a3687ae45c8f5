"""The agent's private screen pop: pure functions of what the relay knew at the ring (and learned
after it) → HTML.

A pop is read in the two seconds before the agent answers, so the callee comes first, in full (the
agent is the one on the call: a team chat's number masking does not apply here), then the
callee's information under its column names, the task, and the callee's earlier calls. Every value
from the platform or a number file is escaped here, and cut: one pop is one message, whatever a
push carried (a 60 KB calledInfo is shown as its first characters).

The texts are in the current language (bot/i18n.py): the relay renders a pop inside
`speaking(<the agent's private chat's language>)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from bot.i18n import _, n_, number
from bot.laaffic.codes import hangup_reason
from bot.render import MESSAGE_LIMIT, code, esc, split_message
from bot.views.relayed import recording_link
from bot.views.values import clock, cut, duration, show_number

INFO_COLUMNS_SHOWN = 12  # callee information columns shown (a wide file has dozens)
INFO_VALUE_SHOWN = 120  # characters of one value
INFO_NAME_SHOWN = 40  # characters of one column name
CALLED_INFO_SHOWN = 300  # characters of a push's calledInfo, when the number file has no row
REMARK_SHOWN = 64
OLDER_RINGS_SHOWN = 40  # rings merged under the newest one, one line each (fits a message)


@dataclass(frozen=True)
class EarlierCall:
    """One stored call record of the same callee number."""

    at: datetime | None
    answered: bool
    talk_seconds: int
    agent: str | None


@dataclass(frozen=True)
class RingOutcome:
    """What became of a ring: a later ring of the call listed the agent as not answering
    (`missed`, and who rang next), and/or the call record came (`ended`)."""

    missed: bool = False
    rang_next: str | None = None
    ended: bool = False
    answered: bool = False  # the callee answered
    agent: str | None = None  # the agent who took the call, when one did
    talk_seconds: int = 0
    hangup_reason: int | None = None
    voice_url: str | None = None


@dataclass(frozen=True)
class PopRingView:
    """One ring as the pop shows it."""

    sip_account: str
    called: str | None
    group_name: str | None = None
    task_id: int | None = None
    remark: str | None = None
    info: list[tuple[str, str]] = field(default_factory=list)  # from the task's number file
    called_info: str | None = None  # the push's, when the file has no row for the number
    history: list[EarlierCall] = field(default_factory=list)
    history_complete: bool = True  # False: the records could not be read
    event_at: datetime | None = None
    outcome: RingOutcome | None = None


def _callee_info(ring: PopRingView) -> list[str]:
    if ring.info:
        shown = [
            _(
                "{column}: <b>{value}</b>",
                column=cut(name, INFO_NAME_SHOWN),
                value=cut(value, INFO_VALUE_SHOWN),
            )
            for name, value in ring.info[:INFO_COLUMNS_SHOWN]
        ]
        more = len(ring.info) - INFO_COLUMNS_SHOWN
        if more > 0:
            shown.append(n_("and {count} more column", "and {count} more columns", more))
        return [" · ".join(shown)]
    if ring.called_info and ring.called_info.strip():
        return [
            _(
                "Callee information: {info}",
                info=cut(ring.called_info.strip(), CALLED_INFO_SHOWN),
            )
        ]
    return [_("No callee information was sent for this number.")]


def _history(ring: PopRingView, zone: tzinfo | None, now: datetime) -> list[str]:
    if not ring.history:
        if not ring.history_complete:
            return [_("Earlier calls: could not be read just now.")]
        return [_("First call to this number.")]
    lines = [_("Earlier calls:")]
    for call in ring.history:
        when = esc(clock(call.at, zone, today=now) or _("time unknown"))
        talk = duration(call.talk_seconds)
        if call.answered and call.agent:
            line = _(
                "{time}: answered by {agent}, talk {duration}",
                time=when,
                agent=esc(call.agent),
                duration=talk,
            )
        elif call.answered:
            line = _("{time}: answered, talk {duration}", time=when, duration=talk)
        else:
            line = _("{time}: not answered", time=when)
        lines.append("• " + line)
    return lines


def _outcome(ring: PopRingView) -> list[str]:
    outcome = ring.outcome
    if outcome is None:
        return []
    lines: list[str] = []
    mine = outcome.agent is not None and outcome.agent == ring.sip_account
    if outcome.ended:
        talk = duration(outcome.talk_seconds)
        reason = esc(hangup_reason(outcome.hangup_reason))
        if outcome.answered and mine:
            lines.append(_("✅ <b>You took this call</b> · talk {duration}", duration=talk))
        elif outcome.answered and outcome.agent:
            lines.append(
                _(
                    "↪️ <b>Missed by you</b>: {agent} took the call · talk {duration}",
                    agent=esc(outcome.agent),
                    duration=talk,
                )
            )
        elif outcome.answered:
            lines.append(_("❌ <b>No agent took the call</b>: {reason}", reason=reason))
        else:
            lines.append(_("❌ <b>Not answered</b>: {reason}", reason=reason))
        link = recording_link(outcome.voice_url)
        if link:
            lines.append(link)
    elif outcome.missed:
        if outcome.rang_next:
            lines.append(
                _(
                    "↪️ <b>Missed by you</b>; it rang {agent} next. Nobody has taken the call yet.",
                    agent=esc(outcome.rang_next),
                )
            )
        else:
            lines.append(_("↪️ <b>Missed by you</b>. Nobody has taken the call yet."))
    return lines


def ring_text(ring: PopRingView, zone: tzinfo | None, now: datetime) -> str:
    """One ring in full."""
    callee = code(show_number(ring.called))
    if ring.outcome is None:
        lines = [_("📞 <b>Your phone is ringing</b>: {number}", number=callee)]
    else:
        lines = [_("📞 <b>Call</b>: {number}", number=callee)]
    lines += _callee_info(ring)
    task = []
    if ring.task_id is not None:
        task.append(_("Task {task}", task=code(ring.task_id)))
    if ring.remark:
        task.append(f"“{cut(ring.remark, REMARK_SHOWN)}”")
    sip = esc(ring.sip_account)
    if ring.group_name:
        task.append(_("group {group}, as {sip}", group=esc(ring.group_name), sip=sip))
    else:
        task.append(_("group unknown, as {sip}", sip=sip))
    when = clock(ring.event_at, zone, today=now)
    if when:
        task.append(_("at {time}", time=esc(when)))
    lines.append(" · ".join(task))
    lines += _history(ring, zone, now)
    lines += _outcome(ring)
    return "\n".join(lines)


def _ring_line(ring: PopRingView, zone: tzinfo | None, now: datetime) -> str:
    when = clock(ring.event_at, zone, today=now)
    at = f"{esc(when)} " if when else ""
    first = ring.info[0][1] if ring.info else None
    name = f" — {cut(first, 40)}" if first else ""
    state = ""
    outcome = ring.outcome
    if outcome is not None and outcome.ended:
        if outcome.answered and outcome.agent == ring.sip_account:
            state = " · " + _("you took it")
        elif outcome.answered and outcome.agent:
            state = " · " + _("taken by {agent}", agent=esc(outcome.agent))
        else:
            state = " · " + _("not answered")
    elif outcome is not None and outcome.missed:
        state = " · " + _("missed")
    return f"• {at}{code(show_number(ring.called))}{name}{state}"


def pop_text(rings: list[PopRingView], zone: tzinfo | None, now: datetime) -> str:
    """A pop: the newest ring in full; rings merged into the same message (they came faster than
    the chat takes messages) one line each under it, newest first. Always one message."""
    if not rings:
        return _("📞 A call rang on your SIP account.")
    newest, *older = rings
    text = ring_text(newest, zone, now)
    if older:
        lines = ["\n" + _("Also rang just before ({count}):", count=number(len(older)))]
        lines += [_ring_line(ring, zone, now) for ring in older[:OLDER_RINGS_SHOWN]]
        more = len(older) - OLDER_RINGS_SHOWN
        if more > 0:
            lines.append(_("… and {count} more", count=number(more)))
        text += "\n".join(lines)
    return split_message(text, MESSAGE_LIMIT)[0]
