"""/route, /unroute, /routes, /notify, /mute, /unmute and /settings mask in a chat, end to end: the
bot against the fake Bot API and the simulator, with the relay worker the bot runs. Pushes are
stored in the inbox directly (the listener is tested on its own)."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from bot.app import BotService
from bot.laaffic.simulator.config import SAMPLE_APP_ID
from storage.models import (
    BoundChat,
    CallChat,
    GroupRoute,
    InboxStatus,
    OutboxMessage,
    PushInbox,
    RingingEvent,
    utcnow,
)
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness, make_settings
from tests.bot.test_task_life import submit_one_line, uploaded
from tests.fakes.simulator import SignedClient
from tests.relay.conftest import (
    add_push,
    call_record,
    platform_time,
    recent_call,
    ringing_event,
)

OTHER_CHAT = -1009999999999


def shown(reply: Any) -> str:
    """The reply as the chat shows it (Telegram parsed its HTML; a parse error fails here)."""
    assert reply.ok, reply.summary()
    return reply.result["text"]


def make_group(bot: BotHarness, name: str) -> int:
    """A group created outside this chat (in the console, or by another team)."""
    platform = SignedClient(bot.platform)
    try:
        platform.data("/v3/cc/seatGroup/addGroup", {"appId": SAMPLE_APP_ID, "groupName": name})
        records = platform.data("/v3/cc/seatGroup/query", {"current": 1, "size": 100, "params": {}})
        return next(r["voiceGroupId"] for r in records["records"] if r["groupName"] == name)
    finally:
        platform.close()


def routes_of(bot: BotHarness, chat_id: int = GROUP) -> list[GroupRoute]:
    db = bot.service.runtime.database
    return db.call(lambda s: list(s.exec(select(GroupRoute).where(GroupRoute.chat_id == chat_id))))


def chat_row(bot: BotHarness, chat_id: int = GROUP) -> BoundChat:
    return bot.service.runtime.database.call(lambda s: s.get(BoundChat, chat_id))


async def relay(bot: BotHarness, kind: str, body: Any) -> list[OutboxMessage]:
    """Store a push, let the running worker relay it; return the messages it enqueued."""
    db = bot.service.runtime.database
    last = db.call(lambda s: s.exec(select(func.max(OutboxMessage.id))).one()) or 0
    push_id = await asyncio.to_thread(add_push, db, kind, body)
    bot.service.relay.wake()
    started = time.monotonic()
    while db.call(lambda s: s.get(PushInbox, push_id)).status == InboxStatus.PENDING:
        assert time.monotonic() - started < 30, "the relay worker did not take the push"
        await asyncio.sleep(0.02)
    assert db.call(lambda s: s.get(PushInbox, push_id)).status == InboxStatus.DONE
    return db.call(
        lambda s: list(s.exec(select(OutboxMessage).where(col(OutboxMessage.id) > last)))
    )


_events = iter(range(10**6))


def ring(group: str = "Night-Shift", **overrides: Any) -> list[dict[str, Any]]:
    return [
        ringing_event(seatGroupName=group, taskId=None, sipAccount=f"a{next(_events)}", **overrides)
    ]


def call(group: str = "Night-Shift", answered: bool = True) -> dict[str, Any]:
    extra = {} if answered else {"answerTime": None, "callDuration": 0}
    return call_record(agentGroupName=group, callSessionId=f"s{next(_events)}", **extra)


async def test_an_admin_routes_a_group_made_elsewhere_and_its_events_come_here(
    bot: BotHarness,
) -> None:
    await bot.bind()
    group_id = make_group(bot, "Night-Shift")
    assert await relay(bot, "ringing", ring()) == []  # nobody routes it yet
    reply = await bot.say(GROUP, ADMIN, "/route Night-Shift")
    assert "The agent group <b>Night-Shift</b>" in reply.params["text"]
    assert "is this team's now" in shown(reply) and "Ringing events: on" in shown(reply)
    assert [(r.voice_group_id, r.group_name, r.active) for r in routes_of(bot)] == [
        (group_id, "Night-Shift", True)
    ]
    (message,) = await relay(bot, "ringing", ring())
    assert message.chat_id == GROUP and message.kind == "ringing" and "Night-Shift" in message.text
    reply = await bot.say(GROUP, ADMIN, f"/route {group_id}")
    assert "is this team's already" in shown(reply)
    assert len(routes_of(bot)) == 1


async def test_an_operator_who_administers_the_chat_may_route_a_group_no_team_has(
    bot: BotHarness,
) -> None:
    await bot.bind()
    make_group(bot, "Day-Shift")
    make_group(bot, "Other-Shift")
    bot.telegram.set_chat(OTHER_CHAT, chat_type="supergroup", title="Another team")
    await bot.say(OTHER_CHAT, ADMIN, "/bind")
    await bot.say(OTHER_CHAT, ADMIN, "/route Other-Shift")
    bot.telegram.set_member_status(GROUP, OPERATOR, "administrator")
    reply = await bot.say(GROUP, OPERATOR, "/route Day-Shift")
    assert "is this team's now" in shown(reply)
    assert [r.group_name for r in routes_of(bot)] == ["Day-Shift"]
    # Routing makes a group the team's: another team's group stays theirs.
    reply = await bot.say(GROUP, OPERATOR, "/route Other-Shift")
    assert "is another team's already, so nothing was changed" in shown(reply)
    assert "Only a ccbot admin" in shown(reply)
    assert [r.group_name for r in routes_of(bot)] == ["Day-Shift"]
    assert [r.group_name for r in routes_of(bot, OTHER_CHAT)] == ["Other-Shift"]
    # ... unless a ccbot admin routes it here too.
    reply = await bot.say(GROUP, ADMIN, "/route Other-Shift")
    assert f"stays routed to {OTHER_CHAT} as well" in shown(reply)
    assert sorted(r.group_name for r in routes_of(bot)) == ["Day-Shift", "Other-Shift"]


async def test_route_is_refused_to_members_who_do_not_administer_the_chat(bot: BotHarness) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    reply = await bot.say(GROUP, OPERATOR, "/route Night-Shift")  # a plain member of the chat
    assert "needs the admin role, or being an administrator of this Telegram chat" in shown(reply)
    assert "Nothing was changed" in shown(reply)
    reply = await bot.say(GROUP, VIEWER, "/route Night-Shift")
    assert "needs the operator role" in shown(reply)
    bot.telegram.set_member_status(GROUP, OPERATOR, "administrator")
    await bot.say(GROUP, OPERATOR, "/route Night-Shift")
    bot.telegram.set_member_status(GROUP, OPERATOR, "member")
    reply = await bot.say(GROUP, OPERATOR, "/unroute Night-Shift")
    assert "needs the admin role" in shown(reply)
    assert len(routes_of(bot)) == 1  # both refusals changed nothing


async def test_route_and_unroute_are_for_the_teams_group_chat(bot: BotHarness) -> None:
    reply = await bot.say(ADMIN, ADMIN, "/route Night-Shift")  # the admin's private chat
    assert "Run /route in the team's group" in shown(reply)
    reply = await bot.say(ADMIN, ADMIN, "/unroute Night-Shift")
    assert "Run /unroute in the team's group" in shown(reply)


async def test_route_and_unroute_say_what_is_wrong_and_change_nothing(bot: BotHarness) -> None:
    await bot.bind()
    for text in ("/route", "/unroute", "/mute"):
        reply = await bot.say(GROUP, ADMIN, text)
        assert "Usage" in shown(reply) and "Example" in shown(reply), shown(reply)
    reply = await bot.say(GROUP, ADMIN, "/route No-Such-Group")
    assert "There is no agent group" in shown(reply) and "/groups" in shown(reply)
    reply = await bot.say(GROUP, ADMIN, "/unroute No-Such-Group")
    assert "No agent group" in shown(reply) and "is routed to this chat" in shown(reply)
    assert "nothing was changed" in shown(reply)
    assert routes_of(bot) == []


async def test_unroute_stops_a_groups_events_and_route_brings_them_back(bot: BotHarness) -> None:
    await bot.bind()
    group_id = make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    reply = await bot.say(GROUP, ADMIN, f"/unroute {group_id}")
    assert "no longer comes to this chat" in shown(reply)
    assert routes_of(bot) == []
    assert await relay(bot, "ringing", ring()) == []
    # Re-binding the chat does not bring an unrouted group back.
    await bot.say(GROUP, ADMIN, "/bind")
    assert routes_of(bot) == []


async def test_routes_lists_this_chats_groups_and_unrouted_ones_to_admins(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, VIEWER, "/routes")
    assert "No agent group's events come to this chat yet" in shown(reply)
    await bot.say(GROUP, OPERATOR, "/newgroup Sales-Team-1")
    bot.telegram.set_chat(OTHER_CHAT, chat_type="supergroup", title="Managers")
    await bot.say(OTHER_CHAT, ADMIN, "/bind")
    await bot.say(OTHER_CHAT, ADMIN, "/route Sales-Team-1")
    stamp = platform_time(utcnow() - timedelta(minutes=1))
    await relay(bot, "ringing", ring("Ghost-Team", callinEventTime=stamp))
    await relay(bot, "call", {**call("Ghost-Team"), "callStartTime": stamp})
    reply = await bot.say(GROUP, VIEWER, "/routes")
    assert "Sales-Team-1" in shown(reply) and "also in 1 other chat(s)" in shown(reply)
    assert "Ghost-Team" not in shown(reply)  # viewers see only their chat
    assert "Call records: a digest every 15 minutes" in shown(reply)
    reply = await bot.say(GROUP, ADMIN, "/routes")
    assert "Unrouted groups seen in the last 24 hours" in shown(reply)
    assert "Ghost-Team: 1 ringing event(s), 1 call record(s)" in shown(reply)
    assert "/route Ghost-Team" in shown(reply)


async def test_notify_shows_and_changes_what_this_chat_is_sent(bot: BotHarness) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    reply = await bot.say(GROUP, VIEWER, "/notify")
    assert "Ringing events: on" in shown(reply)
    assert "Call records: a digest every 15 minutes" in shown(reply)
    # The defaults: ringing yes, single call records no.
    assert [m.kind for m in await relay(bot, "ringing", ring())] == ["ringing"]
    assert await relay(bot, "call", call()) == []

    reply = await bot.say(GROUP, VIEWER, "/notify ringing off")
    assert "needs the operator role" in shown(reply) and chat_row(bot).notify_ringing
    reply = await bot.say(GROUP, OPERATOR, "/notify ringing off")
    assert "Saved" in shown(reply) and "Ringing events: off" in shown(reply)
    assert await relay(bot, "ringing", ring()) == []

    reply = await bot.say(GROUP, OPERATOR, "/notify calls each")
    assert "a message for every call" in shown(reply)
    assert [m.kind for m in await relay(bot, "call", call(answered=False))] == ["call"]
    await bot.say(GROUP, OPERATOR, "/notify calls answered")
    assert await relay(bot, "call", call(answered=False)) == []
    assert [m.kind for m in await relay(bot, "call", call())] == ["call"]
    await bot.say(GROUP, OPERATOR, "/notify calls off")
    assert await relay(bot, "call", call()) == []
    await bot.say(GROUP, OPERATOR, "/notify calls digest")
    assert chat_row(bot).last_digest_at is not None  # the digest starts from now
    await bot.say(GROUP, OPERATOR, "/notify ringing on")
    assert [m.kind for m in await relay(bot, "ringing", ring())] == ["ringing"]

    reply = await bot.say(GROUP, OPERATOR, "/notify calls sometimes")
    assert "is not a choice for call records" in shown(reply) and "each" in shown(reply)
    reply = await bot.say(GROUP, OPERATOR, "/notify ringing maybe")
    assert "Say on or off" in shown(reply)
    reply = await bot.say(GROUP, OPERATOR, "/notify volume 11")
    assert "Usage" in shown(reply) and "Example" in shown(reply)
    assert chat_row(bot).notify_calls == "digest" and chat_row(bot).notify_ringing


async def test_a_muted_chat_gets_nothing_until_it_is_unmuted(bot: BotHarness) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    await bot.say(GROUP, OPERATOR, "/notify calls each")
    reply = await bot.say(GROUP, OPERATOR, "/mute 2h")
    assert "Muted until" in shown(reply) and "(UTC)" in shown(reply) and "/unmute" in shown(reply)
    assert "the daily summary counts them" in shown(reply)  # no digest comes to this chat
    until = chat_row(bot).muted_until
    assert until is not None
    assert await relay(bot, "ringing", ring()) == []
    assert await relay(bot, "call", call()) == []
    reply = await bot.say(GROUP, VIEWER, "/notify")
    assert "Muted" in shown(reply) and "until" in shown(reply)
    for bad, says in (
        ("/mute 8d", "at most 7 days"),
        ("/mute soon", "is not a duration I understand"),
        ("/mute 0m", "at least a minute"),
        ("/mute 1.5h", "is not a duration I understand"),
        ("/mute ２h", "is not a duration I understand"),  # digits 0-9 only, as everywhere
        ("/mute ٣0m", "is not a duration I understand"),
    ):
        reply = await bot.say(GROUP, OPERATOR, bad)
        assert says in shown(reply), (bad, shown(reply))
    assert chat_row(bot).muted_until == until  # the bad ones changed nothing
    reply = await bot.say(GROUP, VIEWER, "/unmute")
    assert "needs the operator role" in shown(reply)
    reply = await bot.say(GROUP, OPERATOR, "/unmute")
    assert "Unmuted" in shown(reply) and chat_row(bot).muted_until is None
    assert [m.kind for m in await relay(bot, "ringing", ring())] == ["ringing"]
    reply = await bot.say(GROUP, OPERATOR, "/unmute")
    assert "was not muted" in shown(reply)
    reply = await bot.say(GROUP, OPERATOR, "/mute 1d12h")
    assert "Muted until" in shown(reply) and " on " in shown(
        reply
    )  # another day: its date is shown
    await bot.say(GROUP, OPERATOR, "/notify calls digest")
    reply = await bot.say(GROUP, OPERATOR, "/mute 1h")
    assert "the first digest after it shows them" in shown(reply)


def outbox_of(bot: BotHarness, chat_id: int = GROUP) -> list[OutboxMessage]:
    db = bot.service.runtime.database
    return db.call(
        lambda s: list(s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)))
    )


async def test_muting_in_the_middle_of_a_flood_takes_back_what_was_still_waiting(
    bot: BotHarness,
) -> None:
    """The relay checks /mute when it stores a message; a group takes 16 relayed messages a
    minute, so a chat muted with 30 call records queued went on getting them for two minutes."""
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    await bot.say(GROUP, OPERATOR, "/notify calls each")
    for _ in range(6):
        await relay(bot, "call", call())
    await relay(bot, "ringing", ring())
    waiting = [m for m in outbox_of(bot) if m.status == "pending"]
    assert len(waiting) >= 3  # one a few seconds: most of them wait for their turn
    reply = await bot.say(GROUP, OPERATOR, "/mute 2h")
    words = shown(reply)
    rows = outbox_of(bot)
    withdrawn = [m for m in rows if m.status == "withdrawn"]
    assert {m.status for m in rows} <= {"sent", "sending", "merged", "withdrawn"}
    assert {m.id for m in waiting} <= {m.id for m in withdrawn}
    assert f"The {len(withdrawn)} messages that were still waiting" in words and "Muted" in words
    assert "the daily summary counts them" in words and "digest" not in words.split("stored")[1]
    posted = [c for c in bot.telegram.calls_of("sendMessage", GROUP) if "Answered" in c.text]
    assert len(posted) <= len([m for m in rows if m.status in ("sent", "sending")])
    reply = await bot.say(GROUP, OPERATOR, "/unmute")
    assert {m.status for m in outbox_of(bot) if m.id in {w.id for w in withdrawn}} == {
        "withdrawn"
    }  # not posted after all once unmuted


async def test_switching_ringing_or_calls_off_takes_back_only_that_kind(bot: BotHarness) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    await bot.say(GROUP, OPERATOR, "/notify calls each")
    for _ in range(3):
        await relay(bot, "call", call())
        await relay(bot, "ringing", ring())
    reply = await bot.say(GROUP, OPERATOR, "/notify ringing off")
    rows = outbox_of(bot)
    assert "still waiting to be posted here will not be posted" in shown(reply)
    assert {m.kind for m in rows if m.status == "withdrawn"} == {"ringing"}
    reply = await bot.say(GROUP, OPERATOR, "/notify calls answered")
    assert "will not be posted" not in shown(reply)  # a waiting message does not say which
    reply = await bot.say(GROUP, OPERATOR, "/notify calls off")
    rows = outbox_of(bot)
    assert not [m for m in rows if m.status == "pending" and m.kind in ("call", "ringing")]
    assert "withdrawn" in {m.status for m in rows if m.kind == "call"}


async def test_unbinding_in_the_middle_of_a_flood_posts_no_more_of_it(bot: BotHarness) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    await bot.say(GROUP, OPERATOR, "/notify calls each")
    for _ in range(5):
        await relay(bot, "call", call())
    reply = await bot.say(GROUP, ADMIN, "/unbind")
    rows = outbox_of(bot)
    withdrawn = [m for m in rows if m.status == "withdrawn"]
    assert withdrawn and {m.status for m in rows} <= {"sent", "sending", "merged", "withdrawn"}
    assert f"The {len(withdrawn)} relayed message(s) still waiting" in shown(reply)


async def test_masking_turned_on_mid_flood_masks_the_messages_still_waiting(
    bot: BotHarness,
) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    await bot.say(GROUP, OPERATOR, "/notify calls each")
    for _ in range(3):
        await relay(bot, "call", call())  # callee 918613237978737
        await relay(bot, "ringing", ring())  # callee 919812345210
    waiting = [m.id for m in outbox_of(bot) if m.status == "pending"]
    assert len(waiting) >= 3
    await bot.say(GROUP, OPERATOR, "/settings mask on")
    rows = {m.id: m for m in outbox_of(bot)}
    for row_id in waiting:
        row = rows[row_id]
        if row.status == "pending":  # (one may have gone meanwhile)
            assert "9812345210" not in row.text and "8613237978737" not in row.text, row.text
            assert "+91 98•••••210" in row.text or "+91 86••••••••737" in row.text, row.text


async def test_settings_mask_masks_callee_numbers_in_this_chat(bot: BotHarness) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    (message,) = await relay(bot, "ringing", ring())
    assert "+91 9812345210" in message.text
    reply = await bot.say(GROUP, VIEWER, "/settings mask on")
    assert "needs the operator role" in shown(reply)
    reply = await bot.say(GROUP, OPERATOR, "/settings mask on")
    assert "masked" in shown(reply) and "+91 98•••••210" in shown(reply)
    (message,) = await relay(bot, "ringing", ring())
    assert "+91 98•••••210" in message.text and "9812345210" not in message.text
    reply = await bot.say(GROUP, VIEWER, "/settings")
    assert "Callee numbers in relayed messages: masked" in shown(reply)
    reply = await bot.say(GROUP, OPERATOR, "/settings mask perhaps")
    assert "Say on or off" in shown(reply) and chat_row(bot).mask_numbers
    reply = await bot.say(GROUP, OPERATOR, "/settings mask")
    assert "Usage" in shown(reply)
    await bot.say(GROUP, OPERATOR, "/settings mask off")
    (message,) = await relay(bot, "ringing", ring())
    assert "+91 9812345210" in message.text


async def test_the_digest_job_enqueues_the_chats_digest(bot: BotHarness) -> None:
    await bot.bind()
    make_group(bot, "Night-Shift")
    await bot.say(GROUP, ADMIN, "/route Night-Shift")
    db = bot.service.runtime.database
    await relay(
        bot, "call", recent_call(utcnow() - timedelta(minutes=2), agentGroupName="Night-Shift")
    )

    def age_digest(session):  # noqa: ANN001, ANN202
        row = session.get(BoundChat, GROUP)
        row.last_digest_at = utcnow() - timedelta(minutes=16)
        session.add(row)
        # Relayed two minutes ago: settled into the window the job now closes.
        for link in session.exec(select(CallChat)):
            link.relayed_at = utcnow() - timedelta(minutes=2)
            session.add(link)

    db.call(age_digest)
    application = bot.service.application
    (job,) = application.job_queue.get_jobs_by_name("relay-digest")
    await job.run(application)
    digests = db.call(
        lambda s: list(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "digest")))
    )
    assert len(digests) == 1 and "Called <b>1</b> · answered 1 (100.0%)" in digests[0].text
    assert digests[0].chat_id == GROUP


async def test_a_task_submitted_in_the_chat_gets_a_live_card(fast_bot: BotHarness) -> None:
    bot = fast_bot
    upload_id = await uploaded(bot)
    task_id = int(await submit_one_line(bot, upload_id))
    db = bot.service.runtime.database
    started = time.monotonic()
    while True:
        texts = db.call(
            lambda s: [
                m.text
                for m in s.exec(
                    select(OutboxMessage).where(OutboxMessage.edit_key == f"task:{task_id}")
                )
            ]
        )
        if texts and "completed" in texts[-1]:
            break
        assert time.monotonic() - started < 60, texts  # a hang guard
        await asyncio.sleep(0.2)
    assert re.search(rf"Task <code>{task_id}</code></b> — completed", texts[-1])
    assert "Final counters" in texts[-1]


async def test_push_times_are_read_in_platform_timezone_and_shown_in_the_chats_zone(
    fake_telegram, simulator, bot_database_url
) -> None:
    settings = make_settings(
        fake_telegram, simulator, bot_database_url, platform_timezone="America/New_York"
    )
    service = BotService(settings)
    await service.start()
    try:
        bot = BotHarness(service, fake_telegram, simulator)
        await bot.bind()
        make_group(bot, "Night-Shift")
        await bot.say(GROUP, ADMIN, "/route Night-Shift")
        await bot.say(GROUP, OPERATOR, "/settings timezone Asia/Kolkata")
        (message,) = await relay(bot, "ringing", ring(callinEventTime="2025-09-18 18:35:00"))
        # 18:35 in New York (UTC-4 in September) is 22:35 UTC, 04:05 the next day in Kolkata
        # (dated: the push is relayed on another day).
        assert "at 19 Sep 2025 04:05:00" in message.text
        db = service.runtime.database
        (event,) = db.call(lambda s: list(s.exec(select(RingingEvent))))
        assert event.event_at == datetime(2025, 9, 18, 22, 35, tzinfo=UTC)
    finally:
        await service.stop()
