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
