"""When each chat's daily summary is due, and the job that sends the due ones exactly once.

Design: one JobQueue job ("summary tick", every 30 s) reads every chat's schedule from the database
and sends what is due, instead of one cron job per chat. The database is the only state, so:
- a changed /schedule applies at the next tick, and a restart rebuilds nothing;
- daylight saving neither skips nor doubles a summary: the due instant is computed with zoneinfo
  for each local day (a time inside a spring-forward gap falls after the jump; a time repeated in
  autumn counts once, at its first occurrence), and the `daily_summary` row (unique per chat and
  local day) is claimed in the same transaction that puts the summary in the outbox;
- a summary missed while the bot was down is sent when it comes back (the last two local days are
  checked), marked late; a second replica finds the row taken and sends nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.config import chat_zone
from bot.delivery.outbox import OutboxKind, enqueue
from bot.reports.service import SummaryContent, build_summary
from storage.models import BoundChat, DailySummary, OutboxMessage, as_utc, table_of

log = logging.getLogger(__name__)

DEFAULT_TIME = time(9, 0)
LATE_AFTER = timedelta(minutes=10)
TICK_SECONDS = 30.0
_HHMM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def parse_time(text: str) -> time | None:
    """'18:00' / '9:30' → time; anything else → None."""
    match = _HHMM.match(text.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def summary_time(chat: BoundChat) -> time:
    return parse_time(chat.summary_time or "") or DEFAULT_TIME


def due_at(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant the summary of local `day` is due: `at` on the following local day."""
    local = datetime.combine(day + timedelta(days=1), at, tzinfo=zone)
    # Round trip through UTC: a wall time inside a DST gap comes back after the jump.
    return local.astimezone(UTC)


@dataclass(frozen=True)
class DueSummary:
    chat_id: int
    day: date
    due: datetime
    zone: ZoneInfo

    def is_late(self, now: datetime) -> bool:
        return now - self.due > LATE_AFTER


def due_summaries(chat: BoundChat, now: datetime, default_zone: ZoneInfo) -> list[DueSummary]:
    """The local days (of the last two) whose summary is due by `now` for this chat, oldest
    first; days whose due time came before the chat was bound are not owed."""
    if not chat.active or not chat.summary_enabled:
        return []
    zone = chat_zone(chat, default_zone)
    at = summary_time(chat)
    bound_at = as_utc(chat.bound_at)
    today = now.astimezone(zone).date()
    owed = []
    for day in (today - timedelta(days=2), today - timedelta(days=1)):
        due = due_at(day, at, zone)
        if bound_at <= due <= now:
            owed.append(DueSummary(chat.chat_id, day, due, zone))
    return owed


def _already_sent(session: Session, chat_id: int, days: list[date]) -> set[date]:
    rows = session.exec(
        select(col(DailySummary.local_date)).where(
            col(DailySummary.chat_id) == chat_id,
            col(DailySummary.local_date).in_(days),
        )
    )
    return set(rows)


def claim_and_enqueue(
    session: Session,
    chat: BoundChat,
    due: DueSummary,
    content: SummaryContent,
    *,
    late: bool,
) -> bool:
    """Record the summary as sent and put it in the outbox, in one transaction; False when
    another replica (or an earlier tick) already did."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    claimed = session.execute(
        insert(table_of(DailySummary))
        .values(chat_id=chat.chat_id, local_date=due.day, late=late, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["chat_id", "local_date"])
        # RETURNING says whether this statement inserted; rowcount is unreliable here on psycopg.
        .returning(table_of(DailySummary).c.chat_id)
    ).first()
    if claimed is None:
        return False
    message = enqueue_summary(session, chat, content)
    row = session.get(DailySummary, (chat.chat_id, due.day))
    assert row is not None
    row.outbox_id = message.id
    session.add(row)
    return True


def enqueue_summary(session: Session, chat: BoundChat, content: SummaryContent) -> OutboxMessage:
    """The summary as one outbox message: the sender sends the chart with the text as its caption
    when it fits 1,024 characters, else the chart and then the text."""
    return enqueue(
        session,
        chat_id=chat.chat_id,
        thread_id=chat.thread_id,
        kind=OutboxKind.SUMMARY,
        text=content.text,
        photo=content.chart,
    )


async def run_summary_tick(runtime, now: datetime | None = None) -> int:  # noqa: ANN001
    """Send every summary that is due; returns how many were put in the outbox."""
    now = now or datetime.now(UTC)
    database = runtime.database
    settings = runtime.settings

    def load(session: Session) -> list[tuple[BoundChat, list[DueSummary]]]:
        chats = session.exec(
            select(BoundChat).where(
                col(BoundChat.active).is_(True),
                col(BoundChat.summary_enabled).is_(True),
            )
        )
        work = []
        for chat in chats:
            owed = due_summaries(chat, now, settings.default_zone)
            if not owed:
                continue
            sent = _already_sent(session, chat.chat_id, [d.day for d in owed])
            owed = [d for d in owed if d.day not in sent]
            if owed:
                work.append((chat, owed))
        return work

    sent_count = 0
    for chat, owed in await database.run(load):
        for due in owed:
            late = due.is_late(now)
            try:
                content = await build_summary(
                    database,
                    runtime.client,
                    chat,
                    due.day,
                    due.zone,
                    now=now,
                    retention_days=settings.retention_days,
                    late=late,
                )
            except Exception:
                log.exception("summary of %s for chat %s could not be built", due.day, chat.chat_id)
                continue
            if await database.run(
                lambda s, c=chat, d=due, x=content, lt=late: claim_and_enqueue(s, c, d, x, late=lt)
            ):
                sent_count += 1
                log.info(
                    "summary of %s queued for chat %s%s",
                    due.day,
                    chat.chat_id,
                    " (late)" if late else "",
                )
    return sent_count
