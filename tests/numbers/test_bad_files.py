"""Every kind of bad file gets one clear sentence, within seconds and a few hundred MB."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import python_calamine

from bot.numbers import MAX_FILE_BYTES, NumberFileError, check_number_file
from bot.numbers.ole2 import CompoundFile
from tests.numbers.files import (
    handmade_zip,
    make_text,
    make_xls,
    make_xlsx,
    ods_bytes,
    ole2_bytes,
    sparse_xlsx,
    write_xlsx_package,
)

# Each case builds its file in a directory and returns the path; the expected message fragment.
CASES: dict[str, tuple[Callable[[Path], Path], str]] = {}


def case(name: str, expected: str):
    def register(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
        CASES[name] = (build, expected)
        return build

    return register


@case("empty-xlsx", "The file is empty")
def _(d: Path) -> Path:
    (d / "empty.xlsx").write_bytes(b"")
    return d / "empty.xlsx"


@case("empty-csv", "The file is empty")
def _(d: Path) -> Path:
    (d / "blank.csv").write_bytes(b"\xef\xbb\xbf\r\n \r\n\t\r\n")
    return d / "blank.csv"


@case("empty-sheet", "The file is empty")
def _(d: Path) -> Path:
    return make_xlsx(d / "nothing.xlsx", [])


@case("header-only", "has a header row but no rows under it")
def _(d: Path) -> Path:
    return make_xlsx(d / "header.xlsx", [["Name", "Phone"]])


@case("no-phone-column", "No column of phone numbers was found")
def _(d: Path) -> Path:
    return make_text(d / "names.csv", [["Name", "City"], ["Asha", "Pune"], ["Ravi", "Delhi"]])


@case("password-xlsx", "protected with a password")
def _(d: Path) -> Path:
    # What Excel writes for an encrypted .xlsx: an OLE2 container, not a zip.
    (d / "secret.xlsx").write_bytes(
        ole2_bytes(
            {
                "EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 200,
                "EncryptedPackage": os.urandom(9000),
            }
        )
    )
    return d / "secret.xlsx"


@case("password-xlsx-damaged-header", "protected with a password")
def _(d: Path) -> Path:
    data = bytearray(ole2_bytes({"EncryptionInfo": b"x" * 64, "EncryptedPackage": b"y" * 5000}))
    data[0x30:0x34] = b"\xee\xee\xee\x0e"  # the directory's first sector points nowhere
    (d / "secret2.xlsx").write_bytes(bytes(data))
    return d / "secret2.xlsx"


@case("password-xls", "protected with a password")
def _(d: Path) -> Path:
    # An .xls saved with a password: a FILEPASS record right after the workbook's BOF.
    plain = make_xls(d / "plain.xls", [["phone"], ["919876543210"]]).read_bytes()
    stream = CompoundFile(plain).read_stream("Workbook")
    bof_end = 4 + struct.unpack_from("<H", stream, 2)[0]
    filepass = struct.pack("<HHH", 0x002F, 2, 0)
    encrypted = stream[:bof_end] + filepass + stream[bof_end:]
    (d / "locked.xls").write_bytes(ole2_bytes({"Workbook": encrypted}))
    return d / "locked.xls"


@case("truncated-xlsx", "damaged and cannot be read")
def _(d: Path) -> Path:
    whole = make_xlsx(d / "whole.xlsx", [["phone"], ["919876543210"]]).read_bytes()
    (d / "cut.xlsx").write_bytes(whole[: len(whole) // 2])
    return d / "cut.xlsx"


@case("garbage-sheet-xml", "damaged and cannot be read")
def _(d: Path) -> Path:
    return write_xlsx_package(
        d / "garbage.xlsx", '<worksheet><sheetData><row><c r="A1"><v>1</v></row>'
    )


@case("corrupt-xls", "damaged and cannot be read")
def _(d: Path) -> Path:
    data = bytearray(make_xls(d / "ok.xls", [["phone"], ["919876543210"]]).read_bytes())
    data[512:] = os.urandom(len(data) - 512)
    (d / "broken.xls").write_bytes(bytes(data))
    return d / "broken.xls"


@case("zip-without-workbook", "damaged and cannot be read")
def _(d: Path) -> Path:
    (d / "odd.xlsx").write_bytes(handmade_zip([("[Content_Types].xml", b"<Types/>", 8)]))
    return d / "odd.xlsx"


@case("zip-bomb", "unpacks to more than 200 MB")
def _(d: Path) -> Path:
    return write_xlsx_package(d / "bomb.xlsx", "<worksheet><sheetData>", sheet_size=210 * 2**20)


@case("zip-bomb-lying-sizes", "damaged and cannot be read")
def _(d: Path) -> Path:
    # The headers claim 1 kB; the member unpacks to 64 MB. Reading stops at the claimed size.
    data = handmade_zip(
        [
            ("xl/workbook.xml", b"<workbook/>", 11),
            ("xl/worksheets/sheet1.xml", b" " * (64 * 2**20), 1000),
        ]
    )
    (d / "liar.xlsx").write_bytes(data)
    return d / "liar.xlsx"


@case("sparse-xlsx", "more than the 5,000,000 cells")
def _(d: Path) -> Path:
    return sparse_xlsx(d / "sparse.xlsx", "Z900000")  # calamine alone: ~750 MB


@case("wide-xlsx", "more than the 5,000,000 cells")
def _(d: Path) -> Path:
    return sparse_xlsx(d / "wide.xlsx", "XFD60000")  # calamine alone: aborts the process (31 GB)


@case("sparse-xls", "more than the 5,000,000 cells")
def _(d: Path) -> Path:
    return make_xls(
        d / "sparse.xls", [["phone"], ["919876543210"]] + [[]] * 65533 + [[None] * 255 + [1]]
    )


@case("repeated-ods", "more than the 5,000,000 cells")
def _(d: Path) -> Path:
    rows = (
        '<table:table-row><table:table-cell office:value-type="string"><text:p>phone</text:p>'
        "</table:table-cell></table:table-row>"
        '<table:table-row table:number-rows-repeated="900000">'
        '<table:table-cell table:number-columns-repeated="30" office:value-type="string">'
        "<text:p>x</text:p></table:table-cell></table:table-row>"
    )
    (d / "repeat.ods").write_bytes(ods_bytes(rows))
    return d / "repeat.ods"


@case("truncated-ods-with-repeats", "more than the 5,000,000 cells")
def _(d: Path) -> Path:
    # Cut off inside the repeated row: calamine expands as it parses, so it still counts.
    rows = (
        '<table:table-row table:number-rows-repeated="900000">'
        '<table:table-cell table:number-columns-repeated="30" office:value-type="string">'
        "<text:p>x</text:p></table:table-cell>"
    )
    with zipfile.ZipFile(d / "cut.ods", "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(
            "content.xml",
            '<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x"><office:body>'
            f'<office:spreadsheet><table:table table:name="S">{rows}',
        )
    return d / "cut.ods"


@case("png-renamed-xlsx", "named with .xlsx but is really a PNG image")
def _(d: Path) -> Path:
    (d / "photo.xlsx").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(3000))
    return d / "photo.xlsx"


@case("binary-renamed-xlsx", "named with .xlsx but is really a binary file")
def _(d: Path) -> Path:
    (d / "blob.xlsx").write_bytes(b"\x01\x02garbage\x00\x00" + os.urandom(5000))
    return d / "blob.xlsx"


@case("docx-renamed-xlsx", "really a Word document")
def _(d: Path) -> Path:
    (d / "letter.xlsx").write_bytes(handmade_zip([("word/document.xml", b"<w:document/>", 13)]))
    return d / "letter.xlsx"


@case("html-named-xls", "web page (HTML)")
def _(d: Path) -> Path:
    (d / "crm.xls").write_text("<html><body><table><tr><td>phone</td></tr></table></body></html>")
    return d / "crm.xls"


@case("unsupported-extension", "Files ending in .pdf are not read")
def _(d: Path) -> Path:
    (d / "list.pdf").write_bytes(b"%PDF-1.7 ...")
    return d / "list.pdf"


@case("over-a-million-rows", "more than 1,000,000 rows")
def _(d: Path) -> Path:
    path = d / "huge.csv"
    path.write_text("phone\n" + "".join(f"9198{i:08d}\n" for i in range(1_000_005)))
    assert path.stat().st_size < MAX_FILE_BYTES
    return path


@case("over-a-million-rows-xlsx", "more than 1,000,000 rows")
def _(d: Path) -> Path:
    return sparse_xlsx(d / "tall.xlsx", "A1000005")


@case("over-20-mb", "more than the 20 MB a Telegram bot can download")
def _(d: Path) -> Path:
    path = d / "big.csv"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no 20 MB written to disk
    return path


@case("unclosed-quote", 'Line 3 of the text file opens a quote (") that is never closed')
def _(d: Path) -> Path:
    # Outside strict mode csv reads the rest of the file as the one cell this quote opens: the
    # numbers below it must not silently vanish from the count.
    (d / "quote.csv").write_bytes(
        b'phone,name\n919876543210,Asha\n919876543211,"Ravi\n919876543212,Meena\n919876543213,Joe\n'
    )
    return d / "quote.csv"


@case(
    "unclosed-quote-long", "Line 2 of the text file starts a cell of more than 131,072 characters"
)
def _(d: Path) -> Path:
    (d / "quote.csv").write_bytes(
        b'phone,name\n919876543210,"Asha\n' + b"919876543211,Ravi\n" * 20_000
    )
    return d / "quote.csv"


@case("numbers-separated-by-spaces", "there are cells with several numbers in them")
def _(d: Path) -> Path:
    # Pasted from a chat onto one line: it said only "put a header such as phone above them".
    (d / "pasted.txt").write_text("919876543210 919876543211 919876543212\n")
    return d / "pasted.txt"


@case("undecodable-text", "characters could not be read")
def _(d: Path) -> Path:
    (d / "bad.csv").write_bytes(b"phone\n" + b"\x81\x30\x81" * 10 + b"\n")
    return d / "bad.csv"


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.timeout(30)  # a guard against a hang (a zip bomb, a huge sheet), not a timing goal
def test_bad_file_gets_one_clear_sentence(tmp_path: Path, name: str) -> None:
    build, expected = CASES[name]
    path = build(tmp_path)
    with pytest.raises(NumberFileError) as caught:
        check_number_file(path, default_ccode="91")
    message = caught.value.message
    assert expected in message
    # One sentence: what is wrong, then what to do.
    assert message.endswith(".") and "\n" not in message and ": " in message
    assert str(caught.value) == message


def test_bad_files_stay_within_a_few_hundred_megabytes(tmp_path: Path) -> None:
    """The heavy cases in a fresh process: its peak RSS (Rust allocations included) stays low."""
    heavy = [
        "zip-bomb",
        "zip-bomb-lying-sizes",
        "sparse-xlsx",
        "wide-xlsx",
        "sparse-xls",
        "repeated-ods",
        "over-a-million-rows",
    ]
    paths = [str(CASES[name][0](tmp_path)) for name in heavy]
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from bot.numbers import check_number_file, NumberFileError\n"
        "outcomes = []\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        check_number_file(Path(path), default_ccode='91'); outcomes.append('accepted')\n"
        "    except NumberFileError:\n"
        "        outcomes.append('refused')\n"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "print(json.dumps({'outcomes': outcomes, 'peak_mb': int(hwm.split()[1]) / 1024}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *paths],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    outcome = json.loads(result.stdout)
    assert outcome["outcomes"] == ["refused"] * len(heavy)
    assert outcome["peak_mb"] < 300, outcome


def test_bad_country_code_and_missing_path(tmp_path: Path) -> None:
    path = make_text(tmp_path / "l.csv", [["phone"], ["919876543210"]])
    with pytest.raises(NumberFileError, match="999 is not a country calling code"):
        check_number_file(path, default_ccode="999")
    with pytest.raises(NumberFileError, match="There is no file at"):
        check_number_file(tmp_path / "missing.xlsx")
    with pytest.raises(NumberFileError, match="more than the 20 MB"):
        check_number_file(b"x" * (MAX_FILE_BYTES + 1), file_name="big.csv")


def test_the_ole2_builder_makes_files_calamine_reads() -> None:
    """The password case relies on a hand-built OLE2 container: prove the builder (and our
    reader) are right by repackaging an xlwt workbook's stream and reading it with calamine."""
    buffer = io.BytesIO()
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("S")
    sheet.write(0, 0, "phone")
    sheet.write(1, 0, "919876543210")
    book.save(buffer)
    stream = CompoundFile(buffer.getvalue()).read_stream("Workbook")
    rebuilt = ole2_bytes({"Workbook": stream})
    table = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(rebuilt)).get_sheet_by_index(
        0
    )
    assert table.to_python() == [["phone"], ["919876543210"]]
    assert check_number_file(rebuilt, file_name="rebuilt.xls", default_ccode="91").report.valid == 1
