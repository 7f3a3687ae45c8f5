"""A stored push (a `PushInbox` row) → the typed rows it stands for.

Pure functions: no database, no clock. The listener has already told a ringing push (a JSON array)
from a call record (one object); here every field is checked against what the platform documents
(platform-api.md §4) and the columns can hold. A push becomes typed rows, or one `ParseError` with
a one-line reason that is kept on the inbox row when a field the row cannot do without (callId,
sipAccount, callSessionId) is missing or unreadable, or the body is not a push at all. An optional
field the platform sent in an unreadable form (a cost of "abc", a negative duration, a time that is
not a time, a value longer than its column) does not cost the whole record: the row is kept without
that value, and the value, exactly as sent, goes into the row's `extra` JSON under `"unreadable"`
with the reason, so nothing the platform said is lost and the event is still relayed.

Decisions worth knowing:
- Platform times (`yyyy-MM-dd HH:mm:ss`) are wall times in `PLATFORM_TIMEZONE` (UTC+8 by default);
  they are stored as aware UTC datetimes. ISO-8601 with an offset is read as it says.
- A call counts as **answered** when the callee picked up: `answerTime` is present, or, when the
  platform leaves it out, `callDuration > 0`. (A group call whose customer answered but no agent
  took the transfer is answered: hangupReason 2 says the rest.)
- Fields the platform sends that we do not know are kept, as sent, in the row's `extra` JSON.
- Empty strings count as missing, numbers may come as strings (the platform is loose about both).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from bot.laaffic.models import parse_platform_time


class PushKind(StrEnum):
    """`PushInbox.kind`: how the listener classified the body."""

    RINGING = "ringing"  # a JSON array of agent-ringing events (push P2)
    CALL = "call"  # one call-record object (push P1)


class ParseError(ValueError):
    """The stored push cannot become typed rows; the message says why, in one line."""


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _to_text(value: Any) -> Any:
    """Ids and codes arrive as strings or numbers; keep them as the digits sent."""
    value = _blank_to_none(value)
    if isinstance(value, bool):
        return value  # rejected by the str type: true is not an id
    if isinstance(value, int):
        return str(value)
    return value


def _to_json_text(value: Any) -> Any:
    """calledInfo is documented as a string; the callee's uploaded columns may come as an object
    (the listener accepts that too, bot/relay/push_shapes.py): kept as its JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _to_text(value)


def _to_str_list(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _to_cost(value: Any) -> Any:
    value = _blank_to_none(value)
    if isinstance(value, str):
        return value.strip()
    return value


# Lengths are the columns' (PostgreSQL enforces them; SQLite would not, so they are checked here).
# Written out as type aliases (not built by a function) so the type checker sees the fields' types.
Text = Annotated[
    Annotated[str, StringConstraints(max_length=None)] | None, BeforeValidator(_to_text)
]
Text8 = Annotated[Annotated[str, StringConstraints(max_length=8)] | None, BeforeValidator(_to_text)]
Text32 = Annotated[
    Annotated[str, StringConstraints(max_length=32)] | None, BeforeValidator(_to_text)
]
Text64 = Annotated[
    Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(_to_text)
]
Text128 = Annotated[
    Annotated[str, StringConstraints(max_length=128)] | None, BeforeValidator(_to_text)
]
Id64 = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=64)], BeforeValidator(_to_text)
]
Id128 = Annotated[
    Annotated[str, StringConstraints(min_length=1, max_length=128)], BeforeValidator(_to_text)
]
CalledInfo = Annotated[str | None, BeforeValidator(_to_json_text)]
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1

# Optional numbers: blank → None, otherwise within the column's range.
OptInt = Annotated[
    Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)] | None, BeforeValidator(_blank_to_none)
]
OptBigInt = Annotated[
    Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)] | None, BeforeValidator(_blank_to_none)
]
Seconds = Annotated[
    Annotated[int, Field(ge=0, le=INT32_MAX)] | None, BeforeValidator(_blank_to_none)
]
StrList = Annotated[list[str], BeforeValidator(_to_str_list)]
# Finite: "Infinity" and "NaN" read as floats, and one such cost made every sum of costs
# (the message, the day's summary) "inf USD".
Cost = Annotated[
    Annotated[float, Field(ge=0, allow_inf_nan=False)] | None, BeforeValidator(_to_cost)
]


class _Push(BaseModel):
    # extra="allow": unknown fields are kept (in `extra`), never a reason to refuse a push.
    model_config = ConfigDict(populate_by_name=True, extra="allow", str_strip_whitespace=True)

    def unknown_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RingingPush(_Push):
    """One agent-ringing event as pushed (platform-api.md §4.2)."""

    call_id: Id64 = Field(alias="callId")
    type: OptInt = Field(default=None, alias="type")
    task_id: OptBigInt = Field(default=None, alias="taskId")
    called: Text64 = Field(default=None, alias="called")
    called_info: CalledInfo = Field(default=None, alias="calledInfo")
    seat_group_name: Text128 = Field(default=None, alias="seatGroupName")
    no_answer_sip_list: StrList = Field(default_factory=list, alias="noAnswerSipList")
    sip_account: Id128 = Field(alias="sipAccount")
    callin_event_time: Text32 = Field(default=None, alias="callinEventTime")


class CallRecordPush(_Push):
    """One call-center call record as pushed (platform-api.md §4.1)."""

    call_session_id: Id64 = Field(alias="callSessionId")
    call_id: Text64 = Field(default=None, alias="callId")
    called: Text64 = Field(default=None, alias="called")
    called_info: CalledInfo = Field(default=None, alias="calledInfo")
    caller: Text64 = Field(default=None, alias="caller")
    ccode: Text8 = Field(default=None, alias="ccode")
    ccode_name: Text64 = Field(default=None, alias="ccodeName")
    agent_name: Text128 = Field(default=None, alias="agentName")
    agent_group_name: Text128 = Field(default=None, alias="agentGroupName")
    agent_account: Text128 = Field(default=None, alias="agentAccount")
    call_duration: Seconds = Field(default=None, alias="callDuration")
    call_type: OptInt = Field(default=None, alias="callType")
    hangup_code: Text32 = Field(default=None, alias="hangupCode")
    hangup_reason: OptInt = Field(default=None, alias="hangupReason")
    hanging_direction: OptInt = Field(default=None, alias="hangingDirection")
    labels: StrList = Field(default_factory=list, alias="labels")
    base_cost: Cost = Field(default=None, alias="baseCost")
    cost: Cost = Field(default=None, alias="cost")
    remark: Text = Field(default=None, alias="remark")
    call_start_time: Text32 = Field(default=None, alias="callStartTime")
    answer_time: Text32 = Field(default=None, alias="answerTime")
    call_end_time: Text32 = Field(default=None, alias="callEndTime")
    voice_url: Text = Field(default=None, alias="voiceUrl")


@dataclass
class ParsedRinging:
    """Column values of one `RingingEvent` (no id, no inbox id, no received_at)."""

    values: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        return self.values["dedupe_key"]


@dataclass
class ParsedCall:
    """Column values of one `CallRecord` (no id, no inbox id, no received_at)."""

    values: dict[str, Any]


@dataclass
class ParsedPush:
    kind: PushKind
    ringing: list[ParsedRinging] = field(default_factory=list)
    call: ParsedCall | None = None


DEDUPE_KEY_MAX = 256
_NON_DIGITS = re.compile(r"\D+")


def parse_push(kind: str, body: str, platform_tz: tzinfo) -> ParsedPush:
    """The typed rows of one stored push; `ParseError` (one line) when it cannot be read."""
    try:
        # "record" is the simulator's word for a call-record push; read it the same way.
        push_kind = PushKind.CALL if kind == "record" else PushKind(kind)
    except ValueError:
        raise ParseError(f"unknown push kind {kind[:20]!r} (expected ringing or call)") from None
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ParseError(f"the body is not JSON ({exc.msg} at position {exc.pos})") from None
    except ValueError as exc:  # not a syntax error: e.g. an integer over Python's digit limit
        raise ParseError(f"the body cannot be read as JSON ({exc})") from None
    if push_kind is PushKind.RINGING:
        if not isinstance(data, list):
            raise ParseError(f"a ringing push is a JSON array of events, not {_json_type(data)}")
        events = []
        for i, item in enumerate(data, start=1):
            where = f"event {i} of {len(data)}"
            if not isinstance(item, dict):
                raise ParseError(f"{where} is {_json_type(item)}, not an object")
            events.append(parse_ringing_event(item, platform_tz, where=where))
        return ParsedPush(push_kind, ringing=events)
    if not isinstance(data, dict):
        raise ParseError(f"a call-record push is one JSON object, not {_json_type(data)}")
    return ParsedPush(push_kind, call=parse_call_record(data, platform_tz))


def parse_ringing_event(
    item: dict[str, Any], platform_tz: tzinfo, *, where: str = "event"
) -> ParsedRinging:
    unreadable: dict[str, Any] = {}
    push = _validate(RingingPush, item, where, unreadable)
    # The key is built from the fields exactly as pushed (a retry repeats them byte for byte);
    # a missing part is "" so the UNIQUE constraint still holds (NULLs would defeat it).
    key = "|".join(
        _raw_part(item.get(name)) for name in ("callId", "sipAccount", "callinEventTime", "type")
    )
    if len(key) > DEDUPE_KEY_MAX:
        raise ParseError(
            f"{where}: callId, sipAccount, callinEventTime and type are too long together"
        )
    values = {
        "dedupe_key": key,
        "call_id": push.call_id,
        "event_type": push.type,
        "task_id": push.task_id,
        "called": push.called,
        "called_info": push.called_info,
        "group_name": push.seat_group_name,
        "sip_account": push.sip_account,
        "no_answer_sip_list": json.dumps(push.no_answer_sip_list, ensure_ascii=False),
        "event_at": _time(push.callin_event_time, "callinEventTime", platform_tz, unreadable),
    }
    values["extra"] = _extra(push, unreadable)
    return ParsedRinging(values)


def parse_call_record(item: dict[str, Any], platform_tz: tzinfo) -> ParsedCall:
    where = "call record"
    unreadable: dict[str, Any] = {}
    push = _validate(CallRecordPush, item, where, unreadable)
    duration = push.call_duration or 0
    answer_at = _time(push.answer_time, "answerTime", platform_tz, unreadable)
    values = {
        "call_session_id": push.call_session_id,
        "call_id": push.call_id,
        "called": push.called,
        "called_digits": _digits(push.called),
        "called_info": push.called_info,
        "caller": push.caller,
        "ccode": push.ccode,
        "ccode_name": push.ccode_name,
        "agent_name": push.agent_name,
        "agent_group_name": push.agent_group_name,
        "agent_account": push.agent_account,
        "call_duration": duration,
        "answered": answer_at is not None or duration > 0,
        "call_type": push.call_type,
        "hangup_code": push.hangup_code,
        "hangup_reason": push.hangup_reason,
        "hanging_direction": push.hanging_direction,
        "labels": json.dumps(push.labels, ensure_ascii=False),
        "base_cost": push.base_cost,
        "cost": push.cost,
        "remark": push.remark,
        "call_start_at": _time(push.call_start_time, "callStartTime", platform_tz, unreadable),
        "answer_at": answer_at,
        "call_end_at": _time(push.call_end_time, "callEndTime", platform_tz, unreadable),
        "voice_url": push.voice_url,
    }
    values["extra"] = _extra(push, unreadable)
    return ParsedCall(values)


def _extra(push: _Push, unreadable: dict[str, Any]) -> str:
    extra = push.unknown_fields()
    if unreadable:
        extra["unreadable"] = unreadable
    return json.dumps(extra, ensure_ascii=False, default=str)


def _validate(
    model: type[_Push], item: dict[str, Any], where: str, unreadable: dict[str, Any]
) -> Any:
    """The validated push. Optional fields that fail are set aside into `unreadable` (as sent,
    with the reason) and the rest is validated again; a failing required field is a ParseError."""
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        errors = exc.errors()
        bad = {str(error["loc"][0]) for error in errors if error["loc"]}
        required = {
            info.alias or name for name, info in model.model_fields.items() if info.is_required()
        }
        if not bad or bad & required or any(not error["loc"] for error in errors):
            raise ParseError(f"{where}: {_describe(exc, item)}") from None
    for error in errors:
        name = str(error["loc"][0])
        unreadable.setdefault(name, {"sent": item.get(name), "reason": error["msg"]})
    try:
        return model.model_validate({k: v for k, v in item.items() if k not in bad})
    except ValidationError as exc:
        raise ParseError(f"{where}: {_describe(exc, item)}") from None


def _describe(exc: ValidationError, item: dict[str, Any]) -> str:
    """Pydantic's errors as one line: the wire field name, what was wrong, what was sent."""
    parts = []
    for error in exc.errors()[:3]:
        name = ".".join(str(p) for p in error["loc"]) or "body"
        if error["type"] == "missing":
            parts.append(f"{name} is missing")
            continue
        sent_raw = item.get(name) if len(error["loc"]) == 1 else None
        if error.get("input") is None and isinstance(sent_raw, str) and not sent_raw.strip():
            parts.append(f"{name} is blank (only spaces or invisible characters)")
            continue
        sent = error.get("input")
        shown = json.dumps(sent, ensure_ascii=False, default=str)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        parts.append(f"{name}: {error['msg'][0].lower()}{error['msg'][1:]} (sent {shown})")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _time(value: str | None, name: str, tz: tzinfo, unreadable: dict[str, Any]) -> datetime | None:
    """A platform time in UTC; one that is not a time is set aside into `unreadable`."""
    if value is None:
        return None
    try:
        moment = parse_platform_time(value, tz)
    except (ValueError, OverflowError, OSError):
        unreadable[name] = {"sent": value, "reason": "not a time (expected yyyy-MM-dd HH:mm:ss)"}
        return None
    return None if moment is None else moment.astimezone(UTC)


def _digits(number: str | None) -> str | None:
    digits = _NON_DIGITS.sub("", number or "")[:32]
    return digits or None


def _raw_part(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"
