"""/status: how this ccbot is doing (replicas, queues, relay lag, the last platform error)."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import _
from bot.laaffic.transport import PlatformFailure
from bot.render import code, esc
from bot.status import QueueState, RefusedWrites
from bot.views.values import duration
from storage.db import WriteRefusal


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return _("never")
    return _("{duration} ago", duration=duration((now - moment).total_seconds()))


def _refused_writes(refused: RefusedWrites) -> str:
    """The first line while the database refuses writes (the driver's words stay as it said them:
    they are for whoever fixes the database)."""
    values = {"detail": esc(refused.detail), "lasted": duration(refused.for_s)}
    if refused.reason == WriteRefusal.DATABASE_FULL:
        return _(
            "⚠️ The database refuses writes: its disk is full ({detail}) for {lasted}. Pushes are "
            "refused (503) until it takes writes again.",
            **values,
        )
    return _(
        "⚠️ The database takes no writes ({detail}) for {lasted}. Pushes are refused (503) until "
        "it takes writes again.",
        **values,
    )


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
    writes_refused: RefusedWrites | None = None,
) -> str:
    """`writes_refused`: why the database takes no writes, or None while it takes them."""
    lines = [
        _(
            "<b>ccbot {version}</b> · replica {replica}",
            version=esc(version),
            replica=code(replica),
        )
        + (_(" (scheduler leader)") if leader else ""),
        _(
            "Up for {value} · Telegram {telegram_mode} mode",
            value=duration((now - started).total_seconds()) if started else "—",
            telegram_mode=esc(telegram_mode),
        ),
        _(
            "Replicas alive: {count}",
            count=len(state.replicas),
        )
        + (
            " (" + ", ".join(esc(r.replica_id) for r in state.replicas[:5]) + ")"
            if state.replicas
            else ""
        ),
        _(
            "Pushes waiting to be relayed: {inbox_pending} · failed: {inbox_failed} · last push "
            "{ago}",
            inbox_pending=f"{state.inbox_pending:,}",
            inbox_failed=f"{state.inbox_failed:,}",
            ago=_ago(state.last_push, now),
        ),
        _(
            "Messages waiting to be sent: {outbox_pending} · relay lag {relay_lag_s} · failed: "
            "{outbox_failed}",
            outbox_pending=f"{state.outbox_pending:,}",
            relay_lag_s=duration(state.relay_lag_s(now)),
            outbox_failed=f"{state.outbox_failed:,}",
        ),
    ]
    if writes_refused is not None:  # first: it is why little else works
        lines.insert(0, _refused_writes(writes_refused))
    if last_error is not None:
        lines.append(
            _(
                "Last platform error: {endpoint}, code {code}, {ago}: {sentence}",
                endpoint=esc(last_error.endpoint),
                code=esc(last_error.code),
                ago=_ago(last_error.at, now),
                sentence=esc(last_error.sentence),
            )
        )
    else:
        lines.append(_("Last platform error: none since start"))
    return "\n".join(lines)
