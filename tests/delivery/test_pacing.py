"""Pacing: Telegram's flood limits held before Telegram has to say 429, replies first.

The budget's rules are checked with Telegram's real numbers on a virtual clock; the whole path
(limiter, sender, real HTTP) against the fake Bot API enforcing the same limits with 429s, with
every time span scaled down tenfold.
"""

from __future__ import annotations

import random

import pytest

from bot.delivery.pacing import FloodBudget, FloodLimits, Priority, SendKind
from tests.delivery.conftest import GROUP, LIMITS, OTHER_GROUP, SenderHarness

REAL = FloodLimits()


def most_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def send_now(
    budget: FloodBudget, chat: int, priority: Priority, now: float, latency: float = 0.05
) -> float:
    entry = budget.record(chat, SendKind.NEW, priority, now)
    budget.complete(entry, now + latency)
    return now


def test_a_relay_flood_into_one_group_takes_16_messages_a_minute_evenly_spaced() -> None:
    budget = FloodBudget(REAL)
    sent: list[float] = []
    t = 0.0
    while t < 300:
        if budget.wait_time(GROUP, SendKind.NEW, Priority.RELAY, t) <= 0:
            sent.append(send_now(budget, GROUP, Priority.RELAY, t))
        t += 0.05
    assert most_in_window(sent, 60.0) == 16
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    # A send that goes a little late keeps the cadence: the next may follow a little sooner.
    assert min(gaps) >= REAL.relay_group_interval - REAL.relay_catch_up - 1e-9
    assert len(sent) >= 300 / REAL.relay_group_interval - 2  # no drift


def test_a_relay_send_answered_late_pushes_the_next_one_out_from_its_answer() -> None:
    # Telegram may have seen a slow send only just before it answered: the next relay message
    # of the chat keeps one interval (less the catch-up) from that answer, not from the slot.
    budget = FloodBudget(REAL)
    for chat, interval in ((GROUP, REAL.relay_group_interval), (5005, REAL.relay_private_interval)):
        entry = budget.record(chat, SendKind.NEW, Priority.RELAY, 0.0)
        budget.complete(entry, 10.0)  # answered 10 s later
        earliest = 10.0 + interval - REAL.relay_catch_up
        assert budget.relay_next(chat) == pytest.approx(earliest)
        assert budget.wait_time(chat, SendKind.NEW, Priority.RELAY, 10.0) == pytest.approx(
            earliest - 10.0
        )
        assert budget.wait_time(chat, SendKind.NEW, Priority.RELAY, earliest) == 0
        # A quick answer changes nothing: the cadence still runs from the slot.
        entry = budget.record(chat, SendKind.NEW, Priority.RELAY, earliest)
        budget.complete(entry, earliest + 0.05)
        assert budget.relay_next(chat) == pytest.approx(earliest + interval)
    # A reply answered late does not touch the relay schedule.
    entry = budget.record(OTHER_GROUP, SendKind.NEW, Priority.REPLY, 0.0)
    budget.complete(entry, 10.0)
    assert budget.relay_next(OTHER_GROUP) == 0.0


def test_replies_never_wait_behind_a_relay_flood_and_together_they_stay_within_limits() -> None:
    rng = random.Random(7)
    budget = FloodBudget(REAL)
    relay: list[float] = []
    replies: list[float] = []
    reply_waits: list[float] = []
    next_reply = rng.uniform(5, 20)
    t = 0.0
    while t < 600:
        if t >= next_reply:
            reply_waits.append(budget.wait_time(GROUP, SendKind.NEW, Priority.REPLY, t))
            replies.append(send_now(budget, GROUP, Priority.REPLY, t))
            next_reply = t + rng.uniform(15, 40)  # a command now and then, up to 4 a minute
        elif budget.wait_time(GROUP, SendKind.NEW, Priority.RELAY, t) <= 0:
            relay.append(send_now(budget, GROUP, Priority.RELAY, t))
        t += 0.02
    assert replies and max(reply_waits) == 0
    assert most_in_window(relay + replies, 60.0) <= REAL.group_messages
    assert most_in_window(relay + replies, REAL.chat_window) <= REAL.chat_messages


def test_a_waiting_reply_goes_before_a_waiting_relay_message() -> None:
    budget = FloodBudget(REAL)
    for i in range(20):  # a group's whole minute used up by replies
        send_now(budget, GROUP, Priority.REPLY, i * 0.1)
    now = 2.0
    assert budget.wait_time(GROUP, SendKind.NEW, Priority.REPLY, now) > 0
    budget.reply_waiting(GROUP, +1)
    free_again = 60.0 + 0.05 + 0.001
    assert budget.wait_time(GROUP, SendKind.NEW, Priority.REPLY, free_again) == 0
    assert budget.wait_time(GROUP, SendKind.NEW, Priority.RELAY, free_again) > 0
    budget.reply_waiting(GROUP, -1)


def test_a_private_chat_gets_relay_messages_every_1_5_s_leaving_room_for_a_reply() -> None:
    budget = FloodBudget(REAL)
    chat = 5005
    sent = []
    t = 0.0
    while t < 60:
        if budget.wait_time(chat, SendKind.NEW, Priority.RELAY, t) <= 0:
            sent.append(send_now(budget, chat, Priority.RELAY, t))
        t += 0.01
    assert most_in_window(sent, REAL.chat_window) == REAL.chat_messages - 1
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert min(gaps) >= REAL.relay_private_interval - REAL.relay_catch_up - 1e-9
    assert sum(gaps) / len(gaps) >= REAL.relay_private_interval - 1e-9


def test_the_overall_budget_keeps_five_a_second_for_replies() -> None:
    budget = FloodBudget(REAL)
    t = 0.0
    for chat in range(-100, -125, -1):  # 25 chats, one relay message each, at once
        assert budget.wait_time(chat, SendKind.NEW, Priority.RELAY, t) == 0
        send_now(budget, chat, Priority.RELAY, t, latency=0)
    assert budget.wait_time(-200, SendKind.NEW, Priority.RELAY, t) > 0
    for chat in range(-300, -305, -1):
        assert budget.wait_time(chat, SendKind.NEW, Priority.REPLY, t) == 0
        send_now(budget, chat, Priority.REPLY, t, latency=0)
    assert budget.wait_time(-400, SendKind.NEW, Priority.REPLY, t) > 0
    assert budget.wait_time(-400, SendKind.NEW, Priority.REPLY, t + 1.001) == 0


def test_a_flood_wait_holds_one_chat_for_replies_and_relay_alike() -> None:
    budget = FloodBudget(REAL)
    budget.hold(GROUP, until=10.0)
    for priority in Priority:
        assert budget.wait_time(GROUP, SendKind.NEW, priority, 0.0) == pytest.approx(10.0)
        assert budget.wait_time(OTHER_GROUP, SendKind.NEW, priority, 0.0) == 0


def test_edits_count_per_chat_and_overall_but_not_in_a_groups_twenty_a_minute() -> None:
    budget = FloodBudget(REAL)
    for i in range(20):
        entry = budget.record(GROUP, SendKind.EDIT, Priority.REPLY, i * 0.2)
        budget.complete(entry, i * 0.2)
    assert budget.wait_time(GROUP, SendKind.NEW, Priority.REPLY, 4.1) == 0


def test_a_budget_on_a_virtual_clock_forgets_only_chats_idle_on_that_clock() -> None:
    clock = [0.0]
    budget = FloodBudget(REAL, clock=lambda: clock[0])
    # Past 4096 chats, a new one makes the budget forget idle ones. One relay send each, 20 a
    # second (within the relay's overall 25): 205 s of this clock.
    last = 4097  # the next new chat is the 4098th
    for chat in range(1, last + 1):
        clock[0] = chat * 0.05
        assert budget.wait_time(chat, SendKind.NEW, Priority.RELAY, clock[0]) == 0
        send_now(budget, chat, Priority.RELAY, clock[0], latency=0)
    sent_last = clock[0]
    clock[0] += 1.0
    assert budget.relay_next(900_001) == 0.0  # a new chat: the budget tidies up
    # The last chat sent a second ago on this clock: its schedule is kept (the machine's clock
    # is decades later, and would have made every chat look idle).
    slot = sent_last - REAL.relay_catch_up  # it went on time: the cadence runs from its slot
    assert budget.relay_next(last) == pytest.approx(slot + REAL.relay_private_interval)
    assert budget.relay_next(1) == 0.0  # idle for over a group's minute on this clock: forgotten


async def test_a_burst_to_many_chats_is_sent_in_order_without_a_single_429(
    harness: SenderHarness,
) -> None:
    chats = [GROUP, OTHER_GROUP, *range(7001, 7009)]
    for i in range(6):
        for chat in chats:
            harness.enqueue(chat, f"{chat} message {i}")
    await harness.start_sender()
    await harness.settled(timeout=40)
    for chat in chats:
        delivered = harness.delivered(chat)
        assert [c.text for c in delivered] == [f"{chat} message {i}" for i in range(6)]
        times = [c.time for c in delivered]
        if chat < 0:
            assert most_in_window(times, LIMITS.group_window) <= 16
        assert most_in_window(times, LIMITS.chat_window) <= LIMITS.chat_messages - 1
    assert most_in_window([c.time for c in harness.delivered()], LIMITS.overall_window) <= 25
    # harness teardown: the fake enforcing the limits never had to answer 429


async def test_a_reply_in_a_busy_group_goes_before_the_relay_backlog_queued_ahead_of_it(
    harness: SenderHarness,
) -> None:
    bot = await harness.bot()
    await harness.start_sender(bot)
    for i in range(10):
        harness.enqueue(GROUP, f"call record {i}")

    def relayed() -> int:
        return sum(1 for c in harness.delivered(GROUP) if (c.text or "").startswith("call record"))

    await harness.until(lambda: relayed() >= 2, what="the relay under way")
    for n in range(3):
        if n:  # the replies go amid the relay: one relay message between two of them
            before = relayed()
            await harness.until(lambda b=before: relayed() > b, what="the relay to go on")
        await bot.send_message(GROUP, f"reply {n}")  # as a handler does: REPLY priority
    await harness.settled(timeout=40)
    texts = [c.text for c in harness.delivered(GROUP)]
    relay_after_replies = [
        t for t in texts[texts.index("reply 2") :] if t.startswith("call record")
    ]
    assert relay_after_replies, "the relay backlog was not yet through when the replies went"
    assert [t for t in texts if t.startswith("call record")] == [
        f"call record {i}" for i in range(10)
    ]
    times = [c.time for c in harness.delivered(GROUP)]
    assert most_in_window(times, LIMITS.group_window) <= LIMITS.group_messages
