"""A small fixed day of records, counted by hand, against the rollups and a recount of the rows."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.reports.figures import day_figures, figures_from_records
from bot.reports.lookups import day_records
from bot.reports.rollups import agent_of
from storage.db import Database
from storage.models import BoundChat, GroupRoute
from tests.reports.helpers import store_call, store_ringing

KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30: local hours are not UTC hours
CHAT = -1001000000001
DAY = date(2026, 11, 30)


def _at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KOLKATA).astimezone(UTC)


def _team(database: Database, groups: tuple[str, ...] = ("Team-A", "Team-B")) -> None:
    """A bound chat CHAT with these agent groups routed to it."""
    with database.session() as s:
        s.add(BoundChat(chat_id=CHAT, title="team"))
        for i, name in enumerate(groups, start=1):
            s.add(GroupRoute(voice_group_id=i, chat_id=CHAT, group_name=name))


def _fixed_day(database: Database) -> None:
    _team(database)
    with database.session() as s:
        # 09:10 local: answered by agent_1, 60 s, transferred (reason 3), cost 0.10
        store_call(
            s,
            call_start_at=_at(9, 10),
            agent_name="agent_1",
            answered=True,
            call_duration=60,
            call_type=1,
            hangup_reason=3,
            cost=0.10,
        )
        # 09:50 local: answered by agent_2, 30 s, hung up after answer (1), cost 0.05
        store_call(
            s,
            call_start_at=_at(9, 50),
            agent_name="agent_2",
            answered=True,
            call_duration=30,
            call_type=3,
            hangup_reason=1,
            cost=0.05,
        )
        # 14:05 local: busy (7) — a failure, not answered, no cost
        store_call(s, call_start_at=_at(14, 5), answered=False, call_type=3, hangup_reason=7)
        # 23:59 local: not answered (0), Team-B
        store_call(
            s,
            call_start_at=_at(23, 59),
            agent_group_name="Team-B",
            answered=False,
            call_type=3,
            hangup_reason=0,
        )
        # Outside the local day (00:10 local the next day, and 23:50 the day before): not counted
        store_call(
            s, call_start_at=_at(0, 10, DAY + timedelta(days=1)), answered=True, call_duration=5
        )
        store_call(
            s, call_start_at=_at(23, 50, DAY - timedelta(days=1)), answered=True, call_duration=7
        )
        # A group not routed to the chat: not counted
        store_call(
            s, call_start_at=_at(12), agent_group_name="Other", answered=True, call_duration=99
        )
        # One call rang agent_1, agent_2, agent_3 in turn: agent_1 and agent_2 missed it once each,
        # although agent_1 is listed twice (the list is cumulative).
        store_ringing(s, call_id="X1", sip_account="agent_1", event_at=_at(9, 0))
        store_ringing(
            s, call_id="X1", sip_account="agent_2", event_at=_at(9, 0), no_answer=["agent_1"]
        )
        store_ringing(
            s,
            call_id="X1",
            sip_account="agent_3",
            event_at=_at(9, 1),
            no_answer=["agent_1", "agent_2"],
        )
        # Another call missed by agent_1
        store_ringing(
            s, call_id="X2", sip_account="agent_2", event_at=_at(15, 0), no_answer=["agent_1"]
        )


def test_a_fixed_day_adds_up_to_the_hand_computed_figures(database: Database) -> None:
    _fixed_day(database)
    with database.session() as s:
        f = day_figures(s, CHAT, DAY, KOLKATA)
    assert (f.calls, f.answered, f.talk_seconds) == (4, 2, 90)
    # Failed: not answered by the callee (busy, no answer), as the task card counts them.
    assert (f.transfers, f.lost, f.failures, f.costed) == (1, 0, 2, 2)
    assert dict(f.failure_reasons) == {7: 1, 0: 1}
    assert round(f.cost, 2) == 0.15
    assert f.answer_rate == 0.5 and f.average_talk == 45
    assert {g: (t.calls, t.answered) for g, t in f.by_group.items()} == {
        "Team-A": (3, 2),
        "Team-B": (1, 0),
    }
    assert {a: (t.answered, t.talk_seconds) for a, t in f.by_agent.items()} == {
        "agent_1": (1, 60),
        "agent_2": (1, 30),
    }
    assert dict(f.hangup_reasons) == {3: 1, 1: 1, 7: 1, 0: 1}
    assert dict(f.missed_rings) == {"agent_1": 2, "agent_2": 1}
    assert f.hours[9] == [2, 0] and f.hours[14] == [0, 1] and f.hours[23] == [0, 1]
    assert sum(a + b for a, b in f.hours) == 4


def test_rollups_match_a_recount_of_the_raw_records(database: Database) -> None:
    rng = random.Random(7)
    start = _at(0)
    _team(database)
    with database.session() as s:
        for _ in range(600):
            answered = rng.random() < 0.6
            store_call(
                s,
                call_start_at=start + timedelta(seconds=rng.randrange(0, 86_400)),
                agent_group_name=rng.choice(["Team-A", "Team-B", "Team-C"]),
                agent_name=rng.choice([None, "a1", "a2", "a3"]),
                answered=answered,
                call_duration=rng.randrange(1, 300) if answered else 0,
                call_type=rng.choice([1, 3]),
                hangup_reason=rng.choice([None, *range(10)]),
                cost=rng.choice([None, 0.01 * rng.randrange(1, 50)]),
            )
        for i in range(200):
            call = f"R{i // 3}"
            store_ringing(
                s,
                call_id=call,
                sip_account=f"a{i % 4}",
                event_at=start + timedelta(seconds=rng.randrange(0, 86_400)),
                group_name=rng.choice(["Team-A", "Team-B"]),
                no_answer=rng.sample(["a0", "a1", "a2", "a3"], rng.randrange(0, 3)),
            )
    with database.session() as s:
        fast = day_figures(s, CHAT, DAY, KOLKATA)
        slow = figures_from_records(s, CHAT, DAY, KOLKATA)
    assert fast.calls == slow.calls > 0
    assert (
        fast.answered,
        fast.talk_seconds,
        fast.transfers,
        fast.lost,
        fast.failures,
        fast.costed,
    ) == (slow.answered, slow.talk_seconds, slow.transfers, slow.lost, slow.failures, slow.costed)
    assert fast.failure_reasons == slow.failure_reasons
    assert fast.missed_rings == slow.missed_rings
    assert round(fast.cost, 6) == round(slow.cost, 6)
    assert {k: vars(v) for k, v in fast.by_group.items()} == {
        k: vars(v) for k, v in slow.by_group.items()
    }
    assert {k: vars(v) for k, v in fast.by_agent.items()} == {
        k: vars(v) for k, v in slow.by_agent.items()
    }
    assert fast.hangup_reasons == slow.hangup_reasons
    assert fast.hours == slow.hours


def test_a_chat_counts_only_the_calls_attributed_to_it(database: Database) -> None:
    _fixed_day(database)
    with database.session() as s:
        assert day_figures(s, CHAT + 1, DAY, KOLKATA).calls == 0


def test_a_record_without_a_start_time_is_in_the_days_export_as_in_its_summary(
    database: Database,
) -> None:
    _team(database)
    with database.session() as s:
        store_call(s, call_start_at=None, received_at=_at(11), answered=False)
    with database.session() as s:
        assert day_figures(s, CHAT, DAY, KOLKATA).calls == 1
        assert len(day_records(s, CHAT, DAY, KOLKATA, 100)) == 1


def test_a_call_whose_record_names_only_the_agents_account_counts_for_that_agent(
    database: Database,
) -> None:
    """The chat's message names the agent by account when the record has no name (or one too
    long to keep); the summary's transfers and top agents, the export and /calls say the same."""
    _team(database)
    with database.session() as s:
        record = store_call(
            s,
            call_start_at=_at(11),
            call_type=1,
            answered=True,
            call_duration=40,
            agent_name=None,
            agent_account="5054C796da_001",
        )
        assert agent_of(record) == "5054C796da_001"
    with database.session() as s:
        fast = day_figures(s, CHAT, DAY, KOLKATA)
        slow = figures_from_records(s, CHAT, DAY, KOLKATA)
        rows = day_records(s, CHAT, DAY, KOLKATA, 100)
    assert fast.transfers == slow.transfers == 1
    assert {a: (t.calls, t.answered) for a, t in fast.by_agent.items()} == {
        "5054C796da_001": (1, 1)
    }
    assert {a: vars(t) for a, t in slow.by_agent.items()} == {
        a: vars(t) for a, t in fast.by_agent.items()
    }
    assert len(rows) == 1 and agent_of(rows[0]) == "5054C796da_001"


def test_an_export_cell_never_reverses_text_and_an_empty_value_is_an_empty_cell() -> None:
    import io

    from python_calamine import CalamineWorkbook

    from bot.reports.lookups import EXPORT_COLUMNS, export_xlsx
    from storage.models import CallRecord

    record = CallRecord(
        call_session_id="S-export-1",
        called="919812340001",
        called_info="Ravi \u202egpj.exe",  # shown reversed as "exe.jpg" where U+202E is kept
        call_start_at=datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
        answered=False,
        remark=None,
        agent_group_name="",
    )
    book = CalamineWorkbook.from_filelike(io.BytesIO(export_xlsx([record], KOLKATA)))
    header, row = book.get_sheet_by_index(0).to_python(skip_empty_area=False)[:2]
    cells = dict(zip(header, row, strict=False))
    assert list(header) == list(EXPORT_COLUMNS)
    assert cells["callee info"] == "Ravi gpj.exe"
    assert cells["agent group"] == "" and cells["remark"] == ""
    import zipfile

    raw = export_xlsx([record], KOLKATA)  # strings inline (constant_memory)
    sheet = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml").decode()
    assert "\u202e" not in sheet
    assert "<t></t>" not in sheet and "<t/>" not in sheet  # no cell holds an empty string
