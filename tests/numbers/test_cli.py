"""`ccbot numbers check` end to end, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import python_calamine

from tests.numbers.files import make_text, make_xlsx

CCBOT = Path(sys.executable).with_name("ccbot")


def ccbot(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CCBOT), "numbers", "check", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_check_prints_the_report_and_writes_the_clean_and_rejected_files(tmp_path: Path) -> None:
    rows = [
        ["Name", "Mobile", "City"],
        ["Asha", 919876543210.0, "Pune"],
        ["Ravi", "098765 43211", '=HYPERLINK("x")'],
        ["Dup", "+91 98765 43210", "Pune"],
        ["Bad", "9.19877E+11", "Agra"],
    ]
    source = make_xlsx(tmp_path / "crm export.xlsx", rows)
    result = ccbot(source, "--ccode", "91", "--out", "x.xlsx", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Phone column: Mobile" in out
    assert "Rows: 4. Valid: 2. Invalid: 1. Duplicates removed: 1. Empty: 0." in out
    assert "row 5: '9.19877E+11': Excel shortened it to scientific notation" in out
    assert "Clean file: x.xlsx (2 numbers; upload name x_" in out
    sheet = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "x.xlsx")).get_sheet_by_index(
        0
    )
    assert sheet.to_python() == [
        ["Mobile", "Name", "City"],
        ["919876543210", "Asha", "Pune"],
        ["919876543211", "Ravi", '\'=HYPERLINK("x")'],
    ]
    rejected = tmp_path / "crm_export-rejected.xlsx"
    assert f"Rejected rows: {rejected.name}" in out
    assert rejected.exists()


def test_without_out_the_clean_file_goes_next_to_the_input_in_the_configured_format(
    tmp_path: Path,
) -> None:
    (tmp_path / "in").mkdir()
    source = make_text(
        tmp_path / "in" / "list.csv", [["phone"], ["919876543210"], ["919876543211"]]
    )
    result = ccbot(source, "--ccode", "+91", cwd=tmp_path, env={"NUMBER_FILE_FORMAT": "xlsx"})
    assert result.returncode == 0, result.stderr
    (clean,) = (tmp_path / "in").glob("list_*.xlsx")
    assert 5 <= len(clean.name) <= 32
    assert "Rejected rows" not in result.stdout


def test_a_bad_file_prints_one_sentence_to_stderr_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "photo.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    result = ccbot("photo.xlsx", "--ccode", "91", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "ccbot: This file is named with .xlsx but is really a PNG image, not a list of numbers: "
        "export the list from your CRM or Excel as .xlsx or .csv and send that."
    )


def test_no_valid_numbers_exits_1_and_writes_no_clean_file(tmp_path: Path) -> None:
    source = make_text(tmp_path / "l.csv", [["phone"], ["9876543210"]])
    result = ccbot(source, "--out", "x.xlsx", cwd=tmp_path)  # no --ccode: a national number
    assert result.returncode == 1
    assert "no country code: set one with --ccode or /settings" in result.stdout
    assert "no valid numbers" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()
    assert (tmp_path / "l-rejected.csv").exists()


def test_bad_out_extension_and_bad_ccode(tmp_path: Path) -> None:
    source = make_text(tmp_path / "l.csv", [["phone"], ["919876543210"]])
    result = ccbot(source, "--ccode", "91", "--out", "x.csv", cwd=tmp_path)
    assert result.returncode == 1 and "must end in .xls or .xlsx" in result.stderr
    result = ccbot(source, "--ccode", "999", cwd=tmp_path)
    assert result.returncode == 1 and "999 is not a country calling code" in result.stderr
