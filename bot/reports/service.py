"""Building a chat's summary for one local day: figures from the rollups, the day before for
comparison, the tasks that ran, the text and the chart."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, or_, select

from bot.i18n import _, language_of, speaking
from bot.laaffic.client import LaafficClient
from bot.laaffic.models import TaskStatus
from bot.render import esc
from bot.reports.chart import calls_per_hour_png
from bot.reports.figures import DayFigures, day_bounds, day_figures
from bot.services.teams import routed_group_ids
from bot.views.summaries import TaskLine, day_label, summary_text
from storage.db import Database
from storage.models import BoundChat, CallTask, GroupRoute, as_utc

log = logging.getLogger(__name__)

MAX_TASKS = 10  # tasks listed (and looked up on the platform) per summary
CAPTION_LIMIT = 1024  # Telegram's photo caption limit (characters after entity parsing)


@dataclass(frozen=True)
class SummaryContent:
    text: str
    chart: bytes | None  # None when there were no calls (nothing to draw)


def routed_group_names(session: Session, chat_id: int) -> list[str]:
    rows = session.exec(
        select(GroupRoute.group_name).where(
            col(GroupRoute.chat_id) == chat_id,
            col(GroupRoute.active).is_(True),
        )
    )
    return sorted(set(rows))


def retention_start(now: datetime, retention_days: int, zone: ZoneInfo) -> date:
    """The oldest local day whose records are still complete."""
    return (now.astimezone(zone) - timedelta(days=retention_days)).date() + timedelta(days=1)


def expired_day_text(day: date, retention_days: int) -> str:
    """What /summary and /export say of a day whose records were deleted (plain text)."""
    return _(
        "The call records of {day_label} are no longer kept (they are deleted after "
        "{retention_days} days), so there is nothing to show for that day.",
        day_label=day_label(day),
        retention_days=retention_days,
    )


def _tasks_of_day(session: Session, chat_id: int, day: date, zone: ZoneInfo) -> list[CallTask]:
    start, end = day_bounds(day, zone)
    groups = routed_group_ids(session, chat_id)
    owned = or_(col(CallTask.chat_id) == chat_id, col(CallTask.voice_group_id).in_(groups))
    # Created that day, or created in the week before and not known to have ended before it.
    stmt = (
        select(CallTask)
        .where(owned, CallTask.created_at < end, CallTask.created_at >= start - timedelta(days=7))
        .order_by(col(CallTask.created_at).desc())
        .limit(MAX_TASKS * 3)
    )
    tasks = []
    for task in session.exec(stmt):
        if as_utc(task.created_at) >= start or not _is_final(task.last_status):
            tasks.append(task)
    return tasks[:MAX_TASKS]


async def _task_lines(client: LaafficClient | None, tasks: list[CallTask]) -> list[TaskLine]:
    lines = []
    for task in tasks:
        state, total, remaining = _status_label(task.last_status), None, None
        if client is not None:
            try:
                found = await client.get_task(task.task_id)
            except Exception as exc:  # the summary still goes out with what is stored
                log.info("summary: task %s not read from the platform: %s", task.task_id, exc)
                found = None
            if found is not None:
                state = found.status_label
                total, remaining = found.total_count, found.remain_count
        lines.append(TaskLine(task.task_id, task.remark, state, total, remaining))
    return lines


def _known_status(status: int | None) -> TaskStatus | None:
    if status is None or status not in TaskStatus._value2member_map_:
        return None
    return TaskStatus(status)


def _is_final(status: int | None) -> bool:
    known = _known_status(status)
    return known is not None and known.is_final


def _status_label(status: int | None) -> str:
    known = _known_status(status)
    return known.label if known is not None else _("state unknown")


async def build_summary(
    database: Database,
    client: LaafficClient | None,
    chat: BoundChat,
    day: date,
    zone: ZoneInfo,
    *,
    now: datetime,
    retention_days: int,
    late: bool = False,
    title: str | None = None,
) -> SummaryContent:
    """The summary of `day` (local in `zone`) of the calls counted in this chat: the records the
    relay attributed to it that day (its groups' then, its tasks'), whatever its routes are now.
    Written in the chat's language; `title` (in it) defaults to "Daily summary"."""
    with speaking(language_of(chat.language)):
        return await _build_summary(
            database,
            client,
            chat,
            day,
            zone,
            now=now,
            retention_days=retention_days,
            late=late,
            title=title,
        )


async def _build_summary(
    database: Database,
    client: LaafficClient | None,
    chat: BoundChat,
    day: date,
    zone: ZoneInfo,
    *,
    now: datetime,
    retention_days: int,
    late: bool,
    title: str | None,
) -> SummaryContent:
    if day < retention_start(now, retention_days, zone):
        return SummaryContent(esc(expired_day_text(day, retention_days)), None)

    def load(session: Session) -> tuple[DayFigures, DayFigures, list[CallTask]]:
        figures = day_figures(session, chat.chat_id, day, zone)
        previous = day_figures(session, chat.chat_id, day - timedelta(days=1), zone)
        return figures, previous, _tasks_of_day(session, chat.chat_id, day, zone)

    figures, previous, tasks = await database.run(load)
    text = summary_text(
        figures,
        previous,
        zone_name=zone.key,
        tasks=await _task_lines(client, tasks),
        late=late,
        title=title,
    )
    chart = None
    if figures.calls:
        chart = await asyncio.to_thread(calls_per_hour_png, day, figures.hours, _("Calls per hour"))
    return SummaryContent(text, chart)
