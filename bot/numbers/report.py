"""What the check found, as data: the CLI prints `lines()`, the bot escapes and shows them.

The report is stored with each upload (as JSON, `asdict`) and read back with `from_dict`, so the
bot can render the card again after an upload or a discard.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.i18n import _, n_
from bot.numbers.errors import PLATFORM_MAX_ROWS

SAMPLE_SIZE = 20
_SHOWN_VALUE = 40


@dataclass
class RejectedRow:
    row: int  # 1-based, as the user sees it in their sheet
    value: str  # as written
    reason: str

    def line(self) -> str:
        value = self.value
        if len(value) > _SHOWN_VALUE:
            value = value[: _SHOWN_VALUE - 1] + "…"
        return _(
            "  row {row}: {value}: {reason}", row=self.row, value=repr(value), reason=_(self.reason)
        )


@dataclass
class Cleanups:
    """What was taken off numbers to read them, counted in numbers that then were valid."""

    invisible: int = 0  # zero-width and non-breaking spaces, direction marks, byte-order marks
    excel_text: int = 0  # Excel's ="9876543210"
    extensions: int = 0  # `ext 12`, `x305`: the number kept, the extension moved to a column
    extension_column: str | None = None

    def lines(self) -> list[str]:
        lines = []
        if self.invisible:
            lines.append(
                _(
                    "Invisible characters (zero-width or non-breaking spaces, direction marks, byte-order "
                    "marks) removed from {numbers}.",
                    numbers=_numbers(self.invisible),
                )
            )
        if self.excel_text:
            lines.append(
                _(
                    'Excel\'s ="…" text wrapping removed from {numbers}.',
                    numbers=_numbers(self.excel_text),
                )
            )
        if self.extensions:
            lines.append(
                _(
                    "Extensions (like ext 12 or x305) taken off {numbers}: the number is called, the "
                    "extension is in the callee information column {extension_column}.",
                    numbers=_numbers(self.extensions),
                    extension_column=f"{self.extension_column!r}",
                )
            )
        return lines


def _numbers(count: int) -> str:
    return n_("{count} number", "{count} numbers", count)


@dataclass
class NumberReport:
    file_name: str
    total_rows: int
    valid: int
    invalid: int
    duplicates: int
    empty: int
    phone_column: str
    info_columns: list[str]
    country_code: str | None
    rejected_samples: list[RejectedRow] = field(default_factory=list)  # the first 20 invalid
    parts: int = 1  # clean files needed: more than one above PLATFORM_MAX_ROWS valid numbers
    sheet_name: str | None = None
    skipped_sheets: list[str] = field(default_factory=list)  # before sheet_name, without phones
    header_row: int | None = None  # sheet row number of the header, None without one
    title_rows: int = 0  # non-empty rows above the header, left out of the list
    cleanups: Cleanups = field(default_factory=Cleanups)
    # Of the empty rows, those with other cells filled in (a name, a city): in the rejected rows.
    no_phone: int = 0
    sheet_hidden: bool = False  # the list is on a sheet Excel does not show
    unread_sheets: list[str] = field(default_factory=list)  # visible sheets after sheet_name
    # [row, count]: a text file's cell with line breaks whose lines look like rows of the list
    swallowed_rows: list[list[int]] = field(default_factory=list)
    other_phone_columns: list[str] = field(default_factory=list)  # info columns of numbers

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumberReport:
        """The report back from `dataclasses.asdict` (stored with the upload); unknown keys are
        ignored and missing ones take their defaults, so older stored reports still read."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["rejected_samples"] = [
            RejectedRow(**sample) for sample in values.get("rejected_samples", [])
        ]
        values["cleanups"] = Cleanups(**values.get("cleanups", {}))
        return cls(**values)

    def file_line(self) -> str:
        where = (
            _(
                "{file_name}, sheet {sheet_name}",
                file_name=self.file_name,
                sheet_name=f"{self.sheet_name!r}",
            )
            if self.sheet_name
            else self.file_name
        )
        return _(
            "File: {where}",
            where=where,
        )

    @property
    def rejected(self) -> int:
        """Rows in the rejected-rows file."""
        return self.invalid + self.duplicates + self.no_phone

    def counts_line(self) -> str:
        without = (
            _(
                " ({no_phone} of them without a phone number but with other cells filled in: they are "
                "in the rejected-rows file)",
                no_phone=f"{self.no_phone:,}",
            )
            if self.no_phone
            else ""
        )
        return _(
            "Rows: {total_rows}. Valid: {valid}. Invalid: {invalid}. Duplicates removed: "
            "{duplicates}. Empty: {empty}{without}.",
            total_rows=f"{self.total_rows:,}",
            valid=f"{self.valid:,}",
            invalid=f"{self.invalid:,}",
            duplicates=f"{self.duplicates:,}",
            empty=f"{self.empty:,}",
            without=without,
        )

    def layout_lines(self) -> list[str]:
        """Where the list was found: the sheet (when others came first) and the header row."""
        lines = []
        if self.skipped_sheets:
            listed = ", ".join(repr(name) for name in self.skipped_sheets[:10])
            lines.append(
                _(
                    "The numbers are on sheet {sheet_name}: the sheet(s) before it ({listed}) have no "
                    "column of phone numbers.",
                    sheet_name=f"{self.sheet_name!r}",
                    listed=listed,
                )
            )
        if self.sheet_hidden:
            lines.append(
                _(
                    "Sheet {sheet_name} is hidden in the workbook, so you may not have seen these rows: "
                    "unhide it in Excel (right-click a sheet tab → Unhide) to check them.",
                    sheet_name=f"{self.sheet_name!r}",
                )
            )
        if self.unread_sheets:
            listed = ", ".join(repr(name) for name in self.unread_sheets[:10])
            more = len(self.unread_sheets) - 10
            listed += _(" and {count} more", count=f"{more:,}") if more > 0 else ""
            lines.append(
                _(
                    "Only sheet {sheet_name} was read; the sheet(s) after it ({listed}) were not. If they "
                    "hold numbers too, send each sheet as its own file.",
                    sheet_name=f"{self.sheet_name!r}",
                    listed=listed,
                )
            )
        if self.title_rows and self.header_row is not None:
            titles = (
                _("the title row above it is")
                if self.title_rows == 1
                else _(
                    "the {title_rows} title rows above it are",
                    title_rows=self.title_rows,
                )
            )
            lines.append(
                _(
                    "Header in row {header_row}: {titles} not part of the list.",
                    header_row=self.header_row,
                    titles=titles,
                )
            )
        return lines

    def swallowed_lines(self) -> list[str]:
        """Cells that seem to hold rows of the list: a quote misplaced in a text file."""
        return [
            _(
                "Row {row} has a cell that runs over several lines, {count} of which look like rows of "
                'the list, so their numbers are not counted: a quote (") there is probably misplaced. '
                "Check that row, fix the quote and send the file again.",
                row=f"{row:,}",
                count=f"{count:,}",
            )
            for row, count in self.swallowed_rows
        ]

    def other_phones_line(self) -> str | None:
        if not self.other_phone_columns:
            return None
        listed = ", ".join(repr(name) for name in self.other_phone_columns[:10])
        more = len(self.other_phone_columns) - 10
        listed += _(" and {count} more", count=f"{more:,}") if more > 0 else ""
        return n_(
            "Column {listed} also holds phone numbers: only {phone} is called, it is kept as "
            "callee information. To call it too, put every number in one column, one per row, "
            "and send the file again.",
            "Columns {listed} also hold phone numbers: only {phone} is called, they are kept as "
            "callee information. To call them too, put every number in one column, one per row, "
            "and send the file again.",
            len(self.other_phone_columns),
            listed=listed,
            phone=repr(self.phone_column),
        )

    def country_line(self) -> str:
        if self.country_code:
            return _(
                "Country code for national numbers: +{country_code}",
                country_code=self.country_code,
            )
        return _(
            "Country code: none set, so only numbers written with + or 00 (or clearly "
            "international) are accepted",
        )

    def split_line(self) -> str | None:
        if self.parts <= 1:
            return None
        return _(
            "{valid} valid numbers are more than the platform takes in one file "
            "({platform_max_rows}): they are split into {parts} files.",
            valid=f"{self.valid:,}",
            platform_max_rows=f"{PLATFORM_MAX_ROWS:,}",
            parts=self.parts,
        )

    def sample_heading(self) -> str:
        shown = len(self.rejected_samples)
        if shown == self.invalid:
            return _("Invalid numbers:")
        return _(
            "First {shown} of {invalid} invalid numbers:",
            shown=shown,
            invalid=f"{self.invalid:,}",
        )

    def lines(self) -> list[str]:
        lines = [self.file_line(), self.counts_line(), *self.swallowed_lines()]
        lines += self.layout_lines()
        lines.append(
            _(
                "Phone column: {phone_column}",
                phone_column=self.phone_column,
            )
        )
        info = ", ".join(self.info_columns) if self.info_columns else "none"
        lines.append(
            _(
                "Callee information columns: {info}",
                info=info,
            )
        )
        other = self.other_phones_line()
        if other:
            lines.append(other)
        lines.append(self.country_line())
        lines += self.cleanups.lines()
        if self.rejected_samples:
            lines.append(self.sample_heading())
            lines += [rejected.line() for rejected in self.rejected_samples]
        if self.rejected:
            lines.append(_("Every rejected row, with its reason, is in the rejected-rows file."))
        split = self.split_line()
        if split:
            lines.append(split)
        if self.valid == 0:
            lines.append(
                _(
                    "No valid numbers, so there is nothing to upload: fix the rows above and send the file "
                    "again.",
                )
            )
        return lines


@dataclass
class CleanFile:
    path: Path
    file_name: str  # 5-32 characters, for the platform's fileName
    rows: int
