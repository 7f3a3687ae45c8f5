"""The summary's comparisons with the day before read as sentences."""

from __future__ import annotations

import pytest

from bot.views.counts import count_text, percent
from bot.views.summaries import change, summary_text


@pytest.mark.parametrize(
    ("now", "before", "shown"),
    [
        (1234, 1102, "▲ 12% vs 1,102"),
        (802, 827, "▼ 3% vs 827"),
        (4, 0, "▲ up from 0 the day before"),
        (0, 0, "= same as the day before"),
        (1000, 1001, "≈ same as the day before"),
        (0, 12, "▼ 100% vs 12"),
    ],
)
def test_a_change_against_the_day_before_reads_plainly(now: int, before: int, shown: str) -> None:
    assert change(now, before) == shown


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [
        (252, 253, "99.6%"),
        (2999, 3000, "99.9%"),  # would round to 100.0%, but it is not all
        (253, 253, "100.0%"),
        (1, 3000, "0.1%"),  # would round to 0.0%, but it is not none
        (0, 3000, "0.0%"),
        (1, 8, "12.5%"),  # half to even, one decimal
        (3, 0, "—"),
    ],
)
def test_a_share_is_never_all_or_none_unless_it_is(part: int, whole: int, shown: str) -> None:
    assert percent(part, whole) == shown


def test_counts_are_written_with_the_plural_they_need() -> None:
    assert count_text(1, "{n} call", "{n} calls") == "1 call"
    assert count_text(2048, "{n} call", "{n} calls") == "2,048 calls"
    assert count_text(0, "{n} call", "{n} calls") == "0 calls"


def test_the_summary_of_one_call_says_one_call_and_its_share_exactly() -> None:
    from datetime import date

    from bot.reports.figures import DayFigures, Tally

    day = DayFigures(day=date(2026, 11, 30), calls=253, answered=252, costed=1, cost=0.5)
    day.by_group = {"A": Tally(1, 1, 10), "B": Tally(252, 251, 10)}
    text = summary_text(day, DayFigures(day=date(2026, 11, 29)), zone_name="UTC")
    assert "answered 252 (99.6%)" in text and "100.0%" not in text.split("\n")[1]
    assert "(1 call priced)" in text and "• A: 1 call, 1 answered" in text
    assert "• B: 252 calls" in text
