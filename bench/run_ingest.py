"""Push ingest of the real `ccbot run`, beside a bare endpoint: `python -m bench.run_ingest`.

What a deployment runs, not the listener alone (bench/push_ingest.py): the whole `ccbot run`
process tree (listener, relay worker, sender, PTB polling a fake Bot API, scheduler), started with
its command line on a fresh database in which one chat is bound to the pushes' agent group with
`/notify calls each` (so every call record becomes one outbox message). wrk (Debian package
`wrk`: `apt-get update && apt-get install -y wrk`) posts call-record pushes, each with its own
callSessionId, from `-t1 -c16` keep-alive connections:

- **bare**: a plain ASGI endpoint that reads the body and answers 200, served by uvicorn on
  uvloop + httptools as the listener is (the most a Python endpoint on this stack can do);
- **floor** (`--floor`): the least any endpoint that stores a push before answering can do on this
  stack: the same plain ASGI endpoint, on the same server, that only appends the raw body to a
  SQLite file (WAL, `synchronous=FULL`, group commits in one writer thread, as the listener commits)
  and answers 200 once it is committed. No token check, no JSON, no relay: what it misses of the bare
  endpoint's rate is the price of a durable store alone, before ccbot does anything;
- **ccbot**: the real `ccbot run` on SQLite (and, with `--postgres URL`, on a fresh PostgreSQL
  database).

Each round measures them in turn. For ccbot it then waits until the relay has written one outbox
row for every acknowledged push (the inbox drained) and reports the end-to-end rate: pushes answered
200 per second of (wrk's start → the last of their outbox rows written). Every push answered 200
must have become a call record ("every acknowledged push relayed"). It also reports the CPU time
(user + system, from /proc) each of ccbot's processes spent per acknowledged push, from the warm-up
to the drain: where the time goes, whatever else the machine was running. Exit 1 when the goal (>= 0.5x
bare, p99 <= 15 ms, nothing lost) is missed in the median of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.push_ingest import Result, _write_lua, _wrk

TOKEN = "bench-run-ingest-push-token-0123456789"
GROUP_NAME = "TAOTAO"  # the documented sample's agentGroupName (bench/push_ingest.py's body)
CHAT = -1001999000001


@dataclass
class Round:
    bare: Result
    ccbot: Result
    relayed: int  # call records written
    outbox: int
    end_to_end_per_s: float
    drain_s: float  # after wrk ended, until the last outbox row
    lost: int
    cpu_us: dict[str, float]  # CPU time per acknowledged push, by process (see tree_cpu)
    floor: Result | None = None


# ---- the bare endpoint (a child process) -------------------------------------------------------


async def _bare_app(scope, receive, send) -> None:  # noqa: ANN001 (plain ASGI)
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"status":"stored"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"19")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _serve(app, port: int) -> None:  # noqa: ANN001 (plain ASGI)
    """Serve `app` as the listener is served, say "ready", stop on SIGTERM."""
    import signal

    from bot.http_server import start_asgi_server

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = await start_asgi_server(app, port=port)
    print("ready", flush=True)
    await stop.wait()
    await server.stop()


class _FloorApp:
    """Plain ASGI: append each body to SQLite, answer 200 once it is committed. One writer thread
    and connection, every body that arrived during a commit in the next one (group commit)."""

    def __init__(self, path: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1)
        self._pending: list[tuple[str, asyncio.Future[None]]] = []
        self._idle: asyncio.Future[None] | None = None
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("CREATE TABLE inbox (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")

    def _commit(self, bodies: list[str]) -> None:
        assert self._conn is not None
        self._conn.execute("BEGIN IMMEDIATE")
        rows = ", ".join(["(?)"] * len(bodies))
        self._conn.execute(f"INSERT INTO inbox (body) VALUES {rows}", bodies)
        self._conn.execute("COMMIT")

    async def writer(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._open)
        while True:
            if not self._pending:
                self._idle = loop.create_future()
                await self._idle
                continue
            batch, self._pending = self._pending[:500], self._pending[500:]
            await loop.run_in_executor(self._thread, self._commit, [body for body, _ in batch])
            for _, done in batch:
                done.set_result(None)

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 (plain ASGI)
        if scope["type"] == "lifespan":
            await _bare_app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        done = asyncio.get_running_loop().create_future()
        self._pending.append((b"".join(chunks).decode(), done))
        if self._idle is not None and not self._idle.done():
            self._idle.set_result(None)
        await done
        body = b'{"status":"stored"}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"19")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _serve_floor(port: int, path: Path) -> None:
    app = _FloorApp(path)
    writer = asyncio.create_task(app.writer())
    try:
        await _serve(app, port)
    finally:
        writer.cancel()


def run_floor(args: argparse.Namespace, tmp: Path, round_no: int) -> Result:
    """The floor endpoint, as run_bare runs the bare one, on a fresh SQLite file in the same
    folder as ccbot's."""
    db_dir = Path(args.db_dir) if args.db_dir else tmp
    path = db_dir / f"floor-{round_no}-{os.getpid()}.db"
    try:
        return run_bare(args, tmp, round_no, serve=["--serve-floor", str(path)], name="floor")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_bare(
    args: argparse.Namespace,
    tmp: Path,
    round_no: int,
    *,
    serve: list[str] | None = None,
    name: str = "bare",
) -> Result:
    from tests.fakes.processes import free_port

    port = free_port()
    command = [sys.executable, "-m", "bench.run_ingest", "--serve-bare", str(port), *(serve or [])]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {name} endpoint did not start")
        url = f"http://127.0.0.1:{port}/push/{TOKEN}"
        lua = tmp / f"{name}-{round_no}.lua"
        _write_lua(lua, f"{name[0]}w{round_no}")
        _wrk(url, lua, args.warmup, args.connections, 1)
        _write_lua(lua, f"{name[0]}{round_no}")
        return _wrk(url, lua, args.duration, args.connections, 1)
    finally:
        server.terminate()
        server.wait(timeout=30)


def fsync_p50_ms(directory: Path, writes: int = 30) -> float:
    """How long this disk takes to make a small write durable now: what bounds a durable
    commit, and what other jobs on a shared machine change from one minute to the next."""
    path = directory / f"fsync-probe-{os.getpid()}"
    times: list[float] = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(writes):
            os.write(fd, b"x" * 512)
            started = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times)


# ---- the real ccbot run --------------------------------------------------------------------------

ROLES = {"ccbot-push": "listener", "ccbot-relay": "relay"}


def tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system, all threads) of `root` ("main") and its descendants: the push
    listener, the relay, and the rest (the fork server), read from /proc. Per push, this says
    where the time goes whatever else the machine was running."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = (comm, (int(fields[11]) + int(fields[12])) / tick)
    totals: dict[str, float] = {"listener": 0.0, "relay": 0.0, "main": 0.0, "other": 0.0}
    for pid, (comm, seconds) in cpu.items():
        ancestor = pid
        while ancestor not in (root, 0, 1) and ancestor in parent:
            ancestor = parent[ancestor]
        if ancestor == root:
            role = "main" if pid == root else ROLES.get(comm, "other")
            totals[role] += seconds
    return totals


def _seed(url: str) -> None:
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import BoundChat, GroupRoute

    upgrade(url)
    database = Database(url)
    try:
        with database.session() as s:
            s.add(
                BoundChat(
                    chat_id=CHAT, title="Bench team", chat_type="supergroup", notify_calls="each"
                )
            )
            s.add(GroupRoute(voice_group_id=7001, chat_id=CHAT, group_name=GROUP_NAME))
    finally:
        database.dispose()


def _counts(url: str) -> tuple[int, int, int, int]:
    """(pushes not yet done, failed pushes, call records, outbox rows)."""
    from sqlalchemy import create_engine, text

    from storage.db import normalise_url

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            pending = conn.execute(
                text("SELECT count(*) FROM push_inbox WHERE status = 'pending'")
            ).scalar_one()
            failed = conn.execute(
                text("SELECT count(*) FROM push_inbox WHERE status = 'failed'")
            ).scalar_one()
            calls = conn.execute(text("SELECT count(*) FROM call_record")).scalar_one()
            outbox = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    finally:
        engine.dispose()
    return int(pending), int(failed), int(calls), int(outbox)


async def run_ccbot(
    args: argparse.Namespace,
    tmp: Path,
    round_no: int,
    url: str,
    telegram,  # noqa: ANN001
    tree: str | None = None,
) -> tuple[Result, int, int, float, float, int, dict[str, float]]:
    from tests.fakes.processes import free_port, run_env, start_ccbot, wait_until_healthy

    _seed(url)
    port = free_port()
    extra = {"PYTHONPATH": tree} if tree else {}
    env = run_env(
        tmp, telegram, database_url=url, port=port, push_token=TOKEN, LOG_LEVEL="WARNING", **extra
    )
    log = (Path(args.log_dir or tmp) / f"ccbot-{round_no}.log").open("wb")
    proc = await start_ccbot("run", env=env, cwd=tmp, stdout=log, stderr=log)
    try:
        await wait_until_healthy(proc, port, timeout=60, interval=0.2)
        push_url = f"http://127.0.0.1:{port}/push/{TOKEN}"
        lua = tmp / f"ccbot-{round_no}.lua"
        _write_lua(lua, f"cw{round_no}")
        started = time.perf_counter()
        cpu_before = tree_cpu(proc.pid)
        warm = await asyncio.to_thread(_wrk, push_url, lua, args.warmup, args.connections, 1)
        _write_lua(lua, f"c{round_no}")
        spy = None
        if args.py_spy:  # a flame graph of the whole process tree during the measured run
            spy = await asyncio.create_subprocess_exec(
                args.py_spy, "record", "--subprocesses", "-r", "200", "-d", str(args.duration),
                "-f", "raw", "-o", f"{args.spy_out}-{round_no}.txt", "-p", str(proc.pid),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
        result = await asyncio.to_thread(_wrk, push_url, lua, args.duration, args.connections, 1)
        if spy is not None:
            await asyncio.wait_for(spy.wait(), 60)
        ended = time.perf_counter()
        result.acknowledged = warm.requests - warm.non_2xx + result.requests - result.non_2xx
        # Until every acknowledged push has its outbox row (the relay caught up), or a limit.
        deadline = ended + args.drain_limit
        while True:
            pending, failed, calls, outbox = await asyncio.to_thread(_counts, url)
            if (pending == 0 and outbox >= result.acknowledged) or time.perf_counter() > deadline:
                break
            if proc.returncode is not None:
                raise RuntimeError(f"ccbot exited with {proc.returncode}; see {log.name}")
            await asyncio.sleep(0.05)
        drained = time.perf_counter()
        cpu_after = tree_cpu(proc.pid)
        cpu_us = {
            role: (cpu_after[role] - cpu_before[role]) * 1e6 / max(result.acknowledged, 1)
            for role in cpu_after
        }
        lost = max(0, result.acknowledged - calls) + failed
        end_to_end = result.acknowledged / (drained - started)
        return result, calls, outbox, end_to_end, drained - ended, lost, cpu_us
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
        log.close()


async def main_async(args: argparse.Namespace, backends: list[tuple[str, str | None]]) -> bool:
    from bench.pg import drop_database, fresh_database
    from tests.fakes.telegram import FakeTelegram

    telegram = FakeTelegram(flood_limits=True).start()
    met = True
    try:
        with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp_dir:
            tmp = Path(tmp_dir)
            targets = [("ccbot", None)]
            if args.baseline_tree:
                targets.append(("baseline", args.baseline_tree))
            for backend, admin in backends:
                rounds: dict[str, list[Round]] = {name: [] for name, _ in targets}
                for round_no in range(1, args.rounds + 1):
                    fsync_ms = fsync_p50_ms(Path(args.db_dir) if args.db_dir else tmp)
                    print(f"{backend} round {round_no}: fsync p50 {fsync_ms:.2f} ms", flush=True)
                    bare = await asyncio.to_thread(run_bare, args, tmp, round_no)
                    floor = None
                    if args.floor:
                        floor = await asyncio.to_thread(run_floor, args, tmp, round_no)
                        print(
                            f"{backend} round {round_no}: bare {bare.requests_per_s:,.0f}/s | "
                            f"floor (a durable SQLite store, nothing else) "
                            f"{floor.requests_per_s:,.0f}/s "
                            f"({floor.requests_per_s / bare.requests_per_s:.2f}x) p50 "
                            f"{floor.p50_ms:.2f} ms p99 {floor.p99_ms:.2f} ms",
                            flush=True,
                        )
                    for target, tree in targets:
                        if admin is None:
                            db_dir = Path(args.db_dir) if args.db_dir else tmp
                            url = f"sqlite:///{db_dir / f'{target}-{round_no}-{os.getpid()}.db'}"
                            name = None
                        else:
                            url, name = fresh_database(admin)
                        try:
                            ccbot, calls, outbox, e2e, drain, lost, cpu = await run_ccbot(
                                args, tmp, round_no, url, telegram, tree
                            )
                        finally:
                            if name is not None and admin is not None:
                                drop_database(admin, name)
                        rounds[target].append(
                            Round(bare, ccbot, calls, outbox, e2e, drain, lost, cpu, floor)
                        )
                        print(
                            f"{backend} round {round_no}: bare {bare.requests_per_s:,.0f}/s "
                            f"p99 {bare.p99_ms:.2f} ms | {target} {ccbot.requests_per_s:,.0f}/s "
                            f"({ccbot.requests_per_s / bare.requests_per_s:.2f}x) p50 "
                            f"{ccbot.p50_ms:.2f} ms p99 {ccbot.p99_ms:.2f} ms non-2xx "
                            f"{ccbot.non_2xx} | acknowledged {ccbot.acknowledged:,}, relayed "
                            f"{calls:,}, outbox {outbox:,}, drained {drain:.1f} s after wrk, "
                            f"end to end {e2e:,.0f} pushes/s"
                            + (f"  LOST {lost}" if lost else "")
                            + " | CPU per push: "
                            + ", ".join(f"{role} {us:,.0f} µs" for role, us in cpu.items()),
                            flush=True,
                        )
                for target, runs in rounds.items():
                    ratio = statistics.median(
                        r.ccbot.requests_per_s / r.bare.requests_per_s for r in runs
                    )
                    p99 = statistics.median(r.ccbot.p99_ms for r in runs)
                    e2e = statistics.median(r.end_to_end_per_s for r in runs)
                    lost = sum(r.lost for r in runs)
                    cpu = {
                        role: statistics.median(r.cpu_us[role] for r in runs)
                        for role in runs[0].cpu_us
                    }
                    ok = ratio >= 0.5 and p99 <= 15 and lost == 0
                    floors = [
                        r.floor.requests_per_s / r.bare.requests_per_s for r in runs if r.floor
                    ]
                    if floors and target == "ccbot":
                        print(
                            f"{backend} floor: median of {len(floors)} rounds: "
                            f"{statistics.median(floors):.2f}x bare (a durable store and nothing "
                            "else)",
                            flush=True,
                        )
                    if target == "ccbot":
                        met = met and ok
                    print(
                        f"{backend} {target}: median of {len(runs)} rounds: {ratio:.2f}x bare, "
                        f"p99 {p99:.2f} ms, end to end {e2e:,.0f} pushes/s, lost {lost} -> "
                        f"{'met' if ok else 'MISSED'} (goal >= 0.50x, p99 <= 15 ms, none lost); "
                        "CPU per push "
                        + ", ".join(f"{role} {us:,.0f} µs" for role, us in cpu.items()),
                        flush=True,
                    )
    finally:
        telegram.stop()
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--drain-limit", type=float, default=120, help="seconds to wait for the relay after wrk"
    )
    parser.add_argument(
        "--postgres",
        default=None,
        help="also measure on PostgreSQL: an existing database to create the bench's next to",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--py-spy", default=None, help="path of py-spy: profile ccbot's processes")
    parser.add_argument("--spy-out", default="run-ingest-profile", help="flame graph file prefix")
    parser.add_argument("--log-dir", default=None, help="keep ccbot's logs here")
    parser.add_argument(
        "--db-dir",
        default=None,
        help="where the SQLite files go (default: a temporary directory; /dev/shm takes the "
        "disk's fsync out of the picture)",
    )
    parser.add_argument(
        "--baseline-tree",
        default=None,
        help="also run the ccbot of this source tree (e.g. a checkout of main) in each round",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure the floor: an endpoint that only stores each body durably in SQLite",
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        import uvloop

        if args.serve_floor:
            uvloop.run(_serve_floor(args.serve_bare, Path(args.serve_floor)))
        else:
            uvloop.run(_serve(_bare_app, args.serve_bare))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2
    backends: list[tuple[str, str | None]] = [] if args.no_sqlite else [("sqlite", None)]
    if args.postgres:
        backends.append(("postgresql", args.postgres))
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    met = asyncio.run(main_async(args, backends))
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
