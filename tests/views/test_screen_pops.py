"""The screen pop and the link replies: what the agent reads in the seconds before answering, the
edits with the outcome, merged rings, and that nothing from a push or a file adds markup.

Every text is parsed the way Telegram parses HTML (the fake Bot API's parser)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.render import MESSAGE_LIMIT
from bot.views import agent_links as links
from bot.views.screen_pops import (
    OLDER_RINGS_SHOWN,
    EarlierCall,
    PopRingView,
    RingOutcome,
    pop_text,
)
from tests.fakes.telegram import parse_html

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
AT = datetime(2026, 12, 5, 9, 59, 58, tzinfo=UTC)


def ring(**changes: object) -> PopRingView:
    values: dict[str, object] = {
        "sip_account": "1344C025cb_001",
        "called": "919876543210",
        "group_name": "Sales-Team-1",
        "task_id": 561235,
        "remark": "March leads",
        "info": [("Name", "Ravi Kumar"), ("Amount due", "12,000"), ("City", "Pune")],
        "event_at": AT,
    }
    values.update(changes)
    return PopRingView(**values)  # type: ignore[arg-type]


def shown(rings: list[PopRingView]) -> str:
    text, _ = parse_html(pop_text(rings, KOLKATA, NOW))
    return text


def test_a_pop_shows_the_callee_in_full_with_the_files_columns_task_and_group() -> None:
    text = shown([ring()])
    lines = text.splitlines()
    assert lines[0] == "📞 Your phone is ringing: +91 9876543210"
    assert lines[1] == "Name: Ravi Kumar · Amount due: 12,000 · City: Pune"
    assert "Task 561235 · “March leads” · group Sales-Team-1, as 1344C025cb_001" in lines[2]
    assert "at 15:29:58" in lines[2]  # in the team's zone
    assert lines[3] == "First call to this number."


def test_the_last_calls_are_listed_with_when_answered_talk_time_and_agent() -> None:
    history = [
        EarlierCall(datetime(2026, 12, 4, 6, 0, tzinfo=UTC), True, 161, "1344C025cb_004"),
        EarlierCall(datetime(2026, 12, 3, 6, 0, tzinfo=UTC), False, 0, None),
    ]
    text = shown([ring(history=history)])
    assert "Earlier calls:" in text
    assert "• 4 Dec 11:30:00: answered by 1344C025cb_004, talk 2:41" in text
    assert "• 3 Dec 11:30:00: not answered" in text


def test_without_a_file_row_the_pushed_information_is_shown_escaped_and_cut() -> None:
    html = pop_text([ring(info=[], called_info="<b>VIP</b> & " + "x" * 70_000)], KOLKATA, NOW)
    text, entities = parse_html(html)
    assert "Callee information: <b>VIP</b> & xxx" in text
    assert len(html) < 1_500 and all(e["type"] in ("bold", "code") for e in entities)


def test_a_file_value_or_column_name_with_markup_stays_text() -> None:
    text, entities = parse_html(
        pop_text([ring(info=[("<a href='x'>Name</a>", "<i>Ravi</i>")])], KOLKATA, NOW)
    )
    assert "<a href='x'>Name</a>: <i>Ravi</i>" in text
    assert not [e for e in entities if e["type"] in ("text_link", "italic")]


def test_the_outcomes_in_words() -> None:
    mine = RingOutcome(ended=True, answered=True, agent="1344C025cb_001", talk_seconds=83,
                       voice_url="https://rec.example.com/a.mp3")
    text = shown([ring(outcome=mine)])
    assert text.startswith("📞 Call: +91 9876543210")
    assert "✅ You took this call · talk 1:23" in text and "Recording" in text
    other = RingOutcome(ended=True, answered=True, agent="1344C025cb_002", talk_seconds=30)
    assert "Missed by you: 1344C025cb_002 took the call · talk 0:30" in shown([ring(outcome=other)])
    busy = RingOutcome(ended=True, answered=False, hangup_reason=7, voice_url="javascript:x")
    text = shown([ring(outcome=busy)])
    assert "❌ Not answered: busy" in text and "Recording" not in text
    lost = RingOutcome(ended=True, answered=True, agent=None, hangup_reason=2)
    assert "No agent took the call: hung up while an agent rang" in shown([ring(outcome=lost)])
    missed = RingOutcome(missed=True, rang_next="1344C025cb_002")
    assert "Missed by you; it rang 1344C025cb_002 next. Nobody has taken the call yet." in shown(
        [ring(outcome=missed)]
    )


def test_merged_rings_show_the_newest_in_full_and_the_others_one_line_each() -> None:
    rings = [ring(called=f"9190000000{i:02d}", info=[("Name", f"C{i}")]) for i in range(50)]
    text = shown(rings)
    assert text.startswith("📞 Your phone is ringing: +91 9000000000")
    assert f"Also rang just before ({len(rings) - 1}):" in text
    assert text.count("\n• ") == OLDER_RINGS_SHOWN
    assert f"… and {len(rings) - 1 - OLDER_RINGS_SHOWN} more" in text
    assert len(pop_text(rings, KOLKATA, NOW)) <= MESSAGE_LIMIT


def test_a_wide_file_shows_its_first_columns_and_says_how_many_more() -> None:
    info = [(f"Column {i}", "v" * 500) for i in range(40)]
    html = pop_text([ring(info=info)], KOLKATA, NOW)
    assert "and 28 more columns" in parse_html(html)[0]
    assert len(html) <= MESSAGE_LIMIT


def test_link_replies_escape_names_and_say_what_to_do() -> None:
    who = links.person("<b>Ravi</b>", 42)
    text, _ = parse_html(links.linked("1344C025cb_001", who, "Sales<1>", False, "cc_bot"))
    assert "<b>Ravi</b> (id 42)" in text and "group Sales<1>" in text
    assert "open @cc_bot and send /start" in text
    text, _ = parse_html(links.taken("1344C025cb_001", who))
    assert "/unlink 1344C025cb_001 first" in text
    text, _ = parse_html(links.not_in_team("x_001", ["A<b>", "B"]))
    assert "(A<b>, B)" in text and "/agents <group>" in text
    text, _ = parse_html(links.welcome(["1344C025cb_001"]))
    assert "1344C025cb_001" in text and "/pop off" in text
    text, _ = parse_html(links.pop_state(False, True, False, [("s_001", "G<1>")]))
    assert "Screen pops are off" in text and "• s_001 (group G<1>)" in text
    text, _ = parse_html(links.agent_blocked_notice(42, ["s_001"]))
    assert "has blocked me" in text and "/start" in text
