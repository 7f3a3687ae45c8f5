"""`ccbot numbers check` end to end, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import python_calamine

from tests.numbers.files import make_text, make_xlsx, make_xlsx_book

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
        ["919876543211", "Ravi", '=HYPERLINK("x")'],  # a text cell: never run, kept as it is
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
    assert "row 2: '9876543210': no country code" in result.stdout
    assert "give it with --ccode" in result.stdout
    assert "/settings" not in result.stdout
    assert "no valid numbers" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()
    assert (tmp_path / "l-rejected.csv").exists()


def test_bad_out_extension_and_bad_ccode(tmp_path: Path) -> None:
    source = make_text(tmp_path / "l.csv", [["phone"], ["919876543210"]])
    result = ccbot(source, "--ccode", "91", "--out", "x.csv", cwd=tmp_path)
    assert result.returncode == 1 and "must end in .xls or .xlsx" in result.stderr
    result = ccbot(source, "--ccode", "999", cwd=tmp_path)
    assert result.returncode == 1 and "999 is not a country calling code" in result.stderr


def test_a_real_export_is_cleaned_and_the_report_says_how(tmp_path: Path) -> None:
    """Title rows, invisible characters, Excel's ="…" and an extension in one CRM export."""
    (tmp_path / "export.csv").write_text(
        "Leads report\n"
        "Run on 2024-03-01\n"
        "\n"
        "Name,Mobile,City\n"
        "Asha,\u200b+91 98765 43210\u200e,Pune\n"
        'Ravi,="9876543211",Delhi\n'
        "Meera,9876543212 ext 12,Agra\n"
        "Ajay,12345,Agra\n",
        encoding="utf-8",
    )
    result = ccbot("export.csv", "--ccode", "91", "--out", "clean.xlsx", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Rows: 4. Valid: 3. Invalid: 1. Duplicates removed: 0. Empty: 0." in lines
    assert "Header in row 4: the 2 title rows above it are not part of the list." in lines
    assert "Phone column: Mobile" in lines
    assert "Callee information columns: Name, City, extension" in lines
    assert (
        "Invisible characters (zero-width or non-breaking spaces, direction marks, byte-order "
        "marks) removed from 1 number." in lines
    )
    assert 'Excel\'s ="…" text wrapping removed from 1 number.' in lines
    assert (
        "Extensions (like ext 12 or x305) taken off 1 number: the number is called, the "
        "extension is in the callee information column 'extension'." in lines
    )
    assert "  row 8: '12345': too short for +91" in lines
    sheet = python_calamine.CalamineWorkbook.from_path(str(tmp_path / "clean.xlsx"))
    assert sheet.get_sheet_by_index(0).to_python() == [
        ["Mobile", "Name", "City", "extension"],
        ["919876543210", "Asha", "Pune", ""],
        ["919876543211", "Ravi", "Delhi", ""],
        ["919876543212", "Meera", "Agra", "12"],
    ]


def test_the_sheet_with_the_numbers_is_found_and_named(tmp_path: Path) -> None:
    make_xlsx_book(
        tmp_path / "book.xlsx",
        {"Summary": [["Campaign"], ["Total", 2.0]], "Leads": [["Phone"], ["919876543210"]]},
    )
    result = ccbot("book.xlsx", "--ccode", "91", "--out", "clean.xlsx", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "File: book.xlsx, sheet 'Leads'" in result.stdout
    assert (
        "The numbers are on sheet 'Leads': the sheet(s) before it ('Summary') have no column "
        "of phone numbers." in result.stdout
    )
    # --sheet still chooses, and a sheet without numbers says so
    result = ccbot("book.xlsx", "--ccode", "91", "--sheet", "Summary", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("ccbot: No column of phone numbers was found: ")


def test_a_sheet_asked_of_a_text_file_is_refused_not_ignored(tmp_path: Path) -> None:
    make_text(tmp_path / "list.csv", [["phone"], ["919876543210"]])
    result = ccbot("list.csv", "--ccode", "91", "--sheet", "Leads", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "ccbot: This is a text file, which has no sheets, so there is no sheet 'Leads' in it: "
        "leave out the sheet name (--sheet), or give the workbook that has that sheet.\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list.csv"]  # nothing written
