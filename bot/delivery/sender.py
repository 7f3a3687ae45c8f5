"""The sender: the only way relayed messages leave. Outbox rows in, Telegram messages out.

One loop looks for chats with messages due (`outbox_claims.due_chats`) and starts a task per
ready chat (up to `concurrency` chats at once). A chat task claims the chat's next batch in the
database (see `outbox_claims` for why that is safe with several replicas), renders it
(`merging`), sends it through the bot with `rate_limit_args=Priority.RELAY` (so the shared
`TelegramRateLimiter` paces it behind handler replies), and records the outcome. A restart
resumes where it stopped: unsent rows are still pending, a batch a dead sender held is taken
over when its lease expires, and a message sent as several parts continues with the part after
the last one sent.

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
  row; after `max_attempts` the message fails, is counted in ccbot_messages_failed and shown to
  the admins (one message per hour, edited as more fail). Never dropped silently.

A timeout after Telegram took the message is indistinguishable from one before, so such a retry
can show a message twice: Telegram has no idempotency key. Everything else is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import re
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from telegram import LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.delivery import outbox_claims as claims
from bot.delivery.merging import Part, PartMethod, plain_text, plan_ringing, plan_single
from bot.delivery.outbox import OutboxKind, enqueue
from bot.delivery.outbox_claims import ClaimedBatch, ClaimLost, Merge, NotYet
from bot.delivery.pacing import Priority, TelegramRateLimiter, retry_after_seconds
from bot.metrics import (
    MESSAGES_FAILED,
    MESSAGES_RETRIED,
    MESSAGES_SENT,
    OUTBOX_DEPTH,
    RELAY_LAG_SECONDS,
)
from bot.render import esc
from bot.services import access
from storage.db import Database
from storage.models import BoundChat, utcnow

log = logging.getLogger(__name__)

_SERVER_ERROR = re.compile(
    r"internal server error|bad gateway|service unavailable|gateway time-?out|\(5\d\d\)",
    re.IGNORECASE,
)


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


@dataclass(frozen=True)
class SenderTimeouts:
    connect: float = 5.0
    read: float = 10.0
    write: float = 20.0
    pool: float = 5.0


class _CallOptions(TypedDict):
    """The keyword arguments every relay call passes to the Bot API."""

    rate_limit_args: Priority
    connect_timeout: float
    read_timeout: float
    write_timeout: float
    pool_timeout: float


def _default_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=utcnow().tzinfo)


REASON_WORDS = {
    "network": "Telegram could not be reached",
    "timeout": "Telegram did not answer in time",
    "server_error": "Telegram answered with a server error",
    "telegram": "Telegram answered with an error",
    "abandoned": "the sender stopped while sending it",
    "bad_request": "Telegram refused it",
}
# Every reason a message can fail for good with: the ones above and "forbidden" (told apart).
# Their series exist at 0 from the start, so the first failure after a start is a rise that
# Prometheus' increase() sees (a series born at 1 is not), in the dashboard as in the alerts.
FAILURE_REASONS = (*REASON_WORDS, "forbidden")
for _reason in FAILURE_REASONS:
    MESSAGES_FAILED.labels(reason=_reason)


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
        max_attempts: int = 8,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
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
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
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
            await self._give_up(batch, batch.ids, "abandoned", f"{representative.attempts} times")
            return
        if batch.merge is Merge.RINGING:
            parts = plan_ringing(batch.rows, utcnow())
            start = 0
        else:
            parts = plan_single(representative, batch.live_message_id)
            start = min(representative.parts_sent, len(parts) - 1)
        chat_id = batch.chat_id
        thread_id = batch.thread_id
        remaining = batch.ids
        for index in range(start, len(parts)):
            if self._stopping:
                await self._release(remaining, utcnow(), count_attempt=False)
                return
            part = parts[index]
            try:
                message_id, chat_id, thread_id = await self._send_part(
                    batch, part, chat_id, thread_id
                )
            except _Hold as hold:
                await self._hold(chat_id, remaining, hold.seconds)
                return
            except _Retry as retry:
                await self._retry(batch, remaining, retry)
                return
            except _Fail as failure:
                if failure.reason == "forbidden":
                    await self._forbidden(batch, chat_id, remaining, failure.description)
                else:
                    await self._give_up(batch, remaining, failure.reason, failure.description)
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
        if batch.merge is Merge.RINGING:
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

    async def _save_schedule(self, chat_id: int) -> None:
        """Leave this chat's relay schedule in the database for every replica."""
        at = _from_epoch(self.limiter.relay_next(chat_id))
        await self.database.run(lambda s: claims.push_schedule(s, chat_id, at, utcnow()))

    # -- one Telegram call, with the answers that are handled on the spot -----------------------

    async def _send_part(
        self, batch: ClaimedBatch, part: Part, chat_id: int, thread_id: int | None
    ) -> tuple[int | None, int, int | None]:
        """Send one part; return (message id, chat id, thread id) as they ended up."""
        plain = False
        migrations = 0
        while True:
            try:
                message_id = await self._call(part, chat_id, thread_id, plain=plain)
                return message_id, chat_id, thread_id
            except RetryAfter as error:
                MESSAGES_RETRIED.labels(reason="retry_after").inc()
                raise _Hold(retry_after_seconds(error)) from error
            except ChatMigrated as error:
                migrations += 1
                if migrations > 2:
                    raise _Fail("bad_request", "the chat kept moving to a new id") from error
                new_chat_id = int(error.new_chat_id)
                MESSAGES_RETRIED.labels(reason="migrated").inc()
                await self._migrate(chat_id, new_chat_id)
                chat_id = new_chat_id
                if part.method is PartMethod.EDIT:
                    part = Part(PartMethod.TEXT, text=part.text)
            except Forbidden as error:
                raise _Fail("forbidden", error.message) from error
            except BadRequest as error:
                description = error.message
                lowered = description.lower()
                if "not modified" in lowered and part.method is PartMethod.EDIT:
                    return part.edit_message_id, chat_id, thread_id
                if "can't parse entities" in lowered and not plain:
                    log.warning(
                        "chat %s: Telegram could not parse a message's HTML (%s); "
                        "sending it as plain text",
                        chat_id,
                        description,
                    )
                    MESSAGES_RETRIED.labels(reason="parse_error").inc()
                    plain = True
                    continue
                if "message to edit not found" in lowered and part.method is PartMethod.EDIT:
                    MESSAGES_RETRIED.labels(reason="edit_not_found").inc()
                    part = Part(PartMethod.TEXT, text=part.text)
                    continue
                if "thread not found" in lowered and thread_id is not None:
                    MESSAGES_RETRIED.labels(reason="thread_not_found").inc()
                    await self._forget_topic(chat_id, thread_id)
                    thread_id = None
                    continue
                raise _Fail("bad_request", description) from error
            except TimedOut as error:
                raise _Retry("timeout", error.message or "timed out") from error
            except NetworkError as error:
                reason = "server_error" if _SERVER_ERROR.search(error.message) else "network"
                raise _Retry(reason, error.message) from error
            except TelegramError as error:
                raise _Retry("telegram", error.message) from error

    async def _call(
        self, part: Part, chat_id: int, thread_id: int | None, *, plain: bool
    ) -> int | None:
        wait = self.limiter.relay_wait(chat_id)
        if wait > self.lease.total_seconds() / 3:
            # Replies took this chat's budget after the batch was claimed: hand the batch back
            # rather than wait inside its lease (another replica could take it over meanwhile).
            raise _Hold(wait)
        timeouts = self.timeouts
        common: _CallOptions = {
            "rate_limit_args": Priority.RELAY,
            "connect_timeout": timeouts.connect,
            "read_timeout": timeouts.read,
            "write_timeout": timeouts.write,
            "pool_timeout": timeouts.pool,
        }
        text = part.text
        parse_mode: str | None = ParseMode.HTML
        if plain and text is not None:
            text, parse_mode = plain_text(text), None
        if part.method is PartMethod.EDIT:
            result = await self.bot.edit_message_text(
                text or "",
                chat_id=chat_id,
                message_id=part.edit_message_id,
                parse_mode=parse_mode,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                **common,
            )
            return result.message_id if isinstance(result, Message) else part.edit_message_id
        if part.method is PartMethod.PHOTO:
            assert part.photo is not None  # plan_single makes PHOTO parts only for rows with one
            message = await self.bot.send_photo(
                chat_id,
                part.photo,
                caption=text,
                parse_mode=parse_mode if text else None,
                message_thread_id=thread_id,
                **common,
            )
        elif part.method is PartMethod.DOCUMENT:
            assert part.document is not None  # ringing_document always attaches the listing
            message = await self.bot.send_document(
                chat_id,
                part.document,
                filename=part.file_name,
                caption=text,
                parse_mode=parse_mode if text else None,
                message_thread_id=thread_id,
                **common,
            )
        else:
            message = await self.bot.send_message(
                chat_id,
                text or "",
                parse_mode=parse_mode,
                message_thread_id=thread_id,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                **common,
            )
        return message.message_id

    # -- outcomes -------------------------------------------------------------------------------

    async def _release(
        self, ids: list[int], not_before: datetime, *, count_attempt: bool, error: str | None = None
    ) -> None:
        await self.database.run(
            lambda s: claims.release(
                s, ids, self.owner, not_before, count_attempt=count_attempt, error=error
            )
        )

    async def _hold(self, chat_id: int, ids: list[int], seconds: float) -> None:
        now = utcnow()
        until = now + timedelta(seconds=seconds)
        log.info("chat %s waits %.1f s for its flood budget; other chats go on", chat_id, seconds)

        def hold(s: Session) -> None:
            claims.release(
                s, ids, self.owner, until, count_attempt=False, error=f"retry_after: {seconds:g} s"
            )
            claims.push_schedule(s, chat_id, until, now)

        await self.database.run(hold)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: doubling from `backoff_base`, capped, ±20%."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(attempts - 1, 0))
        return delay * random.uniform(0.8, 1.2)

    async def _retry(self, batch: ClaimedBatch, ids: list[int], retry: _Retry) -> None:
        attempts = batch.representative.attempts + 1
        if attempts >= self.max_attempts:
            await self._give_up(
                batch, ids, retry.reason, f"{retry.description} (after {attempts} attempts)"
            )
            return
        MESSAGES_RETRIED.labels(reason=retry.reason).inc()
        delay = self.backoff(attempts)
        log.warning(
            "chat %s: sending failed (%s: %s); attempt %d of %d in %.1f s",
            batch.chat_id,
            retry.reason,
            retry.description,
            attempts,
            self.max_attempts,
            delay,
        )
        now = utcnow()
        chat_id = batch.chat_id
        # The failed send may still have reached Telegram: the chat's schedule counts it for
        # every replica, as a delivered one would.
        schedule = _from_epoch(self.limiter.relay_next(chat_id))

        def release(s: Session) -> None:
            claims.release(
                s,
                ids,
                self.owner,
                now + timedelta(seconds=delay),
                count_attempt=True,
                error=f"{retry.reason}: {retry.description}",
            )
            claims.push_schedule(s, chat_id, schedule, now)

        await self.database.run(release)

    def _is_admin_notice(self, batch: ClaimedBatch) -> bool:
        # A notice to an admin that fails is only logged and counted: telling the admins about
        # it would go the same way.
        return batch.kind == OutboxKind.NOTICE.value and batch.chat_id in self.admin_user_ids

    async def _give_up(
        self, batch: ClaimedBatch, ids: list[int], reason: str, description: str
    ) -> None:
        now = utcnow()
        error = f"{reason}: {description}"
        log.error("chat %s: %d message(s) failed for good: %s", batch.chat_id, len(ids), error)
        notify = not self._is_admin_notice(batch) and bool(self.admin_user_ids)

        def fail(s: Session) -> int:
            failed = claims.mark_failed(s, ids, self.owner, error, now)
            if notify:
                self._enqueue_failure_notices(s, now)
            return failed

        failed = await self.database.run(fail)
        MESSAGES_FAILED.labels(reason=reason).inc(failed)
        await self._save_schedule(batch.chat_id)

    async def _forbidden(
        self, batch: ClaimedBatch, chat_id: int, ids: list[int], description: str
    ) -> None:
        now = utcnow()
        error = f"forbidden: {description}"
        log.warning("chat %s: Telegram refuses messages there (%s)", chat_id, description)
        notify = not self._is_admin_notice(batch) and bool(self.admin_user_ids)

        def fail(s: Session) -> int:
            told_before = claims.had_failed_before(s, chat_id, "forbidden", ids)
            failed = claims.mark_failed(s, ids, self.owner, error, now)
            waiting = claims.fail_waiting(s, chat_id, error, now)
            routes = access.disable_routes(s, chat_id)
            if notify and (routes > 0 or not told_before):
                chat = s.get(BoundChat, chat_id)
                text = forbidden_notice(
                    chat_id, chat.title if chat else None, description, routes, failed + waiting
                )
                for admin in sorted(self.admin_user_ids):
                    enqueue(s, chat_id=admin, text=text, kind=OutboxKind.NOTICE)
            return failed + waiting

        MESSAGES_FAILED.labels(reason="forbidden").inc(await self.database.run(fail))
        self.wake()

    def _enqueue_failure_notices(self, session: Session, now: datetime) -> None:
        """The admins' notice of messages that failed this hour: one message per admin and
        hour, edited in place as more fail (the outbox sends only the newest version)."""
        since = now.replace(minute=0, second=0, microsecond=0)
        failed = [
            row
            for row in claims.failed_since(session, since, self.admin_user_ids)
            if not (row.error or "").startswith("forbidden:")
        ]
        if not failed:
            return
        titles = {}
        for row in failed:
            if row.chat_id not in titles:
                chat = session.get(BoundChat, row.chat_id)
                titles[row.chat_id] = chat.title if chat else None
        text = failure_notice(failed, titles, since)
        for admin in sorted(self.admin_user_ids):
            enqueue(
                session,
                chat_id=admin,
                text=text,
                kind=OutboxKind.NOTICE,
                edit_key=f"failed:{admin}:{since:%Y%m%d%H}",
            )

    async def _forget_topic(self, chat_id: int, thread_id: int) -> None:
        """The chat's notification topic is gone: its waiting messages and the chat's next ones
        go to the main thread (else each of them would first be refused there, one Telegram
        call and one relay slot wasted per message, for good), and the chat is told once."""
        log.warning(
            "chat %s: forum topic %s is gone; notifications go to the main thread",
            chat_id,
            thread_id,
        )

        def forget(s: Session) -> None:
            moved = access.forget_topic(s, chat_id, thread_id)
            claims.move_thread(s, chat_id, thread_id)
            if moved:
                enqueue(s, chat_id=chat_id, text=TOPIC_GONE_NOTICE, kind=OutboxKind.NOTICE)

        await self.database.run(forget)

    async def _migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        log.info("chat %s became %s; moving it", old_chat_id, new_chat_id)

        def move(s: Session) -> None:
            access.migrate_chat(s, old_chat_id, new_chat_id)
            claims.move_chat(s, old_chat_id, new_chat_id)

        await self.database.run(move)


TOPIC_GONE_NOTICE = (
    "ℹ️ The forum topic where I posted ringing events, call records and digests is gone (it was "
    "deleted), so I post them here in the main chat from now on. To use another topic, run "
    "/bind inside it."
)


# -- what the admins read ------------------------------------------------------------------------


def _chat_words(chat_id: int, title: str | None) -> str:
    return f"<code>{chat_id}</code>" + (f" ({esc(title)})" if title else "")


def forbidden_notice(
    chat_id: int, title: str | None, description: str, routes: int, messages: int
) -> str:
    routes_words = f"switched off its {routes} route{'s' if routes != 1 else ''}"
    return (
        f"🚫 I can no longer post in chat {_chat_words(chat_id, title)}: Telegram answered "
        f"“{esc(description)}”.\n"
        f"I {routes_words if routes else 'had no routes to switch off there'}, and "
        f"{messages} waiting message{'s' if messages != 1 else ''} for it "
        f"{'were' if messages != 1 else 'was'} not sent (kept in the outbox, marked failed).\n"
        f"To resume: add me to the chat again and run /bind there."
    )


def failure_notice(failed: list, titles: dict[int, str | None], since: datetime) -> str:
    by_chat: dict[int, dict[str, int]] = {}
    reasons: dict[int, str] = {}
    for row in failed:
        kinds = by_chat.setdefault(row.chat_id, {})
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
        reasons[row.chat_id] = row.error or "unknown"
    total = len(failed)
    lines = [
        f"⚠️ <b>{total} message{'s' if total != 1 else ''} could not be delivered</b> since "
        f"{since:%H:%M} UTC. {'They are' if total != 1 else 'It is'} kept in the outbox, "
        f"marked failed (ccbot_messages_failed in /metrics)."
    ]
    for shown, (chat_id, kinds) in enumerate(by_chat.items()):
        if shown == 20:
            lines.append(f"… and {len(by_chat) - 20} more chats.")
            break
        reason, _, description = reasons[chat_id].partition(": ")
        what = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        words = REASON_WORDS.get(reason, reason)
        lines.append(
            f"• chat {_chat_words(chat_id, titles.get(chat_id))}: {what} — {esc(words)}"
            + (f": {esc(description)}" if description else "")
        )
    return "\n".join(lines)
