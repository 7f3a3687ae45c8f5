"""Telegram's error answers, each read as what it means for a send or an edit (one table)."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

import bot
from bot.delivery.telegram_errors import (
    BadMarkup,
    BotRemoved,
    ChatMoved,
    DeliveryError,
    FileTooBig,
    MessageGone,
    NotModified,
    Outcome,
    Refused,
    RetryLater,
    TopicGone,
    Transient,
    classify,
)

TABLE: list[tuple[TelegramError, Outcome]] = [
    (RetryAfter(7), RetryLater(7.0)),
    (RetryAfter(timedelta(seconds=3)), RetryLater(3.0)),
    (ChatMigrated(-1001234), ChatMoved(-1001234)),
    (
        Forbidden("Forbidden: bot was kicked from the group chat"),
        BotRemoved("Forbidden: bot was kicked from the group chat"),
    ),
    (
        Forbidden("Forbidden: bot was blocked by the user"),
        BotRemoved("Forbidden: bot was blocked by the user"),
    ),
    (
        BadRequest(
            "Message is not modified: specified new message content and reply markup are "
            "exactly the same as a current content and reply markup of the message"
        ),
        NotModified(),
    ),
    (
        BadRequest('Can\'t parse entities: unsupported start tag "x" at byte offset 0'),
        BadMarkup('Can\'t parse entities: unsupported start tag "x" at byte offset 0'),
    ),
    (BadRequest("Message to edit not found"), MessageGone("Message to edit not found")),
    (BadRequest("Message can't be edited"), MessageGone("Message can't be edited")),
    (BadRequest("MESSAGE_ID_INVALID"), MessageGone("MESSAGE_ID_INVALID")),
    (BadRequest("Message thread not found"), TopicGone("Message thread not found")),
    (BadRequest("File is too big"), FileTooBig("File is too big")),
    (BadRequest("Chat not found"), Refused("Chat not found")),
    (BadRequest("Message text is empty"), Refused("Message text is empty")),
    (TimedOut(), Transient("timeout", "Timed out")),
    (
        NetworkError("httpx.ConnectError: connection refused"),
        Transient("network", "httpx.ConnectError: connection refused"),
    ),
    (NetworkError("Bad Gateway"), Transient("server_error", "Bad Gateway")),
    (
        NetworkError("Internal Server Error (500)"),
        Transient("server_error", "Internal Server Error (500)"),
    ),
    (
        Conflict("terminated by other getUpdates request"),
        Transient("telegram", "terminated by other getUpdates request"),
    ),
]


@pytest.mark.parametrize(("error", "outcome"), TABLE, ids=[repr(e) for e, _ in TABLE])
def test_each_telegram_answer_is_read_as_what_it_means(
    error: TelegramError, outcome: Outcome
) -> None:
    assert classify(error) == outcome


def test_a_bad_request_is_never_read_as_a_network_error_though_ptb_derives_it_from_one() -> None:
    assert not isinstance(classify(BadRequest("Bad Gateway")), Transient)


def test_a_delivery_error_says_why_in_telegrams_words() -> None:
    error = DeliveryError(BotRemoved("Forbidden: bot was blocked by the user"))
    assert str(error) == "Forbidden: bot was blocked by the user"
    assert str(DeliveryError(NotModified())) == "NotModified"


def _string_literals(source: str) -> list[str]:
    """The string constants of a module's code (docstrings left out: they may name an answer)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_other_part_of_the_bot_reads_telegrams_error_words() -> None:
    """The substrings of Telegram's descriptions live in telegram_errors only."""
    root = Path(bot.__file__).parent
    words = (
        "not modified",
        "can't parse",
        "edit not found",
        "thread not found",
        "too big",
        "was kicked",
    )
    offenders = [
        f"{path.relative_to(root)}: {literal!r}"
        for path in root.rglob("*.py")
        if path.name != "telegram_errors.py" and "simulator" not in path.parts
        for literal in _string_literals(path.read_text(encoding="utf-8"))
        if any(word in literal.lower() for word in words) and len(literal) < 40
    ]
    assert offenders == []
