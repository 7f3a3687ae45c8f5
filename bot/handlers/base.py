"""What every handler shares: who is asking, may they, and one way to answer and to fail.

Handlers stay thin: the decorators here resolve the chat's binding and the caller's role, check the
right, set the audit actor, and turn known errors into one plain sentence for the user.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, ChatMigrated
from telegram.ext import ContextTypes

from bot.audit import Actor, current_actor
from bot.errors import UserFacingError
from bot.laaffic.errors import PlatformError
from bot.render import esc, split_message
from bot.runtime import Runtime
from bot.services import access
from bot.services.access import Role
from storage.models import BoundChat

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Keyboard = Sequence[Sequence[tuple[str, str]]]


NOT_BOUND = (
    "This chat is not bound to ccbot yet, so I don't act here. "
    "A ccbot admin has to run /bind in this chat first."
)


def runtime_of(context: Context) -> Runtime:
    return context.application.bot_data["runtime"]


def keyboard(rows: Keyboard | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


@dataclass
class Request:
    """One command or button press, resolved: who, where, with which right."""

    update: Update
    context: Context
    runtime: Runtime
    chat_id: int
    user_id: int
    role: Role
    chat: BoundChat | None
    is_private: bool
    args: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def message(self) -> Message | None:
        return self.update.effective_message

    @property
    def query(self) -> CallbackQuery | None:
        return self.update.callback_query

    @property
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN

    @property
    def app_id(self) -> str:
        return (
            self.chat.app_id if self.chat and self.chat.app_id else None
        ) or self.runtime.client.app_id

    @property
    def ccode(self) -> str | None:
        return self.chat.ccode if self.chat else None

    @property
    def thread_id(self) -> int | None:
        msg = self.message
        return msg.message_thread_id if msg is not None and msg.is_topic_message else None

    async def reply(self, text: str, rows: Keyboard | None = None) -> Message:
        """Answer in the chat (and forum topic) the request came from; long text is split."""
        sent: Message | None = None
        chunks = split_message(text)
        for i, chunk in enumerate(chunks):
            markup = keyboard(rows) if i == len(chunks) - 1 else None
            sent = await self._send(chunk, markup)
        assert sent is not None
        return sent

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        try:
            return await self.context.bot.send_message(
                self.chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                message_thread_id=self.thread_id,
                disable_web_page_preview=True,
            )
        except ChatMigrated as exc:
            # The group became a supergroup and we missed (or have not yet handled) the service
            # message: move the chat's binding and answer in the new chat.
            old, new = self.chat_id, exc.new_chat_id
            await self.runtime.database.run(lambda s: access.migrate_chat(s, old, new))
            log.info("chat %s migrated to %s (learned on send)", old, new)
            self.chat_id = new
            return await self.context.bot.send_message(
                new,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )

    async def edit(self, message: Message, text: str, rows: Keyboard | None = None) -> None:
        """Edit a message the bot sent; an unchanged text is not an error."""
        try:
            await message.edit_text(
                text[:4096],
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(rows),
                disable_web_page_preview=True,
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    async def toast(self, text: str, alert: bool = False) -> None:
        if self.query is not None:
            try:
                await self.query.answer(text[:200], show_alert=alert)
            except BadRequest:
                pass  # the query is too old to answer; nothing to do


async def resolve(update: Update, context: Context) -> Request | None:
    runtime = runtime_of(context)
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None:
        return None
    is_private = chat.type == ChatType.PRIVATE

    def load(session):  # noqa: ANN001, ANN202
        access.remember_user(session, user.id, user.username, user.full_name)
        bound = access.get_bound_chat(session, chat.id)
        if runtime.is_admin(user.id):
            if bound is None and is_private:
                # An admin's private chat needs no /bind: it is theirs.
                bound, _ = access.bind_chat(
                    session,
                    chat.id,
                    title=user.full_name,
                    chat_type="private",
                    thread_id=None,
                    by_user=user.id,
                )
            return bound, Role.ADMIN
        if is_private:
            return None, Role.NONE
        return bound, access.role_in_chat(session, chat.id, user.id)

    bound, role = await runtime.database.run(load)
    return Request(
        update=update,
        context=context,
        runtime=runtime,
        chat_id=chat.id,
        user_id=user.id,
        role=role,
        chat=bound,
        is_private=is_private,
    )


Handler = Callable[[Request], Awaitable[Any]]


async def run_guarded(req: Request, name: str, fn: Handler) -> None:
    token = current_actor.set(Actor(user_id=req.user_id, chat_id=req.chat_id, command=name))
    try:
        await fn(req)
    except UserFacingError as exc:
        await _answer(req, esc(str(exc)))
    except PlatformError as exc:
        await _answer(req, esc(str(exc)))
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("handler %s failed (ref %s)", name, ref)
        await _answer(
            req,
            f"Something went wrong on our side while handling {name}, so it may not have "
            f"finished. Check the result (for example with /groups or /tasks) before trying "
            f"again; if it keeps failing, tell your admin the reference {ref}.",
        )
    finally:
        current_actor.reset(token)


async def _answer(req: Request, text: str) -> None:
    try:
        if req.query is not None:
            await req.toast(_strip_tags(text), alert=True)
            if req.query.message is not None and len(text) > 190:
                await req.reply(text)
        else:
            await req.reply(text)
    except Exception:
        log.exception("could not tell the user about an error")


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def command(
    name: str, required: Role, *, needs_binding: bool = True
) -> Callable[[Handler], Callable]:
    """Decorate a command handler: resolve the request, check `required`, parse arguments."""

    def decorate(fn: Handler) -> Callable:
        @functools.wraps(fn)
        async def handler(update: Update, context: Context) -> None:
            req = await resolve(update, context)
            if req is None:
                return
            req.args = list(context.args or [])
            message = update.effective_message
            req.text = (message.text or message.caption or "") if message else ""
            if needs_binding and req.chat is None and not req.is_private:
                log.info(
                    "refused %s from user %s: chat %s is not bound", name, req.user_id, req.chat_id
                )
                await req.reply(NOT_BOUND)
                return
            if req.role < required:
                log.warning(
                    "refused %s: user %s is %s in chat %s, needs %s",
                    name,
                    req.user_id,
                    req.role.label,
                    req.chat_id,
                    required.label,
                )
                await req.reply(refusal(req, required, name))
                return
            await run_guarded(req, name, fn)

        return handler

    return decorate


def _with_article(role: Role) -> str:
    return f"{'an' if role.label[0] in 'aeiou' else 'a'} {role.label}"


def refusal(req: Request, required: Role, what: str) -> str:
    if req.is_private and req.role == Role.NONE:
        return (
            f"{what} works in a team chat the bot is bound to. Add me to your team's group and "
            f"ask a ccbot admin to run /bind there."
        )
    return (
        f"You can't use {what} here: it needs the {required.label} role and you are "
        f"{_with_article(req.role) if req.role else 'not allowed in this chat'}. "
        f"Ask a ccbot admin to give you the role with /role {required.label}."
    )


def button(prefix: str, required: Role) -> Callable[[Handler], Callable]:
    """Decorate a callback-query handler: the same right check on every press."""

    def decorate(fn: Handler) -> Callable:
        @functools.wraps(fn)
        async def handler(update: Update, context: Context) -> None:
            req = await resolve(update, context)
            if req is None or req.query is None:
                return
            data = req.query.data or ""
            req.args = data.split(":")[1:]
            if req.chat is None and not req.is_private:
                await req.toast("This chat is not bound to ccbot any more; nothing was done.", True)
                return
            if req.role < required:
                log.warning(
                    "refused button %s: user %s is %s in chat %s, needs %s",
                    data,
                    req.user_id,
                    req.role.label,
                    req.chat_id,
                    required.label,
                )
                await req.toast(
                    f"Only members with the {required.label} role can do this; nothing was done.",
                    alert=True,
                )
                return
            await run_guarded(req, f"button {prefix}", fn)

        handler.callback_pattern = rf"^{prefix}:"  # type: ignore[attr-defined]
        return handler

    return decorate
