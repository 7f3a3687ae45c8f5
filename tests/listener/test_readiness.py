"""/readyz over real HTTP: its relay lag comes from the database at most every few seconds, so a
load balancer probing often does not load it, and the lag still grows between readings."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event

import bot.listener
from storage.models import OutboxMessage, utcnow
from tests.listener.conftest import Listener


def _queue_an_old_message(listener: Listener, age: timedelta) -> None:
    with listener.runtime.database.session() as s:
        s.add(OutboxMessage(chat_id=-100, kind="notice", text="hello", created_at=utcnow() - age))


def _outbox_reads(listener: Listener) -> list[str]:
    """Every statement the listener's engine sends that reads the outbox, as it is sent."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "outbox" in statement.lower():
            seen.append(statement)

    event.listen(listener.runtime.database.engine, "before_cursor_execute", before)
    return seen


async def test_readyz_reads_the_queue_once_per_cache_period_and_keeps_its_answer(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.listener, "READY_QUEUE_CACHE_S", 3600.0)
    _queue_an_old_message(listener, timedelta(minutes=2))
    reads = _outbox_reads(listener)
    url = f"{listener.base_url}/readyz"

    first = await listener.http.get(url)
    assert first.status_code == 503  # no Telegram, relay worker or sender in this listener
    body = first.json()
    assert set(body) == {"status", "problems", "relay_lag_s", "version"}
    assert body["status"] == "not ready" and 120 <= body["relay_lag_s"] < 180
    assert [p for p in body["problems"] if re.fullmatch(r"relay lag is 1\d\d s \(over 60 s\)", p)]
    assert len(reads) == 1

    # The message goes out; within the cache period the probes do not ask the database again,
    # and the lag they report is measured now from the cached time, never smaller.
    with listener.runtime.database.session() as s:
        s.execute(delete(OutboxMessage))
    del reads[:]
    for _ in range(5):
        again = (await listener.http.get(url)).json()
        assert again["relay_lag_s"] >= body["relay_lag_s"]
    assert reads == []

    # Once the period is over, the next probe reads it and sees the queue empty.
    monkeypatch.setattr(bot.listener, "READY_QUEUE_CACHE_S", 0.0)
    fresh = (await listener.http.get(url)).json()
    assert fresh["relay_lag_s"] == 0.0
    assert not [p for p in fresh["problems"] if p.startswith("relay lag")]
    assert len(reads) == 1


async def test_readyz_says_the_database_does_not_answer_and_remembers_it_briefly(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.listener, "READY_QUEUE_CACHE_S", 3600.0)
    url = f"{listener.base_url}/readyz"
    with listener.runtime.database.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE outbox")  # the database answers, the query fails
    down = await listener.http.get(url)
    assert down.status_code == 503
    assert down.json()["relay_lag_s"] is None
    (problem,) = [p for p in down.json()["problems"] if p.startswith("the database")]
    assert problem.startswith("the database does not answer (") and problem.endswith(")")
    reads = _outbox_reads(listener)
    assert (await listener.http.get(url)).json()["problems"] == down.json()["problems"]
    assert reads == []
