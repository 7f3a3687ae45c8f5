"""What the sender puts into Telegram for one claimed batch of outbox rows.

A batch is usually one row. When a chat's queue backs up, its waiting ringing events come as one
batch and become one message, so the newest event is late by seconds, not minutes, and every
event is still shown; so do its waiting call records (a chat on `/notify calls each` behind a task
dialling fast), each kind in its own listing:

1. all of them in full, under a header ("14 calls ringing in the last 20 s:", "9 call records in
   the last 40 s:"), when that fits one message;
2. else one line each (the first two lines of each one's text, which the renderers keep short:
   agent and callee of a ringing event, outcome and agent of a call record), in one message or
   split over `MERGED_TEXT_PARTS` messages;
3. else (a storm: a group takes only 16 relay messages a minute, 4,096 characters each, which
   cannot carry hundreds of events' lines) one document message: the caption has the count and
   the newest, the attached text file every one in full.

Other rows: text over 4,096 characters is split at line boundaries (`bot.render.split_message`); a
photo takes its text as caption when it fits 1,024 characters, else the photo goes first and the
text after it; a row with an edit_key edits its live message when there is one.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from bot.delivery.outbox import OutboxKind
from bot.i18n import _, n_
from bot.render import MESSAGE_LIMIT, esc, split_message

CAPTION_LIMIT = 1024
# A merged listing may take this many text messages; more becomes one document.
MERGED_TEXT_PARTS = 2
# The kinds whose waiting messages are merged into one listing (each kind on its own).
MERGEABLE_KINDS = frozenset({OutboxKind.RINGING.value, OutboxKind.CALL.value})


class PartMethod(Enum):
    TEXT = "sendMessage"
    PHOTO = "sendPhoto"
    DOCUMENT = "sendDocument"
    EDIT = "editMessageText"


@dataclass(frozen=True)
class QueuedMessage:
    """An outbox row as the sender claimed it (a detached copy)."""

    id: int
    chat_id: int
    thread_id: int | None
    kind: str
    text: str
    photo: bytes | None
    edit_key: str | None
    attempts: int
    parts_sent: int
    created_at: datetime
    event_at: datetime | None = None  # when what it tells of happened, when known
    reply_markup: str | None = None  # an inline keyboard, Bot API JSON

    @property
    def happened_at(self) -> datetime:
        return self.event_at or self.created_at


@dataclass(frozen=True)
class Part:
    """One Telegram call of a batch."""

    method: PartMethod
    text: str | None = None  # HTML: the message text, or the caption
    photo: bytes | None = None
    document: bytes | None = None
    file_name: str | None = None
    edit_message_id: int | None = None
    # Merged batches split over several parts: the rows each part shows (empty: every row).
    row_ids: tuple[int, ...] = field(default=())
    reply_markup: str | None = None  # an inline keyboard (Bot API JSON), on this part


# The tags Telegram's HTML knows; anything else that looks like a tag is text that was not
# escaped, and stays as it was.
_TAG = re.compile(
    r"</?(?:b|strong|i|em|u|ins|s|strike|del|a|code|pre|tg-spoiler|span|blockquote|tg-emoji)"
    r"(?:\s[^<>]*)?>",
    re.IGNORECASE,
)
_LINK = re.compile(
    r"<a\s+[^<>]*href\s*=\s*[\"']([^\"']*)[\"'][^<>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL
)


def plain_text(text: str) -> str:
    """Telegram HTML as plain text: its tags dropped (a link keeps its address), entities
    decoded; for resending a message Telegram could not parse."""

    def link(match: re.Match[str]) -> str:
        label = _TAG.sub("", match.group(2))
        url = match.group(1)
        return label if html.unescape(label) == html.unescape(url) else f"{label} ({url})"

    return html.unescape(_TAG.sub("", _LINK.sub(link, text))).strip()


EVENT_LINE_LIMIT = 300


def event_line(text: str) -> str:
    """The one-line form of a ringing event or a call record: its first two non-empty lines,
    which the renderers make who rings (agent, group) and whom (callee), or how the call went
    (outcome, callee) and who took it, joined with " — " (cut, as plain text, when a renderer
    made it longer than a line should be)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    line = " — ".join(lines[:2]) if lines else text.strip()
    if len(line) <= EVENT_LINE_LIMIT:
        return line
    return esc(plain_text(line)[: EVENT_LINE_LIMIT - 1]) + "…"


def span_words(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return _("{seconds} s", seconds=seconds)
    if seconds < 7200:
        return _("{minutes} min", minutes=round(seconds / 60))
    return _("{hours} h", hours=round(seconds / 3600))


def merged_header(kind: str, count: int, oldest: datetime, now: datetime) -> str:
    """In the chat's language (the sender speaks it: `ClaimedBatch.language`)."""
    span = span_words((now - oldest).total_seconds())
    if kind == OutboxKind.CALL.value:
        return n_(
            "📋 <b>{count} call record</b> in the last {span}:",
            "📋 <b>{count} call records</b> in the last {span}:",
            count,
            span=span,
        )
    return n_(
        "📞 <b>{count} call ringing</b> in the last {span}:",
        "📞 <b>{count} calls ringing</b> in the last {span}:",
        count,
        span=span,
    )


def _continued(kind: str, part: int) -> str:
    if kind == OutboxKind.CALL.value:
        return _("📋 <b>call records, continued</b> ({part}):", part=part)
    return _("📞 <b>ringing, continued</b> ({part}):", part=part)


def plan_merged(rows: list[QueuedMessage], now: datetime) -> list[Part]:
    """Parts for several waiting messages of one mergeable kind, by the rules in the docstring:
    listed in the order they happened (the platform's event time; pushes can arrive out of that
    order, and two replicas can store them so), so "the newest" are the last to happen."""
    kind = rows[0].kind
    rows = sorted(rows, key=lambda row: (row.happened_at, row.id))
    header = merged_header(kind, len(rows), min(row.created_at for row in rows), now)
    full = header + "\n\n" + "\n\n".join(row.text.strip() for row in rows)
    if len(full) <= MESSAGE_LIMIT:
        return [Part(PartMethod.TEXT, text=full)]
    lines = [event_line(row.text) for row in rows]
    chunks: list[tuple[list[str], list[int]]] = [([header], [])]
    for row, line in zip(rows, lines, strict=True):
        current_lines, current_ids = chunks[-1]
        if len("\n".join([*current_lines, line])) > MESSAGE_LIMIT:
            chunks.append(([_continued(kind, len(chunks) + 1)], []))
            current_lines, current_ids = chunks[-1]
        current_lines.append(line)
        current_ids.append(row.id)
    if len(chunks) <= MERGED_TEXT_PARTS:
        return [
            Part(PartMethod.TEXT, text="\n".join(chunk_lines), row_ids=tuple(ids))
            for chunk_lines, ids in chunks
        ]
    return [merged_document(rows, lines, header, now)]


def merged_document(
    rows: list[QueuedMessage], lines: list[str], header: str, now: datetime
) -> Part:
    footer = "\n" + _("Every one of them is in the attached list.")
    caption = _("{header}. The newest:", header=header.removesuffix(":").removesuffix("："))
    newest: list[str] = []
    for line in reversed(lines):
        candidate = "\n".join([caption, line, *newest]) + footer
        if len(candidate) > CAPTION_LIMIT:
            break
        newest.insert(0, line)
    if len(newest) < len(lines):
        newest.insert(0, "…")
    listing = "\n\n".join(plain_text(row.text) for row in rows)
    content = f"{plain_text(header)}\n\n{listing}\n"
    name = "calls" if rows[0].kind == OutboxKind.CALL.value else "ringing"
    return Part(
        PartMethod.DOCUMENT,
        text="\n".join([caption, *newest]) + footer,
        document=content.encode("utf-8"),
        file_name=f"{name}-{now:%Y%m%d-%H%M%S}.txt",
    )


def plan_single(row: QueuedMessage, live_message_id: int | None) -> list[Part]:
    """Parts for one row (or the newest of an edit_key's rows)."""
    if row.photo is not None:
        if len(row.text) <= CAPTION_LIMIT:
            return [Part(PartMethod.PHOTO, text=row.text or None, photo=row.photo)]
        return [Part(PartMethod.PHOTO, photo=row.photo)] + [
            Part(PartMethod.TEXT, text=chunk) for chunk in split_message(row.text)
        ]
    markup = row.reply_markup
    if row.edit_key is not None:
        # A live message is one message: it keeps the first 4,096 characters.
        text = split_message(row.text)[0]
        if live_message_id is not None:
            return [
                Part(PartMethod.EDIT, text=text, edit_message_id=live_message_id, reply_markup=markup)
            ]
        return [Part(PartMethod.TEXT, text=text, reply_markup=markup)]
    chunks = split_message(row.text)
    # The keyboard goes on the last part, under the whole text.
    return [
        Part(PartMethod.TEXT, text=chunk, reply_markup=markup if i == len(chunks) - 1 else None)
        for i, chunk in enumerate(chunks)
    ]


def is_mergeable(row: QueuedMessage | Any) -> bool:
    """A plain ringing event or call record (an outbox row or its copy): these merge, each kind
    with its own, when they wait."""
    return row.kind in MERGEABLE_KINDS and row.photo is None and row.edit_key is None
