"""Several senders (replicas) on one database: each message once, in order, pacing shared."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from bot.relay import outbox_claims as claims
from bot.relay.outbox_claims import ClaimedBatch, ClaimLost
from storage.db import Database
from storage.models import OutboxStatus, utcnow
from tests.relay_sender.conftest import GROUP, LIMITS, OTHER_GROUP, SenderHarness
from tests.relay_sender.test_pacing import most_in_window


async def test_two_senders_on_one_database_send_each_message_once_in_order_and_paced(
    harness: SenderHarness,
) -> None:
    chats = [GROUP, OTHER_GROUP, 8001, 8002, 8003]
    second_database = Database(harness.database.url)  # the other replica's own engine
    try:
        one = await harness.start_sender(owner="replica-a")
        other = await harness.start_sender(owner="replica-b", database=second_database)
        for i in range(10):
            for chat in chats:
                harness.enqueue(chat, f"{chat} #{i}")
            await asyncio.sleep(0.05)
        await harness.settled(timeout=40)
    finally:
        for sender in harness.senders:
            await sender.stop()
        second_database.dispose()
    assert one.sent_messages > 0 and other.sent_messages > 0  # both did a share
    assert one.sent_messages + other.sent_messages == 50
    counts = Counter(c.text for c in harness.delivered())
    assert len(counts) == 50 and set(counts.values()) == {1}
    for chat in chats:
        assert [c.text for c in harness.delivered(chat)] == [f"{chat} #{i}" for i in range(10)]
    for chat in (GROUP, OTHER_GROUP):
        times = [c.time for c in harness.delivered(chat)]
        # Both replicas together keep to the chat's one relay schedule (in the database): no
        # replica sends right after the other, whatever it remembers itself.
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= (LIMITS.relay_group_interval - LIMITS.relay_catch_up) / 2, gaps
        assert most_in_window(times, LIMITS.group_window) <= 17
    # The fake enforcing the limits answered no 429 (checked at teardown).


def _claim_in_threads(url: str, chat_id: int, owners: list[str]) -> list[ClaimedBatch]:
    """Every owner claims the chat at the same moment, each in its own thread and engine."""
    barrier = threading.Barrier(len(owners))
    won: list[ClaimedBatch] = []
    databases = [Database(url) for _ in owners]

    def claim(database: Database, owner: str) -> None:
        barrier.wait()
        try:
            result = database.call(
                lambda s: claims.claim_batch(s, chat_id, owner, utcnow(), timedelta(seconds=30))
            )
        except (ClaimLost, OperationalError):
            return
        if isinstance(result, ClaimedBatch):
            won.append(result)

    threads = [
        threading.Thread(target=claim, args=(db, owner))
        for db, owner in zip(databases, owners, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for database in databases:
        database.dispose()
    return won


async def test_claims_racing_for_one_chat_give_its_messages_to_one_sender(
    harness: SenderHarness,
) -> None:
    ids = [harness.enqueue(GROUP, f"raced {i}") for i in range(3)]
    won = await asyncio.to_thread(
        _claim_in_threads, harness.database.url, GROUP, [f"replica-{n}" for n in range(6)]
    )
    assert len(won) == 1 and won[0].ids == ids[:1]
    rows = harness.rows()
    assert [r.status for r in rows] == ["sending", "pending", "pending"]
    assert rows[0].lease_owner is not None and rows[0].lease_owner.startswith("replica-")


async def test_a_sender_that_lost_its_lease_changes_nothing(harness: SenderHarness) -> None:
    row_id = harness.enqueue(GROUP, "slow sender")
    start = utcnow()
    harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "slow", start, timedelta(seconds=0))
    )
    later = start + timedelta(seconds=1)
    taken = harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "fast", later, timedelta(seconds=30))
    )
    assert isinstance(taken, ClaimedBatch) and taken.rows[0].attempts == 1
    kept = harness.database.call(
        lambda s: claims.mark_delivered(s, "slow", row_id, [], 4242, later)
    )
    assert kept is False
    row = harness.row(row_id)
    assert (row.status, row.lease_owner, row.telegram_message_id) == (
        OutboxStatus.SENDING,
        "fast",
        None,
    )
