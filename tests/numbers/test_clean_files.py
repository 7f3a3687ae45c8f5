"""The report, the clean file for the platform, the rejected-rows file and the file names."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from bot.laaffic.simulator.numberfile import parse_numbers
from bot.numbers import PLATFORM_MAX_ROWS, NumberFileError, check_number_file
from bot.numbers.names import platform_file_name
from tests.numbers.files import make_ods, make_text, make_xls, make_xlsx

NAME_RULE = re.compile(r"^.{5,32}$")


def read_sheet(path: Path) -> list[list[object]]:
    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


def numbers_csv(path: Path, count: int, *, start: int = 0) -> Path:
    """A CSV of `count` distinct valid Indian mobile numbers with a name column."""
    lines = ["phone,name"] + [f"9198{start + i:08d},n{i}" for i in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_report_counts_and_samples(tmp_path: Path) -> None:
    rows = [["phone", "name"]]
    rows += [[f"9198765432{i:02d}", f"ok {i}"] for i in range(10)]
    rows += [["919876543200", "dup of first"], ["", "no number"], ["", ""]]
    rows += [[f"bad{i}", f"bad {i}"] for i in range(25)]
    rows += [["", ""], ["", ""]]  # trailing blank lines are not rows
    checked = check_number_file(make_text(tmp_path / "l.csv", rows), default_ccode="91")
    report = checked.report
    assert (report.valid, report.duplicates, report.empty, report.invalid) == (10, 1, 2, 25)
    assert (
        report.total_rows == 38 == report.valid + report.duplicates + report.empty + report.invalid
    )
    assert len(report.rejected_samples) == 20
    first = report.rejected_samples[0]
    assert (first.row, first.value) == (15, "bad0")
    assert first.reason == "not a phone number (letters or symbols)"
    lines = report.lines()
    assert (
        "Rows: 38. Valid: 10. Invalid: 25. Duplicates removed: 1. Empty: 2 (1 of them without a "
        "phone number but with other cells filled in: they are in the rejected-rows file)."
    ) in lines
    assert "First 20 of 25 invalid numbers:" in lines
    assert "  row 15: 'bad0': not a phone number (letters or symbols)" in lines
    assert report.parts == 1
    # the row with a name and no number is in the rejected rows, the blank one is not
    rejected = checked.write_rejected(tmp_path / "out")
    assert rejected is not None
    with rejected.open(newline="", encoding="utf-8-sig") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["phone", "name", "row", "reason"]
    assert ["", "no number", "13", "no phone number"] in table
    assert not any(row[:2] == ["", ""] for row in table)
    assert len(table) == 1 + 1 + 1 + 25  # header, the duplicate, the row without a number, invalid


def test_duplicates_after_normalising_keep_the_first(tmp_path: Path) -> None:
    rows = [
        ["phone", "who"],
        ["+91 98765 43210", "first"],
        ["098765-43210", "second"],
        [919876543210.0, "third"],
    ]
    checked = check_number_file(make_xlsx(tmp_path / "d.xlsx", rows), default_ccode="91")
    assert (checked.report.valid, checked.report.duplicates) == (1, 2)
    (clean,) = checked.write_clean(tmp_path / "out")
    assert read_sheet(clean.path) == [["phone", "who"], ["919876543210", "first"]]


def test_clean_file_puts_the_phone_first_and_makes_headers_unique(tmp_path: Path) -> None:
    rows = [
        ["Name", "Note", "Mobile", "name", "", "Note"],
        ["Asha", "vip", "919876543210", "A.", "", "n1"],
        ["Ravi", "", "919876543211", "R.", "", "n2"],
    ]
    checked = check_number_file(make_xlsx(tmp_path / "h.xlsx", rows), default_ccode="91")
    assert checked.report.info_columns == [
        "Name",
        "Note",
        "name_2",
        "Note_2",
    ]  # the empty column dropped
    (clean,) = checked.write_clean(tmp_path / "out")
    assert clean.path.suffix == ".xls" and clean.rows == 2
    sheet = read_sheet(clean.path)
    assert sheet[0] == ["Mobile", "Name", "Note", "name_2", "Note_2"]
    assert sheet[1] == ["919876543210", "Asha", "vip", "A.", "n1"]
    assert sheet[2][:3] == ["919876543211", "Ravi", ""]


def test_phone_numbers_are_text_in_both_formats(tmp_path: Path) -> None:
    checked = check_number_file(
        make_xlsx(tmp_path / "f.xlsx", [["phone"], [919876543210.0]]), default_ccode="91"
    )
    for fmt in ("xls", "xlsx"):
        (clean,) = checked.write_clean(tmp_path / fmt, fmt=fmt)
        assert clean.path.suffix == f".{fmt}"
        assert read_sheet(clean.path)[1] == ["919876543210"]
    book = openpyxl.load_workbook(tmp_path / "xlsx" / clean.file_name)
    cell = book.active["A2"]
    assert (cell.value, cell.data_type) == ("919876543210", "s")


FORMULAS = ['=HYPERLINK("http://x","y")', "+1+2", "-3+4", "@SUM(A1)", "\t=1", "plain", "a=b"]


@pytest.mark.parametrize("fmt", ["xls", "xlsx"])
def test_formulas_in_callee_information_cannot_run_and_reach_the_platform_unchanged(
    tmp_path: Path, fmt: str
) -> None:
    rows = [["phone", "=cmd|' /C calc'!A0"]] + [
        [f"9198765432{i:02d}", f] for i, f in enumerate(FORMULAS)
    ]
    checked = check_number_file(make_xlsx(tmp_path / "f.xlsx", rows), default_ccode="91")
    (clean,) = checked.write_clean(tmp_path / "out", fmt=fmt)
    sheet = read_sheet(clean.path)
    assert sheet[0][1] == "=cmd|' /C calc'!A0"
    # No apostrophe in the values: the platform pushes them back as calledInfo into the chats.
    assert [row[1] for row in sheet[1:]] == FORMULAS
    parsed = parse_numbers(clean.path.read_bytes(), clean.file_name, max_rows=100)
    assert [",".join(c.info) for c in parsed.callees] == [f.strip() for f in FORMULAS]
    if fmt == "xlsx":
        # Text cells, never formulas; Excel's quote prefix keeps an edited cell text too.
        book = openpyxl.load_workbook(clean.path)
        cells = [cell for row in book.active.iter_rows() for cell in row]
        assert {cell.data_type for cell in cells} == {"s"}
        assert all(cell.quotePrefix for cell in cells)


def test_xlsx_writer_output_reads_back_in_calamine_and_openpyxl(tmp_path: Path) -> None:
    tricky = [
        "a & b <c>",
        "  spaced  ",
        "line\nbreak",
        "ctrl\x01char",
        "中文名字",
        "x" * 40_000,
        12.5,
        "",
    ]
    rows = [["phone", "info"]] + [[f"9198765432{i:02d}", v] for i, v in enumerate(tricky)]
    checked = check_number_file(make_xlsx(tmp_path / "t.xlsx", rows), default_ccode="91")
    (clean,) = checked.write_clean(tmp_path / "out", fmt="xlsx")
    expected = [
        "a & b <c>",
        "  spaced  ",
        "line\nbreak",
        "ctrlchar",
        "中文名字",
        "x" * 32_767,
        "12.5",
        "",
    ]
    assert [row[1] for row in read_sheet(clean.path)[1:]] == expected
    book = openpyxl.load_workbook(clean.path, read_only=True)
    values = list(book.active.iter_rows(values_only=True))
    assert values[0] == ("phone", "info")
    assert [(row[1] if len(row) > 1 else None) or "" for row in values[1:]] == expected
    assert [row[0] for row in values[1:]] == [f"9198765432{i:02d}" for i in range(len(tricky))]


def test_auto_format_switches_from_xls_to_xlsx_above_65535_rows(tmp_path: Path) -> None:
    at_limit = check_number_file(numbers_csv(tmp_path / "a.csv", 65_535), default_ccode="91")
    (xls,) = at_limit.write_clean(tmp_path / "a")
    assert (xls.path.suffix, xls.rows) == (".xls", 65_535)
    sheet = python_calamine.CalamineWorkbook.from_path(str(xls.path)).get_sheet_by_index(0)
    assert sheet.height == 65_536

    over = check_number_file(numbers_csv(tmp_path / "b.csv", 65_536), default_ccode="91")
    (xlsx,) = over.write_clean(tmp_path / "b")
    assert (xlsx.path.suffix, xlsx.rows) == (".xlsx", 65_536)
    rows = read_sheet(xlsx.path)
    assert len(rows) == 65_537 and rows[-1] == ["919800065535", "n65535"]
    # NUMBER_FILE_FORMAT=xlsx forces xlsx; xls falls back to xlsx when it cannot hold the rows.
    assert at_limit.write_clean(tmp_path / "c", fmt="xlsx")[0].path.suffix == ".xlsx"
    assert over.write_clean(tmp_path / "d", fmt="xls")[0].path.suffix == ".xlsx"


def test_more_than_100000_valid_numbers_are_split(tmp_path: Path) -> None:
    checked = check_number_file(numbers_csv(tmp_path / "big list.csv", 150_001), default_ccode="91")
    report = checked.report
    assert (report.valid, report.parts) == (150_001, 2)
    assert any("split into 2 files" in line for line in report.lines())

    files = checked.write_clean(tmp_path / "out")
    assert [f.rows for f in files] == [75_001, 75_000]
    assert all(f.rows <= PLATFORM_MAX_ROWS and f.path.suffix == ".xlsx" for f in files)
    assert [f.file_name.rsplit("-", 1)[1] for f in files] == ["1.xlsx", "2.xlsx"]
    assert all(NAME_RULE.match(f.file_name) and f.file_name.startswith("big_list_") for f in files)
    first, second = (read_sheet(f.path) for f in files)
    assert first[1][0] == "919800000000" and second[-1][0] == "919800150000"
    assert len(first) + len(second) - 2 == 150_001

    parts = checked.write_clean_to(tmp_path / "cli" / "clean.xlsx")
    assert [p.path.name for p in parts] == ["clean-1.xlsx", "clean-2.xlsx"]
    with pytest.raises(NumberFileError, match="at most 65,535 rows"):
        checked.write_clean_to(tmp_path / "cli" / "clean.xls")


def test_write_clean_to_uses_the_extension(tmp_path: Path) -> None:
    checked = check_number_file(numbers_csv(tmp_path / "l.csv", 3), default_ccode="91")
    (one,) = checked.write_clean_to(tmp_path / "x.xlsx")
    assert one.path == tmp_path / "x.xlsx" and len(read_sheet(one.path)) == 4
    (two,) = checked.write_clean_to(tmp_path / "y.xls")
    assert two.path == tmp_path / "y.xls" and NAME_RULE.match(two.file_name)
    with pytest.raises(NumberFileError, match=r"must end in \.xls or \.xlsx"):
        checked.write_clean_to(tmp_path / "z.csv")


def test_no_valid_numbers_writes_no_clean_file(tmp_path: Path) -> None:
    checked = check_number_file(
        make_text(tmp_path / "l.csv", [["phone"], ["12"], ["abc"]]), default_ccode="91"
    )
    assert checked.report.valid == 0 and checked.report.parts == 0
    assert checked.write_clean(tmp_path / "out") == []
    assert any(line.startswith("No valid numbers") for line in checked.report.lines())


@pytest.mark.parametrize(
    ("maker", "suffix"),
    [
        (make_xlsx, ".xlsx"),
        (make_xls, ".xls"),
        (make_ods, ".ods"),
        (make_text, ".csv"),
        (make_text, ".txt"),
    ],
)
def test_rejected_rows_file_keeps_the_input_format(tmp_path: Path, maker, suffix: str) -> None:
    rows = [
        ["name", "phone"],
        ["Asha", "919876543210"],
        ["Ravi", "12345"],
        ["Dup", "919876543210"],
        ["Eve", "=2+3"],
    ]
    source = maker(tmp_path / f"in{suffix}", rows)
    checked = check_number_file(source, default_ccode="91")
    path = checked.write_rejected(tmp_path / "out")
    assert path is not None and path.name == f"in-rejected{suffix}"
    if suffix in (".csv", ".txt"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            table = list(csv.reader(handle))
    else:
        table = read_sheet(path)
    assert table[0] == ["name", "phone", "row", "reason"]
    assert table[1] == ["Ravi", "12345", "3", "too short for +91"]
    assert table[2] == ["Dup", "919876543210", "4", "duplicate of row 2"]
    # Only a .csv/.txt, which has no text cells, needs the apostrophe to keep =2+3 from running.
    eve = "'=2+3" if suffix in (".csv", ".txt") else "=2+3"
    assert table[3] == ["Eve", eve, "5", "not a phone number (letters or symbols)"]


def test_no_rejected_file_when_every_row_is_good(tmp_path: Path) -> None:
    checked = check_number_file(numbers_csv(tmp_path / "l.csv", 3), default_ccode="91")
    assert checked.write_rejected(tmp_path / "out") is None


@pytest.mark.parametrize(
    ("original", "starts"),
    [
        ("客户名单 2024 (final).xlsx", "客户名单_2024_final_"),
        ("../../etc/passwd.csv", "passwd_"),
        ("a.xls", "a_"),
        ("!!!.csv", "numbers_"),
        ("Very long CRM export name for the March campaign.xlsx", "Very_long_CRM_export_"),
        ("", "numbers_"),
    ],
)
def test_platform_file_names(original: str, starts: str) -> None:
    names = {platform_file_name(original, ".xlsx") for _ in range(20)}
    assert len(names) == 20  # a short unique suffix each time
    for name in names:
        assert NAME_RULE.match(name), name
        assert name.startswith(starts) and name.endswith(".xlsx")
        assert re.fullmatch(r"[\w-]+\.xlsx", name)
    part = platform_file_name(original, ".xls", suffix="abc123", part=10)
    assert NAME_RULE.match(part) and part.endswith("_abc123-10.xls")


def test_more_columns_than_an_xls_holds_make_an_xlsx(tmp_path: Path) -> None:
    """An .xls sheet ends at column IV (256): a wider list is written as .xlsx."""
    header = ["phone", *(f"c{i}" for i in range(1, 300))]
    rows = [
        header,
        ["919876543210", *("v" for _ in range(299))],
        ["bad", *("w" for _ in range(299))],
    ]
    checked = check_number_file(make_xlsx(tmp_path / "wide.xlsx", rows), default_ccode="91")
    (clean,) = checked.write_clean(tmp_path / "out")  # auto would pick .xls for one row
    assert clean.path.suffix == ".xlsx"
    assert len(read_sheet(clean.path)[0]) == 300
    with pytest.raises(NumberFileError, match="at most 256 columns and this list has 300"):
        checked.write_clean_to(tmp_path / "x.xls")
    # the rejected rows of an .xls as wide as it can be, plus row and reason, are an .xlsx
    wide_xls = [["phone", *(f"c{i}" for i in range(1, 256))], ["bad", *("w" for _ in range(255))]]
    checked = check_number_file(make_xls(tmp_path / "w.xls", wide_xls), default_ccode="91")
    rejected = checked.write_rejected(tmp_path / "rejected")
    assert rejected is not None and rejected.suffix == ".xlsx"
    assert read_sheet(rejected)[0][-2:] == ["row", "reason"]
