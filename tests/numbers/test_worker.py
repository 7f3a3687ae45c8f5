"""The checker process: results come back whole; a file that needs too much memory is refused and
the next file is checked as usual."""

from __future__ import annotations

import pytest

from bot.numbers import NumberFileError
from bot.numbers.worker import NumberChecker

CSV = "phone,name\n919876543210,Asha\n919876543211,Ravi\n12345,Bad\n919876543210,Again\n"


async def test_check_in_a_child_process(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    checker = NumberChecker(workers=1)
    try:
        outcome = await checker.check(path, "leads.csv", "91", "auto")
    finally:
        checker.close()
    assert (outcome.report.valid, outcome.report.invalid, outcome.report.duplicates) == (2, 1, 1)
    ((name, rows, content),) = outcome.parts
    assert name.endswith(".xls") and rows == 2 and content[:4] == b"\xd0\xcf\x11\xe0"
    assert outcome.rejected is not None and b"12345" in outcome.rejected[1]


async def test_bad_file_error_crosses_the_process_boundary(tmp_path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    checker = NumberChecker(workers=1)
    try:
        with pytest.raises(NumberFileError, match="empty"):
            await checker.check(path, "empty.csv", "91", "auto")
    finally:
        checker.close()


async def test_a_checker_out_of_memory_is_refused_and_the_next_file_works(tmp_path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    starved = NumberChecker(workers=1, memory_limit=16 * 1024**2)  # too little to even import
    try:
        with pytest.raises(NumberFileError, match="more memory than"):
            await starved.check(path, "leads.csv", "91", "auto")
        starved.memory_limit = 2 * 1024**3
        outcome = await starved.check(path, "leads.csv", "91", "auto")
        assert outcome.report.valid == 2
    finally:
        starved.close()
