"""A push answered 200 survives `kill -9` of the bot: the real `ccbot run` process, killed with
SIGKILL right after the last acknowledgement while other pushes are still in flight; and `kill -9`
of either child process of `ccbot run` (the push listener, the relay): the parent starts a new one
and nothing acknowledged is lost or left unrelayed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
from sqlmodel import Session, select

from storage.db import Database
from storage.models import PushInbox
from tests.fakes.processes import free_port, run_env, start_ccbot, wait_until_healthy
from tests.listener.conftest import PUSH_TOKEN, call_body, ringing_body

ACKNOWLEDGED = 200
SENDERS = 16


async def test_every_acknowledged_push_survives_kill_9(
    fake_telegram, database_url: str, tmp_path
) -> None:
    port = free_port()
    env = run_env(
        tmp_path, fake_telegram, database_url=database_url, port=port, push_token=PUSH_TOKEN
    )
    proc = await start_ccbot("run", env=env, cwd=tmp_path)
    acknowledged: list[str] = []
    refused: list[int] = []
    enough = asyncio.Event()
    try:
        await wait_until_healthy(proc, port)
        async with httpx.AsyncClient(timeout=10) as http:
            url = f"http://127.0.0.1:{port}/push/{PUSH_TOKEN}"

            async def sender(n: int) -> None:
                i = 0
                while not enough.is_set():
                    i += 1
                    body = json.dumps(ringing_body() if (n + i) % 3 == 0 else call_body())
                    try:
                        response = await http.post(url, content=body)
                    except httpx.TransportError:
                        return  # killed while this one was in flight: not acknowledged
                    if response.status_code != 200:
                        refused.append(response.status_code)
                        continue
                    # A 200 read after the kill was still sent by the bot: it counts too.
                    acknowledged.append(body)
                    if len(acknowledged) >= ACKNOWLEDGED and not enough.is_set():
                        # SIGKILL at once, with the other senders' pushes still in flight.
                        proc.kill()
                        enough.set()

            await asyncio.gather(*(sender(n) for n in range(SENDERS)))
    finally:
        if proc.returncode is None:
            proc.kill()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    log = err.decode()
    # Killed, not stopped: it never began its clean stop ("bot.app stopping"). Its status is -9;
    # under load asyncio's child watcher sometimes loses a killed child's status and reports 255
    # instead (its warning "Unknown child process pid …, will report returncode 255").
    assert proc.returncode in (-9, 255), log[-3000:]
    assert "bot.app stopping" not in log, log[-3000:]
    assert refused == []
    assert PUSH_TOKEN not in log

    database = Database(database_url)
    try:
        with Session(database.engine) as session:
            stored = [row.body for row in session.exec(select(PushInbox))]
    finally:
        database.dispose()
    missing = [body for body in acknowledged if body not in set(stored)]
    assert len(acknowledged) >= ACKNOWLEDGED and missing == []
    # Pushes in flight at the kill may or may not have been committed; none is stored twice.
    assert len(stored) == len(set(stored)) and len(stored) >= ACKNOWLEDGED


# ---- the children of `ccbot run`: the push listener and the relay (bot/processes.py) ------------


def _children(pid: int) -> dict[str, int]:
    """The descendants of `pid` by name (`ccbot-push`, `ccbot-relay`: children of the fork
    server `ccbot run` starts), read from /proc."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # a killed child not yet reaped is no longer there
            parents[int(entry)] = (int(fields[1]), name)
    found: dict[str, int] = {}
    for child, (_, name) in parents.items():
        ancestor = child
        while ancestor in parents and ancestor != pid:
            ancestor = parents[ancestor][0]
        if ancestor == pid and child != pid and name.startswith("ccbot-"):
            found[name] = child
    return found


async def _wait_for_child(pid: int, name: str, *, not_pid: int | None = None) -> int:
    """The pid of `pid`'s child `name` (another than `not_pid`), once it is there."""
    deadline = asyncio.get_running_loop().time() + 60  # hang guard: a child starts in seconds
    while True:
        child = _children(pid).get(name)
        if child is not None and child != not_pid:
            return child
        assert asyncio.get_running_loop().time() < deadline, f"no new {name} process"
        await asyncio.sleep(0.05)


def _inbox(database_url: str) -> list[PushInbox]:
    database = Database(database_url)
    try:
        with Session(database.engine) as session:
            return list(session.exec(select(PushInbox)))
    finally:
        database.dispose()


class _Acknowledged:
    """The bodies answered 200, and a wait for their number to reach a mark."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self._grew = asyncio.Event()

    def add(self, body: str) -> None:
        self.bodies.append(body)
        self._grew.set()

    async def reach(self, count: int) -> None:
        while len(self.bodies) < count:
            self._grew.clear()
            await self._grew.wait()


async def _post_until(
    http: httpx.AsyncClient, url: str, enough: asyncio.Event, acknowledged: _Acknowledged
) -> None:
    """Post pushes until `enough`; a push counts as acknowledged only when answered 200."""
    i = 0
    while not enough.is_set():
        i += 1
        body = json.dumps(ringing_body() if i % 3 == 0 else call_body())
        try:
            response = await http.post(url, content=body)
        except httpx.TransportError:
            continue  # the listener process was killed under this request: not acknowledged
        if response.status_code == 200:
            acknowledged.add(body)


async def test_a_killed_push_listener_process_is_replaced_and_loses_no_acknowledged_push(
    fake_telegram, database_url: str, tmp_path
) -> None:
    port = free_port()
    env = run_env(
        tmp_path, fake_telegram, database_url=database_url, port=port, push_token=PUSH_TOKEN
    )
    proc = await start_ccbot("run", env=env, cwd=tmp_path)
    acknowledged = _Acknowledged()
    enough = asyncio.Event()
    try:
        await wait_until_healthy(proc, port)
        first = await _wait_for_child(proc.pid, "ccbot-push")
        url = f"http://127.0.0.1:{port}/push/{PUSH_TOKEN}"
        async with httpx.AsyncClient(timeout=10) as http:
            senders = [
                asyncio.create_task(_post_until(http, url, enough, acknowledged)) for _ in range(8)
            ]
            await acknowledged.reach(ACKNOWLEDGED)
            os.kill(first, signal.SIGKILL)  # with pushes in flight
            second = await _wait_for_child(proc.pid, "ccbot-push", not_pid=first)
            await wait_until_healthy(proc, port)  # the new one serves the port (and forwards)
            await acknowledged.reach(len(acknowledged.bodies) + 20)  # and takes pushes again
            enough.set()
            await asyncio.gather(*senders)
        assert proc.returncode is None and second != first
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    log = err.decode()
    assert proc.returncode == 0, log[-3000:]
    assert "the push process (pid" in log and "exited unexpectedly (killed by signal 9)" in log
    assert PUSH_TOKEN not in log
    stored = [row.body for row in _inbox(database_url)]
    assert [body for body in acknowledged.bodies if body not in set(stored)] == []
    assert len(stored) == len(set(stored))


async def test_a_killed_relay_process_is_replaced_and_every_acknowledged_push_is_relayed(
    fake_telegram, database_url: str, tmp_path
) -> None:
    port = free_port()
    env = run_env(
        tmp_path, fake_telegram, database_url=database_url, port=port, push_token=PUSH_TOKEN
    )
    proc = await start_ccbot("run", env=env, cwd=tmp_path)
    acknowledged = _Acknowledged()
    enough = asyncio.Event()
    try:
        await wait_until_healthy(proc, port)
        first = await _wait_for_child(proc.pid, "ccbot-relay")
        url = f"http://127.0.0.1:{port}/push/{PUSH_TOKEN}"
        async with httpx.AsyncClient(timeout=10) as http:
            senders = [
                asyncio.create_task(_post_until(http, url, enough, acknowledged)) for _ in range(8)
            ]
            await acknowledged.reach(ACKNOWLEDGED)
            os.kill(first, signal.SIGKILL)  # mid-batch, most likely
            second = await _wait_for_child(proc.pid, "ccbot-relay", not_pid=first)
            enough.set()
            await asyncio.gather(*senders)
            # Every push the listener took is relayed by the new relay process: the dead one's
            # claims were released, not left to expire.
            deadline = asyncio.get_running_loop().time() + 60  # hang guard
            while any(row.status != "done" for row in _inbox(database_url)):
                assert asyncio.get_running_loop().time() < deadline, "pushes left unrelayed"
                await asyncio.sleep(0.1)
            ready = (await http.get(f"http://127.0.0.1:{port}/readyz")).json()
        assert "the relay worker is not running" not in ready["problems"]
        assert second != first
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    log = err.decode()
    assert proc.returncode == 0, log[-3000:]
    assert "the relay process (pid" in log and "exited unexpectedly (killed by signal 9)" in log
    stored = _inbox(database_url)
    assert {row.body for row in stored} >= set(acknowledged.bodies)
    assert all(row.status == "done" for row in stored)


async def test_a_relay_process_that_keeps_dying_makes_the_supervisor_give_up(
    migrated_url: str,
) -> None:
    """After RESTART_LIMIT restarts within the window the supervisor stops trying and says so,
    which makes `ccbot run` exit 1 (bot/app.py `serve`) so that the container restarts. (The window
    is an hour here: the test must not depend on how fast this machine starts a child.)"""
    from bot.config import load_settings
    from bot.processes import RESTART_LIMIT, ChildFailed, RelayProcess

    settings = load_settings(database_url=migrated_url, push_token=PUSH_TOKEN)
    loop = asyncio.get_running_loop()
    gave_up: asyncio.Future[ChildFailed] = loop.create_future()
    relay = RelayProcess(
        settings, on_gave_up=gave_up.set_result, restart_window_s=3600, restart_backoff_s=(0.0,)
    )
    started = asyncio.Event()
    relay.child.on_started.append(started.set)
    await relay.start()
    try:
        for _ in range(RESTART_LIMIT):
            started.clear()
            os.kill(relay.child.pid or 0, signal.SIGKILL)
            await asyncio.wait_for(started.wait(), 60)  # hang guard; a new one, ready
        assert relay.running and relay.child.restarts == RESTART_LIMIT
        os.kill(relay.child.pid or 0, signal.SIGKILL)
        failure = await asyncio.wait_for(gave_up, 60)
        assert f"the relay process exited {RESTART_LIMIT + 1} times within 3600 s" in str(failure)
        assert not relay.running
    finally:
        await relay.stop()
