"""/schedule, /summary, /export and /calls: the day's numbers on time and on demand."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram.ext import Application, CommandHandler

from bot.config import chat_zone, zone_hint, zone_name
from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Request, command
from bot.i18n import N_, _
from bot.laaffic.codes import hangup_reason, hung_up_by
from bot.render import esc
from bot.reports.lookups import (
    CALLS_SHOWN,
    EXPORT_MAX_ROWS,
    callee_digits,
    calls_to,
    day_records,
    export_xlsx,
)
from bot.reports.rollups import agent_of
from bot.reports.schedule import parse_time, summary_time
from bot.reports.service import (
    build_summary,
    expired_day_text,
    retention_start,
)
from bot.services.access import Role
from bot.views.counts import count_text
from bot.views.summaries import day_label
from bot.views.values import duration
from storage.models import BoundChat, as_utc

SCHEDULE_USAGE = N_(
    "Usage: /schedule shows when the daily summary comes; /schedule 18:00 sets the local "
    "time; /schedule 18:00 Asia/Kolkata sets the time and the chat's time zone (the same "
    "as /settings timezone); /schedule off stops it.",
)
SUMMARY_USAGE = N_(
    "Usage: /summary [today | yesterday | YYYY-MM-DD], for example /summary 2026-11-30"
)
EXPORT_USAGE = N_("Usage: /export [today | yesterday | YYYY-MM-DD], for example /export yesterday")
CALLS_USAGE = N_("Usage: /calls <callee number>, for example /calls +91 98765 43210")
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def _chat(req: Request) -> BoundChat:
    assert req.chat is not None  # @command refuses unbound chats
    return req.chat


def _zone(req: Request) -> ZoneInfo:
    return chat_zone(_chat(req), req.runtime.settings.default_zone)


def checked_zone(text: str) -> str:
    """The tz database's name of the zone typed (any case; UTC as UTC), or a sentence saying what
    to type instead (an abbreviation such as EST gets the place it most likely means)."""
    name = zone_name(text)
    if name is not None:
        return name
    shown = text if len(text) <= 30 else text[:30] + "…"
    hint = zone_hint(text)
    if hint is not None:
        raise UserFacingError(
            _(
                "{shown} is an abbreviation, not a place, and it does not follow summer time, so times "
                "would be off for part of the year. Use the zone of a place, such as {hint}.",
                shown=shown,
                hint=hint,
            )
        )
    raise UserFacingError(
        _(
            "{shown} is not a time zone I know. Use an IANA name such as Asia/Kolkata or "
            "Europe/Berlin (or UTC).",
            shown=shown,
        )
    )


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
        raise UsageError(
            _(
                "“{word}” is not a day I know.\n{usage}",
                word=word[:20],
                usage=usage,
            )
        )
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise UsageError(
            _(
                "{word} is not a date in the calendar.\n{usage}",
                word=word,
                usage=usage,
            )
        ) from None
    if day > today:
        raise UserFacingError(
            _(
                "{isoformat} has not happened yet in {key}.",
                isoformat=day.isoformat(),
                key=zone.key,
            )
        )
    return day


def _schedule_line(chat: BoundChat, zone: ZoneInfo) -> str:
    if not chat.summary_enabled:
        return _("The daily summary is off in this chat. Turn it on with /schedule 09:00.")
    at = summary_time(chat)
    return _(
        "The daily summary of the previous day comes every day at {at} {key} time, the chat's "
        "time zone (/settings timezone changes it for everything shown here).",
        at=f"{at:%H:%M}",
        key=esc(zone.key),
    )


@command("/schedule", Role.VIEWER)
async def schedule(req: Request) -> None:
    chat = _chat(req)
    if not req.args:
        await req.reply(_schedule_line(chat, _zone(req)) + "\n" + esc(_(SCHEDULE_USAGE)))
        return
    if req.role < Role.OPERATOR:
        raise UserFacingError(_("Only operators can change the schedule; /schedule shows it."))
    zone_name_set: str | None = None
    if req.args[0].lower() == "off":
        if len(req.args) > 1:
            raise UsageError(
                _(
                    "/schedule off takes nothing after it.\n{schedule_usage}",
                    schedule_usage=_(SCHEDULE_USAGE),
                )
            )
        enabled, at = False, chat.summary_time
    else:
        if len(req.args) > 2:
            raise UsageError(_(SCHEDULE_USAGE))
        parsed = parse_time(req.args[0])
        if parsed is None:
            raise UsageError(
                _(
                    "“{value}” is not a time like 18:00.\n{schedule_usage}",
                    value=req.args[0][:20],
                    schedule_usage=_(SCHEDULE_USAGE),
                )
            )
        if len(req.args) == 2:
            zone_name_set = checked_zone(req.args[1])
        enabled, at = True, f"{parsed:%H:%M}"

    def save(session) -> BoundChat:  # noqa: ANN001
        row = session.get(BoundChat, chat.chat_id)
        row.summary_enabled, row.summary_time = enabled, at
        if zone_name_set is not None:
            # One zone per chat: the summary's zone is the chat's, for every time shown here.
            row.timezone, row.summary_timezone = zone_name_set, None
        session.add(row)
        return row

    saved = await req.runtime.database.run(save)
    req.chat = saved
    await req.reply(
        _("Saved.")
        + " "
        + _schedule_line(saved, chat_zone(saved, req.runtime.settings.default_zone))
    )


@command("/summary", Role.VIEWER)
async def summary(req: Request) -> None:
    if len(req.args) > 1:
        raise UsageError(_(SUMMARY_USAGE))
    zone = _zone(req)
    now = datetime.now(UTC)
    day = parse_day(req.args[0] if req.args else None, zone, now, _(SUMMARY_USAGE))
    content = await build_summary(
        req.runtime.database,
        req.runtime.client,
        _chat(req),
        day,
        zone,
        now=now,
        retention_days=req.runtime.settings.retention_days,
        title=_("Summary") if day == now.astimezone(zone).date() else _("Daily summary"),
    )
    if content.chart is None:
        await req.reply(content.text)
        return
    # A text too long for a caption follows the chart as a message of its own.
    await req.send_photo(content.chart, content.text)


@command("/export", Role.OPERATOR)
async def export(req: Request) -> None:
    if len(req.args) > 1:
        raise UsageError(_(EXPORT_USAGE))
    zone = _zone(req)
    now = datetime.now(UTC)
    day = parse_day(req.args[0] if req.args else None, zone, now, _(EXPORT_USAGE))
    retention_days = req.runtime.settings.retention_days
    if day < retention_start(now, retention_days, zone):
        await req.reply(esc(expired_day_text(day, retention_days)))
        return
    chat_id = req.chat_id
    records = await req.runtime.database.run(
        lambda s: day_records(s, chat_id, day, zone, EXPORT_MAX_ROWS + 1)
    )
    if not records:
        await req.reply(
            _(
                "No calls counted in this chat on {day_label}: none of its agent groups' or tasks' "
                "calls started that day ({key} time).",
                day_label=day_label(day),
                key=esc(zone.key),
            )
        )
        return
    cut = len(records) > EXPORT_MAX_ROWS
    records = records[:EXPORT_MAX_ROWS]
    content = await asyncio.to_thread(export_xlsx, records, zone)
    note = (
        _(
            " (the first {export_max_rows} of more)",
            export_max_rows=f"{EXPORT_MAX_ROWS:,}",
        )
        if cut
        else ""
    )
    rows = count_text(len(records), "{n} row", "{n} rows")
    await req.send_document(
        content,
        f"calls-{day.isoformat()}.xlsx",
        _(
            "Call records of {day_label}: {rows}{note}, times in {key}.",
            day_label=day_label(day),
            rows=rows,
            note=note,
            key=esc(zone.key),
        ),
    )


@command("/calls", Role.VIEWER)
async def calls(req: Request) -> None:
    if not req.args:
        raise UsageError(_(CALLS_USAGE))
    typed = " ".join(req.args)
    digits, reason = callee_digits(typed, req.ccode)
    if digits is None:
        raise UserFacingError(
            _(
                "“{typed}” is not a phone number I can look up: {reason}. Write it with its country "
                "code (+91 98765 43210), or set the chat's with /settings ccode 91.",
                typed=typed[:40],
                reason=reason,
            )
        )
    chat_id, zone = None if req.is_admin else req.chat_id, _zone(req)
    found = await req.runtime.database.run(lambda s: calls_to(s, digits, chat_id))
    if not found:
        await req.reply(
            _(
                "No stored calls to +{digits} counted in this chat (its agent groups' and tasks' calls "
                "of the last {retention_days} days).",
                digits=digits,
                retention_days=req.runtime.settings.retention_days,
            )
        )
        return
    lines = [
        _(
            "<b>Calls to +{digits}</b> (newest first, times in {key})",
            digits=digits,
            key=esc(zone.key),
        )
    ]
    for r in found:
        start = as_utc(r.call_start_at or r.received_at)
        outcome = (
            _(
                "answered, {call_duration}",
                call_duration=duration(r.call_duration),
            )
            if r.answered
            else _("not answered")
        )
        reason = hangup_reason(r.hangup_reason)
        if r.hangup_reason is not None and not (r.hangup_reason == 0 and not r.answered):
            outcome += f" · {reason}"
        who = hung_up_by(r.hanging_direction)
        group = r.agent_group_name or _("no agent group")
        agent = agent_of(r) or _("no agent")
        lines.append(
            f"• {start.astimezone(zone):%Y-%m-%d %H:%M} · {esc(group)} · "
            f"{esc(agent)} · {esc(outcome)}" + (f" · {esc(who)}" if who else "")
        )
    if len(found) == CALLS_SHOWN:
        lines.append(
            _(
                "Only the newest {calls_shown} are shown.",
                calls_shown=CALLS_SHOWN,
            )
        )
    await req.reply("\n".join(lines))


def register(application: Application) -> None:
    for name, fn in (
        ("schedule", schedule),
        ("summary", summary),
        ("export", export),
        ("calls", calls),
    ):
        application.add_handler(CommandHandler(name, fn))
