"""The daily summary from rollups against the straightforward version, and /calls over many
records: `python -m bench.daily_summary [--records N] [--lookup-records M] [--postgres URL]`.

What is timed, in the same run, on a generated day of N call records (default 1,000,000) in a
fresh SQLite file (and PostgreSQL with --postgres):
- ours: `day_figures` for the day and the day before (rollups) + the summary text + the chart PNG
  (matplotlib imported once before timing, as in the running bot);
- baseline: `figures_from_records` (every record of the day loaded into Python and counted there)
  + the same text and chart.
The ratio baseline / ours is printed. The rollups are built for the bench with one INSERT … SELECT
(the bot keeps them up to date record by record; tests/reports/test_figures.py checks that both
ways count the same).
Then M records (default 10,000,000) over 90 days are stored and `/calls`'s query (`calls_to`) is
timed for random callee numbers (median and p99 of 200 lookups).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.pg import drop_database, fresh_database
from bot.reports.chart import calls_per_hour_png
from bot.reports.figures import day_bounds, day_figures, figures_from_records
from bot.reports.lookups import calls_to
from bot.reports.render import summary_text
from storage.db import Database
from storage.migrate import upgrade

ZONE = ZoneInfo("Asia/Kolkata")
DAY = date(2026, 11, 30)
GROUPS = [f"Team-{i}" for i in range(8)]
AGENTS = [f"agent_{i:03d}" for i in range(120)]
COLUMNS = (
    "call_session_id, called, called_digits, agent_group_name, agent_name, call_duration, "
    "answered, call_type, hangup_reason, hanging_direction, cost, call_start_at, received_at, "
    "labels, extra"
)


def _rows(count: int, start: datetime, span_s: int, seed: int, prefix: str):  # noqa: ANN202
    rng = random.Random(seed)
    for i in range(count):
        at = start + timedelta(seconds=rng.randrange(span_s))
        answered = rng.random() < 0.55
        group = rng.randrange(len(GROUPS))
        number = f"91{rng.randrange(7_000_000_000, 9_999_999_999)}"
        stamp = at.strftime("%Y-%m-%d %H:%M:%S.000000")
        yield (
            f"{prefix}{i:09d}",
            number,
            number,
            GROUPS[group],
            AGENTS[group * 15 + rng.randrange(15)],
            rng.randrange(5, 400) if answered else 0,
            answered,
            rng.choice((1, 3)),
            rng.choice((1, 3)) if answered else rng.choice((0, 4, 5, 6, 7)),
            rng.choice((0, 1, 3)),
            round(rng.random() * 0.05, 4) if rng.random() < 0.8 else None,
            stamp,
            stamp,
            "[]",
            "{}",
        )


def _fill_sqlite(path: Path, rows) -> None:  # noqa: ANN001
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    marks = ", ".join("?" * len(COLUMNS.split(",")))
    conn.executemany(f"INSERT INTO call_record ({COLUMNS}) VALUES ({marks})", rows)
    conn.commit()
    conn.close()


def _fill_postgres(url: str, rows) -> None:  # noqa: ANN001
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor().copy(f"COPY call_record ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


ROLLUP_SQL = {
    # 15-minute buckets, as bot.reports.rollups.bucket_of computes them.
    "sqlite": "strftime('%Y-%m-%d %H:', call_start_at) || printf('%02d', "
    "(CAST(strftime('%M', call_start_at) AS INTEGER) / 15) * 15) || '\\:00.000000'",
    "postgresql": "date_trunc('hour', call_start_at) + "
    "floor(extract(minute from call_start_at) / 15) * interval '15 minutes'",
}


def _build_rollups(db: Database) -> None:
    bucket = ROLLUP_SQL[db.engine.dialect.name]
    with db.engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO call_rollup (bucket_start, group_name, hangup_reason, "
                f"calls, answered, talk_seconds, transfers, failures, cost, costed) "
                f"SELECT {bucket}, COALESCE(agent_group_name, ''), "
                f"COALESCE(hangup_reason, -1), COUNT(*), SUM(CASE WHEN answered THEN 1 ELSE 0 END), "
                f"SUM(call_duration), "
                f"SUM(CASE WHEN hangup_reason = 3 OR (call_type = 1 AND answered AND "
                f"agent_name IS NOT NULL AND agent_name <> '') THEN 1 ELSE 0 END), "
                f"SUM(CASE WHEN hangup_reason IN (4, 5, 6, 7) THEN 1 ELSE 0 END), "
                f"COALESCE(SUM(cost), 0), COUNT(cost) FROM call_record "
                f"GROUP BY 1, 2, 3"
            )
        )
        conn.execute(
            text(
                f"INSERT INTO agent_rollup (bucket_start, group_name, agent_name, calls, answered, "
                f"talk_seconds) SELECT {bucket}, COALESCE(agent_group_name, ''), agent_name, "
                f"COUNT(*), SUM(CASE WHEN answered THEN 1 ELSE 0 END), SUM(call_duration) "
                f"FROM call_record WHERE agent_name IS NOT NULL AND agent_name <> '' "
                f"GROUP BY 1, 2, 3"
            )
        )


def _summary(db: Database, counter) -> float:  # noqa: ANN001
    started = time.perf_counter()
    with db.session() as s:
        figures = counter(s, GROUPS, DAY, ZONE)
        previous = counter(s, GROUPS, DAY - timedelta(days=1), ZONE)
    summary_text(figures, previous, zone_name=ZONE.key, groups=GROUPS)
    calls_per_hour_png(DAY, figures.hours, "Calls per hour")
    elapsed = time.perf_counter() - started
    assert figures.calls > 0
    return elapsed


def _best(runs: int, fn) -> float:  # noqa: ANN001
    return min(fn() for _ in range(runs))


def bench_summary(url: str, records: int, runs: int) -> tuple[float, float]:
    start, _ = day_bounds(DAY, ZONE)
    db = Database(url)
    try:
        rows = _rows(records, start, 86_400, seed=1, prefix="S")
        if db.engine.dialect.name == "sqlite":
            _fill_sqlite(Path(db.engine.url.database), rows)
        else:
            _fill_postgres(url, rows)
        _build_rollups(db)
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        # Same answer both ways before timing anything.
        with db.session() as s:
            fast = day_figures(s, GROUPS, DAY, ZONE)
            slow = figures_from_records(s, GROUPS, DAY, ZONE)
        assert (fast.calls, fast.answered, fast.talk_seconds) == (
            slow.calls,
            slow.answered,
            slow.talk_seconds,
        ), "rollups and recount disagree"
        ours = _best(runs, lambda: _summary(db, day_figures))
        baseline = _best(1, lambda: _summary(db, figures_from_records))
        return ours, baseline
    finally:
        db.dispose()


def bench_calls(url: str, records: int) -> tuple[float, float]:
    db = Database(url)
    try:
        start = datetime(2026, 9, 1, tzinfo=UTC)
        rows = _rows(records, start, 90 * 86_400, seed=2, prefix="L")
        if db.engine.dialect.name == "sqlite":
            _fill_sqlite(Path(db.engine.url.database), rows)
        else:
            _fill_postgres(url, rows)
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE call_record"))
        rng = random.Random(3)
        sample = [row[2] for row in _rows(2_000, start, 90 * 86_400, seed=2, prefix="L")]
        numbers = [rng.choice(sample) for _ in range(200)]
        times = []
        with db.session() as s:
            for number in numbers:
                started = time.perf_counter()
                found = calls_to(s, number, GROUPS)
                times.append(time.perf_counter() - started)
                assert found, number
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.99) - 1]
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--lookup-records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", help="also run on this PostgreSQL server (admin URL)")
    args = parser.parse_args(argv)
    import matplotlib.figure  # noqa: F401  (imported once, as the running bot has it)

    calls_per_hour_png(DAY, [[1, 1]] * 24, "warm-up")
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(("sqlite", lambda n: f"sqlite:///{Path(tmp) / f'{n}.db'}", None))
        for backend, make, _ in targets + (
            [("postgresql", None, args.postgres)] if args.postgres else []
        ):
            made: list[str] = []

            def new_url(label: str, backend=backend, make=make, made=made) -> str:  # noqa: ANN001
                if backend == "sqlite":
                    url = make(label)
                else:
                    url, name = fresh_database(args.postgres)
                    made.append(name)
                upgrade(url)
                return url

            try:
                ours, baseline = bench_summary(new_url("summary"), args.records, args.runs)
                print(
                    f"{backend}: summary of a day of {args.records:,} records: ours "
                    f"{ours * 1000:.0f} ms (rollups + text + chart), baseline "
                    f"{baseline * 1000:.0f} ms (all rows loaded) → {baseline / ours:.1f}× faster"
                )
                if args.lookup_records:
                    started = time.perf_counter()
                    url = new_url("lookup")
                    median, p99 = bench_calls(url, args.lookup_records)
                    print(
                        f"{backend}: /calls over {args.lookup_records:,} records: median "
                        f"{median * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms "
                        f"(loading took {time.perf_counter() - started:.0f} s)"
                    )
            finally:
                for name in made:
                    drop_database(args.postgres, name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
