"""What the sender writes when a batch did not simply go: Telegram asked to wait, the send may work
later, it failed for good, or the chat refuses the bot. Every write is one transaction and changes
only rows this sender still holds (compare-and-set on the lease owner, see `outbox_claims`).

Failures are never silent: each is logged, counted in ccbot_messages_failed by reason, and shown
to the admins (`bot.views.notices`): one message per admin and hour, edited as more fail.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.delivery import outbox_claims as claims
from bot.delivery.chat_changes import FORBIDDEN, admin_language, chat_refuses
from bot.delivery.outbox import OutboxKind, enqueue
from bot.delivery.outbox_claims import ClaimedBatch
from bot.i18n import speaking
from bot.metrics import MESSAGES_FAILED, MESSAGES_RETRIED
from bot.views.notices import REASON_WORDS, failure_notice
from storage.db import Database
from storage.models import BoundChat, utcnow

log = logging.getLogger(__name__)

# Every reason a message can fail for good with. Their series exist at 0 from the start, so the
# first failure after a start is a rise that Prometheus' increase() sees (a series born at 1 is
# not), in the dashboard as in the alerts.
FAILURE_REASONS = (*REASON_WORDS, FORBIDDEN)
for _reason in FAILURE_REASONS:
    MESSAGES_FAILED.labels(reason=_reason)


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts of a message Telegram could not take: doubling from `base`,
    capped, ±20 %. With the defaults a message is given up about 4 minutes after its first
    attempt (2 + 4 + … + 128 = 254 s of waiting between its 8 attempts, plus the attempts' own
    timeouts; see `total_wait`), as the README says: long enough to ride out a short outage of
    Telegram or of the network."""

    base: float = 2.0
    cap: float = 300.0
    max_attempts: int = 8

    def delay(self, attempts: int, jitter: float = 1.0) -> float:
        """Seconds before attempt `attempts + 1` (`jitter` in [0.8, 1.2])."""
        return min(self.cap, self.base * 2 ** max(attempts - 1, 0)) * jitter

    def total_wait(self) -> float:
        """Seconds of waiting, without jitter, between the first attempt and giving up."""
        return sum(self.delay(n) for n in range(1, self.max_attempts))


class Outcomes:
    """The database side of a batch's outcome, for one sender (`owner`)."""

    def __init__(
        self,
        database: Database,
        owner: str,
        *,
        admin_user_ids: Iterable[int],
        backoff: Backoff,
        schedule_of: Callable[[int], datetime],
    ) -> None:
        self.database = database
        self.owner = owner
        self.admin_user_ids = frozenset(admin_user_ids)
        self.backoff = backoff
        # The chat's relay schedule as this process's limiter has it (written for every replica).
        self.schedule_of = schedule_of

    async def release(self, ids: list[int], not_before: datetime, *, count_attempt: bool) -> None:
        """Hand rows back unsent (the sender is stopping)."""
        await self.database.run(
            lambda s: claims.release(s, ids, self.owner, not_before, count_attempt=count_attempt)
        )

    async def hold(self, chat_id: int, ids: list[int], seconds: float) -> None:
        """Telegram said RetryAfter: the chat waits that long, for every replica."""
        now = utcnow()
        until = now + timedelta(seconds=seconds)
        log.info("chat %s waits %.1f s for its flood budget; other chats go on", chat_id, seconds)

        def hold(s: Session) -> None:
            claims.release(
                s, ids, self.owner, until, count_attempt=False, error=f"retry_after: {seconds:g} s"
            )
            claims.push_schedule(s, chat_id, until, now)

        await self.database.run(hold)

    async def retry(
        self, batch: ClaimedBatch, ids: list[int], reason: str, description: str
    ) -> None:
        """The send may work later: back to pending after a backoff, or failed after the last
        attempt."""
        attempts = batch.representative.attempts + 1
        backoff = self.backoff
        if attempts >= backoff.max_attempts:
            await self.give_up(batch, ids, reason, f"{description} (after {attempts} attempts)")
            return
        MESSAGES_RETRIED.labels(reason=reason).inc()
        delay = backoff.delay(attempts, random.uniform(0.8, 1.2))
        log.warning(
            "chat %s: sending failed (%s: %s); attempt %d of %d in %.1f s",
            batch.chat_id,
            reason,
            description,
            attempts,
            backoff.max_attempts,
            delay,
        )
        now = utcnow()
        chat_id = batch.chat_id
        # The failed send may still have reached Telegram: the chat's schedule counts it for
        # every replica, as a delivered one would.
        schedule = self.schedule_of(chat_id)

        def release(s: Session) -> None:
            claims.release(
                s,
                ids,
                self.owner,
                now + timedelta(seconds=delay),
                count_attempt=True,
                error=f"{reason}: {description}",
            )
            claims.push_schedule(s, chat_id, schedule, now)

        await self.database.run(release)

    def _is_admin_notice(self, batch: ClaimedBatch) -> bool:
        # A notice to an admin that fails is only logged and counted: telling the admins about
        # it would go the same way.
        return batch.kind == OutboxKind.NOTICE.value and batch.chat_id in self.admin_user_ids

    async def give_up(
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
        chat_id = batch.chat_id
        at = self.schedule_of(chat_id)
        await self.database.run(lambda s: claims.push_schedule(s, chat_id, at, utcnow()))

    async def forbidden(
        self, batch: ClaimedBatch, chat_id: int, ids: list[int], description: str
    ) -> None:
        """The chat refuses the bot: this batch and everything waiting for the chat fail, and
        the chat's one handling (`chat_changes.chat_refuses`) runs."""
        now = utcnow()
        admins = () if self._is_admin_notice(batch) else self.admin_user_ids

        def fail(s: Session) -> int:
            told_before = claims.had_failed_before(s, chat_id, FORBIDDEN, ids)
            failed = claims.mark_failed(s, ids, self.owner, f"{FORBIDDEN}: {description}", now)
            waiting = chat_refuses(
                s,
                chat_id,
                description,
                now,
                admin_user_ids=admins,
                failed_now=failed,
                told_before=told_before,
            )
            return failed + waiting

        MESSAGES_FAILED.labels(reason=FORBIDDEN).inc(await self.database.run(fail))

    def _enqueue_failure_notices(self, session: Session, now: datetime) -> None:
        """The admins' notice of messages that failed this hour: one message per admin and
        hour, edited in place as more fail (the outbox sends only the newest version)."""
        since = now.replace(minute=0, second=0, microsecond=0)
        failed = [
            row
            for row in claims.failed_since(session, since, self.admin_user_ids)
            if not (row.error or "").startswith(f"{FORBIDDEN}:")
        ]
        if not failed:
            return
        titles = {}
        for row in failed:
            if row.chat_id not in titles:
                chat = session.get(BoundChat, row.chat_id)
                titles[row.chat_id] = chat.title if chat else None
        for admin in sorted(self.admin_user_ids):
            with speaking(admin_language(session, admin)):
                text = failure_notice(failed, titles, since)
            enqueue(
                session,
                chat_id=admin,
                text=text,
                kind=OutboxKind.NOTICE,
                edit_key=f"failed:{admin}:{since:%Y%m%d%H}",
            )
