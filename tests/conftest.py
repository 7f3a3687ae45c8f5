"""Shared fixtures: databases (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from storage.db import Database, normalise_url
from storage.migrate import upgrade

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No test reads the developer's .env or real credentials by accident."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "LAAFFIC_")) or name in (
            "DATABASE_URL",
            "PUSH_TOKEN",
            "ADMIN_USER_IDS",
        ):
            monkeypatch.delenv(name, raising=False)


def _admin_engine() -> Engine:
    assert TEST_DATABASE_URL
    return create_engine(
        make_url(normalise_url(TEST_DATABASE_URL)), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


def _fresh_postgres_database(template: str | None = None) -> tuple[str, str]:
    """Create a database next to TEST_DATABASE_URL's, empty or a copy of `template`; return
    (url, name). Its commits do not wait for the WAL to reach the disk (synchronous_commit off):
    the tests stop processes, never PostgreSQL, so what they check is the same, only quicker."""
    assert TEST_DATABASE_URL
    admin_url = make_url(normalise_url(TEST_DATABASE_URL))
    name = f"ccbot_test_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    with engine.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    engine.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(name: str) -> None:
    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


# What a migrated database's schema is made of, summed up: a test that changed it (dropped or
# renamed a table, downgraded) leaves a database that is dropped rather than reused.
_SCHEMA_FINGERPRINT = text(
    """
    SELECT md5(coalesce(string_agg(item, '|' ORDER BY item), '')) FROM (
      SELECT 'r ' || c.relname::text || ' ' || c.relkind::text || ' '
             || coalesce(a.attname::text, '') || ' '
             || coalesce(format_type(a.atttypid, a.atttypmod), '') || ' '
             || coalesce(a.attnotnull::text, '') || ' '
             || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS item
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      UNION ALL SELECT 'i ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
      UNION ALL SELECT 'c ' || conrelid::regclass::text || ' ' || conname::text || ' '
             || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
      UNION ALL SELECT 't ' || typname::text FROM pg_type WHERE typnamespace = 'public'::regnamespace
      UNION ALL SELECT 'f ' || proname::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace
      UNION ALL SELECT 'g ' || tgname::text FROM pg_trigger WHERE NOT tgisinternal
      UNION ALL SELECT 'n ' || nspname::text FROM pg_namespace
      UNION ALL SELECT 'v ' || version_num::text FROM alembic_version
    ) AS schema_items
    """
)


def _emptied(url: str, name: str, fingerprint: str) -> bool:
    """Make a used migrated database as new: end every other session on it, check its schema is
    still the template's, delete every row and restart every sequence. False: it cannot be
    reused (its schema changed, or emptying it failed)."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
    finally:
        admin.dispose()
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            if conn.execute(_SCHEMA_FINGERPRINT).scalar_one() != fingerprint:
                return False
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK order
            tables = conn.execute(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables "
                    "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ).scalars()
            for table in list(tables):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
                    "FROM pg_sequences WHERE schemaname = 'public'"
                )
            )
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


class MigratedTemplates:
    """One migrated database per backend and test process, copied for each test that asks for a
    migrated one: a copy takes milliseconds, running the migrations ~0.2 s on SQLite and ~0.5 s on
    PostgreSQL. The migrations themselves are tested from empty databases (tests/storage).

    On PostgreSQL a copy still takes ~0.4 s to create and ~0.15 s to drop, so a test's copy is
    emptied afterwards (every row deleted, sequences restarted: ~20 ms) and handed to the next
    test of this process, unless the test changed its schema (then it is dropped)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: Path | None = None
        self._postgres: str | None = None
        self._fingerprint = ""
        self._idle: list[tuple[str, str]] = []  # emptied copies, ready for the next test
        self._copies: set[str] = set()

    def sqlite_copy(self, target: Path) -> None:
        if self._sqlite is None:
            path = self._directory / "migrated-template.db"
            upgrade(f"sqlite:///{path}")  # disposes its engine: the WAL is folded into the file
            assert not path.with_name(path.name + "-wal").exists()
            self._sqlite = path
        shutil.copyfile(self._sqlite, target)

    def postgres_copy(self) -> tuple[str, str]:
        """A migrated database with no rows, for one test; returns (url, name). Give it back
        with `postgres_done`."""
        if self._postgres is None:
            url, name = _fresh_postgres_database()
            self._postgres = name  # dropped at the end of the session whatever happens next
            upgrade(url)
            engine = create_engine(normalise_url(url), poolclass=NullPool)
            try:
                with engine.connect() as conn:
                    self._fingerprint = conn.execute(_SCHEMA_FINGERPRINT).scalar_one()
            finally:
                engine.dispose()
        if self._idle:
            return self._idle.pop()
        url, name = _fresh_postgres_database(template=self._postgres)
        self._copies.add(name)
        return url, name

    def postgres_done(self, url: str, name: str) -> None:
        if _emptied(url, name, self._fingerprint):
            self._idle.append((url, name))
        else:
            self._copies.discard(name)
            _drop_postgres_database(name)

    def drop(self) -> None:
        for name in [*self._copies, *([self._postgres] if self._postgres else [])]:
            _drop_postgres_database(name)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated-templates"))
    try:
        yield templates
    finally:
        templates.drop()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """A database URL, once per backend (PostgreSQL only when TEST_DATABASE_URL is set): empty,
    or already migrated when the test (or one of its fixtures) asks for `migrated_url`."""
    migrated = "migrated_url" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "ccbot-test.db"
        if migrated:
            migrated_templates.sqlite_copy(path)
        yield f"sqlite:///{path}"
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    if not migrated:
        url, name = _fresh_postgres_database()
        try:
            yield url
        finally:
            _drop_postgres_database(name)
        return
    url, name = migrated_templates.postgres_copy()
    try:
        yield url
    finally:
        migrated_templates.postgres_done(url, name)


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """`database_url` with the schema at the newest revision (a copy of a migrated template)."""
    return database_url


@pytest.fixture
def database(migrated_url: str) -> Iterator[Database]:
    db = Database(migrated_url)
    try:
        yield db
    finally:
        db.dispose()


# Tests that run for many seconds (real `ccbot run` processes, kill -9, property tests, long
# end-to-end flows), longest first. They are collected first, so pytest-xdist (`--dist load`, the
# README's `make test`) starts them at once on every worker instead of leaving one worker with
# a minute of work after the others are done. A prefix of a test id; order is kept otherwise.
START_FIRST = (
    "tests/ops/test_two_replicas.py",
    "tests/listener/test_kill9.py",
    "tests/listener/test_random_input.py",
    "tests/test_config.py::test_a_database_that_cannot_be_opened",
    "tests/ops/test_stop.py",
    "tests/bot/test_figures_agree.py",
    "tests/bot/test_relay_end_to_end.py",
    "tests/storage/test_migrations.py",
    "tests/bot/test_secrets_never_logged.py",
    "tests/ops/test_polling.py",
    "tests/delivery/test_restart.py",
    "tests/delivery/test_replicas.py",
    "tests/delivery/test_pacing.py",
    "tests/laaffic/test_client.py",
    "tests/test_check_database.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next(
            (n for n, prefix in enumerate(START_FIRST) if item.nodeid.startswith(prefix)),
            len(START_FIRST),
        )

    items.sort(key=rank)  # stable: everything else keeps its collection order


# Shared fakes live in tests/fakes; registering them here makes their fixtures available everywhere.
# tests.log_guard: the whole run's log output, at DEBUG, is scanned for the tests' secrets.
pytest_plugins = ["tests.fakes.simulator", "tests.fakes.telegram", "tests.log_guard"]
