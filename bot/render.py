"""The one place that turns values into Telegram HTML: escaping and splitting."""

from __future__ import annotations

import html

# Telegram's limit is 4096 characters of text after entity parsing; stay a little under it.
MESSAGE_LIMIT = 4000


def esc(value: object) -> str:
    """Escape any value from users or the platform for HTML parse mode."""
    if value is None:
        return "—"
    return html.escape(str(value), quote=False)


def code(value: object) -> str:
    return f"<code>{esc(value)}</code>"


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML text into chunks under `limit`, at line breaks, never inside a tag.

    Lines are kept whole where possible; a single over-long line is cut at the limit only when it
    carries no markup (our renderers never put a tag across lines).
    """
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            chunks.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
