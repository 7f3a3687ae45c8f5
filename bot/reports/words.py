"""The platform's call codes in words a team lead understands (platform-api.md §3.19, §4.1)."""

from __future__ import annotations

HANGUP_REASONS: dict[int, str] = {
    0: "not answered",
    1: "answered, then hung up",
    2: "hung up while an agent's phone was ringing",
    3: "hung up after being transferred to an agent",
    4: "call failed",
    5: "no service on the callee's network",
    6: "callee out of the service area",
    7: "callee busy",
    8: "inbound call not answered",
    9: "inbound call hung up",
}

HANGING_DIRECTIONS: dict[int, str] = {0: "the customer", 1: "the agent", 3: "the system"}

CALL_TYPES: dict[int, str] = {1: "group call to agents", 2: "inbound", 3: "outbound"}


def hangup_reason(code: int | None) -> str:
    if code is None:
        return "no reason given"
    return HANGUP_REASONS.get(code, f"reason {code}")


def hung_up_by(code: int | None) -> str | None:
    return None if code is None else HANGING_DIRECTIONS.get(code, f"party {code}")


def duration(seconds: float | None) -> str:
    """12 → 0:12, 754 → 12:34, 4000 → 1:06:40."""
    if seconds is None:
        return "—"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
