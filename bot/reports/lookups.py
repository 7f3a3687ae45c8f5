"""Reading stored call records for /calls and /export: the records counted in the chat (see
bot/relay/routing.py), every record for an admin's /calls."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.i18n import N_, _
from bot.laaffic.codes import hangup_reason, hung_up_by
from bot.numbers.normalise import NumberNormaliser, parse_calling_code
from bot.render import without_direction_controls
from bot.reports.figures import day_bounds
from bot.reports.rollups import agent_of, is_lost, is_transfer
from storage.models import CallChat, CallRecord, as_utc

CALLS_SHOWN = 20
EXPORT_MAX_ROWS = 200_000  # ~10 MB of xlsx; Telegram bots may send files up to 50 MB


def callee_digits(text: str, ccode: str | None) -> tuple[str | None, str | None]:
    """A number typed the way number files have it → (platform digits, None) or (None, reason)."""
    normaliser = NumberNormaliser(parse_calling_code(ccode) if ccode else None)
    digits, reason = normaliser.normalise(text)
    if digits is None and reason is None:
        reason = _("it is empty")
    return digits, reason


def calls_to_statement(
    digits: str, chat_id: int | None, limit: int = CALLS_SHOWN
) -> SelectOfScalar[CallRecord]:
    """The query of `calls_to` (bench/daily_summary.py checks its plan with EXPLAIN)."""
    stmt = select(CallRecord).where(CallRecord.called_digits == digits)
    if chat_id is not None:
        counted = select(CallChat.call_record_id).where(
            col(CallChat.call_record_id) == col(CallRecord.id), col(CallChat.chat_id) == chat_id
        )
        stmt = stmt.where(counted.exists())
    return stmt.order_by(col(CallRecord.call_start_at).desc()).limit(limit)


def calls_to(
    session: Session, digits: str, chat_id: int | None, limit: int = CALLS_SHOWN
) -> list[CallRecord]:
    """The newest calls to one callee counted in this chat (every chat's when None), by the
    index on called_digits and start time, each checked against its `CallChat` key."""
    return list(session.exec(calls_to_statement(digits, chat_id, limit)))


def day_records(
    session: Session, chat_id: int, day: date, zone: ZoneInfo, limit: int
) -> list[CallRecord]:
    """The records counted in this chat that started on `day` (local), oldest first."""
    start, end = day_bounds(day, zone)
    stmt = (
        select(CallRecord)
        .join(CallChat, col(CallChat.call_record_id) == col(CallRecord.id))
        .where(
            col(CallChat.chat_id) == chat_id,
            col(CallChat.call_start_at) >= start,
            col(CallChat.call_start_at) < end,
        )  # ix_call_chat_chat_start
        .order_by(col(CallChat.call_start_at), col(CallRecord.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


EXPORT_COLUMNS = (
    N_("start (local)"),
    N_("answered at"),
    N_("ended at"),
    N_("callee"),
    N_("callee info"),
    N_("caller"),
    N_("agent group"),
    N_("agent"),
    N_("answered"),
    N_("transferred to an agent"),
    N_("lost waiting for an agent"),
    N_("talk seconds"),
    N_("how it ended"),
    N_("who ended it"),
    N_("SIP code"),
    N_("cost (USD)"),
    N_("labels"),
    N_("remark"),
    N_("recording"),
    N_("session id"),
)


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    return as_utc(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def export_xlsx(records: list[CallRecord], zone: ZoneInfo) -> bytes:
    """The records as one sheet; strings are written as strings (no formulas from user data),
    without the characters that reverse text (a callee name could otherwise reverse a number)."""
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
    for column, name in enumerate(EXPORT_COLUMNS):
        sheet.write_string(0, column, _(name), bold)
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
            agent_of(r) or "",
            "yes" if r.answered else "no",
            "yes" if is_transfer(r) else "no",
            "yes" if is_lost(r) else "no",
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
        for column, value in enumerate(values):
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(row, column, value)
            elif value is None or value == "":
                continue  # an empty cell, not a cell holding an empty string
            else:
                sheet.write_string(row, column, without_direction_controls(str(value)))
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
