"""File names: the platform wants 5-32 characters; people send names like `客户 名单 (final).xlsx`."""

from __future__ import annotations

import re
import secrets
import unicodedata
from pathlib import PurePath

PLATFORM_NAME_MAX = 32
_UNSAFE = re.compile(r"[^\w-]+")  # \w keeps letters and digits of every script, CJK included
_RUNS = re.compile(r"_{2,}")
_FALLBACK_STEM = "numbers"


def safe_stem(original: str) -> str:
    """The original name without extension, reduced to letters, digits, `_` and `-`."""
    stem = PurePath(original.replace("\\", "/")).stem if original else ""
    stem = unicodedata.normalize("NFKC", stem)
    stem = _RUNS.sub("_", _UNSAFE.sub("_", stem)).strip("_-")
    return stem or _FALLBACK_STEM


def unique_suffix() -> str:
    return secrets.token_hex(3)


def platform_file_name(
    original: str, extension: str, *, suffix: str | None = None, part: int | None = None
) -> str:
    """`stem_ab12cd.xls`, or `stem_ab12cd-2.xlsx` for a part of a split list: 5-32 characters."""
    tail = f"_{suffix or unique_suffix()}" + (f"-{part}" if part else "") + extension
    stem = safe_stem(original)[: PLATFORM_NAME_MAX - len(tail)].rstrip("_-") or _FALLBACK_STEM[:1]
    return stem + tail
