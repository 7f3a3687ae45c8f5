"""A merged ringing listing shows the events in the order they rang, not the order they came in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.delivery.merging import PartMethod, QueuedMessage, event_line, plain_text, plan_merged
from bot.delivery.outbox import OutboxKind
from tests.delivery.conftest import GROUP, SenderHarness, ringing_text

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _row(row_id: int, number: int, rang: datetime | None) -> QueuedMessage:
    return QueuedMessage(
        row_id,
        GROUP,
        None,
        OutboxKind.RINGING.value,
        ringing_text(number),
        None,
        None,
        0,
        0,
        START + timedelta(seconds=row_id),
        rang,
    )


def test_a_storms_newest_in_the_caption_are_the_last_to_ring_even_when_they_came_first() -> None:
    # Two replicas (or a late push) stored the storm's events in two halves, the later half
    # first: by row id, the caption's "newest" would be events that rang 250 s earlier.
    rows = [_row(i, 250 + i, START + timedelta(seconds=250 + i)) for i in range(250)]
    rows += [_row(250 + i, i, START + timedelta(seconds=i)) for i in range(250)]
    [document] = plan_merged(rows, START + timedelta(minutes=10))
    assert document.method is PartMethod.DOCUMENT and document.text is not None
    caption_lines = document.text.splitlines()
    assert caption_lines[-2] == event_line(ringing_text(499))  # the last to ring, last shown
    listing = (document.document or b"").decode("utf-8")
    assert listing.index("98765 00000") < listing.index("98765 00499")


def test_a_listing_that_fits_a_message_is_in_ringing_order_and_events_without_a_time_keep_theirs() -> (
    None
):
    rows = [
        _row(1, 3, START + timedelta(seconds=30)),
        _row(2, 1, START + timedelta(seconds=10)),
        _row(3, 2, None),  # no time from the platform: when it was queued (START + 3 s)
    ]
    [message] = plan_merged(rows, START + timedelta(minutes=1))
    text = plain_text(message.text or "")
    assert text.index("98765 00002") < text.index("98765 00001") < text.index("98765 00003")


async def test_rows_queued_with_their_event_time_are_merged_in_that_order(
    harness: SenderHarness,
) -> None:
    for number, second in ((2, 20), (1, 10), (3, 30)):
        harness.enqueue(
            GROUP,
            ringing_text(number),
            kind=OutboxKind.RINGING,
            event_at=START + timedelta(seconds=second),
        )
    await harness.start_sender()
    await harness.settled()
    [message] = harness.delivered(GROUP)
    text = plain_text(message.text or "")
    assert text.index("98765 00001") < text.index("98765 00002") < text.index("98765 00003")


def test_a_merged_listing_speaks_the_chats_language() -> None:
    from bot.i18n import speaking

    rows = [_row(i, i, START + timedelta(seconds=i)) for i in range(3)]
    with speaking("zh"):
        [message] = plan_merged(rows, START + timedelta(seconds=40))
    assert plain_text(message.text or "").startswith("📞 最近 40 秒内有 3 通电话在振铃：")
    many = [_row(i, i, START + timedelta(seconds=i)) for i in range(500)]
    with speaking("zh"):
        [document] = plan_merged(many, START + timedelta(minutes=10))
    assert "最新的几条" in (document.text or "") and "全部条目见附件列表。" in (document.text or "")
    [english] = plan_merged(rows, START + timedelta(seconds=40))
    assert plain_text(english.text or "").startswith("📞 3 calls ringing in the last 40 s:")
