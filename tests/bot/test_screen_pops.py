"""The agent's private screen pop, end to end: /link or /iam in the team chats, /start in private,
ringing pushes and call records over real HTTP to the listener, the pop and its edits through the
fake Bot API. Wrong chats and wrong users are refused; unlinking, /role none and /unroute stop
the pops at once; bad pushes are shown safely or not at all and never stop the relay."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from storage.models import (
    AuditEntry,
    CallTask,
    OutboxMessage,
    PopRing,
    PushInbox,
    TaskCallee,
)
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, PUSH_TOKEN, VIEWER, BotHarness

AGENT = 4004  # the agent's Telegram user id (and private chat id)
OTHER_AGENT = 5005
OTHER_TEAM = -1009876543210
TEAM_GROUP = "Pop-Team"
TASK_ID = 7700001
CALLEE = "919876543210"


# ---- pushes ---------------------------------------------------------------------------------


def ring(
    call_id: str,
    sip: str,
    *,
    called: str = CALLEE,
    group: str | None = TEAM_GROUP,
    task_id: int | None = TASK_ID,
    called_info: str | None = None,
    missed: tuple[str, ...] = (),
    at: str = "2026-12-05 12:00:00",
) -> dict[str, Any]:
    return {
        "callId": call_id,
        "type": 1,
        "taskId": task_id,
        "called": called,
        "calledInfo": called_info,
        "seatGroupName": group,
        "noAnswerSipList": list(missed),
        "sipAccount": sip,
        "callinEventTime": at,
    }


def record(
    call_id: str,
    session_id: str,
    agent: str | None,
    *,
    answered: bool = True,
    duration: int = 75,
    reason: int = 1,
    called: str = CALLEE,
    start: str = "2026-12-05 12:00:00",
    voice_url: str | None = "https://rec.example.com/a.mp3",
) -> dict[str, Any]:
    return {
        "callId": call_id,
        "callSessionId": session_id,
        "called": called,
        "caller": "91778800001",
        "ccode": "91",
        "agentName": agent,
        "agentAccount": agent,
        "agentGroupName": TEAM_GROUP,
        "callDuration": duration if answered else 0,
        "callType": 1,
        "hangupReason": reason,
        "hangingDirection": 0,
        "callStartTime": start,
        "answerTime": start if answered else None,
        "callEndTime": start,
        "voiceUrl": voice_url,
    }


async def push(bot: BotHarness, body: Any) -> None:
    async with httpx.AsyncClient(base_url=bot.service.listener_url) as http:
        answer = await http.post(f"/push/{PUSH_TOKEN}", json=body)
        assert answer.status_code == 200, answer.text


def _db(bot: BotHarness) -> Any:
    return bot.service.runtime.database


async def relayed(bot: BotHarness, timeout: float = 15) -> None:
    """Every push stored so far is relayed, and no message for an agent waits to be sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with _db(bot).session() as s:
            waiting = s.exec(
                select(func.count()).select_from(PushInbox).where(PushInbox.status == "pending")
            ).one()
            unsent = s.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status.in_(("pending", "sending")),  # type: ignore[attr-defined]
                    OutboxMessage.chat_id > 0,
                )
            ).one()
        if not waiting and not unsent:
            return
        assert loop.time() < deadline, f"{waiting} pushes and {unsent} messages still waiting"
        await asyncio.sleep(0.02)


def plain(call: Any) -> str:
    """What the user sees of a sent or edited message (its HTML rendered)."""
    result = call.result
    return result["text"] if isinstance(result, dict) and "text" in result else call.text or ""


def pops_to(bot: BotHarness, chat_id: int, since: int = 0) -> list[Any]:
    return [
        c
        for c in bot.telegram.calls
        if c.seq > since
        and c.chat_id == chat_id
        and c.method in ("sendMessage", "editMessageText")
        and c.ok
        and ("Your phone is ringing" in (c.text or "") or "Call" in (c.text or ""))
    ]


# ---- set-up ---------------------------------------------------------------------------------


def sip_accounts(bot: BotHarness) -> list[str]:
    sim = bot.platform.simulator
    return sorted(bot.platform.call(lambda: [a.account for a in sim.state.agents.values()]))


async def team_with_agents(bot: BotHarness, count: int = 2) -> list[str]:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, f"/newgroup {TEAM_GROUP}")
    assert "created" in reply.text.lower(), reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/addagents {TEAM_GROUP} {count}")
    assert "created" in reply.text.lower() or "Created" in reply.text, reply.text
    return sip_accounts(bot)


def task_with_callee(bot: BotHarness) -> None:
    """A task of the team, submitted from a number file whose row for CALLEE has three columns."""
    now = datetime.now(UTC)
    with _db(bot).session() as s:
        s.add(CallTask(task_id=TASK_ID, chat_id=GROUP, remark="March <leads>", created_at=now))
        s.add(
            TaskCallee(
                task_id=TASK_ID,
                callee_digits=CALLEE,
                chat_id=GROUP,
                row=1,
                info=json.dumps({"Name": "Ravi Kumar", "Amount due": "12,000", "City": "Pune"}),
                created_at=now,
            )
        )
        s.commit()


async def linked_agent(bot: BotHarness) -> str:
    """A team with two agents; the first SIP account linked to AGENT, who has started."""
    sips = await team_with_agents(bot)
    await bot.say(GROUP, AGENT, "/whoami")  # the bot learns who AGENT is
    reply = await bot.say(GROUP, OPERATOR, f"/link {sips[0]} {AGENT}")
    assert "now linked" in reply.text and "/start" in reply.text, reply.text
    welcome = await bot.say(AGENT, AGENT, "/start")
    assert sips[0] in welcome.text and "/pop off" in welcome.text, welcome.text
    task_with_callee(bot)
    return sips[0]


# ---- the pop --------------------------------------------------------------------------------


async def test_a_ring_pops_up_privately_with_callee_details_history_and_then_the_outcome(
    bot: BotHarness,
) -> None:
    sip = await linked_agent(bot)
    # An earlier call to the same number, counted in the team's chat.
    await push(bot, record("c-old", "s-old", "someone_else", duration=42, start="2026-12-04 10:00:00"))
    await relayed(bot)
    mark = bot.telegram.mark()
    await push(bot, [ring("c-1", sip, called_info="<b>ignored</b>")])
    pop = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    text = plain(pop)
    assert "Your phone is ringing" in text and "+91 9876543210" in text  # in full, not masked
    assert "Name: Ravi Kumar" in text and "Amount due: 12,000" in text and "City: Pune" in text
    assert "March <leads>" in text and TEAM_GROUP in text and sip in text
    assert "answered by someone_else, talk 0:42" in text
    assert "ignored" not in text  # the number file's row wins over the push's calledInfo
    assert not pop.params.get("disable_notification")  # loud
    # The call's record edits the same message.
    await push(bot, record("c-1", "s-1", sip, duration=83))
    edit = await bot.telegram.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == AGENT, 10, since=mark
    )
    assert edit.params["message_id"] == pop.result["message_id"]
    assert "You took this call" in plain(edit) and "talk 1:23" in plain(edit)
    assert "Recording" in plain(edit)
    # Nothing else reached the agent: the team chat's ringing message went to the team chat.
    assert all(c.chat_id in (AGENT, GROUP) for c in bot.telegram.sent if c.seq > mark)


async def test_the_first_call_to_a_number_says_so_and_falls_back_to_the_pushed_information(
    bot: BotHarness,
) -> None:
    sip = await linked_agent(bot)
    mark = bot.telegram.mark()
    await push(bot, [ring("c-2", sip, called="919000000001", called_info="VIP <script>x</script>")])
    pop = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    assert "First call to this number" in plain(pop)
    assert "VIP <script>x</script>" in plain(pop)  # shown as text: escaped in the HTML sent
    assert "&lt;script&gt;" in pop.params["text"]


async def test_a_missed_ring_is_edited_to_say_so_and_then_who_took_the_call(
    bot: BotHarness,
) -> None:
    sip = await linked_agent(bot)
    other = sip_accounts(bot)[1]
    mark = bot.telegram.mark()
    await push(bot, [ring("c-3", sip)])
    pop = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    await push(bot, [ring("c-3", other, missed=(sip,), at="2026-12-05 12:00:20")])
    missed = await bot.telegram.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == AGENT, 10, since=mark
    )
    assert missed.params["message_id"] == pop.result["message_id"]
    assert "Missed by you" in plain(missed) and other in plain(missed)
    mark = bot.telegram.mark()
    await push(bot, record("c-3", "s-3", other, duration=30))
    taken = await bot.telegram.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == AGENT, 10, since=mark
    )
    assert f"{other} took the call" in plain(taken)


async def test_an_unanswered_call_shows_the_hang_up_reason_in_words(bot: BotHarness) -> None:
    sip = await linked_agent(bot)
    mark = bot.telegram.mark()
    await push(bot, [ring("c-4", sip)])
    await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    await push(bot, record("c-4", "s-4", None, answered=False, reason=7, voice_url=None))
    edit = await bot.telegram.wait_for(
        lambda c: c.method == "editMessageText" and c.chat_id == AGENT, 10, since=mark
    )
    assert "Not answered" in plain(edit) and "busy" in plain(edit) and "Recording" not in plain(edit)


async def test_rings_faster_than_the_chat_takes_merge_and_the_newest_comes_first(
    bot: BotHarness,
) -> None:
    sip = await linked_agent(bot)
    mark = bot.telegram.mark()
    numbers = [f"9190000000{i:02d}" for i in range(12)]
    for i, number in enumerate(numbers):
        await push(bot, [ring(f"storm-{i}", sip, called=number, at=f"2026-12-05 12:00:{i:02d}")])
    await relayed(bot, timeout=30)
    sent = [c for c in pops_to(bot, AGENT, mark) if c.method == "sendMessage"]
    assert len(sent) < len(numbers), [plain(c) for c in sent]
    newest = plain(sent[-1])
    assert newest.startswith("📞 Your phone is ringing: +91 90000000" + "11"), newest
    with _db(bot).session() as s:
        assert s.exec(select(func.count()).select_from(PopRing)).one() == len(numbers)
    # Every ring was shown in some message.
    shown = "\n".join(plain(c) for c in pops_to(bot, AGENT, mark))
    assert all(n[2:] in shown for n in numbers)


# ---- linking: wrong chat, wrong user ----------------------------------------------------------


async def test_link_takes_a_username_once_the_bot_has_seen_that_user(bot: BotHarness) -> None:
    sips = await team_with_agents(bot)
    unseen = await bot.say(GROUP, OPERATOR, f"/link {sips[0]} @agent_anna")
    assert "haven't seen @agent_anna" in unseen.text and "run /link as a reply" in unseen.text
    await bot.say(GROUP, AGENT, "/whoami", username="agent_anna")
    linked = await bot.say(GROUP, OPERATOR, f"/link {sips[0]} agent_anna")
    assert "now linked" in linked.text


async def test_link_is_refused_to_viewers_other_teams_and_unknown_accounts(bot: BotHarness) -> None:
    sips = await team_with_agents(bot)
    await bot.say(GROUP, AGENT, "/whoami")
    await bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    refused = await bot.say(GROUP, VIEWER, f"/link {sips[0]} {AGENT}")
    assert "operator role" in refused.text
    # Another team's chat: the account is not among its groups.
    await bot.bind(OTHER_TEAM)
    await bot.say(OTHER_TEAM, OPERATOR, "/newgroup Other-Team")
    other = await bot.say(OTHER_TEAM, OPERATOR, f"/link {sips[0]} {AGENT}")
    assert "can't find SIP account" in other.text and "nothing was linked" in other.text
    unknown = await bot.say(GROUP, OPERATOR, f"/link nosuch_001 {AGENT}")
    assert "can't find SIP account" in unknown.text
    bad = await bot.say(GROUP, OPERATOR, f"/link {sips[0]} @@@")
    assert "neither a @username nor a user id" in bad.text
    private = await bot.say(AGENT, AGENT, f"/link {sips[0]} {AGENT}")
    assert "team chat" in private.text or "works in" in private.text
    with _db(bot).session() as s:
        assert not s.exec(select(func.count()).select_from(PopRing)).one()
        links = s.exec(select(AuditEntry).where(AuditEntry.endpoint == "ccbot/link")).all()
    assert links == []


async def test_one_user_per_account_and_another_team_cannot_take_it(bot: BotHarness) -> None:
    sips = await team_with_agents(bot)
    await bot.say(GROUP, AGENT, "/whoami")
    await bot.say(GROUP, OTHER_AGENT, "/whoami")
    assert "now linked" in (await bot.say(GROUP, OPERATOR, f"/link {sips[0]} {AGENT}")).text
    again = await bot.say(GROUP, OPERATOR, f"/link {sips[0]} {OTHER_AGENT}")
    assert "is linked to" in again.text and f"/unlink {sips[0]}" in again.text
    second = await bot.say(GROUP, OPERATOR, f"/link {sips[1]} {AGENT}")
    assert "now linked" in second.text  # one user may hold several accounts
    # Another team's chat can't unlink it; in private, /unlink is refused too.
    await bot.bind(OTHER_TEAM)
    foreign = await bot.say(OTHER_TEAM, OPERATOR, f"/unlink {sips[0]}")
    assert "not linked from this chat" in foreign.text
    private = await bot.say(AGENT, AGENT, f"/unlink {sips[0]}")
    assert "team chat" in private.text
    listing = await bot.say_all(GROUP, VIEWER, f"/agents {TEAM_GROUP}")
    assert f"{sips[0]} → " in listing and str(AGENT) in listing
    with _db(bot).session() as s:
        audited = s.exec(select(AuditEntry).where(AuditEntry.endpoint == "ccbot/link")).all()
    assert len(audited) == 2


async def test_iam_asks_the_owning_team_and_only_its_operators_can_confirm(
    bot: BotHarness,
) -> None:
    sips = await team_with_agents(bot)
    await bot.bind(OTHER_TEAM)
    in_group = await bot.say(GROUP, AGENT, f"/iam {sips[0]}")
    assert "private chat" in in_group.text
    unknown = await bot.say(AGENT, AGENT, "/iam nosuch_001")
    assert "no agent with the SIP account" in unknown.text
    mark = bot.telegram.mark()
    sent = await bot.say(AGENT, AGENT, f"/iam {sips[0]}")
    assert "asked the operators" in sent.text
    again = await bot.say(AGENT, AGENT, f"/iam {sips[0]}")
    assert "already asked" in again.text  # one card, not one per /iam
    card = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == GROUP and "says SIP" in c.text,
        10,
        since=mark,
    )
    message_id = card.result["message_id"]
    data = card.params["reply_markup"]
    if isinstance(data, str):
        data = json.loads(data)
    confirm = data["inline_keyboard"][0][0]["callback_data"]
    # A viewer of the team, and an operator of another team (crafted press), are refused.
    answer = await bot.press(GROUP, VIEWER, message_id, confirm)
    assert "operator role" in answer.params["text"]
    # (an operator there pressing their own team's request card, its data made this request's)
    theirs = await other_teams_card(bot, sips)
    update = bot.telegram.build_button_press(OTHER_TEAM, OPERATOR, theirs, None, button_text="Confirm")
    update["callback_query"]["data"] = confirm
    mark_press = bot.telegram.mark()
    bot.telegram.enqueue(update)
    answer = await bot.telegram.wait_for(
        lambda c: c.method == "answerCallbackQuery", 10, since=mark_press
    )
    assert "Only the operators of the team" in answer.params["text"]
    with _db(bot).session() as s:
        assert s.exec(select(func.count()).select_from(PopRing)).one() == 0
    # Two operators press at once: it is confirmed once.
    mark = bot.telegram.mark()
    presses = [
        bot.telegram.build_button_press(GROUP, user, message_id, confirm)
        for user in (OPERATOR, ADMIN)
    ]
    for update in presses:
        bot.telegram.enqueue(update)
    await bot.telegram.wait_until(
        lambda: len([c for c in bot.telegram.calls_of("answerCallbackQuery") if c.seq > mark]) == 2,
        10,
    )
    answers = sorted(
        c.params["text"] for c in bot.telegram.calls_of("answerCallbackQuery") if c.seq > mark
    )
    assert answers[0] == "Confirmed." and "already confirmed" in answers[1], answers
    told = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    assert "confirmed" in plain(told)
    # /iam made the private chat: the link pops at once.
    task_with_callee(bot)
    mark = bot.telegram.mark()
    await push(bot, [ring("c-iam", sips[0])])
    await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    status = await bot.say(AGENT, AGENT, "/pop")
    assert "on" in status.text and sips[0] in status.text
    with _db(bot).session() as s:
        kinds = {e.endpoint for e in s.exec(select(AuditEntry))}
    assert {"ccbot/iam", "ccbot/iam_confirmed"} <= kinds


async def other_teams_card(bot: BotHarness, known: list[str]) -> int:
    """A request card in OTHER_TEAM's chat (for its own group's agent); its message id."""
    await bot.say(OTHER_TEAM, OPERATOR, "/newgroup Other-Team")
    await bot.say(OTHER_TEAM, OPERATOR, "/addagents Other-Team 1")
    theirs = next(sip for sip in sip_accounts(bot) if sip not in known)
    mark = bot.telegram.mark()
    await bot.say(OTHER_AGENT, OTHER_AGENT, f"/iam {theirs}")
    card = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == OTHER_TEAM and "says SIP" in c.text,
        10,
        since=mark,
    )
    return int(card.result["message_id"])


async def test_a_refused_request_links_nothing_and_tells_the_agent(bot: BotHarness) -> None:
    sips = await team_with_agents(bot)
    mark = bot.telegram.mark()
    await bot.say(AGENT, AGENT, f"/iam {sips[1]}")
    card = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == GROUP and "says SIP" in c.text,
        10,
        since=mark,
    )
    data = card.params["reply_markup"]
    data = json.loads(data) if isinstance(data, str) else data
    refuse = data["inline_keyboard"][0][1]["callback_data"]
    mark = bot.telegram.mark()
    answer = await bot.press(GROUP, OPERATOR, card.result["message_id"], refuse)
    assert answer.params["text"] == "Refused."
    told = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    assert "refused" in plain(told)
    status = await bot.say(AGENT, AGENT, "/pop")
    assert "No SIP account is linked" in status.text


# ---- stopping -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["unlink", "role none", "unroute", "pop off"])
async def test_each_way_of_stopping_stops_the_pops_at_once(bot: BotHarness, how: str) -> None:
    sip = await linked_agent(bot)
    if how == "unlink":
        reply = await bot.say(GROUP, OPERATOR, f"/unlink {sip}")
        assert "no longer linked" in reply.text
    elif how == "role none":
        await bot.say(GROUP, ADMIN, f"/role none {AGENT}")
    elif how == "unroute":
        await bot.say(GROUP, ADMIN, f"/unroute {TEAM_GROUP}")
    else:
        reply = await bot.say(AGENT, AGENT, "/pop off")
        assert "off" in reply.text
    mark = bot.telegram.mark()
    await push(bot, [ring(f"after-{how}", sip)])
    await relayed(bot)
    assert pops_to(bot, AGENT, mark) == []


async def test_waiting_pops_are_dropped_when_the_link_goes(bot: BotHarness) -> None:
    sip = await linked_agent(bot)
    bot.telegram.stall_next("sendMessage", seconds=None, chat_id=AGENT)
    await push(bot, [ring("c-held", sip)])
    await bot.telegram.wait_until(lambda: bot.telegram.held_calls, 10)
    await push(bot, [ring("c-waiting", sip, called="919000000099")])
    # The second ring waits behind the held one; unlinking drops it.
    with_waiting = None
    for _ in range(500):
        with _db(bot).session() as s:
            with_waiting = s.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.chat_id == AGENT, OutboxMessage.status == "pending")
            ).one()
        if with_waiting:
            break
        await asyncio.sleep(0.02)
    assert with_waiting
    reply = await bot.say(GROUP, OPERATOR, f"/unlink {sip}")
    assert "dropped" in reply.text
    bot.telegram.release_held()
    await relayed(bot)
    texts = [plain(c) for c in pops_to(bot, AGENT)]
    assert not any("9000000099" in t for t in texts)


async def test_a_blocked_bot_stops_the_pops_and_the_team_is_told_once(bot: BotHarness) -> None:
    sip = await linked_agent(bot)
    mark = bot.telegram.mark()
    bot.telegram.my_chat_member(AGENT, "member", "kicked", AGENT)  # the agent blocks the bot
    await bot.settled()
    await push(bot, [ring("c-blocked-1", sip)])
    notice = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == GROUP and "has blocked" in c.text,
        15,
        since=mark,
    )
    assert sip in plain(notice)
    await push(bot, [ring("c-blocked-2", sip, called="919000000002")])
    await relayed(bot)
    told = [c for c in bot.telegram.sent if c.seq > mark and "has blocked" in (c.text or "")]
    assert len([c for c in told if c.chat_id == GROUP]) == 1
    assert pops_to(bot, AGENT, mark) == []
    # /start again brings them back.
    bot.telegram.my_chat_member(AGENT, "kicked", "member", AGENT)
    welcome = await bot.say(AGENT, AGENT, "/start")
    assert sip in welcome.text
    mark = bot.telegram.mark()
    await push(bot, [ring("c-back", sip, called="919000000003")])
    await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )


# ---- bad input ------------------------------------------------------------------------------


async def test_bad_pushes_are_shown_safely_or_not_at_all_and_never_stop_the_relay(
    bot: BotHarness,
) -> None:
    sip = await linked_agent(bot)
    mark = bot.telegram.mark()
    # An unknown SIP account; the linked account in another team's group; a noAnswerSipList
    # naming the agent before any ring; a call record without a ring.
    await push(bot, [ring("b-1", "nobody_001")])
    await push(bot, [ring("b-2", sip, group="Another-Teams-Group")])
    await push(bot, [ring("b-3", "nobody_002", missed=(sip,))])
    await push(bot, record("b-4", "s-b-4", sip))
    await relayed(bot)
    assert pops_to(bot, AGENT, mark) == []
    # 60 KB of calledInfo with HTML: one message, escaped, cut.
    huge = "<i>x</i>" * 7_500
    await push(bot, [ring("b-5", sip, called="919000000005", called_info=huge)])
    pop = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    assert len(plain(pop)) < 1_000 and "&lt;i&gt;" in pop.params["text"]
    with _db(bot).session() as s:
        failed = s.exec(
            select(func.count()).select_from(PushInbox).where(PushInbox.status != "done")
        ).one()
    assert failed == 0


# ---- the simulator's own calls, and the sandbox -------------------------------------------------


async def test_the_simulators_calls_pop_up_with_the_files_columns_and_their_outcomes(
    fast_bot: BotHarness,
) -> None:
    from tests.bot.test_relay_end_to_end import _point_pushes_at_the_bot
    from tests.bot.test_task_life import submit_one_line
    from tests.bot.test_upload_and_tasks import prepare, upload_to_platform

    bot = fast_bot
    _point_pushes_at_the_bot(bot)
    await prepare(bot)  # Flow-Team with two agents
    sips = sip_accounts(bot)
    await bot.say(GROUP, AGENT, "/whoami")
    await bot.say(GROUP, OTHER_AGENT, "/whoami")
    for sip, user in zip(sips, (AGENT, OTHER_AGENT), strict=True):
        assert "now linked" in (await bot.say(GROUP, OPERATOR, f"/link {sip} {user}")).text
        await bot.say(user, user, "/start")
    upload_id = await upload_to_platform(bot)
    mark = bot.telegram.mark()
    await submit_one_line(bot, upload_id)
    pop = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id in (AGENT, OTHER_AGENT) and c.ok,
        30,
        since=mark,
    )
    # (the fast simulator may end the call before the pop's turn: it then goes out finished)
    assert "📞" in plain(pop) and "name: Customer" in plain(pop), plain(pop)
    outcome = await bot.telegram.wait_for(
        lambda c: c.chat_id in (AGENT, OTHER_AGENT)
        and c.ok
        and any(w in plain(c) for w in ("took this call", "took the call", "Not answered")),
        60,
        since=mark,
    )
    assert "Call" in plain(outcome)


async def test_the_sandbox_says_how_to_link_yourself_to_a_simulated_agent(
    fake_telegram, tmp_path, caplog
) -> None:
    import logging

    from bot.app import BotService
    from bot.config import load_settings

    settings = load_settings(
        telegram_bot_token=fake_telegram.token,
        telegram_api_url=fake_telegram.url,
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        listen_host="127.0.0.1",
        listen_port=0,
        push_token=PUSH_TOKEN,
        admin_user_ids=str(ADMIN),
    )
    caplog.set_level(logging.INFO, logger="bot.app")
    service = BotService(settings, sandbox=True)
    await service.start()
    try:
        logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "bot.app")
        assert "sandbox: screen pops" in logged and "/link <the first SIP account" in logged
        # The way it says works: in the admin's private chat, which is a team.
        for text, expect in (
            ("/start", "Hello"),
            ("/newgroup Sandbox-Team", "Created the agent group"),
            ("/addagents Sandbox-Team 2", "Created 2"),
        ):
            mark = fake_telegram.mark()
            fake_telegram.send_command(ADMIN, ADMIN, text)
            await fake_telegram.wait_for_text(ADMIN, expect, since=mark, timeout=15)
        sim = service.runtime.simulator.simulator
        first = sorted(a.account for a in sim.state.agents.values())
        mark = fake_telegram.mark()
        fake_telegram.send_command(ADMIN, ADMIN, f"/link {first[0]} {ADMIN}")
        linked = await fake_telegram.wait_for_text(ADMIN, "now linked", since=mark, timeout=15)
        assert first[0] in linked.text
    finally:
        await service.stop()


async def test_a_block_found_only_when_sending_also_stops_the_pops_and_tells_the_team_once(
    bot: BotHarness,
) -> None:
    """Telegram may say so only at the next send (403 "bot was blocked by the user")."""
    sip = await linked_agent(bot)
    mark = bot.telegram.mark()
    bot.telegram.fail_next(
        "sendMessage", 403, "Forbidden: bot was blocked by the user", times=None, chat_id=AGENT
    )
    await push(bot, [ring("c-403-1", sip)])
    notice = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == GROUP and "has blocked" in c.text,
        15,
        since=mark,
    )
    assert sip in notice.text
    await push(bot, [ring("c-403-2", sip, called="919000000004")])
    await relayed(bot)
    refused = [c for c in bot.telegram.calls_of("sendMessage", AGENT) if c.seq > mark]
    assert len(refused) == 1  # the second ring was not even tried


async def test_help_shows_the_agents_commands_in_private_and_not_in_the_group(
    bot: BotHarness,
) -> None:
    await bot.bind()
    private = await bot.say_all(AGENT, AGENT, "/help")
    assert "/iam" in private and "/pop" in private and "/link" not in private
    group = await bot.say_all(GROUP, OPERATOR, "/help")
    assert "/link" in group and "/unlink" in group and "/iam" not in group
