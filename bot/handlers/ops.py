"""/status: how this ccbot is doing, for admins."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.ext import Application, CommandHandler

from bot.handlers.base import Request, command
from bot.i18n import _
from bot.services.access import Role
from bot.status import queue_state, refused_writes, version
from bot.views import status as views


@command("/status", Role.ADMIN)
async def status(req: Request) -> None:
    runtime = req.runtime
    now = datetime.now(UTC)
    state = await runtime.database.run(lambda s: queue_state(s, now))
    presence = runtime.presence
    me = presence.replica_id if presence else _("this process")
    started = presence.started_at if presence else None
    await req.reply(
        views.status_message(
            version=version(),
            replica=me,
            leader=bool(presence and presence.is_leader),
            started=started,
            telegram_mode=runtime.settings.telegram_mode,
            state=state,
            last_error=getattr(runtime.client, "last_error", None),
            now=now,
            writes_refused=refused_writes(runtime.write_health),
        )
    )


def register(application: Application) -> None:
    application.add_handler(CommandHandler("status", status))
