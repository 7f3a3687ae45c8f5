"""Engine and session setup for SQLite (default) and PostgreSQL.

The bot runs on one asyncio loop; the engine is synchronous, so every database call from async
code goes through `Database.run`, which executes it in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

T = TypeVar("T")

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
