"""Judging a file before anything parses it: what it really is, and what reading it would cost.

calamine (Rust) holds a sheet as a dense grid spanning every cell it has seen: two cells far apart
in an otherwise empty sheet cost rows x columns x 32 bytes, and a grid too large to allocate aborts
the whole process. A zip member can also unpack to far more than the file's size. So before
calamine sees a workbook, this module measures, cheaply and exactly, the grid each format would
produce and the bytes it would unpack, and turns anything too large into a NumberFileError.
"""

from __future__ import annotations

import io
import re
import struct
import xml.parsers.expat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypedDict
from xml.etree import ElementTree

from bot.i18n import N_, _
from bot.numbers.errors import (
    MAX_CELLS,
    MAX_ROWS,
    MAX_UNZIPPED_BYTES,
    NumberFileError,
)
from bot.numbers.ole2 import MAGIC as OLE2_MAGIC
from bot.numbers.ole2 import CompoundFile, CompoundFileError

XLSX, XLS, ODS, TEXT = "xlsx", "xls", "ods", "text"

CORRUPT = N_(
    "The workbook is damaged and cannot be read: open it in Excel or LibreOffice, save it "
    "again as .xlsx, and send the new file.",
)
PASSWORD = N_(
    "The workbook is protected with a password, so its contents are encrypted: open it in "
    "Excel, remove the password (File → Info → Protect Workbook), save it, and send it "
    "again.",
)

# Magic numbers of files people attach by mistake, to say what the file really is. The short
# ones could begin a text file ("MZ code,phone"), so they count only with a NUL byte nearby,
# which no text file has.
_OTHER_FORMATS = (
    (b"%PDF", N_("a PDF document"), False),
    (b"\x89PNG", N_("a PNG image"), False),
    (b"\xff\xd8\xff", N_("a JPEG image"), False),
    (b"GIF8", N_("a GIF image"), False),
    (b"Rar!", N_("a RAR archive"), False),
    (b"7z\xbc\xaf", N_("a 7-Zip archive"), False),
    (b"\x1f\x8b", N_("a gzip archive"), False),
    (b"\x7fELF", N_("a program"), False),
    (b"SQLite format 3", N_("a database file"), False),
    (b"MZ", N_("a Windows program"), True),
    (b"RIFF", N_("a media file"), True),
    (b"OggS", N_("an audio file"), True),
    (b"ID3", N_("an audio file"), True),
    (b"\x00\x00\x00", N_("a media file"), True),
)

_BUFFER = 8 * 1024 * 1024


def renamed_file(ext: str, what: str) -> NumberFileError:
    shown = ext or _("no extension")
    return NumberFileError(
        _(
            "This file is named with {shown} but is really {what}, not a list of numbers: export "
            "the list from your CRM or Excel as .xlsx or .csv and send that.",
            shown=shown,
            what=what,
        )
    )


def detect_kind(data: bytes, ext: str) -> str:
    """XLSX, XLS, ODS or TEXT, from the content (the extension only words the error)."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data, ext)
    if data.startswith(OLE2_MAGIC):
        return _ole2_kind(data, ext)
    head = data[:4096]
    for magic, kind, needs_nul in _OTHER_FORMATS:
        what = _(kind)
        if data.startswith(magic) and (not needs_nul or b"\x00" in head):
            raise renamed_file(ext, what)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return TEXT  # UTF-16 with a BOM: Excel's "Unicode text"
    if b"\x00" in head and utf16_without_bom(head) is None:
        raise renamed_file(ext, _("a binary file"))
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")) or (
        lowered.startswith(b"<") and b"<table" in head.lower()
    ):
        raise NumberFileError(
            _(
                "This file is a web page (HTML) saved with a spreadsheet name, as some CRMs export: "
                "open it in Excel, save it as .xlsx, and send that.",
            )
        )
    if lowered.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in head:
        raise NumberFileError(
            _(
                "This file is an old Excel 2003 XML spreadsheet: open it in Excel, save it as .xlsx, "
                "and send that.",
            )
        )
    return TEXT


def utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" for UTF-16 text without a byte-order mark (as some database and
    script exports write it): mostly ASCII, so every other byte is NUL, and the others are not."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    for codec, nuls, text in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls.count(0) >= 0.7 * len(nuls) and text.count(0) == 0:
            return codec
    return None


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise NumberFileError(CORRUPT) from None


def _zip_kind(data: bytes, ext: str) -> str:
    with open_zip(data) as archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" in names or any(n.startswith("xl/worksheets/") for n in names):
            return XLSX
        if "content.xml" in names and ("mimetype" in names or "META-INF/manifest.xml" in names):
            return ODS
        if "xl/workbook.bin" in names:
            raise NumberFileError(
                _(
                    "This is a binary Excel workbook (.xlsb), which the bot does not read: open it in "
                    "Excel, save it as .xlsx, and send that.",
                )
            )
        if "word/document.xml" in names:
            raise renamed_file(ext, _("a Word document"))
        if "ppt/presentation.xml" in names:
            raise renamed_file(ext, _("a PowerPoint presentation"))
        if "[Content_Types].xml" in names or ext in (".xlsx", ".ods"):
            raise NumberFileError(CORRUPT)
        raise renamed_file(ext, _("a zip archive"))


def _ole2_kind(data: bytes, ext: str) -> str:
    try:
        streams = CompoundFile(data).stream_names()
    except (CompoundFileError, struct.error, IndexError, ValueError):
        # A header too damaged to follow; the encrypted-package name is still telling.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise NumberFileError(PASSWORD) from None
        raise NumberFileError(CORRUPT) from None
    if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
        raise NumberFileError(PASSWORD)
    if "Workbook" in streams or "Book" in streams:
        return XLS
    if "WordDocument" in streams:
        raise renamed_file(ext, _("a Word document"))
    raise renamed_file(ext, _("an Office file that is not a workbook"))


# --- grid extents ---------------------------------------------------------------------------


@dataclass
class Extent:
    """The bounding box of the cells holding a value, 1-based and inclusive, as calamine sees it."""

    first_row: int = 0
    last_row: int = 0
    first_col: int = 0
    last_col: int = 0

    def add(self, row: int, col: int) -> None:
        if self.last_row == 0:
            self.first_row = self.last_row = row
            self.first_col = self.last_col = col
            return
        if row < self.first_row:
            self.first_row = row
        elif row > self.last_row:
            self.last_row = row
        if col < self.first_col:
            self.first_col = col
        elif col > self.last_col:
            self.last_col = col

    @property
    def rows(self) -> int:
        return self.last_row - self.first_row + 1 if self.last_row else 0

    @property
    def cols(self) -> int:
        return self.last_col - self.first_col + 1 if self.last_col else 0

    def check(self, sheet: str | None) -> None:
        where = (
            _(
                "The sheet {sheet}",
                sheet=f"{sheet!r}",
            )
            if sheet
            else _("The sheet")
        )
        if self.rows > MAX_ROWS + 1:
            raise too_many_rows()
        if self.rows * self.cols > MAX_CELLS:
            raise NumberFileError(
                _(
                    "{where} spans {rows} rows × {cols} columns, more than the {max_cells} cells the bot "
                    "reads at once: delete the unused columns and any stray cells far from the list, or "
                    "save just the numbers as .csv, and send it again.",
                    where=where,
                    rows=f"{self.rows:,}",
                    cols=f"{self.cols:,}",
                    max_cells=f"{MAX_CELLS:,}",
                )
            )


def too_many_rows() -> NumberFileError:
    return NumberFileError(
        _(
            "The file has more than {max_rows} rows: split it into files of at most {max_rows2} "
            "rows (the platform takes 100,000 numbers per file) and send them one by one.",
            max_rows=f"{MAX_ROWS:,}",
            max_rows2=f"{MAX_ROWS:,}",
        )
    )


def _column_number(letters: bytes) -> int:
    number = 0
    for byte in letters.upper():
        number = number * 26 + byte - 64
    return number


def _zip_bomb(claimed: int) -> NumberFileError:
    return NumberFileError(
        _(
            "The workbook unpacks to more than {value} MB ({value2} MB), far more than a list of "
            "numbers needs, so it was not opened: remove unused sheets, images and columns, or "
            "save the list as .csv, and send it again.",
            value=MAX_UNZIPPED_BYTES // 2**20,
            value2=f"{claimed / 2**20:,.0f}",
        )
    )


class _Unpacker:
    """Streams zip members while counting every unpacked byte against MAX_UNZIPPED_BYTES."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.unpacked = 0
        infos = archive.infolist()
        claimed = sum(info.file_size for info in infos)
        if claimed > MAX_UNZIPPED_BYTES:
            raise _zip_bomb(claimed)
        if any(info.flag_bits & 0x1 for info in infos):
            raise NumberFileError(PASSWORD)

    def chunks(self, name: str, *, counted: bool = True) -> Iterator[bytes]:
        try:
            with self.archive.open(name) as member:
                while True:
                    chunk = member.read(_BUFFER)
                    if not chunk:
                        return
                    self.unpacked += len(chunk) if counted else 0
                    if self.unpacked > MAX_UNZIPPED_BYTES:
                        raise _zip_bomb(self.unpacked)
                    yield chunk
        except NumberFileError:
            raise
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            ValueError,
            NotImplementedError,
            RuntimeError,
        ):
            # Bad CRC, a lying size, an unsupported method: calamine would fail too.
            raise NumberFileError(CORRUPT) from None

    def read_small(self, name: str, limit: int = 16 * 2**20) -> bytes:
        info = self.archive.getinfo(name)
        if info.file_size > limit:
            raise NumberFileError(CORRUPT)
        return b"".join(self.chunks(name))


def _complete_tags(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Re-cut a byte stream just before its last '<', so that every tag starting in a piece ends
    in it (`<` never appears inside a tag) and each tag is seen exactly once."""
    carry = b""
    for chunk in chunks:
        buffer = carry + chunk
        last = buffer.rfind(b"<")
        if last <= 0:
            carry = buffer
            if len(carry) > 4 * _BUFFER:  # megabytes without a tag: not a worksheet
                raise NumberFileError(CORRUPT)
            continue
        yield buffer[:last]
        carry = buffer[last:]
    if carry:
        yield carry


def _at_least(n: int) -> bytes:
    """A regex matching the decimal numbers >= n (written without leading zeros)."""
    digits = str(n)
    alternatives = [f"[1-9][0-9]{{{len(digits)},}}", digits]
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - i - 1
            alternatives.append(f"{digits[:i]}[{int(digit) + 1}-9][0-9]{{{rest}}}")
    return ("(?:" + "|".join(alternatives) + ")").encode()


# Excel, openpyxl and xlsxwriter write every cell as <c r="B7" ...>. When every cell tag in a
# sheet has that form, a few C-speed searches bound the grid without looking at each cell:
# at most 26 columns (no two-letter column) and no row beyond 192,307 is within MAX_CELLS.
_NARROW_ROWS = MAX_CELLS // 26
# Each its own regex: Python's re scans much faster for a pattern with a literal prefix.
_XLSX_ODD_CELL = (re.compile(rb"<c[\t\r\n>]"), re.compile(rb":c[\s>/]"))
_XLSX_WIDE = re.compile(rb'<c r="[A-Za-z]{2}')
# calamine reads lower-case letters and leading zeros too; an r-less cell takes its row's number.
_XLSX_TALL = (
    re.compile(rb'<c r="[A-Za-z]{1,3}0*' + _at_least(_NARROW_ROWS + 1) + rb'"'),
    re.compile(rb'<row r="0*' + _at_least(_NARROW_ROWS + 1) + rb'"'),
)

# Otherwise one findall per piece gives every position (when the attributes are simple);
# empty styled cells are self-closing and calamine skips them.
_XLSX_CELL_FAST = re.compile(rb'<c r="([A-Za-z]+)([0-9]+)"(?:\s+[a-zA-Z:]+="[^"<]*")*\s*>')
_XLSX_CELL_ANY_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?=[\s>])[^<]*?(?<!/)>")
_SHARED_STRING = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>]")


def _xlsx_is_small(pieces: Iterator[bytes]) -> bool:
    for piece in pieces:
        if (
            piece.count(b"<c ") != piece.count(b'<c r="')
            or any(pattern.search(piece) for pattern in _XLSX_ODD_CELL)
            or _XLSX_WIDE.search(piece)
            or any(pattern.search(piece) for pattern in _XLSX_TALL)
        ):
            return False
    return True


def _xlsx_extent_fast(pieces: Iterator[bytes]) -> Extent | None:
    """None as soon as a cell is not in the common form: the caller then uses the exact path."""
    extent = Extent()
    for piece in pieces:
        refs = _XLSX_CELL_FAST.findall(piece)
        if len(refs) != len(_XLSX_CELL_ANY_OPEN.findall(piece)):
            return None
        if not refs:
            continue
        rows = [int(row) for _ref, row in refs]
        columns = [_column_number(letters) for letters in {letters for letters, _ in refs}]
        extent.add(min(rows), min(columns))
        extent.add(max(rows), max(columns))
    return extent


class _CellState(TypedDict):
    row: int  # the current row's number
    col: int  # the current cell's column number
    cell: tuple[int, int] | None  # the open cell, until it shows it holds something


def _xlsx_extent_exact(chunks: Iterator[bytes]) -> Extent:
    """The general case (no `r`, prefixes, odd attribute order), with expat: slower, still exact."""
    extent = Extent()
    state: _CellState = {"row": 0, "col": 0, "cell": None}
    ref = re.compile(r"([A-Za-z]+)([0-9]+)$")

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(":", 1)[-1]
        if local == "row":
            r = attrs.get("r", "")
            known = r.isascii() and r.isdigit()  # isdigit() alone accepts '²'
            state["row"] = int(r) if known else state["row"] + 1
            state["col"] = 0
        elif local == "c":
            match = ref.match(attrs.get("r", ""))
            if match:
                state["row"] = int(match.group(2))
                state["col"] = _column_number(match.group(1).encode())
            else:
                state["col"] += 1
            state["cell"] = (state["row"], state["col"])
        elif local in ("v", "is", "f") and state["cell"] is not None:
            extent.add(*state["cell"])
            state["cell"] = None

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError:
        raise NumberFileError(CORRUPT) from None
    return extent


def _xlsx_sheet_parts(unpacker: _Unpacker) -> list[tuple[str, str]]:
    """(sheet name, zip member) in workbook order, as calamine lists them."""
    names = set(unpacker.archive.namelist())
    try:
        workbook = ElementTree.fromstring(unpacker.read_small("xl/workbook.xml"))
        rels = ElementTree.fromstring(unpacker.read_small("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return []
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = re.sub(r"[^/]+/\.\./", "", path)
    parts = []
    for element in workbook.iter():
        if element.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        rid = next((v for k, v in element.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        part = targets.get(rid)
        if part in names:
            parts.append((element.get("name", ""), part))
    return parts


def check_xlsx(data: bytes, sheet: str | None) -> None:
    with open_zip(data) as archive:
        unpacker = _Unpacker(archive)
        names = archive.namelist()
        if "xl/sharedStrings.xml" in names:
            strings = 0
            for piece in _complete_tags(unpacker.chunks("xl/sharedStrings.xml")):
                strings += len(_SHARED_STRING.findall(piece))
            if strings > MAX_CELLS:
                raise NumberFileError(
                    _(
                        "The workbook holds {strings} different texts, more than the bot reads at once: save "
                        "just the list as .csv and send that.",
                        strings=f"{strings:,}",
                    )
                )
        parts = _xlsx_sheet_parts(unpacker)
        if sheet is not None and parts and sheet not in [name for name, _ in parts]:
            raise no_such_sheet(sheet, [name for name, _ in parts])
        if parts:
            # Without a sheet name any sheet may be the one with the numbers: measure them all.
            chosen = [p for p in parts if p[0] == sheet] if sheet is not None else parts
        else:  # an unusual package: measure every worksheet
            chosen = [
                ("", n) for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")
            ]
        for name, part in chosen:
            if _xlsx_is_small(_complete_tags(unpacker.chunks(part))):
                continue
            extent = _xlsx_extent_fast(_complete_tags(unpacker.chunks(part, counted=False)))
            if extent is None:
                extent = _xlsx_extent_exact(unpacker.chunks(part, counted=False))
            extent.check(name or None)


def no_such_sheet(sheet: str, names: list[str]) -> NumberFileError:
    listed = ", ".join(repr(n) for n in names[:10])
    return NumberFileError(
        _(
            "There is no sheet named {sheet} in this file; its sheets are {listed}: give one of "
            "those names.",
            sheet=f"{sheet!r}",
            listed=listed,
        )
    )


_ODS_TOKEN = re.compile(
    rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^<]*)"
)
_ODS_ROWS_REPEATED = re.compile(rb'number-rows-repeated="(\d+)"')
_ODS_COLS_REPEATED = re.compile(rb'number-columns-repeated="(\d+)"')
_ODS_NAME = re.compile(rb'table:name="([^"]*)"')


def check_ods(data: bytes) -> None:
    """Walk content.xml's rows and cells, repeats included, as calamine will expand them."""
    with open_zip(data) as archive:
        unpacker = _Unpacker(archive)
        if "content.xml" not in archive.namelist():
            raise NumberFileError(CORRUPT)
        table = b""
        row = last_row = width = 0
        row_repeat = col = row_last_col = 0
        in_row = False
        for piece in _complete_tags(unpacker.chunks("content.xml")):
            for closing, name, rest in _ODS_TOKEN.findall(piece):
                self_closing = rest.rstrip().endswith(b"/>")
                if name == b"table":
                    if closing:
                        _ods_extent(last_row, width).check(table.decode("utf-8", "replace"))
                        last_row = width = 0
                    else:
                        found = _ODS_NAME.search(rest)
                        table = found.group(1) if found else b""
                        row = last_row = width = 0
                elif name == b"table-row":
                    in_row = not closing and not self_closing
                    if closing:
                        if row_last_col:
                            last_row = row + row_repeat
                            width = max(width, row_last_col)
                        row += row_repeat
                    else:
                        found = _ODS_ROWS_REPEATED.search(rest)
                        row_repeat = int(found.group(1)) if found else 1
                        col = row_last_col = 0
                        if self_closing:
                            row += row_repeat
                elif not closing:  # a cell
                    found = _ODS_COLS_REPEATED.search(rest)
                    col += int(found.group(1)) if found else 1
                    if not self_closing:
                        row_last_col = col
        # A table left open by a truncated file still counts: calamine expands as it parses.
        if in_row and row_last_col:
            last_row, width = row + row_repeat, max(width, row_last_col)
        _ods_extent(last_row, width).check(None)


def _ods_extent(last_row: int, width: int) -> Extent:
    extent = Extent()
    if last_row and width:
        extent.add(1, 1)
        extent.add(last_row, width)
    return extent


# BIFF record types (MS-XLS 2.3) that place a value in a cell; calamine ignores BLANK/MULBLANK.
_BIFF_CELLS = {0x0203, 0x0204, 0x0205, 0x0006, 0x027E, 0x00FD, 0x00D6}
_BIFF_MULRK = 0x00BD
_BIFF_BOF = 0x0809
_BIFF_EOF = 0x000A
_BIFF_FILEPASS = 0x002F
_BIFF_SST = 0x00FC


def check_xls(data: bytes) -> None:
    """Walk the Workbook stream's records: encryption, shared strings, and each sheet's extent."""
    try:
        document = CompoundFile(data)
        names = document.stream_names()
        stream = document.read_stream("Workbook" if "Workbook" in names else "Book")
    except (CompoundFileError, struct.error, KeyError, IndexError, ValueError):
        raise NumberFileError(CORRUPT) from None
    extent = Extent()
    position, size = 0, len(stream)
    unpack = struct.unpack_from
    while position + 4 <= size:
        kind, length = unpack("<HH", stream, position)
        body = position + 4
        position = body + length
        if position > size:
            break
        if kind in _BIFF_CELLS and length >= 4:
            row, col = unpack("<HH", stream, body)
            extent.add(row + 1, col + 1)
        elif kind == _BIFF_MULRK and length >= 6:
            row, first = unpack("<HH", stream, body)
            last = unpack("<H", stream, position - 2)[0]
            extent.add(row + 1, first + 1)
            extent.add(row + 1, last + 1)
        elif kind == _BIFF_BOF:
            extent.check(None)
            extent = Extent()
        elif kind == _BIFF_FILEPASS:
            raise NumberFileError(PASSWORD)
        elif kind == _BIFF_SST and length >= 8 and unpack("<I", stream, body + 4)[0] > MAX_CELLS:
            raise NumberFileError(
                _(
                    "The workbook holds more different texts than the bot reads at once: save just the "
                    "list as .csv and send that.",
                )
            )
    extent.check(None)
