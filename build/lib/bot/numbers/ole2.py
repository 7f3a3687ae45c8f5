"""Just enough of the OLE2 compound-file format (.xls, password-protected .xlsx) to list the
streams and read one, so a file can be judged before calamine allocates anything for it."""

from __future__ import annotations

import struct
from collections.abc import Callable

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
_FREE = 0xFFFFFFFF
_HEADER_DIFAT_ENTRIES = 109


class CompoundFileError(Exception):
    """The bytes are not a well-formed compound file."""


class CompoundFile:
    def __init__(self, data: bytes) -> None:
        if len(data) < 512 or not data.startswith(MAGIC):
            raise CompoundFileError("not an OLE2 compound file")
        self._data = data
        sector_shift, mini_shift = struct.unpack_from("<HH", data, 30)
        if sector_shift not in (9, 12) or mini_shift != 6:
            raise CompoundFileError("unexpected sector size")
        self._sector_size = 1 << sector_shift
        self._mini_sector_size = 1 << mini_shift
        (n_fat, first_dir, _, mini_cutoff, first_minifat, _, first_difat, _) = struct.unpack_from(
            "<IIIIIIII", data, 44
        )
        self._mini_cutoff = mini_cutoff
        self._n_sectors = max(0, (len(data) - self._sector_size) // self._sector_size)

        difat = list(struct.unpack_from(f"<{_HEADER_DIFAT_ENTRIES}I", data, 76))
        sector, hops = first_difat, 0
        per_sector = self._sector_size // 4
        while sector not in (_END_OF_CHAIN, _FREE) and hops <= self._n_sectors:
            entries = struct.unpack(f"<{per_sector}I", self._sector(sector))
            difat.extend(entries[:-1])
            sector, hops = entries[-1], hops + 1
        fat_sectors = [s for s in difat[:n_fat] if s < self._n_sectors]
        fat_bytes = b"".join(self._sector(s) for s in fat_sectors)
        self._fat = _ints(fat_bytes)

        directory = _read_chain(first_dir, self._fat, self._sector)
        self._entries: dict[str, tuple[int, int, int]] = {}
        self._root: tuple[int, int] | None = None
        for offset in range(0, len(directory) - 127, 128):
            entry = directory[offset : offset + 128]
            name_length = struct.unpack_from("<H", entry, 64)[0]
            kind = entry[66]
            if kind == 0 or not 2 <= name_length <= 64:
                continue
            name = entry[: name_length - 2].decode("utf-16-le", "replace")
            start, size = struct.unpack_from("<II", entry, 116)
            if kind == 5:
                self._root = (start, size)
            else:
                self._entries[name] = (kind, start, size)
        self._minifat: tuple[int, ...] = ()
        if first_minifat not in (_END_OF_CHAIN, _FREE):
            self._minifat = _ints(_read_chain(first_minifat, self._fat, self._sector))
        self._mini_stream: bytes | None = None

    def _sector(self, index: int) -> bytes:
        offset = (index + 1) * self._sector_size
        if index >= self._n_sectors or offset + self._sector_size > len(self._data):
            raise CompoundFileError("sector outside the file")
        return self._data[offset : offset + self._sector_size]

    def _mini_sector(self, index: int) -> bytes:
        if self._mini_stream is None:
            if self._root is None:
                raise CompoundFileError("no root entry")
            start, size = self._root
            self._mini_stream = _read_chain(start, self._fat, self._sector)[:size]
        offset = index * self._mini_sector_size
        if offset + self._mini_sector_size > len(self._mini_stream):
            raise CompoundFileError("mini sector outside the mini stream")
        return self._mini_stream[offset : offset + self._mini_sector_size]

    def stream_names(self) -> list[str]:
        return [name for name, (kind, _, _) in self._entries.items() if kind == 2]

    def read_stream(self, name: str) -> bytes:
        kind, start, size = self._entries[name]
        if size < self._mini_cutoff:
            data = _read_chain(start, self._minifat, self._mini_sector)
        else:
            data = _read_chain(start, self._fat, self._sector)
        return data[:size]


def _ints(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4])


def _read_chain(start: int, fat: tuple[int, ...], read: Callable[[int], bytes]) -> bytes:
    """Follow a sector chain; a loop or an out-of-range link is a broken file, not a hang."""
    parts = []
    sector, hops = start, 0
    while sector not in (_END_OF_CHAIN, _FREE):
        if sector >= len(fat) or hops > len(fat):
            raise CompoundFileError("broken sector chain")
        parts.append(read(sector))
        sector, hops = fat[sector], hops + 1
    return b"".join(parts)
