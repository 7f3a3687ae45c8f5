"""Helpers for tests that set up logging for real: put the process's logging back afterwards, and
name every spelling of a secret that must not appear in captured output."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

_TOUCHED_LOGGERS = ("httpx", "httpcore", "alembic.runtime.plugins")


@contextmanager
def restored_logging() -> Iterator[None]:
    """Whatever `setup_logging` changes (root handlers and level, library levels, the record
    factory, the exception hooks) is as it was when the block ends."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in _TOUCHED_LOGGERS}
    factory = logging.getLogRecordFactory()
    hooks = sys.excepthook, threading.excepthook
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
        logging.setLogRecordFactory(factory)
        sys.excepthook, threading.excepthook = hooks


def spellings(secret: str) -> set[str]:
    """The forms in which a leaked secret would show up in a log line."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
    }


def leaked(output: str, secrets: Iterable[tuple[str, str]]) -> list[str]:
    """The labels (never the values) of the secrets found in `output`, in any spelling."""
    return sorted({label for label, value in secrets if any(s in output for s in spellings(value))})
