"""Serving the simulator over HTTP: inside a running loop (sandbox, tests) or as `ccbot simulator`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field

from bot.config import Settings
from bot.http_server import AsgiServer, start_asgi_server
from bot.laaffic.simulator.app import Simulator
from bot.laaffic.simulator.config import (
    SAMPLE_API_KEY,
    SAMPLE_API_SECRET,
    SAMPLE_APP_ID,
    SimulatorConfig,
    url_origin,
)

log = logging.getLogger(__name__)


@dataclass
class RunningServer(AsgiServer):
    simulator: Simulator = field(default=None, repr=False)  # type: ignore[assignment]


async def start_simulator_server(
    config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    """Start the simulator in the CURRENT loop; `await running.stop()` ends it (and its call engine)."""
    simulator = Simulator(config)
    served = await start_asgi_server(simulator.app, host, port, date_header=False)
    return RunningServer(served.base_url, served.port, served._server, served._task, simulator)


def describe(config: SimulatorConfig, base_url: str) -> str:
    """What a user needs to point a client at the simulator. Never shows the API secret."""
    lines = [f"Laaffic platform simulator on {base_url} (set LAAFFIC_BASE_URL={base_url})"]
    if config.uses_sample_credentials:
        lines.append(
            f"  Api-Key {config.api_key}, application {config.app_id}: the public sample credentials"
            " of the platform docs, secret included. Set LAAFFIC_API_KEY, LAAFFIC_API_SECRET and"
            " LAAFFIC_APP_ID (or --api-key, --api-secret, --app-id) to use others."
        )
    else:
        lines.append(
            f"  Api-Key {config.api_key}, application {config.app_id} (the API secret is not shown)"
        )
    if config.extra_app_ids:
        lines.append(f"  other applications of this account: {', '.join(config.extra_app_ids)}")
    if config.push_url:
        lines.append(
            f"  ringing events and call records are pushed to {url_origin(config.push_url)}"
        )
    else:
        lines.append("  no push URL: call records are kept for record/query, nothing is pushed")
    lines.append(
        f"  speed x{config.speed:g}, seed {config.seed}. Nothing real is dialled or charged."
    )
    return "\n".join(lines)


def config_from_settings(settings: Settings, **overrides: object) -> SimulatorConfig:
    """LAAFFIC_* settings (environment or .env), else the documented sample credentials; and
    PLATFORM_TIMEZONE.

    `overrides` are SimulatorConfig fields; None means "not given". For `ccbot sandbox` and the CLI.
    """
    secret = settings.laaffic_api_secret.get_secret_value() if settings.laaffic_api_secret else None
    values: dict[str, object] = {
        "api_key": settings.laaffic_api_key or SAMPLE_API_KEY,
        "api_secret": secret or SAMPLE_API_SECRET,
        "app_id": settings.laaffic_app_id or SAMPLE_APP_ID,
        # The simulator writes its times in the zone the bot reads them in.
        "platform_timezone": settings.platform_timezone,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return SimulatorConfig(**values)  # type: ignore[arg-type]


def config_from_cli(args: argparse.Namespace, settings: Settings) -> SimulatorConfig:
    """CLI flags win over LAAFFIC_* settings, which win over the documented sample credentials."""
    return config_from_settings(
        settings,
        api_key=args.api_key,
        api_secret=args.api_secret,
        app_id=args.app_id,
        push_url=args.push_url,
        seed=args.seed,
        speed=args.speed,
    )


def serve_from_cli(args: argparse.Namespace, settings: Settings) -> int:
    """`ccbot simulator`: serve until SIGINT/SIGTERM. Returns the exit code."""
    try:
        config = config_from_cli(args, settings)
    except ValueError as exc:
        print(f"ccbot simulator: {exc}")
        return 2
    return asyncio.run(_serve_forever(config, args.host, args.port))


async def _serve_forever(config: SimulatorConfig, host: str, port: int) -> int:
    simulator = Simulator(config)
    try:
        served = await start_asgi_server(
            simulator.app, host, port, access_log=True, date_header=False
        )
    except OSError as exc:
        print(
            f"ccbot simulator: cannot listen on {host}:{port}: {exc.strerror or exc}. Choose another --port."
        )
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(describe(config, served.base_url), flush=True)
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, served._task}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    await served.stop()
    print("Simulator stopped.", flush=True)
    return 0
