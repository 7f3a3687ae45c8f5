"""Two real `ccbot run` processes on one PostgreSQL, in webhook mode, both taking pushes; one is
killed with SIGKILL in the middle. Every push answered 200 is relayed into the chat exactly once
(the survivor takes over the dead one's leases), and Telegram never has to say 429."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time

import httpx
import pytest
from sqlmodel import Session, func, select

from storage.db import Database
from storage.migrate import upgrade
from storage.models import BoundChat, GroupRoute, OutboxMessage, PushInbox, RingingEvent

CHAT = -1001234567890
GROUP_NAME = "Replica-Team"
PUSH_TOKEN = "two-replicas-push-token-0123456789"
PUSHES = 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(fake_telegram, database_url: str, port: int, home) -> dict[str, str]:  # noqa: ANN001
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_URL": fake_telegram.url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.com",
        "TELEGRAM_WEBHOOK_SECRET": "two-replicas-webhook-secret",
        "LAAFFIC_API_KEY": "key",
        "LAAFFIC_API_SECRET": "secret",
        "LAAFFIC_APP_ID": "app",
        "LAAFFIC_BASE_URL": "http://127.0.0.1:9",  # the relay never calls the platform
        "DATABASE_URL": database_url,
        "LISTEN_HOST": "127.0.0.1",
        "LISTEN_PORT": str(port),
        "PUSH_TOKEN": PUSH_TOKEN,
    }


async def _started(http: httpx.AsyncClient, port: int, proc) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 40
    while True:
        try:
            if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.returncode is None, await proc.communicate()
        assert time.monotonic() < deadline, "a replica did not start listening"
        await asyncio.sleep(0.2)


def _callee(i: int) -> str:
    return f"91987650{i:04d}"


@pytest.mark.timeout(240)
async def test_two_replicas_relay_every_push_once_when_one_is_killed(
    fake_telegram, database_url: str, tmp_path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share one PostgreSQL")
    upgrade(database_url)
    database = Database(database_url)
    with database.session() as s:
        s.add(BoundChat(chat_id=CHAT, title="Team", chat_type="supergroup", bound_by=1))
        s.add(GroupRoute(voice_group_id=1000001, chat_id=CHAT, group_name=GROUP_NAME))
    ports = [_free_port(), _free_port()]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=_env(fake_telegram, database_url, port, tmp_path),
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for port in ports
    ]
    acknowledged: list[int] = []
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for port, proc in zip(ports, procs, strict=True):
                await _started(http, port, proc)
            for i in range(PUSHES):
                if i == PUSHES // 2:
                    procs[0].kill()  # SIGKILL: no clean stop, its leases stay behind
                    await procs[0].wait()
                port = ports[1] if i >= PUSHES // 2 else ports[i % 2]
                body = [
                    {
                        "callId": f"R{i:05d}",
                        "called": _callee(i),
                        "noAnswerSipList": [],
                        "type": 1,
                        "sipAccount": "agent_001",
                        "callinEventTime": "2026-12-01 18:35:00",
                        "seatGroupName": GROUP_NAME,
                    }
                ]
                answer = await http.post(
                    f"http://127.0.0.1:{port}/push/{PUSH_TOKEN}", content=json.dumps(body)
                )
                if answer.status_code == 200:
                    acknowledged.append(i)
            # The survivor relays everything, the dead replica's claimed rows after their lease.
            deadline = time.monotonic() + 90
            while True:
                with Session(database.engine) as s:
                    unrelayed = s.exec(
                        select(func.count())
                        .select_from(PushInbox)
                        .where(PushInbox.status != "done")
                    ).one()
                    unsent = s.exec(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
                    ).one()
                if not unrelayed and not unsent:
                    break
                assert time.monotonic() < deadline, (unrelayed, unsent)
                await asyncio.sleep(0.5)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 30)
    assert procs[0].returncode == -9
    assert len(acknowledged) == PUSHES  # the survivor kept answering
    with Session(database.engine) as s:
        assert s.exec(select(func.count()).select_from(RingingEvent)).one() == PUSHES
        failed = s.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
        ).one()
    database.dispose()
    assert failed == 0
    sent = [c for c in fake_telegram.sent if c.chat_id == CHAT and c.ok]
    shown = "\n".join(c.text or "" for c in sent)
    # Every event in some message (merged messages list each one), and none twice.
    digits = "".join(ch for ch in shown if ch.isdigit() or ch == "\n")
    for i in acknowledged:
        assert digits.count(_callee(i)) == 1, (i, shown)
    assert not [c for c in fake_telegram.sent if c.status == 429]
