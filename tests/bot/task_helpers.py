"""Helpers for the task tests: uploads in any chat, pressing buttons by fragment, forged presses,
and checking that a press got exactly one answer and nothing else."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from tests.bot.conftest import BotHarness
from tests.bot.test_upload_and_tasks import numbers_csv

OTHER = -1009876543210  # a second team's chat
OTHER_OPERATOR = 4004


def newest_with(bot: BotHarness, chat_id: int, prefix: str) -> Any:
    """The newest bot message in the chat with a button whose data starts with `prefix`."""
    for message in reversed(bot.telegram.messages(chat_id)):
        if any(b.get("callback_data", "").startswith(prefix) for b in message.buttons):
            return message
    raise AssertionError(f"no {prefix!r} button in chat {chat_id}")


def button_data(message: Any, fragment: str) -> str:
    for b in message.buttons:
        if fragment in b.get("callback_data", ""):
            return b["callback_data"]
    raise AssertionError(
        f"no button with {fragment!r}: {[b['callback_data'] for b in message.buttons]}"
    )


async def upload_in(bot: BotHarness, chat_id: int, user_id: int) -> str:
    """Check a number file in the chat and upload it to the platform; return the upload id."""
    mark = bot.telegram.mark()
    bot.telegram.send_document(chat_id, user_id, "leads.csv", numbers_csv(), caption="/upload")
    await bot.telegram.wait_for_text(chat_id, "Number file check", timeout=15, since=mark)
    message = newest_with(bot, chat_id, "up:")
    data = button_data(message, ":go")
    mark = bot.telegram.mark()
    await bot.press(chat_id, user_id, message.message_id, data)
    await bot.telegram.wait_for_text(chat_id, "Uploaded upload", timeout=15, since=mark)
    return data.split(":")[1]


async def press_on(
    bot: BotHarness, chat_id: int, user_id: int, prefix: str, fragment: str
) -> tuple[Any, int]:
    """Press the `fragment` button of the newest `prefix` card; return (the answer, the mark)."""
    card = newest_with(bot, chat_id, prefix)
    mark = bot.telegram.mark()
    answer = await bot.press(chat_id, user_id, card.message_id, button_data(card, fragment))
    return answer, mark


def press_forged(bot: BotHarness, chat_id: int, user_id: int, message_id: int, data: str) -> None:
    """A press with made-up callback data on a real message (what a modified client can send)."""
    message = next(m for m in bot.telegram.messages(chat_id) if m.message_id == message_id)
    real = next(b["callback_data"] for b in message.buttons if "callback_data" in b)
    update = bot.telegram.build_button_press(chat_id, user_id, message_id, real)
    update["callback_query"]["data"] = data
    bot.telegram.enqueue(update)


async def forged_answer(
    bot: BotHarness, chat_id: int, user_id: int, message_id: int, data: str
) -> Any:
    mark = bot.telegram.mark()
    press_forged(bot, chat_id, user_id, message_id, data)
    return await bot.telegram.wait_for(lambda c: c.method == "answerCallbackQuery", since=mark)


async def nothing_sent_since(bot: BotHarness, chat_id: int, mark: int) -> None:
    """Nothing was sent, edited or deleted in the chat since `mark`, once the bot has handled
    every update and sent its whole outbox (an event to wait on, not a quiet spell)."""
    await bot.idle()
    sent = [
        c
        for c in bot.telegram.sent
        if c.seq > mark
        and c.chat_id == chat_id
        and c.method in ("sendMessage", "editMessageText", "deleteMessage")
    ]
    assert not sent, [c.summary() for c in sent]


async def until_finished(bot: BotHarness, task_id: str, timeout: float = 60.0) -> None:
    """Wait until the platform says the task ended (the fast simulator takes seconds; the timeout
    is a hang guard)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        task = await bot.service.runtime.client.get_task(int(task_id))
        if task is not None and task.is_finished:
            return
        assert loop.time() < deadline, f"task {task_id} did not end within {timeout} s: {task}"
        await asyncio.sleep(0.05)


def submitted_task_id(text: str) -> str:
    found = re.search(r"Task <code>(\d+)</code> submitted", text)
    assert found, text
    return found.group(1)


async def card_unchanged_since(bot: BotHarness, chat_id: int, mark: int, said: str) -> None:
    """No card was edited; anything sent repeats the alert's sentence (a long one is also replied)."""
    await bot.idle()
    for c in bot.telegram.sent:
        if c.seq <= mark or c.chat_id != chat_id:
            continue
        assert c.method not in ("editMessageText", "deleteMessage"), c.summary()
        if c.method == "sendMessage":
            assert said[:60] in (c.text or ""), c.summary()
