"""Reading an uploaded callee file the way preview/upload does: spreadsheet in, numbers and callee info out."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from python_calamine import CalamineWorkbook

from bot.laaffic.simulator.state import Callee, PlatformError

_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Header names that mark the phone column (first match wins; otherwise the first column).
_PHONE_HEADER = re.compile(r"phone|number|mobile|called|tel|号码|手机|电话", re.IGNORECASE)
# Characters people put inside phone numbers; stripped before deciding whether a cell is a number.
_NUMBER_DECOR = re.compile(r"[\s+\-().]")


@dataclass
class ParsedNumbers:
    callees: list[Callee]  # unique numbers, in file order
    info_headers: list[str]
    duplicate_count: int


def decode_upload(file_b64: str, max_bytes: int) -> bytes:
    try:
        data = base64.b64decode("".join(file_b64.split()), validate=True)
    except (binascii.Error, ValueError):
        raise PlatformError(-22, "file is not valid base64") from None
    if len(data) > max_bytes:
        raise PlatformError(
            -38, f"file too large: {len(data)} bytes, the limit is {max_bytes} bytes"
        )
    return data


def read_rows(data: bytes, file_name: str) -> tuple[int, Iterable[Sequence[Any]]]:
    """(row count, rows) of the first sheet; -39 when the content is not a spreadsheet we read."""
    if data.startswith((_XLS_MAGIC, _ZIP_MAGIC)):
        try:
            sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
            return sheet.height, sheet.iter_rows()
        except Exception:  # calamine raises several unrelated types for a broken file
            raise PlatformError(-39, "wrong file format: the spreadsheet cannot be read") from None
    if file_name.lower().endswith(".csv") and b"\x00" not in data:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            rows = list(csv.reader(io.StringIO(text, newline="")))
            return len(rows), rows
    raise PlatformError(-39, "wrong file format: upload an .xls, .xlsx, .ods or .csv file")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _as_number(text: str) -> str | None:
    digits = _NUMBER_DECOR.sub("", text)
    return digits if digits.isdigit() and 5 <= len(digits) <= 20 else None


def parse_numbers(data: bytes, file_name: str, max_rows: int) -> ParsedNumbers:
    height, rows = read_rows(data, file_name)
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return ParsedNumbers([], [], 0)
    first_cells = [_cell_text(v) for v in first]
    has_header = bool(first_cells) and _as_number(first_cells[0]) is None
    data_rows = height - 1 if has_header else height
    if data_rows > max_rows:
        raise PlatformError(
            -40, f"more than {max_rows:,} rows ({data_rows:,}); split the file and import again"
        )
    phone_col = 0
    info_headers: list[str] = []
    if has_header:
        phone_col = next((i for i, h in enumerate(first_cells) if _PHONE_HEADER.search(h)), 0)
        info_headers = [h for i, h in enumerate(first_cells) if i != phone_col]
        body: Iterable[Sequence[Any]] = iterator
    else:
        body = _chain(first, iterator)

    seen: set[str] = set()
    callees: list[Callee] = []
    duplicates = 0
    for row in body:
        cells = [_cell_text(v) for v in row]
        if phone_col >= len(cells):
            continue
        number = _as_number(cells[phone_col])
        if number is None:
            continue
        if number in seen:
            duplicates += 1
            continue
        seen.add(number)
        info = [c for i, c in enumerate(cells) if i != phone_col]
        callees.append(Callee(number, info))
    width = max([len(info_headers)] + [len(c.info) for c in callees])
    if not has_header:
        info_headers = [f"var{i + 1:02d}" for i in range(width)]
    return ParsedNumbers(callees, info_headers, duplicates)


def _chain(first: Sequence[Any], rest: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    yield first
    yield from rest
