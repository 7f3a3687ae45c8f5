"""The daily clean-up: what a chat started and never finished, and what the relay no longer needs.

- Task drafts, pending confirmations and number uploads older than `EXPIRE_AFTER_DAYS` are deleted
  (an upload's clean files sit in the database, so they are not kept for ever). A task keeps its
  own record; only its link to the deleted upload part goes. A button of a deleted draft or
  confirmation then answers that it expired and how to start again.
- Sent (and merged) outbox messages, relayed inbox rows and dead letters older than the same age
  go too. Failed outbox messages are kept for the admins to see until the same age.
Deletes run in batches so the relay and the handlers never wait long on a lock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

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

log = logging.getLogger(__name__)

BATCH = 2_000


def _expire_uploads(session: Session, cutoff: datetime) -> int:
    uploads = list(
        session.execute(
            select(col(NumberUpload.id)).where(col(NumberUpload.created_at) < cutoff).limit(BATCH)
        ).scalars()
    )
    if not uploads:
        return 0
    parts = select(col(UploadPart.id)).where(col(UploadPart.upload_id).in_(uploads))
    session.execute(
        update(CallTask).where(col(CallTask.upload_part_id).in_(parts)).values(upload_part_id=None)
    )
    session.execute(delete(TaskDraft).where(col(TaskDraft.upload_part_id).in_(parts)))
    session.execute(delete(UploadPart).where(col(UploadPart.upload_id).in_(uploads)))
    session.execute(delete(NumberUpload).where(col(NumberUpload.id).in_(uploads)))
    return len(uploads)


# `model` is one of the tables cleaned below, each with an integer `id`.
def _delete_older(
    session: Session,
    model: type[Any],
    column: Mapped[datetime],
    cutoff: datetime,
    *conditions: ColumnElement[bool],
) -> int:
    ids = select(model.id).where(column < cutoff, *conditions).limit(BATCH)
    return session.exec(delete(model).where(model.id.in_(ids))).rowcount or 0


def clean_up(database: Database, now: datetime, expire_after_days: int) -> dict[str, int]:
    """Delete everything past its time; returns the count per kind."""
    cutoff = now - timedelta(days=expire_after_days)
    steps = {
        "task_drafts": lambda s: _delete_older(s, TaskDraft, col(TaskDraft.updated_at), cutoff),
        "pending_actions": lambda s: _delete_older(
            s, PendingAction, col(PendingAction.created_at), cutoff
        ),
        "number_uploads": lambda s: _expire_uploads(s, cutoff),
        "outbox": lambda s: _delete_older(
            s,
            OutboxMessage,
            col(OutboxMessage.created_at),
            cutoff,
            col(OutboxMessage.status).in_(("sent", "merged", "failed", "withdrawn")),
        ),
        "inbox": lambda s: _delete_older(
            s, PushInbox, col(PushInbox.received_at), cutoff, col(PushInbox.status) == "done"
        ),
        "dead_letters": lambda s: _delete_older(s, DeadLetter, col(DeadLetter.received_at), cutoff),
    }
    counts: dict[str, int] = {}
    for name, step in steps.items():
        total = 0
        while True:
            gone = database.call(step)
            total += gone
            if gone < BATCH:
                break
        counts[name] = total
    if any(counts.values()):
        log.info("housekeeping: deleted %s (older than %d days)", counts, expire_after_days)
    return counts
