"""The daily clean-up deletes what expired and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import func, select

from bot.housekeeping import clean_up
from storage.db import Database
from storage.models import (
    CallTask,
    DeadLetter,
    NumberUpload,
    OutboxMessage,
    PendingAction,
    PushInbox,
    TaskDraft,
    UploadPart,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
OLD = NOW - timedelta(days=8)
NEW = NOW - timedelta(days=1)


def _count(database: Database, model: type) -> int:
    with database.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_expired_drafts_confirmations_uploads_and_relay_rows_go_the_rest_stays(
    database: Database,
) -> None:
    with database.session() as s:
        for at in (OLD, NEW):
            upload = NumberUpload(chat_id=-100, user_id=1, original_name="a.xlsx", created_at=at)
            s.add(upload)
            s.flush()
            part = UploadPart(upload_id=upload.id, file_name="a.xls", content=b"x" * 10)
            s.add(part)
            s.flush()
            s.add(
                TaskDraft(
                    idempotency_key=f"k{at.day}",
                    chat_id=-100,
                    user_id=1,
                    upload_part_id=part.id,
                    created_at=at,
                    updated_at=at,
                )
            )
            s.add(PendingAction(chat_id=-100, user_id=1, kind="cancel", created_at=at))
            s.add(
                CallTask(
                    task_id=5000000 + at.day, chat_id=-100, upload_part_id=part.id, created_at=at
                )
            )
            for status in ("sent", "pending", "failed", "withdrawn"):
                s.add(
                    OutboxMessage(
                        chat_id=-100, kind="ringing", text="x", status=status, created_at=at
                    )
                )
            for status in ("done", "pending"):
                s.add(PushInbox(kind="call", body="{}", status=status, received_at=at))
            s.add(DeadLetter(path="/push/x", reason="not JSON", body=b"{", received_at=at))
    counts = clean_up(database, NOW, 7)
    assert counts == {
        "task_drafts": 1,
        "pending_actions": 1,
        "number_uploads": 1,
        "outbox": 3,  # sent, failed and withdrawn; a pending message is never dropped
        "inbox": 1,  # relayed; a pending push is never dropped
        "dead_letters": 1,
    }
    assert _count(database, NumberUpload) == _count(database, UploadPart) == 1
    assert _count(database, CallTask) == 2  # tasks stay; the old one lost its upload link
    with database.session() as s:
        old_task = s.get(CallTask, 5000000 + OLD.day)
        assert old_task.upload_part_id is None
    assert _count(database, OutboxMessage) == 5 and _count(database, PushInbox) == 3
    assert clean_up(database, NOW, 7) == dict.fromkeys(counts, 0)
