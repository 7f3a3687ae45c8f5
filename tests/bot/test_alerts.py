"""Call-centre alerts end to end: the bot against the fake Bot API and the simulator, with the
relay worker and the sender it runs. A run of unanswered calls raises one loud alert with
buttons; the buttons check who presses them and where; recovery edits the alert and says so
silently; /alerts, /notify sound and /topic answer every bad input with a sentence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.metrics import REGISTRY
from storage.models import AlertEpisode, utcnow
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness
from tests.relay.conftest import recent_call
from tests.relay.test_commands import relay

TEAM_GROUP = "Sales-Team-1"
OTHER = -1009999999999
_ids = iter(range(10**6))
_clock: dict[str, Any] = {}


def call(answered: bool, group: str = TEAM_GROUP) -> dict[str, Any]:
    _clock["at"] = _clock.get("at", utcnow() - timedelta(minutes=10)) + timedelta(seconds=1)
    extra: dict[str, Any] = {} if answered else {"answerTime": None, "callDuration": 0}
    body = recent_call(_clock["at"], **extra)
    body.update(agentGroupName=group, callSessionId=f"e{next(_ids)}", callId=f"ec{next(_ids)}")
    if not answered:
        body["answerTime"] = None
    return body


@pytest.fixture
async def team(chatty_bot: BotHarness) -> BotHarness:
    _clock.clear()
    await chatty_bot.bind()
    reply = await chatty_bot.say(GROUP, OPERATOR, f"/newgroup {TEAM_GROUP}")
    assert reply.ok, reply.summary()
    return chatty_bot


async def unanswered_alert(bot: BotHarness) -> Any:
    mark = bot.telegram.mark()
    for _ in range(5):
        await relay(bot, "call", call(False))
    return await bot.telegram.wait_for_text(GROUP, "Unanswered calls", timeout=20, since=mark)


def episodes(bot: BotHarness) -> list[AlertEpisode]:
    db = bot.service.runtime.database
    return db.call(lambda s: list(s.exec(select(AlertEpisode).order_by(AlertEpisode.id))))


def buttons(bot: BotHarness, message_id: int) -> list[tuple[str, str]]:
    (message,) = [m for m in bot.telegram.messages(GROUP) if m.message_id == message_id]
    return [(b["text"], b["callback_data"]) for b in message.buttons]


def counted(name: str, rule: str) -> float:
    return REGISTRY.get_sample_value(f"ccbot_alerts_{name}_total", {"rule": rule}) or 0.0


async def test_five_unanswered_calls_raise_one_loud_alert_with_three_buttons(
    team: BotHarness,
) -> None:
    started = counted("started", "unanswered")
    sent = await unanswered_alert(team)
    assert counted("started", "unanswered") == started + 1
    assert sent.method == "sendMessage" and not sent.params.get("disable_notification")
    message_id = sent.result["message_id"]
    assert "5 calls in a row of the group Sales-Team-1 were not answered" in sent.result["text"]
    assert [label for label, _ in buttons(team, message_id)] == [
        "I'm on it",
        "Snooze 1 h",
        "Show calls",
    ]
    for _ in range(3):  # the streak grows to 8: still the same alert
        await relay(team, "call", call(False))
    await team.settled()
    assert len(episodes(team)) == 1
    alerts = [c for c in team.telegram.calls_of("sendMessage", GROUP) if "Unanswered" in c.text]
    assert len(alerts) == 1


async def test_the_buttons_take_snooze_and_show_calls_with_the_right_roles(
    team: BotHarness,
) -> None:
    sent = await unanswered_alert(team)
    message_id = sent.result["message_id"]
    (episode,) = episodes(team)
    take, snooze, calls = (f"al:{a}:{episode.id}" for a in ("take", "snooze", "calls"))

    answer = await team.press(GROUP, VIEWER, message_id, take)
    assert "Only members with the operator role can do this" in answer.params["text"]
    mark = team.telegram.mark()
    answer = await team.press(GROUP, OPERATOR, message_id, take)
    assert "It's yours" in answer.params["text"]
    edited = await team.telegram.wait_for_text(GROUP, "Taken by", since=mark)
    assert edited.method == "editMessageText"
    answer = await team.press(GROUP, ADMIN, message_id, take)
    assert "already has this alert" in answer.params["text"]
    assert "nothing was changed" in answer.params["text"]

    mark = team.telegram.mark()
    answer = await team.press(GROUP, OPERATOR, message_id, snooze)
    assert "Snoozed for 1 hour" in answer.params["text"]
    edited = await team.telegram.wait_for_text(GROUP, "Snoozed until", since=mark)
    assert "Taken by" in edited.result["text"]  # the snooze keeps who has it

    mark = team.telegram.mark()
    await team.press(GROUP, VIEWER, message_id, calls)
    shown = await team.telegram.wait_for_text(GROUP, "The calls behind", since=mark)
    assert shown.result["text"].count("not answered") == 5


async def test_an_answered_call_edits_the_alert_and_says_so_silently(team: BotHarness) -> None:
    sent = await unanswered_alert(team)
    message_id = sent.result["message_id"]
    mark = team.telegram.mark()
    await relay(team, "call", call(True))
    edited = await team.telegram.wait_for_text(GROUP, "✅ Recovered at", timeout=20, since=mark)
    assert edited.method == "editMessageText" and edited.params["message_id"] == message_id
    (message,) = [m for m in team.telegram.messages(GROUP) if m.message_id == message_id]
    assert [b["text"] for b in message.buttons] == ["Show calls"]
    note = await team.telegram.wait_for_text(GROUP, "answered a call again", timeout=20, since=mark)
    assert note.method == "sendMessage" and note.params.get("disable_notification") is True
    (episode,) = episodes(team)
    assert episode.cleared_at is not None
    assert counted("cleared", "unanswered") >= 1


async def test_routine_call_records_go_silently_unless_the_chat_turns_their_sound_on(
    team: BotHarness,
) -> None:
    await team.say(GROUP, OPERATOR, "/notify calls each")
    mark = team.telegram.mark()
    await relay(team, "call", call(True))
    relayed = await team.telegram.wait_for_text(GROUP, TEAM_GROUP, timeout=20, since=mark)
    assert relayed.params.get("disable_notification") is True
    reply = await team.say(GROUP, OPERATOR, "/notify sound calls on")
    assert "Calls messages now make a sound in this chat" in reply.result["text"]
    mark = team.telegram.mark()
    await relay(team, "call", call(True))
    relayed = await team.telegram.wait_for_text(GROUP, TEAM_GROUP, timeout=20, since=mark)
    assert not relayed.params.get("disable_notification")
    reply = await team.say(GROUP, VIEWER, "/notify sound")
    assert "calls: loud" in reply.result["text"] and "ringing: silent" in reply.result["text"]
    assert "alerts: loud" in reply.result["text"]
    reply = await team.say(GROUP, OPERATOR, "/notify sound bells on")
    assert "“bells” is not a kind of message I know" in reply.result["text"]
    reply = await team.say(GROUP, VIEWER, "/notify sound calls off")
    assert "needs the operator role" in reply.result["text"]


async def test_a_button_pressed_after_the_rule_was_turned_off_says_so(team: BotHarness) -> None:
    sent = await unanswered_alert(team)
    message_id = sent.result["message_id"]
    (episode,) = episodes(team)
    reply = await team.say(GROUP, OPERATOR, "/alerts unanswered off")
    assert "The unanswered alert is off in this chat" in reply.result["text"]
    assert "1 open alert was marked as turned off" in reply.result["text"]
    answer = await team.press(GROUP, OPERATOR, message_id, f"al:take:{episode.id}")
    assert "The unanswered alert is turned off in this chat" in answer.params["text"]
    assert "/alerts unanswered on" in answer.params["text"]
    (episode,) = episodes(team)
    assert episode.taken_by is None


async def test_a_button_of_another_chats_alert_does_nothing_here(team: BotHarness) -> None:
    team.telegram.set_chat(OTHER, chat_type="supergroup", title="Managers")
    await team.say(OTHER, ADMIN, "/bind")
    await team.say(OTHER, ADMIN, f"/route {TEAM_GROUP}")
    await unanswered_alert(team)
    theirs = await team.telegram.wait_for_text(OTHER, "Unanswered calls", timeout=20)
    mine, other = sorted(episodes(team), key=lambda e: e.chat_id != GROUP)
    assert mine.chat_id == GROUP and other.chat_id == OTHER
    press = team.telegram.build_button_press(
        OTHER, ADMIN, theirs.result["message_id"], f"al:take:{other.id}"
    )
    press["callback_query"]["data"] = f"al:take:{mine.id}"  # made up: this chat's id, there
    mark = team.telegram.mark()
    team.telegram.enqueue(press)
    answer = await team.telegram.wait_for(
        lambda c: c.method == "answerCallbackQuery", 10, since=mark
    )
    assert "belongs to another chat" in answer.params["text"]
    assert all(e.taken_by is None for e in episodes(team))


async def test_alerts_lists_the_rules_and_answers_bad_input_with_a_sentence(
    team: BotHarness,
) -> None:
    reply = await team.say(GROUP, VIEWER, "/alerts")
    text = reply.result["text"]
    assert "unanswered: on: 5 calls in a row not answered" in text
    assert "answer-rate: on: answer rate below 30% over 15 minutes, with at least 20 calls" in text
    assert "balance: off" in text and "task-stalled: on" in text
    cases = {
        "/alerts answer-rate 130": "The percentage of the answer-rate alert must be between 1 "
        "and 100, and 130 is not, so nothing was changed.",
        "/alerts unanswered 0": "The number of calls of the unanswered alert must be between 1 "
        "and 1000, and 0 is not",
        "/alerts unanswered five": "“five” is not a number, so the unanswered alert was not "
        "changed.",
        "/alerts nosuchrule": "There is no alert rule called “nosuchrule”.",
        "/alerts balance on": "The balance alert needs the amount to alert below",
        "/alerts unanswered 2.5": "must be a whole number",
    }
    for typed, sentence in cases.items():
        reply = await team.say(GROUP, OPERATOR, typed)
        assert sentence in reply.result["text"], (typed, reply.result["text"])
    reply = await team.say(GROUP, VIEWER, "/alerts unanswered 8")
    assert "needs the operator role" in reply.result["text"]
    reply = await team.say(GROUP, VIEWER, "/alerts")
    assert "5 calls in a row" in reply.result["text"]  # nothing was changed by any of them
    reply = await team.say(GROUP, OPERATOR, "/alerts answer-rate 40 10")
    assert "answer rate below 40% over 10 minutes, with at least 20 calls" in reply.result["text"]
    reply = await team.say(GROUP, OPERATOR, "/alerts balance 100")
    assert "the balance falls below 100.00" in reply.result["text"]


async def test_topic_sends_alerts_to_a_forum_topic_and_topics_lists_it(team: BotHarness) -> None:
    reply = await team.say(GROUP, OPERATOR, "/topic alerts")
    assert "works in a group with topics (a forum)" in reply.result["text"]
    team.telegram.set_chat(GROUP, is_forum=True)
    reply = await team.say(GROUP, OPERATOR, "/topic alerts")
    assert "Type /topic inside the topic" in reply.result["text"]
    reply = await team.say(GROUP, OPERATOR, "/topic alerts", message_thread_id=77)
    assert "Alerts now go to this topic" in reply.result["text"]
    reply = await team.say(GROUP, OPERATOR, "/topic weather", message_thread_id=77)
    assert "“weather” is not a kind of message I know" in reply.result["text"]
    reply = await team.say(GROUP, VIEWER, "/topics")
    assert "alerts: topic 77" in reply.result["text"]
    assert "calls: the main place" in reply.result["text"]
    sent = await unanswered_alert(team)
    assert sent.params.get("message_thread_id") == 77


async def test_a_deleted_alerts_topic_falls_back_to_the_main_place(team: BotHarness) -> None:
    team.telegram.set_chat(GROUP, is_forum=True)
    await team.say(GROUP, OPERATOR, "/topic alerts", message_thread_id=77)
    team.telegram.delete_topic(GROUP, 77)
    sent = await unanswered_alert(team)
    assert "message_thread_id" not in sent.params
    reply = await team.say(GROUP, VIEWER, "/topics")
    assert "alerts: the main place" in reply.result["text"]
