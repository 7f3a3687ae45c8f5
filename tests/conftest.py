"""Shared fixtures: databases (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

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


def _fresh_postgres_database(template: str | None = None) -> tuple[str, str]:
    """Create a database next to TEST_DATABASE_URL's, empty or a copy of `template`; return
    (url, name)."""
    assert TEST_DATABASE_URL
    admin_url = make_url(normalise_url(TEST_DATABASE_URL))
    name = f"ccbot_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    engine.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(name: str) -> None:
    admin_url = make_url(normalise_url(TEST_DATABASE_URL or ""))
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


class MigratedTemplates:
    """One migrated database per backend and test process, copied for each test that asks for a
    migrated one: a copy takes milliseconds, running the migrations ~0.2 s on SQLite and ~0.5 s on
    PostgreSQL. The migrations themselves are tested from empty databases (tests/storage)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite_copy(self, target: Path) -> None:
        if self._sqlite is None:
            path = self._directory / "migrated-template.db"
            upgrade(f"sqlite:///{path}")  # disposes its engine: the WAL is folded into the file
            assert not path.with_name(path.name + "-wal").exists()
            self._sqlite = path
        shutil.copyfile(self._sqlite, target)

    def postgres_copy(self) -> tuple[str, str]:
        """A new database created from the migrated template; returns (url, name)."""
        if self._postgres is None:
            url, name = _fresh_postgres_database()
            upgrade(url)
            self._postgres = name
        return _fresh_postgres_database(template=self._postgres)

    def drop(self) -> None:
        if self._postgres is not None:
            _drop_postgres_database(self._postgres)


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
    url, name = migrated_templates.postgres_copy() if migrated else _fresh_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


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


# Shared fakes live in tests/fakes; registering them here makes their fixtures available everywhere.
# tests.log_guard: the whole run's log output, at DEBUG, is scanned for the tests' secrets.
pytest_plugins = ["tests.fakes.simulator", "tests.fakes.telegram", "tests.log_guard"]
