from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.laaffic.scripted import Script, ScriptedPlatform


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Script], Awaitable[ScriptedPlatform]]]:
    """Start a scripted platform: `platform = await scripted(script)`."""
    started: list[ScriptedPlatform] = []

    async def start(script: Script) -> ScriptedPlatform:
        platform = ScriptedPlatform(script)
        await platform.start()
        started.append(platform)
        return platform

    yield start
    for platform in started:
        await platform.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "impatient: the `client` fixture uses a short read timeout (slow-answer faults)"
    )
