"""The scheduled jobs on PTB's JobQueue (APScheduler 3 underneath): summaries, retention and the
daily clean-up. With several replicas only the scheduler leader (bot/replicas.py) runs them; what
they write is claimed in the database as well, so a change of leader mid-run does no harm."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time

from telegram.ext import Application, ContextTypes

from bot.alerts.checks import BALANCE_EVERY_S, CHECK_EVERY_S, check_balance, check_tasks
from bot.housekeeping import clean_up
from bot.laaffic.errors import PlatformError
from bot.reports.retention import purge_old_calls
from bot.reports.schedule import TICK_SECONDS, run_summary_tick
from bot.runtime import Runtime

log = logging.getLogger(__name__)

RETENTION_AT = time(3, 17, tzinfo=UTC)  # a quiet hour for most teams; any fixed time would do


async def _summary_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    if not runtime.leads_jobs:
        return
    try:
        await run_summary_tick(runtime)
    except Exception:
        log.exception("the summary tick failed; the next one retries")


async def _retention(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    if not runtime.leads_jobs:
        return
    settings = runtime.settings
    now = datetime.now(UTC)
    try:
        await asyncio.to_thread(purge_old_calls, runtime.database, now, settings.retention_days)
    except Exception:
        log.exception("deleting old call records failed; tomorrow's run retries")
    try:
        await asyncio.to_thread(clean_up, runtime.database, now, settings.expire_after_days)
    except Exception:
        log.exception("the daily clean-up failed; tomorrow's run retries")


async def _alert_checks(context: ContextTypes.DEFAULT_TYPE) -> None:
    """no-pushes and task-stalled: the leader's minute."""
    runtime: Runtime = context.application.bot_data["runtime"]
    if not runtime.leads_jobs:
        return
    settings = runtime.settings
    try:
        await runtime.database.run(
            lambda s: check_tasks(
                s, datetime.now(UTC), settings.default_zone, settings.admin_user_ids
            )
        )
    except Exception:
        log.exception("the alert checks failed; the next minute retries")


async def _balance_check(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The balance rule: the account's balance read once for every chat, by the leader."""
    runtime: Runtime = context.application.bot_data["runtime"]
    if not runtime.leads_jobs:
        return
    try:
        balance = (await runtime.client.balance()).balance
        zone = runtime.settings.default_zone
        await runtime.database.run(lambda s: check_balance(s, balance, datetime.now(UTC), zone))
    except PlatformError as exc:
        log.warning("the balance alert could not read the balance: %s", exc)
    except Exception:
        log.exception("the balance check failed; the next one retries")


def schedule_jobs(application: Application) -> None:
    """Start the jobs; the summary tick reads every chat's schedule from the database each time,
    so nothing needs rebuilding when a chat changes it or the bot restarts."""
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is a dependency"
    queue.run_repeating(_summary_tick, interval=TICK_SECONDS, first=5, name="summary-tick")
    queue.run_daily(_retention, time=RETENTION_AT, name="daily-clean-up")
    queue.run_repeating(_alert_checks, interval=CHECK_EVERY_S, first=30, name="alert-checks")
    queue.run_repeating(_balance_check, interval=BALANCE_EVERY_S, first=45, name="alert-balance")
    queue.run_once(_retention, when=60, name="clean-up-at-start")
