"""Screen pops: from a ringing push received by the listener to the agent's private sendMessage
answered by the fake Bot API, 50 agents ringing at once. One command:
`python -m bench.screen_pop [--database-url URL] [--rounds 10] [--callees 1000000] [--split]`.

The whole bot runs (`BotService`, as `ccbot sandbox` does: its platform is the in-process
simulator, which the push path never calls) against the fake Bot API with Telegram's flood limits
enforced. 50 SIP accounts are linked to 50 users who have started the bot; each agent's callee has
a row in a task's number file and three earlier calls. Each round posts 50 ringing pushes at once
(one per agent, concurrently, over HTTP) and waits for the 50 pops; rounds are 2 s apart, so no
private chat's pacing (one message per 1.5 s) holds a pop back.

Latency = fake Bot API's answer to the agent's sendMessage − the push's `received_at` (stored by
the listener). Measured twice:
- with Telegram's limits: 30 messages a second overall, of which the relay uses 25 (the bot's
  own limiter keeps to it). 50 pops at once cannot all go within one second then: the 26th waits
  for the next second. This is what a real deployment gets.
- the path alone: the same with the overall limit lifted (fake and limiter), i.e. what the code
  costs.
Goals (issue 16): p50 ≤ 200 ms, p99 ≤ 1 s. Exit 1 when the path alone misses them.

Then the callee lookup the pop makes (task, number → the number file's row: `task_callee`'s
primary key) with `--callees` rows in the table: p50/p99 of one lookup, and the query plan.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from bench.relay_common import backend_name, fresh_database, percentile
from bot.app import BotService
from bot.config import load_settings
from bot.delivery.pacing import FloodLimits
from bot.relay.screen_pops import _callee_info
from storage.db import Database
from storage.models import (
    AgentLink,
    BoundChat,
    CallChat,
    CallRecord,
    CallTask,
    GroupRoute,
    OutboxMessage,
    PopRecipient,
    PushInbox,
    TaskCallee,
    table_of,
)
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.flood import FloodRules

AGENTS = 50
TEAM = -1001000000001
GROUP_NAME = "Bench-Team"
GROUP_ID = 900001
TASK = 6000001
USER0 = 700000  # agents' user ids: USER0 + 1 … USER0 + AGENTS
PUSH_TOKEN = "bench-push-token-0123456789abcdef"
ADMIN = 1


def sip(agent: int) -> str:
    return f"bench_{agent:03d}"


def callee(round_no: int, agent: int) -> str:
    """The callee of an agent in a round: "91" + a 10-digit national number."""
    return f"9198{round_no:02d}{agent:06d}"[:12]


def seed(url: str, rounds: int) -> None:
    """The team, its group, 50 linked agents, the task's callee rows and earlier calls."""
    database = Database(url)
    now = datetime.now(UTC)
    try:
        with database.session() as s:
            s.add(BoundChat(chat_id=TEAM, title="Bench team", chat_type="supergroup"))
            s.add(GroupRoute(voice_group_id=GROUP_ID, chat_id=TEAM, group_name=GROUP_NAME))
            s.add(CallTask(task_id=TASK, chat_id=TEAM, remark="Bench leads", created_at=now))
            for agent in range(1, AGENTS + 1):
                user = USER0 + agent
                s.add(
                    AgentLink(
                        sip_account=sip(agent),
                        user_id=user,
                        chat_id=TEAM,
                        voice_group_id=GROUP_ID,
                        group_name=GROUP_NAME,
                        linked_by=ADMIN,
                    )
                )
                s.add(PopRecipient(user_id=user, started=True))
            s.commit()
            callees, records = [], []
            for round_no in range(rounds):
                for agent in range(1, AGENTS + 1):
                    number = callee(round_no, agent)
                    info = {"Name": f"Customer {agent}", "Amount due": "12,000", "City": "Pune"}
                    callees.append(
                        {
                            "task_id": TASK,
                            "callee_digits": number,
                            "chat_id": TEAM,
                            "row": agent,
                            "info": json.dumps(info),
                            "created_at": now,
                        }
                    )
                    for k in range(3):
                        records.append(
                            {
                                "call_session_id": f"old-{round_no}-{agent}-{k}",
                                "called": number,
                                "called_digits": number,
                                "agent_name": sip(agent),
                                "agent_group_name": GROUP_NAME,
                                "answered": k % 2 == 0,
                                "call_duration": 60 * k,
                                "call_start_at": now - timedelta(days=k + 1),
                                "received_at": now,
                                "labels": "[]",
                                "extra": "{}",
                            }
                        )
            s.execute(insert(table_of(TaskCallee)), callees)
            s.execute(insert(table_of(CallRecord)), records)
            ids = s.exec(select(CallRecord.id, CallRecord.call_start_at)).all()
            s.execute(
                insert(table_of(CallChat)),
                [
                    {"call_record_id": i, "chat_id": TEAM, "call_start_at": at, "relayed_at": now}
                    for i, at in ids
                ],
            )
            s.commit()
    finally:
        database.dispose()


def ring(round_no: int, agent: int) -> list[dict[str, Any]]:
    platform_now = datetime.now(UTC) + timedelta(hours=8)
    return [
        {
            "callId": f"r{round_no}-a{agent}",
            "type": 1,
            "taskId": TASK,
            "called": callee(round_no, agent),
            "calledInfo": None,
            "seatGroupName": GROUP_NAME,
            "noAnswerSipList": [],
            "sipAccount": sip(agent),
            "callinEventTime": platform_now.strftime("%Y-%m-%d %H:%M:%S"),
        }
    ]


async def one_round(
    http: httpx.AsyncClient, telegram: FakeTelegram, database: Database, round_no: int
) -> list[float]:
    mark = telegram.mark()

    async def post(agent: int) -> None:
        for attempt in range(3):  # the platform retries a failed ringing push at once, 3 times
            try:
                await http.post(f"/push/{PUSH_TOKEN}", json=ring(round_no, agent))
                return
            except httpx.TransportError:
                if attempt == 2:
                    raise

    await asyncio.gather(*(post(agent) for agent in range(1, AGENTS + 1)))
    wanted = {USER0 + agent: callee(round_no, agent)[2:] for agent in range(1, AGENTS + 1)}
    answered: dict[int, float] = {}
    deadline = time.time() + 30
    while len(answered) < AGENTS and time.time() < deadline:
        for call in telegram.calls:
            if call.seq <= mark or call.method != "sendMessage" or not call.ok:
                continue
            user = call.chat_id
            if user in wanted and user not in answered and wanted[user] in (call.text or ""):
                answered[user] = call.time
        await asyncio.sleep(0.01)

    def received(s: Session) -> dict[str, float]:
        rows = s.execute(
            text("SELECT body, received_at FROM push_inbox WHERE body LIKE :p"),
            {"p": f'%"r{round_no}-a%'},
        ).all()
        out = {}
        for body, at in rows:
            found = re.search(r'"callId":\s*"r\d+-a(\d+)"', body)
            moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            if found:
                out[found.group(1)] = moment.timestamp()
        return out

    got = await database.run(received)

    def queued(s: Session) -> dict[int, float]:
        rows = s.exec(
            select(OutboxMessage.chat_id, OutboxMessage.created_at).where(
                col(OutboxMessage.kind) == "screen_pop",
                col(OutboxMessage.chat_id).in_(list(wanted)),
                col(OutboxMessage.text).like(f"%98{round_no:02d}%"),
            )
        ).all()
        return {chat: _epoch(at) for chat, at in rows}

    stored = await database.run(queued)
    latencies = []
    for agent in range(1, AGENTS + 1):
        user = USER0 + agent
        if user in answered and str(agent) in got:
            latencies.append(answered[user] - got[str(agent)])
            if user in stored:
                STAGES["relay"].append(stored[user] - got[str(agent)])
                STAGES["send"].append(answered[user] - stored[user])
    return latencies


STAGES: dict[str, list[float]] = {"relay": [], "send": []}


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def run(url: str, rounds: int, limits: FloodLimits, split: bool) -> list[float]:
    telegram = FakeTelegram(flood_limits=FloodRules(overall_messages=limits.overall_messages))
    telegram.start()
    if True:
        settings = load_settings(
            telegram_bot_token=telegram.token,
            telegram_api_url=telegram.url,
            database_url=url,
            listen_host="127.0.0.1",
            listen_port=0,
            push_token=PUSH_TOKEN,
            admin_user_ids=str(ADMIN),
            log_level="WARNING",
        )
        service = BotService(settings, sandbox=True, split=split, flood_limits=limits)
        await service.start()
        latencies: list[float] = []
        try:
            database = Database(url)
            async with httpx.AsyncClient(base_url=service.listener_url, timeout=10) as http:
                for round_no in range(rounds):
                    started = time.time()
                    latencies += await one_round(http, telegram, database, round_no)
                    await asyncio.sleep(max(0.0, started + 2.0 - time.time()))
            database.dispose()
        finally:
            await service.stop()
            telegram.stop()
    return latencies


def lookup_cost(url: str, callees: int, samples: int = 2000) -> tuple[float, float, str]:
    """Fill task_callee to `callees` rows (100,000 per task) and time single lookups."""
    database = Database(url)
    now = datetime.now(UTC)
    chunk = 20_000
    try:
        with database.session() as s:
            for start in range(0, callees, chunk):
                rows = [
                    {
                        "task_id": 7_000_000 + n // 100_000,
                        "callee_digits": f"91{7_000_000_000 + n}",
                        "chat_id": TEAM,
                        "row": n % 100_000,
                        "info": '{"Name": "Customer", "City": "Pune"}',
                        "created_at": now,
                    }
                    for n in range(start, min(start + chunk, callees))
                ]
                s.execute(insert(table_of(TaskCallee)), rows)
            s.commit()
            if backend_name(url) == "postgresql":
                s.execute(text("ANALYZE task_callee"))
            else:
                s.execute(text("ANALYZE"))
            s.commit()
        picks = [random.randrange(callees) for _ in range(samples)]
        timings = []
        with database.session() as s:
            for n in picks:
                pair = (7_000_000 + n // 100_000, f"91{7_000_000_000 + n}")
                began = time.perf_counter()
                found = _callee_info(s, {pair})
                timings.append(time.perf_counter() - began)
                assert found, pair
            explain = "EXPLAIN QUERY PLAN" if backend_name(url) == "sqlite" else "EXPLAIN"
            plan = s.execute(
                text(
                    f"{explain} SELECT task_id, callee_digits, info FROM task_callee "
                    "WHERE task_id IN (7000001) AND callee_digits IN ('917000100001')"
                )
            ).all()
        return percentile(timings, 0.5), percentile(timings, 0.99), " | ".join(
            str(row[-1]) for row in plan
        )
    finally:
        database.dispose()


def relay_cost(url: str, rounds: int, linked: bool) -> tuple[float, float]:
    """CPU and wall time of relaying one batch of 50 ringing pushes (the relay worker alone,
    no HTTP, no sender): with the 50 accounts linked, and (baseline) with none linked. Median
    over the rounds, in seconds."""
    from zoneinfo import ZoneInfo

    from bot.relay.worker import RelayWorker

    seed(url, rounds)
    database = Database(url)
    try:
        if not linked:
            database.call(lambda s: s.execute(text("DELETE FROM agent_link")))
        worker = RelayWorker(
            database, platform_tz=ZoneInfo("Asia/Shanghai"), default_zone=ZoneInfo("UTC")
        )
        cpu, wall = [], []
        for round_no in range(rounds):

            def store(s: Session, round_no: int = round_no) -> None:
                for agent in range(1, AGENTS + 1):
                    s.add(PushInbox(kind="ringing", body=json.dumps(ring(round_no, agent))))

            database.call(store)
            began_cpu, began = time.process_time(), time.perf_counter()
            outcome = worker.run_once()
            cpu.append(time.process_time() - began_cpu)
            wall.append(time.perf_counter() - began)
            assert outcome.done == AGENTS, outcome
        return percentile(cpu, 0.5), percentile(wall, 0.5)
    finally:
        database.dispose()


def describe(name: str, latencies: list[float], expected: int) -> str:
    ms = [1000 * v for v in latencies]
    lost = expected - len(ms)
    return (
        f"{name}: p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms, "
        f"max {max(ms):.0f} ms over {len(ms)} pops" + (f", {lost} NOT DELIVERED" if lost else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--callees", type=int, default=1_000_000)
    parser.add_argument("--split", action="store_true", help="listener and relay as child processes")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    expected = args.rounds * AGENTS
    real = FloodLimits()
    lifted = replace(real, overall_messages=10_000, relay_overall_messages=10_000)
    results = {}
    stages = {}
    for name, limits in (("Telegram's limits", real), ("the path alone", lifted)):
        with fresh_database(args.database_url) as url:
            seed(url, args.rounds)
            for values in STAGES.values():
                values.clear()
            results[name] = asyncio.run(run(url, args.rounds, limits, args.split))
            stages[name] = ", ".join(
                f"{stage} p50 {percentile(v, 0.5) * 1000:.0f} ms / p99 {percentile(v, 0.99) * 1000:.0f} ms"
                for stage, v in STAGES.items()
            )
    with fresh_database(args.database_url) as url:
        print(
            f"database: {backend_name(url)}; {AGENTS} agents ringing at once, {args.rounds} rounds"
            f"{', split processes' if args.split else ', one process'}"
        )
    for name, latencies in results.items():
        print(describe(f"push received → sendMessage answered, {name}", latencies, expected))
        print(f"  stages: push received → pop queued ({stages[name].split(', send')[0]}), "
              f"queued → sendMessage answered ({'send' + stages[name].split(', send')[1]})")
    path = results["the path alone"]
    met = (
        len(path) == expected
        and percentile(path, 0.5) <= 0.2
        and percentile(path, 0.99) <= 1.0
    )
    print(f"goal (the path alone: p50 ≤ 200 ms, p99 ≤ 1 s, every pop sent): "
          f"{'met' if met else 'MISSED'}")
    costs = {}
    for linked in (True, False):
        with fresh_database(args.database_url) as url:
            costs[linked] = relay_cost(url, args.rounds, linked)
    print(
        f"relaying one batch of {AGENTS} ringing pushes (worker alone, median): with the pops "
        f"{costs[True][0] * 1000:.0f} ms CPU / {costs[True][1] * 1000:.0f} ms wall; without "
        f"(nobody linked) {costs[False][0] * 1000:.0f} ms CPU / {costs[False][1] * 1000:.0f} ms wall"
    )
    if args.callees:
        with fresh_database(args.database_url) as url:
            began = time.time()
            p50, p99, plan = lookup_cost(url, args.callees)
            print(
                f"callee lookup with {args.callees:,} task_callee rows (filled in "
                f"{time.time() - began:.0f} s): p50 {p50 * 1e6:.0f} µs, p99 {p99 * 1e6:.0f} µs; "
                f"plan: {plan}"
            )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
