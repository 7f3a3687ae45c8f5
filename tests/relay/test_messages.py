"""The relay's renderers: what each message says, masking, and that no pushed value adds markup.

Every rendered text is parsed the way Telegram parses HTML (the fake Bot API's parser), so a value
that broke out of its escaping would fail here as it would fail in a chat."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.relay.digest import DigestStats
from bot.relay.parse import parse_push
from bot.relay.task_card import TaskProgress
from bot.render import split_message
from bot.views.relayed import (
    ChatDisplay,
    call_message,
    duration,
    mask_shown_numbers,
    recording_link,
    ringing_message,
    show_number,
    task_card_message,
)
from bot.views.summaries import digest_text
from storage.models import CallRecord, RingingEvent
from tests.fakes.telegram import parse_html
from tests.relay.conftest import SHANGHAI, call_record, ringing_event

PLAIN = ChatDisplay(zone=ZoneInfo("Asia/Kolkata"))
MASKED = ChatDisplay(mask_numbers=True, zone=ZoneInfo("Asia/Kolkata"))


def as_ringing(**overrides: object) -> RingingEvent:
    (event,) = parse_push("ringing", json.dumps([ringing_event(**overrides)]), SHANGHAI).ringing
    return RingingEvent(**event.values)


def as_call(**overrides: object) -> CallRecord:
    return CallRecord(
        **parse_push("call", json.dumps(call_record(**overrides)), SHANGHAI).call.values
    )


def links(html: str) -> list[str]:
    _, entities = parse_html(html)
    return [e["url"] for e in entities if e["type"] == "text_link"]


def test_a_ringing_message_names_agent_group_callee_task_time_and_who_missed() -> None:
    html = ringing_message(as_ringing(calledInfo="Priya, gold plan"), PLAIN)
    text, _ = parse_html(html)
    assert "Ringing: agent 1344C025cb_001 · Sales-Team-1" in text
    assert "Callee: +91 9812345210 — Priya, gold plan" in text
    assert "Task 561235 · at 16:05:00" in text  # 18:35 in Shanghai is 16:05 in Kolkata
    assert "Already missed by: 1344C025cb_002" in text


def test_a_ringing_message_leaves_out_what_the_push_did_not_say() -> None:
    text, _ = parse_html(ringing_message(as_ringing(noAnswerSipList=[], taskId=None), PLAIN))
    assert "missed" not in text and "Task" not in text
    assert text.splitlines()[-1] == "Rang at 16:05:00"  # a line of its own says what it is


def test_a_masked_chat_sees_only_the_first_two_and_last_three_digits() -> None:
    text, _ = parse_html(ringing_message(as_ringing(), MASKED))
    assert "+91 98•••••210" in text and "9812345210" not in text
    text, _ = parse_html(call_message(as_call(called="919812345210"), MASKED))
    assert "+91 98•••••210" in text


@pytest.mark.parametrize(
    ("number", "ccode", "masked", "shown"),
    [
        ("919812345210", None, "+91 98•••••210", "+91 9812345210"),
        ("8613800138000", "86", "+86 13••••••000", "+86 13800138000"),
        ("+44 20 7946 0958", None, "+44 20•••••958", "+44 2079460958"),
        ("12345", None, "1••45", "12345"),
        ("anonymous", None, "•••••••••", "anonymous"),
        (None, None, "unknown number", "unknown number"),
    ],
)
def test_numbers_are_shown_with_their_country_code_and_masked_on_request(
    number: str | None, ccode: str | None, masked: str, shown: str
) -> None:
    assert show_number(number, ccode=ccode, mask=True) == masked
    assert show_number(number, ccode=ccode, mask=False) == shown


def test_a_call_record_message_says_everything_in_words() -> None:
    html = call_message(as_call(), PLAIN)
    text, _ = parse_html(html)
    assert (
        text.splitlines()[0] == "✅ Answered outbound call · +91 8613237978737 — Priya, gold plan"
    )
    assert "Agent: 0705C049_053 · Sales-Team-1" in text
    assert "Talk time: 0:15 · started 11:12:30" in text
    assert "Ended: hung up after the transfer to an agent; the agent hung up" in text
    assert "Cost: 0.0120 USD" in text
    assert links(html) == ["https://recordings.example.com/23111713424802472.mp3"]


def test_an_unanswered_call_that_reached_no_agent() -> None:
    record = as_call(
        answerTime=None,
        callDuration=0,
        agentName=None,
        agentAccount=None,
        agentGroupName=None,
        hangupReason=7,
        hangingDirection=3,
        cost=None,
        voiceUrl=None,
    )
    text, entities = parse_html(call_message(record, PLAIN))
    assert text.startswith("❌ Not answered outbound call")
    assert "Agent: none (the call reached no agent)" in text
    assert "Talk time: 0:00" in text
    assert "Ended: the callee was busy; the system ended the call" in text
    assert "Cost" not in text and not [e for e in entities if e["type"] == "text_link"]


@pytest.mark.parametrize(
    ("reason", "direction", "words"),
    [
        (0, 0, "the callee did not answer; the customer hung up"),
        (2, 0, "the callee hung up while an agent's phone was ringing; the customer hung up"),
        (4, 3, "the call failed; the system ended the call"),
        (5, None, "the callee's operator gave no service"),
        (6, None, "the callee was out of the service area"),
        (8, None, "the inbound call was not answered"),
        (9, 1, "the inbound call was hung up; the agent hung up"),
        (42, 9, "hang-up reason 42; hang-up side 9"),
    ],
)
def test_every_hangup_reason_and_side_is_told_in_words(
    reason: int, direction: int | None, words: str
) -> None:
    text, _ = parse_html(
        call_message(as_call(hangupReason=reason, hangingDirection=direction), PLAIN)
    )
    assert f"Ended: {words}" in text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0:00"),
        (15, "0:15"),
        (75, "1:15"),
        (754, "12:34"),
        (3725, "1:02:05"),
        (4000, "1:06:40"),
        (59.6, "1:00"),  # rounded, not cut: an average of 59.6 s is a minute
        (-3, "0:00"),  # a replica's clock a little ahead of ours: not "-1:59:57 ago"
        (None, "—"),
    ],
)
def test_a_duration_is_minutes_and_seconds(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_talk_time_relay_lag_and_summaries_share_one_formatter() -> None:
    from bot.handlers import ops, reports
    from bot.views import summaries

    assert summaries.duration is duration and reports.duration is duration
    assert ops.duration is duration


def test_hostile_values_are_shown_as_text_and_add_no_markup() -> None:
    hostile = '<b>boss</b> & <a href="https://evil.example">x</a>'
    event = as_ringing(
        sipAccount=hostile,
        seatGroupName="<i>g</i>",
        calledInfo="</code><b>",
        noAnswerSipList=["<u>a</u>"],
    )
    html = ringing_message(event, PLAIN)
    text, entities = parse_html(html)
    assert hostile in text and "<i>g</i>" in text and "</code><b>" in text and "<u>a</u>" in text
    assert {e["type"] for e in entities} <= {"bold", "code"}
    assert not links(html)
    record = as_call(
        agentName=hostile, agentGroupName="<script>", calledInfo="&amp;", remark="<pre>"
    )
    html = call_message(record, PLAIN)
    text, entities = parse_html(html)
    assert hostile in text and "<script>" in text and "&amp;" in text
    assert links(html) == ["https://recordings.example.com/23111713424802472.mp3"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example.com/a.mp3",
        "//recordings.example.com/no-scheme.mp3",
        "https://",
        "https://example.com/a b.mp3",
        "https://example.com/\nx",
        "",
    ],
)
def test_only_http_and_https_recordings_are_linked(url: str) -> None:
    html = call_message(as_call(voiceUrl=url), PLAIN)
    assert not links(html)
    assert recording_link(url) is None


def test_quotes_and_angle_brackets_cannot_leave_the_link() -> None:
    url = 'https://rec.example.com/a.mp3?x="><b>y</b>&z=1'
    html = call_message(as_call(voiceUrl=url), PLAIN)
    (link,) = links(html)
    assert link == "https://rec.example.com/a.mp3?x=%22%3E%3Cb%3Ey%3C/b%3E&z=1"
    text, entities = parse_html(html)
    assert "<b>" not in text  # nothing of the URL became text or markup
    assert [e["type"] for e in entities if e["type"] == "text_link"] == ["text_link"]


def test_an_event_with_a_huge_callee_information_or_missed_list_is_still_one_message() -> None:
    # A 60 KB calledInfo was posted as 15 messages, each taking one of the chat's relay slots.
    event = as_ringing(
        calledInfo="Priya " + "Z" * 60_000, noAnswerSipList=[f"agent_{i:04d}" for i in range(3000)]
    )
    html = ringing_message(event, PLAIN)
    assert split_message(html) == [html]
    text, _ = parse_html(html)
    assert "Callee: +91 9812345210 — Priya ZZZ" in text and "Z…" in text
    assert "Already missed by: agent_0000, agent_0001," in text
    assert text.endswith("agent_0009 and 2990 more")
    record = as_call(calledInfo="<b>" * 30_000, voiceUrl="https://rec.example/" + "a" * 100_000)
    html = call_message(record, PLAIN)
    assert split_message(html) == [html]
    text, _ = parse_html(html)
    assert "— <b><b>" in text and "…" in text  # cut as text, still escaped
    assert not links(html)  # no real recording address is 100 KB long


def test_a_callee_information_that_fits_is_shown_whole() -> None:
    info = "Priya Sharma, gold plan, renewal due 2026-12-31, prefers Hindi, call after 6 pm"
    text, _ = parse_html(call_message(as_call(calledInfo=info), PLAIN))
    assert info in text and "…" not in text


@pytest.mark.parametrize(
    "render",
    [
        lambda d: ringing_message(as_ringing(), d),
        lambda d: ringing_message(as_ringing(calledInfo="Callee: <code>+91 123456789</code>"), d),
        lambda d: call_message(as_call(), d),
        lambda d: call_message(as_call(called="12345", ccode=None, callType=1), d),
        lambda d: call_message(as_call(called=None), d),
    ],
)
def test_a_message_rendered_in_full_can_be_masked_afterwards_as_a_masked_chat_sees_it(
    render: object,
) -> None:
    assert mask_shown_numbers(render(PLAIN)) == render(MASKED)  # type: ignore[operator]


def test_a_digest_sums_up_calls_answer_rate_talk_time_reasons_and_missed_rings() -> None:
    stats = DigestStats(
        since=datetime(2025, 3, 1, 8, 0, tzinfo=UTC),
        until=datetime(2025, 3, 1, 8, 15, tzinfo=UTC),
        groups=["Sales-Team-1", "<b>ops</b>"],
        calls=8,
        answered=6,
        talk_seconds=6 * 75,
        transfers=5,
        lost=1,
        failures=2,
        failure_reasons=Counter({0: 1, 7: 1}),
    )
    stats.missed["agent_1"] |= {"c1", "c2", "c3"}
    stats.missed["<i>agent_2</i>"] |= {"c1"}
    html = digest_text(stats, PLAIN)
    text, entities = parse_html(html)
    assert "Calls since 13:30 (until 13:45) — Sales-Team-1, <b>ops</b>" in text
    assert (
        "Called 8 · answered 6 (75.0%) · transferred 5 · failed 2 · lost waiting for an agent 1"
        in text
    )
    assert "Talk time: 7:30 total · 1:15 average per answered call" in text
    assert "Failed: no answer 1 · busy 1" in text
    assert "Agents who missed most rings: agent_1 (3), <i>agent_2</i> (1)" in text
    assert {e["type"] for e in entities} == {"bold"}


def test_the_task_card_shows_its_counters_and_ends_with_its_final_state() -> None:
    now = datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)
    running = TaskProgress(
        task_id=5000123,
        state="calling",
        status=11,
        total=500,
        remaining=380,
        transferred=40,
        lost=3,
        answered=60,
        failed=20,
        remark="March <leads>",
        updated_at=now,
    )
    text, _ = parse_html(task_card_message(running, PLAIN))
    assert "Task 5000123 — calling · March <leads>" in text
    assert "Called 120 of 500 (24.0%) · remaining 380" in text
    assert "Answered 60 · transferred 40 · failed 20 · lost waiting for an agent 3" in text
    assert "Updated 13:30:05" in text
    done = TaskProgress(
        task_id=5000123,
        state="cancelled",
        status=14,
        total=500,
        remaining=200,
        transferred=90,
        lost=0,
        answered=None,
        failed=None,
        final=True,
        updated_at=now,
    )
    text, _ = parse_html(task_card_message(done, PLAIN))
    assert text.splitlines()[0] == "✖ Task 5000123 — cancelled"
    assert "Transferred 90" in text and "answered" not in text.lower().split("\n")[2]
    assert text.splitlines()[-1] == "Final counters, 13:30:05."
