"""/schedule, /summary, /export and /calls: the day's numbers on time and on demand."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram.ext import Application, CommandHandler

from bot.config import time_zone
from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Request, command
from bot.render import esc
from bot.reports.lookups import (
    CALLS_SHOWN,
    EXPORT_MAX_ROWS,
    callee_digits,
    calls_to,
    day_records,
    export_xlsx,
)
from bot.reports.schedule import parse_time, summary_time
from bot.reports.service import build_summary, chat_zone, routed_group_names
from bot.reports.words import duration, hangup_reason, hung_up_by
from bot.services.access import Role
from bot.views.summaries import day_label
from storage.models import BoundChat

SCHEDULE_USAGE = (
    "Usage: /schedule shows when the daily summary comes; /schedule 18:00 Asia/Kolkata sets the "
    "local time (and optionally the time zone); /schedule off stops it."
)
SUMMARY_USAGE = "Usage: /summary [today | yesterday | YYYY-MM-DD], for example /summary 2026-11-30"
EXPORT_USAGE = "Usage: /export [today | yesterday | YYYY-MM-DD], for example /export yesterday"
CALLS_USAGE = "Usage: /calls <callee number>, for example /calls +91 98765 43210"
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def _chat(req: Request) -> BoundChat:
    assert req.chat is not None  # @command refuses unbound chats
    return req.chat


def _zone(req: Request) -> ZoneInfo:
    return chat_zone(_chat(req), req.runtime.settings.default_zone)


def parse_day(text: str | None, zone: ZoneInfo, now: datetime, usage: str) -> date:
    """today / yesterday / YYYY-MM-DD (local to the chat) → a date not in the future."""
    today = now.astimezone(zone).date()
    word = (text or "yesterday").strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    match = _DATE.match(word)
    if not match:
        raise UsageError(f"“{word[:20]}” is not a day I know.\n{usage}")
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise UsageError(f"{word} is not a date in the calendar.\n{usage}") from None
    if day > today:
        raise UserFacingError(f"{day.isoformat()} has not happened yet in {zone.key}.")
    return day


def _schedule_line(chat: BoundChat, zone: ZoneInfo) -> str:
    if not chat.summary_enabled:
        return "The daily summary is off in this chat. Turn it on with /schedule 09:00."
    at = summary_time(chat)
    return (
        f"The daily summary of the previous day comes every day at {at:%H:%M} {esc(zone.key)} time."
    )


@command("/schedule", Role.VIEWER)
async def schedule(req: Request) -> None:
    chat = _chat(req)
    if not req.args:
        await req.reply(_schedule_line(chat, _zone(req)) + "\n" + esc(SCHEDULE_USAGE))
        return
    if req.role < Role.OPERATOR:
        raise UserFacingError("Only operators can change the schedule; /schedule shows it.")
    if req.args[0].lower() == "off":
        if len(req.args) > 1:
            raise UsageError(f"/schedule off takes nothing after it.\n{SCHEDULE_USAGE}")
        enabled, at, zone_name = False, chat.summary_time, chat.summary_timezone
    else:
        if len(req.args) > 2:
            raise UsageError(SCHEDULE_USAGE)
        parsed = parse_time(req.args[0])
        if parsed is None:
            raise UsageError(f"“{req.args[0][:20]}” is not a time like 18:00.\n{SCHEDULE_USAGE}")
        zone_name = chat.summary_timezone
        if len(req.args) == 2:
            zone = time_zone(req.args[1])
            if zone is None:
                raise UsageError(
                    f"“{req.args[1][:40]}” is not a time zone. Use an IANA name such as "
                    f"Asia/Kolkata or Europe/Berlin."
                )
            zone_name = zone.key
        enabled, at = True, f"{parsed:%H:%M}"

    def save(session) -> BoundChat:  # noqa: ANN001
        row = session.get(BoundChat, chat.chat_id)
        row.summary_enabled, row.summary_time, row.summary_timezone = enabled, at, zone_name
        session.add(row)
        return row

    saved = await req.runtime.database.run(save)
    await req.reply(
        "Saved. " + _schedule_line(saved, chat_zone(saved, req.runtime.settings.default_zone))
    )


@command("/summary", Role.VIEWER)
async def summary(req: Request) -> None:
    if len(req.args) > 1:
        raise UsageError(SUMMARY_USAGE)
    zone = _zone(req)
    now = datetime.now(UTC)
    day = parse_day(req.args[0] if req.args else None, zone, now, SUMMARY_USAGE)
    content = await build_summary(
        req.runtime.database,
        req.runtime.client,
        _chat(req),
        day,
        zone,
        now=now,
        retention_days=req.runtime.settings.retention_days,
        title="Summary" if day == now.astimezone(zone).date() else "Daily summary",
    )
    if content.chart is None:
        await req.reply(content.text)
        return
    # A text too long for a caption follows the chart as a message of its own.
    await req.send_photo(content.chart, content.text)


@command("/export", Role.OPERATOR)
async def export(req: Request) -> None:
    if len(req.args) > 1:
        raise UsageError(EXPORT_USAGE)
    zone = _zone(req)
    day = parse_day(req.args[0] if req.args else None, zone, datetime.now(UTC), EXPORT_USAGE)
    chat_id = req.chat_id
    db = req.runtime.database
    groups = await db.run(lambda s: routed_group_names(s, chat_id))
    if not groups:
        raise UserFacingError(
            "This chat has no agent groups routed to it, so there are no call records to "
            "export. Route one with /route <group>."
        )
    records = await db.run(lambda s: day_records(s, groups, day, zone, EXPORT_MAX_ROWS + 1))
    if not records:
        await req.reply(f"No call records on {day_label(day)} in this chat's agent groups.")
        return
    cut = len(records) > EXPORT_MAX_ROWS
    records = records[:EXPORT_MAX_ROWS]
    content = await asyncio.to_thread(export_xlsx, records, zone)
    note = f" (the first {EXPORT_MAX_ROWS:,} of more)" if cut else ""
    await req.send_document(
        content,
        f"calls-{day.isoformat()}.xlsx",
        f"Call records of {day_label(day)}: {len(records):,} rows{note}, times in {esc(zone.key)}.",
    )


@command("/calls", Role.VIEWER)
async def calls(req: Request) -> None:
    if not req.args:
        raise UsageError(CALLS_USAGE)
    typed = " ".join(req.args)
    digits, reason = callee_digits(typed, req.ccode)
    if digits is None:
        raise UserFacingError(
            f"“{typed[:40]}” is not a phone number I can look up: {reason}. Write it with its "
            f"country code (+91 98765 43210), or set the chat's with /settings ccode 91."
        )
    chat_id, zone = req.chat_id, _zone(req)

    def load(session):  # noqa: ANN001, ANN202
        groups = None if req.is_admin else routed_group_names(session, chat_id)
        return calls_to(session, digits, groups)

    found = await req.runtime.database.run(load)
    if not found:
        await req.reply(f"No stored calls to +{digits} in this chat's agent groups.")
        return
    lines = [f"<b>Calls to +{digits}</b> (newest first, times in {esc(zone.key)})"]
    for r in found:
        start = r.call_start_at or r.received_at
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start
        outcome = f"answered, {duration(r.call_duration)}" if r.answered else "not answered"
        reason = hangup_reason(r.hangup_reason)
        if r.hangup_reason is not None and not (r.hangup_reason == 0 and not r.answered):
            outcome += f" · {reason}"
        who = hung_up_by(r.hanging_direction)
        lines.append(
            f"• {start.astimezone(zone):%Y-%m-%d %H:%M} · {esc(r.agent_group_name)} · "
            f"{esc(r.agent_name or 'no agent')} · {esc(outcome)}"
            + (f" · {esc(who)}" if who else "")
        )
    if len(found) == CALLS_SHOWN:
        lines.append(f"Only the newest {CALLS_SHOWN} are shown.")
    await req.reply("\n".join(lines))


def register(application: Application) -> None:
    for name, fn in (
        ("schedule", schedule),
        ("summary", summary),
        ("export", export),
        ("calls", calls),
    ):
        application.add_handler(CommandHandler(name, fn))
