"""The time-based alert rules, run by the scheduler's leader: no-pushes and task-stalled every
minute, balance every 10 minutes. What they raise is an episode inserted with ON CONFLICT DO
NOTHING (bot/alerts/episodes.py), so a change of leader mid-run, or two runs, still tell once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from bot.alerts import episodes
from bot.alerts.episodes import Changes, Target
from bot.alerts.rules import Rule, chat_rules
from bot.config import chat_zone
from bot.delivery.chat_changes import admin_language
from bot.delivery.outbox import OutboxKind, Outgoing, enqueue_many
from bot.i18n import language_of, speaking
from bot.views import alerts as views
from storage.models import (
    AlertEpisode,
    BoundChat,
    CallRecord,
    CallTask,
    OutboxMessage,
    RingingEvent,
    TaskCallee,
    as_utc,
)

log = logging.getLogger(__name__)

CHECK_EVERY_S = 60.0
BALANCE_EVERY_S = 600.0
CALLING = 11  # TaskStatus.CALLING: the platform reports the task as running
ACTIVE_FOR = timedelta(days=3)  # as the task card: older tasks are not watched
LONGEST_CALL = timedelta(hours=1)  # a record arrives after its call ends


def _target(chat: BoundChat, default_zone: tzinfo) -> Target:
    return Target(
        chat.chat_id, chat.thread_id, chat_zone(chat, default_zone), language_of(chat.language)
    )


def _running_tasks(session: Session, now: datetime) -> list[tuple[CallTask, BoundChat]]:
    return [
        (task, chat)
        for task, chat in session.exec(
            select(CallTask, BoundChat)
            .join(BoundChat, col(BoundChat.chat_id) == col(CallTask.chat_id))
            .where(
                col(BoundChat.active).is_(True),
                col(CallTask.last_status) == CALLING,
                col(CallTask.created_at) >= now - ACTIVE_FOR,
            )
        )
    ]


def last_push_at(session: Session, task: CallTask, now: datetime, window: timedelta) -> datetime:
    """When a push of the task last came: its newest ringing event, or a recent call record to one
    of its callees; the task's submission when neither came yet."""
    ringing = session.exec(
        select(func.max(RingingEvent.received_at)).where(col(RingingEvent.task_id) == task.task_id)
    ).one()
    called = session.exec(
        select(func.max(CallRecord.received_at))
        .join(
            TaskCallee,
            and_(
                col(TaskCallee.task_id) == task.task_id,
                col(TaskCallee.callee_digits) == col(CallRecord.called_digits),
            ),
        )
        .where(col(CallRecord.call_start_at) >= now - window - LONGEST_CALL)
    ).one()
    moments = [m for m in (ringing, called, task.created_at) if m is not None]
    return max(as_utc(m) for m in moments)


def last_progress_at(session: Session, task: CallTask) -> datetime:
    """When the task's progress last changed: its newest task card (the card poller enqueues one
    only when the platform's figures changed), else its submission."""
    card = session.exec(
        select(func.max(OutboxMessage.created_at)).where(
            col(OutboxMessage.edit_key) == f"task:{task.task_id}"
        )
    ).one()
    return as_utc(card or task.created_at)


def check_tasks(
    session: Session, now: datetime, default_zone: tzinfo, admin_user_ids: Iterable[int]
) -> Changes:
    """no-pushes and task-stalled for every running task of every bound chat."""
    tasks = _running_tasks(session, now)
    changes = Changes()
    messages: list[Outgoing] = []
    rules = chat_rules(session, {chat.chat_id for _, chat in tasks})
    names = [Rule.NO_PUSHES.value, Rule.TASK_STALLED.value]
    chats = {chat.chat_id: chat for _, chat in tasks}
    open_all = session.exec(
        select(AlertEpisode).where(
            col(AlertEpisode.rule).in_(names), col(AlertEpisode.cleared_at).is_(None)
        )
    ).all()
    open_ = {(e.chat_id, e.rule, e.subject): e for e in open_all}
    snoozed = episodes.snoozed(session, chats, now)
    running: set[tuple[int, str]] = set()
    for task, chat in tasks:
        subject = str(task.task_id)
        running.add((chat.chat_id, subject))
        target = _target(chat, default_zone)
        for rule in (Rule.NO_PUSHES, Rule.TASK_STALLED):
            setting = rules[chat.chat_id][rule]
            key = (chat.chat_id, rule.value, subject)
            if not setting.enabled:
                continue
            threshold = timedelta(minutes=setting["minutes"])
            last = (
                last_push_at(session, task, now, threshold)
                if rule is Rule.NO_PUSHES
                else last_progress_at(session, task)
            )
            quiet = now - last
            episode = open_.get(key)
            if episode is None and quiet >= threshold and key not in snoozed:
                figures = {
                    "minutes": int(quiet.total_seconds() // 60),
                    "threshold": setting["minutes"],
                }
                raised = episodes.raise_alert(
                    session, target, rule.value, subject, last, figures, now, messages, changes
                )
                if raised is not None and rule is Rule.NO_PUSHES:
                    messages += _admin_copies(session, chat, subject, figures, admin_user_ids)
            elif episode is not None and quiet < threshold:
                episodes.clear_alert(session, episode, target, now, messages, changes)
    # A task that stopped running (completed, cancelled) clears its alerts.
    for (chat_id, _rule, subject), episode in open_.items():
        if (chat_id, subject) in running:
            continue
        bound = session.get(BoundChat, chat_id)
        if bound is not None:
            episodes.clear_alert(
                session, episode, _target(bound, default_zone), now, messages, changes
            )
    enqueue_many(session, messages)
    changes.count_on_commit(session)
    return changes


def _admin_copies(
    session: Session,
    chat: BoundChat,
    subject: str,
    figures: dict[str, Any],
    admin_user_ids: Iterable[int],
) -> list[Outgoing]:
    """The no-pushes alert for each admin in private, in the language of their private chat."""
    copies = []
    for admin in sorted(set(admin_user_ids)):
        if admin == chat.chat_id:
            continue
        with speaking(admin_language(session, admin)):
            headline = views.alert_headline(Rule.NO_PUSHES.value, subject, figures)
            text = views.admin_copy(chat.title or str(chat.chat_id), headline)
        copies.append(Outgoing(admin, text, OutboxKind.ALERT))
    return copies


def check_balance(
    session: Session, balance: Decimal, now: datetime, default_zone: tzinfo
) -> Changes:
    """The balance rule of every chat that turned it on, against the balance just read."""
    changes = Changes()
    messages: list[Outgoing] = []
    chats = list(session.exec(select(BoundChat).where(col(BoundChat.active).is_(True))))
    rules = chat_rules(session, [c.chat_id for c in chats])
    open_ = episodes.open_episodes(session, rules, [Rule.BALANCE.value])
    snoozed = episodes.snoozed(session, rules, now)
    # Episodes of one reading start at the same moment in every replica: the 10-minute slot.
    slot = now.replace(minute=now.minute - now.minute % 10, second=0, microsecond=0)
    for chat in chats:
        setting = rules[chat.chat_id][Rule.BALANCE]
        key = (chat.chat_id, Rule.BALANCE.value, "")
        episode = open_.get(key)
        target = _target(chat, default_zone)
        if not setting.enabled:
            continue
        below = float(balance) < setting["amount"]
        if episode is None and below and key not in snoozed:
            figures = {"balance": float(balance), "threshold": setting["amount"]}
            episodes.raise_alert(
                session, target, Rule.BALANCE.value, "", slot, figures, now, messages, changes
            )
        elif episode is not None and not below:
            episodes.clear_alert(session, episode, target, now, messages, changes)
    enqueue_many(session, messages)
    changes.count_on_commit(session)
    return changes
