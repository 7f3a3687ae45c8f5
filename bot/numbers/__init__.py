"""The callee number-file pipeline: any list operators have in, the platform's spreadsheet out.

Used by the bot's handlers (in a worker thread or process: it is CPU-bound and synchronous) and by
`ccbot numbers check`.
"""

from bot.numbers.errors import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    PLATFORM_MAX_ROWS,
    SUPPORTED_EXTENSIONS,
    NumberFileError,
)
from bot.numbers.pipeline import CheckedNumbers, check_number_file
from bot.numbers.report import CleanFile, Cleanups, NumberReport, RejectedRow

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "PLATFORM_MAX_ROWS",
    "SUPPORTED_EXTENSIONS",
    "CheckedNumbers",
    "CleanFile",
    "Cleanups",
    "NumberFileError",
    "NumberReport",
    "RejectedRow",
    "check_number_file",
]
