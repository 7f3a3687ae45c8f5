"""What `/status` and `/readyz` report: the process, the replicas, the queues, the last errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bot import __version__
from bot.replicas import live_replicas
from storage.db import WriteHealth, WriteRefusal
from storage.models import InboxStatus, OutboxMessage, OutboxStatus, PushInbox, Replica, as_utc


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)


@dataclass
class QueueState:
    inbox_pending: int = 0
    inbox_failed: int = 0  # pushes answered 200 that the relay could not store (kept, told)
    outbox_pending: int = 0
    outbox_failed: int = 0
    oldest_unsent: datetime | None = None
    last_push: datetime | None = None
    replicas: list[Replica] = field(default_factory=list)

    def relay_lag_s(self, now: datetime) -> float:
        """Age of the oldest message still waiting to be sent (0 when none waits)."""
        oldest = _aware(self.oldest_unsent)
        return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


@dataclass(frozen=True)
class RefusedWrites:
    """The database refuses writes: why, the driver's own words, and for how long. Kept as a
    code rather than a sentence so that /status says it in the chat's language, while /healthz,
    /readyz and the logs say it in English (bot.health.problem)."""

    reason: WriteRefusal | None
    detail: str
    for_s: float


def refused_writes(health: WriteHealth | None) -> RefusedWrites | None:
    """What /status shows about the database's writes: None while they go through."""
    if health is None or not health.refused:
        return None
    return RefusedWrites(health.reason, health.detail, health.refused_for_s())


_WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def oldest_unsent(session: Session) -> datetime | None:
    """When the oldest message still waiting to be sent was queued (None: nothing waits). All
    that /readyz reads from the database: one MIN over the waiting rows."""
    return _aware(
        session.exec(
            select(func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status.in_(_WAITING)  # type: ignore[attr-defined]
            )
        ).one()
    )


def queue_state(session: Session, now: datetime) -> QueueState:
    waiting = _WAITING
    state = QueueState()
    state.inbox_pending = session.exec(
        select(func.count()).select_from(PushInbox).where(PushInbox.status == InboxStatus.PENDING)
    ).one()
    state.inbox_failed = session.exec(
        select(func.count()).select_from(PushInbox).where(PushInbox.status == InboxStatus.FAILED)
    ).one()
    state.outbox_pending = session.exec(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(waiting))  # type: ignore[attr-defined]
    ).one()
    state.outbox_failed = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
    ).one()
    state.oldest_unsent = oldest_unsent(session)
    state.last_push = _aware(session.exec(select(func.max(PushInbox.received_at))).one())
    state.replicas = live_replicas(session, now)
    return state


def version() -> str:
    return __version__
