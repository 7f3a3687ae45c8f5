"""What exports leave around a number, taken off before it is read.

Real lists carry more than digits: invisible formatting characters copied from web pages, chat
apps and right-to-left spreadsheets (zero-width spaces, direction marks, byte-order marks,
non-breaking spaces), Excel's `="9876543210"` trick for keeping a number as text, and office
extensions written after the number (`ext 12`, `x305`, `#12`). Each function undoes one of these;
the normaliser counts what it undid so that the report can say so.
"""

from __future__ import annotations

import re
import unicodedata

# Extensions, written the ways phonenumbers' parser accepts them (its _EXTN_PATTERNS_FOR_PARSING),
# after NFKC, so full-width letters and signs are already ASCII. The digit limits are its limits:
# the vaguer the label, the fewer digits it may take, so two numbers side by side stay two numbers.
_EXTENSION = re.compile(
    r"(?:"
    r";ext=([0-9]{1,20})"  # RFC 3966: tel:+919876543210;ext=12
    r"|[ \t,]*(?:e?xt(?:ensi(?:o\u0301?|\u00f3))?n?|\u0434\u043e\u0431|anexo)"  # ext, доб, anexo
    r"[:.]?[ \t,-]*([0-9]{1,20})#?"
    r"|[ \t,]*(?:[x#~]|int)[:.]?[ \t,-]*([0-9]{1,9})#?"  # x305, #12
    r"|[- ]+([0-9]{1,6})#"  # American style: 555-0100 - 503#
    r"|[ \t]*(?:,{2}|;)[:.]?[ \t,-]*([0-9]{1,15})#?"  # auto-dialling: ,,12 or ;12
    r"|[ \t]*,+[:.]?[ \t,-]*([0-9]{1,9})#?"  # a comma as a pause
    r")$",
    re.IGNORECASE,
)
# Longer cells hold no number with an extension; the bound also keeps the search linear.
_EXTENSION_MAX_CELL = 64
_EXCEL_TEXT = re.compile(r'=[ \t]*"(.*)"', re.DOTALL)


def strip_invisible(text: str) -> tuple[str, bool]:
    """The text without format characters (Unicode category Cf: zero-width spaces and joiners,
    direction marks and isolates, byte-order marks, soft hyphens), and whether any was there or
    a non-ASCII space (NBSP and kin, which NFKC then turns into plain spaces)."""
    found = False
    kept = []
    for ch in text:
        if ch.isascii():
            kept.append(ch)
            continue
        category = unicodedata.category(ch)
        if category == "Cf":
            found = True
            continue
        if category == "Zs":
            found = True
        kept.append(ch)
    return ("".join(kept), True) if found else (text, False)


def unwrap_excel_text(text: str) -> str | None:
    """`="9876543210"` → `9876543210`; None when the text is not written that way."""
    match = _EXCEL_TEXT.fullmatch(text)
    return match.group(1).strip() if match else None


def split_extension(text: str) -> tuple[str, str] | None:
    """`9876543210 ext 12` → (`9876543210`, `12`); None without an extension."""
    if len(text) > _EXTENSION_MAX_CELL:
        return None
    match = _EXTENSION.search(text)
    if match is None or match.start() == 0:
        return None
    extension = next(group for group in match.groups() if group is not None)
    return text[: match.start()].rstrip(" \t,;-"), extension
