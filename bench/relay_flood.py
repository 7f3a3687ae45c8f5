"""Flood: 5,000 ringing events for one group chat within 60 s, against the fake Bot API enforcing
Telegram's flood limits with 429s. `python -m bench.relay_flood [--database-url URL]`.

Ours: the events are enqueued into the outbox at an even ~83 a second (each in its own
transaction, up to 16 at once); the sender runs with Telegram's real limits.
Goals: no 429 answered, every event shown in some message, the last event shown within 5 s of
being enqueued. Exit 1 when a goal is missed.

Baseline, in the same run: one message per event, paced by PTB's AIORateLimiter (what the bot
used before), for the same 60 s: how many events it shows, how many 429s it gets, and how long
its backlog would take.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bench.relay_common import (
    GROUP,
    backend_name,
    delivered,
    fresh_database,
    percentile,
    relay_world,
    ringing_text,
    shown,
)
from bot.delivery.outbox import OutboxKind, enqueue
from bot.delivery.pacing import FloodLimits
from bot.delivery.telegram_errors import retry_after_seconds

MARKER = re.compile(r"\+91 98765 (\d{5})")  # each event's callee number (bench.relay_common)


async def produce(world, events: int, seconds: float) -> dict[int, float]:  # noqa: ANN001
    """Enqueue `events` ringing rows evenly over `seconds`, each in its own transaction and up
    to 16 at once (as concurrent pushes would be); return each one's commit time."""
    enqueued: dict[int, float] = {}
    slots = asyncio.Semaphore(16)

    async def one(n: int) -> None:
        def write(s):  # noqa: ANN001, ANN202
            enqueue(s, chat_id=GROUP, text=ringing_text(n), kind=OutboxKind.RINGING)

        async with slots:
            await world.database.run(write)
        enqueued[n] = time.time()

    started = time.time()
    tasks = []
    for n in range(events):
        delay = started + n * seconds / events - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return enqueued


async def run_ours(url: str, events: int, seconds: float) -> dict[str, object]:
    async with relay_world(url) as world:
        enqueued = await produce(world, events, seconds)
        deadline = time.time() + 60
        while time.time() < deadline:
            depth, _ = await world.database.run(_depth)
            if depth == 0:
                break
            await asyncio.sleep(0.1)
        calls = delivered(world.telegram)
        refusals = len(world.telegram.flood_refusals)
        shown_at: dict[int, float] = {}
        for call in calls:
            for found in MARKER.findall(shown(call)):
                shown_at.setdefault(int(found), call.time)
        latencies = [shown_at[n] - enqueued[n] for n in shown_at]
        last = events - 1
        return {
            "messages": len(calls),
            "documents": sum(1 for c in calls if c.method == "sendDocument"),
            "refusals": refusals,
            "missing": events - len(shown_at),
            "p50": percentile(latencies, 0.5),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies) if latencies else float("nan"),
            "last": shown_at[last] - enqueued[last] if last in shown_at else float("nan"),
            "span": enqueued[last] - enqueued[0],
        }


def _depth(session) -> tuple[int, object]:  # noqa: ANN001
    from bot.delivery.outbox_claims import outbox_stats

    return outbox_stats(session)


async def run_baseline(url: str, events: int, seconds: float) -> dict[str, object]:
    """One sendMessage per event through AIORateLimiter, events arriving at the same rate."""
    limiter = AIORateLimiter(max_retries=3)
    async with relay_world(url, rate_limiter=limiter, start_sender=False) as world:
        started = time.time()
        sent = 0
        retry_waits = 0
        while time.time() - started < seconds:
            arrived = min(events, int((time.time() - started) * events / seconds) + 1)
            if sent >= arrived:
                await asyncio.sleep(0.01)
                continue
            try:
                await world.bot.send_message(GROUP, ringing_text(sent), parse_mode="HTML")
                sent += 1
            except RetryAfter as error:  # AIORateLimiter gave up after its retries
                retry_waits += 1
                await asyncio.sleep(retry_after_seconds(error))
        refusals = len(world.telegram.flood_refusals)
        backlog = events - sent
        minutes_left = backlog / FloodLimits().group_messages
        return {
            "shown": sent,
            "refusals": refusals,
            "gave_up": retry_waits,
            "backlog": backlog,
            "last_estimate_min": minutes_left,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--database-url", help="PostgreSQL URL to run on (default: a temporary SQLite file)"
    )
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    with fresh_database(args.database_url) as url:
        print(f"database: {backend_name(url)}; {args.events} ringing events in {args.seconds:g} s")
        ours = asyncio.run(run_ours(url, args.events, args.seconds))
    print(
        f"ours: {ours['messages']} messages ({ours['documents']} with the list attached), "
        f"429 answered: {ours['refusals']}, events not shown: {ours['missing']}, "
        f"enqueued over {ours['span']:.1f} s"
    )
    print(
        f"      latency enqueue → shown: p50 {ours['p50']:.2f} s, p99 {ours['p99']:.2f} s, "
        f"max {ours['max']:.2f} s; last event {ours['last']:.2f} s"
    )
    if not args.no_baseline:
        with fresh_database(args.database_url) as url:
            base = asyncio.run(run_baseline(url, args.events, args.seconds))
        print(
            f"baseline (one message per event, AIORateLimiter), same {args.seconds:g} s: "
            f"{base['shown']} events shown, 429 answered: {base['refusals']}, "
            f"{base['backlog']} still waiting (about {base['last_estimate_min']:.0f} min more at "
            f"20 a minute)"
        )
        if base["shown"]:
            print(
                f"events shown within the run: ours {args.events - ours['missing']} vs "
                f"baseline {base['shown']} ({(args.events - ours['missing']) / base['shown']:.0f}x)"
            )
    met = ours["refusals"] == 0 and ours["missing"] == 0 and ours["last"] <= 5.0
    print(f"goals (no 429, every event shown, last event within 5 s): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
