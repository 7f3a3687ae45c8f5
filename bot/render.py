"""The one place that turns values into Telegram HTML: escaping and splitting."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# Telegram's limit is 4096 characters of text after entity parsing. We measure the raw HTML (which
# is never shorter than what it parses to) in UTF-16 code units (which are never fewer than
# characters), and stay a little under the limit: a chunk that fits here always fits there.
MESSAGE_LIMIT = 4000

# Tags, entities, line breaks, runs of other spaces, words; a lone `<` or `&` (not valid HTML, but
# never cut into) is a token of its own.
_TOKEN = re.compile(
    r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);|\n|[^\S\n]+|[^<&\s]+|[<&]"
)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
# A word longer than this is cut into pieces, so a hard cut wastes at most this much of a chunk.
_WORD_PIECE = 64


# Characters that change the direction of the text around them: the Arabic letter mark, the
# left-to-right and right-to-left marks, embeddings, overrides and isolates. From a value they could
# reverse the digits of a number or the rest of the line (U+202E before "gpj.exe" shows it as
# "exe.jpg"); no name or number needs them to be shown, so they are dropped. Right-to-left letters
# themselves stay.
_DIRECTION_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def esc(value: object) -> str:
    """Escape any value from users or the platform for HTML parse mode (direction controls
    dropped)."""
    if value is None:
        return "—"
    text = str(value)
    if _DIRECTION_CONTROLS.search(text):
        text = _DIRECTION_CONTROLS.sub("", text)
    return html.escape(text, quote=False)


def code(value: object) -> str:
    return f"<code>{esc(value)}</code>"


def text_length(text: str) -> int:
    """Length in UTF-16 code units (how Telegram measures; an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Open:
    name: str
    tag: str  # the opening tag as written, to reopen it in the next chunk

    @property
    def closer(self) -> str:
        return f"</{self.name}>"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if len(token) > _WORD_PIECE and token[0] not in "<&":
            out += [token[i : i + _WORD_PIECE] for i in range(0, len(token), _WORD_PIECE)]
        else:
            out.append(token)
    return out


def _after(stack: tuple[_Open, ...], token: str) -> tuple[_Open, ...]:
    """The open tags after `token`."""
    if not (token.startswith("<") and token.endswith(">") and len(token) > 2):
        return stack
    match = _TAG_NAME.match(token)
    if match is None:
        return stack
    name = match.group(1).lower()
    if token.startswith("</"):
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].name == name:
                return stack[:i]
        return stack
    return (*stack, _Open(name, token))


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML text into chunks that each fit one message, never inside a tag or an entity.

    Cuts at a line break where one falls in the second half of a chunk, else at a space, else
    between two pieces of a long word. A tag open at a cut is closed at the end of the chunk and
    opened again at the start of the next, so every chunk is valid HTML by itself.
    """
    if text_length(text) <= limit:
        return [text]
    tokens = _tokens(text)
    sizes = [text_length(t) for t in tokens]
    chunks: list[str] = []
    i = 0
    stack: tuple[_Open, ...] = ()
    while i < len(tokens):
        prefix = "".join(o.tag for o in stack)
        size = text_length(prefix)
        current: tuple[_Open, ...] = stack
        j = i
        last_break: dict[int, tuple[int, tuple[_Open, ...]]] = {}
        while j < len(tokens):
            after = _after(current, tokens[j])
            closers = sum(len(o.closer) for o in after)
            if size + sizes[j] + closers > limit and j > i:
                break
            size += sizes[j]
            current = after
            j += 1
            token = tokens[j - 1]
            kind = 2 if token == "\n" else (1 if token.isspace() else 0)
            last_break[kind] = (j, current)
        if j < len(tokens):
            # Prefer a line break, then a space, if it keeps the chunk at least half full.
            for kind in (2, 1):
                if kind in last_break and last_break[kind][0] - i >= (j - i) // 2:
                    j, current = last_break[kind]
                    break
        body = "".join(tokens[i:j]).rstrip("\n")
        if j < len(tokens):
            body = body.rstrip(" ")
        if body.strip():
            chunks.append(prefix + body + "".join(o.closer for o in reversed(current)))
        i, stack = j, current
        # Spaces at the start of a new chunk would only be trimmed by Telegram.
        while i < len(tokens) and tokens[i] == " " * len(tokens[i]) and tokens[i]:
            i += 1
    return chunks or [text[:limit]]
