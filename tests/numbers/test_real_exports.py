"""Number files as operators really send them: the list on a later sheet, title rows above the
header, invisible characters, Excel's ="…" trick and extensions. Each is cleaned, and the report
says what was done."""

from __future__ import annotations

from pathlib import Path

import phonenumbers
import pytest
import python_calamine
import xlsxwriter

from bot.numbers import NumberFileError, check_number_file
from bot.numbers.marks import split_extension
from tests.numbers.files import (
    make_text,
    make_xls,
    make_xls_book,
    make_xlsx,
    make_xlsx_book,
)

LEADS = [
    ["Name", "Mobile", "City"],
    ["Asha", "+91 98765 43210", "Pune"],
    ["Ravi", "098765 43211", "Delhi"],
    ["Ajay", "12345", "Agra"],
]
SUMMARY = [["Campaign summary"], ["Leads", 3.0], ["Owner", "Meera"]]


def read_clean(checked, tmp_path: Path) -> list[list[object]]:
    (clean,) = checked.write_clean(tmp_path / "clean")
    book = python_calamine.CalamineWorkbook.from_path(str(clean.path))
    return book.get_sheet_by_index(0).to_python()


def check(path: Path, **options: object):
    return check_number_file(path, default_ccode="91", **options)  # type: ignore[arg-type]


# --- the list on a sheet other than the first ------------------------------------------------


@pytest.mark.parametrize("maker", [make_xlsx_book, make_xls_book], ids=["xlsx", "xls"])
def test_the_sheet_with_the_phone_column_is_read_and_named(tmp_path: Path, maker) -> None:
    path = maker(tmp_path / "book", {"Summary": SUMMARY, "Notes": [["n/a"]], "Leads": LEADS})
    checked = check(path)
    report = checked.report
    assert (report.sheet_name, report.skipped_sheets) == ("Leads", ["Summary", "Notes"])
    assert (report.valid, report.invalid, report.phone_column) == (2, 1, "Mobile")
    assert "File: book, sheet 'Leads'" in report.lines()
    assert (
        "The numbers are on sheet 'Leads': the sheet(s) before it ('Summary', 'Notes') have no "
        "column of phone numbers." in report.lines()
    )
    assert read_clean(checked, tmp_path) == [
        ["Mobile", "Name", "City"],
        ["919876543210", "Asha", "Pune"],
        ["919876543211", "Ravi", "Delhi"],
    ]


@pytest.mark.parametrize("maker", [make_xlsx_book, make_xls_book], ids=["xlsx", "xls"])
def test_sheets_after_the_one_read_are_named_as_not_read(tmp_path: Path, maker) -> None:
    """A workbook of two batches: the report says the second was not read (it said nothing)."""
    batch = [["Mobile"], ["+91 98765 43299"]]
    path = maker(tmp_path / "book", {"Batch 1": LEADS, "Batch 2": batch, "Notes": [["n/a"]]})
    report = check(path).report
    assert (report.sheet_name, report.unread_sheets) == ("Batch 1", ["Batch 2", "Notes"])
    assert (
        "Only sheet 'Batch 1' was read; the sheet(s) after it ('Batch 2', 'Notes') were not. If "
        "they hold numbers too, send each sheet as its own file."
    ) in report.lines()
    # a sheet asked for by name is read alone, as asked: nothing to say about the others
    assert check(path, sheet="Batch 2").report.unread_sheets == []
    # a single-sheet workbook has no such line
    single = maker(tmp_path / "one", {"Leads": LEADS})
    assert not any(line.startswith("Only sheet") for line in check(single).report.lines())


def test_the_first_sheet_is_read_when_it_has_the_numbers(tmp_path: Path) -> None:
    path = make_xlsx_book(tmp_path / "b.xlsx", {"Leads": LEADS, "Other": LEADS[:2]})
    report = check(path).report
    assert (report.sheet_name, report.skipped_sheets, report.valid) == ("Leads", [], 2)
    assert not any(line.startswith("The numbers are on sheet") for line in report.lines())


def test_a_hidden_sheet_is_read_only_after_the_visible_ones(tmp_path: Path) -> None:
    old = [["Phone"], ["+91 98765 40000"]]
    path = make_xlsx_book(tmp_path / "b.xlsx", {"Old": old, "Leads": LEADS}, hidden=["Old"])
    report = check(path).report
    assert (report.sheet_name, report.sheet_hidden) == ("Leads", False)
    assert not any("hidden" in line for line in report.lines())


def test_a_list_read_from_a_hidden_sheet_says_so(tmp_path: Path) -> None:
    """Only the hidden sheet has numbers: they are read, and the report says where they were."""
    old = [["Phone"], ["+91 98765 40000"]]
    path = make_xlsx_book(tmp_path / "b.xlsx", {"Summary": SUMMARY, "Old": old}, hidden=["Old"])
    report = check(path).report
    assert (report.sheet_name, report.sheet_hidden, report.valid) == ("Old", True, 1)
    assert (
        "Sheet 'Old' is hidden in the workbook, so you may not have seen these rows: unhide it in "
        "Excel (right-click a sheet tab → Unhide) to check them."
    ) in report.lines()


def test_no_sheet_with_a_phone_column_names_the_sheets(tmp_path: Path) -> None:
    path = make_xlsx_book(tmp_path / "b.xlsx", {"Summary": SUMMARY, "Notes": [["n/a"]]})
    with pytest.raises(NumberFileError) as caught:
        check(path)
    assert caught.value.message.startswith(
        "No column of phone numbers was found on any of the 2 sheets ('Summary', 'Notes'): "
    )


def test_a_named_sheet_without_numbers_is_not_replaced_by_another(tmp_path: Path) -> None:
    path = make_xlsx_book(tmp_path / "b.xlsx", {"Summary": SUMMARY, "Leads": LEADS})
    with pytest.raises(NumberFileError, match="No column of phone numbers was found: "):
        check(path, sheet="Summary")


def test_every_sheet_is_measured_before_any_is_read(tmp_path: Path) -> None:
    """A far-away stray cell on a later sheet is refused as on the first one (memory guard)."""
    path = tmp_path / "stray.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("Summary").write(0, 0, "summary")
    leads = workbook.add_worksheet("Leads")
    leads.write_string(0, 0, "phone")
    leads.write_string(1, 0, "919876543210")
    leads.write_number(150_000, 200, 1)
    workbook.close()
    with pytest.raises(NumberFileError, match="The sheet 'Leads' spans 150,001 rows × 201 columns"):
        check(path)


# --- title rows above the header --------------------------------------------------------------

TITLED = [
    ["ACME Corp customer list"],
    ["Exported 2024-03-01 by admin"],
    [],
    ["Name", "Mobile", "City"],
    ["Asha", "+91 98765 43210", "Pune"],
    ["Ravi", "bad number", "Delhi"],
    ["Meera", "98765-43212", "Mumbai"],
]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv"])
def test_title_rows_above_the_header_are_left_out(tmp_path: Path, fmt: str) -> None:
    if fmt == "csv":
        path = make_text(tmp_path / "t.csv", [[str(c) for c in row] for row in TITLED])
    else:
        maker = make_xlsx if fmt == "xlsx" else make_xls
        path = maker(tmp_path / f"t.{fmt}", [row or [None] for row in TITLED])
    checked = check(path)
    report = checked.report
    assert (report.header_row, report.title_rows) == (4, 2)
    assert report.phone_column == "Mobile" and report.info_columns == ["Name", "City"]
    assert (report.total_rows, report.valid, report.invalid, report.empty) == (3, 2, 1, 0)
    assert [(r.row, r.value) for r in report.rejected_samples] == [(6, "bad number")]
    assert "Header in row 4: the 2 title rows above it are not part of the list." in report.lines()
    assert read_clean(checked, tmp_path) == [
        ["Mobile", "Name", "City"],
        ["919876543210", "Asha", "Pune"],
        ["919876543212", "Meera", "Mumbai"],
    ]


def test_a_header_without_a_phone_word_is_the_row_above_the_numbers(tmp_path: Path) -> None:
    rows = [
        ["Report: leads"],
        ["Generated:", "2024-03-01"],  # a date is no phone number
        ["Client", "Contact", "Town"],
        ["Asha", "9876543210", "Pune"],
        ["Ravi", "9876543211", "Delhi"],
    ]
    report = check(make_text(tmp_path / "t.csv", rows)).report
    assert (report.header_row, report.title_rows) == (3, 2)
    assert (report.phone_column, report.info_columns) == ("Contact", ["Client", "Town"])
    assert (report.total_rows, report.valid) == (2, 2)


def test_a_banner_naming_phones_is_not_taken_for_the_header(tmp_path: Path) -> None:
    rows = [
        ["Mobile numbers for the March campaign"],
        ["Name", "Contact", "City"],
        ["Asha", "+91 98765 43210", "Pune"],
        ["Ravi", "+91 98765 43211", "Delhi"],
    ]
    report = check(make_xlsx(tmp_path / "t.xlsx", rows)).report
    assert (report.phone_column, report.header_row, report.valid) == ("Contact", 2, 2)


def test_a_titled_list_of_mostly_bad_numbers_still_has_its_header(tmp_path: Path) -> None:
    rows = [["Leads export"], ["Phone", "Name"], ["+91 98765 43210", "ok"]]
    rows += [[f"bad {i}", f"n{i}"] for i in range(5)]
    report = check(make_xlsx(tmp_path / "t.xlsx", rows)).report
    assert (report.header_row, report.phone_column) == (2, "Phone")
    assert (report.total_rows, report.valid, report.invalid) == (6, 1, 5)
    assert "Header in row 2: the title row above it is not part of the list." in report.lines()


def test_a_data_row_with_an_empty_phone_is_not_taken_for_the_header(tmp_path: Path) -> None:
    rows = [
        ["Name", "Contact", "City"],
        ["Asha", "", "Pune"],
        ["Ravi", "+91 98765 43211", "Delhi"],
        ["Meera", "+91 98765 43212", "Agra"],
    ]
    report = check(make_xlsx(tmp_path / "t.xlsx", rows)).report
    assert (report.header_row, report.title_rows, report.phone_column) == (1, 0, "Contact")
    assert (report.total_rows, report.valid, report.empty) == (3, 2, 1)


# --- invisible characters, Excel's ="…", extensions -----------------------------------------

INVISIBLE = [
    "\u200b+91 98765 43210",  # zero-width space
    "\u200e98765 43211\u200f",  # left-to-right and right-to-left marks
    "\ufeff9876543212",  # a byte-order mark inside the cell
    "9876543213\u00a0",  # a non-breaking space
    "\u2066+91 98765 43214\u2069",  # direction isolates
    "98765\u206043215",  # a word joiner between the digits
]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv"])
def test_invisible_characters_around_numbers_are_removed_and_counted(
    tmp_path: Path, fmt: str
) -> None:
    rows = [["\ufeffPhone", "Name"], *([cell, f"c{i}"] for i, cell in enumerate(INVISIBLE))]
    rows.append(["9876543216", "plain"])
    maker = {"xlsx": make_xlsx, "xls": make_xls, "csv": make_text}[fmt]
    checked = check(maker(tmp_path / f"i.{fmt}", rows))
    report = checked.report
    # calamine itself drops the byte-order mark at the start of an .xls text cell.
    removed = 5 if fmt == "xls" else 6
    assert (report.valid, report.invalid) == (7, 0)
    assert report.cleanups.invisible == removed
    assert report.phone_column == "Phone"  # the byte-order mark is not in the column's name
    assert (
        "Invisible characters (zero-width or non-breaking spaces, direction marks, byte-order "
        f"marks) removed from {removed} numbers." in report.lines()
    )
    assert [row[0] for row in read_clean(checked, tmp_path)[1:]] == [
        f"91987654321{i}" for i in range(7)
    ]


def test_excel_text_trick_in_a_csv_is_unwrapped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        'Phone,Name\n="9876543210",Asha\n"=""9876543211""",Ravi\n= "+91 98765 43212",Meera\n'
        '="12345",Short\n',
        encoding="utf-8",
    )
    checked = check(path)
    report = checked.report
    assert (report.valid, report.invalid, report.cleanups.excel_text) == (3, 1, 3)
    assert [(r.row, r.value) for r in report.rejected_samples] == [(5, '="12345"')]
    assert 'Excel\'s ="…" text wrapping removed from 3 numbers.' in report.lines()
    assert read_clean(checked, tmp_path)[1:] == [
        ["919876543210", "Asha"],
        ["919876543211", "Ravi"],
        ["919876543212", "Meera"],
    ]


def test_a_headerless_list_of_excel_text_numbers_is_found(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text('="9876543210"\n="9876543211"\n', encoding="utf-8")
    report = check(path).report
    assert (report.valid, report.header_row, report.cleanups.excel_text) == (2, None, 2)


EXTENSIONS = [
    ("9876543210 ext 12", "12"),
    ("9876543211 x305", "305"),
    ("9876543212 ext.12", "12"),
    ("9876543213 #12", "12"),
    ("+91 98765 43214;ext=7", "7"),
    ("9876543215 Ext: 44", "44"),
    ("9876543216", ""),
]


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "csv"])
def test_extensions_are_kept_as_callee_information(tmp_path: Path, fmt: str) -> None:
    rows = [["Mobile", "Name"], *([cell, f"c{i}"] for i, (cell, _) in enumerate(EXTENSIONS))]
    rows.append(["98765x43210", "typo"])  # a letter inside a number is no extension
    maker = {"xlsx": make_xlsx, "xls": make_xls, "csv": make_text}[fmt]
    checked = check(maker(tmp_path / f"e.{fmt}", rows))
    report = checked.report
    assert (report.valid, report.invalid, report.cleanups.extensions) == (7, 1, 6)
    assert report.info_columns == ["Name", "extension"]
    assert report.cleanups.extension_column == "extension"
    assert (
        "Extensions (like ext 12 or x305) taken off 6 numbers: the number is called, the "
        "extension is in the callee information column 'extension'." in report.lines()
    )
    assert read_clean(checked, tmp_path) == [
        ["Mobile", "Name", "extension"],
        *([f"91987654321{i}", f"c{i}", extension] for i, (_, extension) in enumerate(EXTENSIONS)),
    ]
    rejected = checked.write_rejected(tmp_path / "rejected")
    assert rejected is not None  # the rejected file keeps the columns the input had
    if fmt == "csv":
        header = rejected.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    else:
        book = python_calamine.CalamineWorkbook.from_path(str(rejected))
        header = book.get_sheet_by_index(0).to_python()[0]
    assert header == ["Mobile", "Name", "row", "reason"]


def test_an_existing_extension_column_keeps_its_name(tmp_path: Path) -> None:
    rows = [["Phone", "Extension"], ["9876543210 x5", "old"], ["9876543211", ""]]
    report = check(make_text(tmp_path / "e.csv", rows)).report
    assert report.info_columns == ["Extension", "extension_2"]
    assert report.cleanups.extension_column == "extension_2"


@pytest.mark.parametrize(
    "text",
    [
        "9876543210 ext 12",
        "9876543210 x305",
        "9876543210 ext.12",
        "9876543210ext12",
        "9876543210 #12",
        "9876543210#12",
        "+91 98765 43210;ext=12",
        "9876543210 extension 12",
        "9876543210 доб. 12",
        "9876543210,,12",
        "987 654 3210 - 503#",
        "9876543210 Ext: 12",
    ],
)
def test_extensions_are_read_as_phonenumbers_reads_them(text: str) -> None:
    split = split_extension(text)
    assert split is not None
    reference = phonenumbers.parse(text, "IN")
    assert split[1] == reference.extension
    assert phonenumbers.parse(split[0], "IN").national_number == reference.national_number


def test_no_extension_is_found_where_there_is_none() -> None:
    for text in ["9876543210", "98765 43210", "+91 (98765) 43210", "x305", "ext 12", "a" * 200]:
        assert split_extension(text) is None, text
