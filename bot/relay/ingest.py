"""Storing accepted pushes (and refused bodies) with group commits, before the listener answers.

The platform counts a push as delivered on HTTP 200, so 200 may only follow a commit. A commit per
request would cap the listener at the speed of one fsync per push; instead one writer task takes
every row that arrived while the previous commit ran, inserts them in one transaction
(executemany) on its own connection, in its own thread, commits once, and then wakes every request
that was waiting for it. Under load a commit carries many pushes; when idle, a push waits for one.

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

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.metrics import INBOX_DEPTH
from bot.relay.push_shapes import PushKind
from storage.db import make_engine, normalise_url
from storage.models import DeadLetter, InboxStatus, PushInbox, utcnow

log = logging.getLogger(__name__)

SqliteSynchronous = Literal["NORMAL", "FULL"]

DEAD_LETTER_LIMIT = 10_000  # refused bodies kept; the oldest are dropped past this
DEAD_LETTER_PRUNE_EVERY = 100  # prune once per this many refused bodies (cheap: one DELETE)
MAX_BATCH_ROWS = 500  # rows per transaction, so one commit never holds an unbounded batch
DEPTH_REFRESH_S = 5.0  # how often INBOX_DEPTH is recounted from the table

_INSERT_PUSH = insert(PushInbox)
_INSERT_DEAD = insert(DeadLetter)


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
    ) -> None:
        self.database_url = normalise_url(database_url)
        self.sqlite_synchronous = sqlite_synchronous
        self.dead_letter_limit = dead_letter_limit
        self.dead_letter_prune_every = dead_letter_prune_every
        self.max_batch_rows = max_batch_rows
        # What the tests and the benchmark look at: how many transactions carried how many rows.
        self.commits = 0
        self.rows_committed = 0
        self.largest_batch = 0
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[_Row] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._dead_since_prune = 0
        self._pruned_since_start = False
        self._depth_base = 0  # pending rows at the last count
        self._depth_added = 0  # pushes committed since then
        self._depth_counted_at = 0.0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._wake = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._open)
        await loop.run_in_executor(self._thread, self._refresh_depth)
        self._task = loop.create_task(self._run(), name="inbox-writer")

    async def stop(self) -> None:
        """Commit what is waiting, then close the connection."""
        self._stopping = True
        self._wake.set()
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
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Row(table, values, done))
        self._wake.set()
        await done

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._thread is not None
        while True:
            if not self._pending:
                if self._stopping:
                    return
                try:
                    async with asyncio.timeout(DEPTH_REFRESH_S):
                        await self._wake.wait()
                except TimeoutError:
                    await loop.run_in_executor(self._thread, self._refresh_depth)
                self._wake.clear()
                continue
            # Everything that arrived while the previous commit ran goes into this one.
            batch = self._pending[: self.max_batch_rows]
            del self._pending[: self.max_batch_rows]
            try:
                failures = await loop.run_in_executor(self._thread, self._write, batch)
            except Exception as exc:  # the whole batch failed (e.g. the database is down)
                log.error("could not store %d pushes: %s", len(batch), describe_error(exc))
                failures = dict.fromkeys(range(len(batch)), exc)
            for i, row in enumerate(batch):
                if row.done.done():  # the request was cancelled meanwhile
                    continue
                if i in failures:
                    row.done.set_exception(InboxUnavailable(describe_error(failures[i])))
                else:
                    row.done.set_result(None)
            if time.monotonic() - self._depth_counted_at >= DEPTH_REFRESH_S:
                await loop.run_in_executor(self._thread, self._refresh_depth)

    # ---- in the writer thread -------------------------------------------------------------------

    def _open(self) -> None:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        conn = self._engine.connect()
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(f"PRAGMA synchronous={self.sqlite_synchronous}")
            conn.commit()
        self._conn = conn

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass  # closing a broken connection may fail; there is nothing to keep
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _write(self, batch: list[_Row]) -> dict[int, Exception]:
        """Insert the batch in one transaction. If a row breaks it, store the others one by one,
        so one unstorable row cannot refuse the pushes that arrived with it."""
        try:
            self._insert(batch)
            return {}
        except OperationalError:
            self._reset()  # connection-level trouble: every row waits for the platform's retry
            raise
        except DBAPIError as exc:
            self._reset()
            if len(batch) == 1:
                return {0: exc}
        failures: dict[int, Exception] = {}
        for i, row in enumerate(batch):
            try:
                self._insert([row])
            except DBAPIError as exc:
                self._reset()
                failures[i] = exc
                log.error("could not store a %s row: %s", row.table, describe_error(exc))
        return failures

    def _insert(self, batch: list[_Row]) -> None:
        if self._conn is None:
            self._open()
        conn = self._conn
        assert conn is not None
        pushes = [row.values for row in batch if row.table == "push"]
        dead = [row.values for row in batch if row.table == "dead"]
        # Prune with the first refused body after a start (restarts must not let the table grow)
        # and then once per `dead_letter_prune_every`.
        prune = bool(dead) and (
            not self._pruned_since_start
            or self._dead_since_prune + len(dead) >= self.dead_letter_prune_every
        )
        try:
            if pushes:
                conn.execute(_INSERT_PUSH, pushes)
            if dead:
                conn.execute(_INSERT_DEAD, dead)
            if prune:
                self._prune_dead_letters(conn)
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except Exception:
                pass  # the original error is the one to report
            raise
        if prune:
            self._dead_since_prune, self._pruned_since_start = 0, True
        else:
            self._dead_since_prune += len(dead)
        self.commits += 1
        self.rows_committed += len(batch)
        self.largest_batch = max(self.largest_batch, len(batch))
        self._depth_added += len(pushes)
        INBOX_DEPTH.set(self._depth_base + self._depth_added)

    def _prune_dead_letters(self, conn: Connection) -> None:
        # The id of the newest row past the limit; everything older goes. Uses the primary key.
        oldest_kept = (
            select(DeadLetter.id)
            .order_by(DeadLetter.id.desc())  # type: ignore[union-attr]
            .offset(self.dead_letter_limit - 1)
            .limit(1)
            .scalar_subquery()
        )
        conn.execute(delete(DeadLetter).where(DeadLetter.id < oldest_kept))  # type: ignore[operator]

    def _refresh_depth(self) -> None:
        self._depth_counted_at = time.monotonic()
        try:
            if self._conn is None:
                self._open()
            assert self._conn is not None
            count = self._conn.execute(
                select(func.count())
                .select_from(PushInbox)
                .where(PushInbox.status == InboxStatus.PENDING.value)
            ).scalar_one()
            self._conn.commit()
        except DBAPIError as exc:
            self._reset()
            log.warning("could not count the inbox: %s", describe_error(exc))
            return
        self._depth_base, self._depth_added = int(count), 0
        INBOX_DEPTH.set(self._depth_base)

    def _reset(self) -> None:
        """Drop the connection after an error; the next batch opens a fresh one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:
                pass  # it is being thrown away


def describe_error(exc: BaseException) -> str:
    """The driver's message without SQLAlchemy's echo of the statement and its parameters (push
    bodies: up to 1 MiB each)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        first = str(exc.orig).strip().splitlines()
        return f"{type(exc.orig).__name__}: {first[0] if first else ''}"
    return f"{type(exc).__name__}: {exc}"
