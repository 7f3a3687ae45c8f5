"""`ccbot check`'s platform line when the platform gives no answer: it names the address it asked."""

from __future__ import annotations

import asyncio
import io
import socket

import pytest

import bot.check
from bot.check import run_checks
from bot.config import load_settings


async def platform_line(base_url: str) -> str:
    settings = load_settings(
        laaffic_base_url=base_url, laaffic_api_key="k", laaffic_api_secret="s", laaffic_app_id="a"
    )
    out = io.StringIO()
    await asyncio.wait_for(run_checks(settings, out), 60)  # hang guard
    (line,) = [line for line in out.getvalue().splitlines() if " platform: " in line]
    return line


async def test_a_platform_address_nothing_listens_on_is_named_with_the_variable() -> None:
    line = await platform_line("http://127.0.0.1:1")
    assert line == (
        "✗ platform: http://127.0.0.1:1 did not answer (connection failed (ConnectError)): check "
        "LAAFFIC_BASE_URL and that this server can reach it"
    )


async def test_a_platform_that_never_answers_fails_after_the_checks_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.check, "CHECK_READ_TIMEOUT_S", 0.5)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        line = await platform_line(f"http://127.0.0.1:{port}")
    finally:
        silent.close()
    assert line == (
        f"✗ platform: http://127.0.0.1:{port} did not answer (no answer in time (ReadTimeout)): "
        "check LAAFFIC_BASE_URL and that this server can reach it"
    )
