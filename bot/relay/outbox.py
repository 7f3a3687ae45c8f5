"""The outbox: every message the bot sends on its own is stored here first, then sent by the one
sender (pacing, retries, splitting, chat migration all live there).

Producers (the relay worker, digests, summaries, notices) call `enqueue` inside the transaction that
made the message necessary, so a message exists exactly when its cause was committed.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session

from storage.models import OutboxMessage, OutboxStatus, utcnow


class OutboxKind(StrEnum):
    RINGING = "ringing"  # an agent's phone is ringing now: the most time-sensitive
    CALL = "call"  # one call record
    DIGEST = "digest"  # call records summed up since the last digest
    TASK_CARD = "task_card"  # the live task card, edited in place (edit_key "task:<id>")
    SUMMARY = "summary"  # the daily summary (text, with the chart as photo)
    NOTICE = "notice"  # anything else the bot says on its own (e.g. to admins)


def enqueue(
    session: Session,
    *,
    chat_id: int,
    text: str,
    kind: OutboxKind,
    thread_id: int | None = None,
    photo: bytes | None = None,
    edit_key: str | None = None,
) -> OutboxMessage:
    """Store one message to send; `text` is HTML already escaped by the renderer."""
    message = OutboxMessage(
        chat_id=chat_id,
        thread_id=thread_id,
        kind=kind.value,
        text=text,
        photo=photo,
        edit_key=edit_key,
        status=OutboxStatus.PENDING,
        not_before=utcnow(),
    )
    session.add(message)
    session.flush()
    return message
