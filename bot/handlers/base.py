"""What every handler shares: who is asking, may they, and one way to answer and to fail.

Handlers stay thin: the decorators here resolve the chat's binding and the caller's role, check the
right, split the arguments, set the audit actor, and turn known errors into one plain sentence for
the user. Every answer goes out through `bot.delivery.replies` (HTML, split, chat migrations
followed); every error a user sees is plain text, escaped here and nowhere else.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session
from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import ContextTypes
from telegram.helpers import mention_html

from bot.args import command_args
from bot.audit import Actor, current_actor
from bot.delivery import replies
from bot.delivery.replies import answer_button, edit_by_id, edit_text, send_text
from bot.errors import UsageError, UserFacingError
from bot.handlers import catalogue
from bot.i18n import N_, _, language_of, speaking
from bot.laaffic.errors import PlatformError
from bot.laaffic.models import AgentGroup
from bot.logs import bind_log_context, reset_log_context
from bot.render import esc
from bot.runtime import Runtime
from bot.services import access, teams
from bot.services.access import Role
from bot.views.keyboards import Keyboard
from storage.db import write_refusal
from storage.models import BoundChat, KnownUser

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[["Request"], Awaitable[Any]]
UpdateHandler = Callable[[Update, Context], Coroutine[Any, Any, None]]


class ButtonHandler(Protocol):
    """A decorated callback-query handler; `callback_pattern` is what its buttons' data match."""

    callback_pattern: str

    def __call__(self, update: Update, context: Context) -> Coroutine[Any, Any, None]: ...


# A callback query answer shows at most 200 characters; longer errors also go into the chat.
TOAST_LIMIT = 200

# A message sent "as the group" (an anonymous administrator) or as a channel carries no member's
# id (Telegram puts a placeholder bot in `from`), so no role can be checked for it.
ANONYMOUS = N_(
    "You sent this as the group or as a channel, so I can't tell who you are and can't check "
    "your role. Send it from your own account: an anonymous administrator turns off "
    "“Remain anonymous” in their administrator rights."
)

NOT_BOUND = N_(
    "This chat is not bound to ccbot yet, so I don't act here. "
    "A ccbot admin has to run /bind in this chat first."
)


def runtime_of(context: Context) -> Runtime:
    runtime: Runtime = context.application.bot_data["runtime"]
    return runtime


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
    user_language_code: str | None = None  # Telegram's, as the member's app sends it
    language: str = "en"  # what the answers are written in (bot/i18n.py)

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
        """Answer (HTML) in the chat and forum topic the request came from; long text is split,
        the keyboard goes on the last message, which is returned."""
        delivery = await send_text(
            self.context.bot,
            self.runtime.database,
            self.chat_id,
            text,
            thread_id=self.thread_id,
            markup=keyboard(rows),
            admins=self.runtime.settings.admin_user_ids,
        )
        self.chat_id = delivery.chat_id  # a group that became a supergroup answers there now
        return delivery.last

    async def prompt(self, text: str, placeholder: str | None = None) -> Message:
        """Ask THIS member for a typed answer (HTML `text`), with a ForceReply aimed at them.

        A selective ForceReply reaches only the sender of the message it replies to and the users
        mentioned in it: so after a command it replies to the command, and after a button press
        (no message of theirs to reply to) it mentions whoever pressed.
        """
        user = self.update.effective_user
        own_message = self.update.message if self.query is None else None
        if own_message is None and user is not None:
            you = _("you")
            text = f"{mention_html(user.id, user.first_name or you)}: {text}"
        reply_to = own_message.message_id if own_message is not None else None
        return await self.ask(text, reply_to=reply_to, placeholder=placeholder)

    async def edit(
        self, message: MaybeInaccessibleMessage, text: str, rows: Keyboard | None = None
    ) -> Message:
        """Replace a message the bot sent (HTML); text too long for one message is continued in
        new messages, never cut. Returns the message that carries the keyboard.

        A button's message that Telegram no longer shows the bot (older than 48 hours) can't be
        edited: the text comes as a new message instead, so the press still gets its answer.
        """
        if not isinstance(message, Message):
            return await self.reply(text, rows)
        return await edit_text(
            self.context.bot,
            self.runtime.database,
            message,
            text,
            markup=keyboard(rows),
            admins=self.runtime.settings.admin_user_ids,
        )

    async def edit_by_id(self, message_id: int, text: str, rows: Keyboard | None = None) -> bool:
        """Edit a message the bot sent in this chat, known by its id (HTML); False when it is
        gone or too old to edit (the caller decides what to send instead)."""
        edited = await edit_by_id(
            self.context.bot,
            self.runtime.database,
            self.chat_id,
            message_id,
            text,
            markup=keyboard(rows),
            admins=self.runtime.settings.admin_user_ids,
        )
        return edited is not None

    async def ask(
        self, text: str, *, reply_to: int | None, placeholder: str | None = None
    ) -> Message:
        """Ask for a typed answer (HTML `text` that mentions whom it asks), with a selective
        ForceReply, as a reply to `reply_to` (the message the answer is about) when given."""
        delivery = await send_text(
            self.context.bot,
            self.runtime.database,
            self.chat_id,
            text,
            thread_id=self.thread_id,
            markup=ForceReply(selective=True, input_field_placeholder=placeholder),
            reply_to=reply_to,
            admins=self.runtime.settings.admin_user_ids,
        )
        self.chat_id = delivery.chat_id
        return delivery.last

    async def send_photo(self, photo: bytes, caption: str) -> Message:
        """A photo with an HTML caption in this chat (a long caption follows as text)."""
        delivery = await replies.send_photo(
            self.context.bot,
            self.runtime.database,
            self.chat_id,
            photo,
            caption,
            thread_id=self.thread_id,
            admins=self.runtime.settings.admin_user_ids,
        )
        self.chat_id = delivery.chat_id
        return delivery.last

    async def send_document(self, content: bytes, file_name: str, caption: str) -> Message:
        """A file with a short HTML caption in this chat."""
        delivery = await replies.send_document(
            self.context.bot,
            self.runtime.database,
            self.chat_id,
            content,
            file_name,
            caption,
            thread_id=self.thread_id,
            admins=self.runtime.settings.admin_user_ids,
        )
        self.chat_id = delivery.chat_id
        return delivery.last

    async def toast(self, text: str, alert: bool = False) -> None:
        """Answer the button press (plain text, at most 200 characters)."""
        if self.query is not None:
            # A press too old to answer needs nothing more.
            await answer_button(self.query, _shorten(text, TOAST_LIMIT), alert=alert)

    async def require_group(self, group: AgentGroup) -> None:
        """Refuse (plain-text `UserFacingError`) unless this chat's team may act on the group."""

        def check(session: Session) -> None:
            teams.require_group(
                session,
                chat_id=self.chat_id,
                is_admin=self.is_admin,
                voice_group_id=group.voice_group_id,
                group_name=group.group_name,
            )

        await self.runtime.database.run(check)

    async def require_task(self, task_id: int, group_ids: Iterable[int] = ()) -> None:
        """Refuse (plain-text `UserFacingError`) unless this chat's team may act on the task."""
        groups = list(group_ids)

        def check(session: Session) -> None:
            teams.require_task(
                session,
                chat_id=self.chat_id,
                is_admin=self.is_admin,
                task_id=task_id,
                group_ids=groups,
            )

        await self.runtime.database.run(check)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def resolve(update: Update, context: Context) -> Request | None:
    runtime = runtime_of(context)
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None:
        return None
    is_private = chat.type == ChatType.PRIVATE

    def load(session: Session, writes: bool = True) -> tuple[BoundChat | None, Role]:
        if writes:
            access.remember_user(
                session, user.id, user.username, user.full_name, user.language_code
            )
        bound = access.get_bound_chat(session, chat.id)
        if runtime.is_admin(user.id):
            if bound is None and is_private and writes:
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

    try:
        bound, role = await runtime.database.run(load)
    except Exception as exc:
        if write_refusal(exc) is None:
            raise
        # The database refuses writes (a full disk) but still reads: answer from what it has,
        # so that /status can say what is wrong.
        bound, role = await runtime.database.run(lambda s: load(s, writes=False))
    return Request(
        update=update,
        context=context,
        runtime=runtime,
        chat_id=chat.id,
        user_id=user.id,
        role=role,
        chat=bound,
        is_private=is_private,
        user_language_code=user.language_code,
        language=language_of(
            bound.language if bound else None, user.language_code, private=is_private
        ),
    )


def render_error(exc: UserFacingError) -> tuple[str, str]:
    """The plain text (for a toast) and the HTML (for a message) of an error a user sees."""
    if isinstance(exc, UsageError) and exc.command and exc.command in catalogue.BY_NAME:
        entry = catalogue.info(exc.command)
        plain = "\n".join(part for part in (exc.problem, entry.usage_text) if part)
        rendered = "\n".join(part for part in (esc(exc.problem), entry.usage_html) if part)
        return plain, rendered
    plain = str(exc)
    return plain, esc(plain)


async def run_guarded(req: Request, name: str, fn: Handler) -> None:
    """Run a handler, in the chat's language; what goes wrong becomes one sentence for the user
    (escaped here)."""
    with speaking(req.language):
        await _run_guarded(req, name, fn)


async def _run_guarded(req: Request, name: str, fn: Handler) -> None:
    token = current_actor.set(Actor(user_id=req.user_id, chat_id=req.chat_id, command=name))
    log_token = bind_log_context(chat_id=req.chat_id, user_id=req.user_id, command=name)
    try:
        await fn(req)
    except UserFacingError as exc:
        await _answer(req, *render_error(exc))
    except PlatformError as exc:
        await _answer(req, str(exc), esc(str(exc)))
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("handler %s failed (ref %s)", name, ref)
        text = _(
            "Something went wrong on our side while handling {name}, so it may not have "
            "finished. Check the result (for example with /groups or /tasks) before trying "
            "again; if it keeps failing, tell your admin the reference {ref}.",
            name=_(name),
            ref=ref,
        )
        await _answer(req, text, esc(text))
    finally:
        reset_log_context(log_token)
        current_actor.reset(token)


async def _answer(req: Request, plain: str, rendered: str) -> None:
    try:
        if req.query is not None:
            await req.toast(plain, alert=True)
            if req.query.message is not None and len(plain) > TOAST_LIMIT - 10:
                await req.reply(rendered)  # the toast shows only the start: the rest goes here
        else:
            await req.reply(rendered)
    except Exception:
        log.exception("could not tell the user about an error")


def command(
    name: str, required: Role, *, needs_binding: bool = True
) -> Callable[[Handler], UpdateHandler]:
    """Decorate a command handler: resolve the request, check `required`, split the arguments
    (a name in double quotes is one argument)."""

    def decorate(fn: Handler) -> UpdateHandler:
        @functools.wraps(fn)
        async def handler(update: Update, context: Context) -> None:
            req = await resolve(update, context)
            if req is None:
                return
            with speaking(req.language):
                await _command(req, update, name, required, needs_binding, fn)

        return handler

    return decorate


async def _command(
    req: Request, update: Update, name: str, required: Role, needs_binding: bool, fn: Handler
) -> None:
    """The checks of `command`, in the chat's language."""
    message = update.effective_message
    req.text = (message.text or message.caption or "") if message else ""
    if message is not None and message.sender_chat is not None:
        log.info("refused %s: sent as chat %s", name, message.sender_chat.id)
        await req.reply(esc(_(ANONYMOUS)))
        return
    if needs_binding and req.chat is None and not req.is_private:
        log.info("refused %s from user %s: chat %s is not bound", name, req.user_id, req.chat_id)
        await req.reply(esc(_(NOT_BOUND)))
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
        await req.reply(esc(refusal(req, required, name)))
        return

    async def with_args(req: Request) -> None:
        req.args = command_args(req.text)  # refuses an unclosed quote with a sentence
        await fn(req)

    await run_guarded(req, name, with_args)


_AS_ROLE = {
    Role.NONE: N_("not allowed in this chat"),
    Role.VIEWER: N_("a viewer"),
    Role.OPERATOR: N_("an operator"),
    Role.ADMIN: N_("an admin"),
}


def _with_article(role: Role) -> str:
    """What the member is, as the end of a sentence ("an operator"); the role's own name stays
    English in every language: it is the word /role takes."""
    return _(_AS_ROLE[role])


def refusal(req: Request, required: Role, what: str) -> str:
    """Plain text: why this member may not do `what` here, and how to get the right."""
    if req.is_private and req.role == Role.NONE:
        return _(
            "{what} works in a team chat the bot is bound to. Add me to your team's group and "
            "ask a ccbot admin to run /bind there.",
            what=what,
        )
    if required >= Role.ADMIN:
        return _(
            "You can't use {what} here: it needs the admin role, which only the ccbot admins "
            "listed in the deployment's ADMIN_USER_IDS have, and you are {current}.",
            what=what,
            current=_with_article(req.role),
        )
    return _(
        "You can't use {what} here: it needs the {role} role and you are {current}. "
        "Ask a ccbot admin to give you the role with /role {role}.",
        what=what,
        role=required.label,
        current=_with_article(req.role),
    )


async def user_by_username(req: Request, who: str, unseen: str) -> KnownUser:
    """The user with this @username, as the bot has seen them; else a refusal, `unseen` (a text
    with {user}, saying how to name them otherwise): only a user seen writes down their id."""
    user = await req.runtime.database.run(lambda s: access.find_user_by_username(s, who))
    if user is None:
        raise UserFacingError(_(unseen, user=who if who.startswith("@") else f"@{who}"))
    return user


def button(prefix: str, required: Role) -> Callable[[Handler], ButtonHandler]:
    """Decorate a callback-query handler: the same right check on every press."""

    def decorate(fn: Handler) -> ButtonHandler:
        @functools.wraps(fn)
        async def handler(update: Update, context: Context) -> None:
            req = await resolve(update, context)
            if req is None or req.query is None:
                return
            with speaking(req.language):
                await _button(req, prefix, required, fn)

        handler.callback_pattern = rf"^{prefix}:"  # type: ignore[attr-defined]
        return handler  # type: ignore[return-value]

    return decorate


async def _button(req: Request, prefix: str, required: Role, fn: Handler) -> None:
    """The checks of `button`, in the chat's language."""
    assert req.query is not None
    data = req.query.data or ""
    req.args = data.split(":")[1:]
    if req.chat is None and not req.is_private:
        await req.toast(_("This chat is not bound to ccbot any more; nothing was done."), True)
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
            _(
                "Only members with the {role} role can do this; nothing was done.",
                role=required.label,
            ),
            alert=True,
        )
        return
    await run_guarded(req, f"button {prefix}", fn)


async def unknown_button(update: Update, context: Context) -> None:
    """A press whose data no button handler knows (a button of an older version of the bot, or
    made-up data): answered, so the member's client stops waiting, and nothing is done."""
    query = update.callback_query
    if query is None:
        return
    log.warning("unknown button data %r from user %s", (query.data or "")[:64], query.from_user.id)
    with speaking(await _language_of_press(update, context)):
        await answer_button(
            query, _("This button is no longer valid; nothing was done."), alert=True
        )


async def _language_of_press(update: Update, context: Context) -> str:
    req = await resolve(update, context)
    return req.language if req is not None else "en"
