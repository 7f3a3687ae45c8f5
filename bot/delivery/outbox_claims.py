"""The sender's database side: which chats have messages due, claiming a chat's next batch, and
recording what became of it.

Correctness lives in the database, never in one process's memory, so several replicas can share
the outbox:

- A chat is claimed by locking its `chat_pacing` row: `SELECT … FOR UPDATE SKIP LOCKED` on
  PostgreSQL (a replica that finds it locked leaves the chat for now), and on SQLite an UPDATE of
  that row as the transaction's first statement, which takes SQLite's one write lock before
  anything is read.
- The batch's rows move pending → sending with a lease by compare-and-set on status and lease
  (`UPDATE … WHERE id IN (…) AND (status = 'pending' OR lease_until <= now)`, all or nothing);
  on PostgreSQL they are also selected `FOR UPDATE SKIP LOCKED`. A row whose sender died is
  taken over when its lease has expired (and that counts as an attempt).
- A chat's messages go most urgent first, then oldest first (`outbox.Urgency`: a ringing phone
  before the call records waiting since a flood began). A chat is due only when its first
  unfinished row in that order (its head) is due, and a row being sent under a live lease keeps
  the whole chat for its sender, whatever its urgency: one message at a time per chat, from all
  replicas together. So does a row whose outcome is being written: SKIP LOCKED passes over it,
  the committed state still shows it being sent, and a claim that did not see the chat's head as
  committed leaves the chat alone.
- Outcomes are written by compare-and-set on the lease owner: a sender that lost its lease (it
  was too slow and another took over) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.delivery import kind_settings
from bot.delivery.merging import QueuedMessage, is_mergeable
from bot.i18n import language_of
from storage.models import (
    BoundChat,
    ChatPacing,
    LiveMessage,
    OutboxMessage,
    OutboxStatus,
    table_of,
)

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNFINISHED = (OutboxStatus.PENDING.value, OutboxStatus.SENDING.value)
# One claim takes at most this many rows (a merged listing); the rest waits for the next.
MAX_BATCH_ROWS = 10_000
_CHUNK = 500  # ids per IN (…) list


class Merge(Enum):
    NONE = "none"  # one row
    LISTING = "listing"  # waiting ringing events (or call records) shown together
    EDIT_KEY = "edit_key"  # rows editing one live message: only the newest is sent


@dataclass(frozen=True)
class ClaimedBatch:
    chat_id: int
    thread_id: int | None
    kind: str
    merge: Merge
    rows: list[QueuedMessage]  # in sending order; every row is leased to the claimer
    live_message_id: int | None  # the message an edit_key batch edits, when it has one
    pacing_next: datetime  # the chat's relay schedule as the database had it
    loud: bool = True  # False: sent with disable_notification (kind_settings)
    language: str = "en"  # the chat's, for what the sender writes itself (a listing's header)

    @property
    def representative(self) -> QueuedMessage:
        """The row that is sent; the others are merged into it (the newest for an edit_key)."""
        return self.rows[-1] if self.merge is Merge.EDIT_KEY else self.rows[0]

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


@dataclass(frozen=True)
class NotYet:
    """Nothing to claim before `at` (the chat's schedule, or its oldest row's retry time)."""

    at: datetime | None


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _due(row: Any, now: datetime) -> bool:
    if row.status == OutboxStatus.PENDING:
        return row.not_before <= now
    return row.lease_until is None or row.lease_until <= now


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _snapshot(row: Any, attempts: int) -> QueuedMessage:
    return QueuedMessage(
        id=row.id,
        chat_id=row.chat_id,
        thread_id=row.thread_id,
        kind=row.kind,
        text=row.text,
        photo=row.photo,
        edit_key=row.edit_key,
        attempts=attempts,
        parts_sent=row.parts_sent,
        created_at=row.created_at,
        event_at=row.event_at,
        reply_markup=row.reply_markup,
    )


# ---- finding work ---------------------------------------------------------------------------


def _in_order(table: Any) -> tuple[Any, Any]:
    """A chat's messages in the order they go: most urgent first, then oldest."""
    return table.urgency, table.id


def due_chats(session: Session, now: datetime, limit: int = 64) -> list[int]:
    """Chats whose head (first unfinished message by urgency, then age) is due, with no message
    being sent under a live lease, and whose schedule allows a send; the most urgent and oldest
    heads first, so a ringing chat is served before chats with routine messages."""
    outbox = table_of(OutboxMessage).c
    ranked = (
        select(
            outbox.chat_id,
            outbox.id,
            outbox.urgency,
            outbox.status,
            outbox.not_before,
            outbox.lease_until,
            func.row_number()
            .over(partition_by=outbox.chat_id, order_by=_in_order(outbox))
            .label("place"),
        )
        .where(
            outbox.status.in_(UNFINISHED),
            # Chats whose schedule allows no send now are left out before ranking, not after:
            # a group paced at one message per 3.75 s with thousands waiting (a flood) is
            # otherwise ranked, row by row, at every look (20 a second under load).
            outbox.chat_id.not_in(
                select(col(ChatPacing.chat_id)).where(col(ChatPacing.next_send_at) > now)
            ),
        )
        .subquery()
    )
    query = (
        select(ranked.c.chat_id)
        .outerjoin(ChatPacing, col(ChatPacing.chat_id) == ranked.c.chat_id)
        .where(
            ranked.c.place == 1,
            or_(
                and_(
                    ranked.c.status == OutboxStatus.PENDING.value,
                    ranked.c.not_before <= now,
                ),
                and_(
                    ranked.c.status == OutboxStatus.SENDING.value,
                    ranked.c.lease_until <= now,
                ),
            ),
            or_(col(ChatPacing.next_send_at).is_(None), col(ChatPacing.next_send_at) <= now),
            ~_being_sent(ranked.c.chat_id, now).exists(),
        )
        .order_by(*_in_order(ranked.c))
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def _being_sent(chat_id: Any, now: datetime) -> Any:
    """The chat's rows a sender holds under a live lease (as committed)."""
    return select(col(OutboxMessage.id)).where(
        col(OutboxMessage.chat_id) == chat_id,
        col(OutboxMessage.status) == OutboxStatus.SENDING.value,
        col(OutboxMessage.lease_until) > now,
    )


def outbox_stats(session: Session) -> tuple[int, datetime | None]:
    """How many messages wait (pending or being sent), and when the oldest of them was queued."""
    count, oldest = session.execute(
        select(func.count(), func.min(col(OutboxMessage.created_at))).where(
            col(OutboxMessage.status).in_(UNFINISHED)
        )
    ).one()
    return int(count), oldest


# ---- claiming -------------------------------------------------------------------------------


def _lock_pacing(session: Session, chat_id: int, now: datetime) -> ChatPacing | None:
    """Lock the chat's pacing row (creating it); None when another sender holds it."""
    if _is_postgres(session):
        locked = (
            select(ChatPacing)
            .where(col(ChatPacing.chat_id) == chat_id)
            .with_for_update(skip_locked=True)
        )
        row = session.execute(locked).scalar_one_or_none()
        if row is not None:
            return row
        present = session.execute(
            select(col(ChatPacing.chat_id)).where(col(ChatPacing.chat_id) == chat_id)
        ).first()
        if present is not None:
            return None  # locked by another replica's claim
        session.execute(
            pg_insert(ChatPacing)
            .values(chat_id=chat_id, next_send_at=EPOCH, updated_at=now)
            .on_conflict_do_nothing()
        )
        return session.execute(locked).scalar_one_or_none()
    # SQLite: a write first, so the transaction holds the database's write lock from here on.
    touched = session.exec(
        update(ChatPacing).where(col(ChatPacing.chat_id) == chat_id).values(updated_at=now)
    )
    if touched.rowcount == 0:
        session.execute(
            sqlite_insert(ChatPacing)
            .values(chat_id=chat_id, next_send_at=EPOCH, updated_at=now)
            .on_conflict_do_nothing()
        )
    return session.execute(
        select(ChatPacing).where(col(ChatPacing.chat_id) == chat_id)
    ).scalar_one()


def _plan(rows: list[Any], now: datetime) -> tuple[list[Any], Merge]:
    head = rows[0]
    due = [row for row in rows if _due(row, now) and row.thread_id == head.thread_id]
    if head.edit_key is not None:
        same = [row for row in due if row.edit_key == head.edit_key]
        return same, (Merge.EDIT_KEY if len(same) > 1 else Merge.NONE)
    if is_mergeable(head):
        alike = [row for row in due if is_mergeable(row) and row.kind == head.kind]
        if len(alike) > 1:
            return alike, Merge.LISTING
    return [head], Merge.NONE


def _head(session: Session, chat_id: int) -> int | None:
    """The chat's first unfinished message (by urgency, then age) as committed (locks are not
    waited for)."""
    outbox = table_of(OutboxMessage).c
    return session.execute(
        select(outbox.id)
        .where(outbox.chat_id == chat_id, outbox.status.in_(UNFINISHED))
        .order_by(*_in_order(outbox))
        .limit(1)
    ).scalar()


class ClaimLost(Exception):
    """Another sender changed the rows between reading and claiming them."""


def claim_batch(
    session: Session,
    chat_id: int,
    owner: str,
    now: datetime,
    lease: timedelta,
    *,
    max_rows: int = MAX_BATCH_ROWS,
) -> ClaimedBatch | NotYet | None:
    """Claim the chat's next batch for `owner`; NotYet when the chat must wait, None when there
    is nothing to send or another sender has the chat."""
    pacing = _lock_pacing(session, chat_id, now)
    if pacing is None:
        return None
    # Plain rows, not ORM objects: a merged batch can hold thousands.
    table = table_of(OutboxMessage)
    query = (
        select(table)
        .where(table.c.chat_id == chat_id, table.c.status.in_(UNFINISHED))
        .order_by(*_in_order(table.c))
        .limit(max_rows)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.execute(query))
    if not rows:
        return None
    if session.execute(select(_being_sent(chat_id, now).exists())).scalar():
        # A sender holds one of the chat's messages (a less urgent one claimed before this one
        # came, or one whose outcome it is writing right now): the chat stays with it until it
        # is done and has written the chat's schedule.
        return None
    if _is_postgres(session) and rows[0].id != _head(session, chat_id):
        # SKIP LOCKED passed over the chat's head: a sender's transaction is writing what became
        # of it right now (and, next, the chat's schedule). The chat stays with that sender;
        # claiming the next message now would overtake it or its pacing.
        return None
    if pacing.next_send_at > now:
        return NotYet(pacing.next_send_at)
    head = rows[0]
    if not _due(head, now):
        if head.status == OutboxStatus.PENDING:
            return NotYet(head.not_before)
        return None  # being sent under a live lease
    batch, merge = _plan(rows, now)
    ids = [row.id for row in batch]
    taken_over = [row.id for row in batch if row.status == OutboxStatus.SENDING]
    claimed = 0
    for chunk in _chunks(ids):
        result = session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(chunk),
                or_(
                    col(OutboxMessage.status) == OutboxStatus.PENDING.value,
                    and_(
                        col(OutboxMessage.status) == OutboxStatus.SENDING.value,
                        col(OutboxMessage.lease_until) <= now,
                    ),
                ),
            )
            .values(status=OutboxStatus.SENDING.value, lease_owner=owner, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        claimed += result.rowcount
    if claimed != len(ids):
        raise ClaimLost(f"chat {chat_id}: claimed {claimed} of {len(ids)} rows")
    for chunk in _chunks(taken_over):
        # Its sender died (or stalled) while sending it: count that as an attempt.
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(chunk))
            .values(attempts=col(OutboxMessage.attempts) + 1)
            .execution_options(synchronize_session=False)
        )
    snapshots = [_snapshot(row, row.attempts + (1 if row.id in taken_over else 0)) for row in batch]
    live_message_id = None
    representative = snapshots[-1] if merge is Merge.EDIT_KEY else snapshots[0]
    if representative.edit_key is not None and representative.photo is None:
        live = session.get(LiveMessage, representative.edit_key)
        if live is not None and live.chat_id == chat_id:
            live_message_id = live.message_id
    place = kind_settings.place_of(session, chat_id, representative.kind)
    language = "en"
    if merge is Merge.LISTING:
        chat = session.get(BoundChat, chat_id)
        language = language_of(chat.language if chat is not None else None)
    return ClaimedBatch(
        language=language,
        chat_id=chat_id,
        thread_id=head.thread_id if place.thread_id is None else place.thread_id,
        loud=place.loud,
        kind=representative.kind,
        merge=merge,
        rows=snapshots,
        live_message_id=live_message_id,
        pacing_next=pacing.next_send_at,
    )


# ---- outcomes -------------------------------------------------------------------------------


def _owned(ids: Sequence[int], owner: str) -> ColumnElement[bool]:
    return and_(
        col(OutboxMessage.id).in_(ids),
        col(OutboxMessage.status) == OutboxStatus.SENDING.value,
        col(OutboxMessage.lease_owner) == owner,
    )


def _update_owned(session: Session, ids: Sequence[int], owner: str, **values: object) -> int:
    changed = 0
    for chunk in _chunks(list(ids)):
        result = session.exec(
            update(OutboxMessage)
            .where(_owned(chunk, owner))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount
    return changed


def renew_lease(
    session: Session,
    ids: Sequence[int],
    owner: str,
    until: datetime,
    *,
    parts_sent: int | None = None,
    representative: int | None = None,
    first_message_id: int | None = None,
) -> int:
    changed = _update_owned(session, ids, owner, lease_until=until)
    if parts_sent is not None and representative is not None:
        values: dict[str, object] = {"parts_sent": parts_sent}
        if first_message_id is not None:
            values["telegram_message_id"] = first_message_id
        _update_owned(session, [representative], owner, **values)
    return changed


def mark_delivered(
    session: Session,
    owner: str,
    sent_id: int,
    merged_ids: Sequence[int],
    message_id: int | None,
    now: datetime,
) -> bool:
    """The representative row is sent; `merged_ids` are shown in it. False: the lease was lost.

    A message sent in parts keeps the id of its first part (written when that part went)."""
    sent = _update_owned(
        session,
        [sent_id],
        owner,
        status=OutboxStatus.SENT.value,
        sent_at=now,
        telegram_message_id=func.coalesce(col(OutboxMessage.telegram_message_id), message_id),
        lease_owner=None,
        lease_until=None,
        error=None,
    )
    _update_owned(
        session,
        merged_ids,
        owner,
        status=OutboxStatus.MERGED.value,
        merged_into=sent_id,
        sent_at=now,
        telegram_message_id=message_id,
        lease_owner=None,
        lease_until=None,
        error=None,
    )
    return sent == 1


def release(
    session: Session,
    ids: Sequence[int],
    owner: str,
    not_before: datetime,
    *,
    count_attempt: bool,
    error: str | None = None,
) -> None:
    """Back to pending (a retry later, or a sender stopping before it sent them)."""
    values: dict[str, object] = {
        "status": OutboxStatus.PENDING.value,
        "lease_owner": None,
        "lease_until": None,
        "not_before": not_before,
    }
    if count_attempt:
        values["attempts"] = col(OutboxMessage.attempts) + 1
    if error is not None:
        values["error"] = error
    _update_owned(session, ids, owner, **values)


def mark_failed(session: Session, ids: Sequence[int], owner: str, error: str, now: datetime) -> int:
    return _update_owned(
        session,
        ids,
        owner,
        status=OutboxStatus.FAILED.value,
        error=error,
        failed_at=now,
        lease_owner=None,
        lease_until=None,
    )


def fail_waiting(session: Session, chat_id: int, error: str, now: datetime) -> int:
    """Every pending message of the chat fails too (Telegram refuses the whole chat)."""
    result = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status) == OutboxStatus.PENDING.value,
        )
        .values(status=OutboxStatus.FAILED.value, error=error, failed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def had_failed_before(
    session: Session, chat_id: int, reason: str, excluding: Sequence[int]
) -> bool:
    query = select(
        exists().where(
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status) == OutboxStatus.FAILED.value,
            col(OutboxMessage.error).like(f"{reason}:%"),
            col(OutboxMessage.id).not_in(list(excluding)),
        )
    )
    return bool(session.execute(query).scalar())


def failed_since(
    session: Session, since: datetime, excluding_chats: Iterable[int]
) -> list[OutboxMessage]:
    return list(
        session.execute(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.status) == OutboxStatus.FAILED.value,
                col(OutboxMessage.failed_at) >= since,
                col(OutboxMessage.chat_id).not_in(list(excluding_chats)),
            )
            .order_by(col(OutboxMessage.id))
        ).scalars()
    )


def save_live_message(
    session: Session, edit_key: str, chat_id: int, message_id: int, now: datetime
) -> None:
    live = session.get(LiveMessage, edit_key)
    if live is None:
        live = LiveMessage(edit_key=edit_key, chat_id=chat_id, message_id=message_id)
    live.chat_id = chat_id
    live.message_id = message_id
    live.updated_at = now
    session.add(live)


def push_schedule(session: Session, chat_id: int, at: datetime, now: datetime) -> None:
    """The chat's next relay message may not go before `at` (kept if already later)."""
    session.execute(
        update(ChatPacing)
        .where(col(ChatPacing.chat_id) == chat_id, col(ChatPacing.next_send_at) < at)
        .values(next_send_at=at, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def move_thread(session: Session, chat_id: int, thread_id: int) -> int:
    """The chat's forum topic is gone: its waiting messages go to the main thread."""
    result = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.thread_id) == thread_id,
            col(OutboxMessage.status).in_(UNFINISHED),
        )
        .values(thread_id=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def move_chat(session: Session, old_chat_id: int, new_chat_id: int) -> int:
    """A group became a supergroup: its waiting messages go to the new id. Its live messages
    stay behind in the old group's history (they can no longer be edited), so the next card is
    sent anew; its schedule starts fresh."""
    result = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == old_chat_id,
            col(OutboxMessage.status).in_(UNFINISHED),
        )
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )
    for live in list(
        session.execute(
            select(LiveMessage).where(col(LiveMessage.chat_id) == old_chat_id)
        ).scalars()
    ):
        session.delete(live)
    pacing = session.get(ChatPacing, old_chat_id)
    if pacing is not None:
        session.delete(pacing)
    return result.rowcount
