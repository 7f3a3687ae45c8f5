"""The one way the bot puts text into a chat: HTML, no link previews, split with the one splitter,
and a chat that became a supergroup followed to its new id.

Replies to commands and buttons (`Request.reply`, `Request.edit`, prompts), the private messages of
/agentcreds and the notices to admins all come through here; so will the relay's outbox sender.
It takes no handler objects: a bot, the database (to move a migrated chat's binding) and where and
what to send.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated

from bot.render import split_message
from bot.services import access
from storage.db import Database

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Markup = InlineKeyboardMarkup | ForceReply


@dataclass(frozen=True)
class Delivery:
    """What was sent: the chat it finally went to (a migrated group's new id) and the messages."""

    chat_id: int
    messages: tuple[Message, ...]

    @property
    def last(self) -> Message:
        """The last message: the one that carries the keyboard, if any."""
        return self.messages[-1]


async def move_chat(database: Database, old_chat_id: int, new_chat_id: int) -> bool:
    """Move a chat's binding, roles, routes and records to its new id; safe to run twice."""
    try:
        return await database.run(lambda s: access.migrate_chat(s, old_chat_id, new_chat_id))
    except IntegrityError:
        # The migration notice and a refused send can move the same chat at once: the other one
        # won; running again finds its rows and completes the move.
        return await database.run(lambda s: access.migrate_chat(s, old_chat_id, new_chat_id))


async def send_text(
    bot: Bot,
    database: Database,
    chat_id: int,
    text: str,
    *,
    thread_id: int | None = None,
    markup: Markup | None = None,
    reply_to: int | None = None,
) -> Delivery:
    """Send HTML `text`, split into as many messages as it needs.

    The markup goes on the last message (where the eye ends up), `reply_to` on the first.
    """
    return await _send_chunks(
        bot, database, chat_id, split_message(text), thread_id, markup, reply_to
    )


async def edit_text(
    bot: Bot,
    database: Database,
    message: Message,
    text: str,
    *,
    markup: InlineKeyboardMarkup | None = None,
) -> Message:
    """Replace the text of a message the bot sent; returns the message that carries `markup`.

    Text too long for one message is never cut: the message is edited to the first chunk and the
    rest follows as new messages, the last one with the keyboard. Cards should still be kept short
    by the view that renders them. An unchanged text is not an error.
    """
    chunks = split_message(text)
    try:
        edited = await bot.edit_message_text(
            chunks[0],
            chat_id=message.chat_id,
            message_id=message.message_id,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup if len(chunks) == 1 else None,
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise
        edited = message
    if len(chunks) == 1:
        return edited if isinstance(edited, Message) else message
    thread_id = message.message_thread_id if message.is_topic_message else None
    delivery = await _send_chunks(
        bot, database, message.chat_id, chunks[1:], thread_id, markup, None
    )
    return delivery.last


async def _send_chunks(
    bot: Bot,
    database: Database,
    chat_id: int,
    chunks: Sequence[str],
    thread_id: int | None,
    markup: Markup | None,
    reply_to: int | None,
) -> Delivery:
    sent: list[Message] = []
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        try:
            message = await _send_one(
                bot, chat_id, chunk, thread_id, markup if last else None, reply_to if i == 0 else None
            )
        except ChatMigrated as exc:
            # The group became a supergroup and we have not (yet) seen its service message:
            # move the chat's binding and go on in the new chat (which has no topics yet).
            old, chat_id, thread_id = chat_id, exc.new_chat_id, None
            await move_chat(database, old, chat_id)
            log.info("chat %s migrated to %s (learned on send)", old, chat_id)
            message = await _send_one(bot, chat_id, chunk, None, markup if last else None, None)
        sent.append(message)
    return Delivery(chat_id, tuple(sent))


async def _send_one(
    bot: Bot,
    chat_id: int,
    text: str,
    thread_id: int | None,
    markup: Markup | None,
    reply_to: int | None,
) -> Message:
    return await bot.send_message(
        chat_id,
        text,
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=markup,
        message_thread_id=thread_id,
        # A reply to a message deleted meanwhile is still sent, just not as a reply.
        reply_parameters=(
            ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        ),
    )
