"""What a chat's change means for the bot's records, handled once whichever path met it.

Telegram tells us three things about a chat only when we try to send there (or in a service
message): the group became a supergroup with a new id, the forum topic notifications went to was
deleted, or the bot can no longer post there (removed from the group, blocked by the user). A
command reply, the outbox sender and the service-message handler all call these functions, so the
binding, the routes and the waiting messages end up the same however it was learned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.delivery import kind_settings
from bot.delivery import outbox_claims as claims
from bot.delivery.outbox import OutboxKind, enqueue
from bot.i18n import language_of, speaking
from bot.i18n import t as in_language
from bot.services import access
from bot.views.agent_links import agent_blocked_notice
from bot.views.notices import TOPIC_GONE_NOTICE, forbidden_notice
from storage.db import Database
from storage.models import AgentLink, AuditEntry, BoundChat, KnownUser, PopRecipient

log = logging.getLogger(__name__)

FORBIDDEN = "forbidden"  # the reason recorded on messages that failed because of it


def admin_language(session: Session, admin_id: int) -> str:
    """The language an admin reads notices in, as a command in their private chat with the bot
    would answer: that chat's own (/settings language there), else the Telegram language their
    app last sent (known_user), else English."""
    private = session.get(BoundChat, admin_id)
    known = session.get(KnownUser, admin_id)
    return language_of(
        private.language if private else None,
        known.language_code if known else None,
        private=True,
    )


def _move(session: Session, old_chat_id: int, new_chat_id: int) -> bool:
    moved = access.migrate_chat(session, old_chat_id, new_chat_id)
    claims.move_chat(session, old_chat_id, new_chat_id)
    kind_settings.move_chat(session, old_chat_id, new_chat_id)
    return moved


async def move_chat(database: Database, old_chat_id: int, new_chat_id: int) -> bool:
    """The group became a supergroup: its binding, roles, routes, tasks and waiting messages move
    to the new id. Safe to run twice and from two places at once (the service message and a
    refused send can both bring the news)."""
    log.info("chat %s became %s; moving it", old_chat_id, new_chat_id)
    try:
        return await database.run(lambda s: _move(s, old_chat_id, new_chat_id))
    except IntegrityError:
        # The other one won the race; running again finds its rows and completes the move.
        return await database.run(lambda s: _move(s, old_chat_id, new_chat_id))


def forget_topic(session: Session, chat_id: int, thread_id: int) -> bool:
    """The chat's forum topic is gone: its waiting messages and the chat's next ones go to the
    main thread (else each would first be refused there, one Telegram call and one relay slot
    wasted per message, for good), and the chat is told once. False when the binding had already
    moved elsewhere (nothing to tell)."""
    moved = access.forget_topic(session, chat_id, thread_id)
    claims.move_thread(session, chat_id, thread_id)
    # Kinds sent to that topic with /topic go to the chat's main place again.
    moved = kind_settings.forget_topic(session, chat_id, thread_id) > 0 or moved
    if moved:
        log.warning(
            "chat %s: forum topic %s is gone; notifications go to the main thread",
            chat_id,
            thread_id,
        )
        chat = session.get(BoundChat, chat_id)
        notice = in_language(language_of(chat.language if chat else None))(TOPIC_GONE_NOTICE)
        enqueue(session, chat_id=chat_id, text=notice, kind=OutboxKind.NOTICE)
    return moved


def chat_refuses(
    session: Session,
    chat_id: int,
    description: str,
    now: datetime,
    *,
    admin_user_ids: Iterable[int],
    failed_now: int = 0,
    told_before: bool = False,
) -> int:
    """The bot can no longer post in the chat: its waiting messages fail, its routes are switched
    off, and the admins are told (when routes were switched off, or the first time the chat
    refused). `failed_now` counts messages the caller already marked failed for it; returns how
    many more waiting messages failed."""
    error = f"{FORBIDDEN}: {description}"
    log.warning("chat %s: Telegram refuses messages there (%s)", chat_id, description)
    waiting = claims.fail_waiting(session, chat_id, error, now)
    if chat_id > 0:  # a user's private chat: their screen pops stop until they /start again
        agent_refuses(session, chat_id, now)
    routes = access.disable_routes(session, chat_id)
    admins = sorted(set(admin_user_ids) - {chat_id})
    if admins and (routes > 0 or not told_before):
        chat = session.get(BoundChat, chat_id)
        for admin in admins:
            with speaking(admin_language(session, admin)):
                text = forbidden_notice(
                    chat_id, chat.title if chat else None, description, routes, failed_now + waiting
                )
            enqueue(session, chat_id=admin, text=text, kind=OutboxKind.NOTICE)
    return waiting


def agent_refuses(session: Session, user_id: int, now: datetime) -> bool:
    """An agent with linked SIP accounts blocked the bot: no pops until they /start again, and
    each team chat that linked their accounts is told, once (the next refusal finds them
    blocked already). False when there was nothing to do."""
    recipient = session.get(PopRecipient, user_id)
    if recipient is None or recipient.blocked:
        return False
    recipient.blocked, recipient.updated_at = True, now
    session.add(recipient)
    links = list(
        session.exec(
            select(AgentLink)
            .where(AgentLink.user_id == user_id)
            .order_by(col(AgentLink.sip_account))
        )
    )
    for chat_id in sorted({link.chat_id for link in links}):
        chat = session.get(BoundChat, chat_id)
        if chat is None or not chat.active:
            continue
        accounts = [link.sip_account for link in links if link.chat_id == chat_id]
        with speaking(language_of(chat.language)):  # the team chat's language
            notice = agent_blocked_notice(user_id, accounts)
        enqueue(
            session,
            chat_id=chat_id,
            text=notice,
            kind=OutboxKind.NOTICE,
            thread_id=chat.thread_id,
        )
    session.add(
        AuditEntry(
            user_id=user_id,
            command="pop_blocked",
            endpoint="ccbot/pop_blocked",
            arguments="{}",
            result_code="0",
            ok=True,
        )
    )
    log.warning("user %s blocked the bot; their screen pops stop", user_id)
    return True
