"""Engine and session setup for SQLite (default) and PostgreSQL.

The bot runs on one asyncio loop; the engine is synchronous, so every database call from async
code goes through `Database.run`, which executes it in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session, create_engine

T = TypeVar("T")

log = logging.getLogger(__name__)

# Seconds a PostgreSQL connection may take to open before it counts as not answering.
CONNECT_TIMEOUT_S = 10


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (the driver we install)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database or an in-memory one."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def missing_sqlite_folder(url: str) -> Path | None:
    """The folder of the SQLite file `url` names, when that folder does not exist.

    A missing file in an existing folder is a new database (`ccbot run` creates it); a missing
    folder is most likely a volume that is not mounted, and a new empty database there would
    hide the real one, so `ccbot run` refuses it and only `ccbot migrate` creates it."""
    try:
        path = sqlite_file(url)
    except Exception:  # malformed: opening it says so
        return None
    if path is None or path.exists() or path.parent.exists():
        return None
    # A file where a folder should be is another problem, which opening the database names.
    existing = next(p for p in path.parent.parents if p.exists())
    return path.parent if existing.is_dir() else None


def unmounted_volume_problem(url: str) -> str | None:
    """The sentence `ccbot run` refuses to start with when the SQLite file's folder is missing."""
    folder = missing_sqlite_folder(url)
    if folder is None:
        return None
    path = sqlite_file(url)
    return (
        f"the folder {folder} of the SQLite database {path} does not exist. It is probably a "
        "volume that is not mounted: starting would create a new, empty database and the "
        "bot's data would seem lost. Mount the volume (or fix DATABASE_URL); to start a new "
        "database there on purpose, run `ccbot migrate` first, which creates the folder and "
        "the database"
    )


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    # libpq waits for ever by default on a server that accepts the connection and says nothing
    # (a wrong port, a firewall that drops): `ccbot check`, `migrate` and `run` would hang.
    connect_args: dict[str, object] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args
    )


_EXAMPLES = "sqlite:///data/ccbot.db or postgresql://user:password@host:5432/ccbot"


def connect_problem(exc: BaseException, url: str) -> str | None:
    """What went wrong opening the database at `url`, and what to do, in one line without the
    URL's password; None when `exc` is not a problem with reaching or opening the database."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return f"DATABASE_URL is not a database URL: use one like {_EXAMPLES}"
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        return (
            f"DATABASE_URL names a {backend} database, which ccbot does not work with: use "
            f"SQLite or PostgreSQL ({_EXAMPLES})"
        )
    driver = parsed.get_driver_name()
    if isinstance(exc, NoSuchModuleError) or (
        isinstance(exc, ModuleNotFoundError) and exc.name == driver
    ):
        return (
            f"DATABASE_URL asks for the {driver} driver, which is not installed: leave the "
            f"driver out ({_EXAMPLES})"
        )
    if backend == "sqlite":
        path = sqlite_file(url)
        folders = (path.parent, *path.parent.parents) if path is not None else ()
        if isinstance(exc, OSError) and exc.filename and Path(exc.filename) in folders:
            return (
                f"cannot make the folder for the SQLite file {path} ({exc.strerror}): set "
                "DATABASE_URL to a file in a folder ccbot may write"
            )
        if isinstance(exc, OperationalError):
            return (
                f"cannot open the SQLite file {path} ({exc.orig}): check that ccbot may write "
                "it and its folder, or set DATABASE_URL"
            )
        return None
    if not isinstance(exc, OperationalError):
        return None
    where = f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}"
    # libpq's words: "connection to server at ... failed: FATAL:  database "x" does not exist",
    # or "... failed: Connection refused" (a connection error carries no SQLSTATE).
    said = " ".join(str(exc.orig).split())
    if "FATAL:" in said:
        reason = said.split("FATAL:", 1)[1].strip()
        if "database" in reason and "does not exist" in reason:
            return (
                f'{where} has no database "{parsed.database}": create it (createdb '
                f"{parsed.database}) or fix the database name in DATABASE_URL"
            )
        if any(w in reason for w in ("password", "role", "pg_hba.conf", "authentication")):
            return (
                f"{where} refused the user {parsed.username or '(none given)'} ({reason}): fix "
                "the user and password in DATABASE_URL, or allow the user in pg_hba.conf"
            )
        return f"{where} refused the connection ({reason}): check DATABASE_URL"
    reason = said.rsplit("failed:", 1)[-1].split(" Is the server", 1)[0].strip()
    if "timeout expired" in reason:
        reason = f"no answer within {CONNECT_TIMEOUT_S} s"
    return (
        f"{where} did not answer ({reason}): check the host and port in DATABASE_URL and that "
        "PostgreSQL is running there"
    )


class WriteRefusal(StrEnum):
    """Why the database takes no writes at all (as opposed to refusing one row): the `reason`
    label of a push that could not be stored, and what /healthz, /readyz and the admins read."""

    DATABASE_FULL = "database_full"  # SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100)
    DATABASE_UNAVAILABLE = "database_unavailable"  # down, unreachable, read-only, I/O errors


# SQLite primary result codes (the low byte of sqlite_errorcode).
_SQLITE_FULL = 13
_SQLITE_UNAVAILABLE = {8, 10, 11, 14, 26}  # READONLY, IOERR, CORRUPT, CANTOPEN, NOTADB
# PostgreSQL SQLSTATE classes that refuse every write: connection exceptions, insufficient
# resources, operator intervention (shutdown, "cannot connect now"); and a read-only transaction.
_POSTGRES_UNAVAILABLE_CLASSES = ("08", "53", "57")
_POSTGRES_NOT_UNAVAILABLE = {"57014"}  # query_canceled: one statement, not the database


def write_refusal(exc: BaseException) -> WriteRefusal | None:
    """Whether `exc` means the database takes no writes now (a full disk, a server that is down
    or read-only); None for an error about one statement or row (a constraint, a bad value, a
    missing table), which says nothing about the next write."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        primary = code & 0xFF
        if primary == _SQLITE_FULL:
            return WriteRefusal.DATABASE_FULL
        return WriteRefusal.DATABASE_UNAVAILABLE if primary in _SQLITE_UNAVAILABLE else None
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate:
        if sqlstate == "53100":
            return WriteRefusal.DATABASE_FULL
        if sqlstate == "25006" or (
            sqlstate[:2] in _POSTGRES_UNAVAILABLE_CLASSES
            and sqlstate not in _POSTGRES_NOT_UNAVAILABLE
        ):
            return WriteRefusal.DATABASE_UNAVAILABLE
        return None
    # No code at all: the driver could not reach the server, or lost the connection.
    if isinstance(exc, OperationalError | InterfaceError) or type(orig).__name__ in (
        "OperationalError",
        "InterfaceError",
    ):
        return WriteRefusal.DATABASE_UNAVAILABLE
    return None


def first_line(exc: BaseException) -> str:
    """The driver's own first line (never the statement or its parameters)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@dataclass(frozen=True)
class WriteChange:
    """The database stopped taking writes (`refused`), or took one again after `lasted_s`."""

    refused: bool
    reason: WriteRefusal | None
    detail: str
    lasted_s: float = 0.0


@dataclass
class WriteHealth:
    """Whether the database takes writes, as the last writes found: the push inbox's writer
    reports each commit and each refusal, and /healthz's probe does while none comes. Called
    on the event loop; a change (refused, or taking writes again) goes to each listener once."""

    clock: Callable[[], float] = time.monotonic
    last_commit_at: float | None = None
    last_result_at: float | None = None
    refused_since: float | None = None
    reason: WriteRefusal | None = None
    detail: str = ""
    listeners: list[Callable[[WriteChange], None]] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return self.refused_since is not None

    def refused_for_s(self) -> float:
        return 0.0 if self.refused_since is None else max(self.clock() - self.refused_since, 0.0)

    def committed(self) -> None:
        now = self.last_commit_at = self.last_result_at = self.clock()
        if self.refused_since is None:
            return
        change = WriteChange(False, self.reason, self.detail, now - self.refused_since)
        self.refused_since, self.reason, self.detail = None, None, ""
        self._tell(change)

    def failed(self, exc: BaseException) -> None:
        """A write failed with `exc`; only a refusal of every write changes the state."""
        reason = write_refusal(exc)
        if reason is None:
            return
        self.last_result_at = self.clock()
        self.reason, self.detail = reason, first_line(exc)
        if self.refused_since is None:
            self.refused_since = self.last_result_at
            self._tell(WriteChange(True, reason, self.detail))

    def apply(self, change: WriteChange) -> None:
        """A change another process's writer saw (`ccbot run`'s push listener is a child
        process): this health follows it and tells its own listeners."""
        if not change.refused:
            self.committed()
            return
        self.last_result_at = self.clock()
        self.reason, self.detail = change.reason, change.detail
        if self.refused_since is None:
            self.refused_since = self.last_result_at
            self._tell(WriteChange(True, change.reason, change.detail))

    def push_refusal_label(self) -> str:
        """The `reason` to count a push the inbox could not store under."""
        return self.reason.value if self.reason is not None else "not_stored"

    def _tell(self, change: WriteChange) -> None:
        for listener in list(self.listeners):
            try:
                listener(change)
            except Exception:  # a listener's bug must not stop the writer that reported
                log.exception("a listener of the database's write health failed")


class Database:
    """The process's engine plus helpers to use it from sync and async code."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def call(self, fn: Callable[[Session], T]) -> T:
        with self.session() as session:
            return fn(session)

    async def run(self, fn: Callable[[Session], T]) -> T:
        """Run `fn(session)` in a worker thread inside one transaction."""
        return await asyncio.to_thread(self.call, fn)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
