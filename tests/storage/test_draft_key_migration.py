"""Revision 0003a drops the task draft's idempotency key (nothing read it) and can be undone, with
the drafts kept both ways, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import alembic_config

DRAFT = (
    "INSERT INTO task_draft (id, {key}chat_id, user_id, step, status, created_at, updated_at) "
    "VALUES ({id}, {key_value}-100, 7, 'confirm', 'draft', '2026-01-01', '2026-01-01')"
)


def _insert(url: str, draft_id: int, key: str | None) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    DRAFT.format(
                        id=draft_id,
                        key="idempotency_key, " if key is not None else "",
                        key_value=f"'{key}', " if key is not None else "",
                    )
                )
            )
    finally:
        engine.dispose()


def _columns_and_uniques(url: str) -> tuple[set[str], list[list[str]]]:
    engine = make_engine(url)
    try:
        found = inspect(engine)
        columns = {c["name"] for c in found.get_columns("task_draft")}
        uniques = [u["column_names"] for u in found.get_unique_constraints("task_draft")]
        return columns, uniques
    finally:
        engine.dispose()


def _draft_ids(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text("SELECT id FROM task_draft ORDER BY id"))]
    finally:
        engine.dispose()


def _before(config) -> str:  # noqa: ANN001
    """The revision 0003a follows (the lead may re-chain it)."""
    down = ScriptDirectory.from_config(config).get_revision("0003a").down_revision
    assert isinstance(down, str)
    return down


def test_the_key_and_its_unique_constraint_go_and_drafts_stay(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, _before(config))
    _insert(database_url, 1, "key-one")
    command.upgrade(config, "0003a")
    columns, uniques = _columns_and_uniques(database_url)
    assert "idempotency_key" not in columns and "status" in columns
    assert ["idempotency_key"] not in uniques
    assert _draft_ids(database_url) == [1]
    _insert(database_url, 2, None)  # a draft needs no key any more
    assert _draft_ids(database_url) == [1, 2]


def test_the_downgrade_brings_the_key_back_unique_and_filled(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0003a")
    _insert(database_url, 1, None)
    _insert(database_url, 2, None)
    command.downgrade(config, _before(config))
    columns, uniques = _columns_and_uniques(database_url)
    assert "idempotency_key" in columns and ["idempotency_key"] in uniques
    assert _draft_ids(database_url) == [1, 2]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            keys = [r[0] for r in conn.execute(text("SELECT idempotency_key FROM task_draft"))]
        assert len(set(keys)) == 2 and None not in keys
        try:
            with engine.begin() as conn:
                conn.execute(text(f"UPDATE task_draft SET idempotency_key = '{keys[0]}'"))
        except IntegrityError:
            pass
        else:
            raise AssertionError("the restored key is not unique")
    finally:
        engine.dispose()
    command.upgrade(config, "0003a")  # and up again
    assert "idempotency_key" not in _columns_and_uniques(database_url)[0]
