"""The summary's comparisons with the day before read as sentences."""

from __future__ import annotations

import pytest

from bot.views.summaries import change


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
