"""The outbox: every message the bot sends on its own is stored here first, then sent by the one
sender (pacing, retries, splitting, chat migration all live there).

Producers (the relay worker, digests, summaries, notices) call `enqueue` inside the transaction that
made the message necessary, so a message exists exactly when its cause was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from sqlalchemy import insert, update
from sqlmodel import Session, col

from storage.models import OutboxMessage, OutboxStatus, utcnow


class OutboxKind(StrEnum):
    RINGING = "ringing"  # an agent's phone is ringing now: the most time-sensitive
    CALL = "call"  # one call record
    DIGEST = "digest"  # call records summed up since the last digest
    TASK_CARD = "task_card"  # the live task card, edited in place (edit_key "task:<id>")
    SUMMARY = "summary"  # the daily summary (text, with the chart as photo)
    NOTICE = "notice"  # anything else the bot says on its own (e.g. to admins)
    # An agent's private screen pop (edit_key "pop:<id>"): sent loud, ahead of everything.
    SCREEN_POP = "screen_pop"
    # The same pop edited with what became of the ring (missed, answered, the recording): after
    # any new pop waiting for the same agent, so a new ring never waits behind an old outcome.
    SCREEN_POP_OUTCOME = "pop_outcome"  # (the kind column holds 16 characters)
    ALERT = "alert"  # a call-centre alert someone must act on (bot/alerts), with buttons
    ALERT_CLEARED = "alert_cleared"  # an alert's condition cleared: the edit and a short note


class Urgency(IntEnum):
    """Which of a chat's waiting messages goes first: the lowest, then the oldest.

    Command replies do not queue in the outbox at all (the rate limiter puts them ahead of
    everything, see `pacing`). Within Telegram's limits the outbox then sends what a person must
    act on now, then a phone that is ringing now, then what already happened. So a ring is never
    held behind a backlog of call records: it is the chat's next message, at the chat's next free
    slot."""

    ALERT = 1  # alerts, screen pops, the admins' notices: someone must act
    RINGING = 2  # an agent's phone is ringing now
    CALL = 3  # a call that ended
    TASK_CARD = 4  # the live task card (superseded by its next version anyway)
    DIGEST = 5  # call records summed up
    SUMMARY = 6  # the daily summary


URGENCY = {
    OutboxKind.NOTICE: Urgency.ALERT,
    OutboxKind.SCREEN_POP: Urgency.ALERT,
    OutboxKind.SCREEN_POP_OUTCOME: Urgency.CALL,
    OutboxKind.ALERT: Urgency.ALERT,
    OutboxKind.ALERT_CLEARED: Urgency.ALERT,
    OutboxKind.RINGING: Urgency.RINGING,
    OutboxKind.CALL: Urgency.CALL,
    OutboxKind.TASK_CARD: Urgency.TASK_CARD,
    OutboxKind.DIGEST: Urgency.DIGEST,
    OutboxKind.SUMMARY: Urgency.SUMMARY,
}


class Sound(StrEnum):
    LOUD = "loud"  # the members' phones ring or buzz
    SILENT = "silent"  # sent with disable_notification: it shows, quietly


# Whether a kind makes a sound when nothing else is said (`/notify sound <kind> on|off` changes it
# per chat: ChatKindSetting.loud). Only what someone must act on is loud; the routine stream is
# silent, so the sound of an alert means something. Every kind is listed: a new kind must say.
DEFAULT_SOUND = {
    OutboxKind.ALERT: Sound.LOUD,
    OutboxKind.NOTICE: Sound.LOUD,
    OutboxKind.SCREEN_POP: Sound.LOUD,  # the agent's own phone is ringing
    OutboxKind.SCREEN_POP_OUTCOME: Sound.SILENT,  # an edit (edits never ring anyway)
    OutboxKind.ALERT_CLEARED: Sound.SILENT,
    OutboxKind.RINGING: Sound.SILENT,
    OutboxKind.CALL: Sound.SILENT,
    OutboxKind.TASK_CARD: Sound.SILENT,
    OutboxKind.DIGEST: Sound.SILENT,
    OutboxKind.SUMMARY: Sound.SILENT,
}


def is_loud(kind: str, chat_choice: bool | None) -> bool:
    """Whether a message of `kind` makes a sound in a chat that chose `chat_choice` (None: the
    kind's default). A kind this version does not know (a newer replica's) is loud: better heard
    than missed."""
    if chat_choice is not None:
        return chat_choice
    try:
        return DEFAULT_SOUND[OutboxKind(kind)] is Sound.LOUD
    except (ValueError, KeyError):
        return True


def enqueue(
    session: Session,
    *,
    chat_id: int,
    text: str,
    kind: OutboxKind,
    thread_id: int | None = None,
    photo: bytes | None = None,
    edit_key: str | None = None,
    event_at: datetime | None = None,
    reply_markup: str | None = None,
) -> OutboxMessage:
    """Store one message to send; `text` is HTML already escaped by the renderer, `event_at`
    when what it tells of happened (merged messages are listed in that order)."""
    message = OutboxMessage(
        chat_id=chat_id,
        thread_id=thread_id,
        kind=kind.value,
        urgency=URGENCY[kind],
        text=text,
        photo=photo,
        edit_key=edit_key,
        event_at=event_at,
        reply_markup=reply_markup,
        status=OutboxStatus.PENDING,
        not_before=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


@dataclass(frozen=True)
class Outgoing:
    """One message for `enqueue_many`."""

    chat_id: int
    text: str  # HTML, escaped by the renderer
    kind: OutboxKind
    thread_id: int | None = None
    event_at: datetime | None = None  # when what it tells of happened
    edit_key: str | None = None  # messages with one edit_key edit one Telegram message
    reply_markup: str | None = None  # an inline keyboard, Bot API JSON


def enqueue_many(session: Session, messages: list[Outgoing]) -> None:
    """Store many messages with one statement (not one ORM flush each), in the order given: the
    ids, which the sender follows within a chat and urgency, ascend in that order."""
    if not messages:
        return
    now = utcnow()
    rows = [
        {
            "chat_id": m.chat_id,
            "thread_id": m.thread_id,
            "kind": m.kind.value,
            "urgency": URGENCY[m.kind],
            "text": m.text,
            "event_at": m.event_at,
            "edit_key": m.edit_key,
            "reply_markup": m.reply_markup,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "parts_sent": 0,
            "not_before": now,
            "created_at": now,
        }
        for m in messages
    ]
    session.execute(insert(OutboxMessage.__table__), rows)  # type: ignore[attr-defined]


def withdraw_waiting(session: Session, chat_id: int, kinds: tuple[OutboxKind, ...]) -> int:
    """Take back the chat's messages of these kinds that still wait for their turn, because the
    chat no longer wants them (/mute, /notify … off). Without this a chat muted in the middle of
    a flood went on getting the flood for minutes: the relay checks the settings when it stores
    a message, and a group takes 16 a minute. A message a sender holds right now is left to it.
    Returns how many were taken back."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.chat_id) == chat_id,
            col(OutboxMessage.status) == OutboxStatus.PENDING.value,
            col(OutboxMessage.kind).in_([kind.value for kind in kinds]),
        )
        .values(status=OutboxStatus.WITHDRAWN.value, error="withdrawn: the chat no longer wants it")
        .returning(col(OutboxMessage.id))
        .execution_options(synchronize_session=False)
    )
    return len(result.all())
