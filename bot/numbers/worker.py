"""Running the pipeline in a separate, memory-capped process.

The bot calls it from its event loop: in a child process the CPU work never competes with the
relay for the GIL, and a file that still manages to exhaust memory or crash the spreadsheet reader
takes down only that child, never the bot.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import tempfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import _, current, speaking
from bot.numbers.errors import NumberFileError
from bot.numbers.pipeline import check_number_file
from bot.numbers.report import NumberReport

# Address-space cap of a checker process: the largest legitimate file peaks near 600 MB RSS.
MEMORY_LIMIT_BYTES = 2 * 1024**3
# The rejected-rows file goes to the chat with sendDocument, which takes at most 50 MB.
SEND_MAX_BYTES = 48 * 1024**2


@dataclass
class CheckOutcome:
    report: NumberReport
    parts: list[tuple[str, int, bytes]]  # (platform file name, rows, content)
    rejected: tuple[str, bytes] | None  # (file name, content)


def check_and_write(
    path: str, file_name: str, ccode: str | None, fmt: str, language: str = "en"
) -> CheckOutcome:
    """Check the file and return the clean parts and the rejected rows as bytes (picklable),
    written in the chat's `language` (the checker process has no context of its own)."""
    with speaking(language):
        return _check_and_write(path, file_name, ccode, fmt)


def _check_and_write(path: str, file_name: str, ccode: str | None, fmt: str) -> CheckOutcome:
    checked = check_number_file(Path(path), file_name=file_name, default_ccode=ccode)
    with tempfile.TemporaryDirectory(prefix="ccbot-clean-") as tmp:
        work = Path(tmp)
        parts = []
        if checked.report.valid:
            for clean in checked.write_clean(work / "clean", fmt=fmt):
                parts.append((clean.file_name, clean.rows, clean.path.read_bytes()))
        rejected_path = checked.write_rejected(work / "rejected")
        if rejected_path is not None and rejected_path.stat().st_size > SEND_MAX_BYTES:
            # A text file's rejected rows, each with its reason, can be several times the input:
            # more than Telegram takes. As .xlsx (compressed) they fit.
            rejected_path = checked.write_rejected(work / "rejected-xlsx", as_xlsx=True)
            assert rejected_path is not None
            if rejected_path.stat().st_size > SEND_MAX_BYTES:
                rejected_path = None
        rejected = (rejected_path.name, rejected_path.read_bytes()) if rejected_path else None
    return CheckOutcome(checked.report, parts, rejected)


def _limit_memory(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class NumberChecker:
    """A small pool of fresh checker processes (one file per process)."""

    def __init__(self, workers: int = 2, memory_limit: int = MEMORY_LIMIT_BYTES) -> None:
        self.workers = workers
        self.memory_limit = memory_limit
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                # spawn: forking a process that runs threads and an event loop is unsafe.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_limit_memory,
                initargs=(self.memory_limit,),
                max_tasks_per_child=1,  # a fresh process per file gives memory back at once
            )
        return self._pool

    async def check(self, path: Path, file_name: str, ccode: str | None, fmt: str) -> CheckOutcome:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor(), check_and_write, str(path), file_name, ccode, fmt, current()
            )
        except NumberFileError:
            raise
        except MemoryError:
            self.close()
            raise NumberFileError(
                _(
                    "Checking {file_name} needed more memory than a number file may use, so I stopped. "
                    "Save it as .csv with only the phone and callee columns, or split it, and send it "
                    "again.",
                    file_name=file_name,
                )
            ) from None
        except BrokenProcessPool:
            self.close()
            raise NumberFileError(
                _(
                    "The file checker stopped unexpectedly while reading {file_name}: the file is damaged "
                    "or needs more memory than allowed. Open it, save it again as .csv, and send it again.",
                    file_name=file_name,
                )
            ) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
