"""Storing accepted pushes (and refused bodies) with group commits, before the listener answers.

The platform counts a push as delivered on HTTP 200, so 200 may only follow a commit. A commit per
request would cap the listener at the speed of one fsync per push; instead one writer task takes
every row that arrived while the previous commit ran, inserts them in one transaction (one
multi-row INSERT) on its own connection, in its own thread, commits once, and then wakes every
request that was waiting for it. Under load a commit carries many pushes; when idle, a push waits
for one. (Waiting a little longer to gather more rows per commit was measured and dropped: the
CPU work of the next requests then no longer overlaps the fsync, and p99 latency doubled.)

Durability on SQLite: the database runs in WAL mode. With `synchronous=NORMAL` (the rest of the bot)
a committed transaction survives the process being killed (the WAL is in the OS's page cache), but
the last commits can be lost when the machine loses power. This connection uses
`synchronous=FULL` by default: every commit fsyncs the WAL, so an acknowledged push also survives a
power cut (on a disk that honours fsync). Group commit makes that cost one fsync per batch, not per
push (bench/RESULTS.md measures both). PostgreSQL commits are durable by default.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from bot.metrics import INBOX_DEPTH, PUSHES_RECEIVED
from bot.relay.push_shapes import PushKind
from storage.db import WriteHealth, make_engine, normalise_url
from storage.models import DeadLetter, InboxStatus, PushInbox, table_of, utcnow

log = logging.getLogger(__name__)

_RECEIVED = {kind: PUSHES_RECEIVED.labels(kind.value) for kind in PushKind}

SqliteSynchronous = Literal["NORMAL", "FULL"]

DEAD_LETTER_LIMIT = 10_000  # refused bodies kept; the oldest are dropped past this
DEAD_LETTER_PRUNE_EVERY = 100  # prune once per this many refused bodies (cheap: one DELETE)
MAX_BATCH_ROWS = 500  # rows per transaction, so one commit never holds an unbounded batch
# Rows waiting for a commit, at most: past this (a database that has stopped answering) a push is
# answered 503 at once, so the platform retries later and memory stays bounded.
MAX_PENDING_ROWS = 5_000
# How often INBOX_DEPTH is recounted from the table. This writer is the gauge's only writer: it adds
# the pushes it commits, and the recount takes off what the relay workers (of every replica) took.
DEPTH_REFRESH_S = 5.0
# SQLite: how often this writer tries again for the write lock, and for how long at most (the
# rest of the bot's busy_timeout).
LOCK_RETRY_S = 0.0005
LOCK_WAIT_S = 30.0
_SQLITE_BUSY = 5


class InboxUnavailable(Exception):
    """The database did not take the row; the listener answers 503 so the platform retries."""


@dataclass
class _Row:
    table: Literal["push", "dead"]
    values: dict[str, Any]
    done: asyncio.Future[None]


class InboxWriter:
    """One writer (task + thread + connection) for `push_inbox` and `dead_letter`."""

    def __init__(
        self,
        database_url: str,
        *,
        sqlite_synchronous: SqliteSynchronous = "FULL",
        dead_letter_limit: int = DEAD_LETTER_LIMIT,
        dead_letter_prune_every: int = DEAD_LETTER_PRUNE_EVERY,
        max_batch_rows: int = MAX_BATCH_ROWS,
        max_pending_rows: int = MAX_PENDING_ROWS,
        depth_refresh_s: float = DEPTH_REFRESH_S,
    ) -> None:
        self.database_url = normalise_url(database_url)
        self.sqlite_synchronous = sqlite_synchronous
        self.dead_letter_limit = dead_letter_limit
        self.dead_letter_prune_every = dead_letter_prune_every
        self.max_batch_rows = max_batch_rows
        self.max_pending_rows = max_pending_rows
        self.depth_refresh_s = depth_refresh_s
        # What the tests and the benchmark look at: how many transactions carried how many rows.
        self.commits = 0
        self.rows_committed = 0
        self.largest_batch = 0
        self._engine: Engine | None = None
        self._conn: Any = None  # the raw DB-API connection (a pool proxy)
        self._errors: type[Exception] | tuple[type[Exception], ...] = Exception
        self._connection_errors: tuple[type[Exception], ...] = ()
        self._mark = "?"  # the DB-API parameter marker
        self._sqlite = False
        self._busy: type[Exception] = Exception  # the driver's OperationalError
        self._thread: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[_Row] = []
        self._committing = 0
        self._waiter: asyncio.Future[bool] | None = None  # the writer task idle, see _idle
        self._stopping = False
        self._dead_since_prune = 0
        self._pruned_since_start = False
        self._depth_base = 0  # pending rows at the last count
        self._depth_added = 0  # pushes committed since then
        self._depth_counted_at = 0.0
        # Whether the database takes writes, as this writer's commits find (/healthz, admins).
        self.write_health = WriteHealth()

    @property
    def waiting_rows(self) -> int:
        """Rows waiting for the next commit."""
        return len(self._pending)

    @property
    def committing_rows(self) -> int:
        """Rows of the commit in progress (0 between commits)."""
        return self._committing

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._open)
        await loop.run_in_executor(self._thread, self._refresh_depth)
        self._task = loop.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        """Commit what is waiting, then close the connection."""
        self._stopping = True
        self._wake()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
            self._thread.shutdown(wait=True)
            self._thread = None

    async def store_push(self, kind: PushKind, body: str) -> None:
        """Return once the push is committed to `push_inbox`; InboxUnavailable if it was not."""
        await self._submit(
            "push",
            {
                "kind": kind.value,
                "body": body,
                "received_at": utcnow(),
                "status": InboxStatus.PENDING.value,
                "attempts": 0,
            },
        )

    async def store_dead_letter(
        self, *, path: str, reason: str, content_type: str | None, body: bytes
    ) -> None:
        """Keep a refused body for inspection; returns once committed."""
        await self._submit(
            "dead",
            {
                "received_at": utcnow(),
                "path": path[:256],
                "reason": reason,
                "content_type": content_type[:128] if content_type else None,
                "body": body,
            },
        )

    async def _submit(self, table: Literal["push", "dead"], values: dict[str, Any]) -> None:
        if self._stopping or not self.running:
            raise InboxUnavailable("the listener is stopping")
        if len(self._pending) >= self.max_pending_rows:
            raise InboxUnavailable(
                f"{len(self._pending)} rows are already waiting for the database"
            )
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Row(table, values, done))
        self._wake()
        await done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._thread is not None
        while True:
            if not self._pending:
                if self._stopping:
                    return
                if not await self._idle(self.depth_refresh_s):  # idle: recount now and then
                    await loop.run_in_executor(self._thread, self._refresh_depth)
                continue
            # Everything that arrived while the previous commit ran goes into this one.
            batch = self._pending[: self.max_batch_rows]
            del self._pending[: self.max_batch_rows]

            self._committing = len(batch)
            try:
                failures = await loop.run_in_executor(self._thread, self._write, batch)
            except Exception as exc:  # the whole batch failed (e.g. the database is down)
                log.error("could not store %d pushes: %s", len(batch), describe_error(exc))
                failures = dict.fromkeys(range(len(batch)), exc)
                self.write_health.failed(exc)
            else:
                if len(failures) < len(batch):
                    self.write_health.committed()
            finally:
                self._committing = 0
            stored = dict.fromkeys(PushKind, 0)
            for i, row in enumerate(batch):
                if i in failures:
                    if not row.done.done():  # (a request cancelled meanwhile is done)
                        row.done.set_exception(InboxUnavailable(describe_error(failures[i])))
                    continue
                if row.table == "push":
                    stored[row.values["kind"]] += 1
                if not row.done.done():
                    row.done.set_result(None)
            for kind, count in stored.items():
                if count:  # once per commit, not per push: the counter takes a lock
                    _RECEIVED[kind].inc(count)
            if time.monotonic() - self._depth_counted_at >= self.depth_refresh_s:
                await loop.run_in_executor(self._thread, self._refresh_depth)

    async def _idle(self, timeout: float) -> bool:
        """Wait for a row (or stop()): True; or for `timeout`: False. A bare future, not an
        Event: this is on the path of every push that finds the writer idle."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        expire = loop.call_later(timeout, _resolve, waiter, False)
        try:
            return await waiter
        finally:
            expire.cancel()
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None:
            _resolve(self._waiter, True)

    # ---- in the writer thread -------------------------------------------------------------------
    # Plain DB-API calls on one raw connection, one multi-row INSERT per batch: this thread shares
    # the GIL with the event loop. SQLAlchemy's per-row statement machinery would hold the GIL
    # several times longer, and `executemany` gives the GIL up and takes it back around every row
    # (sqlite3 releases it for each step), and each time it may wait for the event loop to let go
    # (a convoy). The values go through SQLAlchemy's own type processors, so the rows are exactly
    # what the ORM writes and reads.

    def _open(self) -> None:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
            dialect = self._engine.dialect
            # Raw DB-API errors, and SQLAlchemy's wrappers of them (raised when connecting).
            dbapi = dialect.dbapi
            assert dbapi is not None
            self._errors = (dbapi.Error, DBAPIError)
            self._connection_errors = (
                dbapi.OperationalError,
                dbapi.InterfaceError,
                sa_exc.OperationalError,
                sa_exc.InterfaceError,
            )
            self._busy = dbapi.OperationalError
            self._mark = "?" if dialect.paramstyle == "qmark" else "%s"  # sqlite3 | psycopg
            self._at = table_of(PushInbox).c.received_at.type.bind_processor(dialect) or _same
            self._blob = table_of(DeadLetter).c.body.type.bind_processor(dialect) or _same
        conn = self._engine.raw_connection()
        self._sqlite = self._engine.dialect.name == "sqlite"
        if self._sqlite:
            cursor = conn.cursor()
            cursor.execute(f"PRAGMA synchronous={self.sqlite_synchronous}")
            # This writer waits for the write lock itself (see _take_write_lock).
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.close()
            conn.commit()
        self._conn = conn

    def _close(self) -> None:
        self._reset(invalidate=False)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _write(self, batch: list[_Row]) -> dict[int, Exception]:
        """Insert the batch in one transaction. If a row breaks it, store the others one by one,
        so one unstorable row cannot refuse the pushes that arrived with it."""
        try:
            self._insert(batch)
            return {}
        except Exception as exc:
            self._reset()
            # Connection-level trouble (down, locked, gone): every row waits for the retry.
            if isinstance(exc, self._connection_errors) or len(batch) == 1:
                raise
        failures: dict[int, Exception] = {}
        for i, row in enumerate(batch):
            try:
                self._insert([row])
            except self._errors as exc:
                self._reset()
                failures[i] = exc
                log.error("could not store a %s row: %s", row.table, describe_error(exc))
        return failures

    def _insert(self, batch: list[_Row]) -> None:
        if self._conn is None:
            self._open()
        conn = self._conn
        at, blob = self._at, self._blob
        pushes: list[Any] = []
        dead: list[Any] = []
        for row in batch:
            v = row.values
            if row.table == "push":
                pushes += (v["kind"], v["body"], at(v["received_at"]), v["status"], v["attempts"])
            else:
                dead += (
                    at(v["received_at"]), v["path"], v["reason"], v["content_type"],
                    blob(v["body"]),
                )  # fmt: skip
        # Prune with the first refused body after a start (restarts must not let the table grow)
        # and then once per `dead_letter_prune_every`.
        dead_rows = len(dead) // len(_DEAD_COLUMNS)
        prune = bool(dead) and (
            not self._pruned_since_start
            or self._dead_since_prune + dead_rows >= self.dead_letter_prune_every
        )
        cursor = conn.cursor()
        try:
            if self._sqlite:
                self._take_write_lock(cursor)
            if pushes:
                cursor.execute(self._insert_sql("push_inbox", _PUSH_COLUMNS, len(pushes)), pushes)
            if dead:
                cursor.execute(self._insert_sql("dead_letter", _DEAD_COLUMNS, len(dead)), dead)
            if prune:
                # The id of the newest row past the limit; everything older goes (primary key).
                cursor.execute(
                    "DELETE FROM dead_letter WHERE id < (SELECT id FROM dead_letter "
                    f"ORDER BY id DESC LIMIT 1 OFFSET {int(self.dead_letter_limit) - 1})"
                )
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except Exception:
                pass  # the original error is the one to report
            raise
        finally:
            cursor.close()
        if prune:
            self._dead_since_prune, self._pruned_since_start = 0, True
        else:
            self._dead_since_prune += dead_rows
        self.commits += 1
        self.rows_committed += len(batch)
        self.largest_batch = max(self.largest_batch, len(batch))
        self._depth_added += len(pushes) // len(_PUSH_COLUMNS)
        INBOX_DEPTH.set(self._depth_base + self._depth_added)

    def _take_write_lock(self, cursor: Any) -> None:
        """BEGIN IMMEDIATE, trying again every LOCK_RETRY_S while another connection (the relay,
        a handler) holds SQLite's one write lock, for up to LOCK_WAIT_S.

        SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100, … ms
        between its tries, so a commit that met the lock once also waited well past its release
        (p99 of 300-600 ms under the relay's load, bench/RESULTS.md); trying again every half
        millisecond takes the lock within that of its release."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except self._busy as exc:
                if getattr(exc, "sqlite_errorcode", _SQLITE_BUSY) & 0xFF != _SQLITE_BUSY:
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(LOCK_RETRY_S)

    def _insert_sql(self, table: str, columns: tuple[str, ...], values: int) -> str:
        """INSERT … VALUES (…), (…), … for `values` flattened values (SQLite takes 32,766)."""
        row = "(" + ", ".join([self._mark] * len(columns)) + ")"
        rows = ", ".join([row] * (values // len(columns)))
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {rows}"

    def _refresh_depth(self) -> None:
        self._depth_counted_at = time.monotonic()
        try:
            if self._conn is None:
                self._open()
            conn = self._conn
            cursor = conn.cursor()
            try:
                cursor.execute(
                    f"SELECT count(*) FROM push_inbox WHERE status = '{InboxStatus.PENDING.value}'"
                )
                (count,) = cursor.fetchone()
            finally:
                cursor.close()
            conn.commit()
        except Exception as exc:
            self._reset()
            log.warning("could not count the inbox: %s", describe_error(exc))
            return
        self._depth_base, self._depth_added = int(count), 0
        INBOX_DEPTH.set(self._depth_base)

    def _reset(self, *, invalidate: bool = True) -> None:
        """Drop the connection (after an error: the next batch opens a fresh one)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if invalidate:
                    conn.invalidate()
                conn.close()
            except Exception:
                pass  # it is being thrown away


_PUSH_COLUMNS = ("kind", "body", "received_at", "status", "attempts")
_DEAD_COLUMNS = ("received_at", "path", "reason", "content_type", "body")


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _same(value: Any) -> Any:
    return value


def describe_error(exc: BaseException) -> str:
    """The driver's first line, never the statement's parameters (push bodies: up to 1 MiB)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
