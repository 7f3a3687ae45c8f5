"""The notices the delivery package writes, as pure views: what admins and chats read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.views.notices import TOPIC_GONE_NOTICE, failure_notice, forbidden_notice
from tests.fakes.telegram import parse_html


@dataclass
class Row:
    chat_id: int
    kind: str
    error: str | None


SINCE = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)


def test_a_chat_that_refuses_the_bot_is_named_with_its_title_escaped_and_how_to_resume() -> None:
    text = forbidden_notice(-100123, "Team <One>", "Forbidden: bot was kicked", 2, 3)
    assert "<code>-100123</code> (Team &lt;One&gt;)" in text
    assert "switched off its 2 routes" in text and "3 waiting messages for it were not sent" in text
    assert "run /bind there" in text
    parse_html(text)  # Telegram would take it


def test_one_route_and_one_message_are_said_in_the_singular_and_no_routes_says_so() -> None:
    assert "switched off its 1 route," in forbidden_notice(5, None, "x", 1, 1)
    assert "1 waiting message for it was not sent" in forbidden_notice(5, None, "x", 1, 1)
    assert "had no routes to switch off there" in forbidden_notice(5, None, "x", 0, 0)


def test_the_hourly_failure_notice_counts_by_chat_and_kind_and_gives_the_reason_in_words() -> None:
    rows = [
        Row(-1001, "call", "network: connection refused"),
        Row(-1001, "call", "network: connection refused"),
        Row(-1001, "ringing", "network: connection refused"),
        Row(-1002, "summary", "bad_request: Bad Request: <chat> not found"),
    ]
    text = failure_notice(rows, {-1001: "Night & Day", -1002: None}, SINCE)
    assert text.startswith("⚠️ <b>4 messages could not be delivered</b> since 14:00 UTC.")
    assert "chat <code>-1001</code> (Night &amp; Day): 2 call, 1 ringing — " in text
    assert "Telegram could not be reached: connection refused" in text
    assert "Telegram refused it: Bad Request: &lt;chat&gt; not found" in text
    parse_html(text)


def test_the_failure_notice_lists_twenty_chats_and_counts_the_rest() -> None:
    rows = [Row(-1000 - i, "call", "timeout: timed out") for i in range(25)]
    text = failure_notice(rows, {}, SINCE)
    assert text.count("• chat") == 20 and "… and 5 more chats." in text
    assert "1 message could not" in failure_notice(rows[:1], {}, SINCE)


def test_the_topic_notice_says_where_messages_go_now_and_how_to_pick_another_topic() -> None:
    assert "main chat" in TOPIC_GONE_NOTICE and "/bind" in TOPIC_GONE_NOTICE
