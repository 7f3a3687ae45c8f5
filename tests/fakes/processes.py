"""Real `ccbot` child processes for the tests and benchmarks that need one: a free port, a clean
environment, the process itself, and waiting until it answers on /healthz.

    port = free_port()
    proc = await start_ccbot("run", env=ccbot_env(tmp_path, DATABASE_URL=..., LISTEN_PORT=str(port)))
    await wait_until_healthy(proc, port)
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import httpx

PIPE = asyncio.subprocess.PIPE


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the child binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def ccbot_env(home: str | Path, **variables: str) -> dict[str, str]:
    """The child's whole environment: PATH, HOME (PYTHONPATH when set) and `variables`, nothing
    else from ours (no developer .env values or real credentials leak in)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    # The code under test: a worktree on PYTHONPATH, not the package the virtualenv installed.
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return {**env, **variables}


class BotApi(Protocol):
    """What a child needs of the fake Bot API: its token and its root URL."""

    token: str
    url: str


def run_env(
    home: str | Path,
    telegram: BotApi,
    *,
    database_url: str,
    port: int,
    push_token: str,
    **variables: str,
) -> dict[str, str]:
    """`ccbot run` against `telegram`, listening on 127.0.0.1:`port`, with platform credentials
    for a platform it is never asked to call (the relay and the listener do not call it)."""
    return ccbot_env(
        home,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        LAAFFIC_API_KEY="key",
        LAAFFIC_API_SECRET="secret",
        LAAFFIC_APP_ID="app",
        LAAFFIC_BASE_URL="http://127.0.0.1:9",
        DATABASE_URL=database_url,
        LISTEN_HOST="127.0.0.1",
        LISTEN_PORT=str(port),
        PUSH_TOKEN=push_token,
        **variables,
    )


def webhook_env(
    home: str | Path, telegram: BotApi, *, webhook_secret: str, **settings: Any
) -> dict[str, str]:
    """`run_env` in webhook mode, as replicas behind a load balancer run."""
    return run_env(
        home,
        telegram,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL="https://bot.example.com",
        TELEGRAM_WEBHOOK_SECRET=webhook_secret,
        **settings,
    )


def sandbox_env(
    home: str | Path, telegram: BotApi, *, port: int, admin: int, **variables: str
) -> dict[str, str]:
    """`ccbot sandbox` against `telegram`, its SQLite file in `home`, on 127.0.0.1:`port`."""
    return ccbot_env(
        home,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        DATABASE_URL=f"sqlite:///{Path(home) / 'p.db'}",
        LISTEN_HOST="127.0.0.1",
        LISTEN_PORT=str(port),
        ADMIN_USER_IDS=str(admin),
        **variables,
    )


async def start_ccbot(
    *args: str,
    env: dict[str, str],
    cwd: str | Path | None = None,
    stdout: int | None = PIPE,
    stderr: int | None = PIPE,
) -> asyncio.subprocess.Process:
    """`python -m bot ARGS...` (the same as the `ccbot` console script) with exactly `env`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd if cwd is not None else env.get("HOME"),
        stdout=stdout,
        stderr=stderr,
    )


async def wait_until_healthy(
    proc: asyncio.subprocess.Process,
    port: int,
    *,
    timeout: float = 45.0,  # a loaded CI machine starts a child slowly
    host: str = "127.0.0.1",
    interval: float = 0.1,
) -> httpx.Response:
    """Poll GET /healthz until the child answers 200 and return that answer. Fails (with the
    child's output when it was piped) if the child exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            try:
                response = await http.get(f"http://{host}:{port}/healthz")
                if response.status_code == 200:
                    return response
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            if proc.returncode is not None:
                out, err = await proc.communicate()
                raise AssertionError(
                    f"ccbot exited with {proc.returncode} before /healthz answered 200\n"
                    f"stdout: {(out or b'')[-3000:].decode(errors='replace')}\n"
                    f"stderr: {(err or b'')[-3000:].decode(errors='replace')}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"ccbot did not answer 200 on http://{host}:{port}/healthz within "
                    f"{timeout:g} s (last: {last})"
                )
            await asyncio.sleep(interval)
