"""The processes of `ccbot run`: the main process and the children it supervises.

    main process ─ PTB (updates, handlers), the sender, the scheduled jobs, the replica heartbeat;
    │              /healthz /readyz /metrics and the Telegram webhook, on a unix socket
    ├─ push listener child ─ the listening port: `/push/...` validated, committed, answered; every
    │                        other request forwarded to the main process's unix socket
    └─ relay child ─ the relay worker: stored pushes → typed rows → outbox

Why: the push path and the relay are CPU work in Python. On one loop the relay's batches (and the
sender's queries) held the GIL for most of each second under load, so the loop answering pushes
waited for them (bench/RESULTS.md, "the real ccbot run"). In their own processes they run on their
own core, and the push listener does nothing but what a push needs.

How they talk: one socketpair per child, one short line per message.
- child → main `s`: started; `m <json>`: its metric increments (the main process serves the only
  /metrics there is); relay `r`: a cycle relayed something (wakes the sender), `c`: a cycle finished
  (what /readyz reads, at most once a second); push listener `p`: pushes were committed.
- main → relay `p`: pushes were committed (it looks now, not at its next poll).
Wake-ups are coalesced: at most one line per turn of a loop, however many pushes there were.

`kill -9` safety: a push is answered 200 only after its commit, and the relay decides nothing in
memory (a batch is one transaction), so a killed child loses nothing acknowledged. The supervisor
sees a child's exit at once (its sentinel), and starts a new one (for the relay, after releasing
the dead child's leases: it can no longer commit, so they are nobody's). After RESTART_LIMIT exits
within RESTART_WINDOW_S it gives up and `ccbot run` exits non-zero, so the container restarts.
A child whose main process dies reads end-of-file on its socket and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from bot.config import Settings
from storage.db import Database, WriteChange, WriteRefusal
from storage.models import InboxStatus, PushInbox

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0  # a loaded machine imports slowly; a child's exit is noticed at once
STOP_TIMEOUT_S = 4.0  # then SIGKILL (nothing acknowledged is lost either way)
RESTART_LIMIT = 5
RESTART_WINDOW_S = 60.0
RESTART_BACKOFF_S = (0.0, 0.5, 1.0, 2.0, 5.0)
REPORT_S = 1.0  # how often a child sends its metrics and "a cycle finished", at most
# The sender is woken at once after a quiet spell, then at most this often: under load the relay
# finishes a batch every few milliseconds and each wake-up costs the sender a query.
SENDER_WAKE_EVERY_S = 0.05
RELAY_GATHER_S = 0.02  # between the relay's batches under load (see _relay_cycles)
# The push child says "pushes were committed" at once after a quiet spell, then at most this often:
# under load it commits hundreds of times a second, the relay is busy anyway, and each line is a
# send that gives up the GIL on the loop answering pushes (py-spy: 15% of its samples at 1,500/s).
PUSH_WAKE_EVERY_S = 0.01


class ChildFailed(RuntimeError):
    """A child kept exiting (or could not start): `ccbot run` stops with a non-zero status."""


@dataclass
class ChildConfig:
    """What a child needs, pickled to it by multiprocessing (never on a command line: the
    database URL may hold a password)."""

    role: str  # "relay" | "push"
    settings: Settings
    name: str
    extra_secrets: list[str] = field(default_factory=list)
    push_token: str | None = None
    forward_path: str | None = None  # the main process's unix socket (push listener)


class Child:
    """One supervised child process: spawn, talk, notice its exit, restart it or give up."""

    def __init__(
        self,
        role: str,
        settings: Settings,
        *,
        extra_secrets: list[str] | None = None,
        on_line: Callable[[bytes], None],
        on_gave_up: Callable[[ChildFailed], None] | None = None,
        before_restart: Callable[[str], object] | None = None,
        push_token: str | None = None,
        forward_path: str | None = None,
        listen_sock: socket.socket | None = None,
        restart_limit: int = RESTART_LIMIT,
        restart_window_s: float = RESTART_WINDOW_S,
        restart_backoff_s: tuple[float, ...] = RESTART_BACKOFF_S,
    ) -> None:
        self.role = role
        self.restart_limit = restart_limit
        self.restart_window_s = restart_window_s
        self.restart_backoff_s = restart_backoff_s
        self.on_started: list[Callable[[], None]] = []  # each time a child is ready
        self.settings = settings
        self.extra_secrets = list(extra_secrets or [])
        self.on_line = on_line
        self.on_gave_up = on_gave_up
        self.before_restart = before_restart
        self.push_token = push_token
        self.forward_path = forward_path
        self.listen_sock = listen_sock
        self.name = ""
        self.restarts = 0  # children started after an unexpected exit
        self.last_heard_at: float | None = None
        self._process: Any = None  # multiprocessing.context.SpawnProcess
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started: asyncio.Future[None] | None = None
        self._exited: asyncio.Future[int | None] | None = None
        self._stopping = False
        self._exits: list[float] = []
        self._restart_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        started = self._started
        return (
            self._process is not None
            and self._process.is_alive()
            and started is not None
            and started.done()
            and not started.cancelled()
            and started.exception() is None
        )

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def send(self, line: bytes) -> None:
        if self._sock is not None:
            # A full buffer means lines are already waiting to be read: a wake-up can go.
            with contextlib.suppress(BlockingIOError, OSError):
                self._sock.send(line)

    async def start(self) -> None:
        await self.spawn()
        await self.wait_started()

    async def spawn(self) -> None:
        """Start the child without waiting for it to be ready (its imports take a while: the
        main process starts its own parts meanwhile)."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        await self._spawn()

    async def wait_started(self) -> None:
        assert self._started is not None and self._exited is not None and self._process
        process = self._process
        waiting: list[asyncio.Future[Any]] = [self._started, self._exited]
        done, _ = await asyncio.wait(
            waiting, timeout=START_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if self._started.done():
            log.info("the %s process started (pid %s)", self.role, process.pid)
            return
        if not done:
            process.kill()
            raise ChildFailed(f"the {self.role} process did not start within {START_TIMEOUT_S:g} s")
        raise ChildFailed(f"the {self.role} process exited while starting ({_status(process)})")

    def kill(self) -> None:
        """SIGKILL, at once (a start that failed; a stop cut off): nothing acknowledged is lost."""
        self._stopping = True
        if self._restart_task is not None:
            self._restart_task.cancel()
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._close()

    async def stop(self) -> None:
        self._stopping = True
        if self._restart_task is not None:
            self._restart_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._restart_task
            self._restart_task = None
        process = self._process
        try:
            if process is not None and process.is_alive():
                process.terminate()  # SIGTERM: the child finishes what is in flight and exits
                assert self._exited is not None
                try:
                    await asyncio.wait_for(asyncio.shield(self._exited), STOP_TIMEOUT_S)
                except TimeoutError:
                    log.warning(
                        "the %s process did not stop in %g s; killed", self.role, STOP_TIMEOUT_S
                    )
                    process.kill()
                    await self._exited
                    if self.before_restart is not None:  # (its leases: nobody's now)
                        await asyncio.to_thread(self.before_restart, self.name)
        except asyncio.CancelledError:  # the stop grace ran out: it must not outlive us
            self.kill()
            raise
        self._close()

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        self.name = f"{socket.gethostname()[:20]}/{self.role}-{os.getpid()}/{secrets.token_hex(3)}"
        config = ChildConfig(
            self.role,
            self.settings,
            self.name,
            self.extra_secrets,
            push_token=self.push_token,
            forward_path=self.forward_path,
        )
        process = _context().Process(
            target=run_child,
            args=(config, theirs, self.listen_sock),
            name=f"ccbot-{self.role}",
            daemon=False,
        )
        await asyncio.to_thread(process.start)
        theirs.close()
        self._process, self._sock, self._buffer = process, ours, b""
        self._started = loop.create_future()
        self._exited = loop.create_future()
        loop.add_reader(ours.fileno(), self._on_readable)
        loop.add_reader(process.sentinel, self._on_exit, process)

    def _on_readable(self) -> None:
        assert self._sock is not None
        try:
            data = self._sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the child is gone; its sentinel says how
            self._drop_reader()
            return
        self.last_heard_at = time.monotonic()
        *lines, self._buffer = (self._buffer + data).split(b"\n")
        for line in lines:
            if line == b"s":
                if self._started is not None and not self._started.done():
                    self._started.set_result(None)
                for hook in self.on_started:
                    hook()
            elif line.startswith(b"m "):
                add_metrics(line[2:])
            else:
                self.on_line(line)

    def _drop_reader(self) -> None:
        if self._sock is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._sock.fileno())

    def _on_exit(self, process: Any) -> None:
        assert self._loop is not None
        self._loop.remove_reader(process.sentinel)
        process.join(0)
        if self._exited is not None and not self._exited.done():
            self._exited.set_result(process.exitcode)
        if self._stopping or self._started is None or not self._started.done():
            return  # a stop, or a start that failed (start() says so)
        log.error(
            "the %s process (pid %s) exited unexpectedly (%s)",
            self.role,
            process.pid,
            _status(process),
        )
        self._restart_task = self._loop.create_task(self._restart(), name=f"{self.role}-restart")

    async def _restart(self) -> None:
        now = time.monotonic()
        self._exits = [t for t in self._exits if now - t < self.restart_window_s] + [now]
        dead = self.name
        self._close()
        if len(self._exits) > self.restart_limit:
            self._give_up(
                ChildFailed(
                    f"the {self.role} process exited {len(self._exits)} times within "
                    f"{self.restart_window_s:g} s"
                )
            )
            return
        backoffs = self.restart_backoff_s
        backoff = backoffs[min(len(self._exits), len(backoffs)) - 1]
        await asyncio.sleep(backoff)
        try:
            if self.before_restart is not None:
                await asyncio.to_thread(self.before_restart, dead)
            await self._spawn()
            await self.wait_started()
            self.restarts += 1
        except Exception as exc:
            log.exception("could not start the %s process again", self.role)
            self._give_up(exc if isinstance(exc, ChildFailed) else ChildFailed(str(exc)))

    def _give_up(self, failure: ChildFailed) -> None:
        log.error("%s; stopping so that the container restarts", failure)
        if self.on_gave_up is not None:
            self.on_gave_up(failure)

    def _close(self) -> None:
        self._drop_reader()
        if self._process is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._process.sentinel)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._process is not None:
            with contextlib.suppress(Exception):
                self._process.close()
        self._process = None


# What the children need, imported once by multiprocessing's fork server: each child (and each
# restart after a crash) is then a fork of it, started in milliseconds, instead of a new
# interpreter importing all of it again (seconds on a loaded machine).
_PRELOAD = ["bot.processes", "bot.relay.worker", "bot.listener", "bot.http_server", "uvloop"]


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def start_fork_server() -> None:
    """Start the fork server now (it imports the children's code while this process migrates
    the database and starts its own parts); the children are forked from it later."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


def stop_fork_server() -> None:
    """End the fork server now, once the children are stopped, rather than when it notices this
    process has exited: it holds this process's stderr, so whoever waits for that (Docker's log, a
    test) would wait for it too, and a clean exit of a process holding all of the bot's modules
    takes seconds on a busy machine. It keeps nothing: SIGKILL. (Private API of multiprocessing;
    without it the server still ends shortly after this process.)"""
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with contextlib.suppress(Exception):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        server._stop()  # type: ignore[union-attr]  # closes its pipes, reaps it


def _status(process: Any) -> str:
    code = process.exitcode
    return f"killed by signal {-code}" if code is not None and code < 0 else f"status {code}"


class _PartInChild:
    """A part of the bot run in a supervised child process (`child`): starting and stopping it
    is starting and stopping the child."""

    child: Child

    @property
    def running(self) -> bool:
        return self.child.running

    async def start(self) -> None:
        await self.spawn()
        await self.wait_started()

    async def spawn(self) -> None:
        await self.child.spawn()

    async def wait_started(self) -> None:
        await self.child.wait_started()

    def kill(self) -> None:
        self.child.kill()

    async def stop(self) -> None:
        await self.child.stop()


class RelayProcess(_PartInChild):
    """The relay worker in a supervised child process; the same surface as RelayWorker."""

    def __init__(
        self,
        settings: Settings,
        *,
        extra_secrets: list[str] | None = None,
        on_gave_up: Callable[[ChildFailed], None] | None = None,
        **restarts: Any,  # Child's restart_limit, restart_window_s, restart_backoff_s
    ) -> None:
        self.settings = settings
        self.on_relayed: list[Callable[[], None]] = []
        self.child = Child(
            "relay",
            settings,
            extra_secrets=extra_secrets,
            on_line=self._on_line,
            on_gave_up=on_gave_up,
            before_restart=self._release_leases,
            **restarts,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_pending = False
        self._woke_sender_at = 0.0
        self._sender_call: asyncio.TimerHandle | None = None

    @property
    def last_cycle_at(self) -> float | None:
        return self.child.last_heard_at

    def wake(self) -> None:
        """New pushes were committed: one `p` per turn of the loop, however many there were."""
        if self._wake_pending or self._loop is None:
            return
        self._wake_pending = True
        self._loop.call_soon(self._send_wake)

    def _send_wake(self) -> None:
        self._wake_pending = False
        self.child.send(b"p\n")

    async def spawn(self) -> None:
        self._loop = asyncio.get_running_loop()
        await super().spawn()

    async def stop(self) -> None:
        if self._sender_call is not None:
            self._sender_call.cancel()
        await super().stop()

    def _on_line(self, line: bytes) -> None:
        if line != b"r" or self._loop is None or self._sender_call is not None:
            return
        wait = self._woke_sender_at + SENDER_WAKE_EVERY_S - time.monotonic()
        if wait <= 0:
            self._wake_sender()
        else:
            self._sender_call = self._loop.call_later(wait, self._wake_sender)

    def _wake_sender(self) -> None:
        self._sender_call = None
        self._woke_sender_at = time.monotonic()
        for hook in self.on_relayed:
            hook()

    def _release_leases(self, name: str) -> int:
        """The dead child's claims back to pending at once (it can commit nothing any more), so
        its rows do not wait for their leases to expire."""
        if not name:
            return 0
        database = Database(self.settings.database_url)
        try:
            with database.session() as session:
                result = session.execute(
                    update(PushInbox)
                    .where(
                        col(PushInbox.status) == InboxStatus.PENDING,
                        col(PushInbox.lease_owner).startswith(f"{name}:", autoescape=True),
                    )
                    .values(lease_until=None)
                )
                released = int(getattr(result, "rowcount", 0) or 0)
        except Exception:
            log.exception("could not release the dead relay process's pushes; their leases expire")
            return 0
        finally:
            database.dispose()
        if released:
            log.info("released %d pushes the dead relay process had claimed", released)
        return released


class PushListenerProcess(_PartInChild):
    """The push listener child: serves the listening socket, forwards what is not a push."""

    def __init__(
        self,
        settings: Settings,
        listen_sock: socket.socket,
        forward_path: str,
        *,
        push_token: str | None,
        on_stored: Callable[[], None],
        extra_secrets: list[str] | None = None,
        on_gave_up: Callable[[ChildFailed], None] | None = None,
        on_write_change: Callable[[WriteChange], None] | None = None,
    ) -> None:
        self.on_stored = on_stored
        self.on_write_change = on_write_change
        self.child = Child(
            "push",
            settings,
            extra_secrets=extra_secrets,
            on_line=self._on_line,
            on_gave_up=on_gave_up,
            push_token=push_token,
            forward_path=forward_path,
            listen_sock=listen_sock,
        )

    def _on_line(self, line: bytes) -> None:
        if line == b"p":
            self.on_stored()
        elif line.startswith(b"w ") and self.on_write_change is not None:
            try:
                change = read_write_change(line)
            except (ValueError, KeyError, TypeError):
                log.warning("could not read the push process's report on database writes")
                return
            self.on_write_change(change)


def write_change_line(change: WriteChange) -> bytes:
    """The push child's report that the database stopped (or started again) taking writes."""
    fields = {
        "refused": change.refused,
        "reason": change.reason.value if change.reason is not None else None,
        "detail": change.detail,
        "lasted_s": change.lasted_s,
    }
    return b"w " + json.dumps(fields).encode() + b"\n"


def read_write_change(line: bytes) -> WriteChange:
    fields = json.loads(line[2:])
    reason = fields["reason"]
    return WriteChange(
        refused=bool(fields["refused"]),
        reason=WriteRefusal(reason) if reason is not None else None,
        detail=str(fields["detail"]),
        lasted_s=float(fields["lasted_s"]),
    )


# ---- metrics: the children's, added to the main process's ---------------------------------------

# Everything a child changes; the main process (whose /metrics is the only one) adds it up.
_COUNTERS = (
    "PUSHES_DUPLICATE",
    "PUSHES_UNROUTED",
    "PUSHES_RECEIVED",
    "PUSHES_REJECTED",
    "PUSHES_RATE_LIMITED",
    "PUSHES_FAILED",
    "ALERTS_STARTED",
    "ALERTS_CLEARED",
)
_HISTOGRAMS = ("PUSH_COMMIT_SECONDS",)  # without labels
_GAUGES = ("INBOX_DEPTH",)  # without labels; set, not added


def _snapshot() -> dict[str, Any]:
    from bot import metrics

    values: dict[str, Any] = {}
    for attr in _COUNTERS:
        for family in getattr(metrics, attr).collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    values[f"c {attr} {json.dumps(sample.labels, sort_keys=True)}"] = sample.value
    for attr in _HISTOGRAMS:
        for family in getattr(metrics, attr).collect():
            buckets = [s.value for s in family.samples if s.name.endswith("_bucket")]
            total = [s.value for s in family.samples if s.name.endswith("_sum")]
            values[f"h {attr}"] = [buckets, total[0] if total else 0.0]
    for attr in _GAUGES:
        for family in getattr(metrics, attr).collect():
            values[f"g {attr}"] = family.samples[0].value if family.samples else 0.0
    return values


def _changes(now: dict[str, Any], before: dict[str, Any]) -> list[Any]:
    changes: list[Any] = []
    for key, value in now.items():
        kind, attr, *rest = key.split(" ", 2)
        old = before.get(key)
        if kind == "c" and value != (old or 0.0):
            changes.append(["c", attr, json.loads(rest[0]), value - (old or 0.0)])
        elif kind == "h" and value != old:
            cumulative = [
                b - a for a, b in zip(old[0] if old else [0] * len(value[0]), value[0], strict=True)
            ]
            per_bucket = [c - (cumulative[i - 1] if i else 0) for i, c in enumerate(cumulative)]
            changes.append(["h", attr, per_bucket, value[1] - (old[1] if old else 0.0)])
        elif kind == "g" and value != old:
            changes.append(["g", attr, value])
    return changes


def add_metrics(payload: bytes) -> None:
    """A child's metric changes, into this process's registry."""
    from bot import metrics

    try:
        for change in json.loads(payload):
            kind, attr = change[0], change[1]
            if kind == "c" and attr in _COUNTERS:
                counter = getattr(metrics, attr)
                (counter.labels(**change[2]) if change[2] else counter).inc(change[3])
            elif kind == "h" and attr in _HISTOGRAMS:
                histogram = getattr(metrics, attr)
                # prometheus_client keeps a histogram as one value per bucket plus a sum; there
                # is no public way to add another process's observations.
                for bucket, count in zip(histogram._buckets, change[2], strict=True):
                    if count:
                        bucket.inc(count)
                histogram._sum.inc(change[3])
            elif kind == "g" and attr in _GAUGES:
                getattr(metrics, attr).set(change[2])
    except Exception:
        log.warning("could not read a child process's metrics", exc_info=True)


# ---- in a child ----------------------------------------------------------------------------------


def run_child(config: ChildConfig, sock: socket.socket, listen_sock: socket.socket | None) -> None:
    """A child's entry point (multiprocessing, forked by the fork server)."""
    import uvloop

    from bot.logs import register_secret, setup_logging

    with contextlib.suppress(OSError):  # what `ps -e`/`top` show: ccbot-relay, ccbot-push
        with open("/proc/self/comm", "w") as comm:
            comm.write(f"ccbot-{config.role}")
    settings = config.settings
    setup_logging(settings.log_level, settings.log_format)
    for secret in (
        settings.telegram_bot_token,
        settings.laaffic_api_secret,
        settings.push_token,
        settings.telegram_webhook_secret,
        *config.extra_secrets,
        config.push_token,
    ):
        if secret is not None:
            register_secret(secret if isinstance(secret, str) else secret.get_secret_value())
    # Ctrl-C reaches the whole process group; the main process stops its children in its order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    uvloop.run(_child_main(config, sock, listen_sock))


class _Throttled:
    """Calls `fn` at once when it was last called more than `every` seconds ago, else once at
    the end of that interval (a burst's last call is never dropped, only joined to the next)."""

    def __init__(self, fn: Callable[[], None], every: float) -> None:
        self._fn, self._every = fn, every
        self._loop = asyncio.get_running_loop()
        self._last = -every
        self._later: asyncio.TimerHandle | None = None

    def __call__(self) -> None:
        if self._later is not None:
            return
        wait = self._last + self._every - self._loop.time()
        if wait <= 0:
            self._fire()
        else:
            self._later = self._loop.call_later(wait, self._fire)

    def _fire(self) -> None:
        self._later = None
        self._last = self._loop.time()
        self._fn()


class _Channel:
    """The child's end of its socketpair: lines out (coalesced per loop turn), wakes in."""

    def __init__(
        self, sock: socket.socket, on_wake: Callable[[], None], on_eof: Callable[[], None]
    ):
        self.sock = sock
        self.loop = asyncio.get_running_loop()
        self._out: list[bytes] = []
        self._on_wake, self._on_eof = on_wake, on_eof
        sock.setblocking(False)
        self.loop.add_reader(sock.fileno(), self._readable)

    def say(self, line: bytes) -> None:
        if line in self._out:
            return  # one of each per turn of the loop is enough (wake-ups, "a cycle finished")
        self._out.append(line)
        if len(self._out) == 1:
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        data, self._out = b"".join(self._out), []
        if data:
            with contextlib.suppress(OSError):  # gone or not reading: it notices another way
                self.sock.sendall(data)

    def _readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the main process is gone
            self.loop.remove_reader(self.sock.fileno())
            self._on_eof()
            return
        self._on_wake()

    def close(self) -> None:
        self.flush()
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


async def _child_main(
    config: ChildConfig, sock: socket.socket, listen_sock: socket.socket | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reported: dict[str, Any] = {}

    def report_metrics(channel: _Channel) -> None:
        nonlocal reported
        now = _snapshot()
        changes = _changes(now, reported)
        if changes:
            reported = now
            channel.say(b"m " + json.dumps(changes).encode() + b"\n")

    if config.role == "relay":
        await _relay_child(config, sock, stop, report_metrics)
    else:
        assert listen_sock is not None and config.forward_path is not None
        await _push_child(config, sock, listen_sock, stop, report_metrics)


async def _relay_child(
    config: ChildConfig,
    sock: socket.socket,
    stop: asyncio.Event,
    report_metrics: Callable[[_Channel], None],
) -> None:
    from bot.relay.worker import RelayWorker

    settings = config.settings
    database = Database(settings.database_url)
    worker = RelayWorker(
        database,
        platform_tz=settings.platform_zone,
        default_zone=settings.default_zone,
        name=config.name,
    )
    woken = asyncio.Event()
    channel = _Channel(sock, woken.set, stop.set)
    channel.say(b"s\n")
    cycles = asyncio.create_task(_relay_cycles(worker, channel, woken, stop), name="relay")

    async def report() -> None:
        said: float | None = None
        while True:
            await asyncio.sleep(REPORT_S)
            if worker.last_cycle_at != said:
                said = worker.last_cycle_at
                channel.say(b"c\n")
            report_metrics(channel)

    reporter = asyncio.create_task(report(), name="relay-report")
    try:
        await stop.wait()
    finally:
        woken.set()
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        await cycles  # the batch in progress commits (or not) before the process ends
        report_metrics(channel)
        channel.close()
        database.dispose()


async def _relay_cycles(
    worker: Any, channel: _Channel, woken: asyncio.Event, stop: asyncio.Event
) -> None:
    """The relay worker's cycles (RelayWorker.run_once, in a thread so that the loop keeps reading
    wake-ups and SIGTERM), paced for a process of its own:
    - idle (the last cycle found nothing): wait for a wake-up (or IDLE_POLL_S), then go at once,
      so a lone ringing push is relayed without delay;
    - busy but not full (pushes trickle in as fast as they are relayed): wait RELAY_GATHER_S
      first, so that batches grow with the load instead of the relay claiming a few rows per
      transaction as fast as it can. Each transaction takes SQLite's one write lock, and the
      listener's commits wait for it; a pause between them is also when those commits get in;
    - full: go on at once."""
    failures = 0
    while not stop.is_set():
        woken.clear()
        try:
            outcome = await asyncio.to_thread(worker.run_once)
            failures = 0
        except Exception:
            failures += 1
            log.exception("relay cycle failed (%d in a row); trying again", failures)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(0.5 * 2 ** (failures - 1), 10))
            continue
        finally:
            worker.last_cycle_at = time.monotonic()
        if outcome.claimed:
            channel.say(b"r\n")
        if outcome.claimed >= worker.batch_size:
            continue
        if outcome.claimed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RELAY_GATHER_S)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), worker.idle_poll_s)


async def _push_child(
    config: ChildConfig,
    sock: socket.socket,
    listen_sock: socket.socket,
    stop: asyncio.Event,
    report_metrics: Callable[[_Channel], None],
) -> None:
    from bot.http_server import start_asgi_server
    from bot.listener import ListenerApp, PushEndpoint
    from bot.relay.ingest import InboxWriter

    assert config.forward_path is not None
    channel = _Channel(sock, lambda: None, stop.set)
    writer = InboxWriter(config.settings.database_url)
    # Whether the database takes writes is learnt here, from the pushes' commits; the main
    # process answers /healthz, /readyz and /status and tells the admins (bot/health.py).
    writer.write_health.listeners.append(lambda change: channel.say(write_change_line(change)))
    await writer.start()
    forward = ForwardToMain(config.forward_path)
    stored = _Throttled(lambda: channel.say(b"p\n"), PUSH_WAKE_EVERY_S)
    pushes = PushEndpoint(config.push_token, writer, stored)
    server = await start_asgi_server(ListenerApp(pushes, forward), sock=listen_sock)
    channel.say(b"s\n")

    async def report() -> None:
        while True:
            await asyncio.sleep(REPORT_S)
            report_metrics(channel)

    reporter = asyncio.create_task(report(), name="push-report")
    try:
        await stop.wait()
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        await server.stop()  # the answers in flight get their commits first
        await writer.stop()
        await forward.aclose()
        report_metrics(channel)
        channel.close()


_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"te",
    b"trailer",
    b"upgrade",
    b"proxy-connection",
    b"host",
    b"content-length",
}
_FORWARD_MAX_BODY = 1024 * 1024  # as the listener's own limit (bot/listener.py)


class ForwardToMain:
    """Plain ASGI: a request that is not a push, to the main process's unix socket, and its
    answer back (health probes, /metrics, Telegram's webhook updates: a few a second at most)."""

    def __init__(self, path: str) -> None:
        import httpx

        self._http = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=path),
            base_url="http://ccbot-main",
            timeout=30,
        )
        self._answered = False

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import httpx

        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > _FORWARD_MAX_BODY:
                await _plain(send, 413, b'{"error":"the body is too large"}')
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        url = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            url += b"?" + scope["query_string"]
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        try:
            answer = await self._http.request(
                scope["method"], url.decode("latin-1"), headers=headers, content=b"".join(chunks)
            )
        except httpx.HTTPError as exc:
            # While `ccbot run` starts, health probes come before the main process serves them.
            (log.warning if self._answered else log.debug)(
                "the main process did not answer a forwarded request: %s", exc
            )
            await _plain(send, 503, b'{"error":"the bot\'s main process does not answer"}')
            return
        self._answered = True
        body = answer.content
        out = [
            (k, v)
            for k, v in answer.headers.raw
            if k.lower() not in _HOP_BY_HOP and k.lower() not in (b"date", b"server")
        ]
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": out})
        await send({"type": "http.response.body", "body": body})


async def _plain(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
