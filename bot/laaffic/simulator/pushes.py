"""Delivering the platform's pushes (ringing events, call records) to the configured URL, with its retries."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from bot.laaffic.simulator.config import SimulatorConfig
from bot.tls import client_tls

log = logging.getLogger(__name__)

PushKind = Literal["ringing", "record"]


class Background:
    """Fire-and-forget tasks that must all stop when the simulator shuts down."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "simulator background task %s failed", task.get_name(), exc_info=task.exception()
            )

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True)
class PushAttempt:
    """One POST the simulator made; kept so tests can see retries from the platform's side."""

    kind: PushKind
    attempt: int
    status_code: int | None  # None when the request itself failed
    error: str | None
    at: float  # time.monotonic()
    body: Any


class PushSender:
    def __init__(self, config: SimulatorConfig, background: Background) -> None:
        self._config = config
        self._background = background
        self._client: httpx.AsyncClient | None = None
        self.attempts: list[PushAttempt] = []

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._config.push_timeout_s, verify=client_tls()
            )

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def ringing(self, events: list[dict[str, Any]]) -> None:
        """Agent ringing (§4.2): a JSON array; on failure retried at once, attempts in total."""
        self._send("ringing", events, self._config.ringing_attempts, 0.0)

    def record(self, body: dict[str, Any]) -> None:
        """Call record (§4.1): one JSON object; on failure retried every interval, count times."""
        self._send(
            "record",
            body,
            1 + self._config.record_retry_count,
            self._config.record_retry_interval_s,
        )

    def _send(self, kind: PushKind, body: Any, attempts: int, interval_s: float) -> None:
        if not self._config.push_url:
            return
        self._background.spawn(self._deliver(kind, body, attempts, interval_s), name=f"push-{kind}")

    async def _deliver(self, kind: PushKind, body: Any, attempts: int, interval_s: float) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        for attempt in range(1, attempts + 1):
            if await self._post(kind, attempt, body, payload):
                return
            if attempt < attempts and interval_s > 0:
                await asyncio.sleep(interval_s)
        log.warning("simulator gave up on a %s push after %d attempts", kind, attempts)

    async def _post(self, kind: PushKind, attempt: int, body: Any, payload: bytes) -> bool:
        await self.start()
        assert self._client is not None and self._config.push_url
        status: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(
                self._config.push_url,
                content=payload,
                headers={"Content-Type": "application/json;charset=UTF-8"},
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.attempts.append(PushAttempt(kind, attempt, status, error, time.monotonic(), body))
        return status == 200
