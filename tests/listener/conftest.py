"""The listener app served by bot/http_server.py as the bot serves it, on a real database."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from bot.config import load_settings
from bot.http_server import AsgiServer, start_asgi_server
from bot.laaffic.client import LaafficClient
from bot.listener import WrongTokenLimiter, create_listener_app
from bot.relay.ingest import InboxWriter
from bot.runtime import Runtime
from bot.tls import client_tls
from storage.db import Database
from storage.models import DeadLetter, PushInbox
from tests.fakes.simulator import LoopThread

PUSH_TOKEN = "push-token-for-listener-tests-7f3a9c"
_ids = itertools.count(1)


def make_runtime(database_url: str, **settings: Any) -> Runtime:
    values: dict[str, Any] = {"database_url": database_url, "push_token": PUSH_TOKEN}
    values.update(settings)
    # The platform client is never called by the listener; it points at a closed port.
    client = LaafficClient("http://127.0.0.1:9", "key", "secret", "app")
    return Runtime(settings=load_settings(**values), database=Database(database_url), client=client)


def ringing_body(**fields: Any) -> list[dict[str, Any]]:
    """An agent-ringing push as the platform documents it (platform-api.md §4.2)."""
    n = next(_ids)
    event = {
        "callId": f"2509181835543150{n:05d}",
        "called": "9113500000002",
        "noAnswerSipList": ["1344C025cb_002"],
        "calledInfo": None,
        "type": 1,
        "sipAccount": "1344C025cb_001",
        "callinEventTime": "2025-09-18 18:35:00",
        "taskId": 561235,
        "seatGroupName": "1344C025cb-SEAT001",
    }
    event.update(fields)
    return [event]


def call_body(**fields: Any) -> dict[str, Any]:
    """A call-record push as the platform documents it (platform-api.md §4.1)."""
    n = next(_ids)
    record = {
        "agentGroupName": "TAOTAO",
        "agentName": "0705C049_053",
        "answerTime": "2023-11-17 13:42:33",
        "callDuration": 15,
        "callEndTime": "2023-11-17 13:42:48",
        "callSessionId": f"231117134248{n:08d}",
        "callId": "23111714122312000001",
        "callStartTime": "2023-11-17 13:42:30",
        "callType": 3,
        "called": "918613237978737",
        "caller": "91778800001",
        "ccode": "91",
        "hangingDirection": 1,
        "hangupReason": 0,
        "labels": [],
        "baseCost": "0.0100",
        "cost": "0.0120",
    }
    record.update(fields)
    return record


@dataclass
class _Served:
    server: AsgiServer
    runtime: Runtime
    inbox: InboxWriter

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def push_url(self, suffix: str = "", token: str = PUSH_TOKEN) -> str:
        return f"{self.base_url}/push/{token}{suffix}"

    def inbox_rows(self) -> list[PushInbox]:
        with Session(self.runtime.database.engine) as session:
            return list(session.exec(select(PushInbox).order_by(PushInbox.id)))

    def dead_letters(self) -> list[DeadLetter]:
        with Session(self.runtime.database.engine) as session:
            return list(session.exec(select(DeadLetter).order_by(DeadLetter.id)))


@dataclass
class ThreadedListener(_Served):
    """A listener in its own loop thread, for sync tests (hypothesis, the simulator's sandbox)."""


@dataclass
class Listener(_Served):
    """A listener in the test's own loop, with an async client."""

    http: httpx.AsyncClient

    async def post(self, suffix: str, body: Any, **kwargs: Any) -> httpx.Response:
        """POST `body` (JSON-encoded unless bytes) the way the platform does."""
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        return await self.http.post(
            self.push_url(suffix), content=content, headers=headers, **kwargs
        )

    async def metric(self, name: str, **labels: str) -> float:
        """A sample's value from a real scrape of GET /metrics (0 when absent)."""
        response = await self.http.get(f"{self.base_url}/metrics")
        assert response.status_code == 200
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return sample.value
        return 0.0


StartListener = Callable[..., Any]


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `check()` holds (state of the writer, polled), or fail the test."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if check():
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def start_listener(migrated_url: str) -> AsyncIterator[StartListener]:
    """Start listeners on the test database (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""
    started: list[Listener] = []

    async def start(
        inbox: InboxWriter | None = None,
        wrong_tokens: WrongTokenLimiter | None = None,
        **settings: Any,
    ) -> Listener:
        runtime = make_runtime(migrated_url, **settings)
        inbox = inbox or InboxWriter(migrated_url)
        app = create_listener_app(runtime, inbox=inbox, wrong_tokens=wrong_tokens)
        server = await start_asgi_server(app)
        listener = Listener(server, runtime, inbox, httpx.AsyncClient(timeout=10, verify=client_tls()))
        started.append(listener)
        return listener

    yield start
    for listener in reversed(started):
        await listener.http.aclose()
        await listener.server.stop()
        listener.runtime.database.dispose()


@pytest.fixture
async def listener(start_listener: StartListener) -> Listener:
    return await start_listener()


@pytest.fixture
def threaded_listener(migrated_url: str) -> Iterator[ThreadedListener]:
    thread = LoopThread("listener")
    runtime = make_runtime(migrated_url)
    inbox = InboxWriter(migrated_url)
    try:
        server = thread.run(start_asgi_server(create_listener_app(runtime, inbox=inbox)))
    except BaseException:
        thread.close()
        raise
    try:
        yield ThreadedListener(server, runtime, inbox)
    finally:
        try:
            thread.run(server.stop())
        finally:
            thread.close()
            runtime.database.dispose()
