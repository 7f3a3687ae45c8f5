"""A stored push (a `PushInbox` row) → the typed rows it stands for.

Pure functions: no database, no clock. The push is read with the same models and the same function
the listener's door used (bot/relay/push_shapes.py: one schema), so a push answered 200 becomes
rows here: what could stop it (an id a row cannot do without, a body that is not a push) was
refused at the door. A stored row that still cannot be read (one an older version stored, or a
body written by hand) gives one `ParseError` with a one-line reason, kept on the inbox row.

An optional field the platform sent in an unreadable form (a cost of "abc", a negative duration, a
time that is not a time, a value longer than its column) does not cost the whole record: the row is
kept without that value, and the value, as sent, goes into the row's `extra` JSON under
`"unreadable"` with the reason, so nothing the platform said is lost and the event is still relayed.

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

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.laaffic.models import parse_platform_time
from bot.relay.push_shapes import (
    CallRecordPush,
    PushKind,
    PushRejected,
    Read,
    RejectReason,
    RingingEventPush,
    read_push,
)

__all__ = ["ParseError", "ParsedCall", "ParsedPush", "ParsedRinging", "PushKind", "parse_push"]

# A stored push that cannot become rows: the same exception (and the same words) as the door's.
ParseError = PushRejected


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
        raise ParseError(
            RejectReason.BAD_SHAPE, f"unknown push kind {kind[:20]!r} (expected ringing or call)"
        ) from None
    read = read_push(push_kind, body)
    if read.record is not None:
        return ParsedPush(push_kind, call=call_row(read.record, platform_tz))
    return ParsedPush(push_kind, ringing=[ringing_row(event, platform_tz) for event in read.events])


def ringing_row(read: Read[RingingEventPush], platform_tz: tzinfo) -> ParsedRinging:
    push, unreadable = read.push, dict(read.unreadable)
    values = {
        "dedupe_key": dedupe_key(read.sent),
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
    values["extra"] = _extra(push.unknown_fields(), unreadable)
    return ParsedRinging(values)


def dedupe_key(sent: dict[str, Any]) -> str:
    """A ringing event's UNIQUE key, from the fields exactly as pushed (a retry repeats them byte
    for byte); a missing part is "" so the constraint still holds (NULLs would defeat it). A key
    longer than its column (an over-long time or type, set aside as unreadable) is replaced by its
    SHA-256, which a retry repeats just as well."""
    key = "|".join(
        _raw_part(sent.get(name)) for name in ("callId", "sipAccount", "callinEventTime", "type")
    )
    if len(key) > DEDUPE_KEY_MAX:
        return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


def call_row(read: Read[CallRecordPush], platform_tz: tzinfo) -> ParsedCall:
    push, unreadable = read.push, dict(read.unreadable)
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
    values["extra"] = _extra(push.unknown_fields(), unreadable)
    return ParsedCall(values)


def _extra(unknown: dict[str, Any], unreadable: dict[str, Any]) -> str:
    if unreadable:
        unknown["unreadable"] = unreadable
    return json.dumps(unknown, ensure_ascii=False, default=str)


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
