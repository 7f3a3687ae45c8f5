"""The push address cannot be guessed: a short PUSH_TOKEN is refused before anything starts, and
wrong tokens from one address are answered 429 past 20 a minute, while the right token from that
same address is never slowed. (`PUSH_TOKEN=7` once passed `ccbot check` and `ccbot run`, and
2,000 guesses took 1.1 s.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings
from bot.listener import WrongTokenLimiter
from tests.listener.conftest import Listener, call_body

HOW = "make one with `openssl rand -hex 16`"


class VirtualClock:
    """time.monotonic() for the limiter, moved by the test: no test waits out a real minute."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("token", ["7", "short-token", "x" * 15])
def test_a_push_token_under_16_characters_is_refused_with_how_to_make_one(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("PUSH_TOKEN", token)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith("PUSH_TOKEN is invalid: is shorter than 16 characters")
    assert HOW in message and "\n" not in message
    assert token not in message.removeprefix("PUSH_TOKEN")  # the secret is never repeated


def test_a_push_token_of_16_varied_characters_or_made_by_openssl_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for token in ("abcdefgh" * 2, "9f86d081884c7d659a2feaa0c55ad015"):
        monkeypatch.setenv("PUSH_TOKEN", token)
        assert load_settings().push_token.get_secret_value() == token  # type: ignore[union-attr]


@pytest.mark.parametrize("command", ["run", "check"])
def test_ccbot_run_and_check_both_say_the_token_is_too_short(tmp_path, command: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PUSH_TOKEN": "7",
        "DATABASE_URL": f"sqlite:///{tmp_path}/ccbot.db",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", command],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": ":".join(sys.path)},
        cwd=tmp_path,
        timeout=120,
    )
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert "PUSH_TOKEN is invalid: is shorter than 16 characters" in said, said
    assert HOW in said and "Traceback" not in said
    if command == "check":
        assert said.startswith("✗ configuration: ")


def test_the_limiter_blocks_an_address_after_20_wrong_tokens_a_minute_for_a_while() -> None:
    clock = VirtualClock()
    limiter = WrongTokenLimiter(clock=clock)
    assert [limiter.wrong_token("203.0.113.7") for _ in range(20)] == [0.0] * 20
    assert limiter.wrong_token("203.0.113.7") == 300.0  # the 21st in the minute
    assert limiter.wrong_token("198.51.100.1") == 0.0  # another address is not concerned
    clock.now += 299
    assert limiter.wrong_token("203.0.113.7") == pytest.approx(1.0)
    clock.now += 1
    assert limiter.wrong_token("203.0.113.7") == 0.0  # the while is over: a new minute begins


def test_twenty_wrong_tokens_spread_over_more_than_a_minute_are_never_blocked() -> None:
    clock = VirtualClock()
    limiter = WrongTokenLimiter(clock=clock)
    for _ in range(100):
        assert limiter.wrong_token("203.0.113.7") == 0.0
        clock.now += 3.1  # 20 take 62 s


def test_an_ipv6_client_counts_by_its_64_network() -> None:
    limiter = WrongTokenLimiter(clock=VirtualClock())
    for n in range(20):
        assert limiter.wrong_token(f"2001:db8:1:2::{n + 1:x}") == 0.0
    assert limiter.wrong_token("2001:db8:1:2:ffff::1") > 0  # same /64, new address
    assert limiter.wrong_token("2001:db8:1:3::1") == 0.0


def test_a_flood_of_addresses_keeps_the_limiters_memory_bounded() -> None:
    limiter = WrongTokenLimiter(clock=VirtualClock(), max_addresses=1000)
    for n in range(50_000):
        limiter.wrong_token(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")
    assert len(limiter) == 1000


async def test_the_21st_wrong_token_in_a_minute_gets_429_and_the_right_one_still_200(
    start_listener,
) -> None:
    clock = VirtualClock()
    listener: Listener = await start_listener(wrong_tokens=WrongTokenLimiter(clock=clock))
    limited = await listener.metric("ccbot_pushes_rate_limited_total")
    bad = await listener.metric("ccbot_pushes_rejected_total", reason="bad_token")
    body = json.dumps(call_body())
    wrong = listener.push_url(token="a-guessed-token-0000000000000000")
    for _ in range(20):
        assert (await listener.http.post(wrong, content=body)).status_code == 404
    answer = await listener.http.post(wrong, content=body)
    assert answer.status_code == 429 and answer.headers["retry-after"] == "300"
    # The right token from the very same address is not slowed.
    assert (await listener.post("", call_body())).status_code == 200
    assert (await listener.post("/calls", call_body())).status_code == 200
    assert len(listener.inbox_rows()) == 2
    clock.now += 100
    again = await listener.http.post(wrong, content=body)
    assert again.status_code == 429 and again.headers["retry-after"] == "200"
    assert await listener.metric("ccbot_pushes_rate_limited_total") == limited + 2
    assert await listener.metric("ccbot_pushes_rejected_total", reason="bad_token") == bad + 20
    clock.now += 200
    assert (await listener.http.post(wrong, content=body)).status_code == 404
