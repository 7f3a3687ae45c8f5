"""Whether the database takes writes: what /healthz, /readyz and /status say, and the admins' two
notices (writes refused, writes taken again).

The push inbox's writer reports every commit and every refusal (storage.db.WriteHealth). When no
push comes, /healthz finds out itself with a small probe write: every WRITE_IDLE_S while writes
go through, and every WRITE_RETRY_S while they are refused, so that a replica whose /healthz
answers 503 (and which a proxy therefore sends no pushes) still sees the database recover.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from sqlmodel import Session
from telegram import Bot

from bot.delivery.chat_changes import admin_language
from bot.delivery.replies import send_text
from bot.i18n import DEFAULT, _, speaking
from bot.metrics import DATABASE_WRITES_REFUSED, PUSHES_REJECTED
from bot.render import esc
from bot.views.values import duration
from storage.db import Database, WriteChange, WriteHealth, WriteRefusal, write_refusal
from storage.models import InboxStatus, PushInbox, utcnow

log = logging.getLogger(__name__)

WRITE_RETRY_S = 5.0
WRITE_IDLE_S = 60.0
NOTICE_AFTER_S = 20.0
# About what a push takes: a probe that fits where a push would not would say "recovered" early.
PROBE_BODY = "{}" + " " * 2046

# Counted from 0 at start, so an alert's increase() sees the first refused push too.
for _reason in (*WriteRefusal, "not_stored"):
    PUSHES_REJECTED.labels(str(_reason))
for _reason in WriteRefusal:
    DATABASE_WRITES_REFUSED.labels(_reason.value).set(0)


def record_write_state(change: WriteChange) -> None:
    """A WriteHealth listener: `ccbot_database_writes_refused` follows the state."""
    for reason in WriteRefusal:
        refused = change.refused and change.reason == reason
        DATABASE_WRITES_REFUSED.labels(reason.value).set(1 if refused else 0)


def probe_write(session: Session) -> None:
    """Insert a push-sized row into the inbox and delete it in the same transaction: the commit
    needs the room a push needs, and no reader (the relay worker of any replica) ever sees it."""
    row = PushInbox(kind="probe", body=PROBE_BODY, received_at=utcnow(), status=InboxStatus.PENDING)
    session.add(row)
    session.flush()
    session.delete(row)


class WriteWatch:
    """`health` kept current by /healthz: it probes when no write told it anything for a while."""

    def __init__(self, health: WriteHealth, database: Database) -> None:
        self.health = health
        self._database = database
        self._probed_at: float | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> WriteHealth:
        """The health, after a probe write when one is due. One probe at a time: whoever asks
        while it runs (a database that does not answer takes up to its connect timeout) gets the
        state as it is."""
        health = self.health
        if self._lock.locked():
            return health
        async with self._lock:
            now = health.clock()
            seen = [t for t in (health.last_result_at, self._probed_at) if t is not None]
            due = WRITE_RETRY_S if health.refused else WRITE_IDLE_S
            if seen and now - max(seen) < due:
                return health
            self._probed_at = now
            try:
                await self._database.run(probe_write)
            except Exception as exc:
                if write_refusal(exc) is None:
                    log.warning("the write probe failed: %s: %s", type(exc).__name__, exc)
                health.failed(exc)
            else:
                health.committed()
        return health


def problem(health: WriteHealth) -> str | None:
    """One line for /healthz and /readyz while the database refuses writes; None otherwise.
    English, for operators and their tools; /status says it in the chat's language
    (bot.status.refused_writes)."""
    if not health.refused:
        return None
    what = (
        "the database refuses writes: its disk is full"
        if health.reason == WriteRefusal.DATABASE_FULL
        else "the database takes no writes"
    )
    return f"{what} ({health.detail}) for {duration(health.refused_for_s())}"


def writes_notice(change: WriteChange) -> str:
    """The admins' private message (HTML) when writes stop or start again, in the current
    language."""
    if not change.refused:
        return _(
            "✅ <b>The database takes writes again</b> (it refused them for {lasted}). Pushes are "
            "stored and relayed again. The platform sends a refused push again only a few times "
            "(a call record every 30 minutes, ringing events at once), so some of those refused "
            "meanwhile may be lost: <code>ccbot_pushes_rejected_total</code> counts them by "
            "reason.",
            lasted=duration(change.lasted_s),
        )
    if change.reason == WriteRefusal.DATABASE_FULL:
        cause = _("its disk is full")
        fix = _("Free space on the database's disk or volume")
    else:
        cause = _("it does not answer, or answers read-only")
        fix = _("Check that the database runs and that ccbot reaches it (<code>ccbot check</code>)")
    return _(
        "⚠️ <b>The database refuses writes</b>: {cause} ({detail}).\n"
        "Pushes from the platform are answered 503 and not stored (the platform sends each again "
        "a few times), so nothing new reaches the chats, and commands that change something "
        "fail. /healthz and /readyz answer 503.\n"
        "{fix}. ccbot notices by itself when writes go through again and tells you here.",
        cause=cause,
        detail=esc(change.detail),
        fix=fix,
    )


def _languages(session: Session, admins: list[int]) -> dict[int, str]:
    return {admin: admin_language(session, admin) for admin in admins}


async def tell_admins_about_writes(
    bot: Bot, database: Database, admin_user_ids: Iterable[int], change: WriteChange
) -> None:
    """Straight through the reply path, not the outbox: the outbox is a table, and the database
    is what refuses writes. Each admin reads it in their private chat's language when the
    database still answers reads (a full disk); in English when it does not."""
    admins = sorted(admin_user_ids)
    try:
        languages = await database.run(lambda s: _languages(s, admins))
    except Exception as exc:
        log.info("the admins' languages could not be read (%s); telling them in English", exc)
        languages = {}
    for admin in admins:
        with speaking(languages.get(admin, DEFAULT)):
            text = writes_notice(change)
        try:
            await send_text(bot, database, admin, text)
        except Exception as exc:
            log.warning("could not tell admin %s about the database's writes: %s", admin, exc)


class WriteNotices:
    """A WriteHealth listener: the admins are told once when writes have been refused for
    NOTICE_AFTER_S, and once when they are taken again after that, in that order. A shorter
    refusal (the one commit a restarted PostgreSQL's dropped connection fails) is only logged."""

    def __init__(self, bot: Bot, database: Database, admin_user_ids: Iterable[int]) -> None:
        self._bot = bot
        self._database = database
        self._admins = frozenset(admin_user_ids)
        self._confirm: asyncio.TimerHandle | None = None
        self._told_refusal = False
        self._last: asyncio.Task[None] | None = None

    def __call__(self, change: WriteChange) -> None:
        if change.refused:
            log.error("the database refuses writes: %s", change.detail)
        else:
            log.warning("the database takes writes again after %.0f s", change.lasted_s)
        if not self._admins:
            return
        if change.refused:
            self._confirm = asyncio.get_running_loop().call_later(
                NOTICE_AFTER_S, self._refusal_lasted, change
            )
            return
        if self._confirm is not None:  # a blip: nobody was told, nobody needs to be
            self._confirm.cancel()
            self._confirm = None
        if self._told_refusal:
            self._told_refusal = False
            self._send(change)

    def _refusal_lasted(self, change: WriteChange) -> None:
        self._confirm = None
        self._told_refusal = True
        self._send(change)

    def _send(self, change: WriteChange) -> None:
        previous = self._last
        self._last = asyncio.get_running_loop().create_task(self._tell(previous, change))

    async def _tell(self, previous: asyncio.Task[None] | None, change: WriteChange) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        await tell_admins_about_writes(self._bot, self._database, self._admins, change)

    async def flush(self) -> None:
        """Wait for the notices on their way (the listener's stop); forget one not yet due."""
        if self._confirm is not None:
            self._confirm.cancel()
            self._confirm = None
        if self._last is not None:
            await asyncio.gather(self._last, return_exceptions=True)
