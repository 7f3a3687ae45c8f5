"""Deployment files: the Dockerfile's health check against a real listener, the compose files as
docker-compose reads them, the Caddyfile, the Prometheus rules (promtool) and the Grafana dashboard.

Tools that may be missing (docker-compose, caddy, promtool) make their test skip with the reason;
no container engine is needed for any of it. hadolint runs in `make lint`.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.app import BotService
from tests.bot.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

# The metric names of the contract (bot/metrics.py); the dashboard and the alerts use exactly these.
METRICS = {
    "ccbot_pushes_received_total": {"kind"},
    "ccbot_pushes_duplicate_total": {"kind"},
    "ccbot_pushes_rejected_total": {"reason"},
    "ccbot_pushes_rate_limited_total": set(),
    "ccbot_pushes_failed_total": {"reason"},
    "ccbot_push_commit_seconds": set(),
    "ccbot_database_writes_refused": {"reason"},
    "ccbot_relay_lag_seconds": set(),
    "ccbot_inbox_depth": set(),
    "ccbot_outbox_depth": set(),
    "ccbot_messages_sent_total": {"kind"},
    "ccbot_messages_retried_total": {"reason"},
    "ccbot_messages_failed_total": {"reason"},
    "ccbot_platform_calls_total": {"endpoint", "code"},
    "ccbot_platform_call_seconds": {"endpoint"},
    "ccbot_platform_errors_total": {"endpoint", "code"},
}
HISTOGRAMS = {"ccbot_push_commit_seconds", "ccbot_platform_call_seconds"}
_METRIC_RE = re.compile(r"\bccbot_[a-z_]+")


def _tool(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(f"{' / '.join(names)} is not installed (Debian: apt-get install {names[0]})")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------- Dockerfile


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _final_stage() -> list[str]:
    lines = _dockerfile()
    starts = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    return lines[starts[-1] :]


def _healthcheck_command() -> list[str]:
    (line,) = [line for line in _dockerfile() if line.startswith("HEALTHCHECK ")]
    return json.loads(line.split(" CMD ", 1)[1])


def test_the_image_is_built_in_two_stages_and_runs_as_a_non_root_user() -> None:
    lines = _dockerfile()
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2 and all("python:3.11-slim" in line for line in froms)
    final = _final_stage()
    assert not any("pip wheel" in line or "COPY bot" in line for line in final)
    assert "COPY --from=build /opt/ccbot /opt/ccbot" in final
    (user,) = [line.split()[1] for line in final if line.startswith("USER ")]
    assert user.split(":")[0] not in ("0", "root")
    assert 'VOLUME ["/data"]' in final and "EXPOSE 8080" in final
    assert "STOPSIGNAL SIGTERM" in final
    assert any("DATABASE_URL=sqlite:////data/ccbot.db" in line for line in final)


async def test_the_docker_health_check_passes_on_a_running_listener(
    fake_telegram, simulator, tmp_path
) -> None:
    port = _free_port()
    settings = make_settings(
        fake_telegram, simulator, f"sqlite:///{tmp_path / 'h.db'}", listen_port=port
    )
    command = _healthcheck_command()
    assert command[0] == "python"
    env = {"LISTEN_PORT": str(port)}
    service = BotService(settings)
    await service.start()
    try:
        up = await asyncio.create_subprocess_exec(sys.executable, *command[1:], env=env)
        assert await up.wait() == 0
    finally:
        await service.stop()
    down = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env=env, stderr=asyncio.subprocess.DEVNULL
    )
    assert await down.wait() != 0  # nothing listens any more


@pytest.fixture
def unhealthy_listener() -> Iterator[int]:
    """A server that answers /healthz with 503, as the listener does when the database is down."""

    class Unavailable(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b'{"status": "unavailable"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_docker_health_check_fails_when_healthz_answers_503(unhealthy_listener: int) -> None:
    command = _healthcheck_command()
    done = subprocess.run(
        [sys.executable, *command[1:]],
        env={"LISTEN_PORT": str(unhealthy_listener)},
        capture_output=True,
        timeout=20,
    )
    assert done.returncode != 0 and b"503" in done.stderr


def test_only_the_package_sources_go_into_the_build_context() -> None:
    rules = (ROOT / ".dockerignore").read_text().split()
    assert rules[0] != "!" and "**" in rules
    assert {"!pyproject.toml", "!README.md", "!bot/", "!storage/"} <= set(rules)
    assert "!.env" not in rules  # the secrets file never reaches the image


# ------------------------------------------------------------------------------------- compose

ENV_FILE = (
    "TELEGRAM_BOT_TOKEN=123456:example-token-for-the-compose-check-000\n"
    "LAAFFIC_API_KEY=key\nLAAFFIC_API_SECRET=secret\nLAAFFIC_APP_ID=app\n"
    "PUSH_TOKEN=push-token-example\nPOSTGRES_PASSWORD=pgpass123\n"
    "PUBLIC_URL=https://bot.example.com\nTELEGRAM_WEBHOOK_SECRET=hook-secret-example\n"
    # as in .env.example; compose must override it with PostgreSQL
    "DATABASE_URL=sqlite:///data/ccbot.db\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the compose files and deploy/ with a complete .env beside them."""
    shutil.copy(ROOT / "docker-compose.yml", tmp_path)
    shutil.copytree(DEPLOY, tmp_path / "deploy")
    (tmp_path / ".env").write_text(ENV_FILE)
    return tmp_path


def _compose_config(project: Path, compose_file: str, env: dict[str, str] | None = None):
    tool = _tool("docker-compose")
    return subprocess.run(
        [tool, "--env-file", str(project / ".env"), "-f", str(project / compose_file), "config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )


def test_compose_runs_ccbot_after_a_healthy_postgres(project: Path) -> None:
    done = _compose_config(project, "docker-compose.yml")
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    postgres, ccbot = config["services"]["postgres"], config["services"]["ccbot"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["volumes"][0].startswith("pgdata:/var/lib/postgresql/data")
    assert ccbot["depends_on"]["postgres"]["condition"] == "service_healthy"
    environment = ccbot["environment"]
    assert environment["PUSH_TOKEN"] == "push-token-example"  # from .env
    assert environment["DATABASE_URL"] == (
        "postgresql+psycopg://ccbot:pgpass123@postgres:5432/ccbot"
    )
    assert ccbot["volumes"][0].startswith("ccbot-data:/data")
    assert {"pgdata", "ccbot-data"} <= set(config["volumes"])


def test_compose_refuses_to_start_without_a_database_password(project: Path) -> None:
    (project / ".env").write_text(ENV_FILE.replace("POSTGRES_PASSWORD=pgpass123\n", ""))
    done = _compose_config(project, "docker-compose.yml")
    assert done.returncode != 0 and "set POSTGRES_PASSWORD in .env" in done.stderr


def test_the_replicas_file_runs_two_webhook_replicas_behind_caddy(project: Path) -> None:
    done = _compose_config(project, "deploy/docker-compose.replicas.yml")
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    replicas = {name: s for name, s in services.items() if name.startswith("ccbot-")}
    assert sorted(replicas) == ["ccbot-1", "ccbot-2"]
    for replica in replicas.values():
        env = replica["environment"]
        assert env["TELEGRAM_MODE"] == "webhook"
        assert env["TELEGRAM_WEBHOOK_URL"] == "https://bot.example.com"
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://ccbot:pgpass123@postgres:")
        assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert Path(replica["build"]["context"]) == project  # the repository root
        assert "ports" not in replica  # only the proxy is reachable from outside
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    mount = next(v for v in proxy["volumes"] if "Caddyfile" in str(v))
    source = mount["source"] if isinstance(mount, dict) else mount.split(":")[0]
    assert Path(source) == project / "deploy" / "caddy" / "Caddyfile"


def test_the_replicas_file_names_the_missing_public_url(project: Path) -> None:
    (project / ".env").write_text(ENV_FILE.replace("PUBLIC_URL=https://bot.example.com\n", ""))
    done = _compose_config(project, "deploy/docker-compose.replicas.yml")
    assert done.returncode != 0 and "set PUBLIC_URL in .env" in done.stderr


def test_the_caddyfile_is_valid_and_spreads_over_both_replicas() -> None:
    text = (DEPLOY / "caddy" / "Caddyfile").read_text()
    assert "reverse_proxy ccbot-1:8080 ccbot-2:8080" in text and "health_uri /healthz" in text
    caddy = _tool("caddy")
    done = subprocess.run(
        [
            caddy,
            "validate",
            "--config",
            str(DEPLOY / "caddy" / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PUBLIC_URL": "https://bot.example.com", "HOME": "/tmp"},
    )
    assert done.returncode == 0, done.stderr[-2000:]


# ---------------------------------------------------------------------------------- monitoring


def _used_metrics(expressions: list[str]) -> set[str]:
    names = set()
    for expr in expressions:
        for name in _METRIC_RE.findall(expr):
            for suffix in ("_bucket", "_sum", "_count"):
                if name.removesuffix(suffix) in HISTOGRAMS:
                    name = name.removesuffix(suffix)
            names.add(name)
    return names


def test_the_alert_rules_cover_what_the_issue_asks_with_contract_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    by_name = {r["alert"]: r for group in rules["groups"] for r in group["rules"]}
    assert by_name["CcbotRelayLagHigh"]["expr"] == "max(ccbot_relay_lag_seconds) > 60"
    assert "ccbot_messages_failed_total" in by_name["CcbotMessagesFailed"]["expr"]
    assert "ccbot_pushes_rejected_total" in by_name["CcbotPushesRejected"]["expr"]
    assert "ccbot_pushes_failed_total" in by_name["CcbotPushesFailed"]["expr"]
    assert "ccbot_pushes_rate_limited_total" in by_name["CcbotPushesRateLimited"]["expr"]
    assert "by (endpoint, code)" in by_name["CcbotPlatformErrors"]["expr"]
    assert "ccbot_database_writes_refused" in by_name["CcbotDatabaseRefusesWrites"]["expr"]
    assert by_name["CcbotDatabaseRefusesWrites"]["labels"]["severity"] == "critical"
    for rule in by_name.values():
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    assert _used_metrics([r["expr"] for r in by_name.values()]) <= set(METRICS)


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    promtool = _tool("promtool")
    for args in (
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
        ["check", "config", "prometheus.yml"],
    ):
        done = subprocess.run(
            [promtool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_shows_every_contract_metric_and_no_other() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "ccbot.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    expressions = [t["expr"] for p in panels for t in p["targets"]]
    assert _used_metrics(expressions) == set(METRICS)
    for expr in expressions:  # grouping only by labels the metric has
        for by in re.findall(r"by \(([^)]*)\)", expr):
            labels = {label.strip() for label in by.split(",")} - {"le"}
            (metric,) = _used_metrics([expr])
            assert labels <= METRICS[metric], expr
        assert 'instance=~"$instance"' in expr
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()  # no two panels overlap on the grid
    for p in dashboard["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24
        area = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not area & cells, p["title"]
        cells |= area
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "instance"} <= variables
