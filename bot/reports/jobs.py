"""The summary and retention jobs on PTB's JobQueue (APScheduler 3 underneath)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, time

from telegram.ext import Application, ContextTypes

from bot.reports.retention import purge_old_calls
from bot.reports.schedule import TICK_SECONDS, run_summary_tick
from bot.runtime import Runtime

log = logging.getLogger(__name__)

RETENTION_AT = time(3, 17, tzinfo=UTC)  # a quiet hour for most teams; any fixed time would do


async def _summary_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    try:
        await run_summary_tick(runtime)
    except Exception:
        log.exception("the summary tick failed; the next one retries")


async def _retention(context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime: Runtime = context.application.bot_data["runtime"]
    settings = runtime.settings
    try:
        await asyncio.to_thread(
            purge_old_calls, runtime.database, datetime.now(UTC), settings.retention_days
        )
    except Exception:
        log.exception("deleting old call records failed; tomorrow's run retries")


def schedule_report_jobs(application: Application) -> None:
    """Start the jobs; the summary tick reads every chat's schedule from the database each time,
    so nothing needs rebuilding when a chat changes it or the bot restarts."""
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is a dependency"
    queue.run_repeating(_summary_tick, interval=TICK_SECONDS, first=5, name="summary-tick")
    queue.run_daily(_retention, time=RETENTION_AT, name="retention")
    queue.run_once(_retention, when=60, name="retention-at-start")
