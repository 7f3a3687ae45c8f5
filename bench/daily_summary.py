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
import math
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
from bot.reports.lookups import calls_to, calls_to_statement
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


PREVIOUS_DAY_SQL = {
    "sqlite": "strftime('%Y-%m-%d %H:%M:%S', bucket_start, '-1 day') || '.000000'",
    "postgresql": "bucket_start - interval '1 day'",
}


def _copy_rollups_to_previous_day(db: Database) -> None:
    """The day before gets the same rollups, so `day_figures` adds up two full days as in the
    bot (the baseline's day before has no records: that only flatters the baseline)."""
    shifted = PREVIOUS_DAY_SQL[db.engine.dialect.name]
    with db.engine.begin() as conn:
        for table, columns in (
            (
                "call_rollup",
                "group_name, hangup_reason, calls, answered, talk_seconds, transfers, failures, "
                "cost, costed",
            ),
            ("agent_rollup", "group_name, agent_name, calls, answered, talk_seconds"),
        ):
            conn.execute(
                text(
                    f"INSERT INTO {table} (bucket_start, {columns}) "
                    f"SELECT {shifted}, {columns} FROM {table}"
                )
            )


def _summary(db: Database, counter) -> tuple[float, float, float, float]:  # noqa: ANN001
    """One summary; returns the seconds of (all of it, the two days' figures, text, chart)."""
    started = time.perf_counter()
    with db.session() as s:
        figures = counter(s, GROUPS, DAY, ZONE)
        previous = counter(s, GROUPS, DAY - timedelta(days=1), ZONE)
    counted = time.perf_counter()
    summary_text(figures, previous, zone_name=ZONE.key, groups=GROUPS)
    written = time.perf_counter()
    calls_per_hour_png(DAY, figures.hours, "Calls per hour")
    ended = time.perf_counter()
    assert figures.calls > 0
    return ended - started, counted - started, written - counted, ended - written


def bench_summary(url: str, records: int, runs: int) -> tuple[list[tuple[float, ...]], float]:
    """`runs` summaries from the rollups (each: total, figures, text, chart) and one baseline."""
    start, _ = day_bounds(DAY, ZONE)
    db = Database(url)
    try:
        rows = _rows(records, start, 86_400, seed=1, prefix="S")
        if db.engine.dialect.name == "sqlite":
            _fill_sqlite(Path(db.engine.url.database), rows)
        else:
            _fill_postgres(url, rows)
        _build_rollups(db)
        _copy_rollups_to_previous_day(db)
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
        ours = [_summary(db, day_figures) for _ in range(runs)]
        baseline = _summary(db, figures_from_records)[0]
        return ours, baseline
    finally:
        db.dispose()


# /calls: generated by the database itself (a recursive CTE on SQLite, generate_series on
# PostgreSQL), in start-time order as the bot stores them. Callee k of a pool of `pool` numbers
# (about 4 calls each, spread over the 90 days) is record i with (i * step) % pool == k.
LOOKUP_SQL = {
    "sqlite": {
        "rows": "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :last) "
        "INSERT INTO call_record ({columns}) SELECT {values} FROM "
        "(SELECT i, {digits} AS d, (i * 37) % 100 < 55 AS ok, "
        "datetime(:t0 + i * :span / :count, 'unixepoch') || '.000000' AS at "
        "FROM n)",
        "session": "printf('L%09d', i)",
        "agent": "printf('agent_%03d', (i % 8) * 15 + (i / 8) % 15)",
    },
    "postgresql": {
        "rows": "INSERT INTO call_record ({columns}) SELECT {values} FROM "
        "(SELECT i, {digits} AS d, (i * 37) % 100 < 55 AS ok, to_timestamp(:t0 + i * :span / :count) AS at "
        "FROM generate_series(0::bigint, :last) AS i) AS g",
        "session": "'L' || lpad(i::text, 9, '0')",
        "agent": "'agent_' || lpad(((i % 8) * 15 + (i / 8) % 15)::text, 3, '0')",
    },
}
LOOKUP_VALUES = (
    "{session}, d, d, 'Team-' || (i % 8), {agent}, "
    "CASE WHEN ok THEN 5 + (i * 13) % 395 ELSE 0 END, ok, 1 + 2 * (i % 2), "
    "CASE WHEN ok THEN 1 + 2 * ((i / 2) % 2) WHEN (i / 3) % 5 = 0 THEN 0 ELSE 3 + (i / 3) % 5 END, "
    "CASE WHEN i % 3 = 2 THEN 3 ELSE i % 3 END, "
    "CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 500) / 10000.0 END, at, at, '[]', '{{}}'"
)
SECONDARY_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
    "AND tbl_name = 'call_record' AND sql IS NOT NULL",
    "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'call_record' "
    "AND indexname LIKE 'ix\\_%'",
}
DIGITS_INDEX = "ix_call_record_called_digits"
# One callee (a test number, a number the team keeps calling back) in every 1009th record, so
# ~10,000 calls over 10M records: /calls must read only its newest 20 from the index.
HOT_NUMBER = "919000000000"
LOOKUP_DIGITS = (
    f"CASE WHEN i % 1009 = 0 THEN '{HOT_NUMBER}' "
    "ELSE '91' || (7000000000 + (i * :step) % :pool) END"
)


def _load_lookup_records(db: Database, count: int, start: datetime, days: int) -> tuple[int, int]:
    """`count` records over `days` days; returns (pool, step). Secondary indexes are dropped
    for the load and created again after (one sort each instead of 10M B-tree inserts)."""
    dialect = db.engine.dialect.name
    pool = max(count // 4, 2)
    if pool % 1009 == 0:  # else a number's every record could be the hot number's
        pool += 1
    step = 1_000_003
    while math.gcd(step, pool) != 1:
        step += 2
    sql = LOOKUP_SQL[dialect]
    insert = sql["rows"].format(
        columns=COLUMNS, values=LOOKUP_VALUES.format(**sql), digits=LOOKUP_DIGITS
    )
    params = {
        "last": count - 1,
        "step": step,
        "pool": pool,
        "t0": int(start.timestamp()),
        "span": days * 86_400,
        "count": count,
    }
    with db.engine.begin() as conn:
        indexes = list(conn.execute(text(SECONDARY_INDEXES[dialect])))
        for name, _ in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
    if dialect == "sqlite":
        db.engine.dispose()  # the journal mode changes only with no other connection open
        conn = sqlite3.connect(db.engine.url.database)
        # No journal for the load (a WAL would take every page twice), WAL again after it.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MB for the index sorts
        conn.execute(insert, params)
        for _, create in indexes:
            conn.execute(create)
        conn.commit()
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        conn.close()
    else:
        with db.engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            conn.execute(text(insert), params)
            for _, create in indexes:
                conn.execute(text(create))
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE call_record"))  # what autovacuum does after a load
    return pool, step


def _plan(db: Database, stmt) -> str:  # noqa: ANN001
    sql = str(stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(explain + sql).all()
    return "\n".join(str(row[-1]) for row in rows)


def _lookup_times(db: Database, numbers: list[str]) -> list[float]:
    times = []
    with db.session() as s:
        for number in numbers:
            started = time.perf_counter()
            found = calls_to(s, number, GROUPS)
            times.append(time.perf_counter() - started)
            assert found, number
    return sorted(times)


def bench_calls(url: str, records: int, lookups: int, baseline_lookups: int) -> dict:
    """`/calls` over `records` stored records: ours with the index, then the same query after
    dropping it (the baseline: what the database does without it)."""
    db = Database(url)
    result: dict = {}
    try:
        started = time.perf_counter()
        pool, _ = _load_lookup_records(db, records, datetime(2026, 9, 1, tzinfo=UTC), 90)
        result["load_s"] = time.perf_counter() - started
        with db.session() as s:
            stored = s.exec(text("SELECT COUNT(*) FROM call_record")).one()[0]  # type: ignore[call-overload]
        assert stored == records, (stored, records)
        rng = random.Random(3)
        numbers = [f"91{7_000_000_000 + rng.randrange(pool)}" for _ in range(lookups)]
        plan = result["plan"] = _plan(db, calls_to_statement(numbers[0], GROUPS))
        assert DIGITS_INDEX in plan, f"/calls does not use {DIGITS_INDEX}:\n{plan}"
        with db.session() as s:
            result["hot_calls"] = s.exec(  # type: ignore[call-overload]
                text("SELECT COUNT(*) FROM call_record WHERE called_digits = :d"),
                params={"d": HOT_NUMBER},
            ).one()[0]
        hot = result["hot_plan"] = _plan(db, calls_to_statement(HOT_NUMBER, GROUPS))
        assert DIGITS_INDEX in hot, f"/calls {HOT_NUMBER} does not use {DIGITS_INDEX}:\n{hot}"
        if result["hot_calls"] >= 1_000:  # a few calls may as well be sorted
            sorts = "TEMP B-TREE" in hot or "Sort" in hot
            assert not sorts, f"/calls sorts {HOT_NUMBER}'s calls:\n{hot}"
        _lookup_times(db, numbers[:10])  # warm-up
        result["ours"] = _lookup_times(db, numbers)
        result["hot"] = _lookup_times(db, [HOT_NUMBER] * 20)
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {DIGITS_INDEX}"))
        # New connections: a cached EXPLAIN QUERY PLAN statement on SQLite would not notice
        # that the index is gone (it never reads the schema cookie) and show the old plan.
        db.engine.dispose()
        result["baseline_plan"] = _plan(db, calls_to_statement(numbers[0], GROUPS))
        result["baseline"] = _lookup_times(db, numbers[:baseline_lookups])
        return result
    finally:
        db.dispose()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--lookup-records", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=200, help="/calls lookups timed")
    parser.add_argument(
        "--baseline-lookups", type=int, default=3, help="/calls lookups without the index"
    )
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
                if args.records:
                    ours, baseline = bench_summary(new_url("summary"), args.records, args.runs)
                    total, figures, words, chart = (
                        statistics.median(run[i] for run in ours) for i in range(4)
                    )
                    best = min(run[0] for run in ours)
                    print(
                        f"{backend}: summary of a day of {args.records:,} records "
                        f"({args.runs} runs): ours median {total * 1000:.0f} ms, best "
                        f"{best * 1000:.0f} ms (median figures of both days "
                        f"{figures * 1000:.1f} ms, text {words * 1000:.1f} ms, chart "
                        f"{chart * 1000:.1f} ms); baseline {baseline * 1000:,.0f} ms (all rows "
                        f"loaded) → {baseline / total:.1f}× faster (median); goal 500 ms "
                        f"{'met' if total < 0.5 else 'missed'}"
                    )
                if args.lookup_records:
                    r = bench_calls(
                        new_url("lookup"), args.lookup_records, args.lookups, args.baseline_lookups
                    )
                    ours_median = statistics.median(r["ours"])
                    base_median = statistics.median(r["baseline"])
                    p99 = r["ours"][max(int(len(r["ours"]) * 0.99) - 1, 0)]
                    print(f"{backend}: /calls plan:\n    " + r["plan"].replace("\n", "\n    "))
                    print(
                        f"{backend}: /calls {HOT_NUMBER} plan:\n    "
                        + r["hot_plan"].replace("\n", "\n    ")
                    )
                    print(
                        f"{backend}: /calls plan without {DIGITS_INDEX}:\n    "
                        + r["baseline_plan"].replace("\n", "\n    ")
                    )
                    print(
                        f"{backend}: /calls over {args.lookup_records:,} records (loaded in "
                        f"{r['load_s']:.0f} s): ours median {_ms(ours_median)}, p99 {_ms(p99)}, "
                        f"max {_ms(r['ours'][-1])} ({len(r['ours'])} lookups); without the "
                        f"index median {_ms(base_median)} ({len(r['baseline'])} lookups) → "
                        f"{base_median / ours_median:,.0f}× faster; {HOT_NUMBER} "
                        f"({r['hot_calls']:,} calls) median {_ms(statistics.median(r['hot']))}"
                    )
            finally:
                for name in made:
                    drop_database(args.postgres, name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
