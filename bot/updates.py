"""Update processing: answered at once, except where the order of updates matters.

Where order matters, and how it is kept:
- A member's typed answer comes after the button press that asked for it, and a member's file
  after the prompt it answers: every update of one member in one chat that is not a command
  (button presses, text, files, replies) runs in order, one at a time ("member lane").
- A chat's life events (the group became a supergroup, the bot was added or removed) run before
  anything that comes after them in that chat ("chat barrier"); a migration holds both the old and
  the new chat.
- An ordered update of a member also waits for the member's commands that came before it (a button
  press on the card that their /newtask is still sending).

Everything else runs at once: other members are never held up by one member's slow platform call,
and a member's commands (each a request of its own, like /whoami while their /groups or Submit
waits on the platform) wait for nothing. Shared state lives in the database, which is what makes a
double-tapped Submit create one task.

Locks and lanes exist only while an update holds or waits for them, so the maps don't grow with
every chat and member ever seen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from telegram import Message, MessageEntity, Update
from telegram.ext import BaseUpdateProcessor


class _KeyedLocks:
    """One asyncio.Lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self.locks: dict[Hashable, asyncio.Lock] = {}
        self._users: dict[Hashable, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock = self.locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self.locks[key]


@dataclass
class _Lane:
    """One member's updates in one chat: the last ordered one, and the commands running since."""

    tail: asyncio.Future[None] | None = None
    commands: set[asyncio.Future[None]] = field(default_factory=set)
    active: int = 0


class _MemberLanes:
    """Ordered updates wait for every earlier update of the member; commands wait for nothing.

    So a typed answer or a button press never overtakes the prompt or card that an earlier update
    of the same member is still sending, while the member's commands run at once.
    """

    def __init__(self) -> None:
        self.lanes: dict[Hashable, _Lane] = {}

    async def run(self, key: Hashable, ordered: bool, coroutine: Awaitable[Any]) -> None:
        lane = self.lanes.setdefault(key, _Lane())
        lane.active += 1
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            if ordered:
                before = [f for f in (lane.tail, *lane.commands) if f is not None and not f.done()]
                lane.tail, lane.commands = done, set()  # later updates wait for this one
                if before:
                    await asyncio.wait(before)
            else:
                lane.commands.add(done)
            await coroutine
        finally:
            done.set_result(None)
            lane.commands.discard(done)
            lane.active -= 1
            if not lane.active:
                del self.lanes[key]


def _is_command(message: Message) -> bool:
    entities = message.entities or ()
    return bool(
        message.text
        and any(e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in entities)
    )


def chats_to_hold(update: Update) -> tuple[int, ...]:
    """The chats whose barrier this update takes: its life events; empty for ordinary updates."""
    if update.my_chat_member is not None:
        return (update.my_chat_member.chat.id,)
    message = update.effective_message
    if message is not None and (message.migrate_to_chat_id or message.migrate_from_chat_id):
        other = message.migrate_to_chat_id or message.migrate_from_chat_id
        assert other is not None
        return tuple(sorted({message.chat_id, other}))  # sorted: two notices never deadlock
    return ()


def member_lane(update: Update) -> tuple[tuple[int, int], bool] | None:
    """The (chat, member) lane of an update and whether it runs in order (False: a command)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    message = update.message or update.edited_message
    ordered = not (message is not None and _is_command(message))
    return (chat.id, user.id), ordered


class OrderedUpdateProcessor(BaseUpdateProcessor):
    """Concurrent updates with the ordering rules above."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._chats = _KeyedLocks()
        self._members = _MemberLanes()
        # Called with each update once its handlers are done (every reply they sent answered):
        # tests wait on it instead of waiting for the bot to go quiet for a while.
        self.on_finished: Callable[[object], None] | None = None
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def busy_keys(self) -> set[Hashable]:
        """The chats and member lanes with updates running or waiting (empty when idle)."""
        return {*self._chats.locks, *self._members.lanes}

    def cancel_running(self) -> int:
        """Cancel the updates still being handled (a stop that cannot wait any longer); returns
        how many there were."""
        running = [task for task in self._running if not task.done()]
        for task in running:
            task.cancel()
        return len(running)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self._process(update, coroutine)
        finally:
            if task is not None:
                self._running.discard(task)
            if self.on_finished is not None:
                self.on_finished(update)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        held = chats_to_hold(update)
        if held:
            async with contextlib.AsyncExitStack() as stack:
                for chat_id in held:
                    await stack.enter_async_context(self._chats.hold(chat_id))
                await coroutine
            return
        chat = update.effective_chat
        if chat is not None:
            # Wait for a life event of the chat that came first; without one this does not yield.
            async with self._chats.hold(chat.id):
                pass
        lane = member_lane(update)
        if lane is None:
            await coroutine
            return
        key, ordered = lane
        await self._members.run(key, ordered, coroutine)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
