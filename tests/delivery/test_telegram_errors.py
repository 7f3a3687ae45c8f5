"""Each of Telegram's answers, injected in the fake Bot API, and what the sender makes of it."""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery.outbox import OutboxKind
from bot.metrics import REGISTRY
from storage.models import BoundChat, ChatPacing, GroupRoute, LiveMessage, OutboxStatus
from tests.delivery.conftest import (
    ADMIN,
    GROUP,
    LIMITS,
    OTHER_GROUP,
    PRIVATE,
    SenderHarness,
)


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"ccbot_{name}_total", labels) or 0.0


async def test_retry_after_holds_only_that_chat_while_other_chats_go_on(
    harness: SenderHarness,
) -> None:
    retried = counter("messages_retried", reason="retry_after")
    # Held far longer than the other chat needs, so "the others went meanwhile" is a fact however
    # slow the machine; the held message's own send is read off the schedule the sender wrote.
    harness.telegram.fail_next("sendMessage", 429, retry_after=60, chat_id=GROUP)
    first = harness.enqueue(GROUP, "ringing in the held group", kind=OutboxKind.RINGING)
    await harness.start_sender()
    await harness.until(lambda: harness.telegram.calls_of("sendMessage", GROUP), what="the 429")
    refused_at = harness.telegram.calls_of("sendMessage", GROUP)[0].time
    for i in range(3):
        harness.enqueue(OTHER_GROUP, f"other group {i}")
    await harness.until(lambda: len(harness.delivered(OTHER_GROUP)) == 3, what="the other chat")
    assert harness.delivered(GROUP) == []
    row = harness.row(first)
    assert (row.status, row.attempts) == ("pending", 0)  # a flood wait is not a failed attempt
    assert counter("messages_retried", reason="retry_after") == retried + 1
    pacing = harness.database.call(lambda s: s.get(ChatPacing, GROUP))
    assert pacing is not None and pacing.next_send_at.timestamp() >= refused_at + 60


async def test_a_chat_that_migrated_gets_its_messages_at_the_new_id_and_moves_everywhere(
    harness: SenderHarness,
) -> None:
    old, new = -4001, -1004001
    harness.bind(old, "Team One", groups=("Team One", "Night shift"))
    harness.database.call(
        lambda s: s.add(LiveMessage(edit_key="task:9", chat_id=old, message_id=77))
    )
    harness.telegram.migrate_chat(old, new)
    ids = [harness.enqueue(old, f"call record {i}") for i in range(3)]
    harness.enqueue(old, "Task 9: called 5", kind=OutboxKind.TASK_CARD, edit_key="task:9")
    await harness.start_sender()
    await harness.settled()
    assert [c.text for c in harness.delivered(new)] == [
        "call record 0",
        "call record 1",
        "call record 2",
        "Task 9: called 5",
    ]
    assert harness.delivered(old) == []
    upgraded = [c for c in harness.telegram.calls_of("sendMessage", old) if not c.ok]
    assert len(upgraded) == 1 and "upgraded" in upgraded[0].description

    def state(s):  # noqa: ANN001, ANN202
        routes = [(r.chat_id, r.group_name) for r in s.exec(select(GroupRoute)).scalars()]
        return s.get(BoundChat, old), s.get(BoundChat, new), routes, s.get(LiveMessage, "task:9")

    old_chat, new_chat, routes, live = harness.database.call(state)
    assert not old_chat.active and new_chat.active and new_chat.title == "Team One"
    assert sorted(routes) == [(new, "Night shift"), (new, "Team One")]
    assert (
        live.chat_id == new and live.message_id == harness.delivered(new)[-1].result["message_id"]
    )
    assert {harness.row(i).chat_id for i in ids} == {new}


async def test_a_chat_that_removed_the_bot_loses_its_routes_and_the_admins_are_told_once(
    harness: SenderHarness,
) -> None:
    failed = counter("messages_failed", reason="forbidden")
    harness.bind(GROUP, "Team <One>", groups=("Team One", "Night shift"))
    harness.telegram.set_member_status(GROUP, harness.telegram.bot_id, "kicked")
    ids = [harness.enqueue(GROUP, f"ringing {i}", kind=OutboxKind.CALL) for i in range(3)]
    harness.enqueue(OTHER_GROUP, "still delivered")
    await harness.start_sender()
    await harness.settled()
    assert [c.text for c in harness.delivered(OTHER_GROUP)] == ["still delivered"]
    assert harness.delivered(GROUP) == []
    rows = [harness.row(i) for i in ids]
    assert all(r.status == OutboxStatus.FAILED for r in rows)
    assert all(r.error.startswith("forbidden: Forbidden: bot was kicked") for r in rows)
    [notice] = harness.delivered(ADMIN)
    assert str(GROUP) in notice.text and "Team &lt;One&gt;" in notice.text
    assert "switched off its 2 routes" in notice.text and "3 waiting messages" in notice.text
    assert "/bind" in notice.text
    routes = harness.database.call(lambda s: list(s.exec(select(GroupRoute)).scalars()))
    assert routes and not any(r.active for r in routes)
    assert counter("messages_failed", reason="forbidden") == failed + 3

    # A later message for that chat (say, for a task it submitted) fails the same way, quietly.
    late = harness.enqueue(GROUP, "one more")
    await harness.settled()
    assert harness.row(late).status == OutboxStatus.FAILED
    assert len(harness.delivered(ADMIN)) == 1


async def test_a_notice_to_an_admin_who_blocked_the_bot_fails_without_more_notices(
    harness: SenderHarness,
) -> None:
    harness.telegram.set_member_status(ADMIN, harness.telegram.bot_id, "kicked")
    harness.telegram.set_member_status(GROUP, harness.telegram.bot_id, "kicked")
    harness.enqueue(GROUP, "to a chat that removed the bot", kind=OutboxKind.CALL)
    await harness.start_sender()
    rows = await harness.settled()
    assert [(r.chat_id, r.kind, r.status) for r in rows] == [
        (GROUP, "call", "failed"),
        (ADMIN, "notice", "failed"),
    ]
    assert rows[1].error.startswith("forbidden: Forbidden: bot was blocked by the user")
    assert len(harness.telegram.calls_of("sendMessage", ADMIN)) == 1


async def test_a_message_telegram_cannot_parse_is_sent_again_as_plain_text(
    harness: SenderHarness,
) -> None:
    harness.enqueue(PRIVATE, "Callee info: <vip> &amp; <b>priority</b> caller")
    await harness.start_sender()
    [row] = await harness.settled()
    refused, sent = harness.telegram.calls_of("sendMessage", PRIVATE)
    assert "can't parse entities" in refused.description
    assert sent.ok and sent.text == "Callee info: <vip> & priority caller"
    assert "parse_mode" not in sent.params
    assert row.status == "sent" and row.telegram_message_id == sent.result["message_id"]


async def test_server_errors_are_retried_with_backoff_and_the_attempts_kept(
    harness: SenderHarness,
) -> None:
    retried = counter("messages_retried", reason="server_error")
    harness.telegram.fail_next("sendMessage", 502, times=3, chat_id=PRIVATE)
    first = harness.enqueue(PRIVATE, "after three bad gateways")
    second = harness.enqueue(PRIVATE, "queued behind it")
    # Backoff from 0.3 s: 0.3, 0.6, 1.2 s (±20%), longer than the chat's own pacing.
    await harness.start_sender(backoff_base=0.3)
    await harness.settled()
    assert [c.text for c in harness.delivered(PRIVATE)] == [
        "after three bad gateways",
        "queued behind it",
    ]
    attempts = harness.telegram.calls_of("sendMessage", PRIVATE)
    assert [c.status for c in attempts] == [502, 502, 502, 200, 200]
    gaps = [b.time - a.time for a, b in zip(attempts, attempts[1:4], strict=False)]
    # The waits double: each is at least its backoff less the 20% jitter (a busy machine can
    # only make them longer, so no upper bound is checked, nor one gap against another: the
    # third's lower bound, 0.96 s, is above any first wait's 0.36 s of backoff).
    assert [round(g, 3) >= 0.3 * 2**k * 0.8 for k, g in enumerate(gaps)] == [True] * 3, gaps
    assert (harness.row(first).attempts, harness.row(second).attempts) == (3, 0)
    assert counter("messages_retried", reason="server_error") == retried + 3


async def test_a_failed_send_leaves_the_chats_schedule_for_every_replica(
    harness: SenderHarness,
) -> None:
    # A 502 may still have put the message in the chat: the schedule in the database counts the
    # attempt, so another replica retrying the chat keeps its distance from it too.
    harness.telegram.fail_next("sendMessage", 502, chat_id=GROUP)
    row_id = harness.enqueue(GROUP, "after a bad gateway")
    await harness.start_sender(backoff_base=0.01)
    await harness.until(
        lambda: (harness.row(row_id).status, harness.row(row_id).attempts) == ("pending", 1),
        what="the message handed back for a retry",
    )
    [refused] = harness.telegram.calls_of("sendMessage", GROUP)[:1]
    pacing = harness.database.call(lambda s: s.get(ChatPacing, GROUP))
    earliest = refused.time + LIMITS.relay_group_interval - LIMITS.relay_catch_up
    assert pacing is not None and pacing.next_send_at.timestamp() >= earliest - 0.001
    await harness.settled()
    [delivered] = harness.delivered(GROUP)
    assert delivered.time >= earliest - 0.001


async def test_a_timeout_is_retried_and_the_message_shows_once(harness: SenderHarness) -> None:
    from bot.delivery.sender import SenderTimeouts

    harness.telegram.stall_next("sendMessage", 3, chat_id=PRIVATE)
    harness.enqueue(PRIVATE, "through a stalled connection")
    await harness.start_sender(timeouts=SenderTimeouts(connect=1, read=0.4, write=1, pool=1))
    [row] = await harness.settled()
    calls = harness.telegram.calls_of("sendMessage", PRIVATE)
    assert [c.status for c in calls] == [200, 499] or [c.status for c in calls] == [499, 200]
    assert [m.text for m in harness.telegram.messages(PRIVATE)] == ["through a stalled connection"]
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.error is None


async def test_a_message_that_keeps_failing_is_marked_failed_counted_and_shown_to_admins(
    harness: SenderHarness,
) -> None:
    failed = counter("messages_failed", reason="server_error")
    harness.bind(GROUP, "Team One")
    harness.telegram.fail_next("sendMessage", 502, times=None, chat_id=GROUP)
    first = harness.enqueue(GROUP, "never gets through", kind=OutboxKind.DIGEST)
    await harness.start_sender(max_attempts=3)
    await harness.until(lambda: harness.row(first).status == "failed", what="the first failure")
    await harness.until(lambda: harness.delivered(ADMIN), what="the admins' notice")
    row = harness.row(first)
    assert row.attempts == 2 and row.failed_at is not None
    assert row.error == "server_error: Bad Gateway (after 3 attempts)"
    assert len(harness.telegram.calls_of("sendMessage", GROUP)) == 3
    assert counter("messages_failed", reason="server_error") == failed + 1
    [notice] = harness.delivered(ADMIN)
    assert "1 message could not be delivered" in notice.text
    assert f"<code>{GROUP}</code> (Team One): 1 digest" in notice.text
    assert "server error" in notice.text

    # A second failure in the same hour updates that notice instead of sending another.
    harness.enqueue(GROUP, "neither does this one", kind=OutboxKind.CALL)
    await harness.settled()
    admin_calls = harness.delivered(ADMIN)
    assert [c.method for c in admin_calls] == ["sendMessage", "editMessageText"]
    assert "2 messages could not be delivered" in admin_calls[-1].text
    assert "2 digest" not in admin_calls[-1].text and "1 digest, 1 call" in admin_calls[-1].text


async def test_a_message_telegram_refuses_fails_at_once_and_the_chat_goes_on(
    harness: SenderHarness,
) -> None:
    failed = counter("messages_failed", reason="bad_request")
    empty = harness.enqueue(PRIVATE, "   ")
    after = harness.enqueue(PRIVATE, "the next message still goes")
    await harness.start_sender()
    await harness.settled()
    row = harness.row(empty)
    assert (row.status, row.attempts) == ("failed", 0)
    assert row.error == "bad_request: Message text is empty"
    assert harness.row(after).status == "sent"
    assert [c.text for c in harness.delivered(PRIVATE)] == ["the next message still goes"]
    assert counter("messages_failed", reason="bad_request") == failed + 1
    [notice] = harness.delivered(ADMIN)
    assert "Telegram refused it: Message text is empty" in notice.text


async def test_a_deleted_forum_topic_sends_to_the_main_thread(harness: SenderHarness) -> None:
    harness.telegram.set_chat(GROUP, chat_type="supergroup", is_forum=True)
    harness.telegram.fail_next(
        "sendMessage", 400, "Bad Request: message thread not found", chat_id=GROUP
    )
    harness.enqueue(GROUP, "to topic 42", thread_id=42)
    await harness.start_sender()
    [row] = await harness.settled()
    refused, sent = harness.telegram.calls_of("sendMessage", GROUP)
    assert refused.params["message_thread_id"] == 42 and "message_thread_id" not in sent.params
    assert row.status == "sent"


async def test_a_deleted_notification_topic_is_forgotten_once_and_the_chat_told(
    harness: SenderHarness,
) -> None:
    """Every message to a deleted topic was refused there first and then sent to the main chat:
    two Telegram calls (and two of the chat's relay slots) a message, for good, and nobody was
    told where the notifications had gone."""
    harness.telegram.set_chat(GROUP, chat_type="supergroup", is_forum=True)
    harness.telegram.delete_topic(GROUP, 42)
    harness.bind(GROUP, "Team One")
    harness.database.call(lambda s: setattr(s.get(BoundChat, GROUP), "thread_id", 42))
    for i in range(3):
        harness.enqueue(GROUP, f"event {i}", thread_id=42)
    await harness.start_sender()
    await harness.settled()
    calls = harness.telegram.calls_of("sendMessage", GROUP)
    assert [c.params.get("message_thread_id") for c in calls if not c.ok] == [42]  # once
    delivered = [c.text for c in harness.delivered(GROUP)]
    # The notice says why the messages now come to the main chat: it goes before the rest.
    event, notice, *rest = delivered
    assert [event, *rest] == ["event 0", "event 1", "event 2"]
    assert "forum topic where I posted" in notice and "/bind" in notice
    assert harness.database.call(lambda s: s.get(BoundChat, GROUP).thread_id) is None


def test_every_failure_reason_is_counted_from_zero_before_the_first_failure() -> None:
    # A series born at 1 is invisible to Prometheus' increase(): the dashboard's "failed in the
    # last hour" and the alert would miss the first failure after a start.
    from bot.delivery.sender import FAILURE_REASONS

    for reason in FAILURE_REASONS:
        value = REGISTRY.get_sample_value("ccbot_messages_failed_total", {"reason": reason})
        assert value is not None, reason
