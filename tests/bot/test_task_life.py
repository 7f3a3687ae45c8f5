"""A task's life from the chat: typed answers, rate change, re-run, listing, and failures that say
whether the action took effect."""

from __future__ import annotations

import re

from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness
from tests.bot.task_helpers import until_finished
from tests.bot.test_upload_and_tasks import (
    find_button,
    numbers_csv,
    prepare,
    press_step,
    upload_file,
    upload_to_platform,
)


async def uploaded(bot: BotHarness) -> str:
    await prepare(bot)
    return await upload_to_platform(bot)


async def submit_one_line(
    bot: BotHarness, upload_id: str, spec: str = "agents Flow-Team rate=1"
) -> str:
    card = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} {spec}")
    assert "Confirm the calling task" in card.text, card.text
    message, _ = find_button(bot, GROUP, "nt:")
    submit = next(
        b["callback_data"] for b in message.buttons if b["callback_data"].endswith(":submit")
    )
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message.message_id, submit)
    done = await bot.telegram.wait_for_text(GROUP, "submitted", timeout=15, since=mark)
    return re.search(r"Task <code>(\d+)</code> submitted", done.text).group(1)


def find_pending_question(bot: BotHarness, label: str) -> bool:
    """Whether any bot message offers a confirmation button whose label has `label`."""
    return any(
        b.get("callback_data", "").startswith("pa:") and label in b["text"]
        for m in bot.telegram.messages(GROUP)
        for b in m.buttons
    )


async def confirm(bot: BotHarness) -> str:
    message, _ = find_button(bot, GROUP, "pa:")
    yes = next(b["callback_data"] for b in message.buttons if b["callback_data"].endswith(":yes"))
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message.message_id, yes)
    edit = await bot.telegram.wait_for(lambda c: c.method == "editMessageText" and c.ok, since=mark)
    return edit.text


async def test_typed_rate_and_remark_in_the_guided_flow(bot: BotHarness) -> None:
    upload_id = await uploaded(bot)
    await bot.say(GROUP, OPERATOR, f"/newtask {upload_id}")
    for suffix, expect in (
        (":type:1", "Which agent group"),
        (":grp:", "Call-out rate"),
        (":rate:typed", "reply to this message with the call-out rate"),
    ):
        prompt = await press_step(bot, "nt:", suffix, expect)
    reply = await bot.say(GROUP, OPERATOR, "0", reply_to_message_id=prompt.result["message_id"])
    assert "1 to 10" in reply.text and "Reply to the prompt again" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "4", reply_to_message_id=prompt.result["message_id"])
    assert "Maximum ringing" in reply.text and "Call-out rate: 4" in reply.text
    await press_step(bot, "nt:", ":ring:0", "Add a remark")
    prompt = await press_step(bot, "nt:", ":remark:typed", "with the remark")
    reply = await bot.say(
        GROUP, OPERATOR, "Leads <March> & co", reply_to_message_id=prompt.result["message_id"]
    )
    assert "Confirm the calling task" in reply.text
    assert "Leads &lt;March&gt; &amp; co" in reply.text  # escaped, and the fake parsed it
    assert "rate: 4" in reply.text and "platform default" in reply.text


async def test_rate_rerun_and_listing(bot: BotHarness) -> None:
    upload_id = await uploaded(bot)
    task_id = await submit_one_line(bot, upload_id)
    reply = await bot.say(GROUP, OPERATOR, f"/rate {task_id} 3")
    assert "Change the call-out rate" in reply.text
    assert "now calls at rate 3" in await confirm(bot)
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/editTask"] == 1
    reply = await bot.say(GROUP, OPERATOR, f"/rate {task_id} 99")
    assert "1 to 10" in reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/rerun {task_id} sometimes")
    assert "Usage: /rerun" in reply.text
    # the task is still calling: a re-run is refused at once, with the reason and what to do
    reply = await bot.say(GROUP, OPERATOR, f"/rerun {task_id} failed")
    assert "still running" in reply.text and f"/cancel {task_id}" in reply.text, reply.text
    assert not find_pending_question(bot, "re-run")
    assert bot.platform.simulator.requests["/v3/cc/preview/resendTask"] == 0
    reply = await bot.say(GROUP, VIEWER, "/tasks all")
    assert "admins only" in reply.text and task_id not in reply.text
    reply = await bot.say(GROUP, ADMIN, "/tasks all")
    assert task_id in reply.text and "All tasks" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/task 424242")
    assert "no task 424242" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/task abc")
    assert "Usage: /task" in reply.text


async def test_task_card_buttons_refresh_for_viewers_and_refuse_changes(bot: BotHarness) -> None:
    upload_id = await uploaded(bot)
    task_id = await submit_one_line(bot, upload_id)
    card = await bot.say(GROUP, VIEWER, f"/task {task_id}")
    message_id = card.result["message_id"]
    answer = await bot.press(GROUP, VIEWER, message_id, f"tk:{task_id}:refresh")
    assert answer.params.get("text") == "Refreshed"
    answer = await bot.press(GROUP, VIEWER, message_id, f"tk:{task_id}:cancel")
    assert "operator role" in answer.params["text"]
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/cancelTask"] == 0
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message_id, f"tk:{task_id}:rate")
    picker = await bot.telegram.wait_for_text(GROUP, "New call-out rate", since=mark)
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, picker.result["message_id"], f"tk:{task_id}:setrate:2")
    await bot.telegram.wait_for_text(GROUP, "to 2?", since=mark)
    message, _ = find_button(bot, GROUP, "pa:")
    no = next(b["callback_data"] for b in message.buttons if b["callback_data"].endswith(":no"))
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message.message_id, no)
    await bot.telegram.wait_for_text(GROUP, "nothing was changed", since=mark)
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/editTask"] == 0


async def test_discard_keeps_the_file_off_the_platform(bot: BotHarness) -> None:
    await prepare(bot)
    message_id, data = await upload_file(bot, numbers_csv())
    upload_id = data.split(":")[1]
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message_id, f"up:{upload_id}:drop")
    await bot.telegram.wait_for_text(GROUP, "Discarded", since=mark)
    reply = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id}")
    assert "was discarded, so it is not on the platform" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/preview/upload"] == 0


async def test_a_failed_write_says_whether_it_took_effect(bot: BotHarness) -> None:
    upload_id = await uploaded(bot)
    task_id = await submit_one_line(bot, upload_id)
    bot.platform.call(
        bot.platform.simulator.inject_fault, "/v3/cc/preview/agent/cancelTask", "http_500"
    )
    await bot.say(GROUP, OPERATOR, f"/cancel {task_id}")
    outcome = await confirm(bot)
    assert "Could not reach the Laaffic platform" in outcome and "check" in outcome.lower()


async def test_a_create_that_failed_twice_says_nothing_was_created(bot: BotHarness) -> None:
    await prepare(bot)
    bot.platform.call(
        bot.platform.simulator.inject_fault, "/v3/cc/seat/addSeatList", "http_500", 0, 2
    )
    reply = await bot.say(GROUP, OPERATOR, "/addagents Flow-Team 2", timeout=20)
    assert "nothing" in reply.text.lower() and "created" in reply.text.lower(), reply.text
    reply = await bot.say(GROUP, VIEWER, "/agents Flow-Team")
    assert "2 agent(s)" in reply.text  # only the two from prepare()


async def test_rerun_of_a_finished_task_queues_its_failed_numbers(fast_bot: BotHarness) -> None:
    bot = fast_bot
    upload_id = await uploaded(bot)
    task_id = await submit_one_line(bot, upload_id, "auto")
    await until_finished(bot, task_id)
    reply = await bot.say(GROUP, VIEWER, f"/task {task_id}")
    assert "completed" in reply.text and "12 of 12 called" in reply.text
    await bot.say(GROUP, OPERATOR, f"/rerun {task_id} failed")
    assert "failed numbers are queued to be called again" in await confirm(bot)
    assert bot.platform.simulator.requests["/v3/cc/preview/resendTask"] == 1


async def test_a_failed_upload_can_be_pressed_again(bot: BotHarness) -> None:
    await prepare(bot)
    message_id, data = await upload_file(bot, numbers_csv())
    upload_id = data.split(":")[1]
    bot.platform.call(
        bot.platform.simulator.inject_fault, "/v3/cc/preview/upload", "http_500", 0, 2
    )
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message_id, f"up:{upload_id}:go")
    failed = await bot.telegram.wait_for_text(GROUP, "The upload failed", timeout=15, since=mark)
    assert "0 of 1 file(s) reached the platform" in failed.text and "try again" in failed.text
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message_id, f"up:{upload_id}:go")
    await bot.telegram.wait_for_text(GROUP, "Uploaded upload", timeout=15, since=mark)
    assert bot.platform.simulator.requests["/v3/cc/preview/upload"] == 3
