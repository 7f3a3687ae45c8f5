"""The scheduled jobs on PTB's JobQueue (APScheduler 3 underneath): summaries, retention and the
daily clean-up. With several replicas only the scheduler leader (bot/replicas.py) runs them; what
they write is claimed in the database as well, so a change of leader mid-run does no harm."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time

from telegram.ext import Application, ContextTypes

from bot.housekeeping import clean_up
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


def schedule_jobs(application: Application) -> None:
    """Start the jobs; the summary tick reads every chat's schedule from the database each time,
    so nothing needs rebuilding when a chat changes it or the bot restarts."""
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is a dependency"
    queue.run_repeating(_summary_tick, interval=TICK_SECONDS, first=5, name="summary-tick")
    queue.run_daily(_retention, time=RETENTION_AT, name="daily-clean-up")
    queue.run_once(_retention, when=60, name="clean-up-at-start")
