"""The two pushes the platform sends (platform-api.md §4): ONE set of pydantic models, read by one
function, `read_push`, at the listener's door (`check_push`) and again by the relay when it takes
the stored body from the inbox (bot/relay/parse.py). What the door accepts is what the relay reads,
value for value, so a push answered 200 always becomes rows.

What a push needs, and what it may lack:
- A ringing push is a non-empty JSON array of objects, each with `callId` and `sipAccount`; a call
  record is one object with `callSessionId`. These ids are what a row is found and deduplicated by,
  so they must be there, be text or a whole number, fit their column (64, 128 and 64 characters),
  and not be blank once spaces and invisible characters (zero-width spaces, direction marks, …) are
  set aside. A push that fails one of these is refused at the door with one line saying which.
- Every other field is optional. A value that cannot be read (a cost of "abc", a number out of
  range, a name longer than its column, a list that is not a list) never costs the push: the push is
  kept without that value, which goes, as sent, into the row's `extra` JSON under `"unreadable"` with
  the reason. Unknown fields are kept in `extra` too.
- Every text is made storable on both databases: a NUL character (which PostgreSQL refuses in text)
  is removed, and half of a UTF-16 surrogate pair (a JSON `"\\ud800"` escape, which no database can
  encode) is replaced by U+FFFD. The ids are the exception at the door: an id holding either is
  refused, because a changed id could merge two different calls; the relay, reading rows an older
  door accepted, cleans them like any other text instead of losing the push.
- The loose parts the platform's docs allow: numbers sent as strings and ids sent as numbers are
  read, `null` and blank strings mean "not given", a list may come as one comma-separated string.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

# Column sizes (storage/models.py). PostgreSQL enforces them and SQLite does not, so they are
# checked here, the same way on both.
CALL_ID_MAX = 64
SIP_ACCOUNT_MAX = 128
CALL_SESSION_ID_MAX = 64
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1


class PushKind(StrEnum):
    """`PushInbox.kind`: how the listener classified the body."""

    RINGING = "ringing"  # agent ringing (§4.2): a JSON array of events
    CALL = "call"  # call-center call record (§4.1): one JSON object


class RejectReason(StrEnum):
    """Why a body was refused: the `reason` label of `ccbot_pushes_rejected`."""

    BAD_TOKEN = "bad_token"
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"  # empty, not UTF-8, or not parseable as JSON
    BAD_SHAPE = "bad_shape"  # JSON, but not an array of ringing events nor a call-record object
    BAD_TYPES = "bad_types"  # the right shape, but an id a row needs is unusable
    WRONG_ADDRESS = "wrong_address"  # a call record sent to /ringing, or ringing events to /calls


class PushRejected(ValueError):
    """A body that is not a push (or a stored push that cannot become rows); `message` is one line
    for the sender, naming the field, never quoting more than a few characters of the body."""

    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# ---- storable text ------------------------------------------------------------------------------

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Characters that show nothing: a value made only of these (and spaces) is blank.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # Hangul fillers, the blank Braille cell


def storable_text(text: str) -> str:
    """`text` without NUL, and with every lone surrogate replaced by U+FFFD. (A str decoded from
    JSON holds surrogates only alone: a proper pair is already one character.)"""
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def storable(value: Any) -> Any:
    """A decoded JSON value with every string in it (object keys too) made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def is_blank(text: str) -> bool:
    """Nothing a person could read: only spaces and invisible characters (or nothing)."""
    return all(
        c.isspace() or c in _FILLERS or unicodedata.category(c) in _INVISIBLE_CATEGORIES
        for c in text
    )


# ---- the field types ----------------------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and is_blank(value) else value


def _to_text(value: Any) -> Any:
    """Ids and codes arrive as strings or numbers; keep them as the digits sent."""
    value = _blank_to_none(value)
    if isinstance(value, bool):
        return value  # refused by the str type: true is not an id
    if isinstance(value, int):
        return str(value)
    return value


def _to_json_text(value: Any) -> Any:
    """calledInfo is documented as a string; the callee's uploaded columns may come as an object:
    kept as its JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _to_text(value)


def _to_str_list(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if not is_blank(part)]
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _to_cost(value: Any) -> Any:
    value = _blank_to_none(value)
    return value.strip() if isinstance(value, str) else value


# Written out as type aliases (not built by a function) so the type checker sees the fields' types.
Text = Annotated[str | None, BeforeValidator(_to_text)]
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
# SIP accounts: each one is a key of the ring-miss tables (128 characters, like sipAccount).
SipList = Annotated[
    list[Annotated[str, StringConstraints(max_length=SIP_ACCOUNT_MAX)]],
    BeforeValidator(_to_str_list),
]
# Finite: "Infinity" and "NaN" read as floats, and one such cost made every sum of costs "inf USD".
Cost = Annotated[
    Annotated[float, Field(ge=0, allow_inf_nan=False)] | None, BeforeValidator(_to_cost)
]


class _Push(BaseModel):
    # extra="allow": unknown fields are kept (in `extra`), never a reason to refuse a push.
    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, frozen=True)

    def unknown_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RingingEventPush(_Push):
    """One element of an agent-ringing push (§4.2). Several per call, sharing `callId`."""

    call_id: Id64 = Field(alias="callId")
    sip_account: Id128 = Field(alias="sipAccount")
    # 1 group-call transfer, 2 call-center transfer, 3 API-invoked call
    type: OptInt = Field(default=None, alias="type")
    task_id: OptBigInt = Field(default=None, alias="taskId")
    called: Text64 = Field(default=None, alias="called")
    called_info: CalledInfo = Field(default=None, alias="calledInfo")
    seat_group_name: Text128 = Field(default=None, alias="seatGroupName")
    no_answer_sip_list: SipList = Field(default_factory=list, alias="noAnswerSipList")
    # `yyyy-MM-dd HH:mm:ss` in the platform's zone; read as a time by the relay (parse.py).
    callin_event_time: Text32 = Field(default=None, alias="callinEventTime")


class CallRecordPush(_Push):
    """A call-center call record (§4.1): one object per push, unique by `callSessionId`."""

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
    call_duration: Seconds = Field(default=None, alias="callDuration")  # talk seconds
    call_type: OptInt = Field(default=None, alias="callType")  # 1 group, 2 in, 3 out
    hangup_code: Text32 = Field(default=None, alias="hangupCode")
    hangup_reason: OptInt = Field(default=None, alias="hangupReason")  # 0–9, §3.19
    hanging_direction: OptInt = Field(default=None, alias="hangingDirection")
    labels: StrList = Field(default_factory=list, alias="labels")
    base_cost: Cost = Field(default=None, alias="baseCost")  # USD
    cost: Cost = Field(default=None, alias="cost")
    remark: Text = Field(default=None, alias="remark")
    call_start_time: Text32 = Field(default=None, alias="callStartTime")
    answer_time: Text32 = Field(default=None, alias="answerTime")
    call_end_time: Text32 = Field(default=None, alias="callEndTime")
    voice_url: Text = Field(default=None, alias="voiceUrl")


P = TypeVar("P", bound=_Push)


@dataclass(frozen=True)
class Read(Generic[P]):
    """One event or record as read: the model, the optional values set aside (as sent, with the
    reason), and the object as decoded (storable), whose raw ids make the ringing dedupe key."""

    push: P
    unreadable: dict[str, Any]
    sent: dict[str, Any]


@dataclass(frozen=True)
class ReadPush:
    kind: PushKind
    events: list[Read[RingingEventPush]] = field(default_factory=list)
    record: Read[CallRecordPush] | None = None


@dataclass(frozen=True)
class AcceptedPush:
    """A body that passed the door: its kind, its JSON text as stored, and how it reads."""

    kind: PushKind
    text: str
    read: ReadPush


_WHAT = {
    PushKind.RINGING: "a JSON array of agent-ringing events",
    PushKind.CALL: "one call-record JSON object",
}
_ADDRESS = {PushKind.RINGING: "/ringing", PushKind.CALL: "/calls"}
_JSON_WS = b" \t\r\n"
_REQUIRED: dict[type[_Push], tuple[str, ...]] = {
    model: tuple(
        info.alias or name for name, info in model.model_fields.items() if info.is_required()
    )
    for model in (RingingEventPush, CallRecordPush)
}


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
    return AcceptedPush(kind, text, read_push(kind, text, strict_ids=True))


def read_push(kind: PushKind, text: str, *, strict_ids: bool = False) -> ReadPush:
    """The events or the record a push body holds; PushRejected (one line) when it has none.

    `strict_ids` (the door) refuses an id holding NUL or a lone surrogate; without it (the relay,
    reading what an older door stored) such an id is cleaned like any other text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PushRejected(
            RejectReason.NOT_JSON, f"The body is not JSON: {exc.msg} at position {exc.pos}."
        ) from None
    except ValueError as exc:  # valid syntax Python still refuses: an integer over 4,300 digits
        raise PushRejected(
            RejectReason.NOT_JSON, f"The body cannot be read as JSON: {_first_line(exc)}."
        ) from None
    # Only a \u escape can put NUL or a lone surrogate in a decoded string (raw ones are not
    # valid JSON or not UTF-8): without one the cleaning walk is skipped.
    clean = "\\u" in text
    if kind is PushKind.RINGING:
        if not isinstance(data, list):
            raise PushRejected(
                RejectReason.BAD_SHAPE, f"The ringing push is {_json_type(data)}, not an array."
            )
        if not data:
            raise PushRejected(
                RejectReason.BAD_SHAPE,
                "The ringing push is an empty array; it needs at least one event.",
            )
        events = []
        for i, item in enumerate(data, start=1):
            events.append(_read(RingingEventPush, item, f"Ringing event #{i}", clean, strict_ids))
        return ReadPush(kind, events=events)
    if not isinstance(data, dict):
        raise PushRejected(
            RejectReason.BAD_SHAPE, f"The call record is {_json_type(data)}, not one object."
        )
    return ReadPush(kind, record=_read(CallRecordPush, data, "The call record", clean, strict_ids))


def _read(model: type[P], item: Any, where: str, clean: bool, strict_ids: bool) -> Read[P]:
    """One object read with `model`. Optional fields that fail are set aside (as sent, with the
    reason) and the rest is read again; a failing id refuses the push."""
    if not isinstance(item, dict):
        raise PushRejected(RejectReason.BAD_SHAPE, f"{where} is not a JSON object.")
    required = _REQUIRED[model]
    if clean:
        if strict_ids:
            for name in required:
                value = item.get(name)
                if isinstance(value, str) and _UNSTORABLE.search(value):
                    raise PushRejected(
                        RejectReason.BAD_TYPES,
                        f"{where}: {name} holds a NUL character or half of a UTF-16 surrogate "
                        "pair, which cannot be stored; an id is kept exactly as sent or not at "
                        "all.",
                    )
        item = storable(item)
    unreadable: dict[str, Any] = {}
    try:
        return Read(model.model_validate(item), unreadable, item)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    bad = {str(error["loc"][0]) for error in errors if error["loc"]}
    if not bad or bad & set(required) or any(not error["loc"] for error in errors):
        raise _refusal(where, errors, item)
    for error in errors:
        name = str(error["loc"][0])
        unreadable.setdefault(name, {"sent": item.get(name), "reason": error["msg"]})
    try:
        push = model.model_validate({k: v for k, v in item.items() if k not in bad})
    except ValidationError as exc:  # not expected: only optional fields were left out
        raise _refusal(where, exc.errors(include_url=False), item) from None
    return Read(push, unreadable, item)


def _refusal(where: str, errors: list[Any], item: dict[str, Any]) -> PushRejected:
    """Pydantic's errors about the ids as one line: the wire field name, what was wrong."""
    first = errors[0]
    name = ".".join(str(p) for p in first["loc"]) or "value"
    sent = item.get(str(first["loc"][0])) if first["loc"] else None
    if first["type"] == "missing":
        reason, detail = RejectReason.BAD_SHAPE, f"{where} has no {name}, which is required"
    elif isinstance(sent, str) and is_blank(sent):
        reason = RejectReason.BAD_TYPES
        detail = f"{where}: {name} is blank (only spaces or invisible characters)"
    else:
        shown = json.dumps(sent, ensure_ascii=False, default=str)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        msg = first["msg"]
        reason = RejectReason.BAD_TYPES
        detail = f"{where}: {name}: {msg[:1].lower()}{msg[1:]} (sent {shown})"
    others = len(errors) - 1
    more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
    return PushRejected(reason, f"{detail}{more}.")


def _not_a_push(text: str) -> PushRejected:
    try:
        value = json.loads(text)
    except ValueError as exc:
        return PushRejected(RejectReason.NOT_JSON, f"The body is not JSON: {_first_line(exc)}.")
    return PushRejected(
        RejectReason.BAD_SHAPE,
        f"The body is {_json_type(value)}, not a push: a push is a JSON array of agent-ringing "
        "events or one call-record object.",
    )


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


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0].strip().rstrip(".") if str(exc) else type(exc).__name__
