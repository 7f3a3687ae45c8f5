"""Faults a test injects: error answers (`fail_next`, `fail_matching`) and slow answers
(`stall_next`). Not locked themselves: the fake calls them with its lock held."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.errors import ApiError


@dataclass
class Failure:
    method: str
    error: ApiError
    times: int | None  # None: until cleared
    chat_id: int | str | None = None  # None: any chat
    fragment: str | None = None  # only calls whose text or caption contains it


@dataclass
class Stall:
    method: str
    seconds: float | None  # None: until the test releases it
    times: int | None
    chat_id: int | str | None


@dataclass
class HeldCall:
    """A request the fake holds unanswered because of a stall (see `FakeTelegram.held_calls`)."""

    method: str
    params: dict[str, Any]
    seconds: float | None
    released: bool = field(default=False, compare=False)


def _use(rule: Failure | Stall, rules: list[Any]) -> None:
    if rule.times is not None:
        rule.times -= 1
        if rule.times <= 0:
            rules.remove(rule)


class Faults:
    def __init__(self) -> None:
        self.failures: list[Failure] = []  # fail_next
        self.matching: list[Failure] = []  # fail_matching
        self.stalls: list[Stall] = []
        self.held: list[HeldCall] = []

    def clear_failures(self) -> None:
        self.failures.clear()
        self.matching.clear()

    def raise_injected(self, method: str, params: dict[str, Any]) -> None:
        """The first fail_next rule for this call, if any, answers it."""
        for failure in self.failures:
            if failure.method != method:
                continue
            if failure.chat_id is not None and params.get("chat_id") != failure.chat_id:
                continue
            _use(failure, self.failures)
            raise failure.error

    def raise_matching(self, method: str, params: dict[str, Any]) -> None:
        """The first fail_matching rule whose fragment is in the call's text, if any."""
        text = str(params.get("text", params.get("caption")) or "")
        for failure in list(self.matching):
            if failure.method != method or (failure.fragment or "") not in text:
                continue
            _use(failure, self.matching)
            raise failure.error

    def take_stall(self, method: str, params: dict[str, Any]) -> HeldCall | None:
        """The call is held if a stall rule matches it: it is listed until answered."""
        stall = next(
            (
                s
                for s in self.stalls
                if s.method == method and s.chat_id in (None, params.get("chat_id"))
            ),
            None,
        )
        if stall is None:
            return None
        _use(stall, self.stalls)
        held = HeldCall(method, params, stall.seconds)
        self.held.append(held)
        return held
