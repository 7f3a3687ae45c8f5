"""Every accepted input format and encoding, header detection, and the rows the user sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.numbers import NumberFileError, check_number_file
from tests.numbers.files import make_ods, make_text, make_xls, make_xlsx

ROWS = [
    ["Name", "Mobile", "City"],
    ["Asha", "+91 98765 43210", "Pune"],
    ["Ravi", "098765 43211", "Delhi"],
    ["Meera", "98765-43212", "Mumbai"],
    ["Ajay", "12345", "Agra"],
]
EXPECTED_VALID = 3


def _check(path: Path, **kwargs: object):
    return check_number_file(path, default_ccode="91", **kwargs)  # type: ignore[arg-type]


def _assert_standard(report, phone_column: str = "Mobile") -> None:
    assert report.phone_column == phone_column
    assert report.info_columns == ["Name", "City"]
    assert (report.total_rows, report.valid, report.invalid) == (4, EXPECTED_VALID, 1)
    assert [(r.row, r.value) for r in report.rejected_samples] == [(5, "12345")]


def test_xlsx(tmp_path: Path) -> None:
    report = _check(make_xlsx(tmp_path / "list.xlsx", ROWS)).report
    _assert_standard(report)
    assert report.sheet_name == "Sheet1"


def test_xls(tmp_path: Path) -> None:
    _assert_standard(_check(make_xls(tmp_path / "list.xls", ROWS)).report)


def test_ods(tmp_path: Path) -> None:
    _assert_standard(_check(make_ods(tmp_path / "list.ods", ROWS)).report)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    # Commas inside the data of a ;/tab/| file must not fool the sniffing.
    rows = [ROWS[0]] + [
        [*row[:2], f"{row[2]}, India" if delimiter != "," else row[2]] for row in ROWS[1:]
    ]
    checked = _check(make_text(tmp_path / "list.csv", rows, delimiter=delimiter))
    _assert_standard(checked.report)


@pytest.mark.parametrize("end", ["\n", "\r\n", ""])
def test_quoted_cells_with_line_breaks_are_one_cell(tmp_path: Path, end: str) -> None:
    """A closed quote may hold line breaks, in the last row too (a quote left open may not)."""
    path = tmp_path / "notes.csv"
    path.write_bytes(
        (
            f'phone,note{end or chr(10)}919876543210,"call after 6{end or chr(10)}ask for Asha"'
            f'{end or chr(10)}919876543211,"line one{end or chr(10)}line two"{end}'
        ).encode()
    )
    checked = check_number_file(path)
    assert (checked.report.total_rows, checked.report.valid) == (2, 2)
    assert checked._kept_rows[1][1] == f"line one{end or chr(10)}line two"


def test_rows_inside_a_cell_between_two_misplaced_quotes_are_pointed_out(tmp_path: Path) -> None:
    """`"Ravi` opens a quote that `Meena"` closes: the rows between are one cell, whose numbers
    csv does not count; the report names the row instead of showing 2 rows as if all were well."""
    path = tmp_path / "quotes.csv"
    path.write_bytes(
        b'phone,name\n919876543210,Asha\n919876543211,"Ravi\n919876543212,Joe\n'
        b'919876543213,Meena"\n919876543214,Ali\n'
    )
    report = check_number_file(path).report
    assert (report.total_rows, report.valid) == (3, 3)
    assert report.swallowed_rows == [[3, 2]]
    assert (
        "Row 3 has a cell that runs over several lines, 2 of which look like rows of the list, so "
        'their numbers are not counted: a quote (") there is probably misplaced. Check that row, '
        "fix the quote and send the file again."
    ) in report.lines()
    # a note over several lines is not such a cell
    path.write_bytes(
        b'phone,note\n919876543210,"call after 6\nask for Asha, or 98765 43211 after 9"\n'
        b'919876543212,"Flat 5,\n12 MG Road, Pune"\n'
    )
    report = check_number_file(path).report
    assert (report.total_rows, report.swallowed_rows) == (2, [])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_text_encodings(tmp_path: Path, encoding: str) -> None:
    rows = [
        ["姓名", "手机号码", "城市"],
        ["张伟", "13800138000", "北京"],
        ["李娜", "139 0013 9000", "上海"],
    ]
    path = make_text(tmp_path / "名单.txt", rows, delimiter="\t", encoding=encoding)
    report = check_number_file(path, default_ccode="86").report
    assert report.phone_column == "手机号码"
    assert report.info_columns == ["姓名", "城市"]
    assert report.valid == 2


@pytest.mark.parametrize(
    "names",
    [
        ["Иван Петров", "Анна"],  # words of an even length: GB18030 reads them without an error
        ["Имя Фамилия", "ООО «Ромашка», ул. Ленина"],  # odd lengths: GB18030 fails on them
        ["Олена Коваль", "Київ"],  # Ukrainian letters
    ],
)
def test_cyrillic_in_windows_1251_is_read_as_cyrillic(tmp_path: Path, names: list[str]) -> None:
    """Excel's CSV in a Russian or Ukrainian locale: the names reach the clean file as written."""
    path = make_text(
        tmp_path / "клиенты.csv",
        [["Телефон", "Имя"], ["9876543210", names[0]], ["9876543211", names[1]]],
        delimiter=";",
        encoding="cp1251",
    )
    checked = check_number_file(path, default_ccode="91")
    assert (checked.report.phone_column, checked.report.info_columns) == ("Телефон", ["Имя"])
    assert checked.report.valid == 2
    assert [row[1] for row in checked._kept_rows] == names


def test_chinese_in_gb18030_is_not_taken_for_cyrillic(tmp_path: Path) -> None:
    rows = [["手机", "姓名", "性别"], ["13800138000", "张伟", "男"], ["13900139000", "王芳", "女"]]
    path = make_text(tmp_path / "名单.csv", rows, encoding="gb18030")
    checked = check_number_file(path, default_ccode="86")
    assert [row[1:] for row in checked._kept_rows] == [["张伟", "男"], ["王芳", "女"]]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_text_not_a_binary_file(
    tmp_path: Path, encoding: str
) -> None:
    """As database and script exports write it; it was refused as "really a binary file"."""
    rows = [["phone", "name"], ["919876543210", "José"], ["919876543211", "Ravi"]]
    path = make_text(tmp_path / "export.csv", rows, encoding=encoding)
    checked = _check(path)
    assert (checked.report.phone_column, checked.report.valid) == ("phone", 2)
    assert [row[1] for row in checked._kept_rows] == ["José", "Ravi"]


def test_unicode_text_as_excel_saves_it(tmp_path: Path) -> None:
    """Excel's "Unicode text": UTF-16 LE with BOM, tab-separated."""
    path = tmp_path / "export.txt"
    path.write_bytes("\ufeffphone\tname\r\n919876543210\tAsha\r\n".encode("utf-16-le"))
    report = _check(path).report
    assert (report.phone_column, report.valid) == ("phone", 1)


@pytest.mark.parametrize(
    "header",
    [
        "phone",
        "Phone Number",
        "MOBILE",
        "Tel.",
        "telephone",
        "called",
        "MSISDN",
        "number",
        "手机",
        "电话",
        "号码",
        "联系电话",
    ],
)
def test_header_words(tmp_path: Path, header: str) -> None:
    rows = [
        ["Customer ID", header, "Note"],
        ["A-1", "919876543210", "x"],
        ["A-2", "919876543211", "y"],
    ]
    report = _check(make_text(tmp_path / "list.csv", rows)).report
    assert report.phone_column == header
    assert report.valid == 2


def test_strongest_header_word_wins(tmp_path: Path) -> None:
    rows = [["Order number", "Mobile"], ["100234", "919876543210"], ["100235", "919876543211"]]
    assert _check(make_text(tmp_path / "list.csv", rows)).report.phone_column == "Mobile"


def test_headerless_list_uses_the_column_of_numbers(tmp_path: Path) -> None:
    rows = [["Asha", "919876543210"], ["Ravi", "919876543211"], ["Meera", "not given"]]
    checked = _check(make_text(tmp_path / "list.csv", rows))
    report = checked.report
    assert (report.phone_column, report.info_columns) == ("phone", ["Column A"])
    assert (report.total_rows, report.valid, report.invalid) == (3, 2, 1)
    assert report.rejected_samples[0].row == 3


def test_a_short_number_at_the_top_of_a_headerless_list_is_a_row_not_a_header(
    tmp_path: Path,
) -> None:
    """Taken for the header, the first entry vanished from every count and named the column."""
    for name, rows in (
        ("list.csv", [["12345"], ["919876543210"], ["919876543211"]]),
        ("list.xlsx", [["Asha", 12345], ["Ravi", 919876543210], ["Meena", "919876543211"]]),
    ):
        if name.endswith(".csv"):
            path = make_text(tmp_path / name, rows)  # type: ignore[arg-type]
        else:
            path = make_xlsx(tmp_path / name, rows)
        report = _check(path).report
        assert report.phone_column == "phone", name
        assert (report.total_rows, report.valid, report.invalid) == (3, 2, 1), name
        assert report.rejected_samples[0].row == 1, name


def test_numbers_side_by_side_say_that_only_one_column_is_called(tmp_path: Path) -> None:
    """Pasted on one line with commas, or a second number column: the other numbers were kept
    as callee information without a word, as if the list had one number per row."""
    path = tmp_path / "pasted.txt"
    path.write_text("919876543210,919876543211,919876543212\n")
    report = _check(path).report
    assert (report.total_rows, report.valid, report.other_phone_columns) == (
        1,
        1,
        ["Column B", "Column C"],
    )
    assert (
        "Columns 'Column B', 'Column C' also hold phone numbers: only 'phone' is called, they are "
        "kept as callee information. To call them too, put every number in one column, one per "
        "row, and send the file again."
    ) in report.lines()
    rows = [["Name", "Mobile", "Alt phone", "City"], ["Asha", "9876543210", "9876543219", "Pune"]]
    report = _check(make_text(tmp_path / "crm.csv", rows)).report
    assert (report.phone_column, report.other_phone_columns) == ("Mobile", ["Alt phone"])
    assert (
        "Column 'Alt phone' also holds phone numbers: only 'Mobile' is called, it is kept as "
        "callee information. To call it too, put every number in one column, one per row, and "
        "send the file again."
    ) in report.lines()
    # callee information that is not numbers: nothing to say
    report = _check(make_text(tmp_path / "list.csv", ROWS)).report
    assert report.other_phone_columns == []
    assert not any("also hold" in line for line in report.lines())


def test_plain_text_file_of_pasted_numbers(tmp_path: Path) -> None:
    path = tmp_path / "pasted.txt"
    path.write_text("98765 43210\n+91 98765 43211\n\n98765-43212\n\n\n", encoding="utf-8")
    report = _check(path).report
    assert (report.phone_column, report.info_columns) == ("phone", [])
    assert (report.total_rows, report.valid, report.empty) == (
        4,
        3,
        1,
    )  # trailing blanks are no rows


def test_unknown_header_names_with_a_numeric_column(tmp_path: Path) -> None:
    rows = [["Customer", "Contact"], ["Asha", 919876543210.0], ["Ravi", 919876543211.0]]
    report = _check(make_xlsx(tmp_path / "list.xlsx", rows)).report
    assert (report.phone_column, report.info_columns, report.valid) == ("Contact", ["Customer"], 2)


def test_excel_floats_and_scientific_notation(tmp_path: Path) -> None:
    rows = [["phone"], [919876543210.0], ["9.19877E+11"], [9876543211.0]]
    report = _check(make_xlsx(tmp_path / "list.xlsx", rows)).report
    assert report.valid == 2
    (lost,) = report.rejected_samples
    assert (lost.row, lost.value) == (3, "9.19877E+11")
    assert "scientific notation" in lost.reason


def test_row_numbers_match_the_sheet_when_data_starts_lower(tmp_path: Path) -> None:
    rows = [["Phone", "Name"], ["919876543210", "a"], ["bad", "b"]]
    path = make_xlsx(tmp_path / "list.xlsx", rows, first_row=4, first_col=2)  # header at C5
    report = _check(path).report
    assert report.rejected_samples[0].row == 7
    assert report.info_columns == ["Name"]


def test_sheet_by_name(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "book.xlsx", ROWS, sheet="Leads", extra_sheets=["Summary"])
    _assert_standard(_check(path, sheet="Leads").report)
    # Without a name, the first sheet with a phone column (the first one has none).
    report = _check(path).report
    _assert_standard(report)
    assert (report.sheet_name, report.skipped_sheets) == ("Leads", ["Summary"])
    with pytest.raises(NumberFileError) as caught:
        _check(path, sheet="Nope")
    assert "'Summary', 'Leads'" in caught.value.message


def test_sheet_by_name_in_xls_and_ods(tmp_path: Path) -> None:
    _assert_standard(
        _check(make_xls(tmp_path / "l.xls", ROWS, sheet="Leads"), sheet="Leads").report
    )
    _assert_standard(
        _check(make_ods(tmp_path / "l.ods", ROWS, sheet="Leads"), sheet="Leads").report
    )
    with pytest.raises(NumberFileError, match="no sheet named 'X'"):
        _check(make_ods(tmp_path / "m.ods", ROWS), sheet="X")


def test_bytes_input_with_a_file_name(tmp_path: Path) -> None:
    data = make_xlsx(tmp_path / "list.xlsx", ROWS).read_bytes()
    checked = check_number_file(data, file_name="from-chat.xlsx", default_ccode="91")
    assert checked.report.file_name == "from-chat.xlsx"
    _assert_standard(checked.report)


def test_content_decides_the_format_not_the_extension(tmp_path: Path) -> None:
    """CRMs often export CSV/TSV text, or xlsx, under a .xls name."""
    make_text(tmp_path / "export.xls", [["phone"], ["919876543210"]], delimiter="\t")
    assert _check(tmp_path / "export.xls").report.valid == 1
    make_xlsx(tmp_path / "real.xls", [["phone"], ["919876543210"]])
    assert _check(tmp_path / "real.xls").report.valid == 1


def test_text_that_starts_like_a_program_is_still_text(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("MZ code,phone\nA1,919876543210\n", encoding="utf-8")
    assert _check(path).report.valid == 1
