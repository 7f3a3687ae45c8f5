"""Defects found by using the bot as its users and an attacker would, each reproduced end to end
through the fake Bot API (and the simulator, and the listener)."""

from __future__ import annotations

import time
from typing import Any

from tests.bot.conftest import GROUP, OPERATOR, BotHarness


def _edited(update: dict[str, Any]) -> dict[str, Any]:
    """The same message as an edit (what Telegram sends when its author changes it)."""
    message = update.pop("message")
    message["edit_date"] = int(time.time())
    update["edited_message"] = message
    return update


async def _settle(bot: BotHarness, chat_id: int, mark: int) -> list[Any]:
    """Every successful send to the chat after `mark`, once the bot has handled every update
    and sent its outbox (waited on, not guessed from a quiet spell)."""
    await bot.idle()
    return [
        c
        for c in bot.telegram.sent
        if c.seq > mark and c.chat_id == chat_id and c.method.startswith(("send", "edit"))
    ]


async def test_editing_a_command_does_not_run_it_again(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Edit-Team")
    mark = bot.telegram.mark()
    sent = bot.telegram.send_command(GROUP, OPERATOR, "/addagents Edit-Team 2")
    await bot.telegram.wait_for_text(GROUP, "Created 2 agent(s)", since=mark)
    # The operator fixes the count by editing the message: 2 -> 3.
    edit = bot.telegram.build_command(GROUP, OPERATOR, "/addagents Edit-Team 3")
    edit["message"]["message_id"] = sent["message"]["message_id"]
    mark = bot.telegram.mark()
    bot.telegram.enqueue(_edited(edit))
    answer = await bot.answer(GROUP, mark)
    assert "editing /addagents did nothing" in answer.text, answer.text
    assert "new message" in answer.text
    await _settle(bot, GROUP, mark)
    group = await bot.say(GROUP, OPERATOR, "/group Edit-Team")
    assert "Agents: 2 " in group.text, group.text  # not 2 + 3


async def test_editing_the_caption_of_a_number_file_does_not_check_it_again(
    bot: BotHarness,
) -> None:
    await bot.bind()
    update = bot.telegram.build_document(
        GROUP, OPERATOR, "leads.csv", b"phone\n+919876543210\n", caption="/upload"
    )
    mark = bot.telegram.mark()
    bot.telegram.enqueue(_edited(update))
    answer = await bot.answer(GROUP, mark)
    assert "editing /upload did nothing" in answer.text, answer.text
    calls = await _settle(bot, GROUP, mark)
    assert not [c for c in calls if "Number file check" in (c.text or "")]
    assert not bot.telegram.calls_of("getFile")


async def test_an_edited_message_that_is_not_our_command_gets_no_answer(bot: BotHarness) -> None:
    await bot.bind()
    mark = bot.telegram.mark()
    bot.telegram.enqueue(_edited(bot.telegram.build_command(GROUP, OPERATOR, "/groups@OtherBot")))
    bot.telegram.enqueue(_edited(bot.telegram.build_command(GROUP, OPERATOR, "/nosuchcommand")))
    await bot.telegram.wait_until(lambda: not bot.telegram.pending_updates)
    assert await _settle(bot, GROUP, mark) == []


async def test_a_press_with_data_no_button_handler_knows_is_answered(bot: BotHarness) -> None:
    from tests.bot.task_helpers import forged_answer, newest_with

    await bot.bind()
    bot.telegram.send_document(
        GROUP, OPERATOR, "leads.csv", b"phone\n+919876543210\n", caption="/upload"
    )
    await bot.telegram.wait_for_text(GROUP, "Number file check", timeout=15)
    card = newest_with(bot, GROUP, "up:")
    for data in ("zz:1:go", "up", ""):
        answer = await forged_answer(bot, GROUP, OPERATOR, card.message_id, data)
        assert answer.ok and "no longer valid" in answer.params["text"], (data, answer.params)


async def test_a_file_of_national_numbers_without_a_country_code_says_how_to_set_it_here(
    bot: BotHarness,
) -> None:
    await bot.bind()
    mark = bot.telegram.mark()
    bot.telegram.send_document(
        GROUP, OPERATOR, "leads.csv", b"phone\n98765 43210\n98765 43211\n", caption="/upload"
    )
    report = await bot.telegram.wait_for_text(GROUP, "Number file check", timeout=15, since=mark)
    assert "'98765 43210': no country code" in report.text
    assert "--ccode" not in report.text  # a flag of the command line, not of the chat
    assert "/settings ccode 91" in report.text
    calls = await bot.say(GROUP, OPERATOR, "/calls 98765 43210")
    assert "--ccode" not in calls.text and "/settings ccode 91" in calls.text, calls.text


async def test_newtask_of_an_upload_without_valid_numbers_or_discarded_says_so(
    bot: BotHarness,
) -> None:
    from tests.bot.task_helpers import button_data, newest_with

    await bot.bind()
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, OPERATOR, "bad.csv", b"phone\n12\n", caption="/upload")
    await bot.telegram.wait_for_text(GROUP, "upload #1", timeout=15, since=mark)
    reply = await bot.say(GROUP, OPERATOR, "/newtask 1")
    assert "Upload #1 had no valid numbers, so there is nothing to call" in reply.text, reply.text

    mark = bot.telegram.mark()
    bot.telegram.send_document(
        GROUP, OPERATOR, "good.csv", b"phone\n+919876543210\n", caption="/upload"
    )
    await bot.telegram.wait_for_text(GROUP, "upload #2", timeout=15, since=mark)
    card = newest_with(bot, GROUP, "up:2:")
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, card.message_id, button_data(card, ":drop"))
    await bot.telegram.wait_for_text(GROUP, "Discarded", since=mark)
    reply = await bot.say(GROUP, OPERATOR, "/newtask 2")
    assert "Upload #2 was discarded" in reply.text, reply.text
    assert "Upload to platform" not in reply.text  # that button is gone


ANONYMOUS_ADMIN_BOT = 1087968824  # the placeholder Telegram puts in `from` for "Remain anonymous"


async def test_a_command_sent_as_the_group_is_refused_with_the_reason(bot: BotHarness) -> None:
    await bot.bind()
    update = bot.telegram.build_command(GROUP, ANONYMOUS_ADMIN_BOT, "/newgroup Anon-Team")
    update["message"]["from"] = {
        "id": ANONYMOUS_ADMIN_BOT,
        "is_bot": True,
        "first_name": "Group",
        "username": "GroupAnonymousBot",
    }
    update["message"]["sender_chat"] = {"id": GROUP, "type": "supergroup", "title": "Team"}
    mark = bot.telegram.mark()
    bot.telegram.enqueue(update)
    answer = await bot.answer(GROUP, mark)
    assert "sent this as the group or as a channel" in answer.text, answer.text
    assert "Remain anonymous" in answer.text
    assert "viewer" not in answer.text  # not "you are a viewer: ask for /role operator"
    groups = await bot.say(GROUP, OPERATOR, "/groups")
    assert "Anon-Team" not in groups.text


async def test_numbers_written_in_arabic_indic_or_persian_digits_are_read(
    bot: BotHarness,
) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/settings ccode 91")
    content = "name,phone\nPriya,٩٨٧٦٥٤٣٢١٠\nRavi,+٩١ ٩٨٧٦٥ ٤٣٢١١\nSara,۹۸۷۶۵۴۳۲۱۲\nbad,١٢\n"
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, OPERATOR, "arabic.csv", content.encode(), caption="/upload")
    report = await bot.telegram.wait_for_text(GROUP, "Number file check", timeout=15, since=mark)
    assert "Valid: 3. Invalid: 1." in report.text, report.text
    assert "'١٢': too short for +91" in report.text  # a real reason, not "letters or symbols"


async def test_a_ringing_push_whose_called_info_is_an_object_reaches_the_chat(
    bot: BotHarness,
) -> None:
    """The listener accepts calledInfo as a JSON object (the callee's columns); the relay worker
    refused the same push afterwards, so a push answered 200 was never posted."""
    import httpx
    from sqlmodel import select

    from storage.models import PushInbox
    from tests.bot.conftest import PUSH_TOKEN

    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Info-Team")
    event = {
        "callId": "250918183554315000287",
        "type": 1,
        "taskId": 561235,
        "called": "919876543210",
        "calledInfo": {"name": "Priya", "plan": "gold"},
        "seatGroupName": "Info-Team",
        "noAnswerSipList": [],
        "sipAccount": "1344C025cb_001",
        "callinEventTime": "2026-12-01 18:35:00",
    }
    mark = bot.telegram.mark()
    async with httpx.AsyncClient(base_url=bot.service.listener_url) as http:
        response = await http.post(f"/push/{PUSH_TOKEN}", json=[event])
    assert response.status_code == 200, response.text
    ringing = await bot.telegram.wait_for_text(GROUP, "Ringing", timeout=10, since=mark)
    assert "Priya" in ringing.text and "1344C025cb_001" in ringing.text, ringing.text
    with bot.service.runtime.database.session() as session:
        statuses = [row.status for row in session.exec(select(PushInbox))]
    assert statuses == ["done"], statuses


async def test_wrong_arguments_are_answered_with_what_is_wrong_not_only_the_usage(
    bot: BotHarness,
) -> None:
    await bot.bind()
    cases = {
        "/notify ringing": "Say what /notify ringing should be: on or off.",
        "/notify calls": "Say what /notify calls should be: each, answered, digest or off.",
        "/notify sound on": "“on” is not a kind of message I know. Say one of: alerts,",
        "/settings displaynum +1 (555)": "/settings displaynum takes one value without spaces",
        "/settings ccode": "Give /settings ccode a value, or - to clear it.",
        "/rerun 5000001 bogus": "“bogus” is not a re-run choice: say failed, uncalled or all.",
    }
    for typed, problem in cases.items():
        reply = await bot.say(GROUP, OPERATOR, typed)
        assert reply.text.startswith(problem), (typed, reply.text)
        assert "Usage:" in reply.text, (typed, reply.text)


async def test_a_role_given_by_id_to_a_member_not_seen_yet_starts_with_a_capital(
    bot: BotHarness,
) -> None:
    from tests.bot.conftest import ADMIN

    await bot.bind(operators=())
    reply = await bot.say(GROUP, ADMIN, "/role operator 777000111")
    assert reply.text.startswith("User (<code>777000111</code>) is now <b>operator</b>"), reply.text


async def test_the_group_button_of_a_one_agent_group_says_1_agent(bot: BotHarness) -> None:
    from tests.bot.task_helpers import button_data, newest_with, upload_in

    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Solo-Team")
    await bot.say(GROUP, OPERATOR, "/addagents Solo-Team 1")
    await bot.say(GROUP, OPERATOR, "/settings ccode 91")
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    await bot.say(GROUP, OPERATOR, f"/newtask {upload_id}")
    card = newest_with(bot, GROUP, "nt:")
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, card.message_id, button_data(card, ":type:1"))
    await bot.telegram.wait_for_text(GROUP, "Which agent group?", since=mark)
    labels = [b["text"] for b in newest_with(bot, GROUP, "nt:").buttons]
    assert "Solo-Team (1 agent)" in labels, labels


async def test_mute_quotes_the_duration_as_typed(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/mute 30m extra")
    assert reply.text.startswith("“30m extra” is not a duration"), reply.text
    reply = await bot.say(GROUP, OPERATOR, "/mute 1h 30m")  # words apart still read as one
    assert reply.text.startswith("🔕 Muted until"), reply.text
