"""Counts and shares as every message writes them: one rounding for percentages, and plural-aware
sentences chosen whole (shaped like gettext's `ngettext`, so a translation catalogue can take
them over as they are, with their named placeholders)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from bot.i18n import current as current_language
from bot.i18n import number, translations


def ngettext(singular: str, plural: str, n: int) -> str:
    """English plural choice, shaped like gettext's `ngettext` so a catalogue can replace it:
    the sentence is chosen whole, then filled in with its named placeholders. The texts are in
    the catalog (`make i18n` extracts `count_text`'s second and third arguments)."""
    return translations(current_language()).ngettext(singular, plural, n)


def count_text(n: int, singular: str, plural: str) -> str:
    """`1 call`, `2,048 calls`: `singular`/`plural` hold `{n}`."""
    return ngettext(singular, plural, n).format(n=number(n))


def percent(part: float, whole: float) -> str:
    """`part` of `whole` as a percentage with one decimal, the one rounding of every share the
    bot shows: half to even, and never 100.0% unless it is all, nor 0.0% unless it is none
    (252 of 253 is 99.6%, 2,999 of 3,000 is 99.9%, 1 of 3,000 is 0.1%). "—" when `whole` is 0."""
    if not whole:
        return "—"
    share = (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_EVEN
    )
    if share >= 100 and part < whole:
        share = Decimal("99.9")
    elif share <= 0 and part > 0:
        share = Decimal("0.1")
    return f"{share}%"
