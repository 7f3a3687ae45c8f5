"""At LOG_LEVEL=DEBUG, with logging set up by our own setup_logging, the whole /agentcreds flow and
platform calls leave no secret in the process's output: not the API secret, the bot token, the
push token, the webhook secret, nor any SIP password the platform handed out."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import pytest

from bot.app import BotService
from bot.logs import setup_logging
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, PUSH_TOKEN, BotHarness, make_settings
from tests.fakes.processes import free_port, sandbox_env, start_ccbot, wait_until_healthy
from tests.logcheck import leaked, restored_logging

WEBHOOK_SECRET = "hook-secret-for-the-log-test-7Qw2"


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_agentcreds_and_platform_calls_at_debug_log_no_secret(
    fake_telegram, simulator, tmp_path, capfd, log_format: str
) -> None:
    with restored_logging():
        setup_logging("DEBUG", log_format)  # to stderr, as `ccbot run` does
        port = free_port()
        settings = make_settings(
            fake_telegram,
            simulator,
            f"sqlite:///{tmp_path / 'logs.db'}",
            telegram_mode="webhook",
            telegram_webhook_url=f"http://127.0.0.1:{port}",
            telegram_webhook_secret=WEBHOOK_SECRET,
            listen_port=port,
        )
        service = BotService(settings)
        await service.start()
        try:
            bot = BotHarness(service, fake_telegram, simulator)
            await bot.bind()
            await bot.say(GROUP, OPERATOR, "/newgroup Log-Team")
            reply = await bot.say(GROUP, OPERATOR, "/addagents Log-Team 3")
            assert "Created 3 agent(s)" in reply.text, reply.text
            mark = fake_telegram.mark()
            fake_telegram.send_command(GROUP, ADMIN, "/agentcreds Log-Team")
            private = await bot.answer(ADMIN, mark)
            await bot.answer(GROUP, mark)
            # a platform call that fails, and the push address hit from outside
            reply = await bot.say(GROUP, OPERATOR, "/newgroup Log-Team")
            assert "platform code -20" in reply.text, reply.text
            async with httpx.AsyncClient() as http:
                await http.post(f"{service.listener_url}/push/{PUSH_TOKEN}", json=[])
                await http.get(f"{service.listener_url}/healthz")
        finally:
            await service.stop()
        passwords = simulator.call(
            lambda: [a.password for a in simulator.simulator.state.agents.values()]
        )
    output = capfd.readouterr().err

    # The flow really carried the secrets: the passwords reached the admin's private chat, and the
    # DEBUG lines that would carry them (PTB's parameters and return values, httpx) were written.
    assert len(passwords) == 3 and all(p in private.text for p in passwords)
    assert "Calling Bot API endpoint `sendMessage` with parameters" in output
    assert "finished with return value" in output and "setWebhook" in output
    assert "HTTP Request: POST" in output and "seat/query" in output.replace("seatGroup", "")
    assert "***" in output
    secrets = [
        ("the bot token", fake_telegram.token),
        ("the API secret", simulator.config.api_secret),
        ("the push token", PUSH_TOKEN),
        ("the webhook secret", WEBHOOK_SECRET),
    ] + [(f"SIP password #{i}", p) for i, p in enumerate(passwords, 1)]
    assert leaked(output, secrets) == []


@pytest.mark.timeout(180)  # a real process on a loaded machine; the hang guards are inside
async def test_the_real_process_at_debug_writes_json_lines_without_secrets_and_stops_cleanly(
    fake_telegram, tmp_path
) -> None:
    """`ccbot sandbox` as Docker runs it: LOG_FORMAT=json at DEBUG, a command answered, SIGTERM."""
    port = free_port()
    env = sandbox_env(
        tmp_path,
        fake_telegram,
        port=port,
        admin=ADMIN,
        PUSH_TOKEN=PUSH_TOKEN,
        LOG_LEVEL="DEBUG",
        LOG_FORMAT="json",
    )
    proc = await start_ccbot("sandbox", env=env, cwd=tmp_path)
    try:
        await wait_until_healthy(proc, port)
        mark = fake_telegram.mark()
        fake_telegram.send_command(ADMIN, ADMIN, "/newgroup Json-Team")
        await fake_telegram.wait_for_text(ADMIN, "Created the agent group", 15, since=mark)
    finally:
        proc.send_signal(signal.SIGTERM)
        # A hang guard; how fast a stop must be is tests/ops/test_stop.py's business.
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-3000:]
    lines = err.decode().splitlines()
    events = [json.loads(line) for line in lines]  # every line is one JSON event
    assert any(e["logger"] == "telegram.ext.ExtBot" and e["level"] == "DEBUG" for e in events)
    assert any("newgroup" in e["msg"] for e in events)
    output = out.decode() + err.decode()
    secrets = [("the bot token", fake_telegram.token), ("the push token", PUSH_TOKEN)]
    assert leaked(output, secrets) == []
