"""Generators for the number files the tests feed the pipeline. Each format is written by an
independent library or by hand here, never by the code under test."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import xlsxwriter
import xlwt

Cell = str | int | float | None


def make_xlsx(
    path: Path,
    rows: Sequence[Sequence[Cell]],
    sheet: str = "Sheet1",
    *,
    first_row: int = 0,
    first_col: int = 0,
    extra_sheets: Sequence[str] = (),
) -> Path:
    workbook = xlsxwriter.Workbook(str(path))
    for name in extra_sheets:
        workbook.add_worksheet(name).write(0, 0, "other sheet")
    worksheet = workbook.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                worksheet.write_string(first_row + r, first_col + c, value)
            else:
                worksheet.write_number(first_row + r, first_col + c, value)
    workbook.close()
    return path


def make_xlsx_book(
    path: Path, sheets: dict[str, Sequence[Sequence[Cell]]], *, hidden: Sequence[str] = ()
) -> Path:
    """A workbook with several sheets, in the given order; `hidden` sheets are hidden."""
    workbook = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        worksheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    worksheet.write_string(r, c, value)
                elif value is not None:
                    worksheet.write_number(r, c, value)
        if name in hidden:
            worksheet.hide()
    visible = [ws for ws in workbook.worksheets() if ws.name not in hidden]
    if not visible:
        raise ValueError("a workbook needs one visible sheet")
    visible[0].activate()  # Excel refuses a workbook whose active sheet is hidden
    workbook.close()
    return path


def make_xls_book(path: Path, sheets: dict[str, Sequence[Sequence[Cell]]]) -> Path:
    workbook = xlwt.Workbook(encoding="utf-8")
    for name, rows in sheets.items():
        worksheet = workbook.add_sheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    worksheet.write(r, c, value)
    workbook.save(str(path))
    return path


def make_xls(path: Path, rows: Sequence[Sequence[Cell]], sheet: str = "Sheet1") -> Path:
    workbook = xlwt.Workbook(encoding="utf-8")
    worksheet = workbook.add_sheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                worksheet.write(r, c, value)
    workbook.save(str(path))
    return path


def _ods_cell(value: Cell) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, str):
        return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="float" office:value="{value!r}"><text:p>{value}</text:p></table:table-cell>'


def ods_bytes(table_xml: str, name: str = "Sheet1") -> bytes:
    import io

    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{name}">{table_xml}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            '<manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
            zipfile.ZIP_DEFLATED,
        )
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def make_ods(path: Path, rows: Sequence[Sequence[Cell]], sheet: str = "Sheet1") -> Path:
    """Written as LibreOffice does, trailing filler row of a million empty rows included."""
    body = "".join(
        "<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>"
        for row in rows
    )
    filler = (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    path.write_bytes(ods_bytes(body + filler, sheet))
    return path


def make_text(
    path: Path, rows: Sequence[Sequence[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    """Delimited text; encoding 'utf-8-sig' and 'utf-16' (BOM) as Excel writes them."""
    lines = [delimiter.join(row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def sparse_xlsx(path: Path, far_cell: str) -> Path:
    """A valid workbook with a header and one value in a cell far away."""
    row = "".join(ch for ch in far_cell if ch.isdigit())
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>phone</t></is></c></row>'
        '<row r="2"><c r="A2"><v>919876543210</v></c></row>'
        f'<row r="{row}"><c r="{far_cell}"><v>1</v></c></row></sheetData></worksheet>'
    )
    return write_xlsx_package(path, sheet)


def write_xlsx_package(
    path: Path, sheet_xml: str | bytes, *, sheet_size: int | None = None
) -> Path:
    """A minimal .xlsx package around the given worksheet XML."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>",
        )
        if sheet_size is None:
            archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        else:
            # Stream a huge, highly compressible member: the zip bomb.
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
                member.write(sheet_xml if isinstance(sheet_xml, bytes) else sheet_xml.encode())
                block = b" " * 2**20
                for _ in range(sheet_size // len(block)):
                    member.write(block)
    return path


def ole2_bytes(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (v3, 512-byte sectors) holding the given streams, each padded
    to at least 4096 bytes so that they live in regular sectors, not the mini stream."""
    sector = 512
    end, free, fat_mark = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    padded = {name: data + b"\0" * max(0, 4096 - len(data)) for name, data in streams.items()}
    data_sectors = []
    for data in padded.values():
        data_sectors.append((len(data) + sector - 1) // sector)
    entries = 1 + len(streams)
    dir_sectors = (entries * 128 + sector - 1) // sector
    total = dir_sectors + sum(data_sectors)
    fat_sectors = 1
    while fat_sectors * (sector // 4) < total + fat_sectors:
        fat_sectors += 1
    fat = [fat_mark] * fat_sectors
    first_dir = len(fat)
    fat += [first_dir + i + 1 for i in range(dir_sectors - 1)] + [end]
    starts = []
    for count in data_sectors:
        start = len(fat)
        starts.append(start)
        fat += [start + i + 1 for i in range(count - 1)] + [end]
    fat += [free] * (fat_sectors * (sector // 4) - len(fat))

    def entry(
        name: str,
        kind: int,
        start: int,
        size: int,
        child: int = 0xFFFFFFFF,
        right: int = 0xFFFFFFFF,
    ) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", 0xFFFFFFFF, right, child)
            + b"\0" * 16
            + b"\0" * 4
            + b"\0" * 16
            + struct.pack("<III", start, size, 0)
        )

    directory = entry("Root Entry", 5, end, 0, child=1)
    names = list(padded)
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else 0xFFFFFFFF
        directory += entry(
            name,
            2,
            starts[i],
            len(streams[name]) if len(streams[name]) >= 4096 else 4096,
            right=right,
        )
    directory = directory.ljust(dir_sectors * sector, b"\0")

    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, fat_sectors, first_dir, 0, 4096, end, 0, end, 0)
    )
    difat = list(range(fat_sectors)) + [free] * (109 - fat_sectors)
    header += struct.pack("<109I", *difat)
    body = struct.pack(f"<{len(fat)}I", *fat) + directory
    for data, count in zip(padded.values(), data_sectors, strict=True):
        body += data.ljust(count * sector, b"\0")
    return header + body


def handmade_zip(entries: Sequence[tuple[str, bytes, int]]) -> bytes:
    """A zip whose headers say whatever we like: (name, content, declared uncompressed size).
    Contents are deflated; the CRC is that of the real content."""
    import zlib

    local, central = b"", b""
    for name, content, declared in entries:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = packer.compress(content) + packer.flush()
        crc = zlib.crc32(content)
        encoded = name.encode()
        fields = struct.pack(
            "<HHHHHIIIHH", 20, 0, 8, 0, 0x21, crc, len(data), declared, len(encoded), 0
        )
        offset = len(local)
        local += b"PK\x03\x04" + fields + encoded + data
        central += (
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + fields
            + struct.pack("<HHHII", 0, 0, 0, 0, offset)
            + encoded
        )
    end = b"PK\x05\x06" + struct.pack(
        "<HHHHIIH", 0, 0, len(entries), len(entries), len(central), len(local), 0
    )
    return local + central + end
