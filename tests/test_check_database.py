"""`ccbot check`'s database line: a database `ccbot run` will migrate is fine, others are not; and
`ccbot run` refuses a SQLite database whose folder is missing (an unmounted volume)."""

from __future__ import annotations

import asyncio
import io
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import storage.db
from bot.check import run_checks
from bot.config import load_settings
from storage.db import normalise_url
from storage.migrate import alembic_config, head_revision, upgrade
from tests.bot.conftest import make_settings
from tests.conftest import TEST_DATABASE_URL


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
        "✗ database: PostgreSQL at 127.0.0.1:1 did not answer (Connection refused): check the "
        "host and port in DATABASE_URL and that PostgreSQL is running there"
    )
    (tmp_path / "file").write_text("not a directory")
    line = await database_line(f"sqlite:///{tmp_path / 'file' / 'x.db'}")
    assert line.startswith("✗ database: no SQLite file at "), line
    assert "is a file, not a folder" in line


async def test_a_missing_sqlite_file_in_an_existing_folder_passes_and_is_not_created(
    tmp_path,
) -> None:
    path = tmp_path / "ccbot.db"
    line = await database_line(f"sqlite:///{path}")
    assert line == (
        f"✓ database: no SQLite file yet at {path}: `ccbot run` creates it and the schema at "
        "start (or run `ccbot migrate` now)"
    )
    assert not path.exists()


async def test_a_sqlite_file_whose_folder_is_missing_fails_as_an_unmounted_volume(
    tmp_path,
) -> None:
    path = tmp_path / "data" / "ccbot.db"
    line = await database_line(f"sqlite:///{path}")
    assert line == (
        f"✗ database: no SQLite file at {path}, and its folder {path.parent} does not exist: "
        "probably a volume that is not mounted, so `ccbot run` will not start (it would begin "
        "a new, empty database); mount it or fix DATABASE_URL, or run `ccbot migrate` to "
        "create the database there on purpose"
    )
    assert not path.parent.exists()


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


needs_postgres = pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set")


@needs_postgres
async def test_a_postgresql_database_that_does_not_exist_is_named_with_the_fix() -> None:
    url = make_url(normalise_url(TEST_DATABASE_URL or "")).set(
        database="ccbot_no_such_db", password="hunter2secret"
    )
    line = await database_line(url.render_as_string(hide_password=False))
    assert line.startswith(f"✗ database: PostgreSQL at {url.host}:{url.port or 5432} has no "
                           'database "ccbot_no_such_db": create it (createdb ccbot_no_such_db)')
    assert "hunter2secret" not in line


@needs_postgres
async def test_a_postgresql_user_it_refuses_is_told_apart_from_a_server_that_is_down() -> None:
    url = make_url(normalise_url(TEST_DATABASE_URL or "")).set(
        username="ccbot_no_such_role", password="hunter2secret"
    )
    line = await database_line(url.render_as_string(hide_password=False))
    assert line.startswith(f"✗ database: PostgreSQL at {url.host}:{url.port or 5432} refused "
                           "the user ccbot_no_such_role ("), line
    assert "fix the user and password in DATABASE_URL" in line
    assert "hunter2secret" not in line


async def test_a_server_that_accepts_and_never_answers_fails_after_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A wrong port that some silent service holds, or a firewall that swallows packets: without
    # a connect timeout libpq (and so `ccbot check`, `migrate` and `run`) waits for ever.
    monkeypatch.setattr(storage.db, "CONNECT_TIMEOUT_S", 1)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    try:
        line = await asyncio.wait_for(
            database_line(f"postgresql://postgres@127.0.0.1:{port}/x"), timeout=30  # hang guard
        )
    finally:
        silent.close()  # resets the waiting connection, so a hung check ends too
    assert line == (
        f"✗ database: PostgreSQL at 127.0.0.1:{port} did not answer (no answer within 1 s): "
        "check the host and port in DATABASE_URL and that PostgreSQL is running there"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "mysql://ccbot:hunter2secret@db/ccbot",
            "✗ database: DATABASE_URL names a mysql database, which ccbot does not work with: use "
            "SQLite or PostgreSQL (sqlite:///data/ccbot.db or "
            "postgresql://user:password@host:5432/ccbot)",
        ),
        (
            "ccbot.db",
            "✗ database: DATABASE_URL is not a database URL: use one like sqlite:///data/ccbot.db "
            "or postgresql://user:password@host:5432/ccbot",
        ),
    ],
)
async def test_a_database_url_ccbot_cannot_use_says_which_kinds_it_can(url, expected) -> None:
    assert await database_line(url) == expected


def test_an_error_that_is_not_the_databases_is_not_blamed_on_database_url() -> None:
    missing = ModuleNotFoundError("No module named 'uvloop'", name="uvloop")
    assert storage.db.connect_problem(missing, "sqlite:///data/ccbot.db") is None
    assert storage.db.connect_problem(missing, "postgresql://u@h/db") is None
    assert storage.db.connect_problem(RuntimeError("boom"), "postgresql://u@h/db") is None


async def test_a_driver_that_is_not_installed_is_named() -> None:
    line = await database_line("postgresql+asyncpg://ccbot:hunter2secret@db/ccbot")
    assert line.startswith(
        "✗ database: DATABASE_URL asks for the asyncpg driver, which is not installed: leave "
        "the driver out ("
    ), line


# ---------------------------------------------- a missing folder: `ccbot run` refuses, `migrate` makes it

ROOT = Path(__file__).resolve().parent.parent


def ccbot(command: str, database_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`ccbot COMMAND` as a process, with a Telegram nobody answers (run stops there)."""
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": "1:x", "LAAFFIC_API_KEY": "k", "LAAFFIC_API_SECRET": "s",
        "LAAFFIC_APP_ID": "a", "PUSH_TOKEN": "push-token-for-the-test-0123",
        "LISTEN_HOST": "127.0.0.1", "LISTEN_PORT": "0", "TELEGRAM_API_URL": "http://127.0.0.1:9",
        "DATABASE_URL": database_url,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "bot", command],
        capture_output=True, text=True, env=env, cwd=home, timeout=60,
    )  # fmt: skip


def test_run_refuses_a_sqlite_file_whose_folder_is_missing_and_migrate_creates_it(
    tmp_path: Path,
) -> None:
    volume = tmp_path / "volume"
    url = f"sqlite:///{volume / 'ccbot.db'}"
    refused = ccbot("run", url, tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip() == (
        f"ccbot: will not start: the folder {volume} of the SQLite database "
        f"{volume / 'ccbot.db'} does not exist. It is probably a volume that is not mounted: "
        "starting would create a new, empty database and the bot's data would seem lost. Mount "
        "the volume (or fix DATABASE_URL); to start a new database there on purpose, run "
        "`ccbot migrate` first, which creates the folder and the database."
    )
    assert not volume.exists()

    made = ccbot("migrate", url, tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"Created the SQLite database {volume / 'ccbot.db'}.\n")
    assert (volume / "ccbot.db").is_file()
    again = ccbot("migrate", url, tmp_path)  # an existing database is not "created"
    assert again.returncode == 0 and again.stdout.startswith("Database schema is up to date")


def test_run_starts_a_new_database_in_a_folder_that_exists(tmp_path: Path) -> None:
    started = ccbot("run", f"sqlite:///{tmp_path / 'new.db'}", tmp_path)
    assert "will not start" not in started.stderr
    assert "could not reach Telegram at http://127.0.0.1:9" in started.stderr  # past the database
    assert (tmp_path / "new.db").is_file()


def test_make_run_migrates_before_it_runs_so_a_fresh_clone_starts() -> None:
    # The default DATABASE_URL, sqlite:///data/ccbot.db, names a folder a fresh clone lacks.
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun: ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    assert [line.strip() for line in recipe] == ["$(BIN)/ccbot migrate", "$(BIN)/ccbot run"]
