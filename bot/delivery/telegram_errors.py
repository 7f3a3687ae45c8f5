"""Telegram's error answers, in one place: what each means for a send or an edit.

The Bot API answers a refused call with an HTTP code and a description in English; PTB turns them
into exception classes (`RetryAfter`, `ChatMigrated`, `Forbidden`, `BadRequest`, `TimedOut`,
`NetworkError`), and the finer cases (a message that is not modified, HTML Telegram could not
parse, a deleted topic) are told apart only by the description. `classify` is the one function
that reads them; the reply path and the outbox sender act on its outcome, and nothing else in
`bot/` looks at an error's words.

The descriptions are documented nowhere but are stable (bots have matched them for years); the
substrings below are the parts every variant shares ("message to edit not found",
"MESSAGE_ID_INVALID" …), matched case-insensitively.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

# Substrings of Telegram's descriptions (lower case), one constant per meaning.
NOT_MODIFIED = ("message is not modified",)
BAD_MARKUP = ("can't parse entities", "can't find end of", "unsupported start tag")
MESSAGE_GONE = (
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
    "message to delete not found",
)
TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed")
FILE_TOO_BIG = ("file is too big",)
SERVER_ERROR = re.compile(
    r"internal server error|bad gateway|service unavailable|gateway time-?out|\(5\d\d\)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RetryLater:
    """429: Telegram's flood control; nothing more may go to that chat for `seconds`."""

    seconds: float


@dataclass(frozen=True)
class ChatMoved:
    """The group became a supergroup with a new id; the call can be repeated there."""

    new_chat_id: int


@dataclass(frozen=True)
class TopicGone:
    """The forum topic the message was for was deleted (or closed)."""

    description: str


@dataclass(frozen=True)
class BotRemoved:
    """403: the bot was removed from the chat, or the user blocked it. Nothing can go there
    until someone adds it back (or the user unblocks it)."""

    description: str


@dataclass(frozen=True)
class MessageGone:
    """The message to edit no longer exists (or is too old to edit)."""

    description: str


@dataclass(frozen=True)
class NotModified:
    """The edit would change nothing: the message already shows that text. Not a failure."""


@dataclass(frozen=True)
class BadMarkup:
    """Telegram could not parse the message's HTML; the text can still go as plain text."""

    description: str


@dataclass(frozen=True)
class FileTooBig:
    """getFile of a file over the Bot API's 20 MB."""

    description: str


@dataclass(frozen=True)
class Transient:
    """Telegram could not be reached or failed on its side: the same call may work later.

    `reason` is one of "timeout", "network", "server_error", "telegram" (the labels of
    ccbot_messages_retried / ccbot_messages_failed)."""

    reason: str
    description: str


@dataclass(frozen=True)
class Refused:
    """Telegram refused the call for good (a 400 not covered above): repeating it won't help."""

    description: str


Outcome = (
    RetryLater
    | ChatMoved
    | TopicGone
    | BotRemoved
    | MessageGone
    | NotModified
    | BadMarkup
    | FileTooBig
    | Transient
    | Refused
)


class DeliveryError(Exception):
    """A send or edit the delivery package could not complete; `outcome` says why.

    Producers catch this (never PTB's exceptions) and decide what the user is told."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(_describe(outcome))
        self.outcome = outcome


def _describe(outcome: Outcome) -> str:
    description = getattr(outcome, "description", None)
    if description:
        return str(description)
    return type(outcome).__name__


def _matches(description: str, needles: tuple[str, ...]) -> bool:
    lowered = description.lower()
    return any(needle in lowered for needle in needles)


def retry_after_seconds(error: RetryAfter) -> float:
    """RetryAfter's wait in seconds (its attribute is an int or a timedelta depending on PTB)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError) -> Outcome:
    """What a Telegram error answer means for the call that got it (pure: reads only `error`)."""
    description = error.message or type(error).__name__
    if isinstance(error, RetryAfter):
        return RetryLater(retry_after_seconds(error))
    if isinstance(error, ChatMigrated):
        return ChatMoved(int(error.new_chat_id))
    if isinstance(error, Forbidden):
        return BotRemoved(description)
    if isinstance(error, TimedOut):
        return Transient("timeout", error.message or "timed out")
    if isinstance(error, BadRequest):
        # PTB makes BadRequest a NetworkError: test it first.
        if _matches(description, NOT_MODIFIED):
            return NotModified()
        if _matches(description, BAD_MARKUP):
            return BadMarkup(description)
        if _matches(description, MESSAGE_GONE):
            return MessageGone(description)
        if _matches(description, TOPIC_GONE):
            return TopicGone(description)
        if _matches(description, FILE_TOO_BIG):
            return FileTooBig(description)
        return Refused(description)
    if isinstance(error, NetworkError):
        reason = "server_error" if SERVER_ERROR.search(description) else "network"
        return Transient(reason, description)
    return Transient("telegram", description)
