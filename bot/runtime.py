"""What every part of the running bot shares: settings, database, platform client, and the
long-running parts `BotService` (bot/app.py) starts and stops: the relay, the sender, the inbox
writer and the replica heartbeat (None until started, and in unit tests that need none)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Settings
from bot.numbers.worker import NumberChecker
from storage.db import Database, WriteHealth

if TYPE_CHECKING:
    from bot.delivery.sender import Sender
    from bot.laaffic.client import LaafficClient
    from bot.relay.ingest import InboxWriter
    from bot.replicas import ReplicaPresence


class RelayHandle(Protocol):
    """What the rest of the bot uses of the relay, in this process or in a child."""

    on_relayed: list[Callable[[], None]]

    @property
    def running(self) -> bool: ...

    @property
    def last_cycle_at(self) -> float | None: ...

    def wake(self) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    database: Database
    client: LaafficClient
    # The in-process simulator in `ccbot sandbox`; None against the real platform.
    simulator: Any = None
    number_checker: NumberChecker = field(default_factory=NumberChecker)
    # This process's replica row and scheduler leadership (bot/replicas.py).
    presence: ReplicaPresence | None = None
    # The relay worker: in this process (RelayWorker) or in a child (bot/processes.py).
    relay: RelayHandle | None = None
    # The only way messages of the outbox leave (bot/delivery/sender.py).
    sender: Sender | None = None
    # Commits the listener's pushes before it answers (bot/relay/ingest.py).
    inbox: InboxWriter | None = None
    # Whether the database takes writes, as the listener's health checks know it (/status).
    write_health: WriteHealth | None = None
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
