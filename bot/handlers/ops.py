"""/status: how this ccbot is doing, for admins."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.ext import Application, CommandHandler

from bot.handlers.base import Request, command
from bot.render import code, esc
from bot.services.access import Role
from bot.status import queue_state, version
from bot.views.relayed import duration


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{duration((now - moment).total_seconds())} ago"


@command("/status", Role.ADMIN)
async def status(req: Request) -> None:
    runtime = req.runtime
    now = datetime.now(UTC)
    state = await runtime.database.run(lambda s: queue_state(s, now))
    presence = getattr(runtime, "presence", None)
    me = presence.replica_id if presence else "this process"
    started = presence.started_at if presence else None
    lines = [
        f"<b>ccbot {esc(version())}</b> · replica {code(me)}"
        + (" (scheduler leader)" if presence and presence.is_leader else ""),
        f"Up for {duration((now - started).total_seconds()) if started else '—'} · "
        f"Telegram {esc(runtime.settings.telegram_mode)} mode",
        f"Replicas alive: {len(state.replicas)}"
        + (
            " (" + ", ".join(esc(r.replica_id) for r in state.replicas[:5]) + ")"
            if state.replicas
            else ""
        ),
        f"Pushes waiting to be relayed: {state.inbox_pending:,} · last push {_ago(state.last_push, now)}",
        f"Messages waiting to be sent: {state.outbox_pending:,} · relay lag "
        f"{duration(state.relay_lag_s(now))} · failed: {state.outbox_failed:,}",
    ]
    last = getattr(runtime.client, "last_error", None)
    if last is not None:
        lines.append(
            f"Last platform error: {esc(last.endpoint)}, code {esc(last.code)}, "
            f"{_ago(last.at, now)}: {esc(last.sentence)}"
        )
    else:
        lines.append("Last platform error: none since start")
    await req.reply("\n".join(lines))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("status", status))
