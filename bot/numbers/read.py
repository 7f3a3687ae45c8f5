"""Reading any accepted file into rows of cells, with the sheet row number of each.

A workbook yields its sheets in order (or the one asked for): the pipeline takes the first that
has a column of phone numbers, because exports often put a summary or a cover sheet first.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

import python_calamine

from bot.i18n import N_, _
from bot.numbers import guards
from bot.numbers.errors import MAX_ROWS, NumberFileError

DELIMITERS = (",", ";", "\t", "|")
ENCODING_UNREADABLE = N_(
    "The text file's characters could not be read: save it as UTF-8 (in Excel: Save As → "
    "CSV UTF-8) and send it again.",
)


@dataclass
class Table:
    """The cells of one sheet: `rows` yields lists; row i (0-based) is sheet row `first_row + i`."""

    rows: Iterator[list[object]]
    first_row: int  # 1-based sheet row number of the first yielded row
    first_col: int  # 0-based sheet column of each row's first cell
    kind: str  # "xlsx", "xls", "ods", "csv" or "txt": the rejected-rows file is written alike
    sheet_name: str | None = None
    delimiter: str = ","
    hidden: bool = False  # a hidden sheet of a workbook
    # The visible sheets after this one, which are not read once this one has the list.
    later_sheets: list[str] = field(default_factory=list)
    quoted: bool = False  # a text file with a quote in it: its cells may hold line breaks


def read_tables(data: bytes, kind: str, extension: str, sheet: str | None) -> Iterator[Table]:
    """The file's tables: a text file's one, the sheet named `sheet`, or every sheet in order.

    Every sheet that may be read is measured (bot/numbers/guards.py) before the first is opened.
    """
    if kind == guards.TEXT:
        if sheet is not None:  # not read as if no sheet had been asked for
            raise NumberFileError(
                _(
                    "This is a text file, which has no sheets, so there is no sheet {sheet} in it: leave "
                    "out the sheet name (--sheet), or give the workbook that has that sheet.",
                    sheet=f"{sheet!r}",
                )
            )
        yield _read_text(data, "txt" if extension == ".txt" else "csv")
        return
    if kind == guards.XLSX:
        guards.check_xlsx(data, sheet)
    elif kind == guards.ODS:
        guards.check_ods(data)
    else:
        guards.check_xls(data)
    yield from _read_workbook(data, kind, sheet)


def _read_workbook(data: bytes, kind: str, sheet: str | None) -> Iterator[Table]:
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = workbook.sheet_names
        if sheet is not None and sheet not in names:
            raise guards.no_such_sheet(sheet, names)
        if not names:
            raise NumberFileError(guards.CORRUPT)
    except python_calamine.PasswordError:
        raise NumberFileError(guards.PASSWORD) from None
    except python_calamine.CalamineError:
        raise NumberFileError(guards.CORRUPT) from None
    visible = python_calamine.SheetVisibleEnum.Visible
    hidden = {m.name for m in workbook.sheets_metadata if m.visible != visible}
    if sheet is not None:
        order = [sheet]
    else:  # hidden sheets last: the one people see is the one they mean
        order = [n for n in names if n not in hidden] + [n for n in names if n in hidden]
    for index, name in enumerate(order):
        later = [n for n in order[index + 1 :] if n not in hidden] if sheet is None else []
        try:
            found = workbook.get_sheet_by_name(name)
        except python_calamine.PasswordError:
            raise NumberFileError(guards.PASSWORD) from None
        except python_calamine.CalamineError:
            raise NumberFileError(guards.CORRUPT) from None
        if found.height > MAX_ROWS + 1:
            raise guards.too_many_rows()
        start = found.start or (0, 0)
        # iter_rows yields the empty rows above the data too, but starts at the first used column.
        # The cells are only read; list[CellValue] is not a list[object] to mypy (list is invariant).
        rows = cast(Iterator[list[object]], found.iter_rows())
        yield Table(
            rows,
            first_row=1,
            first_col=start[1],
            kind=kind,
            sheet_name=name,
            hidden=name in hidden,
            later_sheets=later,
        )


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text") or without one (when
    the text is mostly ASCII, as lists of numbers are), else Windows-1251
    when the text reads as Cyrillic words in it (Excel's CSV in a Russian or Ukrainian locale),
    else GB18030."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        bomless = guards.utf16_without_bom(data[:4096]) if b"\x00" in data[:4096] else None
        if bomless is not None:
            return data.decode(bomless)
    except UnicodeDecodeError:
        raise NumberFileError(ENCODING_UNREADABLE) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # GB18030 decodes almost any run of an even number of high bytes, so Cyrillic words of an
    # even length would turn into Chinese characters without an error: look at Cyrillic first.
    cyrillic = _cyrillic_1251(data)
    if cyrillic is not None and cyrillic[1]:
        return cyrillic[0]
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        if cyrillic is not None:  # not Chinese; only Cyrillic letters and punctuation
            return cyrillic[0]
        raise NumberFileError(ENCODING_UNREADABLE) from None


_CYRILLIC_WORD = re.compile("[А-яЁёІіЇїЄєЎўҐґ]+")
_CYRILLIC_LOWER = re.compile("[а-яёіїєўґ]")
# What else Cyrillic text in Windows-1251 holds besides ASCII: punctuation and NBSP.
_NOT_CYRILLIC_1251 = re.compile("[^\x00-\x7fА-яЁёІіЇїЄєЎўҐґ№«»–—…“”„’\u00a0]")


def _cyrillic_1251(data: bytes) -> tuple[str, bool] | None:
    """The text read as Windows-1251 and whether it reads like written words (mostly lower case,
    each word lower case, capitalised or in capitals, as Chinese read as 1251 is not); None when
    it holds characters other than Cyrillic letters and common punctuation."""
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError:
        return None
    if _NOT_CYRILLIC_1251.search(text):
        return None
    words = _CYRILLIC_WORD.findall(text)
    letters = sum(map(len, words))
    if not letters:
        return None
    lower = len(_CYRILLIC_LOWER.findall(text))
    cased = sum(1 for w in words if w.islower() or w.isupper() or w.istitle())
    return text, lower > letters - lower and cased >= 0.9 * len(words)


def sniff_delimiter(text: str) -> str:
    """The candidate that splits the first lines most consistently (',' when none appears)."""
    lines = [line for line in text[:65536].splitlines()[:50] if line.strip()]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        modal, lines_with_modal = Counter(counts).most_common(1)[0] if counts else (0, 0)
        if modal == 0:
            continue
        # The share of lines that agree, then the number of columns ("Pune, India" in every
        # row of a ;-separated file must not make it comma-separated).
        score = (lines_with_modal / len(lines), modal)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_text(data: bytes, kind: str) -> Table:
    text = decode_text(data)
    if "\x00" in text:
        raise guards.renamed_file("." + kind, _("a binary file"))
    delimiter = sniff_delimiter(text)
    if text.count("\n") > MAX_ROWS + 1 and _count_records(text, delimiter) > MAX_ROWS + 1:
        # Refuse before checking a single number (lines can hold quoted newlines: count records).
        raise guards.too_many_rows()
    return Table(
        _text_rows(text, delimiter),
        first_row=1,
        first_col=0,
        kind=kind,
        delimiter=delimiter,
        quoted='"' in text,
    )


def _count_records(text: str, delimiter: str) -> int:
    count = 0
    try:
        for count, _ in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1
        ):
            if count > MAX_ROWS + 1:
                break
    except csv.Error:
        pass  # reported with its line number when the rows are read
    return count


def _text_rows(text: str, delimiter: str) -> Iterator[list[object]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = last_start = 1  # the line the record being read (the last one read) starts on
    last: list[str] = []
    try:
        for count, row in enumerate(reader, start=1):
            if count > MAX_ROWS + 1:  # stop at the cap instead of reading the rest
                raise guards.too_many_rows()
            last, last_start = row, start
            yield row  # type: ignore[misc]  # list[str] as list[object]: the cells are only read
            start = reader.line_num + 1
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise NumberFileError(
                _(
                    "Line {start} of the text file starts a cell of more than {field_size_limit} "
                    'characters, most likely a quote (") that is never closed: remove that quote, or save '
                    "the list again as CSV from Excel, and send it.",
                    start=f"{start:,}",
                    field_size_limit=f"{csv.field_size_limit():,}",
                )
            ) from None
        raise NumberFileError(
            _(
                "Line {line_num} of the text file cannot be read ({exc}): save the list again as CSV "
                "from Excel and send it.",
                line_num=reader.line_num,
                exc=exc,
            )
        ) from None
    # Outside strict mode csv reads a quote that is never closed as a cell that runs to the end of
    # the file: every line after it, numbers included, would silently become that one cell.
    if any("\n" in cell or "\r" in cell for cell in last) and _unclosed_quote(
        text, last_start, delimiter
    ):
        raise NumberFileError(
            _(
                'Line {last_start} of the text file opens a quote (") that is never closed, so every '
                "line after it would be read as one cell and its numbers lost: remove that quote (or "
                "close it) and send the file again.",
                last_start=f"{last_start:,}",
            )
        )


def _unclosed_quote(text: str, line: int, delimiter: str) -> bool:
    """Whether the record starting on `line` (1-based) ends inside a quoted cell."""
    lines = io.StringIO(text, newline="")
    for _line in range(line - 1):
        lines.readline()
    try:
        for _record in csv.reader(lines, delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False
