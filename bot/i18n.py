"""The bot's languages: which one a chat speaks, the translated texts, and values formatted for it.

Texts are gettext messages whose ids are the English text with named placeholders
(`_("Group {name} created.", name=...)`). The catalogs are `bot/locales/<lang>/LC_MESSAGES/
ccbot.po`, compiled to `.mo` by `make i18n` and committed (tests/test_i18n.py checks they match).

The language is a context variable, set once where we know whom we answer (a command's chat, a
relayed message's chat) with `speaking(lang)`; everything rendered inside, down to the errors a
service raises, comes out in that language. So a view or a service needs no language argument, and
making a new text translatable is only wrapping it in `_()`.

`PSEUDO` is a test-only language: every translation wrapped in ⟦ ⟧, so a test can find text that
bypassed the catalog. `/settings language` offers only `CHOICES`.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

DOMAIN = "ccbot"
LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"
CHOICES = ("en", "zh")  # what /settings language offers; a new catalog adds its code here


def N_(message: str, /) -> str:
    """Marks a text for the catalog where it is defined (a module-level constant), to be
    translated with `_()` where it is shown."""
    return message


# Each language's name as /settings shows it (translated like any text).
LANGUAGE_NAMES = {"en": N_("English (en)"), "zh": N_("Simplified Chinese (zh)")}
PSEUDO = "pseudo"
OPEN, CLOSE = "⟦", "⟧"

# The Babel locale behind each language, for numbers and dates.
_BABEL = {"en": "en", "zh": "zh_Hans_CN", PSEUDO: "en"}


_current: ContextVar[str] = ContextVar("ccbot_language", default=DEFAULT)


def normalise(code: str | None) -> str | None:
    """A Telegram `language_code` ("zh-hans", "zh-CN", "en-GB"…) as one of our languages, or None
    when we don't speak it. Every Chinese variant reads Simplified Chinese: it is the one we have."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    if base in CHOICES or base == PSEUDO:
        return base
    return None


def language_of(stored: str | None, user_code: str | None = None, *, private: bool = False) -> str:
    """The language to answer in: the chat's own choice; else, in a private chat, the user's
    Telegram language; else English."""
    return normalise(stored) or (normalise(user_code) if private else None) or DEFAULT


def current() -> str:
    return _current.get()


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Render everything inside in `language` (None or an unknown code: English)."""
    lang = normalise(language) or DEFAULT
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def switch(language: str | None) -> None:
    """From here on in this context (one command), speak `language`: /bind and /settings language
    answer in the language they have just set. The enclosing `speaking` restores the one before."""
    _current.set(normalise(language) or DEFAULT)


class _Pseudo(gettext.NullTranslations):
    """Every text wrapped in markers: the test language that shows what bypassed the catalog."""

    def gettext(self, message: str) -> str:
        return f"{OPEN}{message}{CLOSE}"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return f"{OPEN}{msgid1 if n == 1 else msgid2}{CLOSE}"


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language == PSEUDO:
        return _Pseudo()
    if language == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALES, languages=[language], fallback=True)


def _format(text: str, values: dict[str, Any]) -> str:
    return text.format(**values) if values else text


def _(message: str, /, **values: Any) -> str:
    """`message` (the English text, the message id) in the current language, its named
    placeholders filled from `values`."""
    return _format(translations(_current.get()).gettext(message), values)


def n_(singular: str, plural: str, count: int, /, **values: Any) -> str:
    """The singular or plural form for `count` in the current language; `{count}` is filled
    with the count formatted for the language, the other placeholders from `values`."""
    text = translations(_current.get()).ngettext(singular, plural, count)
    return text.format(**{"count": number(count), **values})


def t(language: str | None) -> _Bound:
    """The texts of one language without touching the current one (`t("zh")("Balance")`)."""
    return _Bound(normalise(language) or DEFAULT)


class _Bound:
    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, message: str, /, **values: Any) -> str:
        return _format(translations(self.language).gettext(message), values)

    def n(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        with speaking(self.language):
            return n_(singular, plural, count, **values)


# ---- values formatted for the language ------------------------------------------------------


def _locale() -> Locale:
    return Locale.parse(_BABEL.get(_current.get(), "en"))


def is_english() -> bool:
    """English (and the pseudo language, English underneath) keeps the bot's original formats."""
    return _current.get() in (DEFAULT, PSEUDO)


def number(value: int | float) -> str:
    """12345 → "12,345" (grouped the language's way)."""
    if is_english() and isinstance(value, int):
        return f"{value:,}"
    return format_decimal(value, locale=_locale())


def percent(fraction: float, digits: int = 0) -> str:
    """0.456 → "46%" in the language's form."""
    if is_english():
        return f"{fraction * 100:.{digits}f}%"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(fraction, format=pattern, locale=_locale())


def date_time(moment: datetime) -> str:
    """A date and a time: "4 Dec 2026 18:35" / "2026年12月4日 18:35"."""
    if is_english():
        return f"{moment.day} {moment:%b %Y %H:%M}"
    return format_datetime(moment, "y年M月d日 HH:mm", locale=_locale())


def day_month(moment: datetime, *, with_year: bool) -> str:
    """A date without its time: "4 Dec" ("4 Dec 2025") / "12月4日" ("2025年12月4日")."""
    if is_english():
        return f"{moment.day} {moment:%b %Y}" if with_year else f"{moment.day} {moment:%b}"
    return format_datetime(moment, "y年M月d日" if with_year else "M月d日", locale=_locale())


def day_label(day: date) -> str:
    """A day with its weekday: "Fri 4 Dec 2026" / "2026年12月4日 周五"."""
    if is_english():
        return f"{day:%a} {day.day} {day:%b %Y}"
    return format_date(day, "y年M月d日 EEE", locale=_locale())


def short_day(day: date | datetime) -> str:
    """A day without its year, as the digests write it: "04 Dec" / "12月4日"."""
    if is_english():
        return f"{day:%d %b}"
    return format_date(day, "M月d日", locale=_locale())


def weekday_day(day: date | datetime) -> str:
    """A day with its weekday, without its year: "Sat 01 Mar" / "3月1日 周六"."""
    if is_english():
        return f"{day:%a %d %b}"
    return format_date(day, "M月d日 EEE", locale=_locale())


def spoken_duration(total: int) -> str:
    """Whole seconds the Chinese way: 3900 → "1小时5分", 754 → "12分34秒", 12 → "12秒"."""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    if minutes:
        return f"{minutes}分{secs}秒" if secs else f"{minutes}分"
    return f"{secs}秒"
