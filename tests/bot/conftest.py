"""The whole bot (BotService: PTB Application + listener) against the fake Bot API and the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import col, func, select
from telegram import Update

from bot.app import BotService
from bot.config import load_settings
from bot.laaffic.transport import TransportOptions
from bot.updates import OrderedUpdateProcessor
from storage.models import OutboxMessage, OutboxStatus

ADMIN = 1001
OPERATOR = 2002
VIEWER = 3003
GROUP = -1001234567890
PUSH_TOKEN = "push-token-for-tests-0123456789"
# The platform client's waits between attempts (0.5 s doubling, and 2 s before checking whether a
# create whose answer was lost took effect) shortened: the tests check what is retried and what the
# user is told, and the simulator applies a request at once. tests/laaffic checks the real values.
QUICK_RETRIES = TransportOptions(backoff=0.02, settle=0.05)
UNFINISHED = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)


@dataclass
class BotHarness:
    service: BotService
    telegram: Any  # tests.fakes.telegram.FakeTelegram
    platform: Any  # the running simulator fixture
    finished: set[int] = field(default_factory=set)  # ids of the updates the bot has handled

    def __post_init__(self) -> None:
        assert self.service.application is not None, "start the service first"
        processor = self.service.application.update_processor
        assert isinstance(processor, OrderedUpdateProcessor)

        def finished(update: object) -> None:
            if isinstance(update, Update):
                self.finished.add(update.update_id)

        processor.on_finished = finished

    async def settled(self, timeout: float = 10) -> None:
        """Wait until the bot has fetched every update sent to it and finished handling each:
        every reply its handlers sent has been answered by the fake by then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (
            self.telegram.pending_updates or not self.telegram.delivered_update_ids <= self.finished
        ):
            if loop.time() > deadline:
                unfinished = self.telegram.delivered_update_ids - self.finished
                raise AssertionError(
                    f"the bot did not finish within {timeout} s: "
                    f"{len(self.telegram.pending_updates)} update(s) not fetched, "
                    f"{sorted(unfinished)} fetched but not finished"
                )
            await asyncio.sleep(0.005)

    async def idle(self, timeout: float = 20) -> None:
        """Wait until the bot has handled every update sent to it (`settled`) and its outbox
        holds nothing pending or being sent: whatever those updates made the bot say has been
        answered by the fake. Tests that check that nothing was said wait on this, not on a
        quiet spell of some length."""
        await self.settled(timeout)
        database = self.service.runtime.database
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def waiting() -> int:
            return database.call(
                lambda s: s.exec(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(col(OutboxMessage.status).in_(UNFINISHED))
                ).one()
            )

        while left := await asyncio.to_thread(waiting):
            assert loop.time() < deadline, (
                f"{left} outbox message(s) still unsent after {timeout} s"
            )
            await asyncio.sleep(0.01)

    async def say(
        self, chat_id: int, user_id: int, text: str, *, timeout: float = 10, **options: Any
    ) -> Any:
        """Send a command or text; return the bot's first answer in that chat (a sent or edited message)."""
        mark = self.telegram.mark()
        if text.startswith("/"):
            self.telegram.send_command(chat_id, user_id, text, **options)
        else:
            self.telegram.send_text(chat_id, user_id, text, **options)
        return await self.answer(chat_id, mark, timeout=timeout)

    async def say_all(self, chat_id: int, user_id: int, text: str) -> str:
        """Send a command; return what the user sees of ALL the bot's messages for it (a long
        answer comes in several), joined, once the bot has finished handling it."""
        return "\n".join(c.result["text"] for c in await self.say_calls(chat_id, user_id, text))

    async def say_calls(self, chat_id: int, user_id: int, text: str) -> list[Any]:
        """Send a command; return every sendMessage call for it, once the bot has finished
        handling it (at least one answer came)."""
        mark = self.telegram.mark()
        self.telegram.send_command(chat_id, user_id, text)
        await self.answer(chat_id, mark)
        await self.settled()
        return [c for c in self.telegram.calls_of("sendMessage", chat_id) if c.seq > mark]

    async def answer(
        self,
        chat_id: int,
        since: int,
        *,
        timeout: float = 10,
        methods: tuple[str, ...] = ("sendMessage", "editMessageText"),
    ) -> Any:
        return await self.telegram.wait_for(
            lambda c: c.method in methods and c.chat_id == chat_id, timeout, since=since
        )

    async def press(
        self, chat_id: int, user_id: int, message_id: int, data: str, *, timeout: float = 10
    ) -> Any:
        """Press a button; return the answerCallbackQuery call."""
        mark = self.telegram.mark()
        self.telegram.press_button(chat_id, user_id, message_id, data)
        return await self.telegram.wait_for(
            lambda c: c.method == "answerCallbackQuery", timeout, since=mark
        )

    async def bind(self, chat_id: int = GROUP, operators: tuple[int, ...] = (OPERATOR,)) -> None:
        reply = await self.say(chat_id, ADMIN, "/bind")
        assert "Bound" in reply.text, reply.text
        for user in operators:
            reply = await self.say(chat_id, ADMIN, f"/role operator {user}")
            assert "is now" in reply.text, reply.text


def make_settings(telegram: Any, platform: Any, database_url: str, **overrides: Any):
    values = dict(
        telegram_bot_token=telegram.token,
        telegram_api_url=telegram.url,
        laaffic_base_url=platform.base_url,
        laaffic_api_key=platform.config.api_key,
        laaffic_api_secret=platform.config.api_secret,
        laaffic_app_id=platform.config.app_id,
        database_url=database_url,
        listen_host="127.0.0.1",
        listen_port=0,
        push_token=PUSH_TOKEN,
        admin_user_ids=str(ADMIN),
    )
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def bot_database_url(tmp_path, migrated_templates) -> str:
    """End-to-end tests run on SQLite; the storage-level races are tested on both backends. The
    file is a copy of a migrated one (BotService.start finds nothing to migrate); `ccbot run` and
    `ccbot sandbox` migrating an empty database are tested by test_process.py and test_kill9.py."""
    path = tmp_path / "bot.db"
    migrated_templates.sqlite_copy(path)
    return f"sqlite:///{path}"


async def _running(
    fake_telegram, platform, database_url: str, **options: object
) -> AsyncIterator[BotHarness]:
    """A started BotService against `platform` and the fake Bot API, stopped afterwards."""
    service = BotService(
        make_settings(fake_telegram, platform, database_url),
        platform_options=QUICK_RETRIES,
        **options,  # type: ignore[arg-type]
    )
    await service.start()
    try:
        yield BotHarness(service, fake_telegram, platform)
    finally:
        await service.stop()


@pytest.fixture
async def bot(fake_telegram, simulator, bot_database_url) -> AsyncIterator[BotHarness]:
    async for harness in _running(fake_telegram, simulator, bot_database_url):
        yield harness


@pytest.fixture
async def chatty_bot(fake_telegram, simulator, bot_database_url) -> AsyncIterator[BotHarness]:
    """The bot with Telegram's flood windows shrunk 20x, for tests that send dozens of commands
    to one group (the real limit, 20 messages a minute, would make them wait minutes)."""
    from bot.delivery.pacing import FloodLimits

    async for harness in _running(
        fake_telegram, simulator, bot_database_url, flood_limits=FloodLimits().scaled(0.05)
    ):
        yield harness


@pytest.fixture
async def fast_bot(fake_telegram, start_simulator, bot_database_url) -> AsyncIterator[BotHarness]:
    """The bot against a simulator that finishes tasks in well under a second."""
    platform = start_simulator(speed=5000, answer_rate=0.5)
    async for harness in _running(fake_telegram, platform, bot_database_url):
        yield harness
