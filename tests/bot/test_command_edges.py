"""Commands given the arguments a hurried or hostile member types: each gets a sentence saying
what is wrong and what to do, and nothing is half-done."""

from __future__ import annotations

import pytest

from bot.laaffic.simulator.state import TASK_CANCELLED
from bot.relay.task_card import active_tasks
from storage.models import utcnow
from tests.bot.conftest import GROUP, OPERATOR, BotHarness
from tests.bot.task_helpers import press_on, upload_in
from tests.bot.test_task_life import confirm, submit_one_line, uploaded
from tests.bot.test_upload_and_tasks import prepare, press_step

CRASHED = "Something went wrong on our side"


@pytest.mark.parametrize(
    "name",
    [
        "Asia",  # a directory of zones in the tz database, not a zone
        "Europe",
        "A" * 300,  # longer than a file name may be
    ],
)
async def test_a_time_zone_that_is_not_one_gets_a_sentence_not_a_crash(
    bot: BotHarness, name: str
) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, f"/settings timezone {name}")
    assert CRASHED not in reply.text
    assert "is not a time zone I know" in reply.text and "Asia/Kolkata" in reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/schedule 18:00 {name}")
    assert CRASHED not in reply.text
    assert "is not a time zone" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings")
    assert "Time zone: <code>UTC</code> (the default)" in reply.text


async def test_a_refused_submit_keeps_the_group_name_on_the_card(bot: BotHarness) -> None:
    await prepare(bot)
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    card = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} agents Flow-Team")
    assert "Agent group: Flow-Team (" in card.text
    config = bot.platform.simulator.config
    bot.platform.call(lambda: setattr(config, "no_minimum_rate", True))
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":submit")
    card = await bot.telegram.wait_for_text(GROUP, "Last attempt failed", timeout=15, since=mark)
    assert "platform code -77" in card.text
    # the card a member submits again from still says which group will be called, by name
    assert "Agent group: Flow-Team (" in card.text


async def test_a_rerun_task_is_followed_by_its_live_card_again(fast_bot: BotHarness) -> None:
    bot = fast_bot
    db = bot.service.runtime.database
    upload_id = await uploaded(bot)
    mark = bot.telegram.mark()
    task_id = int(await submit_one_line(bot, upload_id, "auto"))
    await bot.telegram.wait_for_text(GROUP, "completed", timeout=30, since=mark)

    def followed() -> bool:
        return task_id in [t.task_id for t, _ in db.call(lambda s: active_tasks(s, utcnow()))]

    assert not followed()  # the card reached its end: polling stopped
    # The card's own polling is held, so nothing but the re-run decides what is followed.
    for job in bot.service.application.job_queue.get_jobs_by_name("relay-task-cards"):
        job.enabled = False
    await bot.say(GROUP, OPERATOR, f"/rerun {task_id} all")
    assert "all its numbers are queued to be called again" in await confirm(bot)
    # The task calls again: its live card follows it to the re-run's end.
    assert followed()


async def test_a_reply_to_an_older_prompt_is_not_taken_for_the_newer_question(
    bot: BotHarness,
) -> None:
    upload_id = await uploaded(bot)
    await bot.say(GROUP, OPERATOR, f"/newtask {upload_id}")
    await press_step(bot, "nt:", ":type:1", "Which agent group")
    await press_step(bot, "nt:", ":grp:", "Call-out rate")
    rate_prompt = await press_step(bot, "nt:", ":rate:typed", "with the call-out rate")
    # The operator picks the rate with a button after all, then asks to type the ringing time.
    await press_step(bot, "nt:", ":rate:2", "Maximum ringing")
    ring_prompt = await press_step(bot, "nt:", ":ring:typed", "with the maximum ringing time")
    # "45" answers the rate prompt it replies to: it must not become a ringing time of 45 s.
    reply = await bot.say(
        GROUP, OPERATOR, "45", reply_to_message_id=rate_prompt.result["message_id"]
    )
    assert "earlier question" in reply.text and "not used" in reply.text
    reply = await bot.say(
        GROUP, OPERATOR, "40", reply_to_message_id=ring_prompt.result["message_id"]
    )
    assert "Maximum ringing: 40 s" in reply.text and "Call-out rate: 2" in reply.text


async def test_schedule_off_with_more_words_says_what_is_wrong(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/schedule off tomorrow")
    # not "“off” is not a time like 18:00", which points at the one word that was right
    assert "is not a time" not in reply.text
    assert "/schedule off takes nothing after it" in reply.text and "Usage: /schedule" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/schedule")
    assert "comes every day at 09:00" in reply.text  # nothing was changed


async def test_a_country_code_typed_with_its_dialling_zeros_is_kept_as_the_calling_code(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    reply = await bot.say(GROUP, OPERATOR, "/settings ccode 0091")
    assert "Country code: <code>91</code>" in reply.text, reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings ccode 00")
    assert "is not a country calling code" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/addagents Flow-Team 1 1234 0091")
    assert "Created 1 agent(s)" in reply.text, reply.text
    state = bot.platform.simulator.state
    newest = bot.platform.call(lambda: max(state.agents.values(), key=lambda a: a.key_id))
    assert newest.ccode == "91"  # what the platform was sent: the calling code, no zeros


async def test_a_new_group_whose_list_cannot_be_read_afterwards_is_still_this_teams(
    bot: BotHarness,
) -> None:
    await bot.bind()
    sim = bot.platform.simulator
    query = "/v3/cc/seatGroup/query"
    # The create's own look-ups (before and after addGroup) work; every later list fails.
    bot.platform.call(sim.inject_fault, query, "delay_before_apply", 0, 2)
    bot.platform.call(sim.inject_fault, query, "http_500", 0, 4)
    reply = await bot.say(GROUP, OPERATOR, "/newgroup Half-Done")
    # not "Could not reach the platform … Nothing was changed": the group was created
    assert "Created the agent group <b>Half-Done</b>" in reply.text, reply.text
    reply = await bot.say(GROUP, OPERATOR, "/routes")
    assert "Half-Done" in reply.text  # routed to the chat that created it


async def test_a_confirmation_for_a_task_that_ended_meanwhile_says_it_ended(
    bot: BotHarness,
) -> None:
    upload_id = await uploaded(bot)
    task_id = await submit_one_line(bot, upload_id)
    reply = await bot.say(GROUP, OPERATOR, f"/rate {task_id} 3")
    assert "Change the call-out rate" in reply.text
    # Cancelled elsewhere (in the Laaffic console) before the operator presses Yes.
    task = bot.platform.simulator.state.tasks[int(task_id)]
    bot.platform.call(lambda: setattr(task, "status", TASK_CANCELLED))
    answer = await confirm(bot)
    # not only the code's general "it may still be running or already cancelled"
    assert f"Task {task_id} has already ended (cancelled)" in answer, answer
    assert "nothing was done" in answer and "platform code -41" in answer


@pytest.mark.parametrize(
    "typed",
    [
        "Flow-Team\u200b",  # a zero-width space copied along with the name
        "Flow-Team\u200e",  # a left-to-right mark from a right-to-left chat
        "\ufeffflow-team",  # a byte-order mark, and other case
    ],
)
async def test_a_group_name_with_invisible_characters_copied_along_is_found(
    bot: BotHarness, typed: str
) -> None:
    await prepare(bot)
    reply = await bot.say(GROUP, OPERATOR, f"/agents {typed}")
    assert "<b>Flow-Team</b>: 2 agent(s)" in reply.text, reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/group {typed}")
    assert "<b>Flow-Team</b> — id" in reply.text, reply.text


async def test_a_failed_confirmation_says_where_to_see_the_task_now(bot: BotHarness) -> None:
    upload_id = await uploaded(bot)
    task_id = await submit_one_line(bot, upload_id)
    await bot.say(GROUP, OPERATOR, f"/rate {task_id} 3")
    sim = bot.platform.simulator
    bot.platform.call(sim.inject_fault, "/v3/cc/preview/agent/editTask", "http_500", 0, 4)
    answer = await confirm(bot)
    # "it may or may not have taken effect": the member needs the way to look
    assert "may or may not have taken effect" in answer and "(HTTP 500)" in answer, answer
    assert f"/task {task_id} shows the task as it is now" in answer
