"""Numbering plans built once from phonenumbers' metadata, then checked per row with a few regexes.

`phonenumbers.parse` + `is_valid_number` costs about 20-40 µs a number, seconds for a 100,000-row
list. The rules below are the same ones those functions apply (national-prefix stripping, the
default-country-code heuristic, the per-region type patterns and possible lengths), compiled once
per country calling code into one regex per region. tests/numbers/test_numbering.py checks that
the verdicts agree with phonenumbers on thousands of generated numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata
from phonenumbers.phonemetadata import PhoneNumberDesc

REGION_CODE_FOR_NON_GEO_ENTITY = "001"
MIN_NSN_LENGTH = 2  # phonenumbers' _MIN_LENGTH_FOR_NSN
MAX_NSN_LENGTH = 17  # phonenumbers' _MAX_LENGTH_FOR_NSN

# Length verdicts, as phonenumbers' ValidationResult.
POSSIBLE, LOCAL_ONLY, TOO_SHORT, TOO_LONG, INVALID_LENGTH = range(5)


def _lengths_lookahead(lengths: tuple[int, ...]) -> str:
    return "(?=(?:" + "|".join(rf"\d{{{n}}}" for n in lengths) + r")\Z)"


def _desc_regex(desc: PhoneNumberDesc | None) -> str | None:
    """A regex fragment matching exactly what `_is_number_matching_desc(nsn, desc)` accepts."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = tuple(desc.possible_length or ())
    if -1 in lengths:  # "no numbers of this type": no length can match
        return None
    body = "(?:" + desc.national_number_pattern + ")"
    return (_lengths_lookahead(lengths) + body) if lengths else body


@dataclass(frozen=True)
class _RegionRules:
    region: str
    leading_digits: re.Pattern[str] | None
    valid: re.Pattern[str] | None  # fullmatch: general desc AND at least one number type


def _region_rules(region: str, metadata: PhoneMetadata) -> _RegionRules:
    general = _desc_regex(metadata.general_desc)
    # Validity does not depend on the type's order; the common types go first because
    # the regex engine tries the alternatives left to right.
    types = [metadata.fixed_line]
    if not metadata.same_mobile_and_fixed_line_pattern:
        types.insert(0, metadata.mobile)
    types += [
        metadata.toll_free,
        metadata.premium_rate,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    ]
    alternatives = [fragment for fragment in map(_desc_regex, types) if fragment]
    valid = None
    if general and alternatives:
        valid = re.compile(r"(?=" + general + r"\Z)(?:" + "|".join(alternatives) + ")")
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
    return _RegionRules(region, leading, valid)


def _metadata(calling_code: int, region: str) -> PhoneMetadata | None:
    if region == REGION_CODE_FOR_NON_GEO_ENTITY:
        return PhoneMetadata.metadata_for_nongeo_region(calling_code, None)
    return PhoneMetadata.metadata_for_region(region, None)


class NumberingPlan:
    """Everything needed to read and validate numbers of one country calling code."""

    def __init__(self, calling_code: int) -> None:
        regions = COUNTRY_CODE_TO_REGION_CODE[calling_code]
        self.calling_code = calling_code
        self.prefix = str(calling_code)
        self.main_region = regions[0]
        rules = []
        lengths: set[int] = set()
        for region in regions:
            metadata = _metadata(calling_code, region)
            if metadata is None:
                continue
            rules.append(_region_rules(region, metadata))
            region_desc = metadata.general_desc
            assert region_desc is not None  # every region's metadata has its general description
            lengths.update(n for n in region_desc.possible_length if n > 0)
        self._regions = tuple(rules)
        self._single_region = len(regions) == 1
        self.min_length = min(lengths, default=MIN_NSN_LENGTH)
        self.max_length = max(lengths, default=MAX_NSN_LENGTH)

        # Parsing uses the main region's metadata, as phonenumbers.parse does.
        main = _metadata(calling_code, self.main_region)
        assert main is not None
        main_desc = main.general_desc
        assert main_desc is not None
        general = main_desc.national_number_pattern
        # Bound methods, so the per-row code in normalise.py makes as few Python calls as it can.
        self.general_fullmatch: Callable[[str], object] = (
            re.compile(general).fullmatch if general else _never
        )
        self._possible_lengths = tuple(main_desc.possible_length)
        self._local_lengths = tuple(main_desc.possible_length_local_only or ())
        self._national_prefix = (
            re.compile(main.national_prefix_for_parsing)
            if main.national_prefix_for_parsing
            else None
        )
        self.national_prefix_match: Callable[[str], object] | None = (
            self._national_prefix.match if self._national_prefix else None
        )
        self._transform_rule = main.national_prefix_transform_rule or None
        self.international_prefix_match: Callable[[str], re.Match[str] | None] | None = (
            re.compile(main.international_prefix).match if main.international_prefix else None
        )
        if self._single_region:
            only = self._regions[0].valid if self._regions else None
            self.valid_fullmatch: Callable[[str], object] = only.fullmatch if only else _never
        else:
            self.valid_fullmatch = self._valid_in_some_region

    def __repr__(self) -> str:
        return f"NumberingPlan(+{self.calling_code})"

    def matches_general(self, number: str) -> bool:
        return self.general_fullmatch(number) is not None

    def length_verdict(self, number: str) -> int:
        """phonenumbers' `_test_number_length` for the main region's general description."""
        possible = self._possible_lengths
        if not possible or possible[0] == -1:
            return INVALID_LENGTH
        n = len(number)
        if n in self._local_lengths:
            return LOCAL_ONLY
        if n == possible[0]:
            return POSSIBLE
        if n < possible[0]:
            return TOO_SHORT
        if n > possible[-1]:
            return TOO_LONG
        return POSSIBLE if n in possible[1:] else INVALID_LENGTH

    def strip_national_prefix(self, number: str) -> str:
        """Remove a trunk prefix (and carrier code) the way phonenumbers does; else return as is."""
        pattern = self._national_prefix
        if not number or pattern is None:
            return number
        match = pattern.match(number)
        if match is None:
            return number
        viable_original = self.matches_general(number)
        groups = match.groups()
        if self._transform_rule is None or groups[-1] is None:
            stripped = number[match.end() :]
        else:
            stripped = pattern.sub(self._transform_rule, number, count=1)
        if viable_original and not self.matches_general(stripped):
            return number
        return stripped

    def strip_for_parsing(self, number: str) -> str:
        """The last step of `parse`: strip the prefix only if what remains has a possible length."""
        stripped = self.strip_national_prefix(number)
        if stripped == number:
            return number
        if self.length_verdict(stripped) in (TOO_SHORT, LOCAL_ONLY, INVALID_LENGTH):
            return number
        return stripped

    def is_valid(self, nsn: str) -> bool:
        """`is_valid_number` for a national significant number of this calling code."""
        return bool(self.valid_fullmatch(nsn))

    def _valid_in_some_region(self, nsn: str) -> bool:
        # phonenumbers picks the region first (by leading digits, else by validity), then validates.
        for rules in self._regions:
            if rules.leading_digits is not None:
                if rules.leading_digits.match(nsn):
                    return rules.valid is not None and rules.valid.fullmatch(nsn) is not None
            elif rules.valid is not None and rules.valid.fullmatch(nsn) is not None:
                return True
        return False


def _never(_: str) -> None:
    return None


@cache
def numbering_plan(calling_code: int) -> NumberingPlan | None:
    """The plan for a calling code (built once, then cached), or None for an unknown code."""
    if calling_code not in COUNTRY_CODE_TO_REGION_CODE:
        return None
    return NumberingPlan(calling_code)


def split_calling_code(digits: str) -> tuple[int, str] | None:
    """Split an international number into (calling code, rest); codes are 1-3 digits, prefix-free."""
    if not digits or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        if len(digits) < size:
            break
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return None
