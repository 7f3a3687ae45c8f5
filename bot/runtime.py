"""What every part of the running bot shares: settings, database, platform client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.numbers.worker import NumberChecker
from storage.db import Database

if TYPE_CHECKING:
    from bot.laaffic.client import LaafficClient


@dataclass
class Runtime:
    settings: Settings
    database: Database
    client: LaafficClient
    # The in-process simulator in `ccbot sandbox`; None against the real platform.
    simulator: Any = None
    number_checker: NumberChecker = field(default_factory=NumberChecker)
    # This process's replica row and scheduler leadership (bot/replicas.py); None in unit tests.
    presence: Any = None
    bot_username: str | None = None
    can_read_all_group_messages: bool = False
    # When Telegram last refused getUpdates because another process polls with this token
    # (time.monotonic()); /readyz reports it for a minute.
    polling_conflict_at: float | None = None

    async def database_ok(self) -> bool:
        import asyncio

        return await asyncio.to_thread(self.database.ping)

    @property
    def leads_jobs(self) -> bool:
        """Whether this process runs the scheduled jobs (the leader, or the only process)."""
        return self.presence is None or bool(self.presence.is_leader)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_user_ids
