"""One cell in, one platform number out: digits only, country code first, no `+`.

The order of the rules follows phonenumbers.parse so that the verdicts agree with
`is_valid_number(parse(text, region))`; the differences are deliberate and small: `00` is always
read as an international prefix, and without a default country code a bare number of 11+ digits
that is valid under its leading country code counts as international (CRM exports look like that).
What exports leave around a number (bot/numbers/marks.py) is taken off first and counted.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter

from bot.i18n import N_, _
from bot.numbers.marks import split_extension, strip_invisible, unwrap_excel_text
from bot.numbers.numbering import (
    MAX_NSN_LENGTH,
    MIN_NSN_LENGTH,
    TOO_LONG,
    NumberingPlan,
    numbering_plan,
    split_calling_code,
)

# Said in the chat, in `ccbot numbers check` and in the rejected-rows file alike: each adds how to
# set a country code its own way (/settings ccode, --ccode).
NO_COUNTRY_CODE = N_("no country code")
SCIENTIFIC = N_(
    "Excel shortened it to scientific notation and digits were lost: format the column as "
    "Text and export it again",
)
TOO_MANY_DIGITS_AS_NUMBER = N_(
    "stored as a number with more than 15 digits, so digits were lost: format the column "
    "as Text and export it again",
)
NOT_A_NUMBER = N_("not a phone number (letters or symbols)")
NOT_WHOLE = N_("not a whole number")
A_DATE = N_("a date or time, not a phone number")
NOT_POSITIVE = N_("zero or a negative number, not a phone number")
A_BOOLEAN = N_("TRUE or FALSE, not a phone number")

# What was taken off a cell to read its number (NumberNormaliser.fixes counts valid numbers).
INVISIBLE = "invisible"
EXCEL_TEXT = "excel_text"
EXTENSION = "extension"

_SCIENTIFIC_RE = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_FLOAT_TEXT_RE = re.compile(r"(\+?\d{5,})\.0+")  # "919876543210.0" from a float-typed export
# Every script's decimal digits (Arabic-Indic ٠-٩, Persian ۰-۹, Devanagari ०-९ …) as 0-9, as
# phonenumbers reads them: exports from Arabic or Persian locales write numbers that way. NFKC
# leaves them alone (it maps only the full-width ones).
_NON_ASCII_DIGIT = re.compile(r"[^\x00-\x7f]")  # tried only on non-ASCII text


def _ascii_digits(text: str) -> str:
    return _NON_ASCII_DIGIT.sub(
        lambda m: str(unicodedata.decimal(m.group(), "")) or m.group(), text
    )


_SEPARATORS = str.maketrans(
    "", "", " \t\u00a0\u2007\u202f-.()[]{}/\u2010\u2011\u2012\u2013\u2014\u2015"
)


def cell_text(cell: object) -> str:
    """A cell as the user sees it written (floats without a needless `.0`)."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        if math.isfinite(cell) and cell.is_integer() and abs(cell) < 1e16:
            return str(int(cell))
        return repr(cell)
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, dt.datetime | dt.date | dt.time):
        return cell.isoformat()
    return str(cell)


def _length_reason(plan: NumberingPlan, nsn: str) -> str:
    if len(nsn) < plan.min_length:
        return _(
            "too short for +{calling_code}",
            calling_code=plan.calling_code,
        )
    if len(nsn) > plan.max_length:
        return _(
            "too long for +{calling_code}",
            calling_code=plan.calling_code,
        )
    return _(
        "not a valid +{calling_code} number",
        calling_code=plan.calling_code,
    )


class NumberNormaliser:
    """Turns cells into platform numbers for one default country code (or none)."""

    def __init__(self, default_calling_code: int | None) -> None:
        self.default = numbering_plan(default_calling_code) if default_calling_code else None
        # How many valid numbers needed each fix: INVISIBLE, EXCEL_TEXT, EXTENSION.
        self.fixes: Counter[str] = Counter()

    def normalise(self, cell: object) -> tuple[str | None, str | None]:
        """(digits, None) for a valid number, (None, reason) for an invalid one, (None, None) if empty."""
        digits, reason, _ = self.check(cell)
        return digits, reason

    def check(self, cell: object) -> tuple[str | None, str | None, str | None]:
        """normalise, plus the extension written after a valid number (`ext 12` → `12`), or None."""
        if type(cell) is float:
            if not cell.is_integer():
                return None, (NOT_WHOLE if math.isfinite(cell) else NOT_A_NUMBER), None
            if cell <= 0:
                return None, NOT_POSITIVE, None
            if cell >= 1e15:
                return None, TOO_MANY_DIGITS_AS_NUMBER, None
            return *self._digits(str(int(cell)), False), None
        if type(cell) is str:
            return self._text(cell)
        if cell is None:
            return None, None, None
        if type(cell) is int:
            if cell <= 0:
                return None, NOT_POSITIVE, None
            return *self._digits(str(cell), False), None
        if isinstance(cell, dt.datetime | dt.date | dt.time | dt.timedelta):
            return None, A_DATE, None
        if isinstance(cell, bool):
            return None, A_BOOLEAN, None
        return None, NOT_A_NUMBER, None

    def _text(self, text: str) -> tuple[str | None, str | None, str | None]:
        invisible = excel_text = False
        if not text.isascii():
            text, invisible = strip_invisible(text)
            # Full-width digits and plus signs, as Chinese input methods type them.
            text = _ascii_digits(unicodedata.normalize("NFKC", text))
        text = text.strip().lstrip("'")  # a leading ' is Excel's "keep as text" mark
        if text.startswith("="):
            inner = unwrap_excel_text(text)
            if inner is not None:
                text, excel_text = inner, True
        if not text:
            return None, None, None
        digits, reason = self._written(text)
        extension = None
        if digits is None and reason == NOT_A_NUMBER:
            split = split_extension(text)
            if split is not None:
                main, _ = self._written(split[0])
                if main is not None:
                    digits, reason, extension = main, None, split[1]
                    self.fixes[EXTENSION] += 1
        if digits is not None:
            if invisible:
                self.fixes[INVISIBLE] += 1
            if excel_text:
                self.fixes[EXCEL_TEXT] += 1
        return digits, reason, extension

    def _written(self, text: str) -> tuple[str | None, str | None]:
        """A number as written (separators, `+`, a float's `.0`), without marks around it."""
        if _SCIENTIFIC_RE.fullmatch(text):
            return None, SCIENTIFIC
        floaty = _FLOAT_TEXT_RE.fullmatch(text)
        if floaty:
            text = floaty.group(1)
        digits = text.translate(_SEPARATORS)
        international = digits.startswith("+")
        if international:
            digits = digits[1:]
        if not (digits.isascii() and digits.isdigit()):
            return None, NOT_A_NUMBER
        return self._digits(digits, international)

    def _digits(self, digits: str, international: bool) -> tuple[str | None, str | None]:
        plan = self.default
        if not international:
            match = None
            if plan is not None and plan.international_prefix_match is not None:
                match = plan.international_prefix_match(digits)
            if match is None and digits.startswith("00"):
                match = _DOUBLE_ZERO.match(digits)
            if match is not None and digits[match.end() : match.end() + 1] not in ("", "0"):
                digits = digits[match.end() :]
                international = True
        if international:
            split = split_calling_code(digits)
            if split is None:
                if len(digits) <= MIN_NSN_LENGTH:
                    return None, NOT_A_NUMBER
                return None, _(
                    "unknown country code (+{digits}…)",
                    digits=digits[:3],
                )
            plan = numbering_plan(split[0])
            assert plan is not None
            return _check(plan, split[1])
        if plan is None:
            return self._without_default(digits)
        nsn = digits
        if digits.startswith(plan.prefix):
            # A number that already carries the default code, as CRM exports write them.
            rest = digits[len(plan.prefix) :]
            prefix_match = plan.national_prefix_match
            if prefix_match is not None and prefix_match(rest) is not None:
                rest = plan.strip_national_prefix(rest)
            general = plan.general_fullmatch
            if (general(digits) is None and general(rest) is not None) or (
                plan.length_verdict(digits) == TOO_LONG
            ):
                nsn = rest
        return _check(plan, nsn)

    def _without_default(self, digits: str) -> tuple[str | None, str | None]:
        if len(digits) >= 11 and digits[0] != "0":
            split = split_calling_code(digits)
            if split is not None:
                plan = numbering_plan(split[0])
                assert plan is not None
                number, _ = _check(plan, split[1])
                if number is not None:
                    return number, None
        return None, NO_COUNTRY_CODE


def _check(plan: NumberingPlan, nsn: str) -> tuple[str | None, str | None]:
    """parse's last steps (length floor, trunk prefix, length ceiling), then is_valid_number."""
    if len(nsn) < MIN_NSN_LENGTH:
        return None, _(
            "too short for +{calling_code}",
            calling_code=plan.calling_code,
        )
    prefix_match = plan.national_prefix_match
    if prefix_match is not None and prefix_match(nsn) is not None:
        nsn = plan.strip_for_parsing(nsn)
    if len(nsn) > MAX_NSN_LENGTH:
        return None, _(
            "too long for +{calling_code}",
            calling_code=plan.calling_code,
        )
    if plan.valid_fullmatch(nsn):
        return plan.prefix + nsn, None
    return None, _length_reason(plan, nsn)


_DOUBLE_ZERO = re.compile("00")


def parse_calling_code(text: str | int | None) -> int | None:
    """'91', '+91', 91 → 91; None/'' → None; raises ValueError for a code no country uses."""
    if text is None or text == "":
        return None
    cleaned = str(text).strip().lstrip("+").strip()
    # ASCII digits only: isdigit() alone accepts '²' and '٣'.
    if not (cleaned.isascii() and cleaned.isdigit()) or numbering_plan(int(cleaned)) is None:
        raise ValueError(cleaned or str(text))
    return int(cleaned)
