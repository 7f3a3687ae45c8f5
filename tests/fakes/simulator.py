"""Fixtures running the platform simulator, and a push receiver, over real HTTP on 127.0.0.1.

Each server runs in its own event loop in a daemon thread, so sync and async tests can both use it.
`start_simulator(**config_overrides)` starts one; `simulator` is one with the defaults; `push_receiver`
records what the simulator pushes and can be told to fail.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.http_server import AsgiServer, start_asgi_server
from bot.laaffic.simulator import Simulator, SimulatorConfig
from bot.laaffic.simulator.server import start_simulator_server

T = TypeVar("T")
PushKind = Literal["ringing", "record"]


def signed_headers(
    api_key: str, api_secret: str, timestamp: int | str | None = None
) -> dict[str, str]:
    """The platform's auth headers (platform-api.md §1.1), computed here independently of our client."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    sign = hashlib.md5(f"{api_key}{api_secret}{stamp}".encode()).hexdigest()
    return {
        "Content-Type": "application/json;charset=UTF-8",
        "Api-Key": api_key,
        "Timestamp": stamp,
        "Sign": sign,
    }


class LoopThread:
    """An asyncio loop in a daemon thread; `run` and `call` execute work inside it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 15) -> T:
        async def invoke() -> T:
            return fn(*args)

        return self.run(invoke(), timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class RunningSimulator:
    base_url: str
    simulator: Simulator
    config: SimulatorConfig
    _server: AsgiServer = field(repr=False)
    _thread: LoopThread = field(repr=False)

    def headers(self, timestamp: int | str | None = None) -> dict[str, str]:
        return signed_headers(self.config.api_key, self.config.api_secret, timestamp)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` in the simulator's loop: the safe way to read or change its state."""
        return self._thread.call(fn, *args)

    def stop(self) -> None:
        try:
            self._thread.run(self._server.stop())
        finally:
            self._thread.close()


class SignedClient:
    """Signed requests to a running simulator, for tests that speak to it without our platform client."""

    def __init__(self, running: RunningSimulator, timeout: float = 10) -> None:
        self.running = running
        self.http = httpx.Client(base_url=running.base_url, timeout=timeout)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> dict[str, Any]:
        """POST `body` as JSON, expect HTTP 200, return the decoded envelope."""
        response = self.http.post(path, json=body, headers=self.running.headers(), **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.http.get(path, params=params, headers=self.running.headers())
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, path: str, body: Any = None) -> Any:
        """POST and return `data`, failing the test with the platform's reason on a non-zero status."""
        answer = self.post(path, body)
        assert answer["status"] == "0", f"{path}: {answer}"
        return answer["data"]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def start_simulator() -> Iterator[Callable[..., RunningSimulator]]:
    started: list[RunningSimulator] = []

    def start(config: SimulatorConfig | None = None, **overrides: Any) -> RunningSimulator:
        config = config or SimulatorConfig(**overrides)
        thread = LoopThread("simulator")
        try:
            server = thread.run(start_simulator_server(config))
        except BaseException:
            thread.close()
            raise
        running = RunningSimulator(server.base_url, server.simulator, config, server, thread)
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.stop()


@pytest.fixture
def simulator(start_simulator: Callable[..., RunningSimulator]) -> RunningSimulator:
    return start_simulator()


@dataclass(frozen=True)
class ReceivedPush:
    kind: PushKind | None  # None for a body that is neither an array nor an object
    body: Any
    answered: int  # the HTTP status the receiver gave
    at: float  # time.monotonic()


class PushReceiver:
    """A real HTTP endpoint that keeps every POSTed body; `fail_next` scripts non-200 answers."""

    def __init__(self) -> None:
        self.received: list[ReceivedPush] = []
        self._failures: list[tuple[PushKind | None, int]] = []
        self._changed = threading.Condition()
        self.url = ""
        self.app = Starlette(routes=[Route("/{rest:path}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> PlainTextResponse:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        kind: PushKind | None = (
            "ringing" if isinstance(body, list) else "record" if isinstance(body, dict) else None
        )
        with self._changed:
            status = 200
            for i, (wanted, code) in enumerate(self._failures):
                if wanted is None or wanted == kind:
                    status = code
                    del self._failures[i]
                    break
            self.received.append(ReceivedPush(kind, body, status, time.monotonic()))
            self._changed.notify_all()
        return PlainTextResponse("ok" if status == 200 else "failed", status_code=status)

    def fail_next(self, count: int, status: int = 500, kind: PushKind | None = None) -> None:
        """Answer the next `count` pushes (of `kind`, or any) with `status` instead of 200."""
        with self._changed:
            self._failures.extend([(kind, status)] * count)

    @property
    def bodies(self) -> list[Any]:
        with self._changed:
            return [r.body for r in self.received]

    def of_kind(self, kind: PushKind) -> list[ReceivedPush]:
        with self._changed:
            return [r for r in self.received if r.kind == kind]

    def wait_for(
        self, count: int, timeout: float = 5.0, kind: PushKind | None = None
    ) -> list[ReceivedPush]:
        """Block until `count` pushes (of `kind`) arrived; fail the test with what did arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = [r for r in self.received if kind is None or r.kind == kind]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} {kind or 'any'} pushes within {timeout} s, got {len(got)}"
                    )
                self._changed.wait(left)


@pytest.fixture
def push_receiver() -> Iterator[PushReceiver]:
    receiver = PushReceiver()
    thread = LoopThread("push-receiver")
    server = thread.run(start_asgi_server(receiver.app))
    receiver.url = f"{server.base_url}/push/test-token"
    try:
        yield receiver
    finally:
        try:
            thread.run(server.stop())
        finally:
            thread.close()
