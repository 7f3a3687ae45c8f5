import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


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
        ("TELEGRAM_WEBHOOK_SECRET", "my secret!", "may hold only letters A-Z and a-z, digits"),
        ("TELEGRAM_WEBHOOK_SECRET", "x" * 257, "(1 to 256 of them)"),
        ("TELEGRAM_WEBHOOK_URL", "bot.example.com", "must start with https://"),
        # `openssl rand -base64 24` makes tokens like this one: no push address could match it.
        ("PUSH_TOKEN", "q8Zr/2kT+Wm1xPz9dLs4vN7bYc", "may not contain /, ?, #, % or spaces"),
        ("PUSH_TOKEN", "token with spaces", "may not contain /, ?, #, % or spaces"),
        ("PUSH_TOKEN", "a" * 40, "fewer than 8 different characters"),
        ("PUSH_TOKEN", "12" * 12, "fewer than 8 different characters"),
    ],
)
def test_malformed_values_give_one_line(monkeypatch, name, value, fragment) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).endswith("Fix it in the environment or .env.")
    if "SECRET" in name or "TOKEN" in name:
        assert value not in str(err.value)


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


def test_check_with_the_example_env_file_as_copied_names_what_is_missing(tmp_path) -> None:
    # The set-up's first step is `cp .env.example .env`; every secret in it is `NAME=` (blank).
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    (tmp_path / ".env").write_text(
        (tmp_path / ".env").read_text().replace("DATABASE_URL=sqlite:///data/ccbot.db",
                                                f"DATABASE_URL=sqlite:///{tmp_path / 'c.db'}")
        .replace("LAAFFIC_BASE_URL=https://api.laaffic.com", "LAAFFIC_BASE_URL=http://127.0.0.1:9")
        .replace("TELEGRAM_API_URL=https://api.telegram.org", "TELEGRAM_API_URL=http://127.0.0.1:9")
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "bot", "check"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert r.returncode == 1
    assert "✗ telegram: TELEGRAM_BOT_TOKEN is not set: ask @BotFather for it" in r.stdout
    assert "✗ configuration: not set: TELEGRAM_BOT_TOKEN, LAAFFIC_API_KEY" in r.stdout


def test_blank_secrets_and_credentials_count_as_unset() -> None:
    s = load_settings(telegram_bot_token="", push_token=" ", laaffic_api_key="",
                      telegram_webhook_url="")
    assert s.telegram_bot_token is None and s.push_token is None
    assert s.laaffic_api_key is None and s.telegram_webhook_url is None


@pytest.mark.parametrize("command", ["migrate", "run"])
def test_a_database_that_cannot_be_opened_stops_migrate_and_run_with_one_line(
    tmp_path, command
) -> None:
    (tmp_path / "afile").write_text("not a folder")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": "1:x",
           "LAAFFIC_API_KEY": "k", "LAAFFIC_API_SECRET": "s", "LAAFFIC_APP_ID": "a",
           "PUSH_TOKEN": "push-token-for-the-test", "LISTEN_HOST": "127.0.0.1",
           "LISTEN_PORT": "0", "TELEGRAM_API_URL": "http://127.0.0.1:9"}
    cases = {
        f"sqlite:///{tmp_path / 'afile' / 'c.db'}": "cannot make the folder for the SQLite file",
        "mysql://ccbot:hunter2secret@db/ccbot": "DATABASE_URL names a mysql database",
        "postgresql://ccbot:hunter2secret@127.0.0.1:1/ccbot":
            "PostgreSQL at 127.0.0.1:1 did not answer (Connection refused)",
    }
    for url, fragment in cases.items():
        r = subprocess.run([sys.executable, "-m", "bot", command], capture_output=True,
                           text=True, env={**env, "DATABASE_URL": url}, cwd=tmp_path, timeout=60)
        assert r.returncode == 1, r.stderr
        assert "Traceback" not in r.stderr, r.stderr[-2000:]
        assert f"ccbot: cannot open the database: {fragment}" in r.stderr, r.stderr[-2000:]
        assert "hunter2secret" not in r.stdout + r.stderr


def test_a_listen_host_that_is_no_address_stops_run_with_one_line(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TELEGRAM_BOT_TOKEN": "1:x",
           "LAAFFIC_API_KEY": "k", "LAAFFIC_API_SECRET": "s", "LAAFFIC_APP_ID": "a",
           "PUSH_TOKEN": "push-token-for-the-test", "LISTEN_HOST": "no-such-host.invalid",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "TELEGRAM_API_URL": "http://127.0.0.1:9"}
    r = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "ccbot: cannot listen on no-such-host.invalid:8080 (" in r.stderr
    assert "choose another LISTEN_PORT or LISTEN_HOST." in r.stderr
