"""A database that refuses writes (a full disk) is seen: pushes get 503 counted by reason, /healthz
and /readyz answer 503 naming it, /status still answers, and the admins get one private message
when writes stop and one when they come back; on SQLite and PostgreSQL.

The disk is filled for real as far as the database can tell: on SQLite every connection of the
process is capped with `PRAGMA max_page_count` and a filler table takes the room left, so writes
fail with SQLITE_FULL ("database or disk is full") until the filler is dropped; on PostgreSQL a
trigger on every table raises disk_full (SQLSTATE 53100), as PostgreSQL does when it cannot extend
a file.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import Pool
from telegram import Bot

import bot.health
from bot.app import BotService
from bot.health import WriteNotices
from storage.db import Database, WriteHealth, normalise_url, sqlite_file
from tests.bot.conftest import ADMIN, PUSH_TOKEN, QUICK_RETRIES, BotHarness, make_settings
from tests.listener.conftest import call_body

HEADROOM_PAGES = 200  # room for the bot's own writes before the disk "fills"
REFUSED = "Pushes from the platform are answered 503"  # the notice, not /status
RECOVERED = "The database takes writes again"


class Disk:
    """The database's disk, filled and freed by the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_file(url)
        self.max_pages = 0

    @contextmanager
    def capped(self) -> Iterator[None]:
        """Every SQLite connection the process opens from now on may grow the file only to
        `max_pages` (set now, with headroom): the room a disk has left."""
        if self.path is None:
            yield
            return
        with self._connect() as conn:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
        self.max_pages = pages + HEADROOM_PAGES

        def cap(dbapi_connection: Any, _record: Any) -> None:
            if isinstance(dbapi_connection, sqlite3.Connection):
                dbapi_connection.execute(f"PRAGMA max_page_count = {self.max_pages}")

        event.listen(Pool, "connect", cap)
        try:
            yield
        finally:
            event.remove(Pool, "connect", cap)

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA synchronous = OFF")
        if self.max_pages:
            conn.execute(f"PRAGMA max_page_count = {self.max_pages}")
        return conn

    def fill(self) -> None:
        if self.path is None:
            self._postgres(
                "CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file: No space left on device' "
                "USING ERRCODE = 'disk_full'; END $$"
            )
            # One table per transaction: locking them all at once deadlocks with the bot's own.
            for table in self._postgres_tables():
                self._postgres(
                    f'CREATE TRIGGER test_disk_full BEFORE INSERT OR UPDATE ON "{table}" '
                    "FOR EACH STATEMENT EXECUTE FUNCTION test_disk_full()"
                )
            return
        with self._connect() as conn:
            conn.execute("CREATE TABLE filler (b BLOB)")
            # Whole pages first, then what is left of the last ones, also in the inbox's own
            # pages (rows already relayed, which the relay worker leaves alone): a write that
            # needs any room at all fails, as on a full disk.
            fills = [
                ("INSERT INTO filler VALUES (randomblob(?))", (3000, 500, 50)),
                (
                    "INSERT INTO push_inbox (kind, body, received_at, status, attempts) "
                    "VALUES ('call', hex(randomblob(?)), '2025-01-01 00:00:00.000000', 'done', 0)",
                    (500, 50, 1),
                ),
            ]
            for statement, sizes in fills:
                for size in sizes:
                    while True:
                        try:
                            conn.execute(statement, (size,))
                        except sqlite3.OperationalError as exc:
                            assert exc.sqlite_errorcode == sqlite3.SQLITE_FULL, exc
                            break

    def free(self) -> None:
        if self.path is None:
            for table in self._postgres_tables():
                self._postgres(f'DROP TRIGGER test_disk_full ON "{table}"')
            self._postgres("DROP FUNCTION test_disk_full()")
            return
        with self._connect() as conn:
            conn.execute("DROP TABLE filler")

    def _postgres_tables(self) -> list[str]:
        engine = create_engine(normalise_url(self.url))
        try:
            with engine.connect() as conn:
                query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                return [row[0] for row in conn.execute(text(query))]
        finally:
            engine.dispose()

    def _postgres(self, statement: str) -> None:
        engine = create_engine(normalise_url(self.url))
        try:
            with engine.begin() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()


@pytest.fixture
async def full_disk(
    fake_telegram: Any, simulator: Any, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[BotHarness, Disk, httpx.AsyncClient]]:
    # Every /healthz while writes are refused tries one (the real pace is every 5 s).
    monkeypatch.setattr(bot.health, "WRITE_RETRY_S", 0.0)
    # The admins are told once a refusal has lasted this long (the real wait is 20 s).
    monkeypatch.setattr(bot.health, "NOTICE_AFTER_S", 0.0)
    disk = Disk(migrated_url)
    with disk.capped():
        service = BotService(
            make_settings(fake_telegram, simulator, migrated_url), platform_options=QUICK_RETRIES
        )
        await service.start()
        try:
            async with httpx.AsyncClient(base_url=service.listener_url, timeout=10) as http:
                yield BotHarness(service, fake_telegram, simulator), disk, http
        finally:
            await service.stop()


async def push(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post(f"/push/{PUSH_TOKEN}", json=call_body())


async def metric(http: httpx.AsyncClient, name: str, reason: str = "database_full") -> float:
    answer = await http.get("/metrics")
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == {"reason": reason}:
                return sample.value
    raise AssertionError(f"{name}{{reason={reason!r}}} is not on /metrics")


async def refused_pushes(http: httpx.AsyncClient) -> float:
    return await metric(http, "ccbot_pushes_rejected_total")


async def writes_refused(http: httpx.AsyncClient) -> float:
    return await metric(http, "ccbot_database_writes_refused")


def notices(harness: BotHarness, words: str) -> list[Any]:
    return [c for c in harness.telegram.calls_of("sendMessage", ADMIN) if words in (c.text or "")]


async def test_a_full_disk_is_answered_503_named_on_health_and_told_to_the_admins_once(
    full_disk: tuple[BotHarness, Disk, httpx.AsyncClient],
) -> None:
    harness, disk, http = full_disk
    assert (await push(http)).status_code == 200
    healthy = await http.get("/healthz")
    assert healthy.status_code == 200 and healthy.json()["writes"] == "ok"
    counted = await refused_pushes(http)
    assert await writes_refused(http) == 0
    mark = harness.telegram.mark()

    disk.fill()
    answers = [(await push(http)).status_code for _ in range(40)]
    assert 503 in answers, answers  # a push that still fitted in a half-empty page got 200
    first = answers.index(503)
    assert set(answers[first:]) == {503}, answers
    assert await refused_pushes(http) - counted == len(answers) - first
    assert await writes_refused(http) == 1

    health = await http.get("/healthz")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "unavailable" and body["writes"] == "database_full"
    assert body["database"].startswith("the database refuses writes: its disk is full (")
    ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert [p for p in ready.json()["problems"] if p.startswith("the database refuses writes")]

    notice = await harness.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN and REFUSED in (c.text or ""),
        10,
        since=mark,
    )
    words = re.sub(r"<[^>]+>", "", notice.text)
    assert words.startswith("⚠️ The database refuses writes: its disk is full ("), words
    assert "Free space on the database's disk" in words

    # Reads still work: /status answers, and says what is wrong first.
    status = await harness.say(ADMIN, ADMIN, "/status")
    assert status.text.startswith("⚠️ The database refuses writes: its disk is full ("), status.text
    assert "Pushes waiting to be relayed" in status.text

    disk.free()
    recovered = await http.get("/healthz")  # its probe write goes through now
    assert recovered.status_code == 200, recovered.json()
    assert recovered.json()["writes"] == "ok"
    assert await writes_refused(http) == 0
    assert (await push(http)).status_code == 200
    problems = (await http.get("/readyz")).json()["problems"]
    assert not [p for p in problems if "refuses writes" in p], problems
    await harness.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN and RECOVERED in (c.text or ""),
        10,
        since=mark,
    )
    # One message when writes stopped, however many pushes and probes were refused; one when
    # they came back.
    assert len(notices(harness, REFUSED)) == 1
    assert len(notices(harness, RECOVERED)) == 1


async def test_with_no_push_coming_healthz_finds_the_full_disk_itself_and_then_its_end(
    full_disk: tuple[BotHarness, Disk, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    harness, disk, http = full_disk
    monkeypatch.setattr(bot.health, "WRITE_IDLE_S", 0.0)  # the real pace: a probe a minute
    assert (await http.get("/healthz")).status_code == 200
    mark = harness.telegram.mark()

    disk.fill()
    health = await http.get("/healthz")
    assert health.status_code == 503 and health.json()["writes"] == "database_full"
    assert await writes_refused(http) == 1
    await harness.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN and REFUSED in (c.text or ""),
        10,
        since=mark,
    )
    assert (await http.get("/healthz")).status_code == 503  # probed again, still refused

    disk.free()
    assert (await http.get("/healthz")).status_code == 200
    await harness.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN and RECOVERED in (c.text or ""),
        10,
        since=mark,
    )
    assert len(notices(harness, REFUSED)) == 1 and len(notices(harness, RECOVERED)) == 1


async def test_a_refusal_shorter_than_the_notice_wait_is_told_to_nobody(
    fake_telegram: Any, database: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One commit failed by a restarted PostgreSQL's dropped connection, then the next went through.
    monkeypatch.setattr(bot.health, "NOTICE_AFTER_S", 3600.0)
    conn = sqlite3.connect(tmp_path / "tiny.db", isolation_level=None)
    conn.execute("CREATE TABLE t (b BLOB)")
    conn.execute("PRAGMA max_page_count = 1")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("INSERT INTO t VALUES (randomblob(100000))")
    conn.close()
    async with Bot(fake_telegram.token, base_url=f"{fake_telegram.url}/bot") as telegram_bot:
        told = WriteNotices(telegram_bot, database, [ADMIN])
        health = WriteHealth()
        health.listeners.append(told)
        health.failed(full.value)
        assert health.refused
        health.committed()
        await told.flush()
    assert fake_telegram.calls_of("sendMessage", ADMIN) == []


async def test_an_admin_whose_telegram_reads_chinese_is_told_and_shown_the_refusal_in_chinese(
    full_disk: tuple[BotHarness, Disk, httpx.AsyncClient],
) -> None:
    harness, disk, http = full_disk
    harness.telegram.state.set_language(ADMIN, "zh-hans")
    await harness.say(ADMIN, ADMIN, "/status")  # the bot learns the admin's Telegram language
    mark = harness.telegram.mark()

    disk.fill()
    answers = [(await push(http)).status_code for _ in range(40)]
    assert 503 in answers, answers
    notice = await harness.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN and "数据库拒绝写入" in c.text,
        10,
        since=mark,
    )
    words = re.sub(r"<[^>]+>", "", notice.text)
    assert words.startswith("⚠️ 数据库拒绝写入：磁盘已满（"), words
    assert "请清理数据库所在磁盘或卷的空间" in words
    status = await harness.say(ADMIN, ADMIN, "/status")
    assert status.text.startswith("⚠️ 数据库拒绝写入：磁盘已满（"), status.text
    assert "等待转发的推送" in status.text
    # What operators' tools read stays English.
    health = (await http.get("/healthz")).json()
    assert health["database"].startswith("the database refuses writes: its disk is full (")
    problems = (await http.get("/readyz")).json()["problems"]
    assert [p for p in problems if p.startswith("the database refuses writes")], problems

    disk.free()
    assert (await http.get("/healthz")).status_code == 200
    recovered = await harness.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN and "数据库恢复写入了" in c.text,
        10,
        since=mark,
    )
    assert "ccbot_pushes_rejected_total" in recovered.text
