"""The real `ccbot sandbox` process: starts, answers, serves /healthz, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.bot.conftest import ADMIN, PUSH_TOKEN
from tests.fakes.processes import free_port, sandbox_env, start_ccbot, wait_until_healthy


@pytest.mark.timeout(120)
async def test_sandbox_process_end_to_end(fake_telegram, tmp_path) -> None:
    port = free_port()
    env = sandbox_env(tmp_path, fake_telegram, port=port, admin=ADMIN, PUSH_TOKEN=PUSH_TOKEN)
    proc = await start_ccbot("sandbox", env=env, cwd=tmp_path)
    try:
        health = await wait_until_healthy(proc, port)
        assert health.json()["status"] == "ok"
        mark = fake_telegram.mark()
        fake_telegram.send_command(ADMIN, ADMIN, "/newgroup Process-Team")
        reply = await fake_telegram.wait_for_text(ADMIN, "Created the agent group", 15, since=mark)
        assert "Process-Team" in reply.text
    finally:
        proc.send_signal(signal.SIGTERM)
        out_bytes, err_bytes = await asyncio.wait_for(proc.communicate(), 20)
        out, err = out_bytes.decode(), err_bytes.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "bot.app stopping" in err  # the mark test_kill9 looks for to tell a clean stop
    assert fake_telegram.token not in out + err
    assert "sandbox: Laaffic platform simulator on" in err and "Nothing real is dialled" in err
    # The sandbox's note comes as log lines a person reads: no literal "\n" inside them.
    notes = [line for line in err.splitlines() if "sandbox: " in line]
    assert len(notes) >= 3 and not [line for line in notes if "\\n" in line], notes
