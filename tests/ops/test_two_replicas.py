"""Two real `ccbot run` processes on one PostgreSQL, in webhook mode, both taking pushes; the
scheduler leader is killed with SIGKILL in the middle. What must hold across the two processes:

- every push answered 200 is relayed into its chat exactly once (the survivor takes over the dead
  one's leases);
- one daily summary per chat: a summary due while both run is sent once (by the leader), and the
  summaries that fall due after the leader died are sent once by the survivor, which takes the
  leadership (the PostgreSQL advisory lock) within 30 s;
- pacing: the relay schedule of a chat lives in `chat_pacing`, so the messages of a group never
  come closer than one per `relay_group_interval` from both replicas together (less the
  documented catch-up), and Telegram (the fake, with its flood limits on) never has to say 429.

A chat's summary falls due when the test says so, not at a wall-clock minute: its `summary_time`
is set to the minute before now and `bound_at` to an hour ago, so exactly one summary (of the
local day before) is owed at the next tick (bot/reports/schedule.py: the summary of local day d is
due at `summary_time` on day d + 1, unless the chat was bound after that).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select

from bot.delivery.pacing import EDIT_METHODS, NEW_MESSAGE_METHODS, FloodLimits
from bot.replicas import _LEADER_LOCK_ID
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    BoundChat,
    CallRollup,
    DailySummary,
    GroupRoute,
    OutboxMessage,
    OutboxStatus,
    PushInbox,
    Replica,
    RingingEvent,
)
from tests.fakes.processes import free_port, start_ccbot, wait_until_healthy, webhook_env

PUSH_TOKEN = "two-replicas-push-token-0123456789"
PUSHES = 40
PUSH_GAP_S = 0.2  # pushes arrive spread out, so both replicas send to the same chats


class Team:
    def __init__(self, chat_id: int, group: str, voice_group_id: int, zone: str) -> None:
        self.chat_id = chat_id
        self.group = group
        self.voice_group_id = voice_group_id
        self.zone = ZoneInfo(zone)


# Pushes alternate between the first two; the third only gets its summary, due from the start.
TEAM_A = Team(-1001234567890, "Replica-Team", 1000001, "UTC")
TEAM_B = Team(-1001234567891, "Replica-Kolkata", 1000002, "Asia/Kolkata")
TEAM_C = Team(-1001234567892, "Replica-NewYork", 1000003, "America/New_York")
TEAMS = (TEAM_A, TEAM_B, TEAM_C)
PUSH_TEAMS = (TEAM_A, TEAM_B)

# What bot/delivery/pacing.py documents for several replicas: a group's relay messages are at least
# relay_group_interval apart, except that one that went up to relay_catch_up late keeps the
# cadence; and a send is never followed sooner than that after its answer came, so however long
# it took, Telegram (the fake stamps a call as it answers it) sees them that far apart.
# CLOCK_SLACK_S is for the three processes reading one clock at slightly different moments.
LIMITS = FloodLimits()
CLOCK_SLACK_S = 0.01


def _env(fake_telegram, database_url: str, port: int, home) -> dict[str, str]:  # noqa: ANN001
    # Neither the relay nor a summary calls the platform here.
    return webhook_env(
        home,
        fake_telegram,
        webhook_secret="two-replicas-webhook-secret",
        database_url=database_url,
        port=port,
        push_token=PUSH_TOKEN,
    )


def _open_log(path: Path):  # noqa: ANN202
    return path.open("wb")


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def _started(port: int, proc, log: Path) -> None:  # noqa: ANN001
    try:
        await wait_until_healthy(proc, port, interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_tail(log)}") from None


def _callee(i: int) -> str:
    return f"91987650{i:04d}"


def _bind(session: Session, team: Team, now: datetime) -> None:
    """Bound just now, with a summary time half a day away: nothing is due until the test says."""
    later = now.astimezone(team.zone) + timedelta(hours=12)
    session.add(
        BoundChat(
            chat_id=team.chat_id,
            title=team.group,
            chat_type="supergroup",
            bound_by=1,
            bound_at=now,
            summary_time=f"{later:%H:%M}",
            summary_timezone=team.zone.key,
        )
    )
    session.add(
        GroupRoute(voice_group_id=team.voice_group_id, chat_id=team.chat_id, group_name=team.group)
    )


def _make_due(database: Database, teams: tuple[Team, ...]) -> dict[int, date]:
    """Each team's summary is due from now on (summary time: the minute before now; bound an
    hour ago), with calls on the day it covers so it comes with its chart; returns that day."""
    now = datetime.now(UTC)
    days = {}
    with database.session() as s:
        for team in teams:
            at = now.astimezone(team.zone).replace(second=0, microsecond=0) - timedelta(minutes=1)
            day = at.date() - timedelta(days=1)  # the summary of day d is due on day d + 1
            chat = s.get(BoundChat, team.chat_id)
            assert chat is not None
            chat.summary_time = f"{at:%H:%M}"
            chat.bound_at = now - timedelta(hours=1)
            s.add(chat)
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=team.zone)
            bucket = noon.astimezone(UTC).replace(minute=0)  # every zone here is a whole quarter
            s.add(
                CallRollup(
                    chat_id=team.chat_id,
                    bucket_start=bucket,
                    group_name=team.group,
                    calls=7,
                    answered=5,
                    talk_seconds=640,
                )
            )
            days[team.chat_id] = day
    return days


def _replica_rows(database: Database) -> dict[int, bool]:
    """pid → is_leader, as the heartbeats last wrote them."""
    with Session(database.engine) as s:
        return {row.pid: row.is_leader for row in s.exec(select(Replica))}


def _replica_row(database: Database, pid: int) -> Replica:
    with Session(database.engine) as s:
        row = s.exec(select(Replica).where(Replica.pid == pid)).one()
        s.expunge(row)
        return row


def _lock_holders(database: Database) -> int:
    """Sessions holding the scheduler's advisory lock in this database."""
    with database.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objid = :key AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"key": _LEADER_LOCK_ID},
        ).scalar_one()


def _settled(database: Database, chat_id: int) -> bool:
    """The chat's summary is recorded as sent, and no message is being sent right now."""
    with Session(database.engine) as s:
        summary = s.exec(
            select(OutboxMessage.status)
            .join(DailySummary, DailySummary.outbox_id == OutboxMessage.id)  # type: ignore[arg-type]
            .where(DailySummary.chat_id == chat_id)
        ).first()
        sending = s.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING.value)
        ).one()
    return summary == OutboxStatus.SENT.value and not sending


def _summary_calls(fake_telegram, chat_id: int) -> list:  # noqa: ANN001
    return [
        c
        for c in fake_telegram.sent
        if c.chat_id == chat_id and c.ok and "Daily summary" in (c.text or "")
    ]


def _pacing_breaches(times: list[float]) -> list[tuple[int, int, float]]:
    """Pairs of sends (i, j) closer than the schedule allows: j - i intervals, less the
    catch-up."""
    floor = LIMITS.relay_catch_up + CLOCK_SLACK_S
    interval = LIMITS.relay_group_interval
    return [
        (i, j, round(times[j] - times[i], 3))
        for i in range(len(times))
        for j in range(i + 1, len(times))
        if times[j] - times[i] < (j - i) * interval - floor
    ]


@pytest.mark.timeout(300)
async def test_two_replicas_relay_once_summarise_once_and_keep_pacing_when_the_leader_is_killed(
    fake_telegram_factory, database_url: str, tmp_path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("replicas share one PostgreSQL")
    fake_telegram = fake_telegram_factory(flood_limits=True)
    upgrade(database_url)
    database = Database(database_url)
    with database.session() as s:
        now = datetime.now(UTC)
        for team in TEAMS:
            _bind(s, team, now)
    summary_days = _make_due(database, (TEAM_C,))  # due while both replicas run
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"replica-{n}.log" for n in range(2)]
    procs = []
    for port, log in zip(ports, logs, strict=True):
        with _open_log(log) as out:
            procs.append(
                await start_ccbot(
                    "run",
                    env=_env(fake_telegram, database_url, port, tmp_path),
                    cwd=tmp_path,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=out,
                )
            )

    def logged() -> str:
        return "\n".join(f"--- replica {n} ---\n{_tail(log)}" for n, log in enumerate(logs))

    acknowledged: list[int] = []
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for port, proc, log in zip(ports, procs, logs, strict=True):
                await _started(port, proc, log)
            # Exactly one of the two leads the scheduler.
            deadline = time.monotonic() + 30
            while True:
                rows = _replica_rows(database)
                leaders = [p for p in procs if rows.get(p.pid)]
                if all(p.pid in rows for p in procs) and len(leaders) == 1:
                    break
                assert time.monotonic() < deadline, (rows, logged())
                await asyncio.sleep(0.2)
            assert _lock_holders(database) == 1
            leader = procs.index(leaders[0])
            survivor = 1 - leader

            async def push(i: int, port: int) -> None:
                team = PUSH_TEAMS[i % len(PUSH_TEAMS)]
                body = [
                    {
                        "callId": f"R{i:05d}",
                        "called": _callee(i),
                        "noAnswerSipList": [],
                        "type": 1,
                        "sipAccount": "agent_001",
                        "callinEventTime": "2026-12-01 18:35:00",
                        "seatGroupName": team.group,
                    }
                ]
                answer = await http.post(
                    f"http://127.0.0.1:{port}/push/{PUSH_TOKEN}", content=json.dumps(body)
                )
                if answer.status_code == 200:
                    acknowledged.append(i)
                await asyncio.sleep(PUSH_GAP_S)

            for i in range(PUSHES // 2):
                await push(i, ports[(i // len(PUSH_TEAMS)) % 2])  # each team's via both
            # The summary due from the start goes out while both replicas run (the first tick
            # is 5 s after start). The kill waits for it to be recorded as sent, and for a moment
            # when no message is between its claim and its record: a process killed after
            # Telegram took a message and before it wrote that down is the one case where a
            # message can show twice (see bot/delivery/sender.py), and this test is not about it.
            deadline = time.monotonic() + 90
            while not _settled(database, TEAM_C.chat_id):
                assert time.monotonic() < deadline, logged()
                await asyncio.sleep(0.05)

            procs[leader].kill()  # SIGKILL: no clean stop, its leases and its lock stay behind
            await procs[leader].wait()
            killed_at = time.monotonic()
            summary_days |= _make_due(database, (TEAM_A, TEAM_B))  # due after the leader died
            for i in range(PUSHES // 2, PUSHES):
                await push(i, ports[survivor])

            # The survivor takes the lock at its next heartbeat (bot/replicas.py: within
            # HEARTBEAT_S, well under 30 s). Counted in its heartbeats, not in seconds, so a loaded
            # machine cannot fail it: the beats it wrote as a follower since the kill are the one
            # before it, perhaps one under way, and one of slack for PostgreSQL to end the dead
            # session. The deadline is only a hang guard.
            follower_beats: set[datetime] = set()
            while True:
                row = _replica_row(database, procs[survivor].pid)
                if row.is_leader:
                    break
                follower_beats.add(row.last_seen)
                assert time.monotonic() < killed_at + 120, (
                    "the survivor did not take over the scheduler\n" + logged()
                )
                await asyncio.sleep(0.2)
            assert len(follower_beats) <= 3, (sorted(follower_beats), logged())
            assert _lock_holders(database) == 1

            # The survivor relays everything (the dead replica's claimed rows after their lease)
            # and sends the summaries at its next tick (every 30 s).
            deadline = time.monotonic() + 120
            while True:
                with Session(database.engine) as s:
                    unrelayed = s.exec(
                        select(func.count())
                        .select_from(PushInbox)
                        .where(PushInbox.status != "done")
                    ).one()
                    unsent = s.exec(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
                    ).one()
                    # Each chat's summary, claimed and its message sent (not only claimed: the
                    # wait must end on the messages themselves, not on a moment between them).
                    summaries = s.exec(
                        select(func.count(func.distinct(DailySummary.chat_id)))
                        .select_from(DailySummary)
                        .join(OutboxMessage, OutboxMessage.id == DailySummary.outbox_id)  # type: ignore[arg-type]
                        .where(OutboxMessage.status == "sent")
                    ).one()
                if not unrelayed and not unsent and summaries == len(TEAMS):
                    break
                assert time.monotonic() < deadline, (unrelayed, unsent, summaries, logged())
                await asyncio.sleep(0.5)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 30)
    # Killed, not stopped (as in test_kill9: asyncio may report a killed child's lost status as 255).
    assert procs[leader].returncode in (-9, 255)
    assert "bot.app stopping" not in logs[leader].read_text(errors="replace")
    assert len(acknowledged) == PUSHES  # the survivor kept answering
    with Session(database.engine) as s:
        assert s.exec(select(func.count()).select_from(RingingEvent)).one() == PUSHES
        failed = s.exec(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
        ).one()
        claimed = {row.chat_id: row for row in s.exec(select(DailySummary))}
        summary_rows = {
            chat_id: s.get(OutboxMessage, row.outbox_id) for chat_id, row in claimed.items()
        }
    database.dispose()
    assert failed == 0
    calls = fake_telegram.sent

    # Every event in some message of its chat (merged messages list each one), and none twice.
    for n, team in enumerate(PUSH_TEAMS):
        shown = "\n".join(c.text or "" for c in calls if c.chat_id == team.chat_id and c.ok)
        digits = "".join(ch for ch in shown if ch.isdigit() or ch == "\n")
        for i in acknowledged:
            assert digits.count(_callee(i)) == (i % len(PUSH_TEAMS) == n), (i, team.group, shown)

    # One summary per chat, of the day that was due, with its chart, sent once.
    assert set(claimed) == {team.chat_id for team in TEAMS}
    for team in TEAMS:
        row = claimed[team.chat_id]
        assert row.local_date == summary_days[team.chat_id], team.group
        assert not row.late, team.group
        message = summary_rows[team.chat_id]
        assert message is not None and message.status == "sent", team.group
        sent = _summary_calls(fake_telegram, team.chat_id)
        assert len(sent) == 1, (team.group, [c.summary() for c in sent])
        photos = [c for c in calls if c.chat_id == team.chat_id and c.method == "sendPhoto"]
        assert len(photos) == 1, team.group

    # Pacing across both replicas, per group chat, as Telegram saw it.
    paced = NEW_MESSAGE_METHODS | EDIT_METHODS
    for team in TEAMS:
        times = [c.time for c in calls if c.chat_id == team.chat_id and c.ok and c.method in paced]
        breaches = _pacing_breaches(times)
        assert not breaches, (team.group, breaches, [round(t - times[0], 3) for t in times])
    assert not fake_telegram.flood_refusals, [c.summary() for c in fake_telegram.flood_refusals]
    assert not [c for c in calls if c.status == 429]
