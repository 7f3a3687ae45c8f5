"""The checker process: results come back whole; a file that needs too much memory is refused and
the next file is checked as usual."""

from __future__ import annotations

import pytest
import python_calamine

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


def test_rejected_rows_too_big_to_send_as_text_are_sent_as_xlsx(tmp_path, monkeypatch) -> None:
    """Each rejected row carries its reason, so a text file's rejected rows can be several times
    the input (a 18 MB CSV of 9.17E+11 makes 119 MB), more than the 50 MB sendDocument takes."""
    from bot.numbers import worker

    path = tmp_path / "sci.csv"
    path.write_text("phone,name\n919876543210,Asha\n" + "9.17E+11,Ravi\n" * 2000)
    small = worker.check_and_write(str(path), "sci.csv", "91", "auto")
    assert small.rejected is not None
    name, content = small.rejected
    assert name == "sci-rejected.csv" and len(content) > 200_000  # 2,000 reasons of 100+ chars
    monkeypatch.setattr(worker, "SEND_MAX_BYTES", 100_000)
    outcome = worker.check_and_write(str(path), "sci.csv", "91", "auto")
    assert outcome.rejected is not None
    name, content = outcome.rejected
    assert name == "sci-rejected.xlsx" and len(content) <= 100_000
    (tmp_path / name).write_bytes(content)
    rows = python_calamine.CalamineWorkbook.from_path(str(tmp_path / name)).get_sheet_by_index(0)
    table = rows.to_python()
    assert len(table) == 2001 and table[1][:3] == ["9.17E+11", "Ravi", "3"]
    # too big even as .xlsx: not sent (the chat is told so)
    monkeypatch.setattr(worker, "SEND_MAX_BYTES", 1_000)
    assert worker.check_and_write(str(path), "sci.csv", "91", "auto").rejected is None
