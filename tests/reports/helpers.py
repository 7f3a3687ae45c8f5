"""Storing call records and ringing events the way the relay does: the typed row, the chats it is
attributed to (the relay's `Router`, unless `chats` is given), then its rollups, in one
transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count
from typing import Any

from sqlmodel import Session

from bot.relay.routing import Router
from bot.reports.rollups import count_call, count_ringing
from storage.models import CallRecord, RingingEvent

_ids = count(1)


def store_call(session: Session, *, chats: list[int] | None = None, **fields: Any) -> CallRecord:
    fields.setdefault("call_session_id", f"S{next(_ids):08d}")
    fields.setdefault("agent_group_name", "Team-A")
    fields.setdefault("call_start_at", datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    record = CallRecord(**fields)
    session.add(record)
    session.flush()
    if chats is None:
        chats = [chat.chat_id for chat in Router(session).call_targets(record)]
    count_call(session, record, chats)
    return record


def store_ringing(
    session: Session,
    *,
    no_answer: list[str] = (),  # type: ignore[assignment]
    chats: list[int] | None = None,
    **fields: Any,
) -> RingingEvent:
    fields.setdefault("call_id", f"C{next(_ids):08d}")
    fields.setdefault("group_name", "Team-A")
    fields.setdefault("event_at", datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    fields.setdefault(
        "dedupe_key",
        f"{fields['call_id']}|{fields.get('sip_account')}|{fields['event_at']}|{fields.get('event_type')}",
    )
    event = RingingEvent(no_answer_sip_list=json.dumps(list(no_answer)), **fields)
    session.add(event)
    session.flush()
    if chats is None:
        chats = [c.chat_id for c in Router(session).ringing_targets(event.group_name, event.task_id)]
    count_ringing(session, event, chats)
    return event
