"""Reading stored call records for /calls and /export (the chat's groups only, unless admin)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.numbers.normalise import NumberNormaliser, parse_calling_code
from bot.reports.figures import day_bounds
from bot.reports.words import hangup_reason, hung_up_by
from storage.models import CallRecord

CALLS_SHOWN = 20
EXPORT_MAX_ROWS = 200_000  # ~10 MB of xlsx; Telegram bots may send files up to 50 MB


def callee_digits(text: str, ccode: str | None) -> tuple[str | None, str | None]:
    """A number typed the way number files have it → (platform digits, None) or (None, reason)."""
    normaliser = NumberNormaliser(parse_calling_code(ccode) if ccode else None)
    digits, reason = normaliser.normalise(text)
    if digits is None and reason is None:
        reason = "it is empty"
    return digits, reason


def calls_to_statement(
    digits: str, groups: Iterable[str] | None, limit: int = CALLS_SHOWN
) -> SelectOfScalar[CallRecord]:
    """The query of `calls_to` (bench/daily_summary.py checks its plan with EXPLAIN)."""
    stmt = select(CallRecord).where(CallRecord.called_digits == digits)
    if groups is not None:
        stmt = stmt.where(CallRecord.agent_group_name.in_(sorted(set(groups))))  # type: ignore[union-attr]
    return stmt.order_by(CallRecord.call_start_at.desc()).limit(limit)  # type: ignore[union-attr]


def calls_to(
    session: Session, digits: str, groups: Iterable[str] | None, limit: int = CALLS_SHOWN
) -> list[CallRecord]:
    """The newest calls to one callee (indexed by called_digits, then start time)."""
    return list(session.exec(calls_to_statement(digits, groups, limit)))


def day_records(
    session: Session, groups: Iterable[str], day: date, zone: ZoneInfo, limit: int
) -> list[CallRecord]:
    start, end = day_bounds(day, zone)
    stmt = (
        select(CallRecord)
        .where(
            CallRecord.call_start_at >= start,  # type: ignore[operator]
            CallRecord.call_start_at < end,  # type: ignore[operator]
            CallRecord.agent_group_name.in_(sorted(set(groups))),  # type: ignore[union-attr]
        )
        .order_by(CallRecord.call_start_at)  # type: ignore[arg-type]
        .limit(limit)
    )
    return list(session.exec(stmt))


EXPORT_COLUMNS = (
    "start (local)",
    "answered at",
    "ended at",
    "callee",
    "callee info",
    "caller",
    "agent group",
    "agent",
    "answered",
    "talk seconds",
    "how it ended",
    "who ended it",
    "SIP code",
    "cost (USD)",
    "labels",
    "remark",
    "recording",
    "session id",
)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def export_xlsx(records: list[CallRecord], zone: ZoneInfo) -> bytes:
    """The records as one sheet; strings are written as strings (no formulas from user data)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = book.add_worksheet("calls")
    bold = book.add_format({"bold": True})
    for col, name in enumerate(EXPORT_COLUMNS):
        sheet.write_string(0, col, name, bold)
    for row, r in enumerate(records, start=1):
        labels = ", ".join(str(x) for x in json.loads(r.labels or "[]"))
        values = [
            _local(r.call_start_at, zone),
            _local(r.answer_at, zone),
            _local(r.call_end_at, zone),
            r.called or "",
            r.called_info or "",
            r.caller or "",
            r.agent_group_name or "",
            r.agent_name or "",
            "yes" if r.answered else "no",
            r.call_duration,
            hangup_reason(r.hangup_reason),
            hung_up_by(r.hanging_direction) or "",
            r.hangup_code or "",
            r.cost,
            labels,
            r.remark or "",
            r.voice_url or "",
            r.call_session_id,
        ]
        for col, value in enumerate(values):
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(row, col, value)
            elif value is None:
                continue
            else:
                sheet.write_string(row, col, str(value))
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
