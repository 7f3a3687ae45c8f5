"""Typed rows for the relayed-message views, made from the documented sample pushes the way the
relay worker makes them (parsed, then stamped with the time they arrived)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from bot.relay.parse import parse_push
from storage.models import CallRecord, RingingEvent, utcnow
from tests.relay.conftest import SHANGHAI, call_record, ringing_event

# A push reaches us a moment after the platform's time in it.
ARRIVAL = timedelta(seconds=2)


def as_ringing(*, received_at: datetime | None = None, **overrides: object) -> RingingEvent:
    (event,) = parse_push("ringing", json.dumps([ringing_event(**overrides)]), SHANGHAI).ringing
    values = event.values
    arrived = received_at or (values["event_at"] + ARRIVAL if values["event_at"] else utcnow())
    return RingingEvent(**values, received_at=arrived)


def as_call(*, received_at: datetime | None = None, **overrides: object) -> CallRecord:
    values = parse_push("call", json.dumps(call_record(**overrides)), SHANGHAI).call.values
    started = values["call_start_at"]
    arrived = received_at or (started + ARRIVAL if started else utcnow())
    return CallRecord(**values, received_at=arrived)
