"""Logging: one line per event (`text` or `json`), the request's context on every line, and secrets
redacted for every logger at every level.

Why redaction sits where records are made: secrets reach log lines through libraries we do not
control (python-telegram-bot logs every Bot API call's parameters and return value at DEBUG,
httpx/httpcore log URLs with the bot token in them, uvicorn logs request paths with the push token
or webhook secret). A filter on our handler alone would still let any other handler see raw
records: pytest's capture, a handler a library adds for itself, one added after start-up. So
`setup_logging` installs a LogRecord factory that scrubs each record once, as it is created (the
rendered message, the traceback, the stack), and also puts `ScrubbingFilter` on our handler and on
every handler already attached to any logger; our formatters scrub their final line once more
(JSON escaping can change how a secret is spelt).

What is redacted: every value given to `register_secret` (the settings' secrets are registered by
`load_settings`; SIP passwords as the platform client parses them), spelt raw, URL-encoded,
JSON-escaped, repr-escaped or HTML-escaped; and anything shaped like a bot token
(`123456:AA…`, also with the colon URL-encoded), registered or not.

Context: `log_context(chat_id=…, user_id=…, task_id=…, command=…)` (or `bind_log_context`) sets
fields for everything logged inside it, including by libraries and by tasks started inside it;
they are emitted as JSON fields and as `[chat=… user=… task=… cmd=…]` in text. The handler layer
sets them once per update, next to `bot.audit.current_actor`:

    with log_context(chat_id=req.chat_id, user_id=req.user_id, command=name):
        ...
"""

from __future__ import annotations

import html
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, urlsplit

import ahocorasick
from pydantic import BaseModel, SecretStr

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would blank out ordinary words and ids everywhere

# Bot tokens look like 123456:ABC-def... (the colon may be URL-encoded); they sit in every Bot
# API URL. Caught even when nobody registered the token (a second bot, a token typed in a chat).
_BOT_TOKEN_RE = re.compile(r"(?<![0-9])\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{30,}")


# ------------------------------------------------------------------------------------- secrets


def _spellings(secret: str) -> set[str]:
    """The ways `secret` can be written in a log line: raw, in a URL, in JSON, in a repr, in HTML."""
    as_json = json.dumps(secret)[1:-1]
    variants = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        as_json,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(as_json)[1:-1],  # JSON inside a JSON string (a logged request body)
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],  # httpcore logs headers as bytes
        html.escape(secret),
        html.escape(secret, quote=False),
    }
    return {v for v in variants if len(v) >= MIN_SECRET_LENGTH}


class _SecretRegistry:
    """The registered secrets, found in a line by one Aho-Corasick automaton over all their
    spellings: the cost per line does not grow with the number of secrets (an account's SIP
    passwords run into the thousands; a regex alternation of them costs ~1 ms a line)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._spellings: set[str] = set()
        self._automaton: ahocorasick.Automaton | None = None
        self._stale = False

    def add(self, secret: str) -> None:
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            self._spellings |= _spellings(secret)
            self._stale = True  # rebuilt on next use: once per batch of registrations

    def _current(self) -> ahocorasick.Automaton | None:
        if self._stale:
            with self._lock:
                if self._stale:
                    automaton = ahocorasick.Automaton()
                    for spelling in self._spellings:
                        automaton.add_word(spelling, len(spelling))
                    automaton.make_automaton()
                    self._automaton, self._stale = automaton, False
        return self._automaton

    def mask(self, text: str) -> str:
        automaton = self._current()
        if automaton is None:
            return text
        parts: list[str] = []
        position = 0
        # iter_long: the longest match at each place, left to right, never overlapping, so a
        # secret that contains another is masked whole.
        for end, length in automaton.iter_long(text):
            start = end - length + 1
            parts.append(text[position:start])
            parts.append(MASK)
            position = end + 1
        if not parts:
            return text
        parts.append(text[position:])
        return "".join(parts)

    def __len__(self) -> int:
        return len(self._secrets)


_REGISTRY = _SecretRegistry()


def register_secret(value: str | SecretStr | None) -> None:
    """Make `value` (in any spelling) disappear from every log line from now on.

    Values shorter than MIN_SECRET_LENGTH characters are ignored: masking them would blank out
    ordinary words and numbers everywhere.
    """
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value and len(value) >= MIN_SECRET_LENGTH:
        _REGISTRY.add(value)


def register_settings_secrets(settings: BaseModel) -> None:
    """Register every `SecretStr` field of `settings`, and the password of any URL setting
    (a PostgreSQL `DATABASE_URL` may carry one)."""
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            register_secret(value)
        elif isinstance(value, str) and "://" in value:
            try:
                register_secret(urlsplit(value).password)
            except ValueError:  # not a URL after all
                pass


def scrub(text: str) -> str:
    """`text` with every registered secret and every bot-token-shaped string replaced by ***."""
    return _BOT_TOKEN_RE.sub(MASK, _REGISTRY.mask(text))


# ------------------------------------------------------------------------------------- context


@dataclass(frozen=True)
class LogContext:
    """Who and what a log line is about; unset fields are left out of the line."""

    chat_id: int | None = None
    user_id: int | None = None
    task_id: int | str | None = None
    command: str | None = None

    def items(self) -> Iterator[tuple[str, Any]]:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                yield f.name, value


_EMPTY = LogContext()
_context: ContextVar[LogContext] = ContextVar("ccbot_log_context", default=_EMPTY)
_TEXT_LABELS = {"chat_id": "chat", "user_id": "user", "task_id": "task", "command": "cmd"}


def bind_log_context(
    *,
    chat_id: int | None = None,
    user_id: int | None = None,
    task_id: int | str | None = None,
    command: str | None = None,
) -> Token[LogContext]:
    """Add fields to the current context (unset arguments keep their value); undo with
    `reset_log_context(token)`. Tasks created afterwards inherit the context."""
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("chat_id", chat_id),
            ("user_id", user_id),
            ("task_id", task_id),
            ("command", command),
        )
        if v is not None
    }
    return _context.set(replace(_context.get(), **changes))


def reset_log_context(token: Token[LogContext]) -> None:
    _context.reset(token)


@contextmanager
def log_context(
    *,
    chat_id: int | None = None,
    user_id: int | None = None,
    task_id: int | str | None = None,
    command: str | None = None,
) -> Iterator[LogContext]:
    """Everything logged inside carries these fields (and those of any enclosing context)."""
    token = bind_log_context(chat_id=chat_id, user_id=user_id, task_id=task_id, command=command)
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def _record_context(record: logging.LogRecord) -> dict[str, Any]:
    """The record's context: captured when it was made, overridden by `extra={...}` fields."""
    context: LogContext = getattr(record, "ccbot_context", None) or _context.get()
    values = dict(context.items())
    for name in _TEXT_LABELS:
        extra = record.__dict__.get(name)
        if extra is not None:
            values[name] = extra
    return values


# ------------------------------------------------------------------------------------- records

_SCRUBBED = "ccbot_scrubbed"


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact `record` in place, once: message (with its args rendered), traceback and stack.

    The args are rendered into the message only when that changes something, so formatters that
    read `record.args` (uvicorn's access formatter) keep working for clean records. A traceback
    is rendered to `exc_text` and `exc_info` dropped: formatters print `exc_text` instead.
    """
    if record.__dict__.get(_SCRUBBED):
        return record
    try:
        message = record.getMessage()
    except Exception:  # bad format args: logging would print msg and args raw to stderr
        try:
            message = f"unformattable log call: {record.msg!r} % {record.args!r}"
        except Exception:
            message = "unformattable log call"
        record.msg, record.args = message, None
    clean = scrub(message)
    if clean != message or not isinstance(record.msg, str):
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[0] is not None:
        if not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    record.__dict__[_SCRUBBED] = True
    return record


class ScrubbingFilter(logging.Filter):
    """Redacts every record that passes (for handlers and loggers; idempotent and cheap when the
    record factory already did it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub_record(record)
        return True


_base_factory = logging.getLogRecordFactory()


def _scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.ccbot_context = _context.get()  # captured now: the handler may run elsewhere
    return scrub_record(record)


def install_record_scrubber() -> None:
    """Scrub every record as it is created, whoever logs it and whichever handler shows it."""
    global _base_factory
    current = logging.getLogRecordFactory()
    if current is not _scrubbing_factory:
        _base_factory = current
        logging.setLogRecordFactory(_scrubbing_factory)


def _all_loggers() -> Iterable[logging.Logger]:
    yield logging.getLogger()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            yield logger


def protect_existing_handlers() -> int:
    """Put a ScrubbingFilter on every handler of every logger that lacks one (libraries that
    bring their own handler and do not propagate); returns how many were added."""
    added = 0
    for logger in _all_loggers():
        for handler in logger.handlers:
            if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
                handler.addFilter(ScrubbingFilter())
                added += 1
    return added


# ----------------------------------------------------------------------------------- formatters


def _timestamp(record: logging.LogRecord) -> str:
    return (
        datetime.fromtimestamp(record.created, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _one_line(text: str) -> str:
    # One event, one line: log shippers split on newlines.
    return text.replace("\r\n", "\n").replace("\r", "\\r").replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """`2025-01-31T09:15:02.123Z INFO bot.handlers [chat=-100… user=42 cmd=/newtask] message`,
    a traceback appended on the same line with its newlines written as \\n."""

    def format(self, record: logging.LogRecord) -> str:
        scrub_record(record)
        context = " ".join(f"{_TEXT_LABELS[k]}={v}" for k, v in _record_context(record).items())
        parts = [_timestamp(record), record.levelname, record.name]
        if context:
            parts.append(f"[{context}]")
        parts.append(record.getMessage())
        line = " ".join(parts)
        if record.exc_text:
            line += " | " + record.exc_text
        if record.stack_info:
            line += " | " + record.stack_info
        return scrub(_one_line(line))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the context fields, exc, stack."""

    def format(self, record: logging.LogRecord) -> str:
        scrub_record(record)
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(_record_context(record))
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return scrub(json.dumps(data, ensure_ascii=False, default=str))


# ------------------------------------------------------------------------------------- set-up

_OURS = "ccbot_handler"
# Libraries whose INFO lines are one per HTTP request (httpx: every Bot API call, a long poll every
# few seconds) or start-up chatter; they speak at DEBUG, and always at WARNING and above.
# Below DEBUG these only repeat what our own lines say (a request, a job run every few seconds).
_CHATTY = ("httpx", "httpcore", "alembic.runtime.plugins", "apscheduler.executors.default")


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("ccbot").critical("uncaught exception", exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread else "?"
    logging.getLogger("ccbot").critical(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def setup_logging(
    level: str | int = "INFO", fmt: str = "text", *, stream: TextIO | None = None
) -> logging.Handler:
    """Log to stderr (or `stream`), one line per event, secrets redacted for every logger.

    Replaces a handler an earlier call installed, leaves other handlers alone (they get the
    scrubbing filter too), and sends uncaught exceptions through logging so that they are
    redacted as well. Returns the handler.
    """
    install_record_scrubber()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubbingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    setattr(handler, _OURS, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    numeric = level if isinstance(level, int) else logging.getLevelName(level.upper())
    quiet = not isinstance(numeric, int) or numeric > logging.DEBUG
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING if quiet else logging.NOTSET)
    protect_existing_handlers()
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    return handler
