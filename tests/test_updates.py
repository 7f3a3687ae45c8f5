import asyncio
from datetime import UTC, datetime

from telegram import Chat, Message, Update

from bot.updates import PerChatUpdateProcessor


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, "supergroup")
    return Update(update_id, message=Message(update_id, datetime.now(UTC), chat, text="x"))


async def test_one_chat_in_order_different_chats_in_parallel() -> None:
    processor = PerChatUpdateProcessor(8)
    log: list[tuple[str, int]] = []
    slow_started = asyncio.Event()

    async def handle(tag: str, delay: float) -> None:
        log.append(("start", tag))
        if tag == "a1":
            slow_started.set()
        await asyncio.sleep(delay)
        log.append(("end", tag))

    async with processor:
        jobs = [
            asyncio.create_task(processor.process_update(_update(1, -1), handle("a1", 0.2))),
            asyncio.create_task(processor.process_update(_update(2, -1), handle("a2", 0))),
            asyncio.create_task(processor.process_update(_update(3, -2), handle("b1", 0))),
        ]
        await asyncio.gather(*jobs)
    order = [tag for _, tag in log]
    # chat -1: a2 starts only after a1 ended; chat -2 did not wait for chat -1's slow update
    assert order.index("a2") > log.index(("end", "a1"))
    assert log.index(("end", "b1")) < log.index(("end", "a1"))
    assert processor._locks == {}
