"""check_number_file: any accepted file in, a report and platform-ready rows out.

CPU-bound and synchronous by design; the bot runs it in a worker thread or process.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.i18n import N_, _
from bot.numbers import guards
from bot.numbers.columns import (
    SAMPLE_ROWS,
    Layout,
    NoPhoneColumn,
    column_letter,
    find_layout,
    header_name,
    is_blank,
    looks_like_phone,
    no_phone_column_on_any,
    phone_share,
    unique_headers,
)
from bot.numbers.errors import (
    MAX_FILE_BYTES,
    PLATFORM_MAX_ROWS,
    SUPPORTED_EXTENSIONS,
    XLS_MAX_COLUMNS,
    XLS_MAX_ROWS,
    NumberFileError,
)
from bot.numbers.names import platform_file_name, safe_stem, unique_suffix
from bot.numbers.normalise import (
    EXCEL_TEXT,
    INVISIBLE,
    NumberNormaliser,
    cell_text,
    parse_calling_code,
)
from bot.numbers.read import Table, read_tables
from bot.numbers.report import SAMPLE_SIZE, CleanFile, Cleanups, NumberReport, RejectedRow
from bot.numbers.write import write_delimited, write_ods, write_xls, write_xlsx

EMPTY_FILE = N_(
    "The file is empty: export the list again and check that it has a column of phone numbers.",
)
HEADER_ONLY = N_(
    "The file has a header row but no rows under it: put the numbers below the header and "
    "send it again.",
)
_REJECTED_EXTENSIONS = {"xlsx": ".xlsx", "xls": ".xls", "ods": ".ods", "csv": ".csv", "txt": ".txt"}
NO_PHONE = N_("no phone number")  # a row with other cells filled in but an empty phone cell
EXTENSION_COLUMN = "extension"
SWALLOWED_SHOWN = 5  # cells named in the report that seem to hold rows of the list  # the callee information column for extensions (`ext 12`)


def _too_big(size: int) -> NumberFileError:
    return NumberFileError(
        _(
            "The file is {value} MB, more than the 20 MB a Telegram bot can download: split the "
            "list into smaller files (or save it as .csv, which is smaller) and send them one by "
            "one.",
            value=f"{size / 2**20:.1f}",
        )
    )


@dataclass
class CheckedNumbers:
    """The outcome of a check: the report, and what is needed to write the files."""

    report: NumberReport
    _phones: list[str] = field(repr=False)
    _kept_rows: list[list[object]] = field(repr=False)
    _info_cols: list[int] = field(repr=False)  # indices into the source rows
    _source_header: list[str] = field(repr=False)  # every source column, for the rejected file
    _rejected: list[tuple[int, list[object], str]] = field(repr=False)
    _table_kind: str = field(repr=False, default="csv")
    _delimiter: str = field(repr=False, default=",")
    # Extensions by index into _phones, for the numbers written with one (`ext 12`).
    _extensions: dict[int, str] = field(repr=False, default_factory=dict)

    def _clean_columns(self) -> list[list[object]]:
        rows = self._kept_rows
        columns: list[list[object]] = [self._phones]  # type: ignore[list-item]
        for col in self._info_cols:
            columns.append([row[col] if col < len(row) else "" for row in rows])
        if self._extensions:
            extensions = self._extensions
            columns.append([extensions.get(i, "") for i in range(len(self._phones))])
        return columns

    def _part_bounds(self, parts: int) -> list[tuple[int, int]]:
        """Evenly sized parts, each at most PLATFORM_MAX_ROWS."""
        total = len(self._phones)
        size = math.ceil(total / parts) if parts else 0
        return [(start, min(start + size, total)) for start in range(0, total, size or 1)]

    def write_clean(
        self, out_dir: Path, *, fmt: str = "auto", base_name: str | None = None
    ) -> list[CleanFile]:
        """The platform file(s) in out_dir: .xls up to 65,535 rows and 256 columns (`auto`),
        .xlsx above or when asked; names of 5-32 characters from the original name with a unique
        suffix."""
        if fmt not in ("auto", "xls", "xlsx"):
            raise ValueError(f"fmt must be auto, xls or xlsx, not {fmt!r}")
        if not self._phones:
            return []
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        columns = self._clean_columns()
        header = [self.report.phone_column, *self.report.info_columns]
        bounds = self._part_bounds(self.report.parts)
        suffix = unique_suffix()
        files = []
        for part, (start, end) in enumerate(bounds, start=1):
            rows = end - start
            # xls cannot hold more rows or columns: then xlsx even when xls was asked for.
            fits_xls = rows <= XLS_MAX_ROWS and len(header) <= XLS_MAX_COLUMNS
            extension = ".xls" if fmt != "xlsx" and fits_xls else ".xlsx"
            name = platform_file_name(
                base_name or self.report.file_name,
                extension,
                suffix=suffix,
                part=part if len(bounds) > 1 else None,
            )
            path = out_dir / name
            _write_platform_file(path, header, [column[start:end] for column in columns])
            files.append(CleanFile(path=path, file_name=name, rows=rows))
        return files

    def write_clean_to(self, out_path: Path) -> list[CleanFile]:
        """For `--out`: its extension chooses the format; parts of a split list get -1, -2, …"""
        out_path = Path(out_path)
        extension = out_path.suffix.lower()
        if extension not in (".xls", ".xlsx"):
            raise NumberFileError(
                _(
                    "The clean file must end in .xls or .xlsx, not {value}: give --out a name like "
                    "numbers.xlsx.",
                    value=out_path.suffix or "nothing",
                )
            )
        if not self._phones:
            return []
        bounds = self._part_bounds(self.report.parts)
        header = [self.report.phone_column, *self.report.info_columns]
        if extension == ".xls" and max(end - start for start, end in bounds) > XLS_MAX_ROWS:
            raise NumberFileError(
                _(
                    "An .xls file holds at most {xls_max_rows} rows and this list has {valid} valid "
                    "numbers: give --out a .xlsx name instead.",
                    xls_max_rows=f"{XLS_MAX_ROWS:,}",
                    valid=f"{self.report.valid:,}",
                )
            )
        if extension == ".xls" and len(header) > XLS_MAX_COLUMNS:
            raise NumberFileError(
                _(
                    "An .xls file holds at most {xls_max_columns} columns and this list has {count}: give "
                    "--out a .xlsx name instead.",
                    xls_max_columns=XLS_MAX_COLUMNS,
                    count=f"{len(header):,}",
                )
            )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        columns = self._clean_columns()
        suffix = unique_suffix()
        files = []
        for part, (start, end) in enumerate(bounds, start=1):
            numbered = len(bounds) > 1
            path = (
                out_path.with_name(f"{out_path.stem}-{part}{out_path.suffix}")
                if numbered
                else out_path
            )
            _write_platform_file(path, header, [column[start:end] for column in columns])
            name = platform_file_name(
                out_path.name, extension, suffix=suffix, part=part if numbered else None
            )
            files.append(CleanFile(path=path, file_name=name, rows=end - start))
        return files

    def write_rejected(self, out_dir: Path, *, as_xlsx: bool = False) -> Path | None:
        """Every invalid and duplicate row, as the input had it, plus its row number and reason,
        in the input's format (or .xlsx, whose compression makes the file far smaller); None when
        nothing was rejected."""
        if not self._rejected:
            return None
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        kind = "xlsx" if as_xlsx else self._table_kind
        if kind == "xls" and (
            len(self._rejected) > XLS_MAX_ROWS or len(self._source_header) + 2 > XLS_MAX_COLUMNS
        ):
            kind = "xlsx"
        path = out_dir / f"{safe_stem(self.report.file_name)}-rejected{_REJECTED_EXTENSIONS[kind]}"
        width = len(self._source_header)
        header = unique_headers([*self._source_header, _("row"), _("reason")])
        columns: list[list[object]] = [
            [row[col] if col < len(row) else "" for _number, row, _reason in self._rejected]
            for col in range(width)
        ]
        columns.append([str(number) for number, _, _ in self._rejected])
        columns.append([_(reason) for _number, _row, reason in self._rejected])
        if kind == "xlsx":
            write_xlsx(path, header, columns)
        elif kind == "xls":
            write_xls(path, header, columns)
        elif kind == "ods":
            write_ods(path, header, columns)
        else:
            write_delimited(path, header, columns, self._delimiter)
        return path


def _write_platform_file(path: Path, header: list[str], columns: list[list[object]]) -> None:
    if path.suffix.lower() == ".xls":
        write_xls(path, header, columns)
    else:
        write_xlsx(path, header, columns)


def _load(source: Path | str | bytes, file_name: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        if len(source) > MAX_FILE_BYTES:
            raise _too_big(len(source))
        return bytes(source), file_name or "numbers"
    path = Path(source)
    name = file_name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _too_big(size)  # before reading a byte of it
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise NumberFileError(
            _(
                "There is no file at {path}: check the path.",
                path=f"{str(path)!r}",
            )
        ) from None
    except PermissionError:
        raise NumberFileError(
            _(
                "The file {path} cannot be read (permission denied).",
                path=f"{str(path)!r}",
            )
        ) from None
    if len(data) > MAX_FILE_BYTES:  # it grew while we looked
        raise _too_big(len(data))
    return data, name


def check_number_file(
    path: Path | str | bytes,
    *,
    file_name: str | None = None,
    default_ccode: str | None = None,
    sheet: str | None = None,
) -> CheckedNumbers:
    """Read, check and clean a callee number file (a path, or its bytes with `file_name`).

    Raises NumberFileError, whose message is one sentence for the user, for a file that cannot be
    used: empty, too big, not a spreadsheet, protected, damaged, a zip bomb, too many rows, or no
    phone column. Bad rows are not errors: they are counted and described in the report.
    """
    try:
        calling_code = parse_calling_code(default_ccode)
    except ValueError:
        raise NumberFileError(
            _(
                "{default_ccode} is not a country calling code: give one like 91 (India) or 86 (China).",
                default_ccode=default_ccode,
            )
        ) from None
    data, name = _load(path, file_name)
    extension = Path(name).suffix.lower()
    if extension and extension not in SUPPORTED_EXTENSIONS:
        raise NumberFileError(
            _(
                "Files ending in {extension} are not read: send the numbers as .xlsx, .xls, .ods, .csv "
                "or .txt.",
                extension=extension,
            )
        )
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise NumberFileError(EMPTY_FILE)
    kind = guards.detect_kind(data, extension)
    tables = read_tables(data, kind, extension, sheet)
    skipped: list[str] = []  # sheets before the chosen one, without a column of phone numbers
    for table in tables:
        try:
            start = _find_start(table)
        except NoPhoneColumn:
            if sheet is not None or table.sheet_name is None:
                raise
            skipped.append(table.sheet_name)
            continue
        if start is None:  # an empty sheet
            if sheet is not None or table.sheet_name is None:
                raise NumberFileError(EMPTY_FILE)
            continue
        return _check_rows(table, start, name, calling_code, skipped)
    if skipped:
        raise no_phone_column_on_any(skipped) if len(skipped) > 1 else NoPhoneColumn()
    raise NumberFileError(EMPTY_FILE)


@dataclass
class _Start:
    """What was read of a table to decide its layout: those rows are checked like the rest."""

    layout: Layout
    rows: list[tuple[int, list[object]]]  # (sheet row number, cells), blank rows included
    sample_rows: list[int]  # index into `rows` of each non-blank row the layout was decided on
    width: int
    next_row: int  # sheet row number of the table's next row


def _find_start(table: Table) -> _Start | None:
    """Sample the first non-blank rows and decide the layout; None for a table with no cells.
    Raises NoPhoneColumn."""
    number = table.first_row - 1
    sample: list[list[object]] = []
    buffered: list[tuple[int, list[object]]] = []
    positions: list[int] = []
    for row in table.rows:
        number += 1
        if not sample and all(map(is_blank, row)):
            continue  # what is above the first non-empty row
        buffered.append((number, row))
        if not all(map(is_blank, row)):
            positions.append(len(buffered) - 1)
            sample.append(row)
            if len(sample) >= SAMPLE_ROWS:
                break
    if not sample:
        return None
    layout = find_layout(sample)
    return _Start(layout, buffered, positions, max(len(row) for row in sample), number + 1)


def _check_rows(
    table: Table, start: _Start, file_name: str, calling_code: int | None, skipped: list[str]
) -> CheckedNumbers:
    layout = start.layout
    normaliser = NumberNormaliser(calling_code)
    check = normaliser.check
    phone_col = layout.phone_col
    width = start.width
    seen: dict[str, int] = {}
    phones: list[str] = []
    extensions: dict[int, str] = {}
    kept: list[list[object]] = []
    rejected: list[tuple[int, list[object], str]] = []
    samples: list[RejectedRow] = []
    invalid = duplicates = empty = blank_run = no_phone = 0

    header_cells: list[object] = []
    header_row: int | None = None
    first_data = 0  # index into start.rows of the first row of the list
    if layout.header is not None:
        position = start.sample_rows[layout.header]
        header_row, header_cells = start.rows[position]
        first_data = position + 1

    def all_rows() -> Iterator[tuple[int, list[object]]]:
        yield from start.rows[first_data:]
        n = start.next_row
        for row in table.rows:
            yield n, row
            n += 1

    # Only a quote makes a text file's cell with line breaks: a misplaced one turns the lines up
    # to the next quote, rows of the list among them, into that one cell.
    quoted = table.quoted
    delimiter = table.delimiter
    swallowed: list[list[int]] = []  # [row, lines that look like rows] for a cell with line breaks

    for row_number, row in all_rows():
        if quoted and len(swallowed) < SWALLOWED_SHOWN:
            joined = "".join(row)  # type: ignore[arg-type]  # a text file's cells are str
            inside = ("\n" in joined or "\r" in joined) and sum(
                looks_like_phone(fields[phone_col]) if phone_col < len(fields) else False
                for value in row
                if isinstance(value, str) and ("\n" in value or "\r" in value)
                for line in value.splitlines()[1:]
                for fields in [line.split(delimiter)]
            )
            if inside:
                swallowed.append([row_number, inside])
        cell = row[phone_col] if phone_col < len(row) else ""
        digits, reason, extension = check(cell)
        if digits is not None:
            first = seen.get(digits)
            if first is None:
                seen[digits] = row_number
                if extension is not None:
                    extensions[len(phones)] = extension
                phones.append(digits)
                kept.append(row)
            else:
                duplicates += 1
                rejected.append(
                    (
                        row_number,
                        row,
                        _(
                            "duplicate of row {first}",
                            first=first,
                        ),
                    )
                )
        elif reason is not None:
            invalid += 1
            rejected.append((row_number, row, reason))
            if len(samples) < SAMPLE_SIZE:
                samples.append(RejectedRow(row_number, cell_text(cell).strip(), reason))
        elif all(map(is_blank, row)):
            blank_run += 1  # counted only if a non-blank row follows: trailing blanks are no rows
            continue
        else:  # other cells, but no phone number: say which rows, or a customer is lost unseen
            empty += 1
            no_phone += 1
            rejected.append((row_number, row, NO_PHONE))
        if len(row) > width:
            width = len(row)
        if blank_run:
            empty += blank_run
            blank_run = 0

    total = len(phones) + invalid + duplicates + empty
    if total == 0:
        raise NumberFileError(HEADER_ONLY if layout.has_header else EMPTY_FILE)

    if layout.has_header:
        names = [
            header_name(header_cells[col] if col < len(header_cells) else "", table.first_col + col)
            for col in range(width)
        ]
        phone_name = names[phone_col]
    else:
        names = [
            # English whatever the chat's language: these name the platform file's columns.
            f"Column {column_letter(table.first_col + col)}"
            for col in range(width)
        ]
        phone_name = "phone"
    info_cols = [
        col
        for col in range(width)
        if col != phone_col and (_named(header_cells, col) or _has_values(kept, col))
    ]
    with_extension = bool(extensions)
    extra = [EXTENSION_COLUMN] if with_extension else []
    unique = unique_headers([phone_name, *(names[col] for col in info_cols), *extra])
    # Numbers pasted side by side ("9876543210,9876543211,…") or a second number column: only
    # the phone column is called, and the report says so.
    sampled = [row for _index, row in start.rows[first_data:]]
    other_phones = [
        unique[1 + i] for i, col in enumerate(info_cols) if phone_share(sampled, col) >= 0.8
    ]
    fixes = normaliser.fixes
    report = NumberReport(
        file_name=file_name,
        total_rows=total,
        valid=len(phones),
        invalid=invalid,
        duplicates=duplicates,
        empty=empty,
        phone_column=unique[0],
        info_columns=unique[1:],
        country_code=str(calling_code) if calling_code else None,
        rejected_samples=samples,
        parts=math.ceil(len(phones) / PLATFORM_MAX_ROWS),
        sheet_name=table.sheet_name,
        skipped_sheets=skipped,
        header_row=header_row,
        title_rows=layout.title_rows,
        cleanups=Cleanups(
            invisible=fixes[INVISIBLE],
            excel_text=fixes[EXCEL_TEXT],
            extensions=len(extensions),
            extension_column=unique[-1] if with_extension else None,
        ),
        no_phone=no_phone,
        sheet_hidden=table.hidden,
        unread_sheets=table.later_sheets,
        swallowed_rows=swallowed,
        other_phone_columns=other_phones,
    )
    source_header = unique_headers(names)
    return CheckedNumbers(
        report=report,
        _phones=phones,
        _kept_rows=kept,
        _info_cols=info_cols,
        _source_header=source_header,
        _rejected=rejected,
        _table_kind=table.kind,
        _delimiter=table.delimiter,
        _extensions=extensions,
    )


def _named(header: Sequence[object], col: int) -> bool:
    return col < len(header) and not is_blank(header[col])


def _has_values(rows: list[list[object]], col: int) -> bool:
    return any(col < len(row) and not is_blank(row[col]) for row in rows)
