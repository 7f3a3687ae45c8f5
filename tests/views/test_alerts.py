"""The alert texts: each rule names its subject, the figures that crossed and the threshold;
values from the platform are escaped; the states below the headline; the command replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.outbox import DEFAULT_SOUND, OutboxKind, Sound, is_loud
from bot.views import alerts as views

AT = datetime(2026, 12, 5, 2, 32, tzinfo=UTC)
KOLKATA = ZoneInfo("Asia/Kolkata")

FIGURES = {
    "unanswered": ({"streak": 6, "threshold": 5}, ["6 calls in a row", "set at 5 in a row"]),
    "answer-rate": (
        {"rate": 20, "calls": 20, "answered": 4, "minutes": 15, "threshold": 30},
        ["answered 20% of its calls over the last 15 minutes (4 of 20)", "below the alert's 30%"],
    ),
    "missed-rings": ({"missed": 3, "threshold": 3}, ["missed 3 rings in a row", "away"]),
    "no-pushes": ({"minutes": 12, "threshold": 10}, ["for 12 minutes", "set at 10", "push"]),
    "balance": ({"balance": 80.5, "threshold": 100}, ["80.50", "below the alert's 100.00"]),
    "task-stalled": ({"minutes": 16, "threshold": 15}, ["not changed for 16 minutes"]),
}


@pytest.mark.parametrize("rule", list(FIGURES))
def test_each_rules_alert_names_the_figures_and_the_threshold(rule: str) -> None:
    figures, fragments = FIGURES[rule]
    text = views.alert_message(rule, "Sales <1>", figures, views.AlertState(AT), KOLKATA)
    for fragment in fragments:
        assert fragment in text, (rule, text)
    assert text.startswith("🔴 ") and "Since 08:02." in text  # Kolkata is UTC+5:30
    if rule != "balance":
        assert "Sales &lt;1&gt;" in text and "<1>" not in text


def test_the_alert_shows_who_took_it_the_snooze_and_the_recovery() -> None:
    state = views.AlertState(
        AT,
        taken_by="@alice",
        taken_at=AT + timedelta(minutes=1),
        snoozed_until=AT + timedelta(hours=1),
        snoozed_by="@bob",
    )
    text = views.alert_message("unanswered", "G", {"streak": 5, "threshold": 5}, state, UTC)
    assert "👤 Taken by @alice at 02:33." in text
    assert "💤 Snoozed until 03:32 by @bob: no new unanswered alert about G" in text
    unnamed = views.AlertState(AT, snoozed_until=AT + timedelta(hours=1))
    text = views.alert_message("unanswered", "G", {"streak": 5, "threshold": 5}, unnamed, UTC)
    assert "💤 Snoozed until 03:32: no new unanswered alert about G" in text
    cleared = views.AlertState(AT, cleared_at=AT + timedelta(minutes=13))
    text = views.alert_message("unanswered", "G", {"streak": 5, "threshold": 5}, cleared, UTC)
    assert text.endswith("✅ Recovered at 02:45.")
    off = views.AlertState(AT, cleared_at=AT, turned_off=True)
    text = views.alert_message("unanswered", "G", {"streak": 5, "threshold": 5}, off, UTC)
    assert "was turned off at 02:32" in text


def test_every_rule_has_a_short_recovery_note() -> None:
    for rule in views.RULE_NAMES:
        note = views.recovered_note(rule, "G")
        assert note.startswith("✅ Recovered") and len(note) < 120


def test_the_rules_list_shows_state_thresholds_and_what_alerts_now() -> None:
    text = views.rules_list(
        [
            views.RuleLine("unanswered", True, {"calls": 5}, ["Sales-Team-1"]),
            views.RuleLine("balance", False, {"amount": 0}, []),
            views.RuleLine("missed-rings", False, {"rings": 3}, []),
        ]
    )
    assert "<code>unanswered</code>: on: 5 calls in a row not answered" in text
    assert "alerting now: Sales-Team-1" in text
    assert "<code>balance</code>: off (turn it on with an amount" in text
    assert "<code>missed-rings</code>: off" in text


def test_bad_values_are_answered_with_whole_sentences() -> None:
    assert views.out_of_range("answer-rate", "130", "percentage", 1, 100).startswith(
        "The percentage of the answer-rate alert must be between 1 and 100, and 130 is not"
    )
    assert "“five” is not a number" in views.not_a_number("unanswered", "five", "number")
    assert "/alerts unanswered 5" in views.not_a_number("unanswered", "five", "number")
    assert "The rules are: unanswered, answer-rate" in views.unknown_rule("nosuchrule")


def test_alerts_notices_and_screen_pops_are_loud_and_the_routine_stream_silent() -> None:
    assert set(DEFAULT_SOUND) == set(OutboxKind)  # every kind says
    loud = {kind for kind, sound in DEFAULT_SOUND.items() if sound is Sound.LOUD}
    assert loud == {OutboxKind.ALERT, OutboxKind.NOTICE, OutboxKind.SCREEN_POP}
    assert not is_loud("call", None) and is_loud("call", True)
    assert not is_loud("alert", False)
    assert is_loud("screen_pop", None)
    assert is_loud("kind_of_2030", None)  # a kind this version does not know: heard, not missed


@pytest.mark.parametrize("rule", list(FIGURES))
def test_each_rules_alert_and_recovery_read_in_chinese_with_their_figures(rule: str) -> None:
    from bot.i18n import speaking

    figures, _ = FIGURES[rule]
    state = views.AlertState(
        AT,
        taken_by="@alice",
        taken_at=AT,
        snoozed_until=AT + timedelta(hours=1),
        snoozed_by="@bob",
    )
    with speaking("zh"):
        text = views.alert_message(rule, "销售一组", figures, state, KOLKATA)
        cleared = views.alert_message(
            rule, "销售一组", figures, views.AlertState(AT, cleared_at=AT), KOLKATA
        )
        note = views.recovered_note(rule, "销售一组")
    assert "告警" in text and "开始于 08:02。" in text and "@alice 已于 08:02 接手处理" in text
    assert "@bob 已暂停提醒至 09:02" in text
    for figure in figures.values():
        shown = f"{figure:,.2f}" if rule == "balance" else str(figure)
        assert shown in text, (rule, shown, text)
    assert "✅ 已于 08:02 恢复。" in cleared and note.startswith("✅ 已恢复：")
    assert "{" not in text + cleared + note


def test_a_bound_is_written_in_digits_never_with_an_exponent() -> None:
    text = views.out_of_range("balance", "-5", "amount", 0.01, 10**9)
    assert "between 0.01 and 1000000000, and -5 is not" in text and "e+" not in text
