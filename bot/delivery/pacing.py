"""Pacing of everything the bot sends, so Telegram never has to answer 429.

Telegram's flood limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this):
about one message per second in a chat (short bursts are tolerated), at most 20 messages a minute
in a group, about 30 messages a second overall. Two kinds of traffic share them:

- handler replies (`Priority.REPLY`): a user is waiting, so they go first. They are not spaced
  within a chat (users set that pace and Telegram tolerates their bursts), but they count in the
  group and overall windows like every other message, and a 429 on a reply is waited out and the
  reply retried (up to `reply_retries` times).
- relayed messages (`Priority.RELAY`, only the sender uses it): they take only the budget left.
  A relay message waits until the chat has been quiet enough (at most one other message in the
  last 3 s, so a reply still fits in Telegram's burst), keeps its own schedule per chat (one
  message per 1.5 s in a private chat, per 3.75 s in a group, i.e. 16 a minute, leaving 4 of the
  group's 20 to replies), stays at 25 of the 30 overall, and yields to any reply waiting for the
  same chat or for the overall budget.

One `TelegramRateLimiter` per process is installed on the PTB `Application`
(`Application.builder().rate_limiter(...)`), and the sender calls Telegram through the same bot
with `rate_limit_args=Priority.RELAY`: so both kinds are counted in one place.

Every send is counted from the moment it is asked for until its answer arrives, and then at the
time the answer arrived. Telegram saw the request before it answered, and sees the next request
after we asked for it, so the gaps Telegram measures are never shorter than the ones counted here,
however slow the network. The relay schedule follows the same rule: the next relay message of a
chat is due one interval after the previous one's slot, and never sooner than one interval (less
the catch-up) after its answer arrived. A send that was slow to reach Telegram (a slow network, a
busy process) therefore pushes the next one out instead of letting the two arrive together.

Several replicas: each keeps this view in memory (the fast path), and the relay schedule of each
chat also lives in the `chat_pacing` table. The sender reads it when it claims a chat's messages
(the claim locks that row) and writes back the chat's next relay time when the batch is done, or
now + retry_after after a 429. So a chat gets one message per 1.5 s / 3.75 s from all replicas
together (16 relay messages a minute in a group; a send that fell behind may catch up by
`relay_catch_up`, 0.5 s, so at most 17 fit in one minute, still under Telegram's 20), and any two
of its relay messages reach Telegram at least one interval less the catch-up apart, whichever
replicas sent them and however long the first one took. What stays per replica: the overall 25 a
second (set `relay_overall_messages` to 25 / replicas for a hard bound) and the knowledge of
another replica's handler replies (4 of a group's 20 are left for them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from enum import Enum, IntEnum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.telegram_errors import retry_after_seconds

log = logging.getLogger(__name__)

ChatKey = int | str  # a chat id, or an @username Telegram resolves itself


class Priority(IntEnum):
    REPLY = 0  # a handler's answer to a user: goes first
    RELAY = 1  # the sender: takes only the budget replies leave


class SendKind(Enum):
    NEW = "new"  # a new message in the chat: counts in every limit
    EDIT = "edit"  # an edit: counts per chat and overall, not in the group's 20 a minute


# Bot API methods that put a message into a chat, and those that change one; everything else
# (getMe, answerCallbackQuery, getFile, sendChatAction, ...) is not paced.
NEW_MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "sendInvoice",
        "sendGame",
        "sendPaidMedia",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)
EDIT_METHODS = frozenset(
    {
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
        "stopPoll",
    }
)

# Waiters whose turn depends on another request finishing look again this often (they are also
# woken as soon as anything finishes).
_RECHECK = 0.05


@dataclass(frozen=True)
class FloodLimits:
    """The numbers, in one place. `scaled()` shrinks every time span (tests run 10x faster)."""

    chat_messages: int = 3  # per chat: at most 3 messages in any 3 s (1 a second, short bursts)
    chat_window: float = 3.0
    relay_private_interval: float = 1.5  # relay schedule of a private chat
    group_messages: int = 20  # per group: at most 20 new messages in any 60 s
    group_window: float = 60.0
    group_reply_reserve: int = 4  # of a group's 20 a minute, kept for replies
    overall_messages: int = 30  # overall: at most 30 messages in any 1 s
    overall_window: float = 1.0
    relay_overall_messages: int = 25  # of those, what the relay may use
    # A relay message that goes out up to this late keeps the chat's cadence (the next one is
    # due one interval after its slot, not after it), so claiming and rendering a batch do not
    # make a backlogged chat drift behind. The windows above still bound every minute.
    relay_catch_up: float = 0.5

    @property
    def relay_group_interval(self) -> float:
        """One relay message per this many seconds in a group (3.75 s: 16 a minute)."""
        return self.group_window / (self.group_messages - self.group_reply_reserve)

    def relay_interval(self, chat: ChatKey) -> float:
        return self.relay_group_interval if is_group(chat) else self.relay_private_interval

    def scaled(self, factor: float) -> FloodLimits:
        return replace(
            self,
            chat_window=self.chat_window * factor,
            relay_private_interval=self.relay_private_interval * factor,
            relay_catch_up=self.relay_catch_up * factor,
            group_window=self.group_window * factor,
            overall_window=self.overall_window * factor,
        )


def is_group(chat: ChatKey) -> bool:
    """Groups, supergroups and channels have negative ids (an @username is a channel or group)."""
    return isinstance(chat, str) or chat < 0


def chat_key(value: object) -> ChatKey | None:
    if value is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return int(value)  # type: ignore[call-overload]
    return str(value)


@dataclass
class Entry:
    """One send: `at` is +inf while its answer is awaited, then the time the answer came."""

    chat: ChatKey | None
    kind: SendKind
    at: float = math.inf
    relay: bool = False


@dataclass
class _ChatState:
    entries: deque[Entry] = field(default_factory=deque)
    held_until: float = 0.0  # a RetryAfter for this chat
    relay_next: float = 0.0  # the chat's relay schedule (mirrors chat_pacing.next_send_at)
    replies_waiting: int = 0


def _time_until_below(entries: list[Entry], cap: int, window: float, now: float) -> float:
    """Seconds until fewer than `cap` of `entries` (all within `window`) remain in the window."""
    if len(entries) < cap:
        return 0.0
    times = sorted(e.at for e in entries)
    leaving = times[len(entries) - cap]  # this one has to leave the window first
    if math.isinf(leaving):
        return _RECHECK  # still waiting for its answer; woken when it comes
    return max(leaving + window - now, 0.0) or 1e-6


class FloodBudget:
    """The bookkeeping behind the limiter: no waiting, every method takes `now` explicitly (and
    `clock`, the same clock, only dates the clean-up of idle chats), so tests run it on a
    virtual clock."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self._clock = clock
        self._chats: dict[ChatKey, _ChatState] = {}
        self._overall: deque[Entry] = deque()
        self.replies_waiting = 0

    def _chat(self, chat: ChatKey) -> _ChatState:
        state = self._chats.get(chat)
        if state is None:
            if len(self._chats) > 4096:
                self._forget_idle(self._clock())
            state = self._chats[chat] = _ChatState()
        return state

    def _forget_idle(self, now: float) -> None:
        horizon = now - max(self.limits.group_window, self.limits.chat_window)
        for key, state in list(self._chats.items()):
            idle = all(e.at < horizon for e in state.entries)
            if (
                idle
                and state.held_until < now
                and state.relay_next < now
                and not state.replies_waiting
            ):
                del self._chats[key]

    def _prune(self, now: float) -> None:
        limit = now - self.limits.overall_window
        while self._overall and self._overall[0].at < limit:
            self._overall.popleft()

    def _recent(
        self, state: _ChatState, window: float, now: float, *, new_only: bool
    ) -> list[Entry]:
        horizon = now - window
        return [
            e for e in state.entries if e.at > horizon and (not new_only or e.kind is SendKind.NEW)
        ]

    def wait_time(
        self, chat: ChatKey | None, kind: SendKind, priority: Priority, now: float
    ) -> float:
        """Seconds until a send of `kind` to `chat` at `priority` fits (0: it fits now)."""
        limits = self.limits
        self._prune(now)
        relay = priority is Priority.RELAY
        waits = [0.0]
        overall = [e for e in self._overall if e.at > now - limits.overall_window]
        cap = (
            limits.relay_overall_messages - self.replies_waiting
            if relay
            else limits.overall_messages
        )
        waits.append(_time_until_below(overall, max(cap, 1), limits.overall_window, now))
        if relay and self.replies_waiting >= limits.relay_overall_messages:
            waits.append(_RECHECK)
        if chat is not None:
            state = self._chat(chat)
            waits.append(state.held_until - now)
            if kind is SendKind.NEW and is_group(chat):
                cap = limits.group_messages - (limits.group_reply_reserve if relay else 0)
                recent = self._recent(state, limits.group_window, now, new_only=True)
                waits.append(_time_until_below(recent, cap, limits.group_window, now))
            if relay:
                waits.append(state.relay_next - now)
                if state.replies_waiting:
                    waits.append(_RECHECK)
                # At most one other message in the chat's burst window, so a reply still fits.
                recent = self._recent(state, limits.chat_window, now, new_only=False)
                cap = max(limits.chat_messages - 1, 1)
                waits.append(_time_until_below(recent, cap, limits.chat_window, now))
                if state.entries and math.isinf(state.entries[-1].at):
                    waits.append(_RECHECK)  # one relay message at a time per chat
        return max(waits)

    def record(self, chat: ChatKey | None, kind: SendKind, priority: Priority, now: float) -> Entry:
        """Count a send that is about to be made."""
        entry = Entry(chat, kind, relay=priority is Priority.RELAY)
        self._overall.append(entry)
        if chat is not None:
            state = self._chat(chat)
            horizon = now - max(self.limits.group_window, self.limits.chat_window)
            while state.entries and state.entries[0].at < horizon:
                state.entries.popleft()
            state.entries.append(entry)
            if priority is Priority.RELAY:
                slot = max(state.relay_next, now - self.limits.relay_catch_up)
                state.relay_next = slot + self.limits.relay_interval(chat)
        return entry

    def complete(self, entry: Entry, now: float) -> None:
        """The send's answer arrived (or it failed): from now on it counts at `now`."""
        entry.at = now
        # Keep the overall deque ordered by time for pruning: finished entries move to the end.
        with contextlib.suppress(ValueError):
            self._overall.remove(entry)
        self._overall.append(entry)
        if entry.chat is not None:
            state = self._chats.get(entry.chat)
            if state is not None:
                with contextlib.suppress(ValueError):
                    state.entries.remove(entry)
                state.entries.append(entry)
                if entry.relay:
                    # Telegram may have seen it as late as now: the next relay message keeps
                    # its distance from this moment too (see the module docstring).
                    limits = self.limits
                    earliest = now + limits.relay_interval(entry.chat) - limits.relay_catch_up
                    state.relay_next = max(state.relay_next, earliest)

    def hold(self, chat: ChatKey, until: float) -> None:
        state = self._chat(chat)
        state.held_until = max(state.held_until, until)
        state.relay_next = max(state.relay_next, until)

    def relay_next(self, chat: ChatKey) -> float:
        return self._chat(chat).relay_next

    def sync_relay_next(self, chat: ChatKey, at: float) -> None:
        """Adopt the relay schedule another replica left in the database, if it is later."""
        state = self._chat(chat)
        state.relay_next = max(state.relay_next, at)

    def reply_waiting(self, chat: ChatKey | None, delta: int) -> None:
        self.replies_waiting += delta
        if chat is not None:
            self._chat(chat).replies_waiting += delta


def message_kind(endpoint: str) -> SendKind | None:
    if endpoint in NEW_MESSAGE_METHODS:
        return SendKind.NEW
    if endpoint in EDIT_METHODS:
        return SendKind.EDIT
    return None


class TelegramRateLimiter(BaseRateLimiter[Priority]):
    """PTB rate limiter shared by handler replies and the sender (see the module docstring)."""

    def __init__(
        self,
        limits: FloodLimits | None = None,
        *,
        reply_retries: int = 3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits or FloodLimits()
        self.budget = FloodBudget(self.limits, clock)
        self.reply_retries = reply_retries
        self._clock = clock
        self._changed: asyncio.Event | None = None

    async def initialize(self) -> None:
        """Nothing to set up: the budget lives in memory (and in chat_pacing, via the sender)."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def now(self) -> float:
        return self._clock()

    # -- waiting -------------------------------------------------------------------------------

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _notify(self) -> None:
        """Something freed budget (an answer came, a waiter left): waiters look again."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def acquire(self, chat: ChatKey | None, kind: SendKind, priority: Priority) -> Entry:
        """Wait until a send fits, count it and return its entry; call `complete` after it."""
        waiting = priority is Priority.REPLY
        if waiting:
            self.budget.reply_waiting(chat, +1)
        try:
            while True:
                changed = self._event()
                now = self._clock()
                wait = self.budget.wait_time(chat, kind, priority, now)
                if wait <= 0:
                    if waiting:
                        waiting = False
                        self.budget.reply_waiting(chat, -1)
                        self._notify()
                    return self.budget.record(chat, kind, priority, now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), wait)
        finally:
            if waiting:
                self.budget.reply_waiting(chat, -1)
                self._notify()

    def complete(self, entry: Entry) -> None:
        self.budget.complete(entry, self._clock())
        self._notify()

    # -- what the sender asks ------------------------------------------------------------------

    def relay_wait(self, chat: ChatKey) -> float:
        """Seconds until a relay message to `chat` could go (0: now)."""
        return self.budget.wait_time(chat, SendKind.NEW, Priority.RELAY, self._clock())

    def relay_next(self, chat: ChatKey) -> float:
        """When the chat's relay schedule allows its next message (epoch seconds)."""
        return self.budget.relay_next(chat)

    def sync_relay_next(self, chat: ChatKey, at: float) -> None:
        self.budget.sync_relay_next(chat, at)
        self._notify()

    def hold(self, chat: ChatKey, seconds: float) -> None:
        """Telegram said RetryAfter for this chat: nothing goes there for `seconds`."""
        self.budget.hold(chat, self._clock() + seconds)

    # -- PTB's entry point ---------------------------------------------------------------------

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        kind = message_kind(endpoint)
        if kind is None:
            return await callback(*args, **kwargs)
        chat = chat_key(data.get("chat_id"))
        priority = rate_limit_args if isinstance(rate_limit_args, Priority) else Priority.REPLY
        retries = 0
        while True:
            entry = await self.acquire(chat, kind, priority)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_after_seconds(error)
                if chat is not None:
                    self.hold(chat, seconds)
                # The sender reschedules in the database; a reply is retried here, as before.
                if priority is Priority.RELAY or retries >= self.reply_retries:
                    raise
                retries += 1
                log.info("Telegram asked to wait %.0f s before replying in %s", seconds, chat)
                if chat is None:
                    await asyncio.sleep(seconds)
            finally:
                self.complete(entry)
