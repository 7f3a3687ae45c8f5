"""Relay fixtures: a migrated database (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set),
stored pushes inserted the way the listener stores them, bound chats and routes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.relay.worker import BatchOutcome, RelayWorker
from storage.db import Database
from storage.models import (
    BoundChat,
    CallTask,
    GroupRoute,
    LiveMessage,
    OutboxMessage,
    PushInbox,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEAM, MANAGERS, TASK_CHAT = -100111, -100222, -100333


def ringing_event(**overrides: Any) -> dict[str, Any]:
    """The documented sample event (platform-api.md §4.2), with overrides."""
    event = {
        "callId": "250918183554315000287",
        "called": "919812345210",
        "noAnswerSipList": ["1344C025cb_002"],
        "calledInfo": None,
        "type": 1,
        "sipAccount": "1344C025cb_001",
        "callinEventTime": "2025-09-18 18:35:00",
        "taskId": 561235,
        "seatGroupName": "Sales-Team-1",
    }
    event.update(overrides)
    return event


def call_record(**overrides: Any) -> dict[str, Any]:
    """The documented sample record (platform-api.md §4.1), completed, with overrides."""
    record = {
        "agentGroupName": "Sales-Team-1",
        "agentName": "0705C049_053",
        "agentAccount": "0705C049_053",
        "answerTime": "2023-11-17 13:42:33",
        "callDuration": 15,
        "callEndTime": "2023-11-17 13:42:48",
        "callSessionId": "23111713424802472",
        "callId": "23111714122312000001",
        "callStartTime": "2023-11-17 13:42:30",
        "callType": 3,
        "called": "918613237978737",
        "calledInfo": "Priya, gold plan",
        "caller": "91778800001",
        "ccode": "91",
        "ccodeName": "India",
        "hangingDirection": 1,
        "hangupCode": "200",
        "hangupReason": 3,
        "labels": ["Intended customers"],
        "baseCost": "0.0100",
        "cost": "0.0120",
        "remark": "March leads",
        "voiceUrl": "https://recordings.example.com/23111713424802472.mp3",
    }
    record.update(overrides)
    return record


def add_push(db: Database, kind: str, body: Any, **columns: Any) -> int:
    """Store a push as the listener does: the raw body, pending."""
    raw = body if isinstance(body, str) else json.dumps(body)

    def store(session):  # noqa: ANN001, ANN202
        row = PushInbox(kind=kind, body=raw, **columns)
        session.add(row)
        session.flush()
        return row.id

    return db.call(store)


def add_pushes(db: Database, pushes: list[tuple[str, Any]]) -> None:
    """Store many pushes in one transaction (for tests that need a backlog)."""

    def store(session):  # noqa: ANN001, ANN202
        for kind, body in pushes:
            session.add(PushInbox(kind=kind, body=json.dumps(body)))

    db.call(store)


def bind(db: Database, chat_id: int, **settings: Any) -> None:
    def store(session):  # noqa: ANN001, ANN202
        session.add(BoundChat(**{"chat_id": chat_id, "title": f"chat {chat_id}", **settings}))

    db.call(store)


def route(
    db: Database, group_name: str, chat_id: int, group_id: int = 777, active: bool = True
) -> None:
    def store(session):  # noqa: ANN001, ANN202
        session.add(
            GroupRoute(
                voice_group_id=group_id, chat_id=chat_id, group_name=group_name, active=active
            )
        )

    db.call(store)


def add_task(db: Database, task_id: int, chat_id: int, **columns: Any) -> None:
    db.call(lambda s: s.add(CallTask(task_id=task_id, chat_id=chat_id, **columns)))


def outbox(db: Database, chat_id: int | None = None) -> list[OutboxMessage]:
    def load(session):  # noqa: ANN001, ANN202
        stmt = select(OutboxMessage).order_by(OutboxMessage.id)
        if chat_id is not None:
            stmt = stmt.where(OutboxMessage.chat_id == chat_id)
        return list(session.exec(stmt))

    return db.call(load)


def post_live_messages(db: Database) -> None:
    """What the sender records once a message with an edit_key is in the chat (its Telegram
    message, which later rows with that key edit): here for every such row, as if all were sent."""

    def post(session):  # noqa: ANN001, ANN202
        for row in session.exec(select(OutboxMessage).where(OutboxMessage.edit_key.is_not(None))):
            if session.get(LiveMessage, row.edit_key) is None:
                session.add(
                    LiveMessage(edit_key=row.edit_key, chat_id=row.chat_id, message_id=row.id)
                )
                session.flush()

    db.call(post)


def inbox(db: Database) -> list[PushInbox]:
    return db.call(lambda s: list(s.exec(select(PushInbox).order_by(PushInbox.id))))


def drain(worker: RelayWorker) -> BatchOutcome:
    """Run the worker until nothing is claimable."""
    total = BatchOutcome()
    while True:
        outcome = worker.run_once()
        if not outcome.claimed:
            return total
        total.add(outcome)


def platform_time(moment: datetime) -> str:
    """A moment as the platform writes it: yyyy-MM-dd HH:mm:ss in Shanghai time."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def recent_call(moment: datetime, **overrides: Any) -> dict[str, Any]:
    """A call record that started at `moment`, answered 3 s later and lasting `callDuration`."""
    duration = overrides.get("callDuration", 15)
    answered = overrides.get("answerTime", "yes") is not None
    times = {
        "callStartTime": platform_time(moment),
        "answerTime": platform_time(moment + timedelta(seconds=3)) if answered else None,
        "callEndTime": platform_time(moment + timedelta(seconds=3 + duration)),
    }
    return call_record(**{**overrides, **times})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def worker(database: Database) -> RelayWorker:
    return RelayWorker(database, platform_tz=SHANGHAI, default_zone=ZoneInfo("UTC"), name="test")


# The whole bot against the fake Bot API and the simulator, for the relay's chat commands.
from tests.bot.conftest import bot, bot_database_url, fast_bot  # noqa: E402, F401
