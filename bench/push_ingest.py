"""Push ingest: pushes per second and p99 latency at 16 connections, `python -m bench.push_ingest`.

wrk (Debian package `wrk`) posts call-record pushes, each with its own callSessionId, to:

- **bare**: a Starlette endpoint that only reads the body and answers 200 (the baseline);
- **sqlite-full** / **sqlite-normal**: the real listener (bot/listener.py) storing every push in
  `push_inbox` on a fresh SQLite file, group commits with `synchronous=FULL` (what the bot uses:
  an acknowledged push survives a power cut) and with `NORMAL` (survives kill -9 only);
- **sqlite-full-single**: the same with one push per transaction, to show what the group commit
  buys;
- **postgresql**: the real listener on a fresh PostgreSQL database (`--postgres URL`; skipped
  when it does not answer).

Every server is a child process serving with bot/http_server.py on uvloop + httptools, exactly as
`ccbot run` does. Targets are run in turns, `--rounds` times, and the median of each is reported
with its ratio to the bare endpoint measured in the same run. After each listener run the stored
rows are counted: every push answered 200 must be in the table. Exit 1 when the goal (SQLite FULL:
at least 0.5x the bare throughput and p99 under 15 ms) is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

TOKEN = "bench-push-token-0123456789abcdef"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# The documented sample (platform-api.md §4.1), with callSessionId left for wrk to fill in.
_RECORD = {
    "agentGroupName": "TAOTAO",
    "agentName": "0705C049_053",
    "answerTime": "2023-11-17 13:42:33",
    "callDuration": 15,
    "callEndTime": "2023-11-17 13:42:48",
    "callSessionId": "@@ID@@",
    "callId": "23111714122312000001",
    "callStartTime": "2023-11-17 13:42:30",
    "callType": 3,
    "called": "918613237978737",
    "caller": "91778800001",
    "ccode": "91",
    "ccodeName": "India",
    "hangingDirection": 1,
    "hangupCode": "200",
    "hangupReason": 3,
    "labels": [],
    "baseCost": "0.0100",
    "cost": "0.0120",
    "remark": "",
    "voiceUrl": "https://example.invalid/rec/23111713424802472.mp3",
}
_BEFORE, _AFTER = json.dumps(_RECORD).split("@@ID@@")

LUA = """
-- Each request is a call-record push with its own callSessionId: <run>-<thread>-<counter>.
local before = %s
local after = %s
local run = "%s"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  counter = 0
  prefix = run .. "-" .. tid .. "-"
  wrk.headers["Content-Type"] = "application/json;charset=UTF-8"
end
function request()
  counter = counter + 1
  return wrk.format("POST", nil, nil, before .. prefix .. counter .. after)
end
"""


@dataclass
class Target:
    name: str
    kind: str  # bare | listener
    database: str | None = None  # sqlite | postgresql
    synchronous: str = "FULL"
    max_batch_rows: int = 500


@dataclass
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: str
    stored: int | None = None
    commits: int | None = None
    acknowledged: int = 0  # 2xx answers of the warm-up and the measured run together
    cpu_us_per_push: float = 0.0  # the server process's CPU time (all threads) per answer


# ---- the servers (child processes) ---------------------------------------------------------------


def _bare_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def push(request: Request) -> Response:
        await request.body()
        return Response(b'{"status":"stored"}', media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/push/{token}", push, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def _serve(args: argparse.Namespace) -> None:
    import signal

    from bot.http_server import start_asgi_server

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    inbox = None
    if args.serve == "bare":
        app = _bare_app()
    else:
        from bot.config import load_settings
        from bot.laaffic.client import LaafficClient
        from bot.listener import create_listener_app
        from bot.relay.ingest import InboxWriter
        from bot.runtime import Runtime
        from storage.db import Database

        settings = load_settings(database_url=args.database_url, push_token=TOKEN)
        runtime = Runtime(
            settings=settings,
            database=Database(args.database_url),
            client=LaafficClient("http://127.0.0.1:9", "k", "s", "a"),
        )
        inbox = InboxWriter(
            args.database_url,
            sqlite_synchronous=args.synchronous,
            max_batch_rows=args.max_batch_rows,
        )
        app = create_listener_app(runtime, inbox=inbox)
    server = await start_asgi_server(app, port=args.port)
    print("ready", flush=True)
    await stop.wait()
    await server.stop()
    if inbox is not None:
        print(json.dumps({"commits": inbox.commits, "rows": inbox.rows_committed}), flush=True)


# ---- the driver ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database(target: Target, tmp: Path, postgres: str | None) -> tuple[str, str | None]:
    from storage.migrate import upgrade

    if target.database == "sqlite":
        url = f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        return url, None
    assert postgres is not None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    admin = make_url(normalise_url(postgres))
    name = f"ccbot_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = admin.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url, name


def _drop_postgres(postgres: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from storage.db import normalise_url

    engine = create_engine(make_url(normalise_url(postgres)), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _count_rows(url: str) -> int:
    from sqlalchemy import create_engine, text

    from storage.db import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM push_inbox")).scalar_one()
    engine.dispose()
    return int(count)


def _parse_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value.strip()).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _parse_wrk(out: str) -> Result:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _parse_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _parse_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return Result(
        rps, p50, p99, requests, int(non_2xx.group(1)) if non_2xx else 0,
        errors.group(0) if errors else "",
    )  # fmt: skip


def _wrk(url: str, lua: Path, seconds: int, connections: int, threads: int) -> Result:
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua),
        url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    return _parse_wrk(done.stdout)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _write_lua(path: Path, run: str) -> None:
    def lua_string(value: str) -> str:
        return "[==[" + value + "]==]"

    path.write_text(LUA % (lua_string(_BEFORE), lua_string(_AFTER), run))


def run_target(target: Target, args: argparse.Namespace, tmp: Path, round_no: int) -> Result | None:
    url, pg_name = (
        (None, None) if target.kind == "bare" else _fresh_database(target, tmp, args.postgres)
    )
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "bench.push_ingest",
        "--serve",
        target.kind,
        "--port",
        str(port),
    ]
    if url:
        command += [
            "--database-url", url, "--synchronous", target.synchronous,
            "--max-batch-rows", str(target.max_batch_rows),
        ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{target.name}: the server did not start")
        push_url = f"http://127.0.0.1:{port}/push/{TOKEN}"
        lua = tmp / f"push-{round_no}-{target.name}.lua"
        _write_lua(lua, f"w{round_no}{target.name}")
        warm = _wrk(push_url, lua, args.warmup, args.connections, args.threads)
        _write_lua(lua, f"r{round_no}{target.name}")
        cpu_before = _cpu_seconds(server.pid)
        result = _wrk(push_url, lua, args.duration, args.connections, args.threads)
        result.cpu_us_per_push = (_cpu_seconds(server.pid) - cpu_before) / result.requests * 1e6
        result.acknowledged = warm.requests - warm.non_2xx + result.requests - result.non_2xx
        server.terminate()
        tail, _ = server.communicate(timeout=30)
        if url:
            stats = json.loads(tail.strip().splitlines()[-1])
            result.commits = stats["commits"]
            result.stored = _count_rows(url)
        return result
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if pg_name:
            _drop_postgres(args.postgres, pg_name)


def _postgres_answers(url: str) -> bool:
    from sqlalchemy import create_engine, text

    from storage.db import normalise_url

    try:
        engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (the server has 1)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="an existing PostgreSQL database to create the benchmark's databases next to",
    )
    parser.add_argument("--serve", choices=["bare", "listener"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--synchronous", default="FULL", help=argparse.SUPPRESS)
    parser.add_argument("--max-batch-rows", type=int, default=500, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        import uvloop

        uvloop.run(_serve(args))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2

    targets = [
        Target("bare", "bare"),
        Target("sqlite-full", "listener", "sqlite", "FULL"),
        Target("sqlite-normal", "listener", "sqlite", "NORMAL"),
        Target("sqlite-full-single", "listener", "sqlite", "FULL", max_batch_rows=1),
    ]
    if _postgres_answers(args.postgres):
        targets.append(Target("postgresql", "listener", "postgresql"))
    else:
        print(f"PostgreSQL does not answer at {args.postgres}: skipped")
        args.postgres = None

    results: dict[str, list[Result]] = {t.name: [] for t in targets}
    lost = False
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp_dir:
        tmp = Path(tmp_dir)
        for round_no in range(1, args.rounds + 1):
            for target in targets:
                result = run_target(target, args, tmp, round_no)
                assert result is not None
                results[target.name].append(result)
                line = (
                    f"round {round_no} {target.name:<19} {result.requests_per_s:>8.0f} req/s  "
                    f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                    f"cpu {result.cpu_us_per_push:5.0f} us/push  non-2xx {result.non_2xx}"
                )
                if result.stored is not None:
                    acked = result.acknowledged
                    line += f"  stored {result.stored} (acknowledged {acked})"
                    line += f"  {result.stored / max(result.commits or 1, 1):.1f} pushes/commit"
                    if result.stored < acked:
                        lost = True
                        line += "  LOST PUSHES"
                if result.errors:
                    line += f"  [{result.errors}]"
                print(line, flush=True)
            time.sleep(1)

    def median(name: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[name])

    def ratio(name: str) -> float:
        # Against the bare endpoint of the same round (run seconds before): the machine's load
        # drifts between rounds more than between neighbours.
        pairs = zip(results[name], results["bare"], strict=True)
        return statistics.median(r.requests_per_s / b.requests_per_s for r, b in pairs)

    print()
    print(
        f"median of {args.rounds} rounds, {args.duration} s each, {args.connections} connections, "
        f"wrk -t{args.threads}; ratio: median of the per-round ratios to bare"
    )
    print("| target | pushes/s | ratio to bare | p50 | p99 | server CPU per push |")
    print("|---|---|---|---|---|---|")
    for name in results:
        print(
            f"| {name} | {median(name, 'requests_per_s'):.0f} | {ratio(name):.2f}x "
            f"| {median(name, 'p50_ms'):.2f} ms | {median(name, 'p99_ms'):.2f} ms "
            f"| {median(name, 'cpu_us_per_push'):.0f} µs |"
        )
    full_ratio = ratio("sqlite-full")
    full_p99 = median("sqlite-full", "p99_ms")
    met = full_ratio >= 0.5 and full_p99 < 15 and not lost
    print()
    print(
        f"goal (SQLite, synchronous=FULL: >= 0.50x bare, p99 < 15 ms, nothing lost): "
        f"{full_ratio:.2f}x, p99 {full_p99:.2f} ms -> {'met' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
