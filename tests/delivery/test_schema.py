"""Revision 0003s: the sender's pacing table and the outbox's progress columns, up and down."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from telegram import Bot
from telegram.ext import ExtBot

from bot.delivery.sender import Sender
from storage.db import Database
from storage.migrate import alembic_config


def test_messages_queued_before_0003s_upgrade_with_no_parts_sent_and_downgrade_cleanly(
    database_url: str,
) -> None:
    cfg = alembic_config(database_url)
    command.upgrade(cfg, "0003")
    db = Database(database_url)
    try:
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox (chat_id, kind, text, status, attempts, not_before, "
                    "created_at) VALUES (-100, 'call', 'queued before', 'pending', 0, "
                    "'2026-12-01 10:00:00', '2026-12-01 10:00:00')"
                )
            )
        command.upgrade(cfg, "0003s")
        with db.engine.begin() as conn:
            row = conn.execute(text("SELECT parts_sent, failed_at, text FROM outbox")).one()
            assert tuple(row) == (0, None, "queued before")
        assert "chat_pacing" in inspect(db.engine).get_table_names()
        command.downgrade(cfg, "0003")
        db.engine.dispose()
        assert "chat_pacing" not in inspect(db.engine).get_table_names()
        columns = {c["name"] for c in inspect(db.engine).get_columns("outbox")}
        assert "parts_sent" not in columns and "failed_at" not in columns
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT text FROM outbox")).scalar_one() == "queued before"
    finally:
        db.dispose()


async def test_a_sender_refuses_a_bot_without_the_shared_rate_limiter(database: Database) -> None:
    for bot in (Bot("123:abc"), ExtBot("123:abc")):
        with pytest.raises(TypeError, match="TelegramRateLimiter"):
            Sender(database, bot)  # type: ignore[arg-type]
