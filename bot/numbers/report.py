"""What the check found, as data: the CLI prints `lines()`, the bot escapes and shows them.

The report is stored with each upload (as JSON, `asdict`) and read back with `from_dict`, so the
bot can render the card again after an upload or a discard.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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
        return f"  row {self.row}: {value!r}: {self.reason}"


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
                f"Invisible characters (zero-width or non-breaking spaces, direction marks, "
                f"byte-order marks) removed from {_numbers(self.invisible)}."
            )
        if self.excel_text:
            lines.append(f'Excel\'s ="…" text wrapping removed from {_numbers(self.excel_text)}.')
        if self.extensions:
            lines.append(
                f"Extensions (like ext 12 or x305) taken off {_numbers(self.extensions)}: the "
                f"number is called, the extension is in the callee information column "
                f"{self.extension_column!r}."
            )
        return lines


def _numbers(count: int) -> str:
    return f"{count:,} number" + ("" if count == 1 else "s")


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
            f"{self.file_name}, sheet {self.sheet_name!r}" if self.sheet_name else self.file_name
        )
        return f"File: {where}"

    @property
    def rejected(self) -> int:
        """Rows in the rejected-rows file."""
        return self.invalid + self.duplicates + self.no_phone

    def counts_line(self) -> str:
        without = (
            f" ({self.no_phone:,} of them without a phone number but with other cells filled "
            f"in: they are in the rejected-rows file)"
            if self.no_phone
            else ""
        )
        return (
            f"Rows: {self.total_rows:,}. Valid: {self.valid:,}. Invalid: {self.invalid:,}. "
            f"Duplicates removed: {self.duplicates:,}. Empty: {self.empty:,}{without}."
        )

    def layout_lines(self) -> list[str]:
        """Where the list was found: the sheet (when others came first) and the header row."""
        lines = []
        if self.skipped_sheets:
            listed = ", ".join(repr(name) for name in self.skipped_sheets[:10])
            lines.append(
                f"The numbers are on sheet {self.sheet_name!r}: the sheet(s) before it "
                f"({listed}) have no column of phone numbers."
            )
        if self.sheet_hidden:
            lines.append(
                f"Sheet {self.sheet_name!r} is hidden in the workbook, so you may not have seen "
                f"these rows: unhide it in Excel (right-click a sheet tab → Unhide) to check them."
            )
        if self.unread_sheets:
            listed = ", ".join(repr(name) for name in self.unread_sheets[:10])
            more = len(self.unread_sheets) - 10
            listed += f" and {more:,} more" if more > 0 else ""
            lines.append(
                f"Only sheet {self.sheet_name!r} was read; the sheet(s) after it ({listed}) were "
                f"not. If they hold numbers too, send each sheet as its own file."
            )
        if self.title_rows and self.header_row is not None:
            titles = (
                "the title row above it is"
                if self.title_rows == 1
                else f"the {self.title_rows} title rows above it are"
            )
            lines.append(f"Header in row {self.header_row}: {titles} not part of the list.")
        return lines

    def swallowed_lines(self) -> list[str]:
        """Cells that seem to hold rows of the list: a quote misplaced in a text file."""
        return [
            f"Row {row:,} has a cell that runs over several lines, {count:,} of which look like "
            f'rows of the list, so their numbers are not counted: a quote (") there is probably '
            f"misplaced. Check that row, fix the quote and send the file again."
            for row, count in self.swallowed_rows
        ]

    def other_phones_line(self) -> str | None:
        if not self.other_phone_columns:
            return None
        listed = ", ".join(repr(name) for name in self.other_phone_columns[:10])
        more = len(self.other_phone_columns) - 10
        listed += f" and {more:,} more" if more > 0 else ""
        several = len(self.other_phone_columns) > 1
        return (
            f"{'Columns' if several else 'Column'} {listed} also "
            f"{'hold' if several else 'holds'} phone numbers: only {self.phone_column!r} is "
            f"called, {'they are' if several else 'it is'} kept as callee information. To call "
            f"{'them' if several else 'it'} too, put every number in one column, one per row, and "
            f"send the file again."
        )

    def country_line(self) -> str:
        if self.country_code:
            return f"Country code for national numbers: +{self.country_code}"
        return (
            "Country code: none set, so only numbers written with + or 00 "
            "(or clearly international) are accepted"
        )

    def split_line(self) -> str | None:
        if self.parts <= 1:
            return None
        return (
            f"{self.valid:,} valid numbers are more than the platform takes in one file "
            f"({PLATFORM_MAX_ROWS:,}): they are split into {self.parts} files."
        )

    def sample_heading(self) -> str:
        shown = len(self.rejected_samples)
        if shown == self.invalid:
            return "Invalid numbers:"
        return f"First {shown} of {self.invalid:,} invalid numbers:"

    def lines(self) -> list[str]:
        lines = [self.file_line(), self.counts_line(), *self.swallowed_lines()]
        lines += self.layout_lines()
        lines.append(f"Phone column: {self.phone_column}")
        info = ", ".join(self.info_columns) if self.info_columns else "none"
        lines.append(f"Callee information columns: {info}")
        other = self.other_phones_line()
        if other:
            lines.append(other)
        lines.append(self.country_line())
        lines += self.cleanups.lines()
        if self.rejected_samples:
            lines.append(self.sample_heading())
            lines += [rejected.line() for rejected in self.rejected_samples]
        if self.rejected:
            lines.append("Every rejected row, with its reason, is in the rejected-rows file.")
        split = self.split_line()
        if split:
            lines.append(split)
        if self.valid == 0:
            lines.append(
                "No valid numbers, so there is nothing to upload: fix the rows above and send the file again."
            )
        return lines


@dataclass
class CleanFile:
    path: Path
    file_name: str  # 5-32 characters, for the platform's fileName
    rows: int
