"""Replicas on one database: heartbeats, one scheduler leader, a takeover when it dies, and the
refusal to poll twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.replicas import LOCK_KEEPALIVE, AnotherPoller, ReplicaPresence
from storage.db import Database
from storage.models import Replica


async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for `condition` (a heartbeat every 0.1 s brings it); the timeout is a hang guard."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_one_leader_and_a_takeover_when_it_dies(database: Database) -> None:
    first = ReplicaPresence(database, "webhook", replica_id="first", heartbeat_s=0.1)
    second = ReplicaPresence(
        Database(database.url), "webhook", replica_id="second", heartbeat_s=0.1
    )
    await first.start()  # start() beats once: the first to start leads
    await second.start()
    try:
        assert (first.is_leader, second.is_leader) == (True, False)
        # The leader dies without a word: its heartbeat stops and (PostgreSQL) its connection
        # with the advisory lock closes.
        first._task.cancel()
        first._release()
        if database.is_sqlite:  # the lease expires when the heartbeat is stale
            with database.session() as s:
                row = s.get(Replica, "first")
                row.last_seen = row.last_seen.replace(year=2000)
                s.add(row)
        await until(lambda: second.is_leader, "the second replica to take over")
    finally:
        await second.stop()
        first._task = None
        await first.stop()
        second.database.dispose()


async def test_a_second_poller_is_refused_with_a_sentence(database: Database) -> None:
    import os
    import socket
    from datetime import UTC, datetime

    # A live poller: on another machine, or another running process on this one.
    for replica_id, host, pid in (
        ("other-host-poller", "other-host", 1),
        ("local-poller", socket.gethostname(), os.getppid()),
    ):
        with database.session() as s:
            s.add(
                Replica(
                    replica_id=replica_id,
                    hostname=host,
                    pid=pid,
                    telegram_mode="polling",
                    last_seen=datetime.now(UTC),
                )
            )
        with pytest.raises(AnotherPoller, match="already polling Telegram"):
            await ReplicaPresence(database, "polling", replica_id="late").start()
        webhook = ReplicaPresence(database, "webhook", replica_id="hooked")
        await webhook.start()  # webhook replicas may run beside it
        await webhook.stop()
        with database.session() as s:
            s.delete(s.get(Replica, replica_id))  # that poller stops cleanly
    again = ReplicaPresence(database, "polling", replica_id="next")
    await again.start()  # polling is free again
    await again.stop()
    with database.session() as s:
        assert s.exec(select(Replica)).all() == []


async def test_a_restart_after_a_crash_is_not_taken_for_another_poller(database: Database) -> None:
    """kill -9 leaves a fresh heartbeat row behind; a dead pid on this machine is a past life."""
    import os
    import socket
    import sys
    from datetime import UTC, datetime

    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import os; print(os.getpid())", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await child.communicate()
    dead_pid = int(out)
    with database.session() as s:
        s.add(
            Replica(
                replica_id="crashed",
                hostname=socket.gethostname(),
                pid=dead_pid,
                telegram_mode="polling",
                last_seen=datetime.now(UTC),
            )
        )
        s.add(
            Replica(
                replica_id="elsewhere",
                hostname="other-host",
                pid=os.getpid(),
                telegram_mode="webhook",
                last_seen=datetime.now(UTC),
            )
        )
    restarted = ReplicaPresence(database, "polling", replica_id="restarted")
    await restarted.start()
    await restarted.stop()


async def test_the_leader_lock_connection_is_dropped_soon_when_its_host_vanishes(
    database: Database,
) -> None:
    """A leader whose machine loses power sends nothing; the server must give up its session (and
    the lock) in well under the 30 s a takeover may take, not after the kernel's 2 h default."""
    if database.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite's lease expires with the heartbeat")
    leader = ReplicaPresence(database, "webhook", replica_id="leader", heartbeat_s=0.1)
    await leader.start()
    try:
        await until(lambda: leader.is_leader, "the replica to lead")
        conn = leader._lock_conn
        assert conn is not None
        if conn.execute(text("SELECT inet_server_addr()")).scalar() is None:
            pytest.skip("connected over a Unix socket, where TCP keepalives do not apply")
        shown = {name: conn.execute(text(f"SHOW {name}")).scalar() for name in LOCK_KEEPALIVE}
        assert shown == {
            "tcp_keepalives_idle": "10",  # seconds
            "tcp_keepalives_interval": "5",
            "tcp_keepalives_count": "3",
            "tcp_user_timeout": "25000",  # milliseconds
        }
    finally:
        await leader.stop()
