"""`ccbot simulator` as a real process, and how it picks its credentials."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.config import load_settings
from bot.laaffic.simulator.server import config_from_cli, describe
from tests.fakes.simulator import signed_headers

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_args(**given: object) -> argparse.Namespace:
    values = {
        "api_key": None,
        "api_secret": None,
        "app_id": None,
        "push_url": None,
        "seed": 1,
        "speed": 1.0,
    }
    return argparse.Namespace(**{**values, **given})


def test_ccbot_simulator_serves_signed_requests_on_its_port(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LAAFFIC_API_KEY": "envKey01",
        "LAAFFIC_API_SECRET": "envSecret99",
    }
    command = [sys.executable, "-m", "bot", "simulator", "--port", str(port), "--app-id", "flagApp1",
               "--push-url", "http://127.0.0.1:9/push/very-secret-token", "--speed", "50"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        answer = None
        while answer is None:
            assert process.poll() is None, process.communicate()
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v3/getBalance",
                    headers=signed_headers("envKey01", "envSecret99"),
                )
                answer = response.json()
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulator did not start listening"
                time.sleep(0.1)
        assert answer["status"] == "0" and answer["balance"] == "100.0000"
        wrong = httpx.get(
            f"http://127.0.0.1:{port}/v3/getBalance", headers=signed_headers("bDqJFiq9", "7bz1lzh9")
        )
        assert wrong.json()["status"] == "-1"
        group = {"appId": "flagApp1", "groupName": "cli group"}
        created = httpx.post(
            f"http://127.0.0.1:{port}/v3/cc/seatGroup/addGroup",
            json=group,
            headers=signed_headers("envKey01", "envSecret99"),
        )
        assert created.json()["status"] == "0"
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert f"http://127.0.0.1:{port}" in out and "envKey01" in out and "flagApp1" in out
    assert "http://127.0.0.1:9/…" in out
    for secret in ("envSecret99", "very-secret-token"):
        assert secret not in out and secret not in err


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "simulator", "--port", str(port)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stdout and "--port" in done.stdout


def test_without_credentials_the_documented_samples_are_used_and_said() -> None:
    config = config_from_cli(cli_args(), load_settings())
    assert (config.api_key, config.api_secret, config.app_id) == (
        "bDqJFiq9",
        "7bz1lzh9",
        "HsiT9A6d",
    )
    banner = describe(config, "http://127.0.0.1:8090")
    assert "bDqJFiq9" in banner and "public sample credentials" in banner and "HsiT9A6d" in banner
    assert "7bz1lzh9" not in banner and "7bz1lzh9" not in repr(config)
    assert "no push URL" in banner
    with_push = config_from_cli(
        cli_args(push_url="http://127.0.0.1:8080/push/tok3n-value"), load_settings()
    )
    assert "tok3n-value" not in repr(with_push) and "127.0.0.1:8080" in repr(with_push)


def test_flags_win_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("LAAFFIC_API_KEY", "fromEnv1")
    monkeypatch.setenv("LAAFFIC_API_SECRET", "envSecret")
    monkeypatch.setenv("LAAFFIC_APP_ID", "envApp01")
    config = config_from_cli(cli_args(api_key="fromFlag", speed=5.0), load_settings())
    assert (config.api_key, config.api_secret, config.app_id, config.speed) == (
        "fromFlag",
        "envSecret",
        "envApp01",
        5.0,
    )
    assert "public sample" not in describe(config, "http://x")
    from bot.laaffic.simulator import SimulatorConfig

    assert SimulatorConfig.from_env().api_key == "fromEnv1"
    assert SimulatorConfig.from_env(api_key="over").api_key == "over"


def test_the_simulator_writes_its_times_in_the_bots_platform_timezone(monkeypatch) -> None:
    assert config_from_cli(cli_args(), load_settings()).platform_timezone == "Asia/Shanghai"
    monkeypatch.setenv("PLATFORM_TIMEZONE", "America/New_York")
    config = config_from_cli(cli_args(), load_settings())
    assert config.platform_timezone == "America/New_York" and config.zone.key == "America/New_York"
