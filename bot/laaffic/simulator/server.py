"""Serving the simulator over HTTP: inside a running loop (sandbox, tests) or as `ccbot simulator`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.types import ASGIApp

from bot.config import Settings
from bot.laaffic.simulator.app import Simulator
from bot.laaffic.simulator.config import (
    SAMPLE_API_KEY,
    SAMPLE_API_SECRET,
    SAMPLE_APP_ID,
    SimulatorConfig,
)

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever owns the process, and stops at once."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn polls should_exit every 0.1 s; waiting on an event makes stop() (and tests) quicker.
        await self.on_tick(0)
        await self._exit.wait()

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit.set()


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


@dataclass
class RunningServer(AsgiServer):
    simulator: Simulator = field(default=None, repr=False)  # type: ignore[assignment]


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


async def start_asgi_server(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, access_log: bool = False
) -> AsgiServer:
    """Serve `app` on a pre-bound socket (port 0 = a free one) in the current loop; returns once it answers."""
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        log_level="warning" if not access_log else "info",
        access_log=access_log,
        # The simulator stamps its own Date (the platform clock); uvicorn's would be a second one.
        date_header=False,
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    server = _EmbeddedServer(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="uvicorn")
    while not server.started:
        if task.done():
            sock.close()
            exc = task.exception() if not task.cancelled() else None
            raise RuntimeError(f"the HTTP server on {host}:{bound_port} did not start: {exc!r}")
        await asyncio.sleep(0.005)
    return AsgiServer(_url(host, bound_port), bound_port, server, task)


async def start_simulator_server(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    """Start the simulator in the CURRENT loop; `await running.stop()` ends it (and its call engine)."""
    simulator = Simulator(config)
    served = await start_asgi_server(simulator.app, host, port)
    return RunningServer(served.base_url, served.port, served._server, served._task, simulator)


def _origin(url: str) -> str:
    """scheme://host:port only: the push URL's path carries the listener's secret token."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}/…"


def describe(config: SimulatorConfig, base_url: str) -> str:
    """What a user needs to point a client at the simulator. Never shows the API secret."""
    lines = [f"Laaffic platform simulator on {base_url} (set LAAFFIC_BASE_URL={base_url})"]
    sample = " (the public sample from the platform docs)" if config.uses_sample_credentials else ""
    lines.append(f"  Api-Key {config.api_key}{sample}, application {config.app_id}")
    if config.extra_app_ids:
        lines.append(f"  other applications of this account: {', '.join(config.extra_app_ids)}")
    if config.push_url:
        lines.append(f"  ringing events and call records are pushed to {_origin(config.push_url)}")
    else:
        lines.append("  no push URL: call records are kept for record/query, nothing is pushed")
    lines.append(
        f"  speed x{config.speed:g}, seed {config.seed}. Nothing real is dialled or charged."
    )
    return "\n".join(lines)


def config_from_cli(args: argparse.Namespace, settings: Settings) -> SimulatorConfig:
    """CLI flags win over LAAFFIC_* settings, which win over the documented sample credentials."""
    secret = settings.laaffic_api_secret.get_secret_value() if settings.laaffic_api_secret else None
    return SimulatorConfig(
        api_key=args.api_key or settings.laaffic_api_key or SAMPLE_API_KEY,
        api_secret=args.api_secret or secret or SAMPLE_API_SECRET,
        app_id=args.app_id or settings.laaffic_app_id or SAMPLE_APP_ID,
        push_url=args.push_url,
        seed=args.seed,
        speed=args.speed,
    )


def serve_from_cli(args: argparse.Namespace, settings: Settings) -> int:
    """`ccbot simulator`: serve until SIGINT/SIGTERM. Returns the exit code."""
    try:
        config = config_from_cli(args, settings)
    except ValueError as exc:
        print(f"ccbot simulator: {exc}")
        return 2
    return asyncio.run(_serve_forever(config, args.host, args.port))


async def _serve_forever(config: SimulatorConfig, host: str, port: int) -> int:
    simulator = Simulator(config)
    try:
        served = await start_asgi_server(simulator.app, host, port, access_log=True)
    except OSError as exc:
        print(
            f"ccbot simulator: cannot listen on {host}:{port}: {exc.strerror or exc}. Choose another --port."
        )
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(describe(config, served.base_url), flush=True)
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, served._task}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    await served.stop()
    print("Simulator stopped.", flush=True)
    return 0
