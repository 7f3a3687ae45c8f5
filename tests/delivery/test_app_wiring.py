"""`ccbot run` wiring: the sender runs inside BotService and shares the bot's rate limiter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import BotService
from bot.delivery.outbox import OutboxKind, enqueue
from bot.delivery.pacing import TelegramRateLimiter
from storage.models import OutboxMessage
from tests.bot.conftest import ADMIN, GROUP, VIEWER, BotHarness, make_settings


@pytest.fixture
async def bot(fake_telegram, simulator, tmp_path) -> AsyncIterator[BotHarness]:
    service = BotService(
        make_settings(fake_telegram, simulator, f"sqlite:///{tmp_path / 'bot.db'}")
    )
    await service.start()
    try:
        yield BotHarness(service, fake_telegram, simulator)
    finally:
        await service.stop()


async def test_ccbot_run_sends_the_outbox_and_answers_commands_through_one_rate_limiter(
    bot: BotHarness,
) -> None:
    service = bot.service
    assert service.sender is not None and service.sender.running
    assert isinstance(service.application.bot.rate_limiter, TelegramRateLimiter)
    assert service.sender.limiter is service.application.bot.rate_limiter
    await bot.bind()
    database = service.runtime.database
    mark = bot.telegram.mark()
    database.call(
        lambda s: enqueue(s, chat_id=GROUP, text="📞 <b>1001</b> ringing", kind=OutboxKind.RINGING)
    )
    call = await bot.telegram.wait_for_text(GROUP, "1001", 30, since=mark)  # 30: a hang guard
    assert call.params["parse_mode"] == "HTML"
    reply = await bot.say(GROUP, VIEWER, "/whoami")
    assert "viewer" in reply.text
    [row] = database.call(lambda s: list(s.exec(OutboxMessage.__table__.select())))
    assert row.status == "sent"


async def test_stopping_the_service_stops_the_sender(fake_telegram, simulator, tmp_path) -> None:
    service = BotService(make_settings(fake_telegram, simulator, f"sqlite:///{tmp_path / 'b.db'}"))
    await service.start()
    sender = service.sender
    await service.stop()
    assert sender is not None and not sender.running
    assert ADMIN in sender.admin_user_ids
