"""Serving an ASGI app with uvicorn as a task of the current loop: the bot's listener, the
simulator and the tests' HTTP doubles all start their servers this one way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever owns the process, and stops at once."""

    def __init__(self, config: uvicorn.Config, clock: Callable[[], float] = time.time) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()
        self.clock = clock
        self._next_stamp: asyncio.TimerHandle | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn polls should_exit every 0.1 s and refreshes its default headers in that loop;
        # waiting on an event makes stop() (and tests) quicker, and a timer keeps the Date
        # header current instead.
        self.stamp_headers()
        try:
            await self._exit.wait()
        finally:
            if self._next_stamp is not None:
                self._next_stamp.cancel()

    def stamp_headers(self) -> None:
        """Set the headers every answer carries (Date, to the second), and come back at the
        start of the next second."""
        now = self.clock()
        date = [(b"date", formatdate(now, usegmt=True).encode())] if self.config.date_header else []
        self.server_state.default_headers = date + self.config.encoded_headers
        delay = 1.0 - now % 1.0
        self._next_stamp = asyncio.get_running_loop().call_later(delay, self.stamp_headers)

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit.set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, without its fixed waits: it sleeps 0.1 s after asking connections
        to close and then polls every 0.1 s, so every stop of the bot's listener (and of every
        test's servers) took 0.1-0.2 s even with nothing in flight. Here a stop waits as long as
        the answers in flight really take, up to timeout_graceful_shutdown."""
        loop = asyncio.get_running_loop()
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle keep-alive ones close now, busy ones after their answer
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 0)
        while (state.connections or state.tasks) and not self.force_exit:
            if loop.time() >= deadline:
                log.error("cancelling %s request(s) still running at shutdown", len(state.tasks))
                for task in state.tasks:
                    task.cancel()
                break
            await asyncio.sleep(0.005)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


@dataclass
class AsgiServer:
    """An ASGI app served by uvicorn as a task of the current loop."""

    base_url: str
    port: int
    _server: _EmbeddedServer = field(repr=False)
    _task: asyncio.Task[None] = field(repr=False)

    async def stop(self) -> None:
        self._server.request_exit()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=10)
        except TimeoutError:
            self._server.force_exit = True
            await self._task

    async def wait_closed(self) -> None:
        await self._task


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on such sockets, and without it every
    # keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket; port 0 picks a free one (read it with getsockname)."""
    return _bind(host, port)


async def start_asgi_server(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    access_log: bool = False,
    date_header: bool = True,
    sock: socket.socket | None = None,
    clock: Callable[[], float] = time.time,
) -> AsgiServer:
    """Serve `app` in the current loop on `sock`, or on a new socket for host:port (0 = a free
    port); returns once it answers. `clock` is what the Date header reads (tests move it)."""
    sock = sock if sock is not None else _bind(host, port)
    bound_port = sock.getsockname()[1] if sock.family != socket.AF_UNIX else 0
    config = uvicorn.Config(
        app,
        lifespan="on",
        # httptools, not h11: h11 costs 2.5x the CPU per request (DESIGN.md). The loop is the
        # caller's; `ccbot run` runs on uvloop (bot/app.py).
        http="httptools",
        log_config=None,
        log_level="warning" if not access_log else "info",
        access_log=access_log,
        # The simulator stamps its own Date (the platform clock); uvicorn's would be a second one.
        date_header=date_header,
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    server = _EmbeddedServer(config, clock)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="uvicorn")
    while not server.started:
        if task.done():
            sock.close()
            exc = task.exception() if not task.cancelled() else None
            raise RuntimeError(f"the HTTP server on {host}:{bound_port} did not start: {exc!r}")
        await asyncio.sleep(0.005)
    return AsgiServer(_url(host, bound_port), bound_port, server, task)
