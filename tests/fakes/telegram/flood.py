"""Telegram's flood limits, enforced with 429 and `retry_after` (opt-in: `flood_limits=`).

Per chat at most 3 messages in any 3 s (one a second, short bursts), per group at most 20 new
messages in any 60 s, overall at most 30 messages in any 1 s. Sends and edits count when they
succeed, at the moment the fake answers them.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram.errors import too_many_requests
from tests.fakes.telegram.records import BotApiCall

FLOOD_NEW_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
FLOOD_EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})


@dataclass(frozen=True)
class FloodRules:
    """Telegram's flood limits as the fake enforces them (`scaled()` shrinks the time spans)."""

    chat_messages: int = 3  # per chat, sends and edits
    chat_window: float = 3.0
    group_messages: int = 20  # per group (negative chat id), new messages only
    group_window: float = 60.0
    overall_messages: int = 30  # every chat together, sends and edits
    overall_window: float = 1.0

    def scaled(self, factor: float) -> FloodRules:
        return FloodRules(
            chat_messages=self.chat_messages,
            chat_window=self.chat_window * factor,
            group_messages=self.group_messages,
            group_window=self.group_window * factor,
            overall_messages=self.overall_messages,
            overall_window=self.overall_window * factor,
        )


class FloodGate:
    """The counts behind the limits; `check` before carrying a call out, `count` after.

    Not locked itself: the server calls it with the fake's lock held. `clock` is the fake's
    clock (epoch seconds), the one BotApiCall.time is stamped with.
    """

    def __init__(self, rules: FloodRules, clock: Callable[[], float] = time.time) -> None:
        self.rules = rules
        self._clock = clock
        self._chat: dict[int, deque[tuple[float, bool]]] = {}
        self._overall: deque[float] = deque()
        self.refusals: list[BotApiCall] = []

    def check(self, method: str, params: dict[str, Any]) -> None:
        """Raise the 429 Telegram would give if this call went out now (recorded in refusals)."""
        rules = self.rules
        is_new = method in FLOOD_NEW_METHODS
        if not (is_new or method in FLOOD_EDIT_METHODS):
            return
        now = self._clock()
        waits = [window_wait(self._overall, rules.overall_messages, rules.overall_window, now)]
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            times = self._chat.get(chat_id, deque())
            waits.append(
                window_wait([t for t, _ in times], rules.chat_messages, rules.chat_window, now)
            )
            if is_new and chat_id < 0:
                new_times = [t for t, new in times if new]
                waits.append(window_wait(new_times, rules.group_messages, rules.group_window, now))
        wait = max(waits)
        if wait > 0:
            error = too_many_requests(max(1, int(wait + 0.999)))
            self.refusals.append(
                BotApiCall(0, method, params, {}, now, 429, None, error.description)
            )
            raise error

    def count(self, method: str, params: dict[str, Any]) -> None:
        """A send or edit went through: it counts from now."""
        rules = self.rules
        is_new = method in FLOOD_NEW_METHODS
        if not (is_new or method in FLOOD_EDIT_METHODS):
            return
        now = self._clock()
        self._overall.append(now)
        while self._overall and self._overall[0] <= now - rules.overall_window:
            self._overall.popleft()
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            times = self._chat.setdefault(chat_id, deque())
            times.append((now, is_new))
            horizon = now - max(rules.chat_window, rules.group_window)
            while times and times[0][0] <= horizon:
                times.popleft()


def window_wait(times: Iterable[float], cap: int, window: float, now: float) -> float:
    """Seconds until fewer than `cap` of `times` lie in the last `window` (0: now)."""
    recent = sorted(t for t in times if t > now - window)
    if len(recent) < cap:
        return 0.0
    return recent[len(recent) - cap] + window - now
