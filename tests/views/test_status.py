"""/status: replicas, queues, relay lag and the last platform error, in one message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.i18n import speaking
from bot.laaffic.errors import explain
from bot.laaffic.transport import PlatformFailure
from bot.status import QueueState, RefusedWrites
from bot.views.status import status_message
from storage.db import WriteRefusal
from storage.models import Replica
from tests.fakes.telegram import parse_html

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_status_says_how_the_bot_is_doing_and_the_last_platform_error() -> None:
    state = QueueState(
        inbox_pending=1200,
        outbox_pending=3,
        outbox_failed=1,
        oldest_unsent=NOW - timedelta(seconds=12),
        last_push=NOW - timedelta(seconds=75),
        replicas=[Replica(replica_id="a<1>"), Replica(replica_id="b")],
    )
    failure = PlatformFailure(
        at=NOW - timedelta(minutes=2),
        endpoint="seatGroup/addGroup",
        code="-20",
        said=lambda: "The group <exists>.",
    )
    html = status_message(
        version="1.2",
        replica="a<1>",
        leader=True,
        started=NOW - timedelta(hours=1, seconds=5),
        telegram_mode="polling",
        state=state,
        last_error=failure,
        now=NOW,
    )
    text, _ = parse_html(html)
    lines = text.splitlines()
    assert lines[0] == "ccbot 1.2 · replica a<1> (scheduler leader)"
    assert lines[1] == "Up for 1:00:05 · Telegram polling mode"
    assert lines[2] == "Replicas alive: 2 (a<1>, b)"
    assert lines[3] == "Pushes waiting to be relayed: 1,200 · failed: 0 · last push 1:15 ago"
    assert lines[4].startswith("Messages waiting to be sent: 3 · relay lag ")
    assert lines[4].endswith(" · failed: 1")
    assert lines[5] == (
        "Last platform error: seatGroup/addGroup, code -20, 2:00 ago: The group <exists>."
    )


def test_status_of_a_process_without_replicas_or_errors() -> None:
    html = status_message(
        version="1.2",
        replica="this process",
        leader=False,
        started=None,
        telegram_mode="webhook",
        state=QueueState(),
        last_error=None,
        now=NOW,
    )
    text, _ = parse_html(html)
    assert text.splitlines()[1:4] == [
        "Up for — · Telegram webhook mode",
        "Replicas alive: 0",
        "Pushes waiting to be relayed: 0 · failed: 0 · last push never",
    ]
    assert text.endswith("Last platform error: none since start")


def test_status_says_first_that_the_database_refuses_writes() -> None:
    html = status_message(
        version="1.2",
        replica="this process",
        leader=False,
        started=None,
        telegram_mode="polling",
        state=QueueState(),
        last_error=None,
        now=NOW,
        writes_refused=RefusedWrites(WriteRefusal.DATABASE_FULL, "disk <full>", 65),
    )
    text, _ = parse_html(html)
    assert text.splitlines()[0] == (
        "⚠️ The database refuses writes: its disk is full (disk <full>) for 1:05. Pushes are "
        "refused (503) until it takes writes again."
    )


def test_a_chinese_chat_reads_status_with_the_refused_writes_and_platform_error_in_chinese() -> (
    None
):
    # The failed call was made in English (a job); the chat reading /status reads Chinese.
    failure = PlatformFailure(
        at=NOW - timedelta(minutes=2),
        endpoint="seatGroup/addGroup",
        code="-10",
        said=lambda: explain("-10", "seatGroup/addGroup"),
    )
    refused = RefusedWrites(WriteRefusal.DATABASE_UNAVAILABLE, "connection refused", 754)
    with speaking("zh"):
        html = status_message(
            version="1.2",
            replica="a",
            leader=False,
            started=None,
            telegram_mode="polling",
            state=QueueState(),
            last_error=failure,
            now=NOW,
            writes_refused=refused,
        )
    lines = parse_html(html)[0].splitlines()
    assert lines[0].startswith("⚠️ 数据库无法写入（connection refused），已持续12分34秒。")
    assert lines[4].endswith("最近推送 从未")  # no push yet
    assert lines[-1].startswith("最近的平台错误：seatGroup/addGroup，代码 -10，2分前：")
    assert "余额不足" in lines[-1], lines[-1]
    with speaking("en"):
        assert failure.sentence.startswith("Could not create the agent group: the account balance")
