"""`ccbot check`: one line per check, ✓ or ✗ with what to fix; exit 1 on any ✗."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables in SQLModel.metadata)
from bot.config import REQUIRED_FOR, Settings
from storage.db import Database, connect_problem, missing_sqlite_folder, sqlite_file
from storage.migrate import alembic_config, current_revision

# Seconds the platform may take to answer the check's one query.
CHECK_READ_TIMEOUT_S = 10.0


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str


async def _check_config(settings: Settings) -> CheckResult:
    missing = []
    for name in REQUIRED_FOR["run"]:
        value = getattr(settings, name.lower())
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if not value:
            missing.append(name)
    if settings.telegram_mode == "webhook":
        missing += [
            n
            for n in ("TELEGRAM_WEBHOOK_URL", "TELEGRAM_WEBHOOK_SECRET")
            if not getattr(settings, n.lower())
        ]
    if missing:
        how = " (make PUSH_TOKEN with `openssl rand -hex 16`)" if "PUSH_TOKEN" in missing else ""
        return CheckResult(
            "configuration",
            False,
            f"not set: {', '.join(missing)}; set them in the "
            f"environment or .env (see .env.example){how}",
        )
    return CheckResult("configuration", True, f"complete ({settings.telegram_mode} mode)")


def _schema_state(db: Database, url: str) -> CheckResult:
    """A reachable database: up to date, or one `ccbot run` will migrate (✓ with that note), or
    one it cannot (✗: a newer ccbot's schema, or someone else's tables)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    current = current_revision(db.engine)
    dialect = db.engine.dialect.name
    if current == head:
        return CheckResult("database", True, f"reachable, schema up to date ({head}, {dialect})")
    if current is None:
        ours = {table.name for table in SQLModel.metadata.sorted_tables}
        present = sorted(ours & set(inspect(db.engine).get_table_names()))
        if present:
            return CheckResult(
                "database",
                False,
                f"reachable, but it holds tables named like ccbot's ({', '.join(present[:5])}) "
                "without a ccbot schema version: point DATABASE_URL at an empty database or at "
                "ccbot's own",
            )
        return CheckResult(
            "database",
            True,
            f"reachable and empty ({dialect}): `ccbot run` creates the tables at start "
            "(or run `ccbot migrate` now)",
        )
    if current not in {revision.revision for revision in script.walk_revisions()}:
        return CheckResult(
            "database",
            False,
            f"schema is at revision {current}, which this ccbot does not know (a newer ccbot "
            f"migrated it; the newest here is {head}): upgrade ccbot",
        )
    return CheckResult(
        "database",
        True,
        f"reachable, schema at revision {current}, the newest is {head} ({dialect}): "
        "`ccbot run` migrates it at start (or run `ccbot migrate` now)",
    )


def _missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file `url` names, when it does not exist yet (a check must not create it)."""
    try:
        path = sqlite_file(url)
    except Exception:  # malformed: the probe says so
        return None
    return None if path is None or path.exists() else path


async def _check_database(settings: Settings) -> CheckResult:
    def probe() -> CheckResult:
        missing = _missing_sqlite_file(settings.database_url)
        if missing is not None:
            existing = next(p for p in (missing.parent, *missing.parent.parents) if p.exists())
            if not existing.is_dir():
                return CheckResult(
                    "database",
                    False,
                    f"no SQLite file at {missing}, and it cannot be made there ({existing} is a "
                    "file, not a folder): set DATABASE_URL to a path in a folder",
                )
            if missing_sqlite_folder(settings.database_url) is not None:  # `run`'s own rule
                return CheckResult(
                    "database",
                    False,
                    f"no SQLite file at {missing}, and its folder {missing.parent} does not "
                    "exist: probably a volume that is not mounted, so `ccbot run` will not start "
                    "(it would begin a new, empty database); mount it or fix DATABASE_URL, or "
                    "run `ccbot migrate` to create the database there on purpose",
                )
            if not os.access(existing, os.W_OK | os.X_OK):
                return CheckResult(
                    "database",
                    False,
                    f"no SQLite file at {missing}, and ccbot may not create it ({existing} is not "
                    "writable): fix the folder's permissions or set DATABASE_URL",
                )
            return CheckResult(
                "database",
                True,
                f"no SQLite file yet at {missing}: `ccbot run` creates it and the schema at start "
                "(or run `ccbot migrate` now)",
            )
        db = Database(settings.database_url)
        try:
            db.engine.connect().close()
            return _schema_state(db, settings.database_url)
        finally:
            db.dispose()

    try:
        return await asyncio.to_thread(probe)
    except Exception as exc:  # unreachable, refused, a malformed URL, a missing driver
        problem = connect_problem(exc, settings.database_url)
        return CheckResult(
            "database",
            False,
            problem or f"cannot connect ({type(exc).__name__}): check DATABASE_URL",
        )


async def _check_platform(settings: Settings) -> CheckResult:
    from bot.laaffic.client import LaafficClient
    from bot.laaffic.errors import PlatformError, PlatformUnavailable

    if not (settings.laaffic_api_key and settings.laaffic_api_secret and settings.laaffic_app_id):
        return CheckResult(
            "platform",
            False,
            "credentials not set: LAAFFIC_API_KEY, LAAFFIC_API_SECRET and LAAFFIC_APP_ID",
        )
    client = LaafficClient(
        settings.laaffic_base_url,
        settings.laaffic_api_key,
        settings.laaffic_api_secret.get_secret_value(),
        settings.laaffic_app_id,
        retries=0,
        read_timeout=CHECK_READ_TIMEOUT_S,  # a check that hangs tells nobody anything
    )
    try:
        await client.query_groups(page=1, size=1)
        return CheckResult("platform", True, f"credentials accepted by {settings.laaffic_base_url}")
    except PlatformUnavailable as exc:  # no answer: where it asked is what to check
        return CheckResult(
            "platform",
            False,
            f"{settings.laaffic_base_url} did not answer ({exc.reason}): check LAAFFIC_BASE_URL "
            "and that this server can reach it",
        )
    except PlatformError as exc:
        return CheckResult("platform", False, str(exc))
    finally:
        await client.aclose()


async def _check_telegram(settings: Settings) -> CheckResult:
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError

    if not settings.telegram_bot_token:
        return CheckResult(
            "telegram", False, "TELEGRAM_BOT_TOKEN is not set: ask @BotFather for it"
        )
    api = settings.telegram_api_url
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
    )
    try:
        me = await bot.get_me()
    except InvalidToken:
        return CheckResult(
            "telegram", False, "the bot token was refused: copy it again from @BotFather"
        )
    except NetworkError:
        return CheckResult(
            "telegram", False, f"could not reach {api}: check TELEGRAM_API_URL and the network"
        )
    except TelegramError as exc:
        return CheckResult("telegram", False, f"getMe failed: {exc.message}")
    finally:
        try:
            await bot.shutdown()
        except Exception:
            pass
    privacy = "sees all group messages" if me.can_read_all_group_messages else "privacy mode on"
    return CheckResult("telegram", True, f"@{me.username} answers getMe ({privacy})")


async def _check_public_url(settings: Settings) -> CheckResult:
    """The push address from outside: PUBLIC_URL/healthz must answer, or the platform's pushes
    cannot arrive. Skipped (✓ with a note) when PUBLIC_URL is unset."""
    import httpx

    from bot.tls import client_tls

    if not settings.public_url:
        return CheckResult(
            "push address",
            True,
            "PUBLIC_URL is not set, so the public address was not checked; set it to the "
            "https root the platform pushes to",
        )
    url = f"{settings.public_url}/healthz"
    try:
        async with httpx.AsyncClient(
            timeout=10, follow_redirects=False, verify=client_tls()
        ) as http:
            answer = await http.get(url)
    except httpx.HTTPError as exc:
        return CheckResult(
            "push address",
            False,
            f"{url} could not be reached ({type(exc).__name__}): check DNS, the reverse proxy "
            f"and that ccbot run is up",
        )
    if answer.status_code != 200:
        return CheckResult(
            "push address",
            False,
            f"{url} answered HTTP {answer.status_code}, not 200: check the reverse proxy "
            f"forwards to LISTEN_PORT {settings.listen_port}",
        )
    return CheckResult(
        "push address",
        True,
        f"{settings.public_url} answers; set the platform's push address to "
        f"{settings.public_url}/push/<PUSH_TOKEN>",
    )


CHECKS: tuple[Callable, ...] = (
    _check_config,
    _check_database,
    _check_platform,
    _check_telegram,
    _check_public_url,
)


async def run_checks(settings: Settings, out=None) -> int:  # noqa: ANN001
    out = out or sys.stdout
    results = await asyncio.gather(*(check(settings) for check in CHECKS))
    for r in results:
        print(f"{'✓' if r.ok else '✗'} {r.name}: {r.detail}", file=out)
    return 0 if all(r.ok for r in results) else 1
