"""The alert rules the relay evaluates in its own transaction, over the rows it just stored:
unanswered, answer-rate and missed-rings.

Cheap by construction: nothing is read unless a group or agent in the batch belongs to a chat
with the rule on, and then a few indexed queries per batch (the chats' routes and rules, the open
episodes and snoozes, a group's latest calls, an agent's latest rings), never per push.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from bot.alerts import episodes
from bot.alerts.episodes import Changes, OpenEpisode, Target
from bot.alerts.rules import ANSWER_RATE_MARGIN, Rule, RuleSetting, saved, settings_of
from bot.config import chat_zone
from bot.delivery.outbox import Outgoing
from bot.i18n import language_of
from storage.models import (
    AlertRule,
    BoundChat,
    CallRecord,
    GroupRoute,
    RingingEvent,
    RingMiss,
    as_utc,
    json_strings,
    table_of,
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
    open_: dict[tuple[int, str, str], OpenEpisode]
    changes: Changes = field(default_factory=Changes)
    _snoozed: set[tuple[int, str, str]] | None = None
    _chats: dict[tuple[str, Rule], list[int]] = field(default_factory=dict)

    @property
    def snoozed(self) -> set[tuple[int, str, str]]:
        """Read when first needed: most batches raise nothing and never ask."""
        if self._snoozed is None:
            self._snoozed = episodes.snoozed(self.session, self.targets, self.now)
        return self._snoozed

    def chats(self, group: str | None, rule: Rule) -> list[int]:
        """The chats of a group with the rule on."""
        key = (group or "", rule)
        if key not in self._chats:
            self._chats[key] = [
                chat_id
                for chat_id in self.chats_of_group.get(group or "", [])
                if self.rules[chat_id][rule].enabled
            ]
        return self._chats[key]

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
        if episode is None and crossed and key not in self.snoozed:  # (read only when crossed)
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


# The routes and the chats' rules change rarely and are read by every batch: kept for a second
# (a change reaches the relay within that; /alerts in this process forgets them at once).
TEAMS_FOR_S = 1.0


@dataclass(frozen=True)
class _Teams:
    chats_of_group: dict[str, list[int]]
    targets: dict[int, Target]
    rules: dict[int, dict[Rule, RuleSetting]]
    # Groups a batch named that no chat routed when this copy was read (not read again for them).
    unrouted: set[str] = field(default_factory=set)


_teams_cache: dict[tuple[str, str, int], tuple[float, _Teams]] = {}


def _teams(session: Session, default_zone: tzinfo, groups: set[str]) -> _Teams:
    """The routes and rules, from the copy when it is fresh and knows every group of the batch
    (a group routed a moment ago is read at once)."""
    key = (str(session.get_bind().engine.url), str(default_zone), saved["generation"])
    cached = _teams_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < TEAMS_FOR_S:
        known = cached[1]
        if all(g in known.chats_of_group or g in known.unrouted for g in groups):
            return known
    teams = _load_teams(session, default_zone)
    teams.unrouted.update(g for g in groups if g not in teams.chats_of_group)
    _teams_cache.clear()  # one entry: older generations and databases are not asked again
    _teams_cache[key] = (time.monotonic(), teams)
    return teams


def _load_teams(session: Session, default_zone: tzinfo) -> _Teams:
    """Every routed group's chats, with their alert settings (an outer join: one query)."""
    chat, rule = table_of(BoundChat).c, table_of(AlertRule).c
    routes = session.execute(
        select(
            col(GroupRoute.group_name),
            chat.chat_id,
            chat.thread_id,
            chat.timezone,
            chat.summary_timezone,
            chat.language,
            rule.rule,
            rule.enabled,
            rule.thresholds,
        )
        .join(BoundChat, chat.chat_id == col(GroupRoute.chat_id))
        .outerjoin(AlertRule, rule.chat_id == chat.chat_id)
        .where(col(GroupRoute.active).is_(True), chat.active.is_(True))
    ).all()
    chats_of_group: dict[str, set[int]] = defaultdict(set)
    targets: dict[int, Target] = {}
    for route in routes:
        chats_of_group[route.group_name].add(route.chat_id)
        if route.chat_id not in targets:
            targets[route.chat_id] = Target(
                route.chat_id,
                route.thread_id,
                chat_zone(route, default_zone),
                language_of(route.language),
            )
    return _Teams(
        {g: sorted(c) for g, c in chats_of_group.items()}, targets, settings_of(targets, routes)
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
    teams = _teams(session, default_zone, groups)
    chats_of_group = {g: teams.chats_of_group[g] for g in groups if g in teams.chats_of_group}
    if not chats_of_group:
        return
    targets = {c: teams.targets[c] for chats in chats_of_group.values() for c in chats}
    rules = teams.rules
    if not any(rules[c][r].enabled for c in targets for r in RELAY_RULES):
        return
    ctx = _Context(
        session=session,
        now=now,
        messages=messages,
        chats_of_group=chats_of_group,
        targets=targets,
        rules=rules,
        open_=episodes.open_episodes(session, targets, [r.value for r in RELAY_RULES]),
    )
    _unanswered(ctx, rows.records)
    _answer_rate(ctx, rows.records)
    _missed_rings(ctx, rows)
    ctx.changes.count_on_commit(session)


def _worth_reading(ctx: _Context, rule: Rule, group: str, new: list[CallRecord]) -> bool:
    """Whether the group's new records can change this rule in one of its chats: an unanswered
    call can raise it where it is not open yet, an answered call can clear it where it is open.
    (An answered call never lengthens a streak nor lowers a rate; an unanswered call never
    clears.) Most batches of a healthy team read nothing."""
    chats = ctx.chats(group, rule)
    opened = [c for c in chats if (c, rule.value, group[:160]) in ctx.open_]
    unanswered = any(not r.answered for r in new)
    answered = any(r.answered for r in new)
    return (unanswered and len(opened) < len(chats)) or (answered and bool(opened))


def _new_by_group(records: list[CallRecord]) -> dict[str, list[CallRecord]]:
    by_group: dict[str, list[CallRecord]] = defaultdict(list)
    for record in records:
        if record.agent_group_name:
            by_group[record.agent_group_name].append(record)
    return by_group


# ---- unanswered ----------------------------------------------------------------------------------


def _unanswered(ctx: _Context, records: list[CallRecord]) -> None:
    groups = [
        g
        for g, new in _new_by_group(records).items()
        if _worth_reading(ctx, Rule.UNANSWERED, g, new)
    ]
    if not groups:
        return
    deepest = max(
        ctx.rules[c][Rule.UNANSWERED].whole("calls")
        for g in groups
        for c in ctx.chats(g, Rule.UNANSWERED)
    )
    # Each group's latest `deepest` records, newest first, in one query.
    ranked = (
        select(
            col(CallRecord.agent_group_name).label("group_name"),
            col(CallRecord.answered).label("answered"),
            func.coalesce(col(CallRecord.call_start_at), col(CallRecord.received_at)).label("at"),
            func.row_number()
            .over(
                partition_by=col(CallRecord.agent_group_name),
                order_by=(col(CallRecord.call_start_at).desc(), col(CallRecord.id).desc()),
            )
            .label("n"),
        )
        .where(col(CallRecord.agent_group_name).in_(groups))
        .subquery()
    )
    latest: dict[str, list[tuple[bool, datetime]]] = defaultdict(list)
    for group_name, answered, at, _ in ctx.session.execute(
        select(ranked.c.group_name, ranked.c.answered, ranked.c.at, ranked.c.n)
        .where(ranked.c.n <= deepest)
        .order_by(ranked.c.group_name, ranked.c.n)
    ):
        latest[group_name].append((bool(answered), _aware(at)))
    for group in groups:
        streak, started_at = 0, ctx.now
        for answered, at in latest.get(group, []):
            if answered:
                break
            streak, started_at = streak + 1, at
        for chat_id in ctx.chats(group, Rule.UNANSWERED):
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


def _aware(moment: datetime | str) -> datetime:
    """A time read back from a raw column (SQLite's are naive, or text through coalesce)."""
    return as_utc(datetime.fromisoformat(moment) if isinstance(moment, str) else moment)


# ---- answer-rate ---------------------------------------------------------------------------------


def _answer_rate(ctx: _Context, records: list[CallRecord]) -> None:
    """A group's answer rate over the last `minutes` before the batch's newest call (one query
    per window length the chats use, usually one)."""
    by_group = _new_by_group(records)
    groups = [g for g, new in by_group.items() if _worth_reading(ctx, Rule.ANSWER_RATE, g, new)]
    if not groups:
        return
    end = max(_aware(r.call_start_at or r.received_at) for g in groups for r in by_group[g])
    windows = {
        ctx.rules[c][Rule.ANSWER_RATE].whole("minutes")
        for g in groups
        for c in ctx.chats(g, Rule.ANSWER_RATE)
    }
    figures: dict[tuple[str, int], tuple[int, int]] = {}
    for minutes in sorted(windows):
        for group_name, calls, answered in ctx.session.execute(
            select(
                col(CallRecord.agent_group_name),
                func.count(),
                func.sum(case((col(CallRecord.answered), 1), else_=0)),
            )
            .where(
                col(CallRecord.agent_group_name).in_(groups),
                col(CallRecord.call_start_at) > end - timedelta(minutes=minutes),
                col(CallRecord.call_start_at) <= end,
            )
            .group_by(col(CallRecord.agent_group_name))
        ):
            figures[(group_name, minutes)] = (int(calls), int(answered or 0))
    for group in groups:
        for chat_id in ctx.chats(group, Rule.ANSWER_RATE):
            setting = ctx.rules[chat_id][Rule.ANSWER_RATE]
            minutes = setting.whole("minutes")
            calls, answered = figures.get((group, minutes), (0, 0))
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


def _missed_rings(ctx: _Context, rows: RelayedRows) -> None:
    """An agent missed a ring when a later event of the call lists them in noAnswerSipList, or the
    call's record says it was answered by another agent or not at all. Only a new miss can raise
    the alert (for an agent not alerting yet), and only the agent answering can clear it; the
    agent's latest rings are read only for the agents a new miss may have carried over the
    threshold."""
    missing: dict[str, str] = {}  # agent → group, for agents with a miss in this batch
    for event in rows.events:
        if event.group_name:
            for sip in json_strings(event.no_answer_sip_list, skip_empty=True):
                missing.setdefault(sip, event.group_name)
    answered_by = {r.call_id: r.agent_account for r in rows.records if r.call_id and r.answered}
    # The agents the recorded calls rang: from this batch's events when they are here (a call's
    # rings usually come just before its record), else read.
    rung_here: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for event in rows.events:
        if event.call_id and event.sip_account and event.group_name:
            rung_here[event.call_id].append((event.sip_account, event.group_name))
    recorded = [r.call_id for r in rows.records if r.call_id and r.call_id not in rung_here]
    for record in rows.records:
        for rung, group in rung_here.get(record.call_id or "", []):
            if answered_by.get(record.call_id or "") != rung:
                missing.setdefault(rung, group)
    if recorded and _any_chat_watches(ctx, {r.agent_group_name for r in rows.records}):
        for rung, group, call_id in ctx.session.execute(
            select(
                col(RingingEvent.sip_account),
                col(RingingEvent.group_name),
                col(RingingEvent.call_id),
            ).where(col(RingingEvent.call_id).in_(recorded))
        ):
            if rung and group and answered_by.get(call_id or "") != rung:
                missing.setdefault(rung, group)
    # Clearing: an agent alerting now answered a call of this batch.
    for record in rows.records:
        agent = record.agent_account
        if not (record.answered and agent and record.agent_group_name):
            continue
        for chat_id in ctx.chats(record.agent_group_name, Rule.MISSED_RINGS):
            if (chat_id, Rule.MISSED_RINGS.value, agent[:160]) in ctx.open_:
                ctx.decide(chat_id, Rule.MISSED_RINGS, agent, False, True, ctx.now, {})
    candidates = {
        sip: group
        for sip, group in missing.items()
        if any(
            (c, Rule.MISSED_RINGS.value, sip[:160]) not in ctx.open_
            and (c, Rule.MISSED_RINGS.value, sip[:160]) not in ctx.snoozed
            for c in ctx.chats(group, Rule.MISSED_RINGS)
        )
    }
    if candidates:
        _count_streaks(ctx, candidates, rows)


def _any_chat_watches(ctx: _Context, groups: set[str | None]) -> bool:
    return any(ctx.chats(g, Rule.MISSED_RINGS) for g in groups)


def _count_streaks(ctx: _Context, agents: dict[str, str], rows: RelayedRows) -> None:
    deepest = max(
        ctx.rules[c][Rule.MISSED_RINGS].whole("rings")
        for g in set(agents.values())
        for c in ctx.chats(g, Rule.MISSED_RINGS)
    )
    # The horizon is counted back from the newest ring of the batch, not from the clock: the
    # platform's times decide, so a replayed backlog is judged as it happened.
    moments = [e.event_at for e in rows.events if e.event_at is not None]
    moments += [r.call_start_at for r in rows.records if r.call_start_at is not None]
    newest = max(moments, default=ctx.now)
    # Each agent's latest rings (a call may ring an agent twice: read a few more), one query.
    ranked = (
        select(
            col(RingingEvent.sip_account).label("sip"),
            col(RingingEvent.call_id).label("call_id"),
            col(RingingEvent.event_at).label("at"),
            func.row_number()
            .over(
                partition_by=col(RingingEvent.sip_account),
                order_by=(col(RingingEvent.event_at).desc(), col(RingingEvent.id).desc()),
            )
            .label("n"),
        )
        .where(
            col(RingingEvent.sip_account).in_(list(agents)),
            col(RingingEvent.event_at) >= newest - RING_HORIZON,
        )
        .subquery()
    )
    rings: dict[str, list[tuple[str, datetime | None]]] = defaultdict(list)
    for agent, call_id, at in ctx.session.execute(
        select(ranked.c.sip, ranked.c.call_id, ranked.c.at)
        .where(ranked.c.n <= deepest * 2)
        .order_by(ranked.c.sip, ranked.c.n)
    ):
        calls = rings[agent or ""]
        if call_id and all(c != call_id for c, _ in calls):
            calls.append((call_id, None if at is None else _aware(at)))
    call_ids = list({c for calls in rings.values() for c, _ in calls})
    if not call_ids:
        return
    misses = {
        (call_id, sip)
        for call_id, sip in ctx.session.execute(
            select(col(RingMiss.call_id), col(RingMiss.sip_account)).where(
                col(RingMiss.call_id).in_(call_ids), col(RingMiss.sip_account).in_(list(agents))
            )
        )
    }
    outcomes = {
        call_id: (answered, account)
        for call_id, answered, account in ctx.session.execute(
            select(
                col(CallRecord.call_id), col(CallRecord.answered), col(CallRecord.agent_account)
            ).where(col(CallRecord.call_id).in_(call_ids))
        )
    }
    for sip, group in agents.items():
        streak, first_missed = 0, ctx.now
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
            break  # answered by the agent: the streak ends here
        for chat_id in ctx.chats(group, Rule.MISSED_RINGS):
            threshold = ctx.rules[chat_id][Rule.MISSED_RINGS].whole("rings")
            ctx.decide(
                chat_id,
                Rule.MISSED_RINGS,
                sip,
                crossed=streak >= threshold,
                recovered=False,
                started_at=first_missed,
                figures={"missed": streak, "threshold": threshold, "group": group},
            )
