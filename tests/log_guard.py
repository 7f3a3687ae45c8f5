"""Session-wide guard: every log record of the whole test run, at DEBUG, is scanned for the tests'
secrets; the run fails if one is found.

Watched secrets (independently of what the bot registers with bot.logs): the fakes' bot token and
API secret, the tests' push token, every `SecretStr` of every `Settings` a test creates (bot
tokens, API secrets, push tokens, webhook secrets), and every SIP password the simulator gives an
agent. Records are scrubbed the way production scrubs them (bot.logs' record factory, which
`setup_logging` installs), and the guard formats them plainly, so a leak shows here exactly as it
would in any handler, pytest's captured-log reports included. The report names the test and the
kind of secret, never the value.

Not covered: the output of `ccbot` child processes (tests/bot/test_process.py reads their own
output), and values shorter than bot.logs.MIN_SECRET_LENGTH, which are never masked.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import ahocorasick
import pytest
from pydantic import SecretStr

from bot import logs
from bot.config import Settings
from bot.laaffic.simulator import state
from bot.laaffic.simulator.config import SimulatorConfig
from tests.logcheck import spellings


class LeakWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self._guard = threading.Lock()
        self._labels: dict[str, str] = {}
        self._automaton: ahocorasick.Automaton | None = None
        self.test = "(outside any test)"
        self.records = 0
        self.leaks: dict[tuple[str, str, str], int] = {}  # (test, logger, kind) -> count

    def watch(self, value: str | SecretStr | None, label: str) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not value or len(value) < logs.MIN_SECRET_LENGTH:
            return
        with self._guard:
            fresh = [s for s in spellings(value) if s not in self._labels]
            if fresh:
                self._labels.update(dict.fromkeys(fresh, label))
                self._automaton = None

    def _current(self) -> ahocorasick.Automaton | None:
        with self._guard:
            if self._automaton is None and self._labels:
                automaton = ahocorasick.Automaton()
                for spelling, label in self._labels.items():
                    automaton.add_word(spelling, label)
                automaton.make_automaton()
                self._automaton = automaton
            return self._automaton

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        automaton = self._current()
        if automaton is None:
            return
        try:
            text = self.format(record)
        except Exception:  # logging reports its own formatting errors
            return
        for _, label in automaton.iter(text):
            key = (self.test, record.name, label)
            self.leaks[key] = self.leaks.get(key, 0) + 1


_watch = LeakWatch()
_undo: list[Any] = []


def _watch_settings() -> None:
    original = Settings.__init__

    def init(self: Settings, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                _watch.watch(value, f"settings.{name}")

    Settings.__init__ = init  # type: ignore[method-assign]
    _undo.append(lambda: setattr(Settings, "__init__", original))


def _watch_sip_passwords() -> None:
    original = state.Agent.__setattr__

    def setattr_(self: state.Agent, name: str, value: Any) -> None:
        if name == "password" and isinstance(value, str):
            _watch.watch(value, "a SIP password")
        original(self, name, value)

    state.Agent.__setattr__ = setattr_  # type: ignore[method-assign,assignment]
    _undo.append(lambda: setattr(state.Agent, "__setattr__", original))


def pytest_configure(config: pytest.Config) -> None:
    from tests.bot.conftest import PUSH_TOKEN
    from tests.fakes.telegram import DEFAULT_TOKEN

    logs.install_record_scrubber()
    _watch.watch(DEFAULT_TOKEN, "the fake bot token")
    _watch.watch(SimulatorConfig().api_secret, "the simulator's API secret")
    _watch.watch(PUSH_TOKEN, "the tests' push token")
    _watch_settings()
    _watch_sip_passwords()
    root = logging.getLogger()
    _undo.append(lambda level=root.level: root.setLevel(level))
    root.setLevel(logging.DEBUG)  # leaks happen at DEBUG: library loggers log parameters there
    # Except httpcore's DEBUG trace (ten lines per request: host, port, response headers; never a
    # path or a body), whose cost made timing-sensitive simulator tests flaky. The per-flow test
    # (tests/bot/test_secrets_never_logged.py) does scan it.
    httpcore = logging.getLogger("httpcore")
    _undo.append(lambda level=httpcore.level: httpcore.setLevel(level))
    httpcore.setLevel(logging.INFO)
    root.addHandler(_watch)
    _undo.append(lambda: root.removeHandler(_watch))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    _watch.test = item.nodeid
    try:
        return (yield)
    finally:
        _watch.test = "(between tests)"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _watch.leaks and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _watch.leaks:
        return
    terminalreporter.section("secrets in log output", sep="=", red=True)
    for (test, logger, label), count in sorted(_watch.leaks.items()):
        terminalreporter.write_line(f"{test}: {label} in {count} record(s) of logger {logger}")
    terminalreporter.write_line(
        f"{len(_watch.leaks)} leak(s) in {_watch.records} records: register the value with "
        "bot.logs.register_secret where it enters the process."
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    while _undo:
        _undo.pop()()
