"""What `ccbot run`'s push child tells the main process: that the database stopped or started
taking writes (so /healthz, /readyz, /status and the admins' notices of the main process know at
once), and its metrics, unlabelled counters included."""

from __future__ import annotations

from bot import metrics
from bot.processes import add_metrics, read_write_change, write_change_line
from storage.db import WriteChange, WriteHealth, WriteRefusal


def test_a_refusal_seen_by_the_push_child_reaches_the_main_processs_write_health() -> None:
    now = [100.0]
    main = WriteHealth(clock=lambda: now[0])
    told: list[WriteChange] = []
    main.listeners.append(told.append)

    full = WriteChange(True, WriteRefusal.DATABASE_FULL, "database or disk is full\nmore")
    main.apply(read_write_change(write_change_line(full)))
    assert main.refused and main.reason is WriteRefusal.DATABASE_FULL
    assert main.detail == "database or disk is full\nmore"
    now[0] = 130.0
    main.apply(read_write_change(write_change_line(full)))  # the same refusal again: told once
    assert len(told) == 1 and told[0].refused

    main.apply(read_write_change(write_change_line(WriteChange(False, None, "", 30.0))))
    assert not main.refused
    assert [c.refused for c in told] == [True, False]
    assert told[1].lasted_s == 30.0


def test_a_line_is_one_line_whatever_the_drivers_words() -> None:
    line = write_change_line(WriteChange(True, WriteRefusal.DATABASE_UNAVAILABLE, "a\nb\r\n"))
    assert line.count(b"\n") == 1 and line.endswith(b"\n")


def test_a_childs_unlabelled_counter_is_added_up_like_a_labelled_one() -> None:
    before = metrics.PUSHES_RATE_LIMITED._value.get()
    rejected = metrics.PUSHES_REJECTED.labels("bad_token")._value.get()
    add_metrics(
        b'[["c", "PUSHES_RATE_LIMITED", {}, 3], '
        b'["c", "PUSHES_REJECTED", {"reason": "bad_token"}, 2]]'
    )
    assert metrics.PUSHES_RATE_LIMITED._value.get() == before + 3
    assert metrics.PUSHES_REJECTED.labels("bad_token")._value.get() == rejected + 2
