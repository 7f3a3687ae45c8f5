"""The audit log of platform calls: who asked (a context variable set by the handlers) + the
client's outcome of each call, written to the database."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass

from storage.db import Database
from storage.models import AuditEntry
from storage.queries import add_audit_entry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    chat_id: int | None
    command: str | None


current_actor: ContextVar[Actor | None] = ContextVar("current_actor", default=None)


class AuditRecorder:
    """The platform client's observer: one audit row per platform call."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def __call__(self, outcome) -> None:  # noqa: ANN001  (bot.laaffic.client.CallOutcome)
        actor = current_actor.get()
        entry = AuditEntry(
            user_id=actor.user_id if actor else None,
            chat_id=actor.chat_id if actor else None,
            command=(actor.command or "")[:64] if actor else None,
            endpoint=outcome.endpoint[:128],
            arguments=json.dumps(outcome.arguments, ensure_ascii=False, default=str)[:4000],
            result_code=None if outcome.code is None else str(outcome.code)[:16],
            ok=outcome.ok,
            duration_ms=outcome.duration_ms,
            error=outcome.error,
        )
        try:
            await self.database.run(lambda s: add_audit_entry(s, entry))
        except Exception:
            log.exception("could not write the audit entry for %s", outcome.endpoint)
