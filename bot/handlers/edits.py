"""Edited messages are not new requests: editing a command (or a file's caption) does nothing.

Telegram sends an edit of a message as an update of its own, and python-telegram-bot's command
and message handlers take edits as well as new messages. Acting on them would run a command a
second time: an operator who fixes the count in `/addagents Sales 3` → `5` would get 3 + 5 agents,
a re-captioned file would be checked and stored again. So edits stop here, before every other
handler; an edit of one of our commands gets one sentence saying to send it again.
"""

from __future__ import annotations

from telegram import MessageEntity, Update
from telegram.ext import Application, ApplicationHandlerStop, MessageHandler, filters

from bot.delivery.replies import send_text
from bot.handlers import catalogue
from bot.handlers.base import Context, resolve, runtime_of
from bot.i18n import _, speaking
from bot.render import esc

# Runs before the handlers of group 0, where every command and file handler is.
EDITS_GROUP = -1


def edited_command(update: Update, bot_username: str) -> str | None:
    """The name of our command an edited message starts with ("addagents"), else None."""
    message = update.edited_message
    if message is None:
        return None
    text = message.text or message.caption or ""
    entities = message.entities if message.text else message.caption_entities
    first = next(
        (e for e in entities or () if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None
    )
    if first is None:
        return None
    name, _, addressee = text[1 : first.length].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None  # another bot's command
    name = name.lower()
    return name if name in catalogue.BY_NAME else None


async def on_edit(update: Update, context: Context) -> None:
    name = edited_command(update, context.bot.username)
    message = update.edited_message
    req = await resolve(update, context) if name is not None else None
    if name is not None and message is not None:
        with speaking(req.language if req is not None else None):
            text = _(
                "I act on new messages only, so editing /{name} did nothing. Send the corrected "
                "command as a new message.",
                name=name,
            )
        await send_text(
            context.bot,
            runtime_of(context).database,
            message.chat_id,
            esc(text),
            thread_id=message.message_thread_id if message.is_topic_message else None,
            reply_to=message.message_id,
        )
    raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, on_edit), group=EDITS_GROUP)
