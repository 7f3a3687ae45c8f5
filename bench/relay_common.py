"""What the relay benchmarks share: a fresh database, the fake Bot API, a sender, percentiles."""

from __future__ import annotations

import contextlib
import math
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from telegram.ext import BaseRateLimiter, ExtBot

from bot.delivery.pacing import TelegramRateLimiter
from bot.delivery.sender import Sender
from storage.db import Database, normalise_url
from storage.migrate import upgrade
from tests.fakes.telegram import BotApiCall, FakeTelegram

GROUP = -1001234567890


@contextlib.contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A new, migrated database: a SQLite file in a temporary directory, or (given a PostgreSQL
    URL) a database created next to it and dropped afterwards."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(db_url)
            yield db_url
        return
    admin = make_url(normalise_url(url))
    name = f"ccbot_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(db_url)
        yield db_url
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def backend_name(url: str) -> str:
    return make_url(normalise_url(url)).get_backend_name()


@dataclass
class RelayWorld:
    database: Database
    telegram: FakeTelegram
    bot: ExtBot
    sender: Sender | None = None


@contextlib.asynccontextmanager
async def relay_world(
    url: str,
    *,
    flood_limits: bool = True,
    rate_limiter: BaseRateLimiter | None = None,
    start_sender: bool = True,
    **sender_options: object,
) -> AsyncIterator[RelayWorld]:
    """The fake Bot API (in a thread of this process), a real PTB bot, and the sender."""
    telegram = FakeTelegram(flood_limits=flood_limits).start()
    database = Database(url)
    bot = ExtBot(
        telegram.token,
        base_url=telegram.base_url,
        base_file_url=telegram.base_file_url,
        rate_limiter=rate_limiter or TelegramRateLimiter(),
    )
    await bot.initialize()
    world = RelayWorld(database, telegram, bot)
    try:
        if start_sender:
            world.sender = Sender(database, bot, **sender_options)  # type: ignore[arg-type]
            await world.sender.start()
        yield world
    finally:
        if world.sender is not None:
            await world.sender.stop()
        await bot.shutdown()
        database.dispose()
        telegram.stop()


def delivered(telegram: FakeTelegram) -> list[BotApiCall]:
    methods = {"sendMessage", "sendDocument", "sendPhoto", "editMessageText"}
    return [c for c in telegram.sent if c.ok and c.method in methods]


def shown(call: BotApiCall) -> str:
    """What a chat member can read of a message: its text or caption and any attached file."""
    parts = [call.text or ""]
    parts += [f.content.decode("utf-8", "replace") for f in call.files.values()]
    return "\n".join(parts)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def ringing_text(number: int) -> str:
    """A ringing message as the relay renders it: a short first line (agent, callee), details."""
    return (
        f"📞 <b>1001</b> ← <code>+91 98765 {number:05d}</code>\n"
        f"Agent group: Team One · task 5000123\nMissed by: 1002, 1003"
    )


def marker(number: int) -> str:
    return f"+91 98765 {number:05d}"
