"""What the check found, as data: the CLI prints `lines()`, the bot escapes and shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.numbers.errors import PLATFORM_MAX_ROWS

SAMPLE_SIZE = 20
_SHOWN_VALUE = 40


@dataclass
class RejectedRow:
    row: int  # 1-based, as the user sees it in their sheet
    value: str  # as written
    reason: str


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

    def lines(self) -> list[str]:
        where = (
            f"{self.file_name}, sheet {self.sheet_name!r}" if self.sheet_name else self.file_name
        )
        lines = [f"File: {where}"]
        lines.append(f"Phone column: {self.phone_column}")
        info = ", ".join(self.info_columns) if self.info_columns else "none"
        lines.append(f"Callee information columns: {info}")
        if self.country_code:
            lines.append(f"Country code for national numbers: +{self.country_code}")
        else:
            lines.append(
                "Country code: none set, so only numbers written with + or 00 "
                "(or clearly international) are accepted"
            )
        lines.append(
            f"Rows: {self.total_rows:,}. Valid: {self.valid:,}. Invalid: {self.invalid:,}. "
            f"Duplicates removed: {self.duplicates:,}. Empty: {self.empty:,}."
        )
        if self.rejected_samples:
            shown = len(self.rejected_samples)
            heading = (
                "Invalid numbers"
                if shown == self.invalid
                else f"First {shown} of {self.invalid:,} invalid numbers"
            )
            lines.append(f"{heading}:")
            for rejected in self.rejected_samples:
                value = rejected.value
                if len(value) > _SHOWN_VALUE:
                    value = value[: _SHOWN_VALUE - 1] + "…"
                lines.append(f"  row {rejected.row}: {value!r}: {rejected.reason}")
        if self.invalid or self.duplicates:
            lines.append("Every rejected row, with its reason, is in the rejected-rows file.")
        if self.parts > 1:
            lines.append(
                f"{self.valid:,} valid numbers are more than the platform takes in one file "
                f"({PLATFORM_MAX_ROWS:,}): they are split into {self.parts} files."
            )
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
