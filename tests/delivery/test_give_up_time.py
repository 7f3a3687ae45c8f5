"""How long a message Telegram cannot take is tried before it fails: what the README promises."""

from __future__ import annotations

import re
from pathlib import Path

from bot.delivery.outcomes import Backoff

README = Path(__file__).resolve().parents[2] / "README.md"


def test_a_failing_message_is_tried_for_about_the_minutes_the_readme_says() -> None:
    said = re.search(r"\((\d+) attempts, about (\d+) minutes\)", README.read_text("utf-8"))
    assert said is not None, "the README no longer says how long a message is tried"
    attempts, minutes = int(said.group(1)), int(said.group(2))
    backoff = Backoff()
    assert backoff.max_attempts == attempts
    # The waits between attempts, without jitter (±20 %) or the attempts' own time.
    assert abs(backoff.total_wait() / 60 - minutes) < 0.5


def test_each_wait_doubles_and_stays_under_the_cap() -> None:
    backoff = Backoff(base=2.0, cap=30.0, max_attempts=8)
    assert [backoff.delay(n) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff.delay(3, jitter=1.2) == 8.0 * 1.2
