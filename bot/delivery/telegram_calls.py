"""The Bot API calls one part of an outbox message takes: sendMessage, sendPhoto, sendDocument or
editMessageText, HTML, no link previews, paced as relay traffic by the shared rate limiter.

Only the sender calls this; command replies go through `replies`. Errors are PTB's exceptions, for
the caller to `classify`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypedDict

from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.delivery.merging import Part, PartMethod, plain_text
from bot.delivery.pacing import Priority

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True)
class SenderTimeouts:
    connect: float = 5.0
    read: float = 10.0
    write: float = 20.0
    pool: float = 5.0


class _CallOptions(TypedDict):
    """The keyword arguments every relay call passes to the Bot API."""

    rate_limit_args: Priority
    connect_timeout: float
    read_timeout: float
    write_timeout: float
    pool_timeout: float


async def call_part(
    bot: ExtBot,
    part: Part,
    chat_id: int,
    thread_id: int | None,
    *,
    plain: bool,
    timeouts: SenderTimeouts,
    silent: bool = False,
) -> int | None:
    """Make the call; return the message id it produced (an edit: the message edited).
    `silent`: sent with disable_notification (an edit makes no sound anyway)."""
    common: _CallOptions = {
        "rate_limit_args": Priority.RELAY,
        "connect_timeout": timeouts.connect,
        "read_timeout": timeouts.read,
        "write_timeout": timeouts.write,
        "pool_timeout": timeouts.pool,
    }
    markup = (
        InlineKeyboardMarkup.de_json(json.loads(part.reply_markup), bot)
        if part.reply_markup
        else None
    )
    text = part.text
    parse_mode: str | None = ParseMode.HTML
    if plain and text is not None:
        text, parse_mode = plain_text(text), None
    if part.method is PartMethod.EDIT:
        result = await bot.edit_message_text(
            text or "",
            chat_id=chat_id,
            message_id=part.edit_message_id,
            parse_mode=parse_mode,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup,
            **common,
        )
        return result.message_id if isinstance(result, Message) else part.edit_message_id
    if part.method is PartMethod.PHOTO:
        assert part.photo is not None  # plan_single makes PHOTO parts only for rows with one
        message = await bot.send_photo(
            chat_id,
            part.photo,
            caption=text,
            parse_mode=parse_mode if text else None,
            message_thread_id=thread_id,
            disable_notification=silent,
            **common,
        )
    elif part.method is PartMethod.DOCUMENT:
        assert part.document is not None  # merged_document always attaches the listing
        message = await bot.send_document(
            chat_id,
            part.document,
            filename=part.file_name,
            caption=text,
            parse_mode=parse_mode if text else None,
            message_thread_id=thread_id,
            disable_notification=silent,
            **common,
        )
    else:
        message = await bot.send_message(
            chat_id,
            text or "",
            parse_mode=parse_mode,
            message_thread_id=thread_id,
            link_preview_options=NO_PREVIEW,
            disable_notification=silent,
            reply_markup=markup,
            **common,
        )
    return message.message_id
