"""When a chat's queue backs up, its waiting ringing events become one message; none is lost."""

from __future__ import annotations

from bot.delivery.merging import event_line, plain_text
from bot.delivery.outbox import OutboxKind
from storage.models import OutboxStatus
from tests.delivery.conftest import GROUP, SenderHarness, ringing_text


def shown_text(harness: SenderHarness, chat_id: int) -> str:
    """Everything a member of the chat can read: texts, captions and attached files."""
    chunks = []
    for call in harness.delivered(chat_id):
        chunks.append(call.text or "")
        for upload in call.files.values():
            chunks.append(upload.content.decode("utf-8"))
    return "\n".join(chunks)


def assert_every_event_shown_once_merged(harness: SenderHarness, ids: list[int]) -> None:
    rows = {r.id: r for r in harness.rows()}
    sent = [rows[i] for i in ids if rows[i].status == OutboxStatus.SENT]
    merged = [rows[i] for i in ids if rows[i].status == OutboxStatus.MERGED]
    assert len(sent) + len(merged) == len(ids)
    sent_ids = {r.id for r in sent}
    assert all(r.merged_into in sent_ids for r in merged)
    by_id = {r.id: r for r in sent}
    assert all(r.telegram_message_id == by_id[r.merged_into].telegram_message_id for r in merged)


async def test_fourteen_waiting_ringing_events_become_one_message_with_every_event(
    harness: SenderHarness,
) -> None:
    ids = [harness.enqueue(GROUP, ringing_text(n), kind=OutboxKind.RINGING) for n in range(14)]
    await harness.start_sender()
    await harness.settled()
    [message] = harness.delivered(GROUP)
    assert message.text.startswith("📞 <b>14 calls ringing</b> in the last ")
    for n in range(14):
        assert ringing_text(n).strip() in message.text  # each event in full
    assert_every_event_shown_once_merged(harness, ids)
    assert harness.row(ids[0]).status == "sent"


async def test_a_longer_backlog_lists_one_line_per_event(harness: SenderHarness) -> None:
    ids = [harness.enqueue(GROUP, ringing_text(n), kind=OutboxKind.RINGING) for n in range(60)]
    await harness.start_sender()
    await harness.settled()
    [message] = harness.delivered(GROUP)
    assert message.text.startswith("📞 <b>60 calls ringing</b>")
    assert message.text.count("\n") == 60
    for n in range(60):
        assert event_line(ringing_text(n)) in message.text
    assert_every_event_shown_once_merged(harness, ids)


async def test_a_backlog_over_one_message_is_split_in_two_and_each_part_owns_its_events(
    harness: SenderHarness,
) -> None:
    ids = [harness.enqueue(GROUP, ringing_text(n), kind=OutboxKind.RINGING) for n in range(130)]
    await harness.start_sender()
    await harness.settled()
    first, second = harness.delivered(GROUP)
    assert first.text.startswith("📞 <b>130 calls ringing</b>")
    assert second.text.startswith("📞 <b>ringing, continued</b> (2):")
    assert all(len(part.text) <= 4096 for part in (first, second))
    joined = first.text + "\n" + second.text
    for n in range(130):
        assert joined.count(event_line(ringing_text(n))) == 1
    assert_every_event_shown_once_merged(harness, ids)
    rows = {r.id: r for r in harness.rows()}
    heads = {rows[i].merged_into or i for i in ids}
    assert len(heads) == 2  # one sent row per Telegram message, the others merged into it


async def test_a_storm_becomes_one_document_with_every_event_and_the_newest_in_the_caption(
    harness: SenderHarness,
) -> None:
    ids = [harness.enqueue(GROUP, ringing_text(n), kind=OutboxKind.RINGING) for n in range(500)]
    await harness.start_sender()
    await harness.settled()
    [message] = harness.delivered(GROUP)
    assert message.method == "sendDocument"
    assert message.text.startswith("📞 <b>500 calls ringing</b> in the last ")
    assert len(message.text) <= 1024
    assert event_line(ringing_text(499)) in message.text  # the newest, right there
    assert message.text.endswith("Every one of them is in the attached list.")
    [upload] = message.files.values()
    assert upload.file_name.startswith("ringing-") and upload.file_name.endswith(".txt")
    listing = upload.content.decode("utf-8")
    for n in range(500):
        assert plain_text(ringing_text(n)) in listing
    assert_every_event_shown_once_merged(harness, ids)


async def test_ringing_events_merge_while_other_messages_keep_their_order(
    harness: SenderHarness,
) -> None:
    ids = []
    for n in range(6):
        ids.append(harness.enqueue(GROUP, ringing_text(n), kind=OutboxKind.RINGING))
        harness.enqueue(GROUP, f"call record {n}")
    await harness.start_sender()
    await harness.settled()
    texts = [c.text for c in harness.delivered(GROUP)]
    assert texts[0].startswith("📞 <b>6 calls ringing</b>")
    assert texts[1:] == [f"call record {n}" for n in range(6)]
    for n in range(6):
        assert ringing_text(n).strip() in shown_text(harness, GROUP)
    assert_every_event_shown_once_merged(harness, ids)


async def test_a_single_waiting_ringing_event_is_sent_as_it_is(harness: SenderHarness) -> None:
    harness.enqueue(GROUP, ringing_text(1), kind=OutboxKind.RINGING)
    await harness.start_sender()
    await harness.settled()
    [message] = harness.delivered(GROUP)
    assert message.text == ringing_text(1)


async def test_an_event_with_an_overlong_first_line_is_cut_short_in_a_merged_listing(
    harness: SenderHarness,
) -> None:
    long_line = "📞 <b>1001</b> " + "<i>note</i> " * 400
    ids = [harness.enqueue(GROUP, ringing_text(n), kind=OutboxKind.RINGING) for n in range(40)]
    ids.append(harness.enqueue(GROUP, long_line + "\nTask: 1", kind=OutboxKind.RINGING))
    await harness.start_sender()
    await harness.settled()
    [message] = harness.delivered(GROUP)
    assert len(message.text) <= 4096
    line = next(t for t in message.text.split("\n") if t.startswith("📞 1001 note"))
    assert line.endswith("…") and len(line) <= 300
    assert_every_event_shown_once_merged(harness, ids)


def test_a_one_line_event_keeps_who_rings_and_whom_as_the_relay_renders_them() -> None:
    """The listing of a backed-up chat names the callee of every event, not only the agent."""
    from datetime import UTC, datetime, timedelta

    from bot.delivery.merging import PartMethod, QueuedMessage, plan_merged
    from bot.views.relayed import ringing_message
    from bot.views.values import ChatDisplay
    from storage.models import RingingEvent

    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    rows = []
    for n in range(60):
        event = RingingEvent(
            dedupe_key=str(n),
            sip_account=f"1344C025cb_{n:03d}",
            group_name="Sales-Team-1",
            called=f"9198765{n:05d}",
            called_info="Priya, gold plan",
            task_id=5000123,
            no_answer_sip_list='["1344C025cb_900"]',
            event_at=start + timedelta(seconds=n),
        )
        text = ringing_message(event, ChatDisplay())
        rows.append(
            QueuedMessage(n, GROUP, None, OutboxKind.RINGING.value, text, None, None, 0, 0, start)
        )
    parts = plan_merged(rows, start + timedelta(seconds=90))
    assert parts and all(part.method is PartMethod.TEXT for part in parts)
    listing = plain_text("\n".join(part.text or "" for part in parts))
    assert "Sales-Team-1" in listing
    for n in range(60):
        line = next(line for line in listing.splitlines() if f"1344C025cb_{n:03d}" in line)
        assert f"{n:05d}" in line and "Priya, gold plan" in line, line


def call_text(n: int) -> str:
    return (
        f"❌ <b>Not answered</b> group call · <code>+91 98100 {n:05d}</code>\n"
        "Agent: none (no agent answered)\nTalk time: 0:00"
    )


async def test_waiting_call_records_become_one_listing_of_their_own_after_the_ringing(
    harness: SenderHarness,
) -> None:
    """A chat on `/notify calls each` behind a task dialling fast: its waiting call records come
    as one message too, never mixed with the ringing events (which still go first)."""
    calls = [harness.enqueue(GROUP, call_text(n), kind=OutboxKind.CALL) for n in range(9)]
    rings = [harness.enqueue(GROUP, ringing_text(n), kind=OutboxKind.RINGING) for n in range(3)]
    await harness.start_sender()
    await harness.settled()
    ringing, records = harness.delivered(GROUP)
    assert ringing.text.startswith("📞 <b>3 calls ringing</b> in the last ")
    assert records.text.startswith("📋 <b>9 call records</b> in the last ")
    for n in range(9):
        assert call_text(n) in records.text and call_text(n) not in ringing.text
    assert_every_event_shown_once_merged(harness, rings)
    assert_every_event_shown_once_merged(harness, calls)


async def test_a_storm_of_call_records_comes_as_a_file_with_every_record(
    harness: SenderHarness,
) -> None:
    ids = [harness.enqueue(GROUP, call_text(n), kind=OutboxKind.CALL) for n in range(400)]
    await harness.start_sender()
    await harness.settled()
    [message] = harness.delivered(GROUP)
    assert message.method == "sendDocument"
    assert (message.text or "").startswith("📋 <b>400 call records</b> in the last ")
    [upload] = message.files.values()
    assert upload.file_name.startswith("calls-")
    listing = upload.content.decode("utf-8")
    for n in range(400):
        assert f"+91 98100 {n:05d}" in listing
    assert_every_event_shown_once_merged(harness, ids)
