"""Shared fixtures: databases (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

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


def _fresh_postgres_database() -> tuple[str, str]:
    """Create an empty database next to TEST_DATABASE_URL's; return (url, name)."""
    assert TEST_DATABASE_URL
    admin_url = make_url(normalise_url(TEST_DATABASE_URL))
    name = f"ccbot_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), name


def _drop_postgres_database(name: str) -> None:
    admin_url = make_url(normalise_url(TEST_DATABASE_URL or ""))
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database URL, once per backend (PostgreSQL only when TEST_DATABASE_URL is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ccbot-test.db'}"
        return
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    url, name = _fresh_postgres_database()
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def migrated_url(database_url: str) -> str:
    upgrade(database_url)
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
