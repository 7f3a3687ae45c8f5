"""The call digest: the call records given to a chat since its last digest, summed up in one
message (for chats with `/notify calls digest`), with the daily summary's counters.

The figures come from the relay's digest job (`bot.relay.digest.DigestStats`); this module reads
them through `DigestFigures`, the shape it needs, so views never import the relay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.i18n import _, short_day
from bot.render import esc
from bot.views.summaries import cost_line, counters_line, failure_reasons_line, talk_time_line
from bot.views.values import ChatDisplay, in_chat_language


class DigestFigures(Protocol):
    """What a digest shows: its window, the chat's groups and the calls counted in the window."""

    @property
    def since(self) -> datetime: ...
    @property
    def until(self) -> datetime: ...
    @property
    def groups(self) -> Sequence[str]: ...
    @property
    def calls(self) -> int: ...
    @property
    def answered(self) -> int: ...
    @property
    def transfers(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def lost(self) -> int: ...
    @property
    def talk_seconds(self) -> int: ...
    @property
    def average_talk_s(self) -> float: ...
    @property
    def failure_reasons(self) -> Counter[int]: ...
    @property
    def cost(self) -> float: ...
    @property
    def costed(self) -> int: ...
    @property
    def missed_by(self) -> Sequence[tuple[str, int]]:
        """The agents who missed the most rings, with how many calls each."""
        ...


def _local(moment: datetime, display: ChatDisplay) -> datetime:
    return moment.astimezone(display.zone) if display.zone else moment


@in_chat_language
def digest_message(stats: DigestFigures, display: ChatDisplay) -> str:
    """The calls counted in a chat since its last digest, with the summary's counters."""
    since, until = _local(stats.since, display), _local(stats.until, display)
    day = "" if since.date() == until.date() else f"{short_day(since)} "
    lines = [
        _(
            "📊 <b>Calls since {day}{since}</b> (until {until})",
            day=day,
            since=f"{since:%H:%M}",
            until=f"{until:%H:%M}",
        )
    ]
    if stats.groups:
        shown = ", ".join(esc(g) for g in stats.groups[:5]) + (
            " …" if len(stats.groups) > 5 else ""
        )
        lines[0] += f" — {shown}"
    lines.append(
        counters_line(stats.calls, stats.answered, stats.transfers, stats.failures, stats.lost)
    )
    if stats.answered:
        lines.append(talk_time_line(stats.talk_seconds, stats.average_talk_s))
    reasons = failure_reasons_line(stats.failure_reasons)
    if reasons:
        lines.append(reasons)
    if stats.costed:
        lines.append(cost_line(stats.cost, stats.costed))
    if stats.missed_by:
        missed = ", ".join(f"{esc(agent)} ({n})" for agent, n in stats.missed_by)
        lines.append(
            _(
                "Agents who missed most rings: {missed}",
                missed=missed,
            )
        )
    return "\n".join(lines)
