"""Time travel: when summaries are due across midnight and daylight-saving changes, and the tick
that sends each one exactly once (restarts and a second replica included)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.config import load_settings
from bot.reports.schedule import due_at, due_summaries, parse_time, run_summary_tick
from storage.db import Database
from storage.models import BoundChat, DailySummary, GroupRoute, OutboxMessage
from tests.reports.helpers import store_call

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


def _chat(at: str = "09:00", zone: str | None = None, **fields) -> BoundChat:  # noqa: ANN003
    fields.setdefault("bound_at", datetime(2026, 1, 1, tzinfo=UTC))
    return BoundChat(chat_id=-100, summary_time=at, summary_timezone=zone, **fields)


def _days(chat: BoundChat, now: datetime) -> list[date]:
    return [d.day for d in due_summaries(chat, now, UTC_ZONE)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18:00", time(18)),
        ("9:30", time(9, 30)),
        ("00:00", time(0)),
        ("24:00", None),
        ("9", None),
        ("18:60", None),
        ("١٨:٠٠", None),
        ("", None),
    ],
)
def test_summary_times_are_read_strictly(text: str, expected: time | None) -> None:
    assert parse_time(text) == expected


def test_the_previous_local_day_is_due_once_the_local_time_has_passed() -> None:
    chat = _chat("18:00", "Asia/Kolkata")
    # 18:00 in Kolkata is 12:30 UTC
    assert _days(chat, datetime(2026, 11, 30, 12, 29, tzinfo=UTC)) == [date(2026, 11, 28)]
    assert _days(chat, datetime(2026, 11, 30, 12, 30, tzinfo=UTC)) == [
        date(2026, 11, 28),
        date(2026, 11, 29),
    ]


def test_a_summary_just_after_midnight_belongs_to_the_day_that_just_ended() -> None:
    chat = _chat("00:05", "Europe/Berlin")
    now = datetime(2026, 11, 30, 23, 6, tzinfo=UTC)  # 00:06 on 1 Dec in Berlin
    assert _days(chat, now)[-1] == date(2026, 11, 30)


def test_spring_forward_neither_skips_nor_doubles_a_summary_inside_the_gap() -> None:
    # 2026-03-08: New York jumps from 02:00 to 03:00. A 02:30 summary is due after the jump.
    due = due_at(date(2026, 3, 7), time(2, 30), NEW_YORK)
    assert due == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT, the first instant past it
    before = due_at(date(2026, 3, 6), time(2, 30), NEW_YORK)
    after = due_at(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert before < due < after  # one per day, in order
    assert (after - due) == timedelta(hours=23)


def test_fall_back_sends_the_repeated_hour_once() -> None:
    # 2026-11-01: New York repeats 01:00–02:00. A 01:30 summary is due at the first 01:30.
    due = due_at(date(2026, 10, 31), time(1, 30), NEW_YORK)
    assert due == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    chat = _chat("01:30", "America/New_York")
    second_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
    assert _days(chat, second_0130) == [date(2026, 10, 30), date(2026, 10, 31)]  # not a new day


def test_days_before_the_chat_was_bound_are_not_owed() -> None:
    chat = _chat("09:00", bound_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    assert _days(chat, datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == []
    assert _days(chat, datetime(2026, 12, 1, 9, 0, tzinfo=UTC)) == [date(2026, 11, 30)]


def test_schedule_off_owes_nothing() -> None:
    chat = _chat("09:00", summary_enabled=False)
    assert _days(chat, datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == []


def _runtime(database: Database) -> SimpleNamespace:
    return SimpleNamespace(
        database=database,
        client=None,
        settings=load_settings(default_timezone="Europe/Berlin", retention_days=90),
    )


def _bind(database: Database, chat_id: int = -100, at: str = "09:00") -> None:
    with database.session() as s:
        s.add(
            BoundChat(
                chat_id=chat_id,
                title="Team",
                summary_time=at,
                bound_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )
        s.add(GroupRoute(voice_group_id=1, chat_id=chat_id, group_name="Team-A"))


def _summaries(database: Database) -> list[OutboxMessage]:
    with database.session() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "summary")))


async def test_the_tick_sends_each_days_summary_once_across_restarts(database: Database) -> None:
    _bind(database)
    with database.session() as s:
        store_call(
            s,
            call_start_at=datetime(2026, 11, 29, 12, tzinfo=UTC),
            answered=True,
            call_duration=42,
            agent_name="agent_1",
        )
    runtime = _runtime(database)
    # Berlin 09:00 on 30 Nov is 08:00 UTC; the bot was bound on 1 Nov, so 28 and 29 Nov are owed.
    before = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)
    assert await run_summary_tick(runtime, before) == 1  # 28 Nov's (due yesterday), late
    at_time = datetime(2026, 11, 30, 8, 0, 30, tzinfo=UTC)
    assert await run_summary_tick(runtime, at_time) == 1  # 29 Nov's, on time
    for minute in range(1, 5):  # later ticks, and a "restarted" process: nothing new
        assert await run_summary_tick(_runtime(database), at_time + timedelta(minutes=minute)) == 0
    with database.session() as s:
        rows = {r.local_date: r.late for r in s.exec(select(DailySummary))}
    assert rows == {date(2026, 11, 28): True, date(2026, 11, 29): False}
    texts = [m.text for m in _summaries(database)]
    assert len(texts) == 2
    on_time = next(t for t in texts if "29 Nov" in t)
    assert "Called <b>1</b> · answered 1 (100.0%)" in on_time and "agent_1" in on_time and "late" not in on_time
    late = next(t for t in texts if "28 Nov" in t)
    assert "Sent late" in late and "no calls counted in this chat" in late


async def test_two_replicas_ticking_at_once_send_one_summary(database: Database) -> None:
    _bind(database)
    now = datetime(2026, 11, 30, 8, 1, tzinfo=UTC)
    results = await asyncio.gather(
        run_summary_tick(_runtime(database), now),
        run_summary_tick(_runtime(Database(database.url)), now),
    )
    assert sum(results) == 2  # 28 and 29 Nov, each by exactly one of them
    assert len(_summaries(database)) == 2


async def test_a_changed_schedule_applies_at_the_next_tick(database: Database) -> None:
    _bind(database, at="18:00")
    runtime = _runtime(database)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 13:00 Berlin
    await run_summary_tick(runtime, now)  # 28 Nov's (due yesterday 18:00) goes out late
    assert {m.text.count("29 Nov") for m in _summaries(database)} == {0}
    with database.session() as s:
        chat = s.get(BoundChat, -100)
        chat.summary_time = "12:30"
        s.add(chat)
    assert await run_summary_tick(runtime, now + timedelta(minutes=1)) == 1  # 29 Nov's, now
    assert any("29 Nov" in m.text for m in _summaries(database))


@pytest.mark.parametrize(
    ("zone", "at", "first_day"),
    [
        ("America/New_York", "02:30", date(2026, 3, 6)),  # spring forward on 8 March
        ("America/New_York", "01:30", date(2026, 10, 30)),  # fall back on 1 November
        ("Asia/Kolkata", "00:00", date(2026, 11, 28)),  # midnight, a :30 offset
    ],
)
async def test_ticking_through_a_clock_change_sends_one_summary_per_day(
    database: Database, zone: str, at: str, first_day: date
) -> None:
    with database.session() as s:
        s.add(
            BoundChat(
                chat_id=-100,
                summary_time=at,
                summary_timezone=zone,
                bound_at=datetime.combine(first_day, time(12), tzinfo=UTC),
            )
        )
        s.add(GroupRoute(voice_group_id=1, chat_id=-100, group_name="Team-A"))
    runtime = _runtime(database)
    now = datetime.combine(first_day, time(12), tzinfo=UTC)
    while now < datetime.combine(first_day + timedelta(days=4), time(12), tzinfo=UTC):
        await run_summary_tick(runtime, now)
        now += timedelta(minutes=10)
    with database.session() as s:
        rows = s.exec(select(DailySummary).order_by(DailySummary.local_date)).all()
    # Four days of ticks every 10 minutes: each local day's summary once, the clock change
    # day included, none skipped, none doubled.
    assert [r.local_date for r in rows] == [first_day + timedelta(days=i) for i in range(4)]
    assert not any(r.late for r in rows)  # each within one tick of its time
    assert len(_summaries(database)) == 4


async def test_the_tasks_of_the_day_are_listed(database: Database) -> None:
    from storage.models import CallTask

    _bind(database)
    with database.session() as s:
        s.add(
            CallTask(
                task_id=5000123,
                chat_id=-100,
                remark="March <leads>",
                last_status=12,
                created_at=datetime(2026, 11, 29, 9, tzinfo=UTC),
            )
        )
    await run_summary_tick(_runtime(database), datetime(2026, 11, 30, 8, 1, tzinfo=UTC))
    text = next(m.text for m in _summaries(database) if "29 Nov" in m.text)
    assert "<b>Tasks</b>" in text and "5000123 “March &lt;leads&gt;”: completed" in text
