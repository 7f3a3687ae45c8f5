"""Reading what users type after a command: words (with quoted names), whole numbers, names.

Every refusal is a plain-text `UserFacingError` sentence that says what is wrong with the value
and what is expected, so a handler never has to build one of its own.
"""

from __future__ import annotations

import io
import re
import shlex

from bot.errors import UserFacingError
from bot.i18n import _

# Phones and Macs turn a typed " into curly quotes; they mean the same here. Only at a word's edge,
# so a curly quote inside a name stays what it is.
_OPENING_QUOTE = re.compile(r"(?<![^\s=])[“”„«]")
# A word that opens a quote: "Sales…, or the one-line /newtask form's group="… / remark="…
# (only those keys: `<a href="x">` must stay as typed).
_QUOTE_START = re.compile(r'^(?:group=|remark=)?["“„«]', re.IGNORECASE)
_CLOSING_QUOTE = re.compile(r"[“”«»](?!\S)")
# Telegram user ids have at most 52 significant bits (Bot API, User.id).
TELEGRAM_USER_ID_MAX = 2**52 - 1
# Telegram usernames: 5–32 letters, digits and underscores (4 for some old accounts).
USERNAME_RE = re.compile(r"@?[A-Za-z0-9_]{4,32}")


def split_args(text: str) -> list[str]:
    """The words after a command; a name in double quotes is one word ("Sales Team Two").

    Quotes group words only when a word starts with one; elsewhere a quote is an ordinary
    character, so text like `a"b` or `<a href="x">` stays exactly as typed.
    """
    return [word for word, _ in split_args_marked(text)]


def split_args_marked(text: str) -> list[tuple[str, bool]]:
    """Like `split_args`, each word with whether it was quoted (the one-line /newtask form tells a
    quoted remark from a group name by it)."""
    words = text.split()
    if not any(_QUOTE_START.match(w) for w in words):
        return [(w, False) for w in words]
    text = _CLOSING_QUOTE.sub('"', _OPENING_QUOTE.sub('"', text))
    stream = io.StringIO(text)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = ""  # a backslash is an ordinary character
    lexer.commenters = ""  # "#12" is an upload, not a comment
    marked: list[tuple[str, bool]] = []
    start = 0
    try:
        while (word := lexer.get_token()) is not None:
            end = stream.tell()
            marked.append((word, text[start:end].strip()[:1] == '"'))
            start = end
    except ValueError:
        raise UserFacingError(
            _(
                'A quote is not closed. Put a name with spaces between two double quotes, like "Sales '
                'Team Two", and try again.',
            )
        ) from None
    return marked


def command_args(text: str) -> list[str]:
    """The words after the command that starts `text` (`/cmd@bot a "b c"` → ["a", "b c"])."""
    parts = text.split(maxsplit=1)
    return split_args(parts[1]) if len(parts) > 1 else []


def is_ascii_number(text: str) -> bool:
    """Digits 0–9 only: `str.isdigit()` also accepts ², ٣ and other scripts' digits."""
    return text.isascii() and text.isdigit()


def parse_int(text: str, name: str, lo: int, hi: int | None) -> int:
    """`text` as a whole number from `lo` to `hi` (no upper bound: None), digits 0–9 only.

    `name` is what the number is, as the start of a sentence ("The count", "A user id").
    """
    value = text.strip()
    shown = value if len(value) <= 24 else value[:24] + "…"
    bounds = (
        _(
            "at least {lo}",
            lo=f"{lo:,}",
        )
        if hi is None
        else _("from {lo} to {hi}", lo=f"{lo:,}", hi=f"{hi:,}")
    )
    if not is_ascii_number(value.removeprefix("-")):
        raise UserFacingError(
            _(
                "{name} must be a whole number written with the digits 0–9; “{shown}” is not.",
                name=name,
                shown=shown,
            )
        )
    # Past 19 digits it is out of every range we have (and int() of thousands is slow).
    number = int(value) if len(value) <= 20 else None
    if number is None or number < lo or (hi is not None and number > hi):
        raise UserFacingError(
            _(
                "{name} must be {bounds}; {shown} is not.",
                name=name,
                bounds=bounds,
                shown=shown,
            )
        )
    return number


def joined_name(args: list[str]) -> str:
    """A name given as the rest of the command, quoted or not (`/group Sales Team Two`)."""
    return " ".join(args).strip()
