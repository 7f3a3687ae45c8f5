"""Deleting call records, ringing events and their rollups after RETENTION_DAYS, in small batches
so the daily job never holds a long lock on tables the relay writes to."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from bot.services.task_callees import TASK_WINDOW
from storage.db import Database
from storage.models import (
    AgentRollup,
    CallChat,
    CallRecord,
    CallRollup,
    CallTask,
    DailySummary,
    RingingEvent,
    RingMiss,
    RingRollup,
    TaskCallee,
)

log = logging.getLogger(__name__)

BATCH = 5_000


# `model` is one of the tables purged below; their columns are reached by name.
def _older(
    model: type[Any], column: Mapped[datetime | None], cutoff: datetime
) -> ColumnElement[bool]:
    """Older than the cutoff by the platform's time (indexed); rows without one by arrival."""
    if not hasattr(model, "received_at"):
        return column < cutoff
    return or_(column < cutoff, and_(column.is_(None), model.received_at < cutoff))


def _delete_batch(
    session: Session, model: type[Any], column: Mapped[datetime | None], cutoff: datetime
) -> int:
    """Delete up to BATCH rows older than `cutoff`; returns how many went."""
    if hasattr(model, "id"):
        ids = list(
            session.execute(select(model.id).where(_older(model, column, cutoff)).limit(BATCH))
            .scalars()
        )
        if not ids:
            return 0
        if model is CallRecord:  # the chats a record counted in go with it
            session.exec(delete(CallChat).where(col(CallChat.call_record_id).in_(ids)))
        result = session.exec(delete(model).where(model.id.in_(ids)))
    else:  # rollups: whole buckets, a day holds at most a few thousand rows per group
        result = session.exec(delete(model).where(column < cutoff))
    return result.rowcount or 0


def _purge_callees(database: Database, cutoff: datetime) -> int:
    """The callee index of tasks whose calls can no longer be stored: submitted longer than
    the attribution window plus the retention ago (by task, on the primary key)."""
    before = cutoff - TASK_WINDOW

    def batch(session: Session) -> int:
        # Old tasks are few (a team submits a few a day); their callees are found by the key.
        indexed = select(col(TaskCallee.task_id)).where(
            col(TaskCallee.task_id) == col(CallTask.task_id)
        )
        task = session.execute(
            select(col(CallTask.task_id))
            .where(col(CallTask.created_at) < before, indexed.exists())
            .limit(1)
        ).scalar()
        if task is None:
            return 0
        result = session.exec(delete(TaskCallee).where(col(TaskCallee.task_id) == task))
        return result.rowcount or 1

    total = 0
    while gone := database.call(batch):
        total += gone
    return total


def purge_old_calls(database: Database, now: datetime, retention_days: int) -> dict[str, int]:
    """Delete what is older than `retention_days`; returns the counts per table."""
    cutoff = now - timedelta(days=retention_days)
    targets = (
        ("call_record", CallRecord, col(CallRecord.call_start_at)),
        ("ringing_event", RingingEvent, col(RingingEvent.event_at)),
        ("ring_miss", RingMiss, col(RingMiss.missed_at)),
        ("call_rollup", CallRollup, col(CallRollup.bucket_start)),
        ("agent_rollup", AgentRollup, col(AgentRollup.bucket_start)),
        ("ring_rollup", RingRollup, col(RingRollup.bucket_start)),
    )
    counts: dict[str, int] = {}
    for name, model, column in targets:
        total = 0
        while True:
            gone = database.call(
                functools.partial(_delete_batch, model=model, column=column, cutoff=cutoff)
            )
            total += gone
            if gone < BATCH or not hasattr(model, "id"):
                break
        counts[name] = total
    counts["task_callee"] = _purge_callees(database, cutoff)
    # The record of sent summaries only needs to outlive the days that can still be owed.
    counts["daily_summary"] = database.call(
        lambda s: (
            s.exec(
                delete(DailySummary).where(
                    col(DailySummary.local_date) < (cutoff - timedelta(days=7)).date()
                )
            ).rowcount
            or 0
        )
    )
    if any(counts.values()):
        log.info("retention: deleted %s (older than %d days)", counts, retention_days)
    return counts
