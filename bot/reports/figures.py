"""A local day's figures for a set of agent groups, read from the rollups.

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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import TupleResult
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from bot.reports.rollups import bucket_of, is_failure, is_transfer
from storage.models import AgentRollup, CallRecord, CallRollup, RingingEvent, RingRollup


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
class DayFigures:
    day: date
    calls: int = 0
    answered: int = 0
    talk_seconds: int = 0
    transfers: int = 0
    failures: int = 0
    cost: float = 0.0
    costed: int = 0
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


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where the local day starts and the next one starts (23–25 h apart)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _local_hour(moment: datetime, zone: ZoneInfo) -> int:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(zone).hour


def day_figures(session: Session, groups: Iterable[str], day: date, zone: ZoneInfo) -> DayFigures:
    """The figures of `day` (local in `zone`) for the agent groups named `groups`."""
    names = sorted(set(groups))
    figures = DayFigures(day=day)
    if not names:
        return figures
    start, end = day_bounds(day, zone)
    r = CallRollup
    where = (
        col(r.bucket_start) >= start,
        col(r.bucket_start) < end,
        col(r.group_name).in_(names),
    )
    calls, answered = func.sum(col(r.calls)), func.sum(col(r.answered))
    talk = func.sum(col(r.talk_seconds))

    def grouped(key: Mapped[Any]) -> TupleResult[tuple[Any, int, int, int]]:
        # The database adds up the rollup rows; Python sees one row per group / reason / hour.
        return session.exec(select(key, calls, answered, talk).where(*where).group_by(key))

    a = AgentRollup
    agents = session.exec(
        select(
            col(a.agent_name),
            func.sum(col(a.calls)),
            func.sum(col(a.answered)),
            func.sum(col(a.talk_seconds)),
        )
        .where(
            col(a.bucket_start) >= start,
            col(a.bucket_start) < end,
            col(a.group_name).in_(names),
        )
        .group_by(col(a.agent_name))
    )

    # Seven columns: SQLAlchemy's select (SQLModel's is typed for at most four).
    totals = session.execute(
        sa_select(
            calls,
            answered,
            talk,
            func.sum(col(r.transfers)),
            func.sum(col(r.failures)),
            func.sum(col(r.cost)),
            func.sum(col(r.costed)),
        ).where(*where)
    ).one()
    if not totals[0]:
        return figures
    figures.calls, figures.answered, figures.talk_seconds = (int(v) for v in totals[:3])
    figures.transfers, figures.failures = int(totals[3]), int(totals[4])
    figures.cost, figures.costed = float(totals[5] or 0), int(totals[6])
    for group, n, ans, t in grouped(col(r.group_name)):
        figures.by_group[group] = Tally(int(n), int(ans), int(t))
    for agent, n, ans, t in agents:
        figures.by_agent[agent] = Tally(int(n), int(ans), int(t))
    for reason, n, _, _ in grouped(col(r.hangup_reason)):
        if reason >= 0:
            figures.hangup_reasons[reason] = int(n)
    for bucket, n, ans, _ in grouped(col(r.bucket_start)):
        hour = figures.hours[_local_hour(bucket, zone)]
        hour[0] += int(ans)
        hour[1] += int(n) - int(ans)
    rings = (
        select(col(RingRollup.sip_account), func.sum(col(RingRollup.missed)))
        .where(
            col(RingRollup.bucket_start) >= start,
            col(RingRollup.bucket_start) < end,
            col(RingRollup.group_name).in_(names),
        )
        .group_by(col(RingRollup.sip_account))
    )
    for sip, missed in session.exec(rings):
        if missed:
            figures.missed_rings[sip] = int(missed)
    return figures


def figures_from_records(
    session: Session, groups: Iterable[str], day: date, zone: ZoneInfo
) -> DayFigures:
    """The same figures counted from every raw record and event of the day (slow; for checks)."""
    names = set(groups)
    figures = DayFigures(day=day)
    start, end = day_bounds(day, zone)
    records = session.exec(
        select(CallRecord).where(
            col(CallRecord.call_start_at) >= start,
            col(CallRecord.call_start_at) < end,
        )
    )
    for rec in records:
        group = rec.agent_group_name or ""
        if group not in names:
            continue
        talk = max(rec.call_duration or 0, 0)
        answered = int(rec.answered)
        figures.calls += 1
        figures.answered += answered
        figures.talk_seconds += talk
        figures.transfers += int(is_transfer(rec))
        figures.failures += int(is_failure(rec))
        if rec.cost is not None:
            figures.cost += rec.cost
            figures.costed += 1
        figures.by_group.setdefault(group, Tally()).add(1, answered, talk)
        if rec.agent_name:
            figures.by_agent.setdefault(rec.agent_name, Tally()).add(1, answered, talk)
        if rec.hangup_reason is not None:
            figures.hangup_reasons[rec.hangup_reason] += 1
        assert rec.call_start_at is not None
        hour = figures.hours[_local_hour(bucket_of(rec.call_start_at), zone)]
        hour[0] += answered
        hour[1] += 1 - answered
    missed_calls: dict[str, set[str]] = {}
    events = session.exec(
        select(RingingEvent).where(
            col(RingingEvent.event_at) >= start,
            col(RingingEvent.event_at) < end,
        )
    )
    for event in events:
        if (event.group_name or "") not in names:
            continue
        for sip in json.loads(event.no_answer_sip_list or "[]"):
            missed_calls.setdefault(str(sip), set()).add(event.call_id or f"#{event.id}")
    for sip, calls in missed_calls.items():
        figures.missed_rings[sip] = len(calls)
    return figures
