"""A push answered 200 that the relay could not store after all: counted
(`ccbot_pushes_failed_total{reason}`), kept in `dead_letter` with the reason, and told to the admins.

The door (bot/relay/push_shapes.py) refuses what cannot become rows, so this path is for what it
could not foresee: a database that refuses a value, a bug, a row an older version stored. Such a
push is still marked failed on its inbox row (`/status` counts them); its body goes to
`dead_letter` too, where refused bodies are looked at, in the same transaction.

The admins get one private message per hour however many pushes fail, edited in place as more do
(the outbox sends only the newest version of an edit_key), so a thousand failures make one notice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.delivery.outbox import OutboxKind, enqueue
from bot.metrics import PUSHES_FAILED
from bot.render import esc
from storage.models import DeadLetter, InboxStatus, OutboxMessage, OutboxStatus, PushInbox


class FailReason(StrEnum):
    """The `reason` label of `ccbot_pushes_failed`."""

    UNREADABLE = "unreadable"  # the stored body does not read as a push (an older row, a bug)
    REFUSED = "refused"  # the database refused a value of its rows
    GAVE_UP = "gave_up"  # it failed for other reasons on every attempt


# Counted from 0 at start, so "failed in the last hour" (increase()) sees the first one too.
_FAILED = {reason: PUSHES_FAILED.labels(reason.value) for reason in FailReason}


def count_failed(reasons: Iterable[FailReason]) -> None:
    """After the commit that marked them failed."""
    for reason in reasons:
        _FAILED[reason].inc()


def dead_letter_path(push_id: int, kind: str) -> str:
    return f"relay: push_inbox #{push_id} ({kind[:16]})"


def keep_failed_push(
    session: Session,
    *,
    push_id: int,
    kind: str,
    body: str,
    received_at: datetime,
    reason: str,
    now: datetime,
    admin_user_ids: Iterable[int] = (),
) -> None:
    """In the transaction that marks the inbox row failed: its body as a dead letter, and (when
    `admin_user_ids` are given) the admins' notice of this hour brought up to date: a transaction
    that fails many pushes passes none and calls `tell_admins` once at its end."""
    session.add(
        DeadLetter(
            received_at=received_at,
            path=dead_letter_path(push_id, kind),
            reason=reason,
            content_type="application/json",
            body=body.encode("utf-8", "replace"),
        )
    )
    session.flush()
    tell_admins(session, admin_user_ids, now)


def tell_admins(session: Session, admin_user_ids: Iterable[int], now: datetime) -> None:
    """The admins' notice of the pushes failed this hour, one per admin, rewritten in place."""
    admins = sorted(set(admin_user_ids))
    if not admins:
        return
    since = now.replace(minute=0, second=0, microsecond=0)
    failed_this_hour = col(PushInbox.status) == InboxStatus.FAILED.value, col(
        PushInbox.processed_at
    ) >= since
    count = session.exec(select(func.count()).select_from(PushInbox).where(*failed_this_hour)).one()
    newest = session.exec(
        select(PushInbox).where(*failed_this_hour).order_by(col(PushInbox.id).desc()).limit(1)
    ).first()
    if not count or newest is None:
        return
    text = failed_pushes_notice(count, since, newest.id or 0, newest.kind, newest.error or "")
    for admin in admins:
        edit_key = f"pushes-failed:{admin}:{since:%Y%m%d%H}"
        # A version not sent yet is rewritten rather than joined by another row.
        waiting = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.edit_key) == edit_key,
                col(OutboxMessage.status) == OutboxStatus.PENDING.value,
            )
            .values(text=text)
            .returning(col(OutboxMessage.id))
            .execution_options(synchronize_session=False)
        ).all()
        if not waiting:
            enqueue(session, chat_id=admin, text=text, kind=OutboxKind.NOTICE, edit_key=edit_key)


def failed_pushes_notice(count: int, since: datetime, push_id: int, kind: str, reason: str) -> str:
    """The admins' notice (HTML): what happened, what it costs, where the pushes are, what to do."""
    pushes = f"{count} push{'es' if count != 1 else ''}"
    return "\n".join(
        [
            f"⚠️ <b>{pushes} could not be stored</b> since {since:%H:%M} UTC, after the platform "
            f"was told {'they were' if count != 1 else 'it was'} received: "
            f"{'they reach' if count != 1 else 'it reaches'} no chat and no summary.",
            f"The newest: push #{push_id} ({esc(kind)}): {esc(reason[:300])}",
            "Each one is kept, with its body and the reason, in the dead_letter table (path "
            "“relay: push_inbox #…”) and counted in ccbot_pushes_failed_total. Look at the "
            "reason there; if it is not a problem of the database, report it to ccbot's "
            "maintainers with one of those bodies.",
        ]
    )
