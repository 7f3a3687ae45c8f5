"""The callees of a submitted task, indexed from the number file it was created from.

Written once, when the task is submitted (`submit_draft`), from the upload's platform-ready file
(`UploadPart.content`: a header row, the phone column first, then the callee information
columns): one `TaskCallee` row per number, with the row's information under its column names.
The relay uses it to find the chat of a call record that names no agent group and whose call no
ringing event tied to a task (bot/relay/routing.py); a screen pop can show the callee's
information from it. Retention deletes it with the task's records (bot/reports/retention.py).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import python_calamine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.numbers.normalise import cell_text
from storage.models import TaskCallee, UploadPart, table_of

log = logging.getLogger(__name__)

# A task's calls are placed from its submission on (re-runs and the platform's retries within
# days): a call record is matched to a task submitted in this window before the call started.
TASK_WINDOW = timedelta(days=7)

_CHUNK = 2_000  # rows per INSERT statement (6 parameters each: under SQLite's limit)


def _digits(value: object) -> str:
    return "".join(ch for ch in cell_text(value) if "0" <= ch <= "9")[:32]


def callee_rows(content: bytes) -> Iterator[tuple[int, str, dict[str, str]]]:
    """(row number, callee digits, {column name: value}) of each row of a platform file."""
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    sheet = workbook.get_sheet_by_index(0)
    rows = sheet.iter_rows()
    header = [cell_text(cell) for cell in next(rows, [])]
    for number, row in enumerate(rows, start=1):
        if not row:
            continue
        digits = _digits(row[0])
        if not digits:
            continue
        info = {
            name: cell_text(value)
            for name, value in zip(header[1:], row[1:], strict=False)
            if name and cell_text(value)
        }
        yield number, digits, info


def index_task_callees(
    session: Session, task_id: int, chat_id: int, part: UploadPart, submitted_at: datetime
) -> int:
    """Store the callees of `part` as task `task_id`'s (once: a second call adds nothing);
    returns how many rows were read. A file that cannot be read is logged and skipped: the
    task exists either way, only its number-matched records stay unattributed."""
    try:
        rows: list[dict[str, Any]] = [
            {
                "task_id": task_id,
                "callee_digits": digits,
                "chat_id": chat_id,
                "row": number,
                "info": json.dumps(info, ensure_ascii=False),
                "created_at": submitted_at,
            }
            for number, digits, info in callee_rows(part.content)
        ]
    except (python_calamine.CalamineError, ValueError, IndexError) as exc:
        log.warning("task %s: its number file could not be indexed: %s", task_id, exc)
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table_of(TaskCallee)).on_conflict_do_nothing()
    for start in range(0, len(rows), _CHUNK):
        session.execute(stmt, rows[start : start + _CHUNK])
    return len(rows)
