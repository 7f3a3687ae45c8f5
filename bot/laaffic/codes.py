"""The platform's call codes in words a team lead understands (platform-api.md §3.19, §4.1):
hangupReason 0–9, hangingDirection 0/1/3 and callType 1–3. One table for the relay's messages,
summaries, digests, /calls, /export and /status."""

from __future__ import annotations

HANGUP_REASONS: dict[int, str] = {
    0: "the callee did not answer",
    1: "the call was answered and then hung up",
    2: "the callee hung up while an agent's phone was ringing",
    3: "hung up after the transfer to an agent",
    4: "the call failed",
    5: "the callee's operator gave no service",
    6: "the callee was out of the service area",
    7: "the callee was busy",
    8: "the inbound call was not answered",
    9: "the inbound call was hung up",
}
HANGUP_SHORT: dict[int, str] = {
    0: "no answer",
    1: "hung up",
    2: "hung up while an agent rang",
    3: "hung up after transfer",
    4: "call failed",
    5: "no operator service",
    6: "out of service area",
    7: "busy",
    8: "inbound not answered",
    9: "inbound hung up",
}
HANGING_DIRECTIONS: dict[int, str] = {
    0: "the customer hung up",
    1: "the agent hung up",
    3: "the system ended the call",
}
CALL_TYPES: dict[int, str] = {1: "group call", 2: "inbound call", 3: "outbound call"}


def hangup_reason(code: int | None) -> str:
    """The short words for a hangupReason ("busy"); -1 and None are "no reason given"."""
    if code is None or code == -1:
        return "no reason given"
    return HANGUP_SHORT.get(code, f"reason {code}")


def hung_up_by(code: int | None) -> str | None:
    """Who ended the call, as a sentence ("the customer hung up"); None when not given."""
    return None if code is None else HANGING_DIRECTIONS.get(code, f"hang-up side {code}")
