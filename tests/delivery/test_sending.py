"""What the sender puts into Telegram for each kind of outbox row, and what it records."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery import outbox_claims as claims
from bot.delivery.outbox import OutboxKind
from bot.metrics import MESSAGES_SENT, OUTBOX_DEPTH, REGISTRY, RELAY_LAG_SECONDS
from bot.relay import chat_settings
from storage.models import LiveMessage, OutboxStatus, utcnow
from tests.delivery.conftest import GROUP, OTHER_GROUP, PRIVATE, SenderHarness


async def test_a_queued_message_is_sent_once_and_marked_sent_with_its_telegram_id(
    harness: SenderHarness,
) -> None:
    before = REGISTRY.get_sample_value("ccbot_messages_sent_total", {"kind": "call"}) or 0
    row_id = harness.enqueue(
        GROUP, "☎️ Call with <b>+91 98765 00001</b> answered, 1 min 5 s", kind=OutboxKind.CALL
    )
    await harness.start_sender()
    rows = await harness.settled()
    [call] = harness.delivered(GROUP)
    assert call.params["parse_mode"] == "HTML"
    assert call.text == "☎️ Call with <b>+91 98765 00001</b> answered, 1 min 5 s"
    [row] = rows
    assert (row.id, row.status, row.telegram_message_id) == (
        row_id,
        "sent",
        call.result["message_id"],
    )
    assert row.sent_at is not None and row.lease_owner is None
    assert MESSAGES_SENT.labels(kind="call")._value.get() == before + 1


async def test_messages_of_one_chat_go_oldest_first_and_other_chats_interleave(
    harness: SenderHarness,
) -> None:
    for i in range(4):
        harness.enqueue(GROUP, f"group message {i}")
        harness.enqueue(OTHER_GROUP, f"other group message {i}")
        harness.enqueue(PRIVATE, f"private message {i}")
    await harness.start_sender()
    await harness.settled()
    for chat in (GROUP, OTHER_GROUP, PRIVATE):
        texts = [c.text for c in harness.delivered(chat)]
        prefix = {GROUP: "group", OTHER_GROUP: "other group", PRIVATE: "private"}[chat]
        assert texts == [f"{prefix} message {i}" for i in range(4)]
    # The three chats were served side by side, not one after the other.
    chats_in_order = [c.chat_id for c in harness.delivered()]
    assert chats_in_order[:3].count(GROUP) == 1


async def test_a_long_message_is_split_at_line_boundaries_and_each_part_sent_once(
    harness: SenderHarness,
) -> None:
    lines = [f"{i:04d} <b>agent</b> answered a call of {i} s" for i in range(400)]
    harness.enqueue(PRIVATE, "\n".join(lines), kind=OutboxKind.DIGEST)
    await harness.start_sender()
    [row] = await harness.settled()
    parts = harness.delivered(PRIVATE)
    assert len(parts) > 1 and all(len(p.text) <= 4096 for p in parts)
    assert "\n".join(p.text for p in parts).split("\n") == lines
    assert row.status == "sent" and row.telegram_message_id == parts[0].result["message_id"]


async def test_a_photo_takes_a_short_text_as_caption_and_a_long_one_after_it(
    harness: SenderHarness,
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"chart" * 100
    harness.enqueue(PRIVATE, "📊 <b>Daily summary</b>", kind=OutboxKind.SUMMARY, photo=png)
    harness.enqueue(PRIVATE, "📊 " + "x" * 1500, kind=OutboxKind.SUMMARY, photo=png)
    await harness.start_sender()
    await harness.settled()
    first, second, third = harness.delivered(PRIVATE)
    assert first.method == "sendPhoto" and first.text == "📊 <b>Daily summary</b>"
    assert first.files["photo"].content == png
    assert second.method == "sendPhoto" and second.text is None
    assert third.method == "sendMessage" and third.text == "📊 " + "x" * 1500


async def test_a_task_card_edits_one_message_and_only_its_newest_version_is_sent(
    harness: SenderHarness,
) -> None:
    key = "task:5000123"
    first = harness.enqueue(
        GROUP, "Task 5000123: called 0 of 100", kind=OutboxKind.TASK_CARD, edit_key=key
    )
    await harness.start_sender()
    await harness.settled()
    [sent] = harness.delivered(GROUP)
    message_id = sent.result["message_id"]
    live = harness.database.call(lambda s: s.get(LiveMessage, key))
    assert (live.chat_id, live.message_id) == (GROUP, message_id)

    versions = [
        harness.enqueue(
            GROUP, f"Task 5000123: called {n} of 100", kind=OutboxKind.TASK_CARD, edit_key=key
        )
        for n in (10, 20, 30)
    ]
    await harness.settled()
    edits = harness.delivered(GROUP)[1:]
    assert [e.method for e in edits] == ["editMessageText"]
    assert edits[0].params["message_id"] == message_id
    assert harness.telegram.last_text(GROUP) == "Task 5000123: called 30 of 100"
    rows = {r.id: r for r in harness.rows()}
    assert rows[first].status == "sent"
    assert [rows[v].status for v in versions] == ["merged", "merged", "sent"]
    assert all(rows[v].merged_into == versions[-1] for v in versions[:-1])


async def test_an_unchanged_task_card_counts_as_sent(harness: SenderHarness) -> None:
    key = "task:77"
    harness.enqueue(GROUP, "Task 77: completed", kind=OutboxKind.TASK_CARD, edit_key=key)
    await harness.start_sender()
    await harness.settled()
    again = harness.enqueue(GROUP, "Task 77: completed", kind=OutboxKind.TASK_CARD, edit_key=key)
    rows = await harness.settled()
    refused = [c for c in harness.telegram.calls_of("editMessageText") if not c.ok]
    assert refused and "not modified" in refused[0].description
    row = next(r for r in rows if r.id == again)
    assert row.status == "sent" and row.telegram_message_id == rows[0].telegram_message_id


async def test_a_deleted_task_card_is_sent_anew_and_becomes_the_live_message(
    harness: SenderHarness,
) -> None:
    key = "task:88"
    harness.enqueue(GROUP, "Task 88: called 1", kind=OutboxKind.TASK_CARD, edit_key=key)
    await harness.start_sender()
    [old] = [r.telegram_message_id for r in await harness.settled()]
    harness.telegram.remove_message(GROUP, old)
    harness.enqueue(GROUP, "Task 88: called 2", kind=OutboxKind.TASK_CARD, edit_key=key)
    rows = await harness.settled()
    new = rows[-1].telegram_message_id
    assert rows[-1].status == "sent" and new != old
    assert harness.telegram.last_text(GROUP) == "Task 88: called 2"
    assert harness.database.call(lambda s: s.get(LiveMessage, key)).message_id == new


async def test_depth_and_lag_are_reported_while_messages_wait_and_drop_to_zero_after(
    harness: SenderHarness,
) -> None:
    harness.telegram.fail_next("sendMessage", 502, times=None)
    harness.enqueue(PRIVATE, "waiting")
    sender = await harness.start_sender(backoff_base=0.2)
    await harness.until(
        lambda: OUTBOX_DEPTH._value.get() == 1 and RELAY_LAG_SECONDS._value.get() > 0.2,
        what="depth 1 and a growing lag",
    )
    harness.telegram.clear_failures()
    await harness.settled()
    await harness.until(
        lambda: OUTBOX_DEPTH._value.get() == 0 and RELAY_LAG_SECONDS._value.get() == 0,
        what="depth and lag back to 0",
    )
    assert sender.running
    assert [r.status for r in harness.rows()] == [OutboxStatus.SENT]


async def test_muting_takes_back_the_chats_waiting_relays_but_not_one_being_sent(
    harness: SenderHarness,
) -> None:
    harness.bind(GROUP, "Team One")
    held = harness.enqueue(GROUP, "call being sent", kind=OutboxKind.CALL)
    digest = harness.enqueue(GROUP, "digest waiting", kind=OutboxKind.DIGEST)
    elsewhere = harness.enqueue(OTHER_GROUP, "another chat's call", kind=OutboxKind.CALL)
    batch = harness.database.call(
        lambda s: claims.claim_batch(s, GROUP, "other-replica", utcnow(), timedelta(seconds=1))
    )
    assert batch.ids == [held]
    waiting = [harness.enqueue(GROUP, "call waiting", kind=OutboxKind.CALL)]
    waiting.append(harness.enqueue(GROUP, "ringing waiting", kind=OutboxKind.RINGING))
    _, withdrawn = harness.database.call(lambda s: chat_settings.mute(s, GROUP, timedelta(hours=1)))
    assert withdrawn == 2
    assert [harness.row(i).status for i in waiting] == [OutboxStatus.WITHDRAWN] * 2
    assert harness.row(held).status == OutboxStatus.SENDING  # its sender decides
    assert harness.row(digest).status == harness.row(elsewhere).status == OutboxStatus.PENDING
    await harness.start_sender()
    await harness.settled()
    assert [c.text for c in harness.delivered(GROUP)] == ["call being sent", "digest waiting"]
    assert [c.text for c in harness.delivered(OTHER_GROUP)] == ["another chat's call"]
