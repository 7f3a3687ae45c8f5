"""The one exception the number-file pipeline raises, and the limits that bound its cost."""

from __future__ import annotations

from bot.i18n import _

MAX_FILE_BYTES = 20 * 1024 * 1024  # the most a Telegram bot can download
MAX_ROWS = 1_000_000
PLATFORM_MAX_ROWS = 100_000  # preview/upload answers -40 above this
XLS_MAX_ROWS = 65_535  # data rows in an .xls next to its header row
XLS_MAX_COLUMNS = 256  # an .xls sheet has columns A to IV
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024  # an .xlsx/.ods holding more than this is a zip bomb
# calamine holds a sheet as a dense rows x columns grid of 32-byte cells: this bounds its memory.
MAX_CELLS = 5_000_000
SUPPORTED_EXTENSIONS = (".xlsx", ".xls", ".ods", ".csv", ".txt")


class NumberFileError(Exception):
    """A file the pipeline cannot use; `message` is one sentence: what is wrong and what to do,
    in the current language (a module's constant, marked with N_, is translated here)."""

    def __init__(self, message: str) -> None:
        message = _(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
