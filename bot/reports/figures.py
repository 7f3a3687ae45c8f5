"""A chat's figures for a local day, read from the rollups (the records the relay attributed to
the chat: bot/relay/routing.py).

`day_figures` is what summaries use; `figures_from_records` counts the same from the raw records
(the straightforward way, loading every row): the benchmark measures one against the other and a
test checks that they agree exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from bot.reports.rollups import CallCounts, agent_of, bucket_of
from bot.services.groups import GroupNames
from storage.models import (
    AgentRollup,
    CallChat,
    CallRecord,
    CallRollup,
    CallTask,
    GroupRoute,
    RingingEvent,
    RingRollup,
    as_utc,
)


@dataclass
class Tally:
    calls: int = 0
    answered: int = 0
    talk_seconds: int = 0

    def add(self, calls: int, answered: int, talk: int) -> None:
        self.calls += calls
        self.answered += answered
        self.talk_seconds += talk


@dataclass
class DayFigures(CallCounts):
    """The task card's counters, for the calls of a day: dialled (`calls`), answered by the
    callee, transferred to an agent (an agent answered), lost waiting for an agent, failed (not
    answered by the callee, with the reasons), talk time and cost."""

    day: date
    by_group: dict[str, Tally] = field(default_factory=dict)
    by_agent: dict[str, Tally] = field(default_factory=dict)
    hangup_reasons: Counter[int] = field(default_factory=Counter)
    missed_rings: Counter[str] = field(default_factory=Counter)
    # Local hour 0–23 → (answered, not answered); a 25-hour DST day folds its repeated hour.
    hours: list[list[int]] = field(default_factory=lambda: [[0, 0] for _ in range(24)])

    @property
    def answer_rate(self) -> float | None:
        return self.answered / self.calls if self.calls else None

    @property
    def average_talk(self) -> float | None:
        return self.talk_seconds / self.answered if self.answered else None

    def add_record(self, record: CallRecord) -> None:
        """Count one call record, by group, agent and hang-up reason too, as the rollups do."""
        super().add_record(record)
        talk = max(record.call_duration or 0, 0)
        answered = int(record.answered)
        self.by_group.setdefault(record.agent_group_name or "", Tally()).add(1, answered, talk)
        agent = agent_of(record)
        if agent:
            self.by_agent.setdefault(agent, Tally()).add(1, answered, talk)
        if record.hangup_reason is not None:
            self.hangup_reasons[record.hangup_reason] += 1


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local day starts and the next one starts (23–25 h apart)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _local_hour(moment: datetime, zone: ZoneInfo) -> int:
    return as_utc(moment).astimezone(zone).hour


def day_figures(session: Session, chat_id: int, day: date, zone: ZoneInfo) -> DayFigures:
    """The figures of `day` (local in `zone`) of the calls counted in this chat."""
    figures = DayFigures(day=day)
    start, end = day_bounds(day, zone)
    r = CallRollup
    where = (
        col(r.chat_id) == chat_id,
        col(r.bucket_start) >= start,
        col(r.bucket_start) < end,
    )
    calls, answered = func.sum(col(r.calls)), func.sum(col(r.answered))
    talk, failures = func.sum(col(r.talk_seconds)), func.sum(col(r.failures))

    def grouped(key: Mapped[Any]) -> Iterable[tuple[Any, int, int, int, int]]:
        # The database adds up the rollup rows; Python sees one row per group / reason / hour.
        stmt = sa_select(key, calls, answered, talk, failures).where(*where).group_by(key)
        return cast(Iterable[tuple[Any, int, int, int, int]], session.execute(stmt))

    # Eight columns: SQLAlchemy's select (SQLModel's is typed for at most four).
    totals = session.execute(
        sa_select(
            calls,
            answered,
            talk,
            func.sum(col(r.transfers)),
            func.sum(col(r.lost)),
            failures,
            func.sum(col(r.cost)),
            func.sum(col(r.costed)),
        ).where(*where)
    ).one()
    if not totals[0]:
        return figures
    figures.calls, figures.answered, figures.talk_seconds = (int(v) for v in totals[:3])
    figures.transfers, figures.lost, figures.failures = (int(v) for v in totals[3:6])
    figures.cost, figures.costed = float(totals[6] or 0), int(totals[7])
    for group, n, ans, t, _ in grouped(col(r.group_name)):
        figures.by_group[group] = Tally(int(n), int(ans), int(t))
    a = AgentRollup
    agents = session.exec(
        select(
            col(a.agent_name),
            func.sum(col(a.calls)),
            func.sum(col(a.answered)),
            func.sum(col(a.talk_seconds)),
        )
        .where(
            col(a.chat_id) == chat_id,
            col(a.bucket_start) >= start,
            col(a.bucket_start) < end,
        )
        .group_by(col(a.agent_name))
    )
    for agent, n, ans, t in agents:
        figures.by_agent[agent] = Tally(int(n), int(ans), int(t))
    for reason, n, _, _, failed in grouped(col(r.hangup_reason)):
        if reason >= 0:
            figures.hangup_reasons[reason] = int(n)
        if failed:
            figures.failure_reasons[reason] = int(failed)
    for bucket, n, ans, _, _ in grouped(col(r.bucket_start)):
        hour = figures.hours[_local_hour(bucket, zone)]
        hour[0] += int(ans)
        hour[1] += int(n) - int(ans)
    rings = (
        select(col(RingRollup.sip_account), func.sum(col(RingRollup.missed)))
        .where(
            col(RingRollup.chat_id) == chat_id,
            col(RingRollup.bucket_start) >= start,
            col(RingRollup.bucket_start) < end,
        )
        .group_by(col(RingRollup.sip_account))
    )
    for sip, missed in session.exec(rings):
        if missed:
            figures.missed_rings[sip] = int(missed)
    return figures


def figures_from_records(session: Session, chat_id: int, day: date, zone: ZoneInfo) -> DayFigures:
    """The same figures counted from every raw record and event of the day (slow; for checks)."""
    figures = DayFigures(day=day)
    start, end = day_bounds(day, zone)
    records = session.exec(
        select(CallRecord)
        .join(CallChat, col(CallChat.call_record_id) == col(CallRecord.id))
        .where(col(CallChat.chat_id) == chat_id)
    )
    for rec in records:
        moment = bucket_of(rec.call_start_at or rec.received_at)
        if not start <= moment < end:
            continue
        figures.add_record(rec)
        hour = figures.hours[_local_hour(moment, zone)]
        hour[0] += int(rec.answered)
        hour[1] += 1 - int(rec.answered)
    missed_calls: dict[str, set[str]] = {}
    events = session.exec(
        select(RingingEvent).where(
            col(RingingEvent.event_at) >= start,
            col(RingingEvent.event_at) < end,
        )
    )
    # The chats the relay gives an event to: its group's routes (the one name rule) and its
    # task's chat.
    routes = GroupNames(
        session.exec(
            select(GroupRoute.group_name, GroupRoute.chat_id).where(
                col(GroupRoute.active).is_(True)
            )
        ).all()
    )
    task_chats = dict(session.exec(select(CallTask.task_id, CallTask.chat_id)).all())
    for event in events:
        chats = set(routes.find(event.group_name)) | {task_chats.get(event.task_id or 0)}
        if chat_id not in chats:
            continue
        for sip in json.loads(event.no_answer_sip_list or "[]"):
            missed_calls.setdefault(str(sip), set()).add(event.call_id or f"#{event.id}")
    for sip, calls in missed_calls.items():
        figures.missed_rings[sip] = len(calls)
    return figures
