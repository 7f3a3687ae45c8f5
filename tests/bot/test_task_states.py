"""Only what can work is offered: Rate only for transfers to agents, Cancel only before a task ends,
Re-run only after; commands refuse the same states with a sentence. Submit ends in a definite
state whatever the platform does. Markup typed into any task command comes back literally."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from bot.laaffic.models import AgentGroup
from bot.services import groups as group_service
from storage.models import DraftStatus, TaskDraft
from tests.bot.conftest import GROUP, OPERATOR, BotHarness
from tests.bot.task_helpers import (
    button_data,
    forged_answer,
    newest_with,
    press_on,
    submitted_task_id,
    until_finished,
    upload_in,
)
from tests.bot.test_upload_and_tasks import prepare
from tests.fakes.telegram import parse_html


async def submit(bot: BotHarness, spec: str) -> str:
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    card = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} {spec}")
    assert "Confirm the calling task" in card.text, card.text
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":submit")
    done = await bot.telegram.wait_for_text(GROUP, "submitted", timeout=15, since=mark)
    return submitted_task_id(done.text)


def card_buttons(bot: BotHarness) -> list[str]:
    return [b["callback_data"] for b in newest_with(bot, GROUP, "tk:").buttons]


async def test_an_automatic_task_has_no_rate_to_change(bot: BotHarness) -> None:
    await prepare(bot)
    task_id = await submit(bot, "auto")
    reply = await bot.say(GROUP, OPERATOR, f"/task {task_id}")
    assert "automatic calling" in reply.text
    assert card_buttons(bot) == [f"tk:{task_id}:refresh", f"tk:{task_id}:cancel"]
    reply = await bot.say(GROUP, OPERATOR, f"/rate {task_id} 3")
    assert "automatic calling, which has no call-out rate" in reply.text
    card = newest_with(bot, GROUP, "tk:")
    for data in (f"tk:{task_id}:rate", f"tk:{task_id}:setrate:3"):
        answer = await forged_answer(bot, GROUP, OPERATOR, card.message_id, data)
        assert "no call-out rate" in answer.params["text"] and answer.params["show_alert"]
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/editTask"] == 0


async def test_an_ended_task_offers_a_rerun_and_refuses_cancel_and_rate(
    fast_bot: BotHarness,
) -> None:
    bot = fast_bot
    await prepare(bot)
    task_id = await submit(bot, "agents Flow-Team rate=1")
    await until_finished(bot, task_id)
    reply = await bot.say(GROUP, OPERATOR, f"/task {task_id}")
    assert "completed" in reply.text
    assert card_buttons(bot) == [f"tk:{task_id}:refresh", f"tk:{task_id}:rerun"]
    reply = await bot.say(GROUP, OPERATOR, f"/cancel {task_id}")
    assert "has already ended (completed), so there is nothing to cancel" in reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/rate {task_id} 2")
    assert "already ended" in reply.text
    card = newest_with(bot, GROUP, "tk:")
    answer = await forged_answer(bot, GROUP, OPERATOR, card.message_id, f"tk:{task_id}:cancel")
    assert "nothing to cancel" in answer.params["text"]
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/cancelTask"] == 0
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/editTask"] == 0
    # the rate a confirmed /rate set is what a re-run sends (none here: it stays 1)
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, card.message_id, f"tk:{task_id}:rerun")
    question = await bot.telegram.wait_for_text(GROUP, "call its failed numbers again", since=mark)
    assert question.ok


async def test_markup_in_task_arguments_comes_back_literally(bot: BotHarness) -> None:
    await prepare(bot)
    for text, shown in (
        ("/newtask 1 <b>", "not “<b>”"),
        ("/rate 5000001 <b>", "“<b>” is not"),
        ("/task <b>x</b>", "“<b>x</b>” is not a task id"),
        ('/cancel <a href="https://example.com">y</a>', "Usage: /cancel <task id>"),
        ("/cancel <a>y</a>", "“<a>y</a>” is not a task id"),
        ("/rerun 5 <i>", "Usage: /rerun <task id>"),
        ("/tasks <b>", "Usage: /tasks"),
        ('/newtask 1 agents "<b>', "A quote is not closed"),
        ("/newtask <u>&amp;", "is not an upload number"),
        ("/newtask 1 agents <b>x</b>", "no upload #1"),
    ):
        reply = await bot.say(GROUP, OPERATOR, text)
        assert reply.ok, (text, reply.summary())
        visible, entities = parse_html(reply.text)
        assert shown in visible, (text, visible)
        assert not any(e["type"] in ("text_link", "bold", "italic") for e in entities), text


def draft_status(bot: BotHarness) -> DraftStatus:
    db = bot.service.runtime.database
    return db.call(lambda s: s.exec(select(TaskDraft)).one()).status


async def test_a_refused_submit_reopens_the_draft_with_the_reason(bot: BotHarness) -> None:
    await prepare(bot)
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} agents Flow-Team")
    state = bot.platform.simulator.state
    bot.platform.call(lambda: setattr(state, "balance", Decimal(0)))
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":submit")
    card = await bot.telegram.wait_for_text(GROUP, "Last attempt failed", timeout=15, since=mark)
    assert "balance" in card.text and "platform code -10" in card.text
    assert draft_status(bot) == DraftStatus.DRAFT
    assert button_data(newest_with(bot, GROUP, "nt:"), ":submit")
    bot.platform.call(lambda: setattr(state, "balance", Decimal(100)))
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":submit")
    await bot.telegram.wait_for_text(GROUP, "submitted", timeout=15, since=mark)
    assert draft_status(bot) == DraftStatus.SUBMITTED
    assert len(state.tasks) == 1


async def test_a_lost_submit_answer_leaves_the_draft_unknown_and_not_submittable(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} auto")
    sim = bot.platform.simulator
    # the client's snapshot of the task list works; the submit's answer is lost; every check fails
    bot.platform.call(sim.inject_fault, "/v3/cc/preview/query", "delay_before_apply", 0, 1)
    bot.platform.call(sim.inject_fault, "/v3/cc/preview/query", "http_500", 0, 20)
    bot.platform.call(sim.inject_fault, "/v3/cc/preview/submitTask", "drop")
    card = newest_with(bot, GROUP, "nt:")
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":submit")
    lost = await bot.telegram.wait_for_text(GROUP, "⚠", timeout=20, since=mark)
    assert "before creating it again" in lost.text and lost.params.get("reply_markup") is None
    assert draft_status(bot) == DraftStatus.UNKNOWN
    # a member whose screen still shows the old Submit button presses it
    base = newest_with(bot, GROUP, "nt:new:").message_id
    answer = await forged_answer(bot, GROUP, OPERATOR, base, button_data(card, ":submit"))
    assert "answer to this submit was lost" in answer.params["text"]
    assert sim.requests["/v3/cc/preview/submitTask"] == 1


async def test_a_quoted_group_name_with_spaces_is_the_tasks_group(bot: BotHarness) -> None:
    await prepare(bot)
    client = bot.service.runtime.client
    group_id = await client.add_group("Sales Team Two")
    group = AgentGroup(voiceGroupId=group_id, groupName="Sales Team Two")
    bot.service.runtime.database.call(
        lambda s: group_service.route_group(s, group, GROUP, None, OPERATOR)
    )
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    card = await bot.say(
        GROUP, OPERATOR, f'/newtask {upload_id} agents "Sales Team Two" rate=2 "March leads"'
    )
    assert "Confirm the calling task" in card.text, card.text
    assert f"Sales Team Two (<code>{group_id}</code>)" in card.text
    assert "Remark: March leads" in card.text
    reply = await bot.say(GROUP, OPERATOR, f'/newtask {upload_id} agents "Sales Team')
    assert "A quote is not closed" in reply.text
