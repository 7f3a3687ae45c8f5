"""`ccbot sandbox`: the bot against the simulator it starts in-process."""

from __future__ import annotations

from bot.app import BotService
from bot.config import load_settings
from tests.bot.conftest import ADMIN, PUSH_TOKEN


async def test_sandbox_runs_against_the_in_process_simulator(fake_telegram, tmp_path) -> None:
    settings = load_settings(
        telegram_bot_token=fake_telegram.token,
        telegram_api_url=fake_telegram.url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        listen_host="127.0.0.1",
        listen_port=0,
        push_token=PUSH_TOKEN,
        admin_user_ids=str(ADMIN),
    )
    service = BotService(settings, sandbox=True)
    await service.start()
    try:
        simulator = service.runtime.simulator
        assert simulator is not None and simulator.base_url.startswith("http://127.0.0.1:")
        assert service.runtime.client.app_id == "HsiT9A6d"
        mark = fake_telegram.mark()
        fake_telegram.send_command(ADMIN, ADMIN, "/newgroup Sandbox-Team")
        reply = await fake_telegram.wait_for_text(ADMIN, "Created the agent group", since=mark)
        assert "Sandbox-Team" in reply.text
        assert simulator.simulator.requests["/v3/cc/seatGroup/addGroup"] == 1
    finally:
        await service.stop()


async def test_a_sandbox_without_push_token_uses_a_random_one_only_its_simulator_knows(
    fake_telegram, tmp_path, caplog
) -> None:
    """A fixed token would let anyone who reaches the listener (0.0.0.0 by default) push made-up
    events into the chats; the simulator still pushes, and the token never shows in the log."""
    import httpx

    settings = load_settings(
        telegram_bot_token=fake_telegram.token,
        telegram_api_url=fake_telegram.url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        listen_host="127.0.0.1",
        listen_port=0,
        admin_user_ids=str(ADMIN),
    )
    assert settings.push_token is None
    service = BotService(settings, sandbox=True)
    await service.start()
    try:
        push_url = service.runtime.simulator.simulator.config.push_url
        token = push_url.rsplit("/push/", 1)[1]
        assert len(token) >= 24 and token != "sandbox"
        body = '{"callSessionId": "sandbox-1", "agentGroupName": "Sandbox-Team"}'
        async with httpx.AsyncClient() as http:
            guessed = await http.post(f"{service.listener_url}/push/sandbox", content=body)
            real = await http.post(push_url, content=body)
        assert (guessed.status_code, real.status_code) == (404, 200)
        assert token not in caplog.text
    finally:
        await service.stop()
