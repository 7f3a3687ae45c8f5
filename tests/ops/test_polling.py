"""Another process polling with the same bot token (a second `ccbot run` on a laptop, an old
deployment): Telegram answers this one's getUpdates with 409 Conflict, so it receives nothing."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx

from tests.fakes.processes import free_port, run_env, start_ccbot, wait_until_healthy

PUSH_TOKEN = "push-token-for-the-polling-test-3hd"


async def test_a_conflicting_poller_is_said_once_in_one_line_and_makes_readyz_fail(
    fake_telegram, tmp_path
) -> None:
    port = free_port()
    env = run_env(
        tmp_path,
        fake_telegram,
        database_url=f"sqlite:///{tmp_path / 'poll.db'}",
        port=port,
        push_token=PUSH_TOKEN,
    )
    proc = await start_ccbot("run", env=env, cwd=tmp_path)
    try:
        await wait_until_healthy(proc, port)
        fake_telegram.fail_next("getUpdates", 409, times=None)
        deadline = time.monotonic() + 45  # hang guard
        async with httpx.AsyncClient(timeout=10) as http:
            while True:
                answer = await http.get(f"http://127.0.0.1:{port}/readyz")
                if answer.status_code == 503:
                    break
                assert time.monotonic() < deadline, answer.text
                await asyncio.sleep(0.2)
        assert answer.json()["problems"] == [
            "Telegram refuses getUpdates: another process polls with this bot token"
        ]
    finally:
        fake_telegram.clear_failures()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)  # hang guard
    log = err.decode()
    said = [line for line in log.splitlines() if "another process polls" in line]
    assert len(said) == 1, log[-3000:]  # PTB tries again and again; said once a minute
    assert "Stop the other one, or run every replica with TELEGRAM_MODE=webhook." in said[0]
    assert "Traceback" not in log, log[-3000:]
