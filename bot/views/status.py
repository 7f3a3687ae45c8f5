"""/status: how this ccbot is doing (replicas, queues, relay lag, the last platform error)."""

from __future__ import annotations

from datetime import datetime

from bot.laaffic.transport import PlatformFailure
from bot.render import code, esc
from bot.status import QueueState
from bot.views.values import duration


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{duration((now - moment).total_seconds())} ago"


def status_message(
    *,
    version: str,
    replica: str,
    leader: bool,
    started: datetime | None,
    telegram_mode: str,
    state: QueueState,
    last_error: PlatformFailure | None,
    now: datetime,
    writes_refused: str | None = None,
) -> str:
    """`writes_refused`: why the database takes no writes (a sentence), or None."""
    lines = [
        f"<b>ccbot {esc(version)}</b> · replica {code(replica)}"
        + (" (scheduler leader)" if leader else ""),
        f"Up for {duration((now - started).total_seconds()) if started else '—'} · "
        f"Telegram {esc(telegram_mode)} mode",
        f"Replicas alive: {len(state.replicas)}"
        + (
            " (" + ", ".join(esc(r.replica_id) for r in state.replicas[:5]) + ")"
            if state.replicas
            else ""
        ),
        f"Pushes waiting to be relayed: {state.inbox_pending:,} · failed: "
        f"{state.inbox_failed:,} · last push {_ago(state.last_push, now)}",
        f"Messages waiting to be sent: {state.outbox_pending:,} · relay lag "
        f"{duration(state.relay_lag_s(now))} · failed: {state.outbox_failed:,}",
    ]
    if writes_refused is not None:  # first: it is why little else works
        lines.insert(
            0,
            f"⚠️ {esc(writes_refused[0].upper() + writes_refused[1:])}. Pushes are refused (503) "
            "until it takes writes again.",
        )
    if last_error is not None:
        lines.append(
            f"Last platform error: {esc(last_error.endpoint)}, code {esc(last_error.code)}, "
            f"{_ago(last_error.at, now)}: {esc(last_error.sentence)}"
        )
    else:
        lines.append("Last platform error: none since start")
    return "\n".join(lines)
