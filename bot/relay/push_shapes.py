"""The two pushes the platform sends (platform-api.md §4), as pydantic models, and the check the
listener runs at the door.

The models are tolerant where the docs are loose: unknown fields are kept (`model_extra`), numbers
sent as strings and strings sent as numbers are accepted, `null` (and `""` for a number) means
"not given". They are strict about what the relay cannot work without: a ringing push is a
non-empty JSON array of objects, each with `callId` and `sipAccount`; a call record is one object
with `callSessionId`; and a field that is there must have a usable type. The relay worker parses
the stored body with the same models (`parse_stored`), so a row in the inbox always parses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, from_json

from bot.relay.parse import ParseError, parse_push

# Column sizes of the relay tables for the values that identify a push (storage/models.py); a
# longer key could not be stored there, so it is refused here, where the body is still kept.
CALL_ID_MAX = 64
SIP_ACCOUNT_MAX = 128
CALL_SESSION_ID_MAX = 64
EVENT_TIME_MAX = 32
INT32 = 2**31 - 1
INT64 = 2**63 - 1


class PushKind(StrEnum):
    """`PushInbox.kind`."""

    RINGING = "ringing"  # agent ringing (§4.2): a JSON array of events
    CALL = "call"  # call-center call record (§4.1): one JSON object


class RejectReason(StrEnum):
    """Why a body was refused: the `reason` label of `ccbot_pushes_rejected`."""

    BAD_TOKEN = "bad_token"
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"  # empty, not UTF-8, or not parseable as JSON
    BAD_SHAPE = "bad_shape"  # JSON, but not an array of ringing events nor a call-record object
    BAD_TYPES = "bad_types"  # the right shape, with a field of the wrong type or out of range
    WRONG_ADDRESS = "wrong_address"  # a call record sent to /ringing, or ringing events to /calls


def _blank_is_none(value: Any) -> Any:
    # The docs type these as Int, but a loose sender may write "" for "no value".
    return None if isinstance(value, str) and not value.strip() else value


def _json_text(value: Any) -> Any:
    # calledInfo is documented as a string; the callee's uploaded columns might come as an object.
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


Int32 = Annotated[int, Field(ge=-INT32 - 1, le=INT32)]
Int64 = Annotated[int, Field(ge=-INT64 - 1, le=INT64)]
OptInt32 = Annotated[Int32 | None, BeforeValidator(_blank_is_none)]
OptInt64 = Annotated[Int64 | None, BeforeValidator(_blank_is_none)]
OptText = Annotated[str | None, BeforeValidator(_json_text)]
OptStrList = list[str] | None


class _Push(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, frozen=True)


class RingingEventPush(_Push):
    """One element of an agent-ringing push (§4.2). Several per call, sharing `callId`."""

    call_id: Annotated[str, Field(alias="callId", min_length=1, max_length=CALL_ID_MAX)]
    sip_account: Annotated[str, Field(alias="sipAccount", min_length=1, max_length=SIP_ACCOUNT_MAX)]
    # 1 group-call transfer, 2 call-center transfer, 3 API-invoked call
    event_type: OptInt32 = Field(default=None, alias="type")
    task_id: OptInt64 = Field(default=None, alias="taskId")
    called: str | None = None
    called_info: OptText = Field(default=None, alias="calledInfo")
    seat_group_name: str | None = Field(default=None, alias="seatGroupName")
    no_answer_sip_list: OptStrList = Field(default=None, alias="noAnswerSipList")
    # `yyyy-MM-dd HH:mm:ss` in the platform's zone (UTC+8); read by the relay, not here.
    callin_event_time: Annotated[
        str | None, Field(alias="callinEventTime", max_length=EVENT_TIME_MAX)
    ] = None


class CallRecordPush(_Push):
    """A call-center call record (§4.1): one object per push, unique by `callSessionId`."""

    call_session_id: Annotated[
        str, Field(alias="callSessionId", min_length=1, max_length=CALL_SESSION_ID_MAX)
    ]
    call_id: str | None = Field(default=None, alias="callId")
    called: str | None = None
    called_info: OptText = Field(default=None, alias="calledInfo")
    caller: str | None = None
    ccode: str | None = None
    ccode_name: str | None = Field(default=None, alias="ccodeName")
    agent_name: str | None = Field(default=None, alias="agentName")
    agent_group_name: str | None = Field(default=None, alias="agentGroupName")
    agent_account: str | None = Field(default=None, alias="agentAccount")
    call_duration: OptInt32 = Field(default=None, alias="callDuration")  # talk seconds
    call_type: OptInt32 = Field(default=None, alias="callType")  # 1 group, 2 in, 3 out
    hangup_code: str | None = Field(default=None, alias="hangupCode")
    hangup_reason: OptInt32 = Field(default=None, alias="hangupReason")  # 0–9, §3.19
    hanging_direction: OptInt32 = Field(default=None, alias="hangingDirection")
    labels: OptStrList = None
    # USD amounts as decimal strings ("0.0120"); kept as text so no precision is lost here.
    base_cost: str | None = Field(default=None, alias="baseCost")
    cost: str | None = None
    remark: str | None = None
    call_start_time: str | None = Field(default=None, alias="callStartTime")
    answer_time: str | None = Field(default=None, alias="answerTime")
    call_end_time: str | None = Field(default=None, alias="callEndTime")
    voice_url: str | None = Field(default=None, alias="voiceUrl")


_RINGING = TypeAdapter(Annotated[list[RingingEventPush], Field(min_length=1)])
_CALL = TypeAdapter(CallRecordPush)

_WHAT = {
    PushKind.RINGING: "a JSON array of agent-ringing events",
    PushKind.CALL: "one call-record JSON object",
}
_ADDRESS = {PushKind.RINGING: "/ringing", PushKind.CALL: "/calls"}
_JSON_WS = b" \t\r\n"


class PushRejected(Exception):
    """A body that is not a push; `message` is one line for the sender (no body contents)."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class AcceptedPush:
    """A body that passed the check: its kind, its JSON text as stored, and its parsed form."""

    kind: PushKind
    text: str
    events: tuple[RingingEventPush, ...] = ()
    record: CallRecordPush | None = None


def kind_of(raw: bytes) -> PushKind | None:
    """The push kind told from the body's first JSON character, None when it is neither."""
    start = raw.lstrip(_JSON_WS)
    if start.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
        start = start[3:].lstrip(_JSON_WS)
    first = start[:1]
    return PushKind.RINGING if first == b"[" else PushKind.CALL if first == b"{" else None


def check_push(raw: bytes, address_kind: PushKind | None = None) -> AcceptedPush:
    """Check a body the way the listener does; raise PushRejected with a one-line reason.

    `address_kind` is the kind the address names (/ringing, /calls), None for the shared address.
    Cheap and side-effect free: no database, no I/O.
    """
    if not raw.strip(_JSON_WS):
        raise PushRejected(RejectReason.NOT_JSON, "The body is empty; a push is a JSON document.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PushRejected(
            RejectReason.NOT_JSON, f"The body is not UTF-8 text (bad byte at offset {exc.start})."
        ) from None
    text = text.removeprefix("\ufeff")
    kind = kind_of(raw)
    if kind is None:
        raise _not_a_push(text)
    if address_kind is not None and kind is not address_kind:
        raise PushRejected(
            RejectReason.WRONG_ADDRESS,
            f"This address ({_ADDRESS[address_kind]}) takes {_WHAT[address_kind]}, but the body "
            f"is {_WHAT[kind]}: send it to {_ADDRESS[kind]} or to the push address itself.",
        )
    try:
        if kind is PushKind.RINGING:
            accepted = AcceptedPush(kind, text, events=tuple(_RINGING.validate_json(text)))
        else:
            accepted = AcceptedPush(kind, text, record=_CALL.validate_json(text))
    except ValidationError as exc:
        raise _explain(kind, exc.errors(include_url=False, include_input=False)) from None
    _relay_can_read(kind, text)
    return accepted


def _relay_can_read(kind: PushKind, text: str) -> None:
    """The relay's own reading (bot/relay/parse.py) as the last check, so that a push answered
    200 is one the relay will store and post: one rule, not two that could disagree. It fails
    only on what a row cannot do without (a callId, sipAccount or callSessionId that is blank
    once trimmed, too long, or not text); an unreadable optional field is kept aside there, not
    refused. Times do not matter for this check, so any zone will do."""
    try:
        parse_push(str(kind), text, UTC)
    except ParseError as exc:
        raise PushRejected(
            RejectReason.BAD_TYPES,
            f"This is {_WHAT[kind]}, but it cannot be stored: {exc}. Fix the field and send it "
            "again.",
        ) from None


def parse_stored(kind: str, body: str) -> list[RingingEventPush] | CallRecordPush:
    """Parse a `PushInbox` row (kind, body) back into its events or its record."""
    if kind == PushKind.RINGING:
        return _RINGING.validate_json(body)
    if kind == PushKind.CALL:
        return _CALL.validate_json(body)
    raise ValueError(f"unknown push kind {kind!r}")


def _not_a_push(text: str) -> PushRejected:
    try:
        value = from_json(text)
    except ValueError as exc:
        return PushRejected(RejectReason.NOT_JSON, f"The body is not JSON: {_first_line(exc)}.")
    what = {str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return PushRejected(
        RejectReason.BAD_SHAPE,
        f"The body is {what.get(type(value), 'null')}, not a push: a push is a JSON array of "
        f"agent-ringing events or one call-record object.",
    )


def _explain(kind: PushKind, errors: list[ErrorDetails]) -> PushRejected:
    first = errors[0]
    if first["type"] == "json_invalid":
        msg = first["msg"].removeprefix("Invalid JSON: ")
        return PushRejected(RejectReason.NOT_JSON, f"The body is not JSON: {msg}.")
    loc = list(first["loc"])
    if kind is PushKind.RINGING:
        if not loc:
            where = "The ringing push"
            if first["type"] == "too_short":
                return PushRejected(
                    RejectReason.BAD_SHAPE,
                    "The ringing push is an empty array; it needs at least one event.",
                )
        else:
            where = f"Ringing event #{int(loc.pop(0)) + 1}"
    else:
        where = "The call record"
    field = ".".join(str(part) for part in loc)
    missing = first["type"] == "missing"
    not_object = first["type"] in ("model_type", "model_attributes_type", "dict_type")
    reason = RejectReason.BAD_SHAPE if missing or not_object else RejectReason.BAD_TYPES
    if missing:
        detail = f"{where} has no {field}, which is required"
    elif not_object and not field:
        detail = f"{where} is not a JSON object"
    else:
        detail = f"{where}: {field or 'value'}: {first['msg'][:1].lower()}{first['msg'][1:]}"
    others = len(errors) - 1
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return PushRejected(reason, f"{detail}{more}.")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0].strip().rstrip(".") if str(exc) else type(exc).__name__
