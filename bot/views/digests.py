"""The call digest: the call records routed to a chat since its last digest, summed up in one
message (for chats with `/notify calls digest`).

The figures come from the relay's digest job (`bot.relay.digest.DigestStats`); this module reads
them through `DigestFigures`, the shape it needs, so views never import the relay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.render import esc
from bot.views.relayed import HANGUP_SHORT
from bot.views.values import ChatDisplay, duration, names


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
    def average_talk_s(self) -> float: ...
    @property
    def hangup_reasons(self) -> Sequence[tuple[int | None, int]]:
        """The most frequent hang-up reasons, most frequent first, with their counts."""
        ...

    @property
    def missed_by(self) -> Sequence[tuple[str, int]]:
        """The agents who missed the most rings, with how many calls each."""
        ...


def digest_message(stats: DigestFigures, display: ChatDisplay) -> str:
    """Call records summed up since the last digest."""
    since = stats.since.astimezone(display.zone) if display.zone else stats.since
    until = stats.until.astimezone(display.zone) if display.zone else stats.until
    day = "" if since.date() == until.date() else f"{since:%d %b} "
    lines = [f"📊 <b>Calls since {day}{since:%H:%M}</b> (until {until:%H:%M})"]
    if stats.groups:
        lines[0] += f" — {names(stats.groups)}"
    rate = 100 * stats.answered / stats.calls if stats.calls else 0
    lines.append(f"Calls: {stats.calls} · answered {stats.answered} ({rate:.0f}%)")
    if stats.answered:
        lines.append(f"Average talk time: {duration(stats.average_talk_s)}")
    if stats.hangup_reasons:
        reasons = " · ".join(
            f"{esc(HANGUP_SHORT.get(r, f'reason {r}') if r is not None else 'unknown')} {n}"
            for r, n in stats.hangup_reasons
        )
        lines.append(f"Top hang-up reasons: {reasons}")
    if stats.missed_by:
        missed = ", ".join(f"{esc(agent)} ({n})" for agent, n in stats.missed_by)
        lines.append(f"Agents who missed most rings: {missed}")
    return "\n".join(lines)
