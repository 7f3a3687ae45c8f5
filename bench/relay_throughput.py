"""Relay throughput: how fast one relay worker turns stored pushes into typed rows, rollups and
outbox messages. `python -m bench.relay_throughput [--pushes N] [--rounds R]
[--postgres URL] [--profile] [--alerts]`.

`--alerts`: instead of the baseline, the same worker with the call-centre alert rules evaluated
(the default: every chat has every rule on) against the same worker with the evaluation switched
off, in the same run; the goal is at most 10 % more worker time per push. Both must write the same
rows apart from the alerts' own outbox messages.

The workload (the same in every run): N pushes stored in `push_inbox` before the clock starts,
about 70% ringing arrays (one or two events each; a call rings three agents, each later event
listing the earlier agents in noAnswerSipList, half of the calls for a task submitted from a chat)
and 30% call records of calls that rang, plus 5% platform retries (the same body again). 20 agent
groups routed to 20 chats, two manager chats that also get every fourth group, chats set to
`each`, `answered` and `digest` for call records, one chat masking numbers.

Timed: `RelayWorker.run_once()` until nothing is left to claim (claim, parse, typed rows, rollups,
outbox, in batches of 100), wall time and this process's CPU time. No sender, no Telegram.

Baseline, in the same run: the worker's relay path as it was before this change
(`bench/relay_baseline.py`: one INSERT per ringing event, one statement per rollup counter, one ORM
flush per outbox message, one routing query per call record, a COUNT of the inbox per batch), on
the same workload and a fresh database of the same backend. A kept copy of the old code and not an
insert-only floor, because the question is what the change bought with exactly the same rows
written: after every run the benchmark compares what was written (typed rows, rollups, every chat's
outbox texts in order) and stops if the two differ. Rounds alternate which one goes first; the
machine is shared, so the ratio per round is what to read.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bench.pg import drop_database, fresh_database
from bench.relay_baseline import BaselineWorker
from bot.alerts.relay import evaluate as evaluate_alerts
from bot.relay.worker import RelayWorker
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    AgentRollup,
    BoundChat,
    CallRecord,
    CallRollup,
    CallTask,
    GroupRoute,
    OutboxMessage,
    PushInbox,
    RingingEvent,
    RingRollup,
    utcnow,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
GROUPS = 20
TASKS = 10
MANAGERS = (-1009000000001, -1009000000002)
MODES = {"baseline": BaselineWorker, "ours": RelayWorker, "no-alerts": RelayWorker}
ALERT_KINDS = ("alert", "alert_cleared")


def chat_of(group: int) -> int:
    return -1001000000000 - group


def workload(pushes: int) -> list[tuple[str, str]]:
    """(kind, body) of `pushes` pushes, deterministic."""
    out: list[tuple[str, str]] = []
    call = 0
    while len(out) < pushes:
        call += 1
        group = call % GROUPS
        call_id = f"25120110{call:08d}"
        rang = f"2025-12-01 {10 + call // 3600 % 10:02d}:{call // 60 % 60:02d}:{call % 60:02d}"
        task = 9000 + call % TASKS if call % 2 else None
        events = []
        for ring in range(3):
            events.append(
                {
                    "callId": call_id,
                    "called": f"9198765{call:05d}",
                    "calledInfo": f"Customer {call}" if call % 4 == 0 else None,
                    "type": 1,
                    "sipAccount": f"agent_{group}_{ring}",
                    "noAnswerSipList": [f"agent_{group}_{r}" for r in range(ring)],
                    "callinEventTime": rang,
                    "taskId": task,
                    "seatGroupName": f"Team-{group}",
                }
            )
        # One push of the first two rings when the call is even, else one push per ring.
        arrays = [events[:2], events[2:]] if call % 2 == 0 else [[e] for e in events]
        out += [("ringing", json.dumps(a)) for a in arrays]
        if call % 3 != 0:  # most calls end with a record
            answered = call % 5 != 0
            record = {
                "callSessionId": f"S{call:010d}",
                "callId": call_id,
                "agentGroupName": f"Team-{group}",
                "agentName": f"agent_{group}_2" if answered else None,
                "called": f"9198765{call:05d}",
                "caller": "91778800001",
                "ccode": "91",
                "callType": 1,
                "callStartTime": rang,
                "answerTime": rang if answered else None,
                "callEndTime": rang,
                "callDuration": 30 + call % 90 if answered else 0,
                "hangupReason": 3 if answered else 5,
                "hangingDirection": 0,
                "labels": ["Intended customers"],
                "baseCost": "0.0100",
                "cost": "0.0120",
            }
            out.append(("call", json.dumps(record)))
        if call % 20 == 0:  # a platform retry of the last push
            out.append(out[-1])
    return out[:pushes]


def seed(database: Database, pushes: list[tuple[str, str]]) -> None:
    """Chats, routes, tasks and the stored pushes (not timed)."""
    settings = ("each", "answered", "digest")
    with database.session() as s:
        for g in range(GROUPS):
            s.add(
                BoundChat(
                    chat_id=chat_of(g),
                    title=f"Team {g}",
                    chat_type="supergroup",
                    notify_calls=settings[g % 3],
                    mask_numbers=g == 1,
                    timezone="Asia/Kolkata" if g % 2 else None,
                )
            )
            s.add(GroupRoute(voice_group_id=1000 + g, chat_id=chat_of(g), group_name=f"Team-{g}"))
        for i, manager in enumerate(MANAGERS):
            s.add(BoundChat(chat_id=manager, title=f"Managers {i}", notify_calls="each"))
        s.flush()
        for g in range(0, GROUPS, 4):
            s.add(
                GroupRoute(
                    voice_group_id=1000 + g, chat_id=MANAGERS[g % 8 // 4], group_name=f"Team-{g}"
                )
            )
        for t in range(TASKS):
            s.add(CallTask(task_id=9000 + t, chat_id=chat_of((t * 7) % GROUPS)))
    now = utcnow()
    rows = [
        {"kind": kind, "body": body, "received_at": now, "status": "pending", "attempts": 0}
        for kind, body in pushes
    ]
    with database.engine.begin() as conn:
        for start in range(0, len(rows), 500):
            conn.execute(insert(PushInbox), rows[start : start + 500])


def written(database: Database) -> dict[str, Any]:
    """What the relay wrote, without ids and clocks: compared between the modes."""
    with database.engine.connect() as conn:

        def rows(*columns: Any) -> list[tuple[Any, ...]]:
            return sorted(tuple(r) for r in conn.execute(select(*columns)))

        outbox: dict[int, list[tuple[str, str]]] = {}
        alerts = 0
        for chat_id, kind, text in conn.execute(
            select(OutboxMessage.chat_id, OutboxMessage.kind, OutboxMessage.text).order_by(
                OutboxMessage.id  # type: ignore[arg-type]
            )
        ):
            if kind in ALERT_KINDS:  # compared apart: only one of the modes raises them
                alerts += 1
                continue
            outbox.setdefault(chat_id, []).append((kind, text))
        pending = conn.execute(select(PushInbox.id).where(PushInbox.status != "done")).all()
        return {
            "not done": len(pending),
            "ringing": rows(RingingEvent.dedupe_key, RingingEvent.inbox_id),
            "calls": rows(CallRecord.call_session_id, CallRecord.inbox_id),
            "rings": rows(*RingRollup.__table__.c),  # type: ignore[attr-defined]
            # The cost is a float sum: the same to the micro-unit whatever order it was added in.
            "call rollup": [
                (*r[:-2], round(r[-2], 6), r[-1])
                for r in rows(*CallRollup.__table__.c)  # type: ignore[attr-defined]
            ],
            "agent rollup": rows(*AgentRollup.__table__.c),  # type: ignore[attr-defined]
            "outbox": outbox,
            "alerts": alerts,
        }


@contextlib.contextmanager
def database_for(postgres: str | None) -> Iterator[Database]:
    if postgres is None:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'relay.db'}"
            upgrade(url)
            database = Database(url)
            try:
                yield database
            finally:
                database.dispose()
        return
    url, name = fresh_database(postgres)
    try:
        upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()
    finally:
        drop_database(postgres, name)


def run(
    mode: str, pushes: list[tuple[str, str]], postgres: str | None, profile: bool = False
) -> tuple[float, float, dict[str, Any]]:
    """Relay `pushes` with the worker of `mode`; (wall s, CPU s, what was written)."""
    with database_for(postgres) as database:
        seed(database, pushes)
        worker = MODES[mode](database, platform_tz=SHANGHAI, default_zone=ZoneInfo("UTC"))
        switched_off = (
            mock.patch("bot.relay.worker.evaluate_alerts", lambda *args, **kwargs: None)
            if mode == "no-alerts"
            else mock.patch("bot.relay.worker.evaluate_alerts", _clocked_evaluate)
        )
        EVALUATION.update(wall=0.0, cpu=0.0, alerting_cpu=0.0, alerting_batches=0.0)
        with switched_off:
            return _timed(worker, database, profile)


# The alert evaluation's own time inside the worker's, measured in the same run.
EVALUATION = {"wall": 0.0, "cpu": 0.0, "alerting_cpu": 0.0, "alerting_batches": 0.0}


def _clocked_evaluate(*args: Any, **kwargs: Any) -> None:
    """The evaluation, timed; batches that raised or cleared an alert are also counted apart
    (writing an alert is the rule doing its job, not the price of watching)."""
    messages = args[2]
    before = len(messages)
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        evaluate_alerts(*args, **kwargs)
    finally:
        spent = time.thread_time() - cpu
        EVALUATION["wall"] += time.perf_counter() - wall
        EVALUATION["cpu"] += spent
        if len(messages) != before:
            EVALUATION["alerting_cpu"] += spent
            EVALUATION["alerting_batches"] += 1


def _timed(worker: Any, database: Database, profile: bool) -> tuple[float, float, dict[str, Any]]:
    """Run the worker until nothing is left; (wall s, CPU s, what was written)."""
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    while worker.run_once().claimed:
        pass
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
    return wall, cpu, written(database)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (else SQLite)")
    parser.add_argument("--profile", choices=list(MODES), help="cProfile one run of this mode")
    parser.add_argument(
        "--alerts", action="store_true", help="alert rules on against off, not the baseline"
    )
    args = parser.parse_args(argv)
    pushes = workload(args.pushes)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    if args.profile:
        run(args.profile, pushes, args.postgres, profile=True)
        return 0
    if args.alerts:
        return alerts_overhead(pushes, args.postgres, args.rounds, backend)
    ratios, cpu_ratios = [], []
    print(f"{backend}, {len(pushes)} pushes, batches of 100", flush=True)
    for round_ in range(1, args.rounds + 1):
        order = ["baseline", "ours"] if round_ % 2 else ["ours", "baseline"]
        results = {mode: run(mode, pushes, args.postgres) for mode in order}
        (b_wall, b_cpu, b_rows), (o_wall, o_cpu, o_rows) = results["baseline"], results["ours"]
        if b_rows != o_rows:
            different = [k for k in b_rows if b_rows[k] != o_rows[k]]
            print(f"the two workers wrote different rows: {', '.join(different)}")
            return 1
        assert o_rows["not done"] == 0
        messages = sum(len(v) for v in o_rows["outbox"].values())
        ratios.append(b_wall / o_wall)
        cpu_ratios.append(b_cpu / o_cpu)
        print(
            f"round {round_}: baseline {len(pushes) / b_wall:,.0f} pushes/s "
            f"({b_wall:.2f} s, CPU {b_cpu:.2f} s), ours {len(pushes) / o_wall:,.0f} pushes/s "
            f"({o_wall:.2f} s, CPU {o_cpu:.2f} s): {ratios[-1]:.2f}x wall, "
            f"{cpu_ratios[-1]:.2f}x CPU; {messages} outbox messages, same rows written",
            flush=True,
        )
    print(
        f"median over {args.rounds} rounds: {statistics.median(ratios):.2f}x wall, "
        f"{statistics.median(cpu_ratios):.2f}x CPU (baseline time / our time)"
    )
    return 0


def alerts_overhead(
    pushes: list[tuple[str, str]], postgres: str | None, rounds: int, backend: str
) -> int:
    """The worker with the alert rules against the worker without, same workload, same run."""
    overheads, cpu_overheads, shares = [], [], []
    batches = -(-len(pushes) // 100)
    print(f"{backend}, {len(pushes)} pushes, batches of 100, alert rules on vs off", flush=True)
    for round_ in range(1, rounds + 1):
        order = ["no-alerts", "ours"] if round_ % 2 else ["ours", "no-alerts"]
        results = {}
        for mode in order:
            results[mode] = run(mode, pushes, postgres)
            if mode == "ours":
                inside = dict(EVALUATION)
        (n_wall, n_cpu, n_rows), (o_wall, o_cpu, o_rows) = results["no-alerts"], results["ours"]
        # The evaluation's share, both clocks in the same run: the least noisy figure on a
        # shared machine (the two runs' totals differ by the load of the moment as well).
        shares.append(inside["cpu"] / (o_cpu - inside["cpu"]))
        raised = o_rows.pop("alerts")
        n_rows.pop("alerts")
        if n_rows != o_rows:
            different = [k for k in n_rows if n_rows[k] != o_rows[k]]
            print(f"the two runs wrote different rows: {', '.join(different)}")
            return 1
        overheads.append(o_wall / n_wall - 1)
        cpu_overheads.append(o_cpu / n_cpu - 1)
        print(
            f"round {round_}: rules off {1000 * n_wall / len(pushes):.3f} ms/push "
            f"(CPU {1000 * n_cpu / len(pushes):.3f}), rules on {1000 * o_wall / len(pushes):.3f} "
            f"ms/push (CPU {1000 * o_cpu / len(pushes):.3f}): {100 * overheads[-1]:+.1f} % wall, "
            f"{100 * cpu_overheads[-1]:+.1f} % CPU; evaluation inside the run "
            f"{1000 * inside['cpu'] / len(pushes):.3f} ms CPU/push = +{100 * shares[-1]:.1f} % "
            f"of the rest ({100 * (inside['cpu'] - inside['alerting_cpu']) / (o_cpu - inside['cpu']):.1f} "
            f"points of it spent "
            f"in the {batches - int(inside['alerting_batches'])} of {batches} batches that raised "
            f"nothing); "
            f"{raised} alert messages",
            flush=True,
        )
    wall, cpu = statistics.median(overheads), statistics.median(cpu_overheads)
    share = statistics.median(shares)
    met = share <= 0.10
    print(
        f"median over {rounds} rounds: {100 * wall:+.1f} % wall, {100 * cpu:+.1f} % CPU per push "
        f"(two runs); the evaluation's own CPU +{100 * share:.1f} % of the worker's other work "
        f"(same run); goal (at most +10 %): {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
