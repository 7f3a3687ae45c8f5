"""The sender: the only way relayed messages leave. Outbox rows in, Telegram messages out.

One loop looks for chats with messages due (`outbox_claims.due_chats`) and starts a task per
ready chat (up to `concurrency` chats at once). A chat task claims the chat's next batch in the
database (see `outbox_claims` for why that is safe with several replicas), renders it
(`merging`), sends it through the bot with `rate_limit_args=Priority.RELAY` (so the shared
`TelegramRateLimiter` paces it behind handler replies), and records the outcome. A restart
resumes where it stopped: unsent rows are still pending, a batch a dead sender held is taken
over when its lease expires, and a message sent as several parts continues with the part after
the last one sent.

Layout: `outbox_claims` (claiming, the database side), `pacing` (the shared rate limiter),
`merging` (what a batch becomes), `telegram_calls` (the Bot API calls of one part),
`telegram_errors` (what an error answer means), `chat_changes` (a moved chat, a lost topic, a
chat that refuses the bot: shared with the reply path), `outcomes` (what is written when a batch
did not simply go) and `bot.views.notices` (what the admins read). This module is the loop.

A chat's messages go most urgent first (`outbox.Urgency`): a ringing event is the chat's next
message even behind hundreds of call records.

Telegram's answers:
- RetryAfter: that chat waits that long (in memory and in `chat_pacing`); other chats go on.
- ChatMigrated: the chat id moves everywhere (binding, roles, routes, tasks, waiting messages)
  and the message is sent again to the new id.
- Forbidden (kicked, blocked): the chat's routes are switched off, its waiting messages fail
  with reason "forbidden", and the admins are told privately, once.
- "can't parse entities": sent again as plain text. "message is not modified": done. "message to
  edit not found": sent as a new message, which becomes the live one. "message thread not
  found": sent to the chat's main thread, and so are the chat's later messages (the binding
  forgets the topic and the chat is told once).
- Network errors, timeouts, 5xx: retried with exponential backoff, the attempts kept in the
  row (waits doubling from 2 s: about 4 minutes over 8 attempts); after `max_attempts` the
  message fails, is counted in ccbot_messages_failed and shown to the admins (one message per
  hour, edited as more fail). Never dropped silently.

A timeout after Telegram took the message is indistinguishable from one before, so such a retry
can show a message twice: Telegram has no idempotency key. Everything else is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.delivery import outbox_claims as claims
from bot.delivery import telegram_errors as errors
from bot.delivery.chat_changes import FORBIDDEN, forget_topic, move_chat
from bot.delivery.merging import Part, PartMethod, plan_merged, plan_single
from bot.delivery.outbox_claims import ClaimedBatch, ClaimLost, Merge, NotYet
from bot.delivery.outcomes import FAILURE_REASONS, Backoff, Outcomes
from bot.delivery.pacing import TelegramRateLimiter
from bot.delivery.telegram_calls import SenderTimeouts, call_part
from bot.i18n import speaking
from bot.metrics import (
    MESSAGES_RETRIED,
    MESSAGES_SENT,
    OUTBOX_DEPTH,
    RELAY_LAG_SECONDS,
)
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)

__all__ = ["FAILURE_REASONS", "Sender", "SenderTimeouts"]


class _Retry(Exception):
    """Try the batch again after a backoff (network error, timeout, 5xx)."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


class _Hold(Exception):
    """Telegram said RetryAfter for this chat."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds:g} s")
        self.seconds = seconds


class _Fail(Exception):
    """Telegram refused the message for good."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


def _default_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=utcnow().tzinfo)


class Sender:
    """Sends the outbox. `start()` it after the bot is initialised, `stop()` it before the bot
    shuts down; `wake()` after enqueueing saves up to one poll interval."""

    def __init__(
        self,
        database: Database,
        bot: ExtBot,
        *,
        admin_user_ids: Iterable[int] = (),
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=30),
        max_attempts: int = Backoff.max_attempts,
        backoff_base: float = Backoff.base,
        backoff_cap: float = Backoff.cap,
        poll_interval: float = 0.05,
        stats_interval: float = 1.0,
        concurrency: int = 16,
        timeouts: SenderTimeouts | None = None,
    ) -> None:
        limiter = getattr(bot, "rate_limiter", None)
        if not isinstance(limiter, TelegramRateLimiter):
            raise TypeError(
                "the sender needs a bot built with TelegramRateLimiter as its rate_limiter, so "
                "relayed messages and handler replies share one budget"
            )
        self.database = database
        self.bot = bot
        self.limiter: TelegramRateLimiter = limiter
        self.admin_user_ids = frozenset(admin_user_ids)
        self.owner = owner or _default_owner()
        self.lease = lease
        self.max_attempts = max_attempts
        self.outcomes = Outcomes(
            database,
            self.owner,
            admin_user_ids=self.admin_user_ids,
            backoff=Backoff(backoff_base, backoff_cap, max_attempts),
            schedule_of=lambda chat_id: _from_epoch(self.limiter.relay_next(chat_id)),
        )
        self.poll_interval = poll_interval
        self.stats_interval = stats_interval
        self.concurrency = concurrency
        self.timeouts = timeouts or SenderTimeouts()
        self._active: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._last_stats = 0.0
        self.sent_messages = 0  # Telegram messages this sender delivered (for /status)

    # -- life -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._wake = asyncio.Event()
        self._loop_task = asyncio.create_task(self._run(), name="outbox-sender")
        log.info("sender %s started", self.owner)

    def wake(self) -> None:
        """Look for due messages now (a producer in this process just enqueued one)."""
        self._wake.set()

    async def stop(self, grace: float = 5.0) -> None:
        """Finish the Telegram calls under way (up to `grace` seconds), hand back the rest."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        tasks = list(self._active.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                # Its rows stay leased and are taken over when the lease expires.
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        self._active.clear()
        log.info("sender %s stopped", self.owner)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping:
            delay = self.poll_interval
            try:
                if loop.time() - self._last_stats >= self.stats_interval:
                    await self._update_stats()
                    self._last_stats = loop.time()
                now = utcnow()
                chats = await self.database.run(
                    functools.partial(claims.due_chats, now=now, limit=self.concurrency * 4)
                )
                for chat_id in chats:
                    if self._stopping or len(self._active) >= self.concurrency:
                        break
                    if chat_id in self._active:
                        continue
                    wait = self.limiter.relay_wait(chat_id)
                    if wait > 0:
                        delay = min(delay, wait)
                        continue
                    task = asyncio.create_task(self._serve_chat(chat_id), name=f"send-{chat_id}")
                    self._active[chat_id] = task
            except Exception:
                log.exception("the sender could not look for due messages; trying again")
                delay = 1.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _update_stats(self) -> None:
        depth, oldest = await self.database.run(claims.outbox_stats)
        OUTBOX_DEPTH.set(depth)
        lag = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        RELAY_LAG_SECONDS.set(max(lag, 0.0))

    async def _serve_chat(self, chat_id: int) -> None:
        try:
            now = utcnow()
            try:
                claim = await self.database.run(
                    lambda s: claims.claim_batch(s, chat_id, self.owner, now, self.lease)
                )
            except (ClaimLost, OperationalError) as exc:
                log.debug("chat %s: claim lost (%s)", chat_id, exc)
                return
            if isinstance(claim, NotYet):
                if claim.at is not None:
                    self.limiter.sync_relay_next(chat_id, _epoch(claim.at))
                return
            if claim is None:
                return
            self.limiter.sync_relay_next(chat_id, _epoch(claim.pacing_next))
            await self._deliver(claim)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The rows stay leased; they are tried again when the lease expires.
            log.exception("chat %s: sending failed unexpectedly", chat_id)
        finally:
            self._active.pop(chat_id, None)
            self._wake.set()

    # -- one batch ------------------------------------------------------------------------------

    async def _deliver(self, batch: ClaimedBatch) -> None:
        representative = batch.representative
        if representative.attempts >= self.max_attempts:
            await self.outcomes.give_up(
                batch, batch.ids, "abandoned", f"{representative.attempts} times"
            )
            return
        if batch.merge is Merge.LISTING:
            with speaking(batch.language):  # its header is the sender's own words
                parts = plan_merged(batch.rows, utcnow())
            start = 0
        else:
            parts = plan_single(representative, batch.live_message_id)
            start = min(representative.parts_sent, len(parts) - 1)
        chat_id = batch.chat_id
        thread_id = batch.thread_id
        remaining = batch.ids
        for index in range(start, len(parts)):
            if self._stopping:
                await self.outcomes.release(remaining, utcnow(), count_attempt=False)
                return
            part = parts[index]
            try:
                message_id, chat_id, thread_id = await self._send_part(
                    batch, part, chat_id, thread_id
                )
            except _Hold as hold:
                await self.outcomes.hold(chat_id, remaining, hold.seconds)
                return
            except _Retry as retry:
                await self.outcomes.retry(batch, remaining, retry.reason, retry.description)
                return
            except _Fail as failure:
                if failure.reason == FORBIDDEN:
                    await self.outcomes.forbidden(batch, chat_id, remaining, failure.description)
                    self.wake()  # the admins' notices
                else:
                    await self.outcomes.give_up(
                        batch, remaining, failure.reason, failure.description
                    )
                return
            MESSAGES_SENT.labels(kind=batch.kind).inc()
            self.sent_messages += 1
            last = index == len(parts) - 1
            remaining = await self._record_part(
                batch, part, index, last, message_id, chat_id, remaining
            )

    async def _record_part(
        self,
        batch: ClaimedBatch,
        part: Part,
        index: int,
        last: bool,
        message_id: int | None,
        chat_id: int,
        remaining: list[int],
    ) -> list[int]:
        """Write what one sent part settled, and the chat's relay schedule for every replica, in
        one transaction; return the rows still to send."""
        now = utcnow()
        owner = self.owner
        representative = batch.representative
        schedule = _from_epoch(self.limiter.relay_next(chat_id))
        if batch.merge is Merge.LISTING:
            shown = list(part.row_ids) or list(remaining)
            rest = [row_id for row_id in remaining if row_id not in set(shown)]

            def record(s: Session) -> bool:
                kept = claims.mark_delivered(s, owner, shown[0], shown[1:], message_id, now)
                if rest:
                    claims.renew_lease(s, rest, owner, now + self.lease)
                claims.push_schedule(s, chat_id, schedule, now)
                return kept

            kept = await self.database.run(record)
            self._warn_if_lost(kept, batch)
            return rest
        if not last:

            def progress(s: Session) -> None:
                claims.renew_lease(
                    s,
                    remaining,
                    owner,
                    now + self.lease,
                    parts_sent=index + 1,
                    representative=representative.id,
                    first_message_id=message_id if index == 0 else None,
                )
                claims.push_schedule(s, chat_id, schedule, now)

            await self.database.run(progress)
            return remaining
        merged = [row_id for row_id in batch.ids if row_id != representative.id]
        edit_key = representative.edit_key if representative.photo is None else None

        def finish(s: Session) -> bool:
            kept = claims.mark_delivered(s, owner, representative.id, merged, message_id, now)
            if kept and edit_key is not None and message_id is not None:
                claims.save_live_message(s, edit_key, chat_id, message_id, now)
            claims.push_schedule(s, chat_id, schedule, now)
            return kept

        self._warn_if_lost(await self.database.run(finish), batch)
        return []

    def _warn_if_lost(self, kept: bool, batch: ClaimedBatch) -> None:
        if not kept:
            log.warning(
                "chat %s: message %s was sent, but another sender had taken it over (its lease "
                "expired); it may show twice",
                batch.chat_id,
                batch.representative.id,
            )

    # -- one Telegram call, with the answers that are handled on the spot -----------------------

    async def _send_part(
        self, batch: ClaimedBatch, part: Part, chat_id: int, thread_id: int | None
    ) -> tuple[int | None, int, int | None]:
        """Send one part; return (message id, chat id, thread id) as they ended up.

        What Telegram answered is read by `telegram_errors.classify`; a moved chat, a deleted
        topic and a chat that refuses the bot are handled by `chat_changes`, as for replies."""
        plain = False
        migrations = 0
        while True:
            wait = self.limiter.relay_wait(chat_id)
            if wait > self.lease.total_seconds() / 3:
                # Replies took this chat's budget after the batch was claimed: hand the batch
                # back rather than wait inside its lease (another replica could take it over).
                raise _Hold(wait)
            try:
                message_id = await call_part(
                    self.bot,
                    part,
                    chat_id,
                    thread_id,
                    plain=plain,
                    timeouts=self.timeouts,
                    silent=not batch.loud,
                )
                return message_id, chat_id, thread_id
            except TelegramError as error:
                outcome = errors.classify(error)
            match outcome:
                case errors.RetryLater(seconds):
                    MESSAGES_RETRIED.labels(reason="retry_after").inc()
                    raise _Hold(seconds)
                case errors.ChatMoved(new_chat_id):
                    migrations += 1
                    if migrations > 2:
                        raise _Fail("bad_request", "the chat kept moving to a new id")
                    MESSAGES_RETRIED.labels(reason="migrated").inc()
                    await move_chat(self.database, chat_id, new_chat_id)
                    chat_id = new_chat_id
                    if part.method is PartMethod.EDIT:
                        part = Part(PartMethod.TEXT, text=part.text)
                case errors.BotRemoved(description):
                    raise _Fail(FORBIDDEN, description)
                case errors.NotModified() if part.method is PartMethod.EDIT:
                    return part.edit_message_id, chat_id, thread_id
                case errors.BadMarkup(description) if not plain:
                    log.warning(
                        "chat %s: Telegram could not parse a message's HTML (%s); "
                        "sending it as plain text",
                        chat_id,
                        description,
                    )
                    MESSAGES_RETRIED.labels(reason="parse_error").inc()
                    plain = True
                case errors.MessageGone() if part.method is PartMethod.EDIT:
                    MESSAGES_RETRIED.labels(reason="edit_not_found").inc()
                    part = Part(PartMethod.TEXT, text=part.text)
                case errors.TopicGone() if thread_id is not None:
                    MESSAGES_RETRIED.labels(reason="thread_not_found").inc()
                    await self.database.run(
                        functools.partial(forget_topic, chat_id=chat_id, thread_id=thread_id)
                    )
                    thread_id = None
                case errors.Transient(reason, description):
                    raise _Retry(reason, description)
                case _:
                    raise _Fail("bad_request", str(getattr(outcome, "description", outcome)))
