"""Values as every relayed message shows them: the chat's display settings, callee numbers (masked
on request), durations, clock times in the chat's zone, and lists of names.

Pure functions; the text they return is plain (`show_number`, `duration`, `clock`) or already
escaped HTML (`names`, `cut`), as each docstring says.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

import phonenumbers

from bot.i18n import _, day_month, is_english, speaking, spoken_duration
from bot.render import esc
from storage.models import as_utc

MASK = "•"
_NON_DIGITS = re.compile(r"\D+")


@dataclass(frozen=True)
class ChatDisplay:
    """How one chat wants values shown."""

    mask_numbers: bool = False
    zone: tzinfo | None = None  # the chat's time zone (None: UTC)
    language: str = "en"  # what the chat reads (bot/i18n.py)


Render = TypeVar("Render", bound=Callable[..., str])


def in_chat_language(render: Render) -> Render:
    """A view taking `(value, display, ...)` renders in `display.language`: everything it calls
    (the values below, the shared lines) then speaks it too."""

    @functools.wraps(render)
    def rendered(value: Any, display: ChatDisplay, *args: Any, **kwargs: Any) -> str:
        with speaking(display.language):
            return render(value, display, *args, **kwargs)

    return rendered  # type: ignore[return-value]


def mask_digits(digits: str) -> str:
    """Keep the first 2 and last 3 digits of a national number: 9812345210 → 98•••••210."""
    n = len(digits)
    if n >= 7:
        return digits[:2] + MASK * (n - 5) + digits[-3:]
    if n >= 4:
        return digits[:1] + MASK * (n - 3) + digits[-2:]
    return MASK * n


def _split_country(digits: str, ccode: str | None) -> tuple[str | None, str]:
    if ccode and ccode.isdigit() and digits.startswith(ccode) and len(digits) > len(ccode) + 4:
        return ccode, digits[len(ccode) :]
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None, digits
    if not number.country_code or not phonenumbers.is_possible_number(number):
        return None, digits
    country = str(number.country_code)
    return country, digits[len(country) :]


def show_number(number: str | None, *, ccode: str | None = None, mask: bool = False) -> str:
    """A callee number as plain text: "+91 9812345210", or masked "+91 98•••••210"."""
    if not number:
        return _("unknown number")
    digits = _NON_DIGITS.sub("", number)
    if not digits:
        return MASK * len(number) if mask else number
    country, national = _split_country(digits, ccode)
    national = mask_digits(national) if mask else national
    return f"+{country} {national}" if country else national


def duration(seconds: float | None) -> str:
    """Seconds as m:ss, h:mm:ss from an hour on: 12 → 0:12, 754 → 12:34, 4000 → 1:06:40; "—"
    when not known. The one formatter for talk time, relay lag and uptime (summaries,
    digests, relayed messages, /status and the admins' notices). Rounded to the second; below zero is 0:00 (a clock a little ahead of ours)."""
    if seconds is None:
        return "—"
    total = max(int(round(seconds)), 0)
    if not is_english():
        return spoken_duration(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def clock(
    moment: datetime | None, zone: tzinfo | None, *, today: datetime | None = None
) -> str | None:
    """The time of `moment` in the chat's zone ("16:05:00"), with its date in front when it falls
    on another day than `today` in that zone ("4 Dec 16:05:00", "30 Dec 2025 23:59:10" in
    another year): a call the platform retried after midnight must not read as today's."""
    if moment is None:
        return None
    local = _in_zone(moment, zone)
    shown = local.strftime("%H:%M:%S")
    if today is None:
        return shown
    reference = _in_zone(today, zone)
    if local.date() == reference.date():
        return shown
    day = day_month(local, with_year=local.year != reference.year)
    return f"{day} {shown}"


def _in_zone(moment: datetime, zone: tzinfo | None) -> datetime:
    return as_utc(moment).astimezone(zone or UTC)


def names(values: Iterable[str]) -> str:
    """Names as escaped HTML, separated by commas."""
    return ", ".join(esc(v) for v in values)


def cut(value: str, limit: int) -> str:
    """`value` as escaped HTML, cut to `limit` characters (before escaping) with an ellipsis."""
    return esc(value if len(value) <= limit else value[: limit - 1].rstrip() + "…")
