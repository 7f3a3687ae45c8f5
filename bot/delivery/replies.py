"""The reply path: how handlers put text, photos and documents into a chat and edit what they
sent, at once (paced as replies, ahead of the outbox's messages, see `pacing`).

HTML, no link previews, long text split by the one splitter (`bot.render.split_message`).
Telegram's refusals are read by `telegram_errors.classify` and handled as the outbox sender
handles them (`chat_changes`): a chat that became a supergroup is followed to its new id and its
records moved, a deleted topic sends to the main thread, HTML Telegram could not parse goes again
as plain text, an edit of a message that is gone is sent as a new message. What cannot be
completed raises `DeliveryError` with the outcome; handlers never see PTB's exceptions.

It takes no handler objects: a bot, the database and where and what to send.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    ForceReply,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.delivery import telegram_errors as errors
from bot.delivery.chat_changes import chat_refuses, forget_topic, move_chat
from bot.delivery.merging import CAPTION_LIMIT, plain_text
from bot.delivery.telegram_errors import DeliveryError
from bot.render import split_message
from storage.db import Database
from storage.models import BoundChat, utcnow

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Markup = InlineKeyboardMarkup | ForceReply
T = TypeVar("T")

__all__ = ["Delivery", "DeliveryError", "answer_button", "edit_text", "send_text"]


@dataclass(frozen=True)
class Delivery:
    """What was sent: the chat it finally went to (a migrated group's new id) and the messages."""

    chat_id: int
    messages: tuple[Message, ...]

    @property
    def last(self) -> Message:
        """The last message: the one that carries the keyboard, if any."""
        return self.messages[-1]


@dataclass
class _Where:
    """Where a call goes, as Telegram's answers move it (a new chat id, no topic)."""

    chat_id: int
    thread_id: int | None
    plain: bool = False


async def _attempt(
    database: Database,
    where: _Where,
    call: Callable[[_Where], Awaitable[T]],
    *,
    admins: Iterable[int] = (),
    editing: bool = False,
) -> T:
    """Make `call`, handling the answers that allow it to go on; raise DeliveryError otherwise."""
    for _ in range(4):
        try:
            return await call(where)
        except TelegramError as error:
            outcome = errors.classify(error)
        match outcome:
            case errors.ChatMoved(new_chat_id):
                old, where.chat_id, where.thread_id = where.chat_id, new_chat_id, None
                await move_chat(database, old, new_chat_id)
                log.info("chat %s migrated to %s (learned on a reply)", old, new_chat_id)
            case errors.TopicGone() if where.thread_id is not None:
                await database.run(
                    functools.partial(
                        forget_topic, chat_id=where.chat_id, thread_id=where.thread_id
                    )
                )
                where.thread_id = None
            case errors.BadMarkup(description) if not where.plain:
                log.warning(
                    "chat %s: Telegram could not parse a reply's HTML (%s)",
                    where.chat_id,
                    description,
                )
                where.plain = True
            case errors.BotRemoved(description) if not editing:
                await _refused(database, where.chat_id, description, admins)
                raise DeliveryError(outcome)
            case _:
                raise DeliveryError(outcome)
    raise DeliveryError(errors.Refused("the chat kept changing while replying"))


async def _refused(
    database: Database, chat_id: int, description: str, admins: Iterable[int]
) -> None:
    """A bound chat that refuses the bot gets the chat's one handling; a member's private chat
    (a blocked bot) only fails this reply (the handler tells the member what to do)."""
    admin_ids = list(admins)

    def handle(s):  # noqa: ANN001, ANN202
        if s.get(BoundChat, chat_id) is None:
            return
        chat_refuses(s, chat_id, description, utcnow(), admin_user_ids=admin_ids)

    await database.run(handle)


def _text(where: _Where, text: str) -> tuple[str, str | None]:
    return (plain_text(text), None) if where.plain else (text, ParseMode.HTML)


async def send_text(
    bot: Bot,
    database: Database,
    chat_id: int,
    text: str,
    *,
    thread_id: int | None = None,
    markup: Markup | None = None,
    reply_to: int | None = None,
    admins: Iterable[int] = (),
) -> Delivery:
    """Send HTML `text`, split into as many messages as it needs.

    The markup goes on the last message (where the eye ends up), `reply_to` on the first.
    """
    return await _send_chunks(
        bot, database, _Where(chat_id, thread_id), split_message(text), markup, reply_to, admins
    )


async def _send_chunks(
    bot: Bot,
    database: Database,
    where: _Where,
    chunks: Sequence[str],
    markup: Markup | None,
    reply_to: int | None,
    admins: Iterable[int],
) -> Delivery:
    sent: list[Message] = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        reply = reply_to if i == 0 else None

        async def one(
            w: _Where, chunk: str = chunk, last: bool = last, reply: int | None = reply
        ) -> Message:
            text, parse_mode = _text(w, chunk)
            return await bot.send_message(
                w.chat_id,
                text,
                parse_mode=parse_mode,
                link_preview_options=NO_PREVIEW,
                reply_markup=markup if last else None,
                message_thread_id=w.thread_id,
                # A reply to a message deleted meanwhile is still sent, just not as a reply.
                reply_parameters=(
                    ReplyParameters(reply, allow_sending_without_reply=True) if reply else None
                ),
            )

        sent.append(await _attempt(database, where, one, admins=admins))
    return Delivery(where.chat_id, tuple(sent))


async def edit_text(
    bot: Bot,
    database: Database,
    message: Message,
    text: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
    admins: Iterable[int] = (),
) -> Message:
    """Replace the text of a message the bot sent; returns the message that carries `markup`.

    Text too long for one message is never cut: the message is edited to the first chunk and the
    rest follows as new messages, the last one with the keyboard. Cards should still be kept short
    by the view that renders them. An unchanged text is not an error; a message that is gone (or
    too old to edit) is sent again as a new message, which is returned.
    """
    thread_id = message.message_thread_id if message.is_topic_message else None
    edited = await edit_by_id(
        bot, database, message.chat_id, message.message_id, text, markup=markup, admins=admins
    )
    if edited is None:
        delivery = await send_text(
            bot, database, message.chat_id, text, thread_id=thread_id, markup=markup, admins=admins
        )
        return delivery.last
    chunks = split_message(text)
    if len(chunks) == 1:
        return edited if isinstance(edited, Message) else message
    delivery = await _send_chunks(
        bot, database, _Where(message.chat_id, thread_id), chunks[1:], markup, None, admins
    )
    return delivery.last


async def edit_by_id(
    bot: Bot,
    database: Database,
    chat_id: int,
    message_id: int,
    text: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
    admins: Iterable[int] = (),
) -> Message | bool | None:
    """Edit a bot message known by id to the first chunk of `text` (the keyboard on it when the
    text fits one message). Returns the edited message (True when Telegram did not return it or
    nothing changed), or None when the message is gone or can no longer be edited."""
    chunks = split_message(text)

    async def edit(w: _Where) -> Message | bool:
        shown, parse_mode = _text(w, chunks[0])
        return await bot.edit_message_text(
            shown,
            chat_id=w.chat_id,
            message_id=message_id,
            parse_mode=parse_mode,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup if len(chunks) == 1 else None,
        )

    try:
        return await _attempt(database, _Where(chat_id, None), edit, admins=admins, editing=True)
    except DeliveryError as error:
        if isinstance(error.outcome, errors.NotModified):
            return True
        if isinstance(error.outcome, errors.MessageGone):
            return None
        raise


async def send_photo(
    bot: Bot,
    database: Database,
    chat_id: int,
    photo: bytes,
    caption: str,
    *,
    thread_id: int | None = None,
    admins: Iterable[int] = (),
) -> Delivery:
    """A photo with its HTML caption; a caption too long for one goes as text after it."""
    fits = len(caption) <= CAPTION_LIMIT

    async def one(w: _Where) -> Message:
        text, parse_mode = _text(w, caption) if fits and caption else (None, None)
        return await bot.send_photo(
            w.chat_id, photo, caption=text, parse_mode=parse_mode, message_thread_id=w.thread_id
        )

    where = _Where(chat_id, thread_id)
    sent = await _attempt(database, where, one, admins=admins)
    if fits:
        return Delivery(where.chat_id, (sent,))
    rest = await _send_chunks(bot, database, where, split_message(caption), None, None, admins)
    return Delivery(rest.chat_id, (sent, *rest.messages))


async def send_document(
    bot: Bot,
    database: Database,
    chat_id: int,
    content: bytes,
    file_name: str,
    caption: str,
    *,
    thread_id: int | None = None,
    admins: Iterable[int] = (),
) -> Delivery:
    """A file with a short HTML caption (at most 1,024 characters)."""

    async def one(w: _Where) -> Message:
        text, parse_mode = _text(w, caption[:CAPTION_LIMIT])
        return await bot.send_document(
            w.chat_id,
            content,
            filename=file_name,
            caption=text or None,
            parse_mode=parse_mode if text else None,
            message_thread_id=w.thread_id,
        )

    where = _Where(chat_id, thread_id)
    return Delivery(where.chat_id, (await _attempt(database, where, one, admins=admins),))


async def answer_button(query: CallbackQuery, text: str, *, alert: bool = False) -> bool:
    """Answer a button press (plain text); False when the press is too old to answer."""
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as error:
        log.info("could not answer a button press: %s", errors.classify(error))
        return False
    return True
