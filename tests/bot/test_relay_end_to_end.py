"""The whole loop over real HTTP: a task submitted from the chat makes the simulator place calls,
its ringing and call-record pushes reach the bot's listener, the relay routes them, the sender posts
them in the chat through the fake Bot API, and the live task card moves to its end."""

from __future__ import annotations

import asyncio
import dataclasses

from sqlmodel import func, select

from storage.models import CallRecord, OutboxMessage, PushInbox, RingingEvent
from tests.bot.conftest import GROUP, PUSH_TOKEN, BotHarness
from tests.bot.test_task_life import submit_one_line, uploaded


def _point_pushes_at_the_bot(bot: BotHarness) -> None:
    url = f"{bot.service.listener_url}/push/{PUSH_TOKEN}"
    config = bot.platform.config
    try:
        config.push_url = url
    except dataclasses.FrozenInstanceError:
        object.__setattr__(config, "push_url", url)


def _count(bot: BotHarness, model: type) -> int:
    with bot.service.runtime.database.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


async def test_a_submitted_task_rings_reports_and_ends_in_the_chat(fast_bot: BotHarness) -> None:
    bot = fast_bot
    _point_pushes_at_the_bot(bot)
    upload_id = await uploaded(bot)
    # Calls come as the default 15-minute digest: what reaches the chat at once is the ringing
    # (merged when it backs up) and the task card.
    mark = bot.telegram.mark()
    task_id = await submit_one_line(bot, upload_id)

    ringing = await bot.telegram.wait_for_text(GROUP, "Ringing", timeout=30, since=mark)
    assert "Flow-Team" in ringing.text
    card_final = None
    for _ in range(600):  # the fast simulator ends the task within seconds; 60 s: a hang guard
        await asyncio.sleep(0.1)
        sent = [c for c in bot.telegram.sent if c.seq > mark and c.chat_id == GROUP and c.ok]
        card_final = next(
            (c for c in reversed(sent) if task_id in (c.text or "") and "completed" in c.text),
            None,
        )
        if card_final is not None and _count(bot, CallRecord) >= 12:
            break
    assert card_final is not None, [(c.method, c.text) for c in sent if task_id in (c.text or "")]
    # Every push was relayed; nothing failed.
    for _ in range(600):  # 60 s: a hang guard
        with bot.service.runtime.database.session() as s:
            unrelayed = s.exec(
                select(func.count()).select_from(PushInbox).where(PushInbox.status != "done")
            ).one()
        if not unrelayed:
            break
        await asyncio.sleep(0.1)
    assert unrelayed == 0
    with bot.service.runtime.database.session() as s:
        failed = s.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
        ).one()
    assert failed == 0
    records, events = _count(bot, CallRecord), _count(bot, RingingEvent)
    assert records >= 12 and events >= 1
    texts = "\n".join(c.text or "" for c in bot.telegram.sent if c.seq > mark and c.ok)
    assert texts.count("Ringing") >= 1
    assert not [c for c in bot.telegram.sent if c.status == 429]


async def test_readyz_says_ready_and_names_what_is_missing(bot: BotHarness) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=bot.service.listener_url) as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready" and ready.json()["problems"] == []
        await bot.service.sender.stop()
        not_ready = await http.get("/readyz")
        assert not_ready.status_code == 503
        assert "the sender is not running" in not_ready.json()["problems"]
        health = await http.get("/healthz")
        assert health.status_code == 200  # alive, only not ready


async def test_status_tells_admins_the_replica_queues_and_last_platform_error(
    bot: BotHarness,
) -> None:
    from tests.bot.conftest import ADMIN, OPERATOR

    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Team-Dup")
    await bot.say(GROUP, OPERATOR, "/newgroup Team-Dup")  # the platform refuses it: -20
    reply = await bot.say(GROUP, ADMIN, "/status")
    text = reply.result["text"]
    assert bot.service.presence.replica_id in text and "scheduler leader" in text
    assert "Pushes waiting to be relayed: 0" in text and "relay lag 0:00" in text
    assert "Last platform error: seatGroup/addGroup, code -20" in text and "already exists" in text
    refused = await bot.say(GROUP, OPERATOR, "/status")
    assert "admin" in refused.text
