"""Ringing events and command replies in a group flooded with routine messages, against the fake
Bot API enforcing Telegram's real flood limits (429 on any excess). One command:
`python -m bench.ring_priority [--database-url URL] [--minutes M]`.

Three loads, each run twice in the same process: with urgency (each chat's outbox goes most
urgent first, bot/delivery/outbox.py) and, as the baseline, the same load with urgency disabled
(every kind the same urgency: the chat's outbox strictly in order, as before issue 15).

1. backlog: 300 call records waiting in a group, then a ring every 10 s: delay from its enqueue
   to its sendMessage. Goal: within one pacing interval (3.75 s) plus the claim, ≤ 5 s. A ring
   not shown within the run (the baseline's) counts the time the messages ahead of it take at
   16 a minute.
2. steady: 15 call records and 15 rings a minute into one group (a 30-agent team with
   `/notify calls each`) for M minutes: ring delay p50/p95. Goal: p95 ≤ 4 s.
3. replies: a command reply every 10 s into the flooded group of load 1: from the call to
   Telegram's answer. Goal: ≤ 1 s (Telegram's 20 a minute in a group permitting).

Exit 1 when a goal is missed (with urgency) or Telegram had to answer 429.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

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
from bot.delivery import outbox
from bot.delivery.outbox import OutboxKind, Outgoing, Urgency, enqueue, enqueue_many
from bot.delivery.pacing import FloodLimits
from bot.delivery.replies import send_text
from storage.models import OutboxMessage, table_of

MARKER = re.compile(r"\+91 98765 (\d{5})")


@contextmanager
def urgency(enabled: bool) -> Iterator[None]:
    """Every kind at one urgency when disabled: the outbox in strict order (the baseline)."""
    saved = dict(outbox.URGENCY)
    if not enabled:
        for kind in outbox.URGENCY:
            outbox.URGENCY[kind] = Urgency.CALL
    try:
        yield
    finally:
        outbox.URGENCY.update(saved)


def _records(world, first: int, count: int) -> None:  # noqa: ANN001
    world.database.call(
        lambda s: enqueue_many(
            s,
            [
                Outgoing(GROUP, f"☎️ call record {n}: answered, 1 min 5 s", OutboxKind.CALL)
                for n in range(first, first + count)
            ],
        )
    )


async def _ring(world, number: int) -> float:  # noqa: ANN001
    await world.database.run(
        lambda s: enqueue(s, chat_id=GROUP, text=ringing_text(number), kind=OutboxKind.RINGING)
    )
    if world.sender is not None:
        world.sender.wake()  # as the relay worker does after a batch
    return time.time()


def _shown_at(world) -> dict[int, float]:  # noqa: ANN001
    seen: dict[int, float] = {}
    for call in delivered(world.telegram):
        for found in MARKER.findall(shown(call)):
            seen.setdefault(int(found), call.time)
    return seen


async def _await_shown(world, numbers: list[int], timeout: float) -> dict[int, float]:  # noqa: ANN001
    deadline = time.time() + timeout
    while time.time() < deadline:
        seen = _shown_at(world)
        if all(n in seen for n in numbers):
            return seen
        await asyncio.sleep(0.05)
    return _shown_at(world)


async def backlog_load(url: str, rings: int) -> dict[str, object]:
    async with relay_world(url) as world:
        _records(world, 0, 300)
        world.sender.wake()  # type: ignore[union-attr]
        await asyncio.sleep(10)  # the chat in its steady pace, the window full
        enqueued: dict[int, float] = {}
        ahead: list[int] = []
        for n in range(rings):
            enqueued[n] = await _ring(world, n)
            ahead.append(await world.database.run(_waiting_ahead))
            await asyncio.sleep(10)
        seen = await _await_shown(world, list(enqueued), 30)
        delays = [seen.get(n, float("inf")) - enqueued[n] for n in enqueued]
        # A ring not shown within the run: how long the messages ahead of it take at 16 a minute.
        estimated = [
            delay if delay != float("inf") else count * FloodLimits().relay_group_interval
            for delay, count in zip(delays, ahead, strict=True)
        ]
        return {
            "rings": rings,
            "shown": sum(1 for n in enqueued if n in seen),
            "ahead_max": max(ahead),
            "max": max(estimated),
            "p50": percentile(estimated, 0.5),
            "refusals": len(world.telegram.flood_refusals),
        }


def _waiting_ahead(session) -> int:  # noqa: ANN001
    """Unfinished messages of the group the newest ring must wait for (in the claim's order)."""
    rows = table_of(OutboxMessage).c
    ring = session.execute(select(func.max(rows.id))).scalar()
    urgency = session.execute(select(rows.urgency).where(rows.id == ring)).scalar()
    return session.execute(
        select(func.count()).where(
            rows.chat_id == GROUP,
            rows.status.in_(["pending", "sending"]),
            (rows.urgency < urgency) | ((rows.urgency == urgency) & (rows.id < ring)),
        )
    ).scalar()


async def steady_load(url: str, minutes: float) -> dict[str, object]:
    async with relay_world(url) as world:
        enqueued: dict[int, float] = {}
        started = time.time()
        n = 0
        while time.time() - started < minutes * 60:
            _records(world, n, 1)
            await asyncio.sleep(2)
            enqueued[n] = await _ring(world, n)
            await asyncio.sleep(2)
            n += 1
        seen = await _await_shown(world, list(enqueued), 10)
        delays = [seen.get(k, time.time()) - enqueued[k] for k in enqueued]
        return {
            "rings": len(enqueued),
            "shown": sum(1 for k in enqueued if k in seen),
            "p50": percentile(delays, 0.5),
            "p95": percentile(delays, 0.95),
            "max": max(delays),
            "refusals": len(world.telegram.flood_refusals),
        }


async def reply_load(url: str, replies: int) -> dict[str, object]:
    async with relay_world(url) as world:
        _records(world, 0, 300)
        world.sender.wake()  # type: ignore[union-attr]
        await asyncio.sleep(10)
        waits = []
        for n in range(replies):
            started = time.time()
            await send_text(world.bot, world.database, GROUP, f"You are a <b>viewer</b> ({n}).")
            waits.append(time.time() - started)
            await asyncio.sleep(10)
        return {
            "replies": replies,
            "p50": percentile(waits, 0.5),
            "max": max(waits),
            "refusals": len(world.telegram.flood_refusals),
        }


def _ratio(baseline: float, ours: float) -> str:
    return f"{baseline / ours:.1f}×" if ours > 0 else "∞"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite)")
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the steady load")
    parser.add_argument("--rings", type=int, default=5, help="rings into the backlog")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, dict[str, object]]] = {}
    for mode, enabled in (("urgency", True), ("baseline", False)):
        with urgency(enabled):
            for load, run in (
                ("backlog", lambda url: backlog_load(url, args.rings)),
                ("steady", lambda url: steady_load(url, args.minutes)),
                ("replies", lambda url: reply_load(url, args.rings)),
            ):
                with fresh_database(args.database_url) as url:
                    results.setdefault(load, {})[mode] = asyncio.run(run(url))
                print(f"{mode:8} {load:8} {results[load][mode]}", flush=True)
    backend = backend_name(args.database_url or "sqlite://")
    ours, base = results["backlog"]["urgency"], results["backlog"]["baseline"]
    print(
        f"\n{backend}: ring into a 300-message backlog: max {ours['max']:.2f} s with urgency, "
        f"{base['max']:.1f} s without ({_ratio(base['max'], ours['max'])} faster)"
    )  # type: ignore[arg-type]
    ours, base = results["steady"]["urgency"], results["steady"]["baseline"]
    print(
        f"{backend}: 15 records + 15 rings a minute: ring p95 {ours['p95']:.2f} s with urgency, "
        f"{base['p95']:.1f} s without ({_ratio(base['p95'], ours['p95'])} faster)"
    )  # type: ignore[arg-type]
    ours, base = results["replies"]["urgency"], results["replies"]["baseline"]
    print(
        f"{backend}: reply in the flooded group: max {ours['max']:.2f} s with urgency, "
        f"{base['max']:.2f} s without"
    )
    refusals = sum(int(r[m]["refusals"]) for r in results.values() for m in r)  # type: ignore[call-overload]
    missed = [
        name
        for name, ok in (
            ("ring within 5 s of a backlog", float(results["backlog"]["urgency"]["max"]) <= 5),  # type: ignore[arg-type]
            ("steady ring p95 ≤ 4 s", float(results["steady"]["urgency"]["p95"]) <= 4),  # type: ignore[arg-type]
            ("reply ≤ 1 s", float(results["replies"]["urgency"]["max"]) <= 1),  # type: ignore[arg-type]
            ("no 429", refusals == 0),
        )
        if not ok
    ]
    print("goals missed: " + (", ".join(missed) if missed else "none"))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
