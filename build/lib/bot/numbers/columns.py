"""Which column holds the phone numbers, and what the others are called."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.numbers.errors import NumberFileError
from bot.numbers.normalise import cell_text

NO_PHONE_COLUMN = (
    "No column of phone numbers was found: put a header such as phone, mobile, number, tel, "
    "手机, 电话 or 号码 above the numbers in the first row, and send the file again."
)

# (pattern, strength): a stronger word wins over a weaker one ("Order number" vs "Mobile").
_HEADER_WORDS = (
    (re.compile(r"phone|mobile|msisdn|手机|电话"), 3),
    (re.compile(r"(?<![a-z])(?:tel|called)"), 2),
    (re.compile(r"number|号码"), 1),
)
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()./\-]{4,22}")
_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+")
SAMPLE_ROWS = 200


def header_strength(cell: object) -> int:
    if not isinstance(cell, str):
        return 0
    text = cell.strip().casefold()
    return next((strength for pattern, strength in _HEADER_WORDS if pattern.search(text)), 0)


def looks_like_phone(cell: object) -> bool:
    if isinstance(cell, bool):
        return False
    if isinstance(cell, int | float):
        return cell == cell and 1e5 <= abs(cell) < 1e16
    if isinstance(cell, str):
        text = cell.strip().lstrip("'")
        if _SCIENTIFIC.fullmatch(text):
            return True
        if _PHONE_LIKE.fullmatch(text):
            digits = sum(ch.isdigit() for ch in text)
            return 6 <= digits <= 17
    return False


def is_blank(cell: object) -> bool:
    return cell is None or cell == "" or (isinstance(cell, str) and not cell.strip())


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass
class Layout:
    has_header: bool
    phone_col: int


def _phone_share(rows: Sequence[Sequence[object]], col: int) -> float:
    filled = [row[col] for row in rows if col < len(row) and not is_blank(row[col])]
    if not filled:
        return 0.0
    return sum(map(looks_like_phone, filled)) / len(filled)


def find_layout(sample: Sequence[Sequence[object]]) -> Layout:
    """Decide from the first non-empty rows: header or not, and which column holds the phones."""
    if not sample:
        raise NumberFileError(NO_PHONE_COLUMN)
    first = sample[0]
    width = max(len(row) for row in sample)
    named = [(header_strength(cell), col) for col, cell in enumerate(first)]
    if any(strength for strength, _ in named) and not any(map(looks_like_phone, first)):
        data = sample[1:]
        candidates = [
            (_phone_share(data, col) >= 0.5, strength, _phone_share(data, col), -col)
            for strength, col in named
            if strength
        ]
        return Layout(True, -max(candidates)[3])
    has_header = not any(map(looks_like_phone, first))
    data = sample[1:] if has_header else sample
    shares = [(_phone_share(data, col), -col) for col in range(width)]
    share, col = max(shares, default=(0.0, 0))
    if share < 0.5:
        raise NumberFileError(NO_PHONE_COLUMN)
    return Layout(has_header, -col)


def unique_headers(names: Sequence[str]) -> list[str]:
    """Header names the platform accepts: no two alike (it rejects repeats with -43)."""
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 2
        while candidate.casefold() in seen:
            candidate, n = f"{name}_{n}", n + 1
        seen.add(candidate.casefold())
        unique.append(candidate)
    return unique


def header_name(cell: object, col: int) -> str:
    text = " ".join(cell_text(cell).split())
    return text or f"Column {column_letter(col)}"
