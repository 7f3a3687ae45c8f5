"""Every call of a team's tasks counts in the team's chat: which chats a call record is attributed
to when it is stored, and what the chat's figures, /calls and /routes then show (SQLite and
PostgreSQL, through the relay worker)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import xlwt
from sqlmodel import delete, select

from bot.relay.routing import unrouted_groups
from bot.relay.worker import RelayWorker
from bot.reports.figures import day_figures
from bot.reports.lookups import calls_to
from bot.services.task_callees import index_task_callees
from storage.db import Database
from storage.models import CallChat, GroupRoute, UploadPart, utcnow
from tests.relay.conftest import (
    TASK_CHAT,
    TEAM,
    add_push,
    add_task,
    bind,
    drain,
    recent_call,
    ringing_event,
    route,
)

UTC_ZONE = __import__("zoneinfo").ZoneInfo("UTC")


def _platform_file(rows: list[tuple[str, str, str]]) -> bytes:
    """A platform-ready .xls as the number pipeline writes it: phone, then callee information."""
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet1")
    for col, name in enumerate(("phone", "name", "plan")):
        sheet.write(0, col, name)
    for row, values in enumerate(rows, start=1):
        for col, value in enumerate(values):
            sheet.write(row, col, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _submitted(
    db: Database, task_id: int, chat_id: int, numbers: list[str], display: str | None = None
) -> None:
    """A task submitted from `chat_id` with these callees, indexed as submit_draft does."""
    add_task(db, task_id, chat_id, task_type=0, display_num=display)
    part = UploadPart(
        upload_id=0,
        file_name="leads.xls",
        content=_platform_file([(n, f"Customer {i}", "gold") for i, n in enumerate(numbers)]),
    )
    db.call(lambda s: index_task_callees(s, task_id, chat_id, part, utcnow() - timedelta(hours=1)))


def _figures(db: Database, chat_id: int, day: datetime | None = None):  # noqa: ANN202
    day = (day or utcnow()).date()
    return db.call(lambda s: day_figures(s, chat_id, day, UTC_ZONE))


def test_an_automatic_tasks_calls_count_in_its_chat_by_the_numbers_it_dialled(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TASK_CHAT)
    _submitted(database, 7001, TASK_CHAT, ["919812340001", "919812340002"])
    began = utcnow() - timedelta(minutes=5)
    # An automatic call: no agent group, no ringing event, no task id in the record.
    for i, number in enumerate(("919812340001", "919812340002", "919899999999")):
        add_push(
            database,
            "call",
            recent_call(
                began,
                callSessionId=f"auto-{i}",
                callId=None,
                agentGroupName=None,
                agentName=None,
                called=number,
                hangupReason=1,
            ),
        )
    drain(worker)
    figures = _figures(database, TASK_CHAT)
    assert (figures.calls, figures.answered) == (2, 2)  # the third number is not the task's
    # /calls finds a number the chat's task dialled.
    found = database.call(lambda s: calls_to(s, "919812340001", TASK_CHAT))
    assert [r.call_session_id for r in found] == ["auto-0"]
    # What no chat counts is shown to admins, as calls without an agent group.
    unrouted = database.call(lambda s: unrouted_groups(s, utcnow() - timedelta(hours=1)))
    assert [(g.group_name, g.call_records) for g in unrouted] == [(None, 1)]


def test_a_number_is_the_tasks_only_in_its_time_window_and_with_its_calling_number(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    bind(database, TASK_CHAT)
    _submitted(database, 7002, TASK_CHAT, ["919812340003"], display="91778800001")
    _submitted(database, 7003, TEAM, ["919812340003"], display="1555000")
    now = utcnow()
    add_push(
        database,
        "call",
        recent_call(
            now - timedelta(minutes=5),
            callSessionId="by-caller",
            callId=None,
            agentGroupName=None,
            called="919812340003",
            caller="91778800001",
        ),
    )
    add_push(  # a call of two weeks before the task: not the task's
        database,
        "call",
        recent_call(
            now - timedelta(days=14),
            callSessionId="too-early",
            callId=None,
            agentGroupName=None,
            called="919812340003",
            caller="91778800001",
        ),
    )
    drain(worker)
    links = database.call(
        lambda s: {(c.call_record_id, c.chat_id) for c in s.exec(select(CallChat))}
    )
    assert [chat for _, chat in links] == [TASK_CHAT]


def test_a_record_without_an_agent_group_counts_for_the_chat_of_its_task(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TASK_CHAT)
    add_task(database, 561235, TASK_CHAT)
    began = utcnow() - timedelta(minutes=5)
    # The call rang an agent (the ringing event carries the task), then the callee hung up.
    add_push(database, "ringing", [ringing_event(callId="lost-1", seatGroupName="Unrouted")])
    add_push(
        database,
        "call",
        recent_call(began, callId="lost-1", agentGroupName=None, agentName=None, hangupReason=2),
    )
    drain(worker)
    figures = _figures(database, TASK_CHAT)
    assert (figures.calls, figures.answered, figures.transfers, figures.lost) == (1, 1, 0, 1)


def test_a_group_name_matches_the_same_way_for_messages_and_figures(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM, notify_calls="each")
    route(database, "sumgrp1", TEAM)
    began = utcnow() - timedelta(minutes=5)
    add_push(database, "call", recent_call(began, callSessionId="u1", agentGroupName="SUMGRP1"))
    add_push(  # a zero-width space, as a copy from a spreadsheet carries
        database, "call", recent_call(began, callSessionId="u2", agentGroupName="sumgrp1\u200b")
    )
    outcome = drain(worker)
    assert outcome.messages == 2  # posted in the chat of sumgrp1 …
    assert _figures(database, TEAM).calls == 2  # … and counted there


def test_an_exact_name_wins_over_a_name_in_another_case(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    bind(database, TASK_CHAT)
    route(database, "sumgrp1", TEAM, group_id=1)
    route(database, "SUMGRP1", TASK_CHAT, group_id=2)
    add_push(database, "call", recent_call(utcnow(), callId=None, agentGroupName="SUMGRP1"))
    drain(worker)
    assert (_figures(database, TEAM).calls, _figures(database, TASK_CHAT).calls) == (0, 1)


def test_yesterday_keeps_the_routes_it_had_after_an_unroute(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM)
    yesterday = utcnow() - timedelta(days=1)
    add_push(database, "call", recent_call(yesterday, callSessionId="y1", callId=None))
    drain(worker)
    database.call(lambda s: s.exec(delete(GroupRoute)))  # /unroute Sales-Team-1
    add_push(database, "call", recent_call(utcnow(), callSessionId="t1", callId=None))
    drain(worker)
    assert _figures(database, TEAM, yesterday).calls == 1  # yesterday still shows yesterday
    assert _figures(database, TEAM).calls == 0  # today's call is no longer the team's


def test_the_callee_index_keeps_each_rows_information_with_its_column_names(
    database: Database,
) -> None:
    _submitted(database, 7004, TEAM, ["+91 98123 40009"])
    from storage.models import TaskCallee

    row = database.call(lambda s: s.get(TaskCallee, (7004, "919812340009")))
    assert row is not None and row.chat_id == TEAM and row.row == 1
    assert json.loads(row.info) == {"name": "Customer 0", "plan": "gold"}


def test_a_group_call_no_agent_answered_counts_under_its_tasks_agent_group(
    database: Database, worker: RelayWorker
) -> None:
    bind(database, TEAM)
    route(database, "Sales-Team-1", TEAM, group_id=4242)
    add_task(database, 561236, TEAM, task_type=1, voice_group_id=4242)
    began = utcnow() - timedelta(minutes=5)
    add_push(database, "ringing", [ringing_event(callId="grp-1", taskId=561236)])
    # The platform names no agent group in the record of a group call no agent answered.
    add_push(
        database,
        "call",
        recent_call(
            began, callSessionId="g1", callId="grp-1", agentGroupName=None, agentName=None
        ),
    )
    add_push(database, "call", recent_call(began, callSessionId="g2", callId="grp-2"))
    drain(worker)
    figures = _figures(database, TEAM)
    assert figures.calls == 2
    assert set(figures.by_group) == {"Sales-Team-1"}  # not "no agent group"
    assert figures.by_group["Sales-Team-1"].calls == 2
