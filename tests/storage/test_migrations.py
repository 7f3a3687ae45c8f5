import pytest
from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import current_revision, head_revision, is_up_to_date, upgrade
from storage.models import AuditEntry
from storage.queries import add_audit_entry, recent_audit_entries


def test_upgrade_creates_schema_and_is_idempotent(database_url: str) -> None:
    assert not is_up_to_date(database_url)
    upgrade(database_url)
    upgrade(database_url)  # a second run changes nothing and does not fail
    assert is_up_to_date(database_url)
    db = Database(database_url)
    try:
        assert current_revision(db.engine) == head_revision(database_url)
        assert "audit_log" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()


async def test_audit_entries_round_trip(database: Database) -> None:
    for i in range(3):
        entry = AuditEntry(
            user_id=10_000_000_000 + i,  # Telegram ids exceed 32 bits
            chat_id=-1001234567890,
            command="/groups",
            endpoint="seatGroup/query",
            result_code="0",
            ok=True,
            duration_ms=12,
        )
        await database.run(lambda s, e=entry: add_audit_entry(s, e))
    rows = await database.run(lambda s: recent_audit_entries(s, 2))
    assert [r.user_id for r in rows] == [10_000_000_002, 10_000_000_001]
    assert rows[0].chat_id == -1001234567890


def test_models_match_migrations(migrated_url: str) -> None:
    """A table or column added to storage/models.py without a migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    db = Database(migrated_url)
    try:
        with db.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        db.dispose()
    assert diffs == []


def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    """Three processes migrate the same PostgreSQL database at once (replicas starting): the
    advisory lock lets one work while the others wait, and all of them succeed."""
    import subprocess
    import sys

    if not database_url.startswith("postgresql"):
        pytest.skip("several replicas share a database only on PostgreSQL")
    code = "import sys; from storage.migrate import upgrade; upgrade(sys.argv[1])"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, database_url], stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    assert all(rc == 0 for rc, _ in results), results
    assert is_up_to_date(database_url)


def test_routes_and_chats_survive_the_upgrade_to_several_chats_per_group_and_back(
    database_url: str,
) -> None:
    """0002 → 0003 rebuilds group_route with its own id: existing routes and bound chats are
    kept (with the relay defaults), and the downgrade returns to one chat per group."""
    from alembic import command
    from sqlalchemy import text

    from storage.migrate import alembic_config

    cfg = alembic_config(database_url)
    command.upgrade(cfg, "0002")
    db = Database(database_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO bound_chat (chat_id, chat_type, active, bound_at) "
                    "VALUES (-100, 'group', true, '2026-11-30 10:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO group_route (voice_group_id, chat_id, group_name, active, "
                    "created_at) VALUES (1000001, -100, 'Team-A', true, '2026-11-30 10:00:00')"
                )
            )
        command.upgrade(cfg, "0003")
        with db.engine.begin() as conn:
            chat = conn.execute(
                text("SELECT notify_ringing, notify_calls, mask_numbers FROM bound_chat")
            ).one()
            assert (bool(chat[0]), chat[1], bool(chat[2])) == (True, "digest", False)
            conn.execute(
                text(
                    "INSERT INTO group_route (voice_group_id, chat_id, group_name, active, "
                    "created_at) VALUES (1000001, -200, 'Team-A', true, '2026-11-30 11:00:00')"
                )
            )
            rows = conn.execute(
                text("SELECT chat_id FROM group_route WHERE voice_group_id = 1000001 ORDER BY id")
            ).all()
            assert [r[0] for r in rows] == [-100, -200]
        command.downgrade(cfg, "0002")
        with db.engine.begin() as conn:
            rows = conn.execute(text("SELECT voice_group_id, chat_id FROM group_route")).all()
            assert [tuple(r) for r in rows] == [(1000001, -100)]
    finally:
        db.dispose()


def _revisions(url: str) -> list[str]:
    """Every revision, oldest first."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def test_every_earlier_revision_upgrades_to_head_and_the_newest_downgrades(
    database_url: str,
) -> None:
    """A deployment on any earlier schema upgrades cleanly; the newest revision can be undone
    and redone (what an operator does when a release is rolled back)."""
    from alembic import command

    from storage.migrate import alembic_config

    cfg = alembic_config(database_url)
    revisions = _revisions(database_url)
    assert revisions[0] == "0001" and len(revisions) == len(set(revisions))
    for revision in revisions:
        if current_revision_of(database_url):
            command.downgrade(cfg, "base")  # every downgrade, newest to oldest
        command.upgrade(cfg, revision)
        command.upgrade(cfg, "head")
        assert is_up_to_date(database_url), revision
    command.downgrade(cfg, "-1")
    assert not is_up_to_date(database_url)
    command.upgrade(cfg, "head")
    assert is_up_to_date(database_url)


def current_revision_of(url: str) -> str | None:
    db = Database(url)
    try:
        return current_revision(db.engine)
    finally:
        db.dispose()
