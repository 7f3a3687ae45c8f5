"""Several senders (replicas) on one database: each message once, in order, pacing shared."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot.delivery import outbox_claims as claims
from bot.delivery.outbox_claims import ClaimedBatch, ClaimLost, NotYet
from bot.delivery.sender import SenderTimeouts
from storage.db import Database
from storage.models import OutboxStatus, utcnow
from tests.delivery.conftest import GROUP, LIMITS, OTHER_GROUP, SenderHarness
from tests.delivery.test_pacing import most_in_window

LONG_LEASE = timedelta(minutes=5)


async def test_two_senders_on_one_database_send_each_message_once_in_order_and_paced(
    harness: SenderHarness,
) -> None:
    chats = [GROUP, OTHER_GROUP, 8001, 8002, 8003]
    second_database = Database(harness.database.url)  # the other replica's own engine
    try:
        # Leases far longer than the test: a send a loaded machine stalls is never taken over
        # (and sent again) by the other replica; that case is test_restart's.
        one = await harness.start_sender(owner="replica-a", lease=LONG_LEASE)
        other = await harness.start_sender(
            owner="replica-b", database=second_database, lease=LONG_LEASE
        )
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
    for chat in chats:
        assert_paced(harness.delivered(chat), LIMITS.relay_interval(chat))
        if chat < 0:
            times = [c.time for c in harness.delivered(chat)]
            assert most_in_window(times, LIMITS.group_window) <= 17
    # The fake enforcing the limits answered no 429 (checked at teardown).


def assert_paced(calls: list, interval: float) -> None:
    """Both replicas together keep to the chat's one relay schedule (in the database): two of
    its messages reach Telegram at least one interval less the catch-up apart, whichever
    replica sent them. The fake stamps a call when it answers it, so this holds by causality
    (1 ms is left for the clock's rounding)."""
    times = [c.time for c in calls]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= interval - LIMITS.relay_catch_up - 0.001, gaps


async def test_a_send_that_reached_telegram_late_keeps_the_other_replica_at_its_distance(
    harness: SenderHarness,
) -> None:
    # Replica A's first message is answered late (a slow network, a busy process): the fake
    # holds it until A's slot for it and the interval after it have passed, yet replica B's next
    # message must not land right behind it. Every step waits on an event (the request held by
    # the fake, the clock past the slot), never on a span of time: A's read timeout and stop
    # grace are far above any wait, so A never gives the send up and B never gets #0.
    harness.telegram.stall_next("sendMessage", None, chat_id=GROUP)
    patient = SenderTimeouts(connect=2, read=60, write=2, pool=2)
    second_database = Database(harness.database.url)
    try:
        harness.enqueue(GROUP, "late #0")
        one = await harness.start_sender(owner="replica-a", timeouts=patient, lease=LONG_LEASE)
        await harness.until(
            lambda: bool(harness.telegram.held_calls), what="A's send of #0 to reach Telegram"
        )
        other = await harness.start_sender(
            owner="replica-b", database=second_database, lease=LONG_LEASE
        )
        # The chat's schedule allowed the next message from here on: answer #0 only after it.
        long_past = one.limiter.relay_next(GROUP) + LIMITS.relay_group_interval
        await harness.until(lambda: time.time() > long_past, what="A's slot to be long past")
        harness.telegram.release_held()
        await one.stop(grace=60)  # A finishes the slow send, writes the chat's schedule, leaves
        for i in range(1, 4):
            harness.enqueue(GROUP, f"late #{i}")
        await harness.settled(timeout=20)
    finally:
        for sender in harness.senders:
            await sender.stop()
        second_database.dispose()
    delivered = harness.delivered(GROUP)
    assert [c.text for c in delivered] == [f"late #{i}" for i in range(4)]
    assert (one.sent_messages, other.sent_messages) == (1, 3)
    assert_paced(delivered, LIMITS.relay_group_interval)


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


async def test_a_claim_does_not_overtake_a_message_whose_outcome_is_being_written(
    harness: SenderHarness,
) -> None:
    # Replica A has sent #0 and is writing that down (its row locked, not yet committed) when
    # replica B claims the chat: SKIP LOCKED hides #0 from B, but B must not take #1, which would
    # go out before A writes the chat's schedule (or before #0 itself, had A been handing it back
    # for a retry). SQLite has one writer at a time, so only PostgreSQL can interleave like this.
    if harness.database.is_sqlite:
        pytest.skip("SQLite runs one write transaction at a time")
    first, second = harness.enqueue(GROUP, "#0"), harness.enqueue(GROUP, "#1")
    start = utcnow()
    lease = timedelta(seconds=30)
    claimed = harness.database.call(lambda s: claims.claim_batch(s, GROUP, "a", start, lease))
    assert isinstance(claimed, ClaimedBatch) and claimed.ids == [first]
    other = Database(harness.database.url)
    try:
        with harness.database.session() as writing:
            assert claims.mark_delivered(writing, "a", first, [], 7, utcnow())
            # A's transaction is open; B claims meanwhile, from its own connection.
            during = await asyncio.to_thread(
                other.call, lambda s: claims.claim_batch(s, GROUP, "b", utcnow(), lease)
            )
            assert during is None
            claims.push_schedule(writing, GROUP, utcnow() + timedelta(seconds=1), utcnow())
        after = other.call(lambda s: claims.claim_batch(s, GROUP, "b", utcnow(), lease))
        assert isinstance(after, NotYet)  # #1 now waits for the schedule A wrote
    finally:
        other.dispose()
    assert [r.status for r in harness.rows()] == [OutboxStatus.SENT, OutboxStatus.PENDING]
    assert harness.row(second).lease_owner is None
