"""Ingest and relay throughput with 1, 2 and 4 `ccbot run` replicas on one PostgreSQL, in the
same run: `python -m bench.replicas --postgres postgresql://postgres@127.0.0.1:5432/test
[--pushes N] [--concurrency C]`.

Each round starts N replicas (webhook mode, against an in-process fake Bot API), posts the same
number of ringing pushes spread round-robin over them from C concurrent connections, and measures:
- ingest: pushes answered 200 per second;
- relay: pushes turned into typed rows and outbox messages per second (until the inbox is empty),
  which is the part replicas share through `FOR UPDATE SKIP LOCKED` claims.
Telegram's own pacing (16 relayed messages a minute per group) is not what is measured: the pushes
go to 50 groups routed to 50 chats. The ratio is against the 1-replica round of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time

import httpx
from sqlmodel import Session, func, select

from bench.pg import drop_database, fresh_database
from storage.db import Database
from storage.migrate import upgrade
from storage.models import BoundChat, GroupRoute, PushInbox
from tests.fakes.processes import free_port, start_ccbot, wait_until_healthy, webhook_env
from tests.fakes.telegram import FakeTelegram

PUSH_TOKEN = "bench-replicas-push-token-0123456789"
GROUPS = 50


async def _round(
    base: str, replicas: int, pushes: int, concurrency: int, telegram
) -> tuple[float, float]:  # noqa: ANN001
    url, name = fresh_database(base)
    procs = []
    try:
        upgrade(url)
        database = Database(url)
        with database.session() as s:
            for g in range(GROUPS):
                chat = -1001000000000 - g
                s.add(BoundChat(chat_id=chat, title=f"Team {g}", chat_type="supergroup"))
                s.add(GroupRoute(voice_group_id=1000000 + g, chat_id=chat, group_name=f"G-{g}"))
        ports = [free_port() for _ in range(replicas)]
        home = tempfile.mkdtemp()
        for port in ports:
            env = webhook_env(
                home,
                telegram,
                webhook_secret="bench-webhook-secret",
                database_url=url,
                port=port,
                push_token=PUSH_TOKEN,
                LOG_LEVEL="WARNING",
            )
            procs.append(
                await start_ccbot(
                    "run",
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
        for port, proc in zip(ports, procs, strict=True):
            await wait_until_healthy(proc, port, timeout=60, interval=0.2)
        async with httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_connections=concurrency)
        ) as http:
            numbers = itertools.count()
            targets = itertools.cycle(ports)

            async def sender() -> None:
                while (i := next(numbers)) < pushes:
                    body = [
                        {
                            "callId": f"B{i:07d}",
                            "called": f"9198765{i:05d}",
                            "type": 1,
                            "sipAccount": "agent_001",
                            "noAnswerSipList": [],
                            "callinEventTime": "2026-12-01 10:00:00",
                            "seatGroupName": f"G-{i % GROUPS}",
                        }
                    ]
                    answer = await http.post(
                        f"http://127.0.0.1:{next(targets)}/push/{PUSH_TOKEN}",
                        content=json.dumps(body),
                    )
                    assert answer.status_code == 200, answer.text

            started = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(concurrency)))
            ingest_s = time.perf_counter() - started
            while True:
                with Session(database.engine) as s:
                    left = s.exec(
                        select(func.count())
                        .select_from(PushInbox)
                        .where(PushInbox.status != "done")
                    ).one()
                if not left:
                    break
                await asyncio.sleep(0.05)
            relay_s = time.perf_counter() - started
        database.dispose()
        return pushes / ingest_s, pushes / relay_s
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await proc.wait()
        drop_database(base, name)


async def main_async(args: argparse.Namespace) -> None:
    telegram = FakeTelegram().start()
    try:
        results = {}
        for replicas in (1, 2, 4):
            results[replicas] = await _round(
                args.postgres, replicas, args.pushes, args.concurrency, telegram
            )
            ingest, relay = results[replicas]
            base_ingest, base_relay = results[1]
            print(
                f"{replicas} replica(s): ingest {ingest:,.0f} pushes/s ({ingest / base_ingest:.2f}x), "
                f"relay {relay:,.0f} pushes/s ({relay / base_relay:.2f}x)",
                flush=True,
            )
    finally:
        telegram.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", required=True, help="admin URL of a PostgreSQL server")
    parser.add_argument("--pushes", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main_async(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
