"""The call digest: what it sums up, and that no pushed value adds markup."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.relay.digest import DigestStats
from bot.views.digests import digest_message
from bot.views.values import ChatDisplay
from tests.fakes.telegram import parse_html

PLAIN = ChatDisplay(zone=ZoneInfo("Asia/Kolkata"))


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
    html = digest_message(stats, PLAIN)
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


def test_a_digest_across_midnight_shows_the_day_it_began() -> None:
    stats = DigestStats(
        since=datetime(2025, 3, 1, 18, 20, tzinfo=UTC),  # 23:50 in Kolkata
        until=datetime(2025, 3, 1, 18, 35, tzinfo=UTC),  # 00:05 the next day
        calls=1,
    )
    text, _ = parse_html(digest_message(stats, PLAIN))
    assert text.splitlines()[0] == "📊 Calls since 01 Mar 23:50 (until 00:05)"
    assert "Called 1 · answered 0 (0.0%)" in text
