"""Telling a database that takes no writes (a full disk, a server down or read-only) from one
statement that failed, with the errors the real drivers raise; and the state kept from them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from storage.db import (
    WriteChange,
    WriteHealth,
    WriteRefusal,
    normalise_url,
    write_refusal,
)
from tests.conftest import TEST_DATABASE_URL

needs_postgres = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")


def _sqlite_error(tmp_path: Path, *statements: str) -> sqlite3.Error:
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("the statements did not fail")


def test_sqlite_full_is_a_full_database(tmp_path: Path) -> None:
    exc = _sqlite_error(
        tmp_path,
        "CREATE TABLE t (b BLOB)",
        "PRAGMA max_page_count = 1",
        "INSERT INTO t VALUES (randomblob(100000))",
    )
    assert write_refusal(exc) is WriteRefusal.DATABASE_FULL


def test_a_read_only_sqlite_file_takes_no_writes(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    read_only = sqlite3.connect(f"file:{tmp_path / 't.db'}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        read_only.execute("INSERT INTO t VALUES (1)")
    read_only.close()
    assert write_refusal(caught.value) is WriteRefusal.DATABASE_UNAVAILABLE


@pytest.mark.parametrize(
    "statements",
    [
        ("SELECT * FROM no_such_table",),
        ("CREATE TABLE t (x PRIMARY KEY)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)"),
    ],
    ids=["missing table", "duplicate key"],
)
def test_one_failing_sqlite_statement_says_nothing_about_the_next_write(
    tmp_path: Path, statements: tuple[str, ...]
) -> None:
    assert write_refusal(_sqlite_error(tmp_path, *statements)) is None


def _postgres_error(*statements: str) -> DBAPIError:
    assert TEST_DATABASE_URL
    engine = create_engine(normalise_url(TEST_DATABASE_URL))
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    except DBAPIError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("the statements did not fail")


@needs_postgres
def test_postgres_disk_full_is_a_full_database() -> None:
    exc = _postgres_error(
        "DO $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$"
    )
    assert write_refusal(exc) is WriteRefusal.DATABASE_FULL


@needs_postgres
def test_a_read_only_postgres_transaction_takes_no_writes() -> None:
    exc = _postgres_error("SET TRANSACTION READ ONLY", "CREATE TEMP TABLE t (x int)")
    assert write_refusal(exc) is WriteRefusal.DATABASE_UNAVAILABLE


@needs_postgres
def test_one_failing_postgres_statement_says_nothing_about_the_next_write() -> None:
    assert write_refusal(_postgres_error("SELECT * FROM no_such_table")) is None
    assert write_refusal(_postgres_error("SELECT 1 / 0")) is None


def test_a_postgres_server_nobody_answers_on_takes_no_writes() -> None:
    engine = create_engine(normalise_url("postgresql://postgres@127.0.0.1:1/nothing"))
    with pytest.raises(DBAPIError) as caught:
        engine.connect()
    engine.dispose()
    assert write_refusal(caught.value) is WriteRefusal.DATABASE_UNAVAILABLE


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_write_health_tells_each_change_once_and_how_long_writes_were_refused(
    tmp_path: Path,
) -> None:
    clock = Clock()
    health = WriteHealth(clock=clock)
    changes: list[WriteChange] = []
    health.listeners.append(changes.append)
    full = _sqlite_error(
        tmp_path, "CREATE TABLE t (b BLOB)", "PRAGMA max_page_count = 1",
        "INSERT INTO t VALUES (randomblob(100000))",
    )  # fmt: skip
    health.committed()
    health.failed(_sqlite_error(tmp_path, "SELECT * FROM no_such_table"))  # one statement's
    assert not health.refused and changes == []

    health.failed(full)
    clock.now += 30
    health.failed(full)
    assert health.refused and health.reason is WriteRefusal.DATABASE_FULL
    assert health.refused_for_s() == 30 and health.push_refusal_label() == "database_full"
    clock.now += 60
    health.committed()
    health.committed()
    assert not health.refused and health.push_refusal_label() == "not_stored"
    assert changes == [
        WriteChange(True, WriteRefusal.DATABASE_FULL, "database or disk is full"),
        WriteChange(False, WriteRefusal.DATABASE_FULL, "database or disk is full", 90.0),
    ]
