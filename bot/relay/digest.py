"""The call digest: for chats with `/notify calls digest` (the default), every DIGEST_INTERVAL, the
call records that came in since the chat's last digest, summed up in one message.

- The records that count for a chat are the ones the relay gave it (`CallChat`, written with the
  record by the same `Router` decision as single messages), so a digest counts what `each` mode
  would have posted, one by one, and with the daily summary's counters.
- The window is by when the relay stored the record for the chat (`CallChat.relayed_at`): a
  record without a start time, or one the platform retried hours late, counts in the window it
  arrived in. The window closes SETTLE before the run, so a relay transaction still committing
  when the digest runs lands in this window or the next, never in none.
- Exactly one digest per window across replicas: `last_digest_at` is moved with a compare-and-set in
  the transaction that enqueues the digest. A window without calls moves it too, silently.
- A muted chat's window is left open, so what happened while muted is in the first digest after.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import or_, update
from sqlmodel import Session, col, select
from telegram.ext import Application, ContextTypes

from bot.config import chat_zone
from bot.delivery.outbox import OutboxKind, enqueue
from bot.i18n import language_of
from bot.relay.routing import NotifyCalls, Router
from bot.reports.rollups import CallCounts
from bot.views.digests import digest_message
from bot.views.values import ChatDisplay
from storage.db import Database
from storage.models import (
    BoundChat,
    CallChat,
    CallRecord,
    GroupRoute,
    RingingEvent,
    as_utc,
    json_strings,
    utcnow,
)

log = logging.getLogger(__name__)

DIGEST_INTERVAL = timedelta(minutes=15)
CHECK_EVERY_S = 60.0  # how often the job looks for chats whose digest is due
# A chat is due a little before its 15 minutes are up, so a job running every minute keeps the
# digests 15 minutes apart instead of drifting to 16.
DUE_TOLERANCE = timedelta(seconds=30)
# Longer than a relay transaction can take between choosing its time and committing (its lease).
SETTLE = timedelta(minutes=1)
RINGING_LATENESS = timedelta(minutes=10)  # ringing pushes are retried at once
TOP = 3


@dataclass
class DigestStats(CallCounts):
    since: datetime
    until: datetime
    groups: list[str] = field(default_factory=list)
    missed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # agent → calls

    @property
    def average_talk_s(self) -> float:
        return self.talk_seconds / self.answered if self.answered else 0.0

    @property
    def missed_by(self) -> list[tuple[str, int]]:
        ranked = sorted(self.missed.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [(agent, len(calls)) for agent, calls in ranked[:TOP]]


def due_chats(
    session: Session, now: datetime, interval: timedelta = DIGEST_INTERVAL
) -> list[BoundChat]:
    """Active, unmuted chats on digest whose last digest is at least `interval` old."""
    stmt = select(BoundChat).where(
        col(BoundChat.active).is_(True),
        BoundChat.notify_calls == NotifyCalls.DIGEST,
        or_(col(BoundChat.muted_until).is_(None), col(BoundChat.muted_until) <= now),
        or_(
            col(BoundChat.last_digest_at).is_(None),
            col(BoundChat.last_digest_at) <= now - interval + DUE_TOLERANCE,
        ),
    )
    return list(session.exec(stmt.order_by(col(BoundChat.chat_id))))


def collect(
    session: Session, chats: list[BoundChat], now: datetime, interval: timedelta = DIGEST_INTERVAL
) -> dict[int, DigestStats]:
    """Each chat's stats since its last digest, until SETTLE before `now`."""
    until = now - SETTLE
    stats = {
        c.chat_id: DigestStats(since=c.last_digest_at or until - interval, until=until)
        for c in chats
    }
    if not stats:
        return stats
    earliest = min(s.since for s in stats.values())
    records = session.exec(
        select(CallChat.chat_id, CallChat.relayed_at, CallRecord)
        .join(CallRecord, col(CallRecord.id) == col(CallChat.call_record_id))
        .where(
            col(CallChat.chat_id).in_(sorted(stats)),
            col(CallChat.relayed_at) > earliest,
            col(CallChat.relayed_at) <= until,
        )
    )  # ix_call_chat_chat_relayed
    for chat_id, relayed_at, record in records:
        window = stats[chat_id]
        if window.since < as_utc(relayed_at) <= window.until:
            window.add_record(record)
    router = Router(session)
    events = session.exec(
        select(RingingEvent).where(
            col(RingingEvent.event_at) >= earliest - RINGING_LATENESS,
            col(RingingEvent.received_at) > earliest,
            col(RingingEvent.received_at) <= until,
        )
    )
    for event in events:
        missed = json_strings(event.no_answer_sip_list)
        if not missed:
            continue
        for chat in router.ringing_targets(event.group_name, event.task_id):
            s = stats.get(chat.chat_id)
            if s is not None and s.since < as_utc(event.received_at) <= s.until:
                for agent in missed:
                    s.missed[agent].add(event.call_id or event.dedupe_key)
    for chat_id, s in stats.items():
        s.groups = _group_names(session, chat_id)
    return stats


def run_digests(
    database: Database,
    *,
    default_zone: tzinfo,
    now: datetime | None = None,
    interval: timedelta = DIGEST_INTERVAL,
) -> int:
    """Enqueue the digests that are due; returns how many were enqueued."""
    now = now or utcnow()

    def work(session: Session) -> int:
        chats = due_chats(session, now, interval)
        if not chats:
            return 0
        stats = collect(session, chats, now, interval)
        sent = 0
        for chat in chats:
            s = stats[chat.chat_id]
            if not _advance(session, chat, s.until):
                continue  # another replica took this window
            if s.calls == 0:
                continue
            zone = chat_zone(chat, default_zone)
            text = digest_message(
                s,
                ChatDisplay(
                    mask_numbers=chat.mask_numbers, zone=zone, language=language_of(chat.language)
                ),
            )
            enqueue(
                session,
                chat_id=chat.chat_id,
                text=text,
                kind=OutboxKind.DIGEST,
                thread_id=chat.thread_id,
            )
            sent += 1
        return sent

    return database.call(work)


def _advance(session: Session, chat: BoundChat, until: datetime) -> bool:
    """Compare-and-set the chat's last digest time from what this run read to `until`."""
    result = session.exec(
        update(BoundChat)
        .where(
            col(BoundChat.chat_id) == chat.chat_id,
            col(BoundChat.last_digest_at).is_not_distinct_from(chat.last_digest_at),
        )
        .values(last_digest_at=until)
    )
    return result.rowcount == 1


def _group_names(session: Session, chat_id: int) -> list[str]:
    rows = session.exec(
        select(GroupRoute.group_name)
        .where(GroupRoute.chat_id == chat_id, col(GroupRoute.active).is_(True))
        .order_by(col(GroupRoute.group_name))
    )
    return list(dict.fromkeys(rows))


def leads_jobs(context: ContextTypes.DEFAULT_TYPE) -> bool:
    """With several replicas only the scheduler leader runs this job (bot/replicas.py); the
    database claims would keep a second runner harmless, but not its platform calls."""
    runtime = context.application.bot_data.get("runtime")
    return runtime is None or bool(runtime.leads_jobs)


def schedule(
    application: Application,
    database: Database,
    default_zone: tzinfo,
    *,
    first: float = 10.0,
    every: float = CHECK_EVERY_S,
) -> None:
    """Run the digest check on PTB's JobQueue every `every` seconds."""

    async def job(context: ContextTypes.DEFAULT_TYPE) -> None:
        if not leads_jobs(context):
            return
        try:
            sent = await asyncio.to_thread(run_digests, database, default_zone=default_zone)
        except Exception:
            log.exception("the digest run failed; the next one will catch up")
            return
        if sent:
            log.info("enqueued %d call digest(s)", sent)

    assert application.job_queue is not None, "python-telegram-bot[job-queue] is required"
    application.job_queue.run_repeating(job, interval=every, first=first, name="relay-digest")
