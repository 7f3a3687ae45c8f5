"""Several ccbot processes on one database: who is alive, who leads the scheduler, who polls.

- Every process keeps a heartbeat row (`replica`) fresh every few seconds; `/status` lists them.
- One scheduler leader at a time. On PostgreSQL it is whoever holds a session-level advisory lock
  on a dedicated connection: when that process dies its connection closes, the lock is released,
  and the next heartbeat of another replica takes it (within HEARTBEAT_S, well under 30 s). On
  SQLite (one machine) a single UPDATE … WHERE NOT EXISTS takes an expired lease atomically.
- Telegram allows one poller per bot: `ccbot run` in polling mode refuses to start while another
  replica's heartbeat says it polls (webhook mode is how replicas share the updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from bot import __version__
from storage.db import Database
from storage.models import Replica

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
# Server-side TCP settings of the connection that holds the leader lock (PostgreSQL GUCs; they
# apply to TCP connections, not to a Unix socket). 10 s idle + 3 probes 5 s apart, or 25 s unacknowledged.
LOCK_KEEPALIVE: dict[str, int] = {
    "tcp_keepalives_idle": 10,
    "tcp_keepalives_interval": 5,
    "tcp_keepalives_count": 3,
    "tcp_user_timeout": 25_000,  # milliseconds
}
STALE_AFTER = timedelta(seconds=20)  # three missed heartbeats and more
_LEADER_LOCK_ID = 0x63636273  # "cccs": the scheduler leader, shared by every replica


class AnotherPoller(RuntimeError):
    """Another live replica polls Telegram; this one must not."""


def new_replica_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(2)}"


def _previous_life(row: Replica) -> bool:
    """A fresh row left by a process of this machine that is gone (killed and restarted within
    STALE_AFTER, e.g. a container restart: same hostname, and its pid is ours or not running)."""
    if row.hostname != socket.gethostname()[:128]:
        return False
    if row.pid == os.getpid():
        return True
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def live_replicas(session: Session, now: datetime) -> list[Replica]:
    rows = session.exec(
        select(Replica)
        .where(col(Replica.last_seen) > now - STALE_AFTER)
        .order_by(col(Replica.started_at))
    )
    return list(rows)


class ReplicaPresence:
    """This process's row, its heartbeat, and whether it leads the scheduled jobs."""

    def __init__(
        self,
        database: Database,
        telegram_mode: str,
        *,
        replica_id: str | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.database = database
        self.telegram_mode = telegram_mode
        self.replica_id = replica_id or new_replica_id()
        self.heartbeat_s = heartbeat_s
        self.is_leader = False
        self.started_at = datetime.now(UTC)
        self._lock_conn: Connection | None = None
        self._task: asyncio.Task[None] | None = None

    # -- start and stop ------------------------------------------------------------------------

    async def start(self) -> None:
        """Register; refuse when polling while another replica polls; start the heartbeat."""
        now = datetime.now(UTC)

        def register(session: Session) -> list[Replica]:
            others = [
                r
                for r in live_replicas(session, now)
                if r.replica_id != self.replica_id
                and r.telegram_mode == "polling"
                and not _previous_life(r)
            ]
            if self.telegram_mode == "polling" and others:
                return others
            session.merge(self._own_row(now))
            return []

        pollers = await self.database.run(register)
        if pollers:
            raise AnotherPoller(
                f"another ccbot replica ({pollers[0].replica_id}) is already polling Telegram "
                f"with this database, and Telegram allows one poller per bot. Stop it, or run "
                f"every replica with TELEGRAM_MODE=webhook behind your load balancer."
            )
        await self.beat()
        self._task = asyncio.create_task(self._loop(), name="replica-heartbeat")

    def _own_row(self, now: datetime) -> Replica:
        """This process's row in the replica table, as it registers (and comes back if pruned)."""
        return Replica(
            replica_id=self.replica_id,
            hostname=socket.gethostname()[:128],
            pid=os.getpid(),
            version=__version__,
            telegram_mode=self.telegram_mode,
            started_at=self.started_at,
            last_seen=now,
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self._release)

        def leave(session: Session) -> None:
            row = session.get(Replica, self.replica_id)
            if row is not None:
                session.delete(row)

        with contextlib.suppress(Exception):
            await self.database.run(leave)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self.beat()
            except Exception:
                log.exception("replica heartbeat failed; retrying")

    # -- the heartbeat and the leadership ------------------------------------------------------

    async def beat(self) -> None:
        leader = await asyncio.to_thread(self._hold_leadership)
        now = datetime.now(UTC)

        def touch(session: Session) -> bool:
            row = session.get(Replica, self.replica_id)
            if row is None:  # pruned while we were stalled: come back
                row = self._own_row(now)
            row.last_seen = now
            session.add(row)
            session.flush()
            if self.database.is_sqlite:
                return _sqlite_lease(session, self.replica_id, now)
            row.is_leader = leader
            session.add(row)
            return leader

        was = self.is_leader
        self.is_leader = await self.database.run(touch)
        if self.is_leader != was:
            log.info(
                "replica %s %s the scheduler leader",
                self.replica_id,
                "is now" if self.is_leader else "is no longer",
            )

    def _hold_leadership(self) -> bool:
        """PostgreSQL: keep (or try to take) the advisory lock on a dedicated connection."""
        if self.database.is_sqlite:
            return False
        try:
            if self._lock_conn is None:
                self._lock_conn = self.database.engine.connect()
                # A leader whose host vanishes (power, network) sends no FIN: without these the
                # server keeps its session, and the lock, until the kernel's keepalive gives up
                # (about 2 h by default). With them PostgreSQL drops it within about 30 s.
                for setting, value in LOCK_KEEPALIVE.items():
                    self._lock_conn.execute(text(f"SET {setting} = {int(value)}"))
                got = self._lock_conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": _LEADER_LOCK_ID}
                ).scalar()
                self._lock_conn.commit()
                if not got:
                    self._release()
                    return False
                return True
            self._lock_conn.execute(text("SELECT 1"))  # still alive: the lock is still ours
            self._lock_conn.commit()
            return True
        except Exception:
            log.warning("lost the connection that held the scheduler lock")
            self._release()
            return False

    def _release(self) -> None:
        if self._lock_conn is not None:
            # Invalidate, not close: a pooled connection would keep the session-level lock.
            with contextlib.suppress(Exception):
                self._lock_conn.invalidate()
            with contextlib.suppress(Exception):
                self._lock_conn.close()
            self._lock_conn = None


def _sqlite_lease(session: Session, replica_id: str, now: datetime) -> bool:
    """Take the leadership if no other live replica holds it (one statement: atomic in SQLite)."""
    session.execute(
        text(
            # Leader exactly when no other live replica is; a leader that was thought dead and
            # comes back steps down here instead of leading twice.
            "UPDATE replica SET is_leader = CASE WHEN EXISTS ("
            "SELECT 1 FROM replica AS other WHERE other.is_leader = 1 "
            "AND other.replica_id != :me AND other.last_seen > :fresh) THEN 0 ELSE 1 END "
            "WHERE replica_id = :me"
        ),
        {"me": replica_id, "fresh": (now - STALE_AFTER).strftime("%Y-%m-%d %H:%M:%S.%f")},
    )
    row = session.get(Replica, replica_id)
    session.refresh(row)
    return bool(row and row.is_leader)
