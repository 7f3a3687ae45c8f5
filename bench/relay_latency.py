"""Latency: one ringing event from its start to its sendMessage at the fake Bot API, p50 and p99
over 200 events spaced out. `python -m bench.relay_latency [--database-url URL] [--start outbox]`.

The starting point is a function (`STARTS`): "outbox" enqueues the row as the relay worker does
and returns the moment it began. (The HTTP push into the listener can be added as another start
once the listener and relay worker land.) Events go every 100 ms, round-robin over 50 group
chats, so no chat's pacing holds any of them back: this measures the path, not the flood limits.

Measured in the same run:
- ours, polling: the sender finds the row on its own (it looks every 50 ms);
- ours, woken: the producer calls `sender.wake()` after enqueueing (a producer in the process);
- baseline: the same message sent straight with `bot.send_message`, no outbox.
Goal: p50 under 200 ms (polling). Exit 1 when missed.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

from telegram.ext import ExtBot

from bench.relay_common import (
    RelayWorld,
    backend_name,
    delivered,
    fresh_database,
    marker,
    percentile,
    relay_world,
    ringing_text,
)
from bot.delivery.outbox import OutboxKind, enqueue

CHATS = [-1001000000000 - n for n in range(50)]

Start = Callable[[RelayWorld, int, int], Awaitable[float]]


async def start_outbox(world: RelayWorld, chat_id: int, number: int) -> float:
    """Enqueue ringing event `number` for `chat_id`; return when we began (epoch seconds)."""
    began = time.time()
    await world.database.run(
        lambda s: enqueue(s, chat_id=chat_id, text=ringing_text(number), kind=OutboxKind.RINGING)
    )
    return began


async def start_outbox_and_wake(world: RelayWorld, chat_id: int, number: int) -> float:
    began = await start_outbox(world, chat_id, number)
    assert world.sender is not None
    world.sender.wake()
    return began


STARTS: dict[str, Start] = {"outbox": start_outbox}


async def measure(world: RelayWorld, start: Start, count: int, interval: float) -> list[float]:
    began: dict[int, float] = {}
    first = time.time()
    for n in range(count):
        delay = first + n * interval - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        began[n] = await start(world, CHATS[n % len(CHATS)], n)
    deadline = time.time() + 30
    arrived: dict[int, float] = {}
    while len(arrived) < count and time.time() < deadline:
        for call in delivered(world.telegram):
            for n in range(count):
                if n not in arrived and marker(n) in (call.text or ""):
                    arrived[n] = call.time
        await asyncio.sleep(0.05)
    return [arrived[n] - began[n] for n in sorted(arrived)]


async def run_ours(url: str, start: Start, count: int, interval: float) -> list[float]:
    async with relay_world(url, flood_limits=True) as world:
        return await measure(world, start, count, interval)


async def run_direct(url: str, count: int, interval: float) -> list[float]:
    async with relay_world(url, flood_limits=True, start_sender=False) as world:
        plain = ExtBot(
            world.telegram.token,
            base_url=world.telegram.base_url,
            base_file_url=world.telegram.base_file_url,
        )
        await plain.initialize()

        async def send(world: RelayWorld, chat_id: int, number: int) -> float:
            began = time.time()
            await plain.send_message(chat_id, ringing_text(number), parse_mode="HTML")
            return began

        try:
            return await measure(world, send, count, interval)
        finally:
            await plain.shutdown()


def describe(name: str, latencies: list[float], count: int) -> str:
    ms = [1000 * v for v in latencies]
    lost = count - len(ms)
    return (
        f"{name}: p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
        f"max {max(ms):.1f} ms" + (f", {lost} NOT DELIVERED" if lost else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--start", choices=sorted(STARTS), default="outbox")
    parser.add_argument(
        "--database-url", help="PostgreSQL URL to run on (default: a temporary SQLite file)"
    )
    args = parser.parse_args(argv)
    start = STARTS[args.start]
    with fresh_database(args.database_url) as url:
        print(f"database: {backend_name(url)}; {args.count} events every {args.interval:g} s")
        polling = asyncio.run(run_ours(url, start, args.count, args.interval))
    with fresh_database(args.database_url) as url:
        woken = asyncio.run(run_ours(url, start_outbox_and_wake, args.count, args.interval))
    with fresh_database(args.database_url) as url:
        direct = asyncio.run(run_direct(url, args.count, args.interval))
    print(describe(f"ours, {args.start} → sendMessage, polling", polling, args.count))
    print(describe("ours, outbox → sendMessage, woken", woken, args.count))
    print(describe("baseline, send_message straight", direct, args.count))
    p50 = percentile(polling, 0.5)
    print(f"ratio p50 ours (polling) / baseline: {p50 / percentile(direct, 0.5):.1f}x")
    met = len(polling) == args.count and p50 < 0.2
    print(f"goal (p50 under 200 ms, every event delivered): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
