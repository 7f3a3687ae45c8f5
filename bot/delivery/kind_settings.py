"""Per chat and kind of outbox message: the forum topic it goes to (`/topic`) and whether it makes a
sound (`/notify sound`). Read by the sender when it claims a chat's batch, so a change applies to
the messages already waiting too, and no producer needs to know about topics or sounds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.delivery.outbox import OutboxKind, is_loud
from storage.models import ChatKindSetting

# The words members use for kinds of messages, and the outbox kinds each stands for.
SOUND_WORDS: dict[str, tuple[OutboxKind, ...]] = {
    "alerts": (OutboxKind.ALERT,),
    "ringing": (OutboxKind.RINGING,),
    "calls": (OutboxKind.CALL,),
    "digests": (OutboxKind.DIGEST,),
    "summaries": (OutboxKind.SUMMARY,),
    "tasks": (OutboxKind.TASK_CARD,),
    "notices": (OutboxKind.NOTICE,),
}
TOPIC_WORDS: dict[str, tuple[OutboxKind, ...]] = {
    "alerts": (OutboxKind.ALERT, OutboxKind.ALERT_CLEARED),
    "ringing": (OutboxKind.RINGING,),
    "calls": (OutboxKind.CALL, OutboxKind.DIGEST),
    "summaries": (OutboxKind.SUMMARY,),
    "tasks": (OutboxKind.TASK_CARD,),
}


@dataclass(frozen=True)
class KindPlace:
    """Where and how a chat's message of one kind goes."""

    thread_id: int | None  # None: where the message's row says (the chat's main place)
    loud: bool


def place_of(session: Session, chat_id: int, kind: str) -> KindPlace:
    setting = session.get(ChatKindSetting, (chat_id, kind))
    if setting is None:
        return KindPlace(None, is_loud(kind, None))
    return KindPlace(setting.thread_id, is_loud(kind, setting.loud))


def chat_settings(session: Session, chat_id: int) -> dict[str, ChatKindSetting]:
    rows = session.exec(select(ChatKindSetting).where(col(ChatKindSetting.chat_id) == chat_id))
    return {row.kind: row for row in rows}


def _row(session: Session, chat_id: int, kind: OutboxKind) -> ChatKindSetting:
    row = session.get(ChatKindSetting, (chat_id, kind.value))
    if row is None:
        row = ChatKindSetting(chat_id=chat_id, kind=kind.value)
        session.add(row)
    return row


def set_topic(
    session: Session, chat_id: int, kinds: tuple[OutboxKind, ...], thread_id: int | None
) -> None:
    for kind in kinds:
        _row(session, chat_id, kind).thread_id = thread_id
    session.flush()


def set_loud(session: Session, chat_id: int, kinds: tuple[OutboxKind, ...], loud: bool) -> None:
    for kind in kinds:
        _row(session, chat_id, kind).loud = loud
    session.flush()


def forget_topic(session: Session, chat_id: int, thread_id: int) -> int:
    """The topic is gone: the kinds sent there go to the chat's main place again. Returns how
    many kinds were sent there."""
    result = session.execute(
        update(ChatKindSetting)
        .where(col(ChatKindSetting.chat_id) == chat_id, col(ChatKindSetting.thread_id) == thread_id)
        .values(thread_id=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined]


def move_chat(session: Session, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its choices move to the new id (a topic id does not survive
    the move: a plain group has none)."""
    session.execute(delete(ChatKindSetting).where(col(ChatKindSetting.chat_id) == new_chat_id))
    session.execute(
        update(ChatKindSetting)
        .where(col(ChatKindSetting.chat_id) == old_chat_id)
        .values(chat_id=new_chat_id)
        .execution_options(synchronize_session=False)
    )


def sounds_by_word(session: Session, chat_id: int) -> dict[str, bool]:
    """Whether each kind (as members name it) makes a sound in the chat."""
    rows = chat_settings(session, chat_id)
    result = {}
    for word, kinds in SOUND_WORDS.items():
        row = rows.get(kinds[0].value)
        result[word] = is_loud(kinds[0].value, row.loud if row is not None else None)
    return result


def topics_by_word(session: Session, chat_id: int) -> dict[str, int | None]:
    """The topic each kind (as members name it) goes to in the chat; None: the main place."""
    rows = chat_settings(session, chat_id)
    result = {}
    for word, kinds in TOPIC_WORDS.items():
        row = rows.get(kinds[0].value)
        result[word] = row.thread_id if row is not None else None
    return result
