"""pytest fixtures (registered through `pytest_plugins = ["tests.fakes.telegram", ...]`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.telegram.server import FakeTelegram


@pytest.fixture
def fake_telegram_factory() -> Iterator[Callable[..., FakeTelegram]]:
    """Start fakes with options (FakeTelegram's keyword arguments); all stop at teardown."""
    started: list[FakeTelegram] = []

    def start(**options: Any) -> FakeTelegram:
        fake = FakeTelegram(**options).start()
        started.append(fake)
        return fake

    yield start
    errors = []
    for fake in started:
        fake.stop()
        errors += fake.server_errors
    if errors:
        raise AssertionError("the fake Telegram server itself failed:\n" + "\n".join(errors))


@pytest.fixture
def fake_telegram(fake_telegram_factory: Callable[..., FakeTelegram]) -> FakeTelegram:
    """A running fake Bot API; point the bot at fake.url with fake.token."""
    return fake_telegram_factory()
