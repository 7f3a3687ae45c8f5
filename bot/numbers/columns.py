"""Which row is the header, which column holds the phone numbers, and what the others are called.

Exports often start with a few title rows (the report's name, the date it was run) above the real
header: the header is found below them and they are left out of the list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.numbers.errors import NumberFileError
from bot.numbers.marks import split_extension, strip_invisible, unwrap_excel_text
from bot.numbers.normalise import cell_text

NO_PHONE_COLUMN = (
    "No column of phone numbers was found: put a header such as phone, mobile, number, tel, "
    "手机, 电话 or 号码 above the numbers, and send the file again."
)
# Rows above the header that may be titles or banners; a list starts no lower than this.
MAX_TITLE_ROWS = 10


class NoPhoneColumn(NumberFileError):
    """A sheet without a column of phone numbers (another sheet of the workbook may have one)."""

    def __init__(self, message: str = NO_PHONE_COLUMN) -> None:
        super().__init__(message)


def no_phone_column_on_any(sheets: Sequence[str]) -> NoPhoneColumn:
    listed = ", ".join(repr(name) for name in sheets[:10])
    return NoPhoneColumn(
        f"No column of phone numbers was found on any of the {len(sheets)} sheets ({listed}): "
        "put a header such as phone, mobile, number, tel, 手机, 电话 or 号码 above the numbers, "
        "and send the file again."
    )


# (pattern, strength): a stronger word wins over a weaker one ("Order number" vs "Mobile").
_HEADER_WORDS = (
    (re.compile(r"phone|mobile|msisdn|手机|电话"), 3),
    (re.compile(r"(?<![a-z])(?:tel|called)"), 2),
    (re.compile(r"number|号码"), 1),
)
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()./\-]{4,22}")
_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?[eE]\+?[0-9]+")
# A date written as text ("Exported 2024-03-01" in a title row) is not a phone number.
_DATE = re.compile(
    r"(?:19|20)[0-9]{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12][0-9]|3[01])"
    r"|(?:0?[1-9]|[12][0-9]|3[01])([-/.])(?:0?[1-9]|[12][0-9]|3[01])\2(?:19|20)[0-9]{2}"
)
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
        text = cell
        if not text.isascii():
            text = unicodedata.normalize("NFKC", strip_invisible(text)[0])
        text = text.strip().lstrip("'")
        if text.startswith("="):
            text = unwrap_excel_text(text) or text
        if _SCIENTIFIC.fullmatch(text):
            return True
        if not _PHONE_LIKE.fullmatch(text):
            split = split_extension(text)
            if split is None or not _PHONE_LIKE.fullmatch(split[0]):
                return False
            text = split[0]
        digits = sum(ch.isdigit() for ch in text)
        return 6 <= digits <= 17 and not _DATE.fullmatch(text)
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
    phone_col: int
    header: int | None  # index of the header row among the sampled rows; None without one

    @property
    def has_header(self) -> bool:
        return self.header is not None

    @property
    def title_rows(self) -> int:
        """Sampled rows above the header: titles and banners, not part of the list."""
        return self.header or 0


def phone_share(rows: Sequence[Sequence[object]], col: int) -> float:
    """The share of the column's filled cells that look like phone numbers."""
    return _phone_share(rows, col)


def _phone_share(rows: Sequence[Sequence[object]], col: int) -> float:
    filled = [row[col] for row in rows if col < len(row) and not is_blank(row[col])]
    if not filled:
        return 0.0
    return sum(map(looks_like_phone, filled)) / len(filled)


def _filled(row: Sequence[object]) -> int:
    return sum(not is_blank(cell) for cell in row)


def _titles_above(sample: Sequence[Sequence[object]], header: int) -> bool:
    """Whether every row above `header` looks like a title: no number in it, and a lone cell or
    fewer cells than the header (a data row above the header would be as wide as it)."""
    if header > MAX_TITLE_ROWS:
        return False
    width = _filled(sample[header])
    return all(
        not any(map(looks_like_phone, row)) and (_filled(row) == 1 or _filled(row) < width)
        for row in sample[:header]
    )


def _named_header(
    sample: Sequence[Sequence[object]], header: int, *, require_numbers: bool = True
) -> Layout | None:
    """The row as a header if a cell names a phone column (that holds numbers below it, unless
    `require_numbers` is off: then the best-filled named column)."""
    row = sample[header]
    named = [(header_strength(cell), col) for col, cell in enumerate(row)]
    if not any(strength for strength, _ in named) or any(map(looks_like_phone, row)):
        return None
    if not _titles_above(sample, header):
        return None
    data = sample[header + 1 :]
    # The strongest word wins ("Order number" vs "Mobile"), then the share of numbers below it.
    candidates = [(strength, _phone_share(data, col), -col) for strength, col in named if strength]
    if require_numbers:
        candidates = [candidate for candidate in candidates if candidate[1] >= 0.5]
    return Layout(-max(candidates)[2], header) if candidates else None


def _header_above_numbers(sample: Sequence[Sequence[object]]) -> Layout | None:
    """Without a phone word: the header is the row just above the first row with a number."""
    first = next(
        (
            i
            for i, row in enumerate(sample[: MAX_TITLE_ROWS + 2])
            if any(map(looks_like_phone, row))
        ),
        None,
    )
    if first is None or (first > 1 and not _titles_above(sample, first - 1)):
        return None
    width = max(len(row) for row in sample)
    share, col = max((_phone_share(sample[first:], col), -col) for col in range(width))
    if share < 0.5:
        return None
    if first == 1 and _numeric(sample[0], -col):
        # A number too short to look like a phone ("12345") at the top of the list is its first
        # entry (an invalid one), not a header: taken for one it would vanish from every count.
        first = 0
    return Layout(-col, first - 1 if first else None)


_NUMERIC = re.compile(r"[+0-9 ()./\-]*[0-9][+0-9 ()./\-]*")


def _numeric(row: Sequence[object], col: int) -> bool:
    """Whether the row's cell in `col` is a number (digits and separators): no header is."""
    if col >= len(row):
        return False
    cell = row[col]
    if isinstance(cell, bool):
        return False
    if isinstance(cell, int | float):
        return True
    return isinstance(cell, str) and _NUMERIC.fullmatch(cell.strip()) is not None


def find_layout(sample: Sequence[Sequence[object]]) -> Layout:
    """Decide from the first non-empty rows: where the header is (if any), and which column holds
    the phones. Raises NoPhoneColumn."""
    if not sample:
        raise NoPhoneColumn()
    for header in range(min(len(sample), MAX_TITLE_ROWS + 1)):
        layout = _named_header(sample, header)
        if layout is not None:
            return layout
    layout = _header_above_numbers(sample)
    if layout is not None:
        return layout
    # A phone word over a column of mostly bad numbers: still the header (below any titles).
    for header in range(min(len(sample), MAX_TITLE_ROWS + 1)):
        layout = _named_header(sample, header, require_numbers=False)
        if layout is not None:
            return layout
    # Otherwise the first row is the header unless it holds a number, as in most lists.
    first = sample[0]
    has_header = not any(map(looks_like_phone, first))
    data = sample[1:] if has_header else sample
    width = max(len(row) for row in sample)
    share, col = max((_phone_share(data, col), -col) for col in range(width))
    if share < 0.5:
        if any(_several_numbers(cell) for row in sample for cell in row):
            raise NoPhoneColumn(SEVERAL_IN_A_CELL)
        raise NoPhoneColumn()
    return Layout(-col, 0 if has_header else None)


SEVERAL_IN_A_CELL = (
    "No column of phone numbers was found, but there are cells with several numbers in them "
    "(separated by spaces): put one number per row (each on its own line, or in its own cell "
    "of one column) and send the file again."
)


def _several_numbers(cell: object) -> bool:
    """A cell such as `9876543210 9876543211`: two or more whole phone numbers side by side."""
    if not isinstance(cell, str):
        return False
    tokens = cell.split()
    return len(tokens) >= 2 and all(map(looks_like_phone, tokens))


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
    text = cell_text(cell)
    if not text.isascii():
        text = strip_invisible(text)[0]
    text = " ".join(text.split())
    return text or f"Column {column_letter(col)}"
