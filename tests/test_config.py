import subprocess
import sys

import pytest

from bot.config import ConfigError, load_settings


def test_defaults_follow_the_contract() -> None:
    s = load_settings()
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.telegram_mode == "polling"
    assert s.laaffic_base_url == "https://api.laaffic.com"
    assert s.database_url == "sqlite:///data/ccbot.db"
    assert (s.listen_host, s.listen_port) == ("0.0.0.0", 8080)
    assert s.admin_user_ids == frozenset()
    assert s.default_timezone == "UTC" and s.platform_timezone == "Asia/Shanghai"
    assert (s.log_level, s.log_format, s.number_file_format) == ("INFO", "text", "auto")


def test_env_file_and_admin_ids(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("ADMIN_USER_IDS=1, 22 ,333\nLOG_LEVEL=debug\n")
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.admin_user_ids == frozenset({1, 22, 333}) and s.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ADMIN_USER_IDS", "12,bob", "ADMIN_USER_IDS is invalid"),
        ("LISTEN_PORT", "http", "LISTEN_PORT is invalid"),
        ("TELEGRAM_MODE", "carrier-pigeon", "TELEGRAM_MODE is invalid"),
        ("DEFAULT_TIMEZONE", "Mars/Base", "IANA time zone"),
        ("DEFAULT_TIMEZONE", "Asia", "IANA time zone"),  # a directory of zones, not a zone
        ("LAAFFIC_BASE_URL", "api.laaffic.com", "http:// or https://"),
    ],
)
def test_malformed_values_give_one_line(monkeypatch, name, value, fragment) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).endswith("Fix it in the environment or .env.")


def test_required_values_are_named(monkeypatch) -> None:
    s = load_settings(telegram_bot_token="1:x")
    with pytest.raises(ConfigError, match="LAAFFIC_API_KEY is not set"):
        s.require("run")
    s = load_settings(telegram_bot_token="1:x", telegram_mode="webhook")
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_URL is not set"):
        s.require("sandbox")


def test_cli_stops_with_one_line_and_no_traceback(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LISTEN_PORT": "not-a-port"}
    r = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("ccbot: LISTEN_PORT is invalid")
    assert "Traceback" not in r.stderr
    env.pop("LISTEN_PORT")
    r = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "TELEGRAM_BOT_TOKEN is not set" in r.stderr


def test_every_malformed_value_is_named_at_once(monkeypatch) -> None:
    monkeypatch.setenv("LISTEN_PORT", "abc")
    monkeypatch.setenv("ADMIN_USER_IDS", "x,y")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "LISTEN_PORT is invalid" in str(err.value)
    assert "ADMIN_USER_IDS is invalid" in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).endswith("Fix them in the environment or .env.")


def test_check_reports_a_malformed_configuration_as_a_failed_check(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LISTEN_PORT": "abc",
           "ADMIN_USER_IDS": "x,y"}
    r = subprocess.run([sys.executable, "-m", "bot", "check"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 1, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("✗ configuration: LISTEN_PORT is invalid") and "ADMIN_USER_IDS" in first
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "data").exists()  # nothing was created


def test_cli_migrate(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DATABASE_URL": url}
    r = subprocess.run([sys.executable, "-m", "bot", "migrate"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout
