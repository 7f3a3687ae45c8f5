"""Teams are kept apart for tasks: a chat acts on the tasks it submitted or that are for its agent
groups; every command and button from another chat is refused with a sentence and does nothing
on the platform; ccbot admins act anywhere."""

from __future__ import annotations

from sqlmodel import select

from bot.laaffic.models import TaskType
from storage.models import PendingAction, TaskDraft, UploadPart
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, BotHarness
from tests.bot.task_helpers import (
    OTHER,
    OTHER_OPERATOR,
    button_data,
    forged_answer,
    newest_with,
    nothing_sent_since,
    press_on,
    submitted_task_id,
    upload_in,
)
from tests.bot.test_upload_and_tasks import prepare

NOT_OURS = "was not submitted from this chat or for one of its agent groups"
STALE = "This button is no longer valid"
WRITES = (
    "/v3/cc/preview/agent/cancelTask",
    "/v3/cc/preview/agent/editTask",
    "/v3/cc/preview/resendTask",
    "/v3/cc/preview/submitTask",
)


async def two_teams(bot: BotHarness) -> tuple[str, str]:
    """GROUP has Flow-Team and a submitted task; OTHER is a second bound team with an upload."""
    await prepare(bot)
    upload_id = await upload_in(bot, GROUP, OPERATOR)
    card = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} agents Flow-Team rate=1")
    assert "Confirm the calling task" in card.text, card.text
    _, mark = await press_on(bot, GROUP, OPERATOR, "nt:", ":submit")
    done = await bot.telegram.wait_for_text(GROUP, "submitted", timeout=15, since=mark)
    task_id = submitted_task_id(done.text)
    await bot.bind(OTHER, operators=(OTHER_OPERATOR,))
    await bot.say(OTHER, OTHER_OPERATOR, "/settings ccode 91")
    other_upload = await upload_in(bot, OTHER, OTHER_OPERATOR)
    return task_id, other_upload


def writes(bot: BotHarness) -> list[int]:
    return [bot.platform.simulator.requests[path] for path in WRITES]


async def test_task_commands_from_another_team_are_refused(bot: BotHarness) -> None:
    task_id, other_upload = await two_teams(bot)
    before = writes(bot)
    for text in (
        f"/task {task_id}",
        f"/cancel {task_id}",
        f"/rate {task_id} 3",
        f"/rerun {task_id} failed",
    ):
        reply = await bot.say(OTHER, OTHER_OPERATOR, text)
        assert NOT_OURS in reply.text and "nothing was done" in reply.text, (text, reply.text)
    assert not any(
        b.get("callback_data", "").startswith(("pa:", "tk:"))
        for m in bot.telegram.messages(OTHER)
        for b in m.buttons
    )
    reply = await bot.say(OTHER, OTHER_OPERATOR, "/tasks")
    assert task_id not in reply.text and "No tasks yet" in reply.text
    reply = await bot.say(OTHER, OTHER_OPERATOR, f"/newtask {other_upload} agents Flow-Team")
    assert "is not this team's" in reply.text, reply.text
    assert writes(bot) == before
    task = bot.platform.call(lambda: bot.platform.simulator.state.tasks[int(task_id)])
    assert task.callout_rate == 1 and not task.finished
    # the owning team still sees and acts on it
    reply = await bot.say(GROUP, OPERATOR, f"/task {task_id}")
    assert f"Task <code>{task_id}</code>" in reply.text


async def test_task_buttons_from_another_team_are_refused(bot: BotHarness) -> None:
    task_id, _ = await two_teams(bot)
    question = await bot.say(GROUP, OPERATOR, f"/rate {task_id} 3")
    assert "Change the call-out rate" in question.text
    db = bot.service.runtime.database
    action_id = db.call(lambda s: s.exec(select(PendingAction.id)).one())
    draft_id = db.call(lambda s: s.exec(select(TaskDraft.id)).first())
    base = newest_with(bot, OTHER, "").message_id  # any message of OTHER's with a button
    before = writes(bot)
    for data in (
        f"tk:{task_id}:refresh",
        f"tk:{task_id}:cancel",
        f"tk:{task_id}:rate",
        f"tk:{task_id}:setrate:3",
        f"tk:{task_id}:rerun",
    ):
        mark = bot.telegram.mark()
        answer = await forged_answer(bot, OTHER, OTHER_OPERATOR, base, data)
        assert answer.params.get("show_alert") and NOT_OURS in answer.params["text"], data
        await nothing_sent_since(bot, OTHER, mark)
    for data in (f"pa:{action_id}:yes", f"nt:{draft_id}:cancel", f"nt:{draft_id}:submit"):
        answer = await forged_answer(bot, OTHER, OTHER_OPERATOR, base, data)
        assert STALE in answer.params["text"], (data, answer.params)
    assert writes(bot) == before
    assert db.call(lambda s: s.get(PendingAction, action_id)).status == "pending"


async def test_the_group_picker_shows_this_chats_groups_and_admins_see_all(
    bot: BotHarness,
) -> None:
    await two_teams(bot)
    # OTHER's operator: Flow-Team is GROUP's, so a transfer to agents has no group here
    card = newest_with(bot, OTHER, "nt:new:")
    mark = bot.telegram.mark()
    await bot.press(OTHER, OTHER_OPERATOR, card.message_id, button_data(card, "nt:new:"))
    await bot.telegram.wait_for_text(OTHER, "How should the numbers be called", since=mark)
    answer, _ = await press_on(bot, OTHER, OTHER_OPERATOR, "nt:", ":type:1")
    assert "no agent groups yet" in answer.params["text"]
    # an admin in the same chat sees every group
    answer, mark = await press_on(bot, OTHER, ADMIN, "nt:", ":type:1")
    picker = await bot.telegram.wait_for_text(OTHER, "Which agent group", since=mark)
    assert "Flow-Team" in str(picker.params["reply_markup"])


async def test_an_admin_may_act_on_any_teams_task(bot: BotHarness) -> None:
    task_id, _ = await two_teams(bot)
    reply = await bot.say(OTHER, ADMIN, f"/task {task_id}")
    assert f"Task <code>{task_id}</code>" in reply.text
    reply = await bot.say(OTHER, ADMIN, f"/cancel {task_id}")
    assert "Cancel task" in reply.text
    question = newest_with(bot, OTHER, "pa:")
    mark = bot.telegram.mark()
    await bot.press(OTHER, ADMIN, question.message_id, button_data(question, ":yes"))
    await bot.telegram.wait_for_text(OTHER, "cancelled", since=mark)
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/cancelTask"] == 1
    reply = await bot.say(OTHER, ADMIN, "/tasks all")
    assert task_id in reply.text


async def test_a_task_made_outside_the_bot_for_a_teams_group_is_that_teams(
    bot: BotHarness,
) -> None:
    """No record of it in the bot: it is GROUP's because it is for GROUP's agent group."""
    await two_teams(bot)
    client = bot.service.runtime.client
    db = bot.service.runtime.database
    part = db.call(lambda s: s.exec(select(UploadPart)).first())
    uploaded = await client.upload_numbers(part.file_name, part.content)
    group = next(g for g in await client.list_groups() if g.group_name == "Flow-Team")
    outside = await client.submit_task(
        file_path=uploaded.file_path,
        file_name=part.file_name,
        task_type=TaskType.AGENT_GROUP_CALL,
        voice_group_ids=[group.voice_group_id],
        callout_rate=1,
    )
    reply = await bot.say(GROUP, OPERATOR, "/tasks")
    assert str(outside) in reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/task {outside}")
    assert f"Task <code>{outside}</code>" in reply.text
    reply = await bot.say(OTHER, OTHER_OPERATOR, f"/cancel {outside}")
    assert NOT_OURS in reply.text
