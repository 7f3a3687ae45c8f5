"""bot.logs: redaction for every logger, handler and level; one line per event; context fields."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from bot import logs
from bot.config import load_settings
from bot.logs import (
    JsonFormatter,
    bind_log_context,
    log_context,
    register_secret,
    reset_log_context,
    scrub,
    setup_logging,
)
from tests.logcheck import leaked, restored_logging

# Distinctive values: the registry is process-wide, and these must never match ordinary text.
SECRET = "Zq8-unit-secret-vT3pW"
ODD_SECRET = 'pa ss/wo"rd&=é-9Kx'  # changes under URL, JSON, repr and HTML escaping
UNREGISTERED_TOKEN = "987654321:AAF-unregistered-token-0123456789abcdef"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging set up by our own setup_logging at DEBUG, writing to a buffer; put back after."""
    with restored_logging():
        register_secret(SECRET)
        register_secret(ODD_SECRET)
        buffer = io.StringIO()
        setup_logging("DEBUG", "text", stream=buffer)
        yield buffer


def _lines(buffer: io.StringIO) -> list[str]:
    return buffer.getvalue().splitlines()


def test_every_spelling_of_a_registered_secret_is_masked() -> None:
    register_secret(ODD_SECRET)
    forms = [
        ODD_SECRET,
        quote(ODD_SECRET, safe=""),
        quote(ODD_SECRET),
        json.dumps(ODD_SECRET)[1:-1],
        json.dumps(ODD_SECRET, ensure_ascii=False)[1:-1],
        repr(ODD_SECRET)[1:-1],
        repr(ODD_SECRET.encode())[2:-1],
    ]
    for form in forms:
        assert scrub(f"before {form} after") == "before *** after", form


def test_a_bot_token_is_masked_even_when_nobody_registered_it() -> None:
    url = f"https://api.telegram.org/bot{UNREGISTERED_TOKEN}/getMe"
    assert scrub(url) == "https://api.telegram.org/bot***/getMe"
    encoded = quote(UNREGISTERED_TOKEN, safe="")
    assert "unregistered-token" not in scrub(f"url={encoded}")


def test_values_too_short_to_mask_safely_are_not_registered() -> None:
    register_secret("ab1")
    assert scrub("ab1 stays") == "ab1 stays"


def test_a_dict_argument_like_ptbs_debug_line_is_masked(stream: io.StringIO) -> None:
    log = logging.getLogger("telegram.ext.ExtBot")
    params = {"chat_id": 1001, "text": f"password <code>{SECRET}</code>", "parse_mode": "HTML"}
    log.debug("Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage", params)
    out = stream.getvalue()
    assert SECRET not in out
    assert "Calling Bot API endpoint `sendMessage` with parameters" in out and "***" in out
    assert "'chat_id': 1001" in out


def test_tracebacks_and_stacks_are_masked_and_stay_on_one_line(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    try:
        try:
            raise KeyError(f"inner {SECRET}")
        except KeyError as inner:
            raise RuntimeError(f"outer {quote(ODD_SECRET, safe='')}") from inner
    except RuntimeError:
        log.exception("the call failed")
    log.warning("where am I", stack_info=True, extra={"task_id": 7})
    lines = _lines(stream)
    assert len(lines) == 2, lines
    assert "the call failed | Traceback" in lines[0] and "KeyError" in lines[0]
    assert "[task=7] where am I | Stack" in lines[1]
    assert leaked(stream.getvalue(), [("secret", SECRET), ("odd", ODD_SECRET)]) == []


def test_a_message_with_newlines_is_one_line(stream: io.StringIO) -> None:
    logging.getLogger("bot.test").info("first\nsecond\r\nthird")
    assert _lines(stream) == [_lines(stream)[0]]
    assert _lines(stream)[0].endswith("first\\nsecond\\nthird")


def test_json_lines_carry_context_fields_and_masked_exceptions() -> None:
    with restored_logging():
        register_secret(SECRET)
        buffer = io.StringIO()
        setup_logging("DEBUG", "json", stream=buffer)
        log = logging.getLogger("bot.handlers.test")
        with log_context(chat_id=-100123, user_id=42, command="/agentcreds"):
            try:
                raise ValueError(f'bad "{ODD_SECRET}"')
            except ValueError:
                log.exception("failed with %s", {"who": SECRET})
        log.info("no context here")
    first, second = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert first["level"] == "ERROR" and first["logger"] == "bot.handlers.test"
    assert first["chat_id"] == -100123 and first["user_id"] == 42
    assert first["command"] == "/agentcreds" and "task_id" not in first
    assert "ValueError" in first["exc"] and first["msg"] == "failed with {'who': '***'}"
    assert first["ts"].endswith("Z")
    assert "chat_id" not in second and second["msg"] == "no context here"
    assert leaked(buffer.getvalue(), [("secret", SECRET), ("odd", ODD_SECRET)]) == []


def test_text_lines_show_the_context_and_contexts_nest_and_reset(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    with log_context(chat_id=-1001, user_id=5, command="/newtask"):
        token = bind_log_context(task_id=900)
        log.info("submitted")
        reset_log_context(token)
        log.info("back to the command")
    log.info("outside")
    lines = _lines(stream)
    assert "bot.test [chat=-1001 user=5 task=900 cmd=/newtask] submitted" in lines[0]
    assert "[chat=-1001 user=5 cmd=/newtask] back to the command" in lines[1]
    assert lines[2].endswith("INFO bot.test outside")


async def test_tasks_started_inside_a_context_log_with_it(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")

    async def work() -> None:
        await asyncio.sleep(0)
        log.info("in the task")

    with log_context(chat_id=-77, user_id=8):
        task = asyncio.create_task(work())
    await task
    assert "[chat=-77 user=8] in the task" in stream.getvalue()


def test_a_library_logger_with_its_own_handler_is_masked_too() -> None:
    """Handlers we do not own (one set up before us, one added later, pytest's) see clean records."""
    with restored_logging():
        early_out, late_out = io.StringIO(), io.StringIO()
        early = logging.getLogger("lib.early")
        early.propagate = False
        early_handler = logging.StreamHandler(early_out)
        early.addHandler(early_handler)
        try:
            register_secret(SECRET)
            setup_logging("DEBUG", "text", stream=io.StringIO())
            late = logging.getLogger("lib.late")
            late.propagate = False
            late_handler = logging.StreamHandler(late_out)
            late.addHandler(late_handler)
            early.debug("early %s", SECRET)
            late.debug("late %s", {"token": SECRET})
        finally:
            early.removeHandler(early_handler)
            late.removeHandler(late_handler)
            early.propagate = late.propagate = True
    assert early_out.getvalue() == "early ***\n"
    assert late_out.getvalue() == "late {'token': '***'}\n"
    assert any(isinstance(f, logs.ScrubbingFilter) for f in early_handler.filters)


def test_setup_logging_quiets_http_libraries_except_at_debug() -> None:
    with restored_logging():
        buffer = io.StringIO()
        setup_logging("INFO", "text", stream=buffer)
        logging.getLogger("httpx").info("HTTP Request: POST ...")
        assert buffer.getvalue() == ""
        setup_logging("DEBUG", "text", stream=buffer)
        logging.getLogger("httpx").info("HTTP Request: POST ...")
        assert "HTTP Request" in buffer.getvalue()
        ours = [h for h in logging.getLogger().handlers if getattr(h, "ccbot_handler", False)]
        assert len(ours) == 1  # a second call replaces the first handler


def test_loading_settings_registers_their_secrets() -> None:
    settings = load_settings(
        push_token="push-zz-9f8e7d6c5b",
        telegram_webhook_secret="hook-zz-1a2b3c4d",
        laaffic_api_secret="api-zz-0099887766",
        database_url="postgresql+psycopg://ccbot:db-pw-zz-4455@db:5432/ccbot",
    )
    assert settings.push_token is not None
    text = scrub("push-zz-9f8e7d6c5b hook-zz-1a2b3c4d api-zz-0099887766 db-pw-zz-4455")
    assert text == "*** *** *** ***"


def test_parsing_an_agent_registers_its_sip_password() -> None:
    from bot.laaffic.models import Agent

    agent = Agent.model_validate({"keyId": 1, "account": "8001", "password": "SipPw0rdZq77"})
    assert agent.password == "SipPw0rdZq77"
    assert scrub("password SipPw0rdZq77") == "password ***"


def test_an_uncaught_exception_is_logged_masked_on_one_line(stream: io.StringIO) -> None:
    try:
        raise RuntimeError(f"crash {SECRET}")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    thread = threading.Thread(target=lambda: 1 / 0, name="worker-1")
    thread.start()
    thread.join()
    lines = _lines(stream)
    assert len(lines) == 2
    assert "CRITICAL ccbot uncaught exception | Traceback" in lines[0] and SECRET not in lines[0]
    assert "uncaught exception in thread worker-1" in lines[1] and "ZeroDivisionError" in lines[1]


def test_an_unformattable_log_call_never_prints_its_raw_arguments(stream: io.StringIO) -> None:
    logging.getLogger("bot.test").info("%d items", SECRET)
    out = stream.getvalue()
    assert "unformattable log call" in out and SECRET not in out


def test_thousands_of_secrets_are_all_found() -> None:
    registry = logs._SecretRegistry()
    secrets = [f"Agent{i:05d}Pw{i * 7919 % 10007:05d}" for i in range(5000)]
    for secret in secrets:
        registry.add(secret)
    line = " ".join(f"<code>{s}</code>" for s in secrets[::250])
    masked = registry.mask(line)
    assert masked == " ".join("<code>***</code>" for _ in secrets[::250])
    # one secret inside a longer one is masked whole
    registry.add("Agent00001")
    assert registry.mask(f"x{secrets[1]}y") == "x***y"


def test_json_formatter_output_is_masked_even_for_a_record_made_elsewhere() -> None:
    register_secret(SECRET)
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": f"{SECRET}"})
    assert SECRET not in JsonFormatter().format(record)


@pytest.mark.parametrize(
    "logger",
    [
        "uvicorn.access",
        "uvicorn.error",
        "apscheduler.scheduler",
        "alembic.runtime.migration",
        "httpcore.http11",
        "telegram.ext.Updater",
        "bot.laaffic.client",
    ],
)
def test_every_librarys_logger_is_masked_at_debug(stream: io.StringIO, logger: str) -> None:
    # uvicorn's access line shape: the path carries the push token or the webhook secret.
    log = logging.getLogger(logger)
    # The listener runs uvicorn at WARNING with its access log off (propagate False), which
    # changes these loggers for the rest of the run; here they log as when turned on.
    level, propagate = log.level, log.propagate
    log.setLevel(logging.NOTSET)
    log.propagate = True
    try:
        log.debug(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST", f"/push/{SECRET}", "1.1", 200
        )
    finally:
        log.setLevel(level)
        log.propagate = propagate
    (line,) = _lines(stream)
    assert f'{logger} 127.0.0.1:5000 - "POST /push/*** HTTP/1.1" 200' in line


async def test_a_platform_call_about_a_task_logs_with_its_task_id() -> None:
    from bot.laaffic.errors import PlatformUnavailable
    from bot.laaffic.transport import Transport

    with restored_logging():
        buffer = io.StringIO()
        setup_logging("INFO", "json", stream=buffer)
        transport = Transport("http://127.0.0.1:1", "key", SECRET, retries=0)
        try:
            with log_context(chat_id=-100123, user_id=42, command="/task"):
                with pytest.raises(PlatformUnavailable):
                    await transport.read("GET", "/v3/cc/task/query", params={"taskId": 5000123})
            with pytest.raises(PlatformUnavailable):
                await transport.read("POST", "/v3/cc/seatGroup/query", body={"pageNum": 1})
        finally:
            await transport.aclose()
    task_line, other = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert task_line["task_id"] == 5000123 and task_line["chat_id"] == -100123, task_line
    assert task_line["command"] == "/task" and "/v3/cc/task/query" in task_line["msg"]
    assert "task_id" not in other, other
