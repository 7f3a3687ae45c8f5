"""A restart resumes where the sender stopped: every message sent exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.delivery import outbox_claims as claims
from bot.delivery.outbox import OutboxKind
from storage.models import OutboxMessage, OutboxStatus, utcnow
from tests.delivery.conftest import GROUP, OTHER_GROUP, PRIVATE, SenderHarness

CHATS = (GROUP, OTHER_GROUP, PRIVATE, PRIVATE + 1)


def _end_lease(session: Session, row_id: int, at: datetime) -> None:
    row = session.get(OutboxMessage, row_id)
    assert row is not None and row.status == OutboxStatus.SENDING
    row.lease_until = at
    session.add(row)


async def test_a_restart_in_the_middle_of_a_backlog_sends_every_message_exactly_once(
    harness: SenderHarness,
) -> None:
    expected = {chat: [f"{chat} #{i}" for i in range(10)] for chat in CHATS}
    for i in range(10):
        for chat in CHATS:
            harness.enqueue(chat, f"{chat} #{i}")
    first = await harness.start_sender()
    await harness.until(lambda: len(harness.delivered()) >= 12, what="a dozen messages out")
    await first.stop()
    left = harness.unfinished()
    assert left and all(r.status == OutboxStatus.PENDING and r.lease_owner is None for r in left)

    # A new process: its own bot and rate limiter; the chats' schedules come from the database.
    await harness.start_sender()
    await harness.settled(timeout=30)
    counts = Counter(c.text for c in harness.delivered())
    assert all(n == 1 for n in counts.values()), [t for t, n in counts.items() if n > 1]
    for chat, texts in expected.items():
        assert [c.text for c in harness.delivered(chat)] == texts
    assert {r.status for r in harness.rows()} == {OutboxStatus.SENT}


async def test_a_batch_whose_sender_died_is_taken_over_after_its_lease_and_sent_once(
    harness: SenderHarness,
) -> None:
    orphan = harness.enqueue(GROUP, "claimed by a sender that died")
    behind = harness.enqueue(GROUP, "queued behind it")
    elsewhere = harness.enqueue(OTHER_GROUP, "another chat")
    # The dead replica's lease outlasts the first part of the test whatever the machine's
    # speed; then it runs out (its end written as now, as time would), and only then is the
    # batch taken over.
    batch = harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "dead-replica", utcnow(), timedelta(minutes=5))
    )
    assert batch.ids == [orphan]
    sender = await harness.start_sender()
    await harness.until(lambda: harness.row(elsewhere).status == "sent", what="the other chat")
    assert harness.row(orphan).status == OutboxStatus.SENDING  # its lease still holds the chat
    assert harness.delivered(GROUP) == []
    expired_at = utcnow()
    harness.database.call(lambda s: _end_lease(s, orphan, expired_at))
    sender.wake()
    await harness.settled()
    [taken, after] = harness.delivered(GROUP)
    assert (taken.text, after.text) == ("claimed by a sender that died", "queued behind it")
    assert taken.time >= expired_at.timestamp()
    row = harness.row(orphan)
    assert (row.status, row.attempts, row.lease_owner) == ("sent", 1, None)
    assert harness.row(behind).attempts == 0


async def test_a_message_in_parts_continues_after_a_restart_with_the_part_that_did_not_go(
    harness: SenderHarness,
) -> None:
    lines = [f"{i:04d} agent <b>1001</b> answered {i} s" for i in range(360)]
    row_id = harness.enqueue(PRIVATE, "\n".join(lines), kind=OutboxKind.DIGEST)
    harness.telegram.fail_matching("sendMessage", "0150 agent")  # in the second part
    first = await harness.start_sender()
    await harness.until(
        lambda: len(harness.telegram.calls_of("sendMessage", PRIVATE)) >= 3,
        what="the second part failing",
    )
    await first.stop()
    row = harness.row(row_id)
    [part_one] = harness.delivered(PRIVATE)
    assert (row.status, row.parts_sent) == ("pending", 1)
    assert row.telegram_message_id == part_one.result["message_id"]

    harness.telegram.clear_failures()
    await harness.start_sender()
    [row] = await harness.settled()
    parts = harness.delivered(PRIVATE)
    assert len(parts) == 4 and parts[0].seq == part_one.seq
    assert "\n".join(p.text for p in parts).split("\n") == lines  # each part once, in order
    assert row.status == "sent" and row.telegram_message_id == part_one.result["message_id"]


async def test_stopping_hands_back_claimed_messages_that_were_not_sent(
    harness: SenderHarness,
) -> None:
    for i in range(5):
        harness.enqueue(GROUP, f"group {i}")
    sender = await harness.start_sender()
    await harness.until(lambda: len(harness.delivered(GROUP)) >= 1, what="one message out")
    await asyncio.wait_for(sender.stop(), 5)
    assert not sender.running
    rows = harness.rows()
    assert all(r.lease_owner is None for r in rows)
    assert {r.status for r in rows} <= {OutboxStatus.SENT, OutboxStatus.PENDING}
    assert len([r for r in rows if r.status == OutboxStatus.SENT]) == len(harness.delivered(GROUP))
