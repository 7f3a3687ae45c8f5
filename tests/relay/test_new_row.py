"""`new_row`: the relay's cheap way to build the typed rows it routes and renders."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, create_engine

from bot.relay.worker import new_row
from storage.models import CallRecord, RingingEvent

CALL = {
    "call_session_id": "s-1",
    "call_id": "c-1",
    "agent_group_name": "TAOTAO",
    "answered": True,
    "call_duration": 15,
    "received_at": datetime(2026, 12, 5, 4, 0, tzinfo=UTC),
    "inbox_id": 1,
}


def test_a_new_row_is_what_the_models_constructor_builds_with_the_defaults_filled_in() -> None:
    fast, slow = new_row(CallRecord, dict(CALL)), CallRecord(**CALL)
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set == set(CALL)
    assert fast.id is None and inspect(fast).transient
    ringing = {"dedupe_key": "k", "call_id": "c-1", "received_at": CALL["received_at"]}
    assert new_row(RingingEvent, ringing).model_dump() == RingingEvent(**ringing).model_dump()


def test_a_new_row_takes_its_id_and_can_still_be_stored_through_a_session() -> None:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    row = new_row(CallRecord, dict(CALL))
    with Session(engine) as session:
        session.add(row)
        session.commit()
        stored = session.get(CallRecord, row.id)
        assert stored is not None and stored.call_session_id == "s-1" and stored.answered
    row.id = 7
    assert row.id == 7
    engine.dispose()
