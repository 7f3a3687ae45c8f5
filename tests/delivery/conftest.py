"""The outbox sender against the fake Bot API over HTTP, with a real PTB bot and real databases.

Time spans of the flood limits are scaled down tenfold in both the limiter and the fake (a group's
minute lasts 6 s), so the rules are the same and the tests quick. Rows are enqueued directly, as
the relay worker will.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.delivery.outbox import OutboxKind, enqueue
from bot.delivery.pacing import FloodLimits, TelegramRateLimiter
from bot.delivery.sender import Sender, SenderTimeouts
from bot.tls import client_tls
from storage.db import Database
from storage.models import BoundChat, GroupRoute, OutboxMessage, OutboxStatus
from tests.fakes.telegram import BotApiCall, FakeTelegram, FloodRules

SCALE = 0.1
LIMITS = FloodLimits().scaled(SCALE)
RULES = FloodRules().scaled(SCALE)

GROUP = -1001234567890
OTHER_GROUP = -1009876543210
PRIVATE = 5005
ADMIN = 1001

SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText")


@dataclass
class SenderHarness:
    database: Database
    telegram: FakeTelegram
    bots: list[ExtBot] = field(default_factory=list)
    senders: list[Sender] = field(default_factory=list)

    async def bot(self, limits: FloodLimits = LIMITS) -> ExtBot:
        """A real PTB bot pointed at the fake, with its own rate limiter (one per 'process')."""
        bot = ExtBot(
            self.telegram.token,
            base_url=self.telegram.base_url,
            base_file_url=self.telegram.base_file_url,
            rate_limiter=TelegramRateLimiter(limits),
            request=HTTPXRequest(httpx_kwargs={"verify": client_tls()}),
            get_updates_request=HTTPXRequest(httpx_kwargs={"verify": client_tls()}),
        )
        await bot.initialize()
        self.bots.append(bot)
        return bot

    async def start_sender(
        self, bot: ExtBot | None = None, *, database: Database | None = None, **options: Any
    ) -> Sender:
        values: dict[str, Any] = dict(
            admin_user_ids={ADMIN},
            lease=timedelta(seconds=3),
            backoff_base=0.05,
            poll_interval=0.02,
            stats_interval=0.1,
            timeouts=SenderTimeouts(connect=2, read=2, write=2, pool=2),
        )
        values.update(options)
        sender = Sender(database or self.database, bot or await self.bot(), **values)
        await sender.start()
        self.senders.append(sender)
        return sender

    def enqueue(
        self, chat_id: int, text: str, kind: OutboxKind = OutboxKind.TASK_CARD, **options: Any
    ) -> int:
        row = self.database.call(
            lambda s: enqueue(s, chat_id=chat_id, text=text, kind=kind, **options)
        )
        assert row.id is not None
        return row.id

    def rows(self) -> list[OutboxMessage]:
        return self.database.call(
            lambda s: list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())
        )

    def row(self, row_id: int) -> OutboxMessage:
        return next(r for r in self.rows() if r.id == row_id)

    def unfinished(self) -> list[OutboxMessage]:
        return [r for r in self.rows() if r.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)]

    async def settled(self, timeout: float = 15.0) -> list[OutboxMessage]:
        """Wait until no message is pending or being sent; return every row."""
        await self.until(lambda: not self.unfinished(), timeout, what="the outbox to empty")
        return self.rows()

    async def until(
        self, condition: Callable[[], bool], timeout: float = 10.0, *, what: str
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                states = [(r.id, r.chat_id, r.status, r.attempts, r.error) for r in self.rows()]
                calls = "\n".join(c.summary() for c in self.telegram.sent[-15:])
                raise AssertionError(f"timed out waiting for {what}; rows: {states}\n{calls}")
            await asyncio.sleep(0.02)

    def delivered(self, chat_id: int | None = None) -> list[BotApiCall]:
        """Successful sends and edits the fake answered, oldest first."""
        return [
            c
            for c in self.telegram.sent
            if c.ok and c.method in SEND_METHODS and (chat_id is None or c.chat_id == chat_id)
        ]

    def bind(self, chat_id: int, title: str, groups: tuple[str, ...] = ()) -> None:
        def write(session: Any) -> None:
            session.add(BoundChat(chat_id=chat_id, title=title, chat_type="supergroup"))
            for number, name in enumerate(groups, start=1):
                session.add(GroupRoute(voice_group_id=number, chat_id=chat_id, group_name=name))

        self.database.call(write)

    async def close(self) -> None:
        for sender in self.senders:
            await sender.stop()
        for bot in self.bots:
            await bot.shutdown()


@pytest.fixture
async def harness(
    database: Database, fake_telegram_factory: Callable[..., FakeTelegram]
) -> AsyncIterator[SenderHarness]:
    """The sender's world: a migrated database (SQLite, and PostgreSQL when TEST_DATABASE_URL is
    set) and a fake Bot API enforcing the (scaled) flood limits."""
    telegram = fake_telegram_factory(flood_limits=RULES)
    h = SenderHarness(database, telegram)
    try:
        yield h
    finally:
        await h.close()
        assert telegram.flood_refusals == [], "the fake had to say 429"


def ringing_text(number: int, agent: str = "1001") -> str:
    """A ringing message shaped as the relay renders it: who rings, then whom, details after."""
    return (
        f"📞 <b>{agent}</b>\n<code>+91 98765 {number:05d}</code>\n"
        f"Agent group: Team One\nTask: 5000123\nMissed by: 1002, 1003"
    )
