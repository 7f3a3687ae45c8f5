"""`docker stop` sends SIGTERM and SIGKILL 10 s later: `ccbot run` must be gone by then even when
Telegram is slow to answer what the bot is sending at that moment."""

from __future__ import annotations

import asyncio
import re
import signal
import time

import pytest

from tests.fakes.processes import free_port, run_env, start_ccbot, wait_until_healthy, webhook_env

# The hang guards are inside (45 s to start, 30 s for the reply, 90 s to stop): on a loaded machine
# a real `ccbot run` needs more than the suite's default 60 s for all of them together.
pytestmark = pytest.mark.timeout(240)

ADMIN = 4242
PUSH_TOKEN = "push-token-for-the-stop-test-5kq"


async def test_sigterm_stops_within_dockers_grace_while_a_reply_hangs_on_telegram(
    fake_telegram, tmp_path
) -> None:
    port = free_port()
    env = run_env(
        tmp_path,
        fake_telegram,
        database_url=f"sqlite:///{tmp_path / 'stop.db'}",
        port=port,
        push_token=PUSH_TOKEN,
        ADMIN_USER_IDS=str(ADMIN),
    )
    proc = await start_ccbot("run", env=env, cwd=tmp_path)
    try:
        await wait_until_healthy(proc, port)
        # The reply to /whoami reaches Telegram, which takes two minutes to answer it.
        fake_telegram.stall_next("sendMessage", 120, chat_id=ADMIN)
        fake_telegram.send_command(ADMIN, ADMIN, "/whoami")
        await fake_telegram.wait_until(
            lambda: bool(fake_telegram.held_calls), 30, what="the reply to reach the fake"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        _, err = await asyncio.wait_for(proc.communicate(), 90)  # hang guard
        stopped_in = time.monotonic() - stopping
    log = err.decode()
    assert proc.returncode == 0, log[-3000:]
    # Docker kills 10 s after SIGTERM: the stop grace that cut the reply off is below that, and
    # the stop ended long before the reply's 120 s hang would have (a loaded machine makes the
    # rest of the stop slower, so the wall clock is only checked against the hang).
    grace = re.search(r"did not finish within the stop grace of ([\d.]+) s", log)
    assert grace is not None and float(grace.group(1)) < 10, log[-3000:]
    assert stopped_in < 60, log[-3000:]
    assert "Traceback" not in log.split("bot.app stopping", 1)[1], log[-3000:]


async def test_a_webhook_telegram_refuses_stops_run_with_telegrams_reason_not_a_network_error(
    fake_telegram, tmp_path
) -> None:
    port = free_port()
    env = webhook_env(
        tmp_path,
        fake_telegram,
        webhook_secret="webhook-secret-for-the-test",
        database_url=f"sqlite:///{tmp_path / 'hook.db'}",
        port=port,
        push_token=PUSH_TOKEN,
    )
    fake_telegram.fail_next(
        "setWebhook", 400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, "
        "88, 443 or 8443"
    )
    proc = await start_ccbot("run", env=env, cwd=tmp_path)
    _, err = await asyncio.wait_for(proc.communicate(), 180)  # hang guard
    log = err.decode()
    assert proc.returncode == 1, log[-3000:]
    assert (
        "ccbot: Telegram refused the webhook (Bad webhook: webhook can be set up only on ports "
        "80, 88, 443 or 8443): check TELEGRAM_WEBHOOK_URL"
    ) in log, log[-3000:]
    assert "could not reach Telegram" not in log and "Traceback" not in log
    assert "webhook-secret-for-the-test" not in log
