"""The alert rules the relay evaluates in its own transaction, over the rows it just stored:
unanswered, answer-rate and missed-rings.

Cheap by construction: nothing is read unless a group or agent in the batch belongs to a chat
with the rule on, and then a few indexed queries per batch (the chats' routes and rules, the open
episodes and snoozes, a group's latest calls, an agent's latest rings), never per push.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from bot.alerts import episodes
from bot.alerts.episodes import Changes, Target
from bot.alerts.rules import ANSWER_RATE_MARGIN, Rule, RuleSetting, chat_rules
from bot.config import chat_zone
from bot.delivery.outbox import Outgoing
from storage.models import (
    AlertEpisode,
    BoundChat,
    CallRecord,
    GroupRoute,
    RingingEvent,
    RingMiss,
)

RELAY_RULES = (Rule.UNANSWERED, Rule.ANSWER_RATE, Rule.MISSED_RINGS)
# An agent's rings older than this do not count towards a streak (a shift ended, a day passed).
RING_HORIZON = timedelta(hours=12)


@dataclass
class RelayedRows:
    """The rows one relay transaction stored new, for `evaluate`."""

    events: list[RingingEvent] = field(default_factory=list)
    records: list[CallRecord] = field(default_factory=list)


@dataclass
class _Context:
    session: Session
    now: datetime
    messages: list[Outgoing]
    chats_of_group: dict[str, list[int]]
    targets: dict[int, Target]
    rules: dict[int, dict[Rule, RuleSetting]]
    open_: dict[tuple[int, str, str], AlertEpisode]
    snoozed: set[tuple[int, str, str]]
    changes: Changes = field(default_factory=Changes)

    def chats(self, group: str | None, rule: Rule) -> list[int]:
        return [
            chat_id
            for chat_id in self.chats_of_group.get(group or "", [])
            if self.rules[chat_id][rule].enabled
        ]

    def decide(
        self,
        chat_id: int,
        rule: Rule,
        subject: str,
        crossed: bool,
        recovered: bool,
        started_at: datetime,
        figures: dict[str, object],
    ) -> None:
        key = (chat_id, rule.value, subject[:160])
        episode = self.open_.get(key)
        target = self.targets[chat_id]
        if episode is None and crossed and key not in self.snoozed:
            episodes.raise_alert(
                self.session,
                target,
                rule.value,
                subject,
                started_at,
                figures,
                self.now,
                self.messages,
                self.changes,
            )
        elif episode is not None and recovered:
            episodes.clear_alert(
                self.session,
                episode,
                target,
                self.now,
                self.messages,
                self.changes,
            )


def evaluate(
    session: Session,
    rows: RelayedRows,
    messages: list[Outgoing],
    now: datetime,
    default_zone: tzinfo,
) -> None:
    """Raise and clear the relay-side alerts for the rows just stored; the alerts' messages are
    appended to `messages` (stored by the relay with its own)."""
    groups = {r.agent_group_name for r in rows.records if r.agent_group_name}
    groups |= {e.group_name for e in rows.events if e.group_name}
    if not groups:
        return
    routes = session.exec(
        select(GroupRoute.group_name, BoundChat)
        .join(BoundChat, col(BoundChat.chat_id) == col(GroupRoute.chat_id))
        .where(
            col(GroupRoute.group_name).in_(groups),
            col(GroupRoute.active).is_(True),
            col(BoundChat.active).is_(True),
        )
    ).all()
    if not routes:
        return
    chats_of_group: dict[str, list[int]] = defaultdict(list)
    targets: dict[int, Target] = {}
    for group_name, chat in routes:
        chats_of_group[group_name].append(chat.chat_id)
        targets[chat.chat_id] = Target(chat.chat_id, chat.thread_id, chat_zone(chat, default_zone))
    rules = chat_rules(session, targets)
    if not any(rules[c][rule].enabled for c in targets for rule in RELAY_RULES):
        return
    ctx = _Context(
        session=session,
        now=now,
        messages=messages,
        chats_of_group=chats_of_group,
        targets=targets,
        rules=rules,
        open_=episodes.open_episodes(session, targets, [r.value for r in RELAY_RULES]),
        snoozed=episodes.snoozed(session, targets, now),
    )
    call_groups = sorted({r.agent_group_name for r in rows.records if r.agent_group_name})
    for group in call_groups:
        _unanswered(ctx, group)
        _answer_rate(ctx, group, rows.records)
    _missed_rings(ctx, rows)
    ctx.changes.count_on_commit(session)


# ---- unanswered ----------------------------------------------------------------------------------


def _unanswered(ctx: _Context, group: str) -> None:
    chats = ctx.chats(group, Rule.UNANSWERED)
    if not chats:
        return
    deepest = max(ctx.rules[c][Rule.UNANSWERED].whole("calls") for c in chats)
    latest = ctx.session.exec(
        select(CallRecord.answered, CallRecord.call_start_at, CallRecord.received_at)
        .where(col(CallRecord.agent_group_name) == group)
        .order_by(col(CallRecord.call_start_at).desc(), col(CallRecord.id).desc())
        .limit(deepest)
    ).all()
    streak = 0
    for answered, _, _ in latest:
        if answered:
            break
        streak += 1
    if streak:
        first = latest[streak - 1]
        started_at = first[1] or first[2]
    else:
        started_at = ctx.now
    for chat_id in chats:
        threshold = ctx.rules[chat_id][Rule.UNANSWERED].whole("calls")
        ctx.decide(
            chat_id,
            Rule.UNANSWERED,
            group,
            crossed=streak >= threshold,
            recovered=streak == 0,
            started_at=started_at,
            figures={"streak": streak, "threshold": threshold},
        )


# ---- answer-rate ---------------------------------------------------------------------------------


def _answer_rate(ctx: _Context, group: str, records: list[CallRecord]) -> None:
    chats = ctx.chats(group, Rule.ANSWER_RATE)
    if not chats:
        return
    starts = [r.call_start_at or r.received_at for r in records if r.agent_group_name == group]
    end = max(starts)
    figures_by_window: dict[int, tuple[int, int]] = {}
    for chat_id in chats:
        minutes = ctx.rules[chat_id][Rule.ANSWER_RATE].whole("minutes")
        if minutes not in figures_by_window:
            calls, answered = ctx.session.exec(
                select(func.count(), func.sum(case((col(CallRecord.answered), 1), else_=0))).where(
                    col(CallRecord.agent_group_name) == group,
                    col(CallRecord.call_start_at) > end - timedelta(minutes=minutes),
                    col(CallRecord.call_start_at) <= end,
                )
            ).one()
            figures_by_window[minutes] = (int(calls), int(answered or 0))
        calls, answered = figures_by_window[minutes]
        setting = ctx.rules[chat_id][Rule.ANSWER_RATE]
        threshold = setting["percent"]
        rate = round(100 * answered / calls) if calls else 100
        ctx.decide(
            chat_id,
            Rule.ANSWER_RATE,
            group,
            crossed=calls >= setting["min_calls"] and rate < threshold,
            recovered=rate >= threshold + ANSWER_RATE_MARGIN,
            started_at=end,
            figures={
                "rate": rate,
                "calls": calls,
                "answered": answered,
                "minutes": minutes,
                "threshold": threshold,
            },
        )


# ---- missed-rings --------------------------------------------------------------------------------


def _sips(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(v) for v in value if v] if isinstance(value, list) else []


def _missed_rings(ctx: _Context, rows: RelayedRows) -> None:
    """An agent missed a ring when a later event of the call lists them in noAnswerSipList, or the
    call's record says it was answered by another agent or not at all. The agents whose streak
    may have changed: those listed as missing now, and those whose rung call just got its record."""
    group_of: dict[str, str] = {}
    for event in rows.events:
        for sip in _sips(event.no_answer_sip_list):
            if event.group_name:
                group_of.setdefault(sip, event.group_name)
    recorded_calls = [r.call_id for r in rows.records if r.call_id]
    if recorded_calls:
        for ringing_sip, group in ctx.session.exec(
            select(RingingEvent.sip_account, RingingEvent.group_name).where(
                col(RingingEvent.call_id).in_(recorded_calls)
            )
        ):
            if ringing_sip and group:
                group_of.setdefault(ringing_sip, group)
    agents = {sip: g for sip, g in group_of.items() if ctx.chats(g, Rule.MISSED_RINGS)}
    if not agents:
        return
    deepest = max(
        ctx.rules[c][Rule.MISSED_RINGS].whole("rings")
        for g in set(agents.values())
        for c in ctx.chats(g, Rule.MISSED_RINGS)
    )
    rings: dict[str, list[tuple[str, datetime | None]]] = defaultdict(list)
    for agent, call_id, at in ctx.session.exec(
        select(RingingEvent.sip_account, RingingEvent.call_id, RingingEvent.event_at)
        .where(
            col(RingingEvent.sip_account).in_(list(agents)),
            col(RingingEvent.event_at) >= ctx.now - RING_HORIZON,
        )
        .order_by(col(RingingEvent.event_at).desc())
    ):
        calls = rings[agent or ""]
        if call_id and len(calls) < deepest * 2 and all(c != call_id for c, _ in calls):
            calls.append((call_id, at))
    call_ids = list({c for calls in rings.values() for c, _ in calls})
    if not call_ids:
        return
    misses = set(
        ctx.session.exec(
            select(RingMiss.call_id, RingMiss.sip_account).where(
                col(RingMiss.call_id).in_(call_ids)
            )
        ).all()
    )
    outcomes = {
        call_id: (answered, account)
        for call_id, answered, account in ctx.session.exec(
            select(CallRecord.call_id, CallRecord.answered, CallRecord.agent_account).where(
                col(CallRecord.call_id).in_(call_ids)
            )
        )
    }
    for sip, group in agents.items():
        streak, answered_last, first_missed = 0, False, ctx.now
        for call_id, at in rings.get(sip, []):
            outcome = outcomes.get(call_id)
            missed = (call_id, sip) in misses or (
                outcome is not None and (not outcome[0] or outcome[1] != sip)
            )
            if missed:
                streak += 1
                first_missed = at or ctx.now
                continue
            if outcome is None:
                continue  # not known yet: neither breaks nor extends the streak
            answered_last = True
            break
        for chat_id in ctx.chats(group, Rule.MISSED_RINGS):
            threshold = ctx.rules[chat_id][Rule.MISSED_RINGS].whole("rings")
            ctx.decide(
                chat_id,
                Rule.MISSED_RINGS,
                sip,
                crossed=streak >= threshold,
                recovered=answered_last and streak == 0,
                started_at=first_missed,
                figures={"missed": streak, "threshold": threshold, "group": group},
            )
