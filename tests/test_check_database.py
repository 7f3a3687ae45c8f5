"""`ccbot check`'s database line: a database `ccbot run` will migrate is fine, others are not."""

from __future__ import annotations

import io

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from bot.check import run_checks
from bot.config import load_settings
from storage.db import normalise_url
from storage.migrate import alembic_config, head_revision, upgrade
from tests.bot.conftest import make_settings


async def database_line(url: str) -> str:
    """The database line of `ccbot check` (the other checks fail fast without credentials)."""
    out = io.StringIO()
    await run_checks(load_settings(database_url=url), out)
    (line,) = [line for line in out.getvalue().splitlines() if " database: " in line]
    return line


def run_sql(url: str, *statements: str) -> None:
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def touch_sqlite(url: str) -> None:
    """An empty SQLite database file (a missing one is a case of its own)."""
    if url.startswith("sqlite"):
        run_sql(url, "SELECT 1")


async def test_an_empty_database_passes_with_the_note_that_run_creates_the_tables(
    database_url: str,
) -> None:
    touch_sqlite(database_url)
    line = await database_line(database_url)
    assert line.startswith("✓ database: reachable and empty ("), line
    assert "`ccbot run` creates the tables at start (or run `ccbot migrate` now)" in line


async def test_a_database_behind_passes_with_the_note_that_run_migrates_it(
    database_url: str,
) -> None:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    first = script.get_base()
    head = head_revision(database_url)
    assert first != head  # there is something to migrate
    command.upgrade(alembic_config(database_url), first)
    line = await database_line(database_url)
    assert line.startswith(
        f"✓ database: reachable, schema at revision {first}, the newest is {head}"
    )
    assert "`ccbot run` migrates it at start (or run `ccbot migrate` now)" in line
    upgrade(database_url)
    line = await database_line(database_url)
    assert line.startswith(f"✓ database: reachable, schema up to date ({head}, "), line


async def test_a_schema_from_a_newer_ccbot_fails(database_url: str) -> None:
    upgrade(database_url)
    run_sql(database_url, "UPDATE alembic_version SET version_num = 'f00dface'")
    line = await database_line(database_url)
    assert line.startswith(
        "✗ database: schema is at revision f00dface, which this ccbot does not know"
    ), line
    assert line.endswith(": upgrade ccbot")


async def test_tables_named_like_ours_without_a_schema_version_fail(database_url: str) -> None:
    run_sql(database_url, "CREATE TABLE bound_chat (chat_id BIGINT PRIMARY KEY)")
    line = await database_line(database_url)
    assert line.startswith("✗ database: reachable, but it holds tables named like ccbot's "), line
    assert "(bound_chat)" in line and "point DATABASE_URL at an empty database" in line


async def test_an_unreachable_database_fails(tmp_path) -> None:
    line = await database_line("postgresql://postgres@127.0.0.1:1/nothing")
    assert line == (
        "✗ database: does not answer: check DATABASE_URL and that the database server is running"
    )
    (tmp_path / "file").write_text("not a directory")
    line = await database_line(f"sqlite:///{tmp_path / 'file' / 'x.db'}")
    assert line.startswith("✗ database: no SQLite file at "), line
    assert "is a file, not a folder" in line


async def test_a_missing_sqlite_file_passes_and_is_not_created_by_the_check(tmp_path) -> None:
    path = tmp_path / "data" / "ccbot.db"
    line = await database_line(f"sqlite:///{path}")
    assert line == (
        f"✓ database: no SQLite file yet at {path}: `ccbot run` creates it and the schema at "
        "start (or run `ccbot migrate` now)"
    )
    assert not path.exists() and not path.parent.exists()


async def test_a_sqlite_file_in_a_folder_ccbot_may_not_write_fails(tmp_path) -> None:
    import os

    if os.geteuid() == 0:
        import pytest

        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = await database_line(f"sqlite:///{locked / 'ccbot.db'}")
    assert line.startswith("✗ database: no SQLite file at ") and "is not writable" in line


async def test_check_exits_0_on_an_empty_database_when_the_rest_answers(
    fake_telegram, simulator, tmp_path
) -> None:
    out = io.StringIO()
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    touch_sqlite(url)
    code = await run_checks(make_settings(fake_telegram, simulator, url), out)
    assert code == 0, out.getvalue()
    assert "✓ database: reachable and empty (sqlite)" in out.getvalue()
