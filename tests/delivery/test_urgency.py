"""A ringing phone never waits behind routine messages: each chat's outbox goes most urgent
first, within Telegram's limits (the fake enforces them, scaled tenfold; 0 × 429 is checked by
the harness), and a command reply goes before every waiting relay message."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery import outbox_claims as claims
from bot.delivery.outbox import URGENCY, OutboxKind, Outgoing, Urgency, enqueue_many
from bot.delivery.outbox_claims import ClaimedBatch, Merge
from bot.delivery.replies import send_text
from storage.models import OutboxStatus, utcnow
from tests.delivery.conftest import GROUP, OTHER_GROUP, SenderHarness, ringing_text

ROUTINE = 300


def _flood(
    harness: SenderHarness,
    chat_id: int = GROUP,
    count: int = ROUTINE,
    kind: OutboxKind = OutboxKind.DIGEST,
) -> None:
    """Routine messages that go one by one (digests; waiting call records would be merged into
    a listing, see test_merging, and no longer make a backlog of single messages)."""
    harness.database.call(
        lambda s: enqueue_many(
            s, [Outgoing(chat_id, f"routine {kind} {i}", kind) for i in range(count)]
        )
    )


def test_the_kinds_go_in_the_order_the_issue_sets() -> None:
    order = sorted(OutboxKind, key=lambda kind: URGENCY[kind])
    assert order == [
        OutboxKind.NOTICE,
        OutboxKind.SCREEN_POP,
        OutboxKind.ALERT,
        OutboxKind.ALERT_CLEARED,
        OutboxKind.RINGING,
        OutboxKind.CALL,
        OutboxKind.SCREEN_POP_OUTCOME,
        OutboxKind.TASK_CARD,
        OutboxKind.DIGEST,
        OutboxKind.SUMMARY,
    ]
    assert URGENCY[OutboxKind.RINGING] == Urgency.RINGING


def test_a_ring_queued_behind_hundreds_of_call_records_is_the_chats_next_claim(
    harness: SenderHarness,
) -> None:
    _flood(harness)
    ring = harness.enqueue(GROUP, ringing_text(1), kind=OutboxKind.RINGING)
    assert harness.database.call(lambda s: claims.due_chats(s, utcnow())) == [GROUP]
    batch = harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "replica-a", utcnow(), timedelta(seconds=30))
    )
    assert isinstance(batch, ClaimedBatch) and batch.ids == [ring]


def test_waiting_rings_still_merge_into_one_message_ahead_of_the_call_records(
    harness: SenderHarness,
) -> None:
    _flood(harness, count=50)
    rings = [harness.enqueue(GROUP, ringing_text(i), kind=OutboxKind.RINGING) for i in range(5)]
    batch = harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "replica-a", utcnow(), timedelta(seconds=30))
    )
    assert isinstance(batch, ClaimedBatch)
    assert batch.merge is Merge.LISTING and batch.ids == rings


def test_a_ring_does_not_overtake_a_message_another_replica_is_sending_in_that_chat(
    harness: SenderHarness,
) -> None:
    """One message at a time per chat from all replicas together: the pacing schedule of a chat
    is written when its send is done, so a ring claimed meanwhile could go too soon after it."""
    _flood(harness, count=3)
    now = utcnow()
    lease = timedelta(seconds=30)
    first = harness.database.call(lambda s: claims.claim_batch(s, GROUP, "replica-a", now, lease))
    assert isinstance(first, ClaimedBatch)
    ring = harness.enqueue(GROUP, ringing_text(1), kind=OutboxKind.RINGING)
    assert harness.database.call(lambda s: claims.due_chats(s, utcnow())) == []
    taken = harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "replica-b", utcnow(), lease)
    )
    assert taken is None
    harness.database.call(
        lambda s: claims.mark_delivered(s, "replica-a", first.ids[0], [], 77, utcnow())
    )
    again = harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "replica-b", utcnow(), lease)
    )
    assert isinstance(again, ClaimedBatch) and again.ids == [ring]


def test_a_chat_with_a_ring_is_served_before_chats_with_older_routine_messages(
    harness: SenderHarness,
) -> None:
    _flood(harness, chat_id=OTHER_GROUP, count=5)
    harness.enqueue(GROUP, ringing_text(1), kind=OutboxKind.RINGING)
    assert harness.database.call(lambda s: claims.due_chats(s, utcnow())) == [GROUP, OTHER_GROUP]


async def test_a_new_ring_in_a_flooded_group_is_the_next_message_sent_there(
    harness: SenderHarness,
) -> None:
    _flood(harness)
    await harness.start_sender()
    await harness.until(lambda: len(harness.delivered(GROUP)) >= 3, what="the flood to begin")
    before = len(harness.delivered(GROUP))
    ring = harness.enqueue(GROUP, ringing_text(7), kind=OutboxKind.RINGING)
    await harness.until(
        lambda: harness.row(ring).status == OutboxStatus.SENT, what="the ring to be sent"
    )
    texts = [c.text for c in harness.delivered(GROUP)]
    position = next(i for i, text in enumerate(texts) if "98765 00007" in text)
    # At most the one routine message that was already being sent when the ring came goes first:
    # the ring takes the chat's next free slot, not a place behind the 300 records.
    assert position - before <= 1
    assert all(text.startswith("routine") for text in texts[:position])


async def test_a_command_reply_in_a_flooded_group_goes_before_the_waiting_relay_messages(
    harness: SenderHarness,
) -> None:
    _flood(harness)
    bot = await harness.bot()
    await harness.start_sender(bot)
    await harness.until(lambda: len(harness.delivered(GROUP)) >= 3, what="the flood to begin")
    before = len(harness.delivered(GROUP))
    delivery = await send_text(bot, harness.database, GROUP, "You are a <b>viewer</b> here.")
    texts = [c.text for c in harness.delivered(GROUP)]
    position = next(i for i, text in enumerate(texts) if "viewer" in text)
    assert delivery.chat_id == GROUP
    assert position - before <= 1  # at most the relay message already under way
    await harness.until(lambda: len(harness.delivered(GROUP)) >= position + 3, what="more relays")
