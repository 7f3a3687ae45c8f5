"""The Simulator: platform state + call engine + pushes behind a Starlette app speaking the platform's API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import formatdate
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.laaffic.simulator.api import ENDPOINTS, Endpoint
from bot.laaffic.simulator.config import SimulatorConfig
from bot.laaffic.simulator.engine import CallEngine
from bot.laaffic.simulator.params import Params
from bot.laaffic.simulator.pushes import Background, PushSender
from bot.laaffic.simulator.state import PlatformError, PlatformState

log = logging.getLogger(__name__)

FaultKind = Literal["delay_after_apply", "delay_before_apply", "http_500", "drop"]
_FAULT_KINDS = ("delay_after_apply", "delay_before_apply", "http_500", "drop")


@dataclass
class _Fault:
    kind: FaultKind
    seconds: float
    times: int


def expected_sign(api_key: str, api_secret: str, timestamp: str) -> str:
    # Computed from the docs here, not with the client's signer: a signer bug must not hide.
    return hashlib.md5(f"{api_key}{api_secret}{timestamp}".encode()).hexdigest()


class Simulator:
    """The simulated platform. `app` is its Starlette app; its lifespan starts and stops the engine.

    State lives in the event loop that serves `app`; touch it from that loop only.
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.requests: Counter[str] = Counter()
        # The platform's clock = real time + offset: drives the -16 check and every response's Date.
        self.clock_offset_s: float = 0.0
        self.rng = random.Random(config.seed)
        self.state = PlatformState(config.app_ids, Decimal(config.initial_balance))
        self.background = Background()
        self.pushes = PushSender(config, self.background)
        self.engine = CallEngine(self.state, config, self.pushes, self.background, self.now)
        self._faults: dict[str, list[_Fault]] = {}
        routes = [
            Route(e.path, self._handler_for(e), methods=[e.method], name=e.path) for e in ENDPOINTS
        ]
        self.app = Starlette(
            routes=routes,
            middleware=[Middleware(_PlatformClockAndCounts, simulator=self)],
            lifespan=self._lifespan,
        )

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.clock_offset_s, UTC)

    def inject_fault(self, path: str, kind: FaultKind, seconds: float = 0, times: int = 1) -> None:
        """Make the next `times` requests to `path` misbehave.

        delay_before_apply: wait, then handle. delay_after_apply: handle (state changes), then wait,
        then answer, so a client that times out is left unsure. http_500: answer 500, change nothing.
        drop: close the connection without a complete answer, change nothing.
        """
        if kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(_FAULT_KINDS)}")
        if path not in {e.path for e in ENDPOINTS}:
            raise ValueError(f"{path!r} is not a platform endpoint")
        self._faults.setdefault(path, []).append(_Fault(kind, seconds, times))

    def _take_fault(self, path: str) -> _Fault | None:
        queue = self._faults.get(path)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.pushes.start()
        try:
            yield
        finally:
            await self.background.cancel_all()
            await self.pushes.stop()

    # --- one request -----------------------------------------------------------------------------

    def _handler_for(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            fault = self._take_fault(endpoint.path)
            if fault and fault.kind == "http_500":
                return PlainTextResponse("Internal Server Error", status_code=500)
            if fault and fault.kind == "drop":
                return _DroppedConnection()
            try:
                body = await request.body()
            except ClientDisconnect:
                return Response(status_code=400)  # nobody is listening any more
            if fault and fault.kind == "delay_before_apply":
                # Applied after the wait, even if the client gave up meanwhile.
                await asyncio.sleep(fault.seconds)
            response = self._answer(endpoint, request, body)
            if fault and fault.kind == "delay_after_apply":
                await asyncio.sleep(fault.seconds)
            return response

        return handle

    def _answer(self, endpoint: Endpoint, request: Request, body: bytes) -> JSONResponse:
        try:
            self._authenticate(request)
            params = Params(self._fields(endpoint, request, body))
            data = endpoint.handler(self, params)
        except PlatformError as exc:
            return JSONResponse({"status": str(exc.status), "reason": exc.reason, "data": None})
        if endpoint.top_level:
            return JSONResponse({"status": "0", "reason": "success", **data})
        return JSONResponse({"status": "0", "reason": "success", "data": data})

    def _authenticate(self, request: Request) -> None:
        key = request.headers.get("Api-Key")
        sign = request.headers.get("Sign")
        stamp = request.headers.get("Timestamp")
        if not key or not sign or not stamp:
            raise PlatformError(
                -1, "authentication error: send the Api-Key, Sign and Timestamp headers"
            )
        if key != self.config.api_key:
            raise PlatformError(-1, "authentication error: unknown Api-Key")
        if not hmac.compare_digest(
            sign.strip().lower(), expected_sign(key, self.config.api_secret, stamp.strip())
        ):
            raise PlatformError(
                -1, "authentication error: Sign does not match MD5(ApiKey+ApiSecret+Timestamp)"
            )
        if not stamp.strip().isdigit():
            raise PlatformError(-16, "timestamp expires: Timestamp must be Unix time in seconds")
        platform_now = time.time() + self.clock_offset_s
        if abs(platform_now - int(stamp)) > self.config.timestamp_tolerance_s:
            raise PlatformError(
                -16,
                f"timestamp expires: platform time is {int(platform_now)}, the request says {int(stamp)}"
                f" (allowed difference {self.config.timestamp_tolerance_s} s)",
            )

    @staticmethod
    def _fields(endpoint: Endpoint, request: Request, body: bytes) -> dict[str, Any]:
        if endpoint.method == "GET":
            return dict(request.query_params)
        try:
            fields = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise PlatformError(-18, "port program unusual: the request body is not JSON") from None
        if not isinstance(fields, dict):
            raise PlatformError(-22, "the request body must be a JSON object")
        return fields


class _DroppedConnection(Response):
    """Starts an answer and never finishes it: the server closes the connection, the client errors."""

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
        )


class _PlatformClockAndCounts:
    """Counts every request by path and stamps every response with the platform clock's Date."""

    def __init__(self, app: ASGIApp, simulator: Simulator) -> None:
        self.app = app
        self.simulator = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.simulator.requests[scope["path"]] += 1

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                stamp = formatdate(self.simulator.now().timestamp(), usegmt=True)
                message = {**message, "headers": [*headers, (b"date", stamp.encode())]}
            await send(message)

        await self.app(scope, receive, send_dated)
