"""The listener's Date header is the time of the answer, not the time the process started."""

from __future__ import annotations

import asyncio
from email.utils import formatdate

import httpx
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from bot.http_server import start_asgi_server


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await PlainTextResponse("ok")(scope, receive, send)


class VirtualClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _date_becomes(http: httpx.AsyncClient, url: str, expected: str) -> None:
    """Ask until the answer carries `expected` (the server's own once-a-second refresh)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while (date := (await http.get(url)).headers["date"]) != expected:
        assert loop.time() < deadline, f"Date stayed {date}, expected {expected}"
        await asyncio.sleep(0.01)  # a polling pace, not a wait for the refresh


async def test_the_date_header_follows_the_clock_on_one_kept_alive_connection() -> None:
    clock = VirtualClock(1_764_892_800.25)  # 2025-12-05 00:00:00.25 UTC
    server = await start_asgi_server(_ok, clock=clock)
    try:
        async with httpx.AsyncClient() as http:
            first = await http.get(server.base_url)
            assert first.headers["date"] == "Fri, 05 Dec 2025 00:00:00 GMT"
            clock.now += 3 * 3600 + 7  # hours later, on the same keep-alive connection
            await _date_becomes(http, server.base_url, formatdate(clock.now, usegmt=True))
            assert (await http.get(server.base_url)).headers["date"] == (
                "Fri, 05 Dec 2025 03:00:07 GMT"
            )
    finally:
        await server.stop()


async def test_a_server_without_a_date_header_sends_none() -> None:
    server = await start_asgi_server(_ok, date_header=False)
    try:
        async with httpx.AsyncClient() as http:
            assert "date" not in (await http.get(server.base_url)).headers
    finally:
        await server.stop()
