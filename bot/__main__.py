"""Command line: `ccbot run | sandbox | simulator | check | migrate | numbers check`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.logs import register_secret, setup_logging


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccbot", description="Run the Laaffic call center from Telegram."
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="bot + push listener + relay + scheduler (one command)")
    sub.add_parser("sandbox", help="the same, against the built-in platform simulator")
    sim = sub.add_parser("simulator", help="only the platform simulator")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8090)
    sim.add_argument("--push-url", default=None, help="where ringing and call-record pushes go")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    sim.add_argument("--api-key", default=None)
    sim.add_argument("--api-secret", default=None)
    sim.add_argument("--app-id", default=None)
    sub.add_parser("check", help="check configuration, database, platform and Telegram")
    sub.add_parser("migrate", help="bring the database schema up to date")
    numbers = sub.add_parser("numbers", help="number files")
    nsub = numbers.add_subparsers(dest="numbers_command", required=True, metavar="ACTION")
    nc = nsub.add_parser("check", help="check and clean a callee number file")
    nc.add_argument("file")
    nc.add_argument("--ccode", default=None, help="country code for national numbers, e.g. 91")
    nc.add_argument(
        "--out", default=None, help="write the platform-ready file here (.xls or .xlsx)"
    )
    nc.add_argument("--sheet", default=None, help="sheet name (default: the first sheet with a phone column)")
    return p


def _secrets(settings: Settings) -> None:
    for secret in (
        settings.telegram_bot_token,
        settings.laaffic_api_secret,
        settings.push_token,
        settings.telegram_webhook_secret,
    ):
        if secret is not None:
            register_secret(secret.get_secret_value())


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        if args.command == "check":  # a check report like the others: a ✗ line, exit 1
            print(f"✗ configuration: {exc}")
            print("The other checks need a readable configuration; fix it and run ccbot check again.")
            return 1
        print(f"ccbot: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.log_format)
    _secrets(settings)
    try:
        if args.command == "migrate":
            from storage.db import connect_problem, sqlite_file
            from storage.migrate import upgrade

            # The one command that creates a SQLite database (and its folder) on purpose.
            new_file = sqlite_file(settings.database_url)
            if new_file is not None and new_file.exists():
                new_file = None
            try:
                revision = upgrade(settings.database_url)
            except Exception as exc:
                problem = connect_problem(exc, settings.database_url)
                if problem is None:
                    raise
                print(f"ccbot: cannot open the database: {problem}.", file=sys.stderr)
                return 1
            if new_file is not None:
                print(f"Created the SQLite database {new_file}.")
            print(f"Database schema is up to date (revision {revision}).")
            return 0
        if args.command == "check":
            from bot.check import run_checks

            return asyncio.run(run_checks(settings))
        if args.command in ("run", "sandbox"):
            settings.require(args.command)
            if args.command == "run":  # the sandbox is a trial: it may start a new database
                from storage.db import unmounted_volume_problem

                problem = unmounted_volume_problem(settings.database_url)
                if problem is not None:
                    print(f"ccbot: will not start: {problem}.", file=sys.stderr)
                    return 2
            from bot.app import run_bot

            return run_bot(settings, sandbox=args.command == "sandbox")
        if args.command == "simulator":
            from bot.laaffic.simulator.server import serve_from_cli

            return serve_from_cli(args, settings)
        if args.command == "numbers":
            from bot.numbers.cli import check_command

            return check_command(args, settings)
    except ConfigError as exc:
        print(f"ccbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
