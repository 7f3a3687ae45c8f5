"""Values as relayed messages show them: callee numbers (masked on request), durations and times
in the chat's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.views.values import clock, duration, show_number

KOLKATA = ZoneInfo("Asia/Kolkata")


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
    from bot.views import status, summaries

    assert summaries.duration is duration  # digests write talk time with summaries' line
    assert status.duration is duration


def test_a_time_on_the_day_it_is_shown_is_the_clock_alone() -> None:
    moment = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)  # 23:30 in Kolkata
    assert clock(moment, KOLKATA, today=datetime(2025, 3, 1, 18, 25, tzinfo=UTC)) == "23:30:00"
    assert clock(moment, KOLKATA) == "23:30:00"  # no day to compare with
    assert clock(None, KOLKATA) is None


def test_a_time_on_another_day_in_the_chats_zone_has_its_date() -> None:
    moment = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)  # 23:30 on 1 Mar in Kolkata
    after_midnight = datetime(2025, 3, 1, 18, 31, tzinfo=UTC)  # 00:01 on 2 Mar in Kolkata
    assert clock(moment, KOLKATA, today=after_midnight) == "1 Mar 23:30:00"
    assert clock(moment, ZoneInfo("UTC"), today=after_midnight) == "18:00:00"
    assert clock(moment, KOLKATA, today=datetime(2026, 1, 1, tzinfo=UTC)) == "1 Mar 2025 23:30:00"


def test_a_stored_time_without_its_zone_is_read_as_utc() -> None:
    # SQLite gives stored UTC times back without their zone.
    naive = datetime(2025, 3, 1, 18, 0)
    assert clock(naive, KOLKATA, today=datetime(2025, 3, 1, 18, 5)) == "23:30:00"
    assert clock(naive, KOLKATA, today=datetime(2025, 3, 1, 18, 31)) == "1 Mar 23:30:00"
