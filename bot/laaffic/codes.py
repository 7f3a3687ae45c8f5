"""The platform's call codes in words a team lead understands (platform-api.md §3.19, §4.1):
hangupReason 0–9, hangingDirection 0/1/3 and callType 1–3. One table for the relay's messages,
summaries, digests, /calls, /export and /status."""

from __future__ import annotations

from bot.i18n import N_, _

HANGUP_REASONS: dict[int, str] = {
    0: N_("the callee did not answer"),
    1: N_("the call was answered and then hung up"),
    2: N_("the callee hung up while an agent's phone was ringing"),
    3: N_("hung up after the transfer to an agent"),
    4: N_("the call failed"),
    5: N_("the callee's operator gave no service"),
    6: N_("the callee was out of the service area"),
    7: N_("the callee was busy"),
    8: N_("the inbound call was not answered"),
    9: N_("the inbound call was hung up"),
}
HANGUP_SHORT: dict[int, str] = {
    0: N_("no answer"),
    1: N_("hung up"),
    2: N_("hung up while an agent rang"),
    3: N_("hung up after transfer"),
    4: N_("call failed"),
    5: N_("no operator service"),
    6: N_("out of service area"),
    7: N_("busy"),
    8: N_("inbound not answered"),
    9: N_("inbound hung up"),
}
HANGING_DIRECTIONS: dict[int, str] = {
    0: N_("the customer hung up"),
    1: N_("the agent hung up"),
    3: N_("the system ended the call"),
}
CALL_TYPES: dict[int, str] = {
    1: N_("group call"),
    2: N_("inbound call"),
    3: N_("outbound call"),
}


def hangup_reason(code: int | None) -> str:
    """The short words for a hangupReason ("busy"); -1 and None are "no reason given"."""
    if code is None or code == -1:
        return _("no reason given")
    return _(HANGUP_SHORT[code]) if code in HANGUP_SHORT else _("reason {code}", code=code)


def hung_up_by(code: int | None) -> str | None:
    """Who ended the call, as a sentence ("the customer hung up"); None when not given."""
    if code is None:
        return None
    if code in HANGING_DIRECTIONS:
        return _(HANGING_DIRECTIONS[code])
    return _("hang-up side {code}", code=code)


def hangup_words(code: int | None) -> str | None:
    """The sentence for a hangupReason ("the callee was busy"); None when not given."""
    if code is None:
        return None
    if code in HANGUP_REASONS:
        return _(HANGUP_REASONS[code])
    return _("hang-up reason {code}", code=code)


def call_type(code: int | None) -> str:
    """The kind of call in words ("group call"); "call" when not known."""
    return _(CALL_TYPES[code]) if code in CALL_TYPES else _("call")
