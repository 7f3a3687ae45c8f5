"""The platform's call codes in words a team lead understands (platform-api.md §3.19, §4.1)."""

from __future__ import annotations

from bot.views.relayed import CALL_TYPES, HANGING_DIRECTIONS, HANGUP_SHORT, duration

__all__ = [
    "CALL_TYPES",
    "HANGING_DIRECTIONS",
    "HANGUP_REASONS",
    "duration",
    "hangup_reason",
    "hung_up_by",
]

# One wording for the platform's codes and one way to write a duration: the relay's messages
# define them, summaries, /calls and /status use them (the short forms of the same table).
HANGUP_REASONS = HANGUP_SHORT


def hangup_reason(code: int | None) -> str:
    if code is None:
        return "no reason given"
    return HANGUP_REASONS.get(code, f"reason {code}")


def hung_up_by(code: int | None) -> str | None:
    """Who ended the call, as a sentence ("the customer hung up"); None when not given."""
    return None if code is None else HANGING_DIRECTIONS.get(code, f"hang-up side {code}")
