"""The relay's side of the screen pop on a real database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set): the outbox rows it writes in the relay's transaction, exactly once,
merged while unsent, edits after, nothing for rings the agent may not see."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from bot.relay.worker import RelayWorker
from storage.db import Database
from storage.models import (
    AgentLink,
    CallChat,
    CallRecord,
    ChatRole,
    OutboxMessage,
    PopRecipient,
    PopRing,
    ScreenPop,
    TaskCallee,
)
from tests.relay.conftest import (
    TEAM,
    add_push,
    add_task,
    bind,
    call_record,
    drain,
    outbox,
    ringing_event,
    route,
)

AGENT = 4004
SIP = "1344C025cb_001"
OTHER = "1344C025cb_002"


def linked_team(db: Database) -> None:
    bind(db, TEAM)
    route(db, "Sales-Team-1", TEAM, group_id=777)
    add_task(db, 561235, TEAM, remark="March leads")

    def store(s):  # noqa: ANN001, ANN202
        s.add(
            AgentLink(
                sip_account=SIP,
                user_id=AGENT,
                chat_id=TEAM,
                voice_group_id=777,
                group_name="Sales-Team-1",
                linked_by=1,
            )
        )
        s.add(PopRecipient(user_id=AGENT, started=True))
        s.add(
            TaskCallee(
                task_id=561235,
                callee_digits="919812345210",
                chat_id=TEAM,
                info=json.dumps({"Name": "Ravi Kumar", "City": "Pune"}),
            )
        )

    db.call(store)


def pops(db: Database) -> list[OutboxMessage]:
    return [m for m in outbox(db, AGENT) if m.kind in ("screen_pop", "pop_outcome")]


def test_a_ring_gives_one_pop_ahead_of_the_team_message_and_retries_add_nothing(
    database: Database, worker: RelayWorker
) -> None:
    linked_team(database)
    for _ in range(3):
        add_push(database, "ringing", [ringing_event(noAnswerSipList=[])])
    drain(worker)
    (pop,) = pops(database)
    team = [m for m in outbox(database, TEAM)]
    assert pop.kind == "screen_pop" and pop.urgency == 1 and pop.edit_key.startswith("pop:")
    assert pop.id < team[0].id  # stored first: ahead of the team chats' messages
    assert "Name: <b>Ravi Kumar</b>" in pop.text and "March leads" in pop.text
    assert "+91 9812345210" in pop.text and "First call to this number" in pop.text


def test_rings_for_one_agent_merge_while_unsent_and_the_call_record_edits_after_sending(
    database: Database, worker: RelayWorker
) -> None:
    linked_team(database)
    add_push(database, "ringing", [ringing_event(callId="a", noAnswerSipList=[])])
    drain(worker)
    add_push(database, "ringing", [ringing_event(callId="b", called="919800000002")])
    drain(worker)
    rows = pops(database)
    assert [m.status for m in rows] == ["withdrawn", "pending"]
    merged = rows[-1]
    assert merged.text.index("9800000002") < merged.text.index("Also rang just before (1)")
    assert "9812345210" in merged.text  # the older ring, one line
    assert len(database.call(lambda s: list(s.exec(select(ScreenPop))))) == 1
    # The sender sends it; the record of call "a" then edits the same pop.
    database.call(
        lambda s: s.execute(
            update(OutboxMessage).where(OutboxMessage.id == merged.id).values(status="sent")
        )
    )
    add_push(database, "call", call_record(callId="a", agentName=SIP, agentAccount=SIP))
    drain(worker)
    edit = pops(database)[-1]
    assert edit.kind == "pop_outcome" and edit.edit_key == merged.edit_key
    assert "Ravi Kumar · you took it" in edit.text  # call "a" is the older ring, one line
    # A new ring now is a new pop (the old one was sent), sent before the edit.
    add_push(database, "ringing", [ringing_event(callId="c", called="919800000003")])
    drain(worker)
    new = pops(database)[-1]
    assert new.kind == "screen_pop" and new.edit_key != merged.edit_key
    assert new.urgency < edit.urgency


def test_history_counts_only_the_linking_teams_calls(
    database: Database, worker: RelayWorker
) -> None:
    linked_team(database)
    now = datetime.now(UTC)

    def calls(s):  # noqa: ANN001, ANN202
        for n, chat in enumerate((TEAM, -100999, TEAM, TEAM, TEAM)):
            record = CallRecord(
                call_session_id=f"h{n}",
                called="919812345210",
                called_digits="919812345210",
                agent_name=f"agent_{n}",
                answered=True,
                call_duration=60 + n,
                call_start_at=now - timedelta(hours=n + 1),
            )
            s.add(record)
            s.flush()
            s.add(CallChat(call_record_id=record.id, chat_id=chat, call_start_at=record.call_start_at))

    database.call(calls)
    add_push(database, "ringing", [ringing_event(noAnswerSipList=[])])
    drain(worker)
    (pop,) = pops(database)
    shown = [f"agent_{n}" for n in range(5) if f"agent_{n}" in pop.text]
    assert shown == ["agent_0", "agent_2", "agent_3"]  # the last three of the team's, newest first


def test_rings_the_agent_may_not_see_give_nothing(database: Database, worker: RelayWorker) -> None:
    linked_team(database)
    add_push(database, "ringing", [ringing_event(callId="x1", seatGroupName="Other-Group")])
    add_push(database, "ringing", [ringing_event(callId="x2", sipAccount="stranger_001")])
    add_push(database, "ringing", [ringing_event(callId="x3", sipAccount=OTHER, noAnswerSipList=[SIP])])
    add_push(database, "call", call_record(callId="never-rang"))
    database.call(lambda s: s.add(ChatRole(chat_id=TEAM, user_id=AGENT, role="none")))
    add_push(database, "ringing", [ringing_event(callId="x4", noAnswerSipList=[])])
    outcome = drain(worker)
    assert outcome.failed == 0
    assert pops(database) == []
    assert database.call(lambda s: list(s.exec(select(PopRing)))) == []
