"""`ccbot check` against the simulator and the fake Bot API, and webhook mode end to end."""

from __future__ import annotations

import io
import socket

import httpx

from bot.app import BotService
from bot.check import run_checks
from tests.bot.conftest import ADMIN, make_settings


async def test_check_passes_when_everything_answers(fake_telegram, simulator, tmp_path) -> None:
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'c.db'}"
    upgrade(url)
    out = io.StringIO()
    code = await run_checks(make_settings(fake_telegram, simulator, url), out)
    text = out.getvalue()
    assert code == 0, text
    assert text.count("✓") == 5 and "@ccbot_test_bot" in text
    assert "PUBLIC_URL is not set" in text


async def test_check_reaches_the_public_push_address_when_it_is_set(bot, tmp_path) -> None:
    """PUBLIC_URL pointing at the running listener is ✓; one where nothing listens is ✗."""
    settings = bot.service.settings.model_copy(update={"public_url": bot.service.listener_url})
    out = io.StringIO()
    await run_checks(settings, out)
    assert f"✓ push address: {bot.service.listener_url} answers" in out.getvalue()
    settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{_free_port()}"})
    out = io.StringIO()
    code = await run_checks(settings, out)
    assert (
        code == 1
        and "✗ push address" in out.getvalue()
        and "could not be reached" in out.getvalue()
    )


async def test_check_names_each_failure_and_never_the_secret(
    fake_telegram, simulator, tmp_path
) -> None:
    settings = make_settings(
        fake_telegram,
        simulator,
        f"sqlite:///{tmp_path / 'new.db'}",
        laaffic_api_secret="wrong-secret-value-xyz",
        telegram_bot_token="999:nope",
    )
    out = io.StringIO()
    code = await run_checks(settings, out)
    text = out.getvalue()
    assert code == 1
    assert "✗ platform" in text and "authentication" in text.lower() and "code -1" in text
    assert "✗ telegram" in text and "refused" in text
    # a database file not made yet is no failure: `ccbot run` creates it and the tables
    assert "✓ database: no SQLite file yet at " in text and "ccbot run" in text
    assert not (tmp_path / "new.db").exists()
    assert "wrong-secret-value-xyz" not in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_mode_takes_updates_on_the_listener(
    fake_telegram, simulator, tmp_path
) -> None:
    secret = "hook-secret-abc123"
    port = _free_port()
    settings = make_settings(
        fake_telegram,
        simulator,
        f"sqlite:///{tmp_path / 'w.db'}",
        telegram_mode="webhook",
        telegram_webhook_url=f"http://127.0.0.1:{port}",
        telegram_webhook_secret=secret,
        listen_port=port,
    )
    service = BotService(settings)
    await service.start()
    try:
        assert fake_telegram.webhook_url == f"http://127.0.0.1:{port}/telegram/{secret}"
        async with httpx.AsyncClient() as http:
            update = fake_telegram.build_command(ADMIN, ADMIN, "/whoami")
            bad = await http.post(
                f"{service.listener_url}/telegram/wrong",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            assert bad.status_code == 404
            no_header = await http.post(f"{service.listener_url}/telegram/{secret}", json=update)
            assert no_header.status_code == 404
        # the fake delivers queued updates to the webhook, with the secret header, like Telegram
        mark = fake_telegram.mark()
        fake_telegram.send_command(ADMIN, ADMIN, "/whoami")
        reply = await fake_telegram.wait_for_text(ADMIN, "admin", since=mark)
        assert str(ADMIN) in reply.text
    finally:
        await service.stop()


def test_run_with_a_refused_token_stops_with_one_line(
    fake_telegram, simulator, tmp_path, capsys
) -> None:
    from bot.app import run_bot

    settings = make_settings(
        fake_telegram,
        simulator,
        f"sqlite:///{tmp_path / 'r.db'}",
        telegram_bot_token="999999:refused-token-abcdefghijklmnopqrstuvwxyz",
    )
    assert run_bot(settings) == 1
    err = capsys.readouterr().err
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in err
    assert "refused-token" not in err and "Traceback" not in err


def test_run_on_a_busy_port_stops_with_one_line(fake_telegram, simulator, tmp_path, capsys) -> None:
    from bot.app import run_bot

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = make_settings(
            fake_telegram, simulator, f"sqlite:///{tmp_path / 'p.db'}", listen_port=port
        )
        assert run_bot(settings) == 1
    assert "choose another LISTEN_PORT" in capsys.readouterr().err
