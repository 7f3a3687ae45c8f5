"""The call digest: for chats with `/notify calls digest` (the default), every DIGEST_INTERVAL, the
call records that came in since the chat's last digest, summed up in one message.

- Which records count for a chat is decided by the same `Router` as single messages (the chat's
  routed groups, exact name then case-insensitive, plus the calls of its tasks), so a digest shows
  what the chat would otherwise have received one by one.
- The window is by arrival (`received_at`): a record the platform retried half an hour late lands in
  the next digest instead of being missed. The scan is bounded by call start (RECORD_LATENESS) so it
  uses the indexed `call_start_at`.
- Exactly one digest per window across replicas: `last_digest_at` is moved with a compare-and-set in
  the transaction that enqueues the digest. A window without calls moves it too, silently.
- A muted chat's window is left open, so what happened while muted is in the first digest after.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlmodel import Session, col, select
from telegram.ext import Application, ContextTypes

from bot.delivery.outbox import OutboxKind, enqueue
from bot.relay.routing import NotifyCalls, Router
from bot.views.digests import digest_message
from bot.views.values import ChatDisplay
from storage.db import Database
from storage.models import BoundChat, CallRecord, GroupRoute, RingingEvent, utcnow

log = logging.getLogger(__name__)

DIGEST_INTERVAL = timedelta(minutes=15)
CHECK_EVERY_S = 60.0  # how often the job looks for chats whose digest is due
# A chat is due a little before its 15 minutes are up, so a job running every minute keeps the
# digests 15 minutes apart instead of drifting to 16.
DUE_TOLERANCE = timedelta(seconds=30)
# Records arrive up to 90 minutes late (the platform retries every 30 minutes, 3 times).
RECORD_LATENESS = timedelta(hours=3)
RINGING_LATENESS = timedelta(minutes=10)  # ringing pushes are retried at once
TOP = 3


@dataclass
class DigestStats:
    since: datetime
    until: datetime
    groups: list[str] = field(default_factory=list)
    calls: int = 0
    answered: int = 0
    talk_seconds: int = 0
    reasons: Counter[int | None] = field(default_factory=Counter)
    missed: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # agent → calls

    @property
    def average_talk_s(self) -> float:
        return self.talk_seconds / self.answered if self.answered else 0.0

    @property
    def hangup_reasons(self) -> list[tuple[int | None, int]]:
        return self.reasons.most_common(TOP)

    @property
    def missed_by(self) -> list[tuple[str, int]]:
        ranked = sorted(self.missed.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        return [(agent, len(calls)) for agent, calls in ranked[:TOP]]

    def add_record(self, record: CallRecord) -> None:
        self.calls += 1
        self.reasons[record.hangup_reason] += 1
        if record.answered:
            self.answered += 1
            self.talk_seconds += record.call_duration or 0


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
    """Each chat's stats since its last digest (one scan of the records for all of them)."""
    stats = {
        c.chat_id: DigestStats(since=c.last_digest_at or now - interval, until=now) for c in chats
    }
    if not stats:
        return stats
    earliest = min(s.since for s in stats.values())
    router = Router(session)
    records = session.exec(
        select(CallRecord).where(
            col(CallRecord.call_start_at) >= earliest - RECORD_LATENESS,
            col(CallRecord.received_at) > earliest,
            col(CallRecord.received_at) <= now,
        )
    )
    for record in records:
        for chat in router.call_targets(record):
            s = stats.get(chat.chat_id)
            if s is not None and s.since < record.received_at <= s.until:
                s.add_record(record)
    events = session.exec(
        select(RingingEvent).where(
            col(RingingEvent.event_at) >= earliest - RINGING_LATENESS,
            col(RingingEvent.received_at) > earliest,
            col(RingingEvent.received_at) <= now,
        )
    )
    for event in events:
        missed = _json_list(event.no_answer_sip_list)
        if not missed:
            continue
        for chat in router.ringing_targets(event.group_name, event.task_id):
            s = stats.get(chat.chat_id)
            if s is not None and s.since < event.received_at <= s.until:
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
            if not _advance(session, chat, now):
                continue  # another replica took this window
            s = stats[chat.chat_id]
            if s.calls == 0:
                continue
            zone = _zone(chat.timezone, default_zone)
            text = digest_message(s, ChatDisplay(mask_numbers=chat.mask_numbers, zone=zone))
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


def _advance(session: Session, chat: BoundChat, now: datetime) -> bool:
    """Compare-and-set the chat's last digest time from what this run read to `now`."""
    result = session.exec(
        update(BoundChat)
        .where(
            col(BoundChat.chat_id) == chat.chat_id,
            col(BoundChat.last_digest_at).is_not_distinct_from(chat.last_digest_at),
        )
        .values(last_digest_at=now)
    )
    return result.rowcount == 1


def _group_names(session: Session, chat_id: int) -> list[str]:
    rows = session.exec(
        select(GroupRoute.group_name)
        .where(GroupRoute.chat_id == chat_id, col(GroupRoute.active).is_(True))
        .order_by(col(GroupRoute.group_name))
    )
    return list(dict.fromkeys(rows))


def _json_list(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _zone(name: str | None, default: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(name) if name else default
    except (ValueError, KeyError):
        return default


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
