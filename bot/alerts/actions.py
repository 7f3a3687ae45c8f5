"""What the alert buttons and /alerts do to the database: take an alert, snooze its rule for its
subject, turn a rule off (its open alerts are marked so), list a chat's rules and open alerts,
and read the calls behind an alert. Each returns a typed outcome for the handler to render."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import Enum
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.alerts import episodes
from bot.alerts.episodes import SNOOZE, Changes, Target
from bot.alerts.rules import Rule, RuleSetting, chat_rules, save_rule
from bot.config import chat_zone
from bot.delivery.outbox import Outgoing, enqueue_many
from bot.i18n import language_of
from bot.views.alerts import THE_ACCOUNT
from storage.models import (
    AlertEpisode,
    AlertSnooze,
    BoundChat,
    CallRecord,
    RingingEvent,
    RingMiss,
    as_utc,
)


class Refusal(Enum):
    GONE = "gone"  # no such episode
    WRONG_CHAT = "wrong chat"  # the button's alert is another chat's
    RULE_OFF = "rule off"  # the rule was turned off since
    CLEARED = "cleared"  # the alert recovered already
    TAKEN = "taken"  # someone else has it


@dataclass(frozen=True)
class Pressed:
    """A press that did something (or was refused: `refusal`), with what to show."""

    episode: AlertEpisode
    refusal: Refusal | None = None
    snooze: AlertSnooze | None = None


def _episode(session: Session, episode_id: int, chat_id: int) -> AlertEpisode | Refusal:
    episode = session.get(AlertEpisode, episode_id)
    if episode is None:
        return Refusal.GONE
    if episode.chat_id != chat_id:
        return Refusal.WRONG_CHAT
    return episode


def _usable(session: Session, episode: AlertEpisode) -> Refusal | None:
    try:
        rule = Rule(episode.rule)
    except ValueError:
        return Refusal.GONE
    if not chat_rules(session, [episode.chat_id])[episode.chat_id][rule].enabled:
        return Refusal.RULE_OFF
    if episode.cleared_at is not None:
        return Refusal.CLEARED
    return None


def _pressable(session: Session, episode_id: int, chat_id: int) -> AlertEpisode | Pressed | Refusal:
    """The episode an alert button acts on, or what to answer instead: a refusal before the
    episode is found, or the press refused with the episode (to show it as it stands)."""
    found = _episode(session, episode_id, chat_id)
    if isinstance(found, Refusal):
        return found
    refusal = _usable(session, found)
    return found if refusal is None else Pressed(found, refusal)


def take(
    session: Session, episode_id: int, chat_id: int, user_id: int, name: str, now: datetime
) -> Pressed | Refusal:
    """[I'm on it]: the first press wins (compare-and-set on taken_by)."""
    found = _pressable(session, episode_id, chat_id)
    if not isinstance(found, AlertEpisode):
        return found
    result = session.execute(
        update(AlertEpisode)
        .where(col(AlertEpisode.id) == episode_id, col(AlertEpisode.taken_by).is_(None))
        .values(taken_by=user_id, taken_by_name=name[:160], taken_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(found)
    taken = result.rowcount == 1 or found.taken_by == user_id  # type: ignore[attr-defined]
    return Pressed(found, None if taken else Refusal.TAKEN, _snooze_of(session, found, now))


def _snooze_of(session: Session, episode: AlertEpisode, now: datetime) -> AlertSnooze | None:
    snooze = session.get(AlertSnooze, (episode.chat_id, episode.rule, episode.subject))
    return snooze if snooze is not None and as_utc(snooze.until) > now else None


def snooze(
    session: Session, episode_id: int, chat_id: int, user_id: int, now: datetime
) -> Pressed | Refusal:
    """[Snooze 1 h]: no new alert of this rule about this subject in this chat for an hour."""
    found = _pressable(session, episode_id, chat_id)
    if not isinstance(found, AlertEpisode):
        return found
    row = session.get(AlertSnooze, (found.chat_id, found.rule, found.subject))
    if row is None:
        row = AlertSnooze(chat_id=found.chat_id, rule=found.rule, subject=found.subject, until=now)
    row.until = now + SNOOZE
    row.by_user = user_id
    session.add(row)
    session.flush()
    return Pressed(found, None, row)


def episode_for_calls(session: Session, episode_id: int, chat_id: int) -> AlertEpisode | Refusal:
    return _episode(session, episode_id, chat_id)


@dataclass(frozen=True)
class CallShown:
    at: datetime | None
    number: str | None
    ccode: str | None
    outcome: str  # "answered", "not answered", "missed", "answered by the agent", "no outcome yet"
    agent: str | None = None


LIST_LIMIT = 10


def calls_behind(session: Session, episode: AlertEpisode) -> list[CallShown]:
    """The calls an alert is about, newest first: a group's latest calls, an agent's latest
    rings and what became of them, a task's latest rings; none for the balance."""
    rule = episode.rule
    if rule in (Rule.UNANSWERED.value, Rule.ANSWER_RATE.value):
        rows = session.exec(
            select(CallRecord)
            .where(
                col(CallRecord.agent_group_name) == episode.subject,
                *(
                    [col(CallRecord.call_start_at) <= episode.cleared_at]
                    if episode.cleared_at is not None
                    else []
                ),
            )
            .order_by(col(CallRecord.call_start_at).desc())
            .limit(LIST_LIMIT)
        ).all()
        return [
            CallShown(
                r.call_start_at,
                r.called,
                r.ccode,
                "answered" if r.answered else "not answered",
                r.agent_name or r.agent_account,
            )
            for r in rows
        ]
    if rule == Rule.MISSED_RINGS.value:
        rings = session.exec(
            select(RingingEvent)
            .where(col(RingingEvent.sip_account) == episode.subject)
            .order_by(col(RingingEvent.event_at).desc())
            .limit(LIST_LIMIT)
        ).all()
        call_ids = [r.call_id for r in rings if r.call_id]
        missed = set(
            session.exec(
                select(RingMiss.call_id).where(
                    col(RingMiss.call_id).in_(call_ids),
                    col(RingMiss.sip_account) == episode.subject,
                )
            ).all()
        )
        records = {
            r.call_id: r
            for r in session.exec(select(CallRecord).where(col(CallRecord.call_id).in_(call_ids)))
        }
        shown = []
        for ring in rings:
            record = records.get(ring.call_id)
            if ring.call_id in missed:
                outcome = "missed"
            elif record is None:
                outcome = "no outcome yet"
            elif record.answered and record.agent_account == episode.subject:
                outcome = "answered by the agent"
            else:
                outcome = "missed"
            shown.append(CallShown(ring.event_at, ring.called, None, outcome))
        return shown
    if rule in (Rule.NO_PUSHES.value, Rule.TASK_STALLED.value) and episode.subject.isdigit():
        rings = session.exec(
            select(RingingEvent)
            .where(col(RingingEvent.task_id) == int(episode.subject))
            .order_by(col(RingingEvent.event_at).desc())
            .limit(LIST_LIMIT)
        ).all()
        return [CallShown(r.event_at, r.called, None, "rang an agent") for r in rings]
    return []


@dataclass(frozen=True)
class RuleState:
    setting: RuleSetting
    open_subjects: list[str]


def list_rules(session: Session, chat_id: int) -> list[RuleState]:
    settings = chat_rules(session, [chat_id])[chat_id]
    open_ = episodes.open_episodes(session, [chat_id], [r.value for r in Rule])
    return [
        RuleState(
            settings[rule],
            sorted(subject or THE_ACCOUNT for (_, r, subject) in open_ if r == rule.value),
        )
        for rule in Rule
    ]


def set_rule(
    session: Session,
    chat_id: int,
    rule: Rule,
    enabled: bool,
    values: dict[str, float] | None,
    user_id: int,
    now: datetime,
    default_zone: tzinfo,
) -> tuple[RuleSetting, int]:
    """Save a rule; turning it off marks its open alerts in this chat as turned off (their
    messages are edited, their buttons reduced to [Show calls]). Returns the setting and how many
    alerts were closed."""
    setting = save_rule(session, chat_id, rule, enabled, values, user_id)
    if enabled:
        return setting, 0
    chat = session.get(BoundChat, chat_id)
    open_ = episodes.open_episodes(session, [chat_id], [rule.value])
    if chat is None or not open_:
        return setting, 0
    target = Target(
        chat_id, chat.thread_id, chat_zone(chat, default_zone), language_of(chat.language)
    )
    messages: list[Outgoing] = []
    changes = Changes()
    closed = sum(
        episodes.clear_alert(session, e, target, now, messages, changes, turned_off=True)
        for e in open_.values()
    )
    enqueue_many(session, messages)
    changes.count_on_commit(session)
    return setting, closed


def stored_values(setting: RuleSetting) -> dict[str, Any]:
    return dict(setting.values)


def figures_of(episode: AlertEpisode) -> dict[str, Any]:
    try:
        value = json.loads(episode.figures or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
