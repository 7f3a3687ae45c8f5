"""The guided /newtask flow: every press ends in one visible outcome, automatic calling needs no
group, forged or stale buttons say so and do nothing, and typed answers are taken from whoever
was asked (anyone else gets a sentence, never silence)."""

from __future__ import annotations

from sqlmodel import select

from storage.models import DraftStatus, DraftStep, TaskDraft
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness
from tests.bot.task_helpers import (
    button_data,
    card_unchanged_since,
    forged_answer,
    newest_with,
    nothing_sent_since,
    press_on,
    submitted_task_id,
    upload_in,
)
from tests.bot.test_upload_and_tasks import prepare

SECOND_OPERATOR = 2112
STALE = "This button is no longer valid"


async def start_draft(bot: BotHarness, upload_id: str) -> None:
    message = newest_with(bot, GROUP, "nt:new:")
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message.message_id, button_data(message, "nt:new:"))
    await bot.telegram.wait_for_text(GROUP, "How should the numbers be called", since=mark)


async def bare_chat_with_upload(bot: BotHarness) -> str:
    """A bound chat with an uploaded file and no agent group anywhere."""
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/settings ccode 91")
    return await upload_in(bot, GROUP, OPERATOR)


def drafts(bot: BotHarness) -> list[TaskDraft]:
    return bot.service.runtime.database.call(lambda s: list(s.exec(select(TaskDraft))))


async def test_automatic_calling_from_the_upload_card_needs_no_group(bot: BotHarness) -> None:
    upload_id = await bare_chat_with_upload(bot)
    await start_draft(bot, upload_id)
    answer, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":type:0")
    assert not answer.params.get("show_alert")
    card = await bot.telegram.wait_for_text(GROUP, "no agent groups", since=mark)
    assert "automatic calling works without one" in card.text
    for fragment, expect in ((":grp:0", "Maximum ringing"), (":ring:0", "Add a remark")):
        _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", fragment)
        await bot.telegram.wait_for_text(GROUP, expect, since=mark)
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":remark:none")
    card = await bot.telegram.wait_for_text(GROUP, "Confirm the calling task", since=mark)
    assert "Agent group: none" in card.text
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":submit")
    done = await bot.telegram.wait_for_text(GROUP, "submitted", timeout=15, since=mark)
    task_id = int(submitted_task_id(done.text))
    task = bot.platform.call(lambda: bot.platform.simulator.state.tasks[task_id])
    assert task.task_type == 0 and task.voice_group_ids == []
    # the finished card offers only what a just-submitted automatic task allows
    assert [b["callback_data"] for b in newest_with(bot, GROUP, "tk:").buttons] == [
        f"tk:{task_id}:refresh",
        f"tk:{task_id}:cancel",
    ]


async def test_transfer_to_agents_without_groups_says_so_and_changes_nothing(
    bot: BotHarness,
) -> None:
    upload_id = await bare_chat_with_upload(bot)
    await start_draft(bot, upload_id)
    answer, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":type:1")
    assert answer.ok and answer.params["show_alert"], answer.summary()
    assert "no agent groups yet" in answer.params["text"]
    await nothing_sent_since(bot, GROUP, mark)
    (draft,) = drafts(bot)
    assert draft.step == DraftStep.TYPE and draft.task_type is None
    assert "How should the numbers be called" in newest_with(bot, GROUP, "nt:").text


async def test_a_failing_group_query_is_an_alert_and_the_draft_stays(bot: BotHarness) -> None:
    upload_id = await bare_chat_with_upload(bot)
    await start_draft(bot, upload_id)
    bot.platform.call(
        bot.platform.simulator.inject_fault, "/v3/cc/seatGroup/query", "http_500", 0, 10
    )
    answer, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":type:0")
    assert answer.ok and answer.params["show_alert"], answer.summary()
    assert "list the agent groups" in answer.params["text"], answer.params["text"]
    await card_unchanged_since(bot, GROUP, mark, answer.params["text"])
    assert drafts(bot)[0].task_type is None


async def test_forged_and_stale_buttons_say_no_longer_valid_and_do_nothing(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    await start_draft(bot, upload_id)
    card = newest_with(bot, GROUP, "nt:")
    draft_id = drafts(bot)[0].id
    for data in (
        "nt:-2:gpage:99",
        "nt:abc",
        "nt:",
        f"nt:{draft_id}:gpage:99",  # the picker is not even shown
        f"nt:{draft_id}:rate:2",  # a step the card is not at
        f"nt:{draft_id}:type:7",
        f"nt:{draft_id}:submit",
        "nt:999:cancel",
        "nt:new:999",
        "nt:new:٣",
        f"nt:{draft_id}:type:1:extra",
        "tk:-1:refresh",
        "tk:5000001:explode",
        "tk:5000001:setrate:99",
        "pa:1:yes",
        "pa:x:maybe",
    ):
        mark = bot.telegram.mark()
        answer = await forged_answer(bot, GROUP, OPERATOR, card.message_id, data)
        assert answer.params.get("show_alert"), (data, answer.summary())
        assert STALE in answer.params.get("text", ""), (data, answer.params)
        await nothing_sent_since(bot, GROUP, mark)
    # on the group page, a page past the last is stale too (never "page 3 of 1")
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":type:1")
    await bot.telegram.wait_for_text(GROUP, "page 1 of 1", since=mark)
    answer = await forged_answer(bot, GROUP, OPERATOR, card.message_id, f"nt:{draft_id}:gpage:2")
    assert STALE in answer.params["text"]
    answer = await forged_answer(bot, GROUP, OPERATOR, card.message_id, f"nt:{draft_id}:grp:0")
    assert STALE in answer.params["text"]  # "No group" is not offered for transfer to agents
    (draft,) = drafts(bot)
    assert draft.step == DraftStep.GROUP and draft.status == DraftStatus.DRAFT
    assert bot.platform.simulator.requests["/v3/cc/preview/submitTask"] == 0


async def _to_rate_step(bot: BotHarness) -> None:
    await prepare(bot)
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    await start_draft(bot, upload_id)
    for fragment, expect in ((":type:1", "Which agent group"), (":grp:", "Call-out rate")):
        _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", fragment)
        await bot.telegram.wait_for_text(GROUP, expect, since=mark)


async def _press_type(bot: BotHarness, user_id: int) -> object:
    card = newest_with(bot, GROUP, "nt:")
    mark = bot.telegram.mark()
    answer = await bot.press(GROUP, user_id, card.message_id, button_data(card, ":rate:typed"))
    assert answer.params.get("text") == "Reply to the prompt below"
    return await bot.telegram.wait_for_text(GROUP, "reply to this message", since=mark)


async def test_the_type_prompt_targets_whoever_pressed_it(bot: BotHarness) -> None:
    await _to_rate_step(bot)
    card = newest_with(bot, GROUP, "nt:")
    prompt = await _press_type(bot, OPERATOR)
    # ForceReply(selective) targets the users mentioned in the text: the presser, by id
    assert (
        prompt.params["reply_markup"]["force_reply"] and prompt.params["reply_markup"]["selective"]
    )
    assert f'href="tg://user?id={OPERATOR}"' in prompt.text
    assert prompt.reply_to_message_id == card.message_id
    (draft,) = drafts(bot)
    assert draft.user_id == OPERATOR and draft.step == DraftStep.RATE_TEXT


async def test_a_reply_from_someone_else_says_whose_prompt_it_is(bot: BotHarness) -> None:
    await _to_rate_step(bot)
    await bot.say(GROUP, ADMIN, f"/role operator {SECOND_OPERATOR}")
    prompt = await _press_type(bot, OPERATOR)
    prompt_id = prompt.result["message_id"]
    for user in (SECOND_OPERATOR, VIEWER):
        reply = await bot.say(GROUP, user, "3", reply_to_message_id=prompt_id)
        assert f"This prompt is for User {OPERATOR}" in reply.text, reply.text
        assert "press Type…" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "٣", reply_to_message_id=prompt_id)
    assert "whole number from 1 to 10" in reply.text and "Reply to the prompt again" in reply.text
    (draft,) = drafts(bot)
    assert draft.callout_rate is None and draft.step == DraftStep.RATE_TEXT
    card_id = newest_with(bot, GROUP, "nt:").message_id
    reply = await bot.say(GROUP, OPERATOR, "4", reply_to_message_id=prompt_id)
    assert reply.method == "editMessageText" and reply.params["message_id"] == card_id
    assert "Call-out rate: 4" in reply.text and "Maximum ringing" in reply.text
    # the same prompt answered again: the question is closed, and it says so
    reply = await bot.say(GROUP, OPERATOR, "5", reply_to_message_id=prompt_id)
    assert "no longer open" in reply.text
    assert drafts(bot)[0].callout_rate == 4


async def test_type_pressed_on_a_colleagues_draft_asks_the_presser(bot: BotHarness) -> None:
    """Decision: a draft is the team's. Whoever presses Type… is asked and the draft continues
    with their answer; the earlier prompt then says it was replaced."""
    await _to_rate_step(bot)
    await bot.say(GROUP, ADMIN, f"/role operator {SECOND_OPERATOR}")
    first = await _press_type(bot, OPERATOR)
    second = await _press_type(bot, SECOND_OPERATOR)
    assert f"tg://user?id={SECOND_OPERATOR}" in second.text
    reply = await bot.say(GROUP, OPERATOR, "2", reply_to_message_id=first.result["message_id"])
    assert "This prompt was replaced" in reply.text and f"User {SECOND_OPERATOR}" in reply.text
    reply = await bot.say(
        GROUP, SECOND_OPERATOR, "6", reply_to_message_id=second.result["message_id"]
    )
    assert "Call-out rate: 6" in reply.text
    (draft,) = drafts(bot)
    assert draft.callout_rate == 6 and draft.user_id == SECOND_OPERATOR


async def test_a_button_still_works_while_a_typed_answer_is_awaited(bot: BotHarness) -> None:
    await _to_rate_step(bot)
    prompt = await _press_type(bot, OPERATOR)
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":rate:2")
    await bot.telegram.wait_for_text(GROUP, "Maximum ringing", since=mark)
    reply = await bot.say(GROUP, OPERATOR, "7", reply_to_message_id=prompt.result["message_id"])
    assert "no longer open" in reply.text
    assert drafts(bot)[0].callout_rate == 2


async def test_replies_to_other_bot_messages_are_left_alone(bot: BotHarness) -> None:
    await prepare(bot)
    whoami = await bot.say(GROUP, OPERATOR, "/whoami")
    mark = bot.telegram.mark()
    bot.telegram.send_text(
        GROUP, OPERATOR, "thanks", reply_to_message_id=whoami.result["message_id"]
    )
    await nothing_sent_since(bot, GROUP, mark)
