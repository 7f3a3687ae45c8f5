"""The chart (a real PNG with a bar per hour and series) and the retention job."""

from __future__ import annotations

import functools
import io
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from matplotlib.font_manager import findfont, fontManager
from matplotlib.image import imread
from sqlmodel import func, select

from bot.i18n import speaking
from bot.reports.chart import HourChart, calls_per_hour_figure, calls_per_hour_png, cjk_font
from bot.reports.retention import purge_old_calls
from storage.db import Database
from storage.models import CallChat, CallRecord, CallRollup, RingingEvent, RingMiss
from tests.reports import helpers

HOURS = [[h, 24 - h] for h in range(24)]


def test_the_chart_is_a_png_with_24_stacked_bars_per_series() -> None:
    figure = calls_per_hour_figure(date(2026, 11, 30), HOURS, "Calls per hour")
    (axes,) = figure.axes
    answered, missed = axes.containers
    assert len(answered) == len(missed) == 24
    assert [bar.get_height() for bar in answered] == [h[0] for h in HOURS]
    assert [bar.get_y() for bar in missed] == [h[0] for h in HOURS]  # stacked on the answered
    pixels = imread(io.BytesIO(calls_per_hour_png(date(2026, 11, 30), HOURS, "x")), format="png")
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400


def test_the_reused_chart_draws_each_day_as_a_new_chart_would() -> None:
    days = [
        HOURS,
        [[900_000 if h == 5 else h * 10, 0] for h in range(24)],  # six-digit ticks, no top bar
        [[0, 0]] * 24,
        [[3, 1]] * 24,
        [[h * 1000, 700] for h in range(24)],
        HOURS,
    ]
    day = date(2026, 11, 30)
    reused = [calls_per_hour_png(day, hours, "Calls per hour") for hours in days]
    assert reused == [HourChart().png(day, hours, "Calls per hour") for hours in days]
    assert reused[0] != reused[-2]


def test_the_y_axis_labels_fit_in_the_chart_however_many_calls() -> None:
    chart = HourChart()
    for top in (0, 1, 7, 95, 4_000, 60_000, 900_000, 25_000_000, 40):
        figure = chart.show(date(2026, 11, 30), [[top, top // 3]] * 24, "Calls per hour")
        figure.canvas.draw()
        (axes,) = figure.axes
        labels = [t for t in axes.get_yticklabels() if t.get_text()]
        assert labels and all(t.get_window_extent().x0 >= 0 for t in labels), top
        assert axes.yaxis.label.get_window_extent().x0 >= 0, top
        assert all(t.get_text().replace(",", "").isdigit() for t in labels), top  # 1,200,000


def test_a_chinese_chart_is_drawn_in_the_chinese_font_without_a_font_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    font = cjk_font()
    if font is None:
        pytest.skip("no font with Chinese glyphs on this machine")
    caplog.set_level(logging.DEBUG, logger="matplotlib.font_manager")
    with speaking("zh"):
        chart = HourChart()
        png = chart.png(date(2026, 11, 30), HOURS, "每小时来电")
    assert png.startswith(b"\x89PNG")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    files = {entry.fname for entry in fontManager.ttflist if entry.name == font[0]}
    with chart.fonts():
        texts = [chart.title, chart.axes.xaxis.label, *chart.axes.get_yticklabels()]
        used = {str(findfont(t.get_fontproperties())) for t in (*texts, *chart.legend.get_texts())}
    assert used <= files
    # The Chinese font is the Chinese chart's only: an English chart keeps matplotlib's own.
    english = HourChart()
    english.png(date(2026, 11, 30), HOURS, "Calls per hour")
    assert "DejaVu" in findfont(english.title.get_fontproperties())


CHAT = -1001000000001
store_call = functools.partial(helpers.store_call, chats=[CHAT])  # the chat they counted in
store_ringing = functools.partial(helpers.store_ringing, chats=[CHAT])


def test_retention_deletes_old_records_events_and_rollups_in_batches(
    database: Database, monkeypatch
) -> None:
    monkeypatch.setattr("bot.reports.retention.BATCH", 40)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    old = now - timedelta(days=91)
    with database.session() as s:
        for i in range(40 * 2 + 7):  # more than two batches
            store_call(s, call_start_at=old + timedelta(seconds=i), answered=False)
        store_call(s, call_start_at=now - timedelta(days=89), answered=True, call_duration=3)
        store_call(s, call_start_at=None, received_at=old, answered=False)  # no platform time
        store_ringing(s, sip_account="a1", event_at=old, no_answer=["a2"])
        store_ringing(s, sip_account="a1", event_at=now - timedelta(days=1), no_answer=["a2"])
    counts = purge_old_calls(database, now, 90)
    assert counts["call_record"] == 40 * 2 + 8
    assert counts["ringing_event"] == counts["ring_miss"] == 1
    with database.session() as s:
        assert s.exec(select(func.count()).select_from(CallRecord)).one() == 1
        # The chats a deleted record counted in go with it.
        assert s.exec(select(func.count()).select_from(CallChat)).one() == 1
        assert s.exec(select(func.count()).select_from(RingingEvent)).one() == 1
        (miss,) = s.exec(select(RingMiss)).all()
        assert miss.missed_at == now - timedelta(days=1)
        kept = s.exec(select(CallRollup)).all()
        assert {r.calls for r in kept} == {1} and all(
            r.bucket_start.replace(tzinfo=UTC) >= now - timedelta(days=90) for r in kept
        )
    assert purge_old_calls(database, now, 90)["call_record"] == 0  # nothing left to do


def test_the_legend_covers_no_bar_even_when_the_night_hours_are_the_highest() -> None:
    from bot.reports.chart import HourChart

    chart = HourChart()
    hours = [[120, 30]] * 3 + [[5, 1]] * 21  # hours 0-2 are the day's highest
    figure = chart.show(date(2026, 11, 30), hours, "Calls per hour")
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    figure.draw(renderer)
    legend = chart.legend.get_window_extent(renderer)
    bars = [bar.get_window_extent(renderer) for bar in (*chart.answered, *chart.missed)]
    assert not any(legend.overlaps(bar) for bar in bars)
    inside = figure.bbox
    assert inside.x0 <= legend.x0 and legend.x1 <= inside.x1 and legend.y1 <= inside.y1


def test_retention_keeps_a_tasks_callees_while_it_rings_and_drops_old_pops(
    database: Database,
) -> None:
    from storage.models import CallTask, PopRing, ScreenPop, TaskCallee

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    old = now - timedelta(days=120)
    with database.session() as s:
        for task in (1, 2, 3):
            s.add(CallTask(task_id=task, chat_id=-100, created_at=old if task < 3 else now))
            s.add(TaskCallee(task_id=task, callee_digits="919812345210", chat_id=-100))
        # Task 2 still rang an agent yesterday: it runs, its callees stay.
        store_ringing(s, sip_account="a1", event_at=now - timedelta(days=1), task_id=2)
        s.add(ScreenPop(user_id=7, created_at=old))
        s.add(ScreenPop(user_id=7, created_at=now))
        for pop_id, at in ((1, old), (2, now)):
            s.add(
                PopRing(
                    pop_id=pop_id, user_id=7, call_id=f"c{pop_id}", sip_account="a1", received_at=at
                )
            )
    counts = purge_old_calls(database, now, 90)
    assert counts["task_callee"] == 1 and counts["pop_ring"] == 1 and counts["screen_pop"] == 1
    with database.session() as s:
        assert sorted(s.exec(select(TaskCallee.task_id)).all()) == [2, 3]
        assert s.exec(select(PopRing.call_id)).all() == ["c2"]
