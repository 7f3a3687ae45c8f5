"""Relayed ringing events and call records: what each message says, masking, dates of another day,
and that no pushed value adds markup.

Every rendered text is parsed the way Telegram parses HTML (the fake Bot API's parser), so a value
that broke out of its escaping would fail here as it would fail in a chat."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.render import split_message
from bot.views.relayed import (
    call_message,
    mask_shown_numbers,
    recording_link,
    ringing_message,
)
from bot.views.values import ChatDisplay
from tests.fakes.telegram import parse_html
from tests.views.rows import as_call, as_ringing

PLAIN = ChatDisplay(zone=ZoneInfo("Asia/Kolkata"))
MASKED = ChatDisplay(mask_numbers=True, zone=ZoneInfo("Asia/Kolkata"))


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
    assert "Agent: none (no agent answered)" in text
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


def test_a_ringing_event_of_another_day_shows_its_date() -> None:
    # 18:35 on 18 Sep in Shanghai is 16:05 in Kolkata; it reached us the next day.
    late = as_ringing(received_at=datetime(2025, 9, 19, 9, 0, tzinfo=UTC))
    text, _ = parse_html(ringing_message(late, PLAIN))
    assert "Task 561235 · at 18 Sep 16:05:00" in text
    alone = as_ringing(
        taskId=None, noAnswerSipList=[], received_at=datetime(2025, 9, 19, 9, 0, tzinfo=UTC)
    )
    assert parse_html(ringing_message(alone, PLAIN))[0].splitlines()[-1] == (
        "Rang at 18 Sep 16:05:00"
    )


def test_a_call_record_retried_after_midnight_in_the_chats_zone_shows_its_date() -> None:
    # Started 23:50 on 17 Nov in Kolkata (18:20 UTC); the retry came at 00:40 Kolkata time.
    record = as_call(
        callStartTime="2023-11-18 02:20:00",
        received_at=datetime(2023, 11, 17, 19, 10, tzinfo=UTC),
    )
    text, _ = parse_html(call_message(record, PLAIN))
    assert "Talk time: 0:15 · started 17 Nov 23:50:00" in text
    # The same call in a chat on UTC time is still the day it arrived: no date.
    text, _ = parse_html(call_message(record, ChatDisplay(zone=ZoneInfo("UTC"))))
    assert "Talk time: 0:15 · started 18:20:00" in text


def test_a_call_of_another_year_shows_the_year() -> None:
    record = as_call(received_at=datetime(2024, 1, 2, 9, 0, tzinfo=UTC))
    text, _ = parse_html(call_message(record, PLAIN))
    assert "started 17 Nov 2023 11:12:30" in text


def test_a_message_of_another_day_can_still_be_masked_afterwards() -> None:
    record = as_call(received_at=datetime(2024, 1, 2, 9, 0, tzinfo=UTC))
    assert mask_shown_numbers(call_message(record, PLAIN)) == call_message(record, MASKED)


def test_direction_controls_in_pushed_values_are_not_relayed() -> None:
    rlo, pdf = "\u202e", "\u202c"
    event = as_ringing(sipAccount=f"{rlo}agent_7{pdf}", calledInfo=f"Priya {rlo}0102 ending")
    text, _ = parse_html(ringing_message(event, PLAIN))
    assert "agent agent_7" in text and "Priya 0102 ending" in text
    record = as_call(agentName="\u2067Ravi\u2069", calledInfo=f"\u200fVIP {rlo}")
    text, _ = parse_html(call_message(record, PLAIN))
    assert "Agent: Ravi" in text and "— VIP" in text
    assert not any(ch in text for ch in (rlo, pdf, "\u2067", "\u2069", "\u200f"))
