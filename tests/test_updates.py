"""The update processor: order where it matters, everything else at once, nothing remembered."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from telegram import CallbackQuery, Chat, Message, MessageEntity, Update, User

from bot.updates import OrderedUpdateProcessor

_ids = iter(range(1, 10_000))


def _message(chat_id: int, user_id: int, text: str, **fields: Any) -> Message:
    entities = (
        [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(text.split()[0]))]
        if text.startswith("/")
        else None
    )
    return Message(
        next(_ids),
        datetime.now(UTC),
        Chat(chat_id, "supergroup"),
        from_user=User(user_id, f"user {user_id}", False),
        text=text or None,
        entities=entities,
        **fields,
    )


def _text(chat_id: int, user_id: int, text: str, **fields: Any) -> Update:
    return Update(next(_ids), message=_message(chat_id, user_id, text, **fields))


def _press(chat_id: int, user_id: int) -> Update:
    card = _message(chat_id, 1, "card")
    user = User(user_id, f"user {user_id}", False)
    query = CallbackQuery(str(next(_ids)), user, "chat", message=card, data="x:1")
    return Update(next(_ids), callback_query=query)


class Recorder:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.started: dict[str, asyncio.Event] = {}
        self.release: dict[str, asyncio.Event] = {}

    def job(self, tag: str, *, hold: bool = False) -> Any:
        self.started[tag] = asyncio.Event()
        self.release[tag] = asyncio.Event()
        if not hold:
            self.release[tag].set()

        async def run() -> None:
            self.log.append(("start", tag))
            self.started[tag].set()
            await self.release[tag].wait()
            self.log.append(("end", tag))

        return run()

    def ended_before_started(self, first: str, second: str) -> bool:
        return self.log.index(("end", first)) < self.log.index(("start", second))


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_other_members_and_the_same_members_commands_are_not_held_up() -> None:
    processor = OrderedUpdateProcessor(16)
    rec = Recorder()
    async with processor:
        slow = asyncio.create_task(
            processor.process_update(_text(-1, 10, "/groups"), rec.job("slow", hold=True))
        )
        await rec.started["slow"].wait()
        others = [
            processor.process_update(_text(-1, 20, "/whoami"), rec.job("other member")),
            processor.process_update(_text(-1, 20, "hello"), rec.job("other member's text")),
            processor.process_update(_text(-1, 10, "/whoami"), rec.job("same member command")),
            processor.process_update(_text(-2, 10, "/groups"), rec.job("other chat")),
        ]
        await asyncio.wait_for(asyncio.gather(*others), 2)
        assert ("end", "slow") not in rec.log  # all of them finished while /groups still waits
        rec.release["slow"].set()
        await slow
    assert processor.busy_keys == set()


async def test_a_members_button_presses_and_answers_wait_for_their_earlier_updates() -> None:
    processor = OrderedUpdateProcessor(16)
    rec = Recorder()
    async with processor:
        jobs = [
            # /newtask is still sending its card when the press on it arrives
            asyncio.create_task(
                processor.process_update(_text(-1, 10, "/newtask 12"), rec.job("newtask", hold=True))
            ),
            asyncio.create_task(processor.process_update(_press(-1, 10), rec.job("press", hold=True))),
            asyncio.create_task(
                processor.process_update(_text(-1, 10, "3"), rec.job("typed answer"))
            ),
        ]
        await rec.started["newtask"].wait()
        await _settle()
        assert ("start", "press") not in rec.log
        rec.release["newtask"].set()
        await rec.started["press"].wait()
        await _settle()
        assert ("start", "typed answer") not in rec.log
        rec.release["press"].set()
        await asyncio.gather(*jobs)
    assert rec.ended_before_started("newtask", "press")
    assert rec.ended_before_started("press", "typed answer")
    assert processor.busy_keys == set()


async def test_a_migration_notice_runs_before_what_follows_in_both_chats() -> None:
    processor = OrderedUpdateProcessor(16)
    rec = Recorder()
    old, new = -4001, -1004001
    async with processor:
        notice = _text(old, 10, "", migrate_to_chat_id=new)
        jobs = [
            asyncio.create_task(processor.process_update(notice, rec.job("notice", hold=True))),
            asyncio.create_task(
                processor.process_update(_text(new, 20, "/whoami"), rec.job("new chat command"))
            ),
            asyncio.create_task(
                processor.process_update(_text(old, 30, "/whoami"), rec.job("old chat command"))
            ),
            asyncio.create_task(
                processor.process_update(_text(-2, 30, "/whoami"), rec.job("unrelated chat"))
            ),
        ]
        await rec.started["notice"].wait()
        await asyncio.wait_for(rec.started["unrelated chat"].wait(), 2)
        await _settle()
        assert ("start", "new chat command") not in rec.log
        assert ("start", "old chat command") not in rec.log
        rec.release["notice"].set()
        await asyncio.gather(*jobs)
    assert rec.ended_before_started("notice", "new chat command")
    assert rec.ended_before_started("notice", "old chat command")
    assert processor.busy_keys == set()
