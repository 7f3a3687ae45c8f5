"""/summary, /schedule, /export and /calls end to end: the real bot, the fake Bot API, the simulator."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta

from python_calamine import CalamineWorkbook

from bot.reports.figures import day_bounds
from bot.views.summaries import day_label
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness
from tests.reports.helpers import store_call

OTHER = -1009999999999


async def _team(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/newgroup Team-A")
    assert "Created" in reply.text, reply.text


def _store_yesterday(bot: BotHarness, **fields) -> None:  # noqa: ANN003
    database = bot.service.runtime.database
    zone = bot.service.settings.default_zone
    today = datetime.now(UTC).astimezone(zone).date()
    start, _ = day_bounds(today - timedelta(days=1), zone)
    with database.session() as s:
        store_call(s, **{"call_start_at": start + timedelta(hours=10), **fields})


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


async def test_summary_of_yesterday_comes_as_a_chart_with_the_figures(bot: BotHarness) -> None:
    await _team(bot)
    _store_yesterday(
        bot,
        agent_name="agent_<1>",
        answered=True,
        call_duration=75,
        hangup_reason=1,
        called="919876543210",
        called_digits="919876543210",
    )
    _store_yesterday(bot, answered=False, hangup_reason=7)
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, VIEWER, "/summary")
    photo = await bot.telegram.wait_for(lambda c: c.method == "sendPhoto", 20, since=mark)
    assert photo.ok, photo.description
    width, height = _png_size(photo.files["photo"].content)
    assert width > 400 and height > 200
    caption = photo.text
    assert "Called <b>2</b> · answered 1 (50.0%) · transferred 0 · failed 1" in caption
    assert "agent_&lt;1&gt;: 1 · 1:15" in caption  # escaped, with talk time
    assert "busy: 1" in caption


async def test_a_day_without_calls_says_so_in_one_line(bot: BotHarness) -> None:
    await _team(bot)
    day = datetime.now(UTC).date() - timedelta(days=10)
    reply = await bot.say(GROUP, VIEWER, f"/summary {day.isoformat()}")
    assert reply.result["text"] == (
        f"Daily summary · {day_label(day)} (UTC): no calls counted in this chat."
    )


async def test_summary_refuses_days_it_cannot_know(bot: BotHarness) -> None:
    await _team(bot)
    for typed, expected in [
        ("/summary 2099-01-01", "has not happened yet"),
        ("/summary 2026-02-30", "not a date in the calendar"),
        ("/summary ٢٠٢٦-٠١-٠١", "not a day I know"),
        ("/summary <b>x</b>", "not a day I know"),
        ("/summary 2020-01-01", "no longer kept"),
    ]:
        reply = await bot.say(GROUP, VIEWER, typed)
        assert expected in reply.text, (typed, reply.text)
    shown = (await bot.say(GROUP, VIEWER, "/summary <b>x</b>")).result
    assert "“<b>x</b>”" in shown["text"] and not shown.get("entities")  # shown literally


async def test_schedule_shows_changes_and_turns_off(bot: BotHarness) -> None:
    await _team(bot)
    reply = await bot.say(GROUP, VIEWER, "/schedule")
    assert "every day at 09:00 UTC" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/schedule 18:00")
    assert "Only operators" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/schedule 18:00 Asia/Kolkata")
    assert "Saved" in reply.text and "18:00 Asia/Kolkata" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/schedule 25:00")
    assert "not a time like 18:00" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/schedule 07:30 Mars/Olympus")
    assert "not a time zone" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/schedule")
    assert "18:00 Asia/Kolkata" in reply.text  # the bad attempts changed nothing
    reply = await bot.say(GROUP, OPERATOR, "/schedule off")
    assert "off in this chat" in reply.text


async def test_export_sends_the_days_records_as_xlsx(bot: BotHarness) -> None:
    await _team(bot)
    _store_yesterday(
        bot,
        called="919876543210",
        agent_name="agent_1",
        answered=True,
        call_duration=12,
        hangup_reason=1,
        remark='=HYPERLINK("x")',
    )
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, OPERATOR, "/export yesterday")
    doc = await bot.telegram.wait_for(lambda c: c.method == "sendDocument", 20, since=mark)
    assert doc.ok and "1 row," in doc.text  # not "1 rows"
    upload = doc.files["document"]
    assert upload.file_name.startswith("calls-") and upload.file_name.endswith(".xlsx")
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(upload.content)).get_sheet_by_index(0).to_python()
    )
    assert rows[0][0] == "start (local)"
    assert rows[1][3] == "919876543210" and rows[1][7] == "agent_1"
    assert rows[0][17] == "remark"
    assert rows[1][17] == '=HYPERLINK("x")'  # kept as text, never a formula
    reply = await bot.say(GROUP, VIEWER, "/export")
    assert "operator" in reply.text  # viewers may not take records out


async def test_calls_finds_a_number_in_any_format_newest_first(bot: BotHarness) -> None:
    await _team(bot)
    _store_yesterday(
        bot,
        called="919876543210",
        called_digits="919876543210",
        agent_name="first",
        answered=False,
        hangup_reason=0,
    )
    _store_yesterday(
        bot,
        called="919876543210",
        called_digits="919876543210",
        agent_name="second",
        answered=True,
        call_duration=61,
        hanging_direction=0,
        call_start_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    reply = await bot.say(GROUP, VIEWER, "/calls +91 98765-43210")
    assert "Calls to +919876543210" in reply.text
    assert reply.text.index("· second ·") < reply.text.index("· first ·")
    assert "answered, 1:01" in reply.text and "the customer hung up" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/calls 12")
    assert "not a phone number I can look up" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/calls +44 20 7946 0958")
    assert "No stored calls to +442079460958" in reply.text


async def test_calls_and_summary_show_only_this_chats_groups(bot: BotHarness) -> None:
    await _team(bot)
    await bot.bind(OTHER)
    _store_yesterday(
        bot, called="919876543210", called_digits="919876543210", answered=True, call_duration=5
    )
    reply = await bot.say(OTHER, OPERATOR, "/calls +919876543210")
    assert "No stored calls" in reply.text
    reply = await bot.say(OTHER, VIEWER, "/summary")
    assert "no calls counted in this chat" in reply.text
    reply = await bot.say(OTHER, ADMIN, "/calls +919876543210")  # admins see every group
    assert "Calls to +919876543210" in reply.text


async def test_export_of_a_day_no_longer_kept_says_it_was_deleted_like_summary(
    bot: BotHarness,
) -> None:
    await _team(bot)
    summary = await bot.say(GROUP, VIEWER, "/summary 2020-01-01")
    export = await bot.say(GROUP, OPERATOR, "/export 2020-01-01")
    assert "no longer kept" in summary.text and "deleted after 90 days" in summary.text
    assert "no longer kept" in export.text and "deleted after 90 days" in export.text
    assert "No call" not in export.text


async def test_one_zone_per_chat_whichever_command_set_it(bot: BotHarness) -> None:
    await _team(bot)
    reply = await bot.say(GROUP, OPERATOR, "/settings timezone utc")
    assert "Saved" in reply.text and "Time zone: <code>UTC</code>" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings timezone EST")
    assert "abbreviation" in reply.text and "America/New_York" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/schedule 18:00 asia/kolkata")
    assert "18:00 Asia/Kolkata" in reply.text
    # /schedule's zone is the chat's zone: /settings shows it, and every time follows it.
    reply = await bot.say(GROUP, VIEWER, "/settings")
    assert "Time zone: <code>Asia/Kolkata</code>" in reply.text
    await bot.say(GROUP, OPERATOR, "/settings timezone Europe/Berlin")
    reply = await bot.say(GROUP, VIEWER, "/schedule")
    assert "18:00 Europe/Berlin" in reply.text
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, OPERATOR, "/export today")
    reply = await bot.telegram.wait_for(
        lambda c: c.chat_id == GROUP and c.method in ("sendMessage", "sendDocument"), 20, since=mark
    )
    assert "Europe/Berlin" in reply.text
