"""The whole flow: number file → report → upload → guided task → submit once → task life."""

from __future__ import annotations

import re

from tests.bot.conftest import GROUP, OPERATOR, VIEWER, BotHarness


def numbers_csv(valid: int = 12, invalid: int = 1, duplicates: int = 1) -> bytes:
    rows = ["phone,name,city"]
    rows += [f"98765{43210 + i:05d},Customer {i},Pune" for i in range(valid)]
    rows += ["12345,Broken,Nowhere"] * invalid
    rows += [f"98765{43210:05d},Again,Pune"] * duplicates
    return ("\n".join(rows) + "\n").encode()


def find_button(bot: BotHarness, chat_id: int, prefix: str):
    """The newest bot message in the chat with a button whose data starts with `prefix`."""
    for message in reversed(bot.telegram.messages(chat_id)):
        for b in message.buttons:
            if b.get("callback_data", "").startswith(prefix):
                return message, b["callback_data"]
    raise AssertionError(f"no button {prefix!r}; last: {bot.telegram.last_text(chat_id)!r}")


async def upload_file(bot: BotHarness, content: bytes, name: str = "leads.csv") -> tuple[int, str]:
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, OPERATOR, name, content, caption="/upload")
    await bot.telegram.wait_for_text(GROUP, "Number file check", timeout=15, since=mark)
    message, data = find_button(bot, GROUP, "up:")
    return message.message_id, data


async def upload_to_platform(bot: BotHarness, content: bytes | None = None) -> str:
    """Check a file and press [Upload to platform]; return the upload id."""
    message_id, data = await upload_file(bot, content or numbers_csv())
    upload_id = data.split(":")[1]
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message_id, f"up:{upload_id}:go")
    await bot.telegram.wait_for_text(GROUP, "Uploaded upload", timeout=15, since=mark)
    return upload_id


async def press_step(bot: BotHarness, prefix: str, fragment: str, expect: str):
    """Press the button whose data has `fragment` on the newest `prefix` card; wait for `expect`."""
    card, _ = find_button(bot, GROUP, prefix)
    data = next(b["callback_data"] for b in card.buttons if fragment in b["callback_data"])
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, card.message_id, data)
    return await bot.telegram.wait_for_text(GROUP, expect, since=mark)


async def prepare(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/settings ccode 91")
    await bot.say(GROUP, OPERATOR, "/newgroup Flow-Team")
    await bot.say(GROUP, OPERATOR, "/addagents Flow-Team 2")


async def test_file_report_upload_and_guided_task_submitted_once(bot: BotHarness) -> None:
    await prepare(bot)
    message_id, data = await upload_file(bot, numbers_csv())
    report = next(m.text for m in bot.telegram.messages(GROUP) if m.message_id == message_id)
    assert "12" in report and "invalid" in report.lower() and "duplicate" in report.lower()
    rejected = await bot.telegram.wait_for(lambda c: c.method == "sendDocument" and c.ok)
    assert "Rejected rows" in rejected.text and rejected.chat_id == GROUP
    (upload,) = rejected.files.values()
    assert b"12345" in upload.content and b"reason" in upload.content.lower()
    upload_id = data.split(":")[1]

    # a viewer's press is refused and nothing happens
    answer = await bot.press(GROUP, VIEWER, message_id, f"up:{upload_id}:go")
    assert "operator role" in answer.params["text"]
    assert bot.platform.simulator.requests["/v3/cc/preview/upload"] == 0

    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message_id, f"up:{upload_id}:go")
    await bot.telegram.wait_for_text(GROUP, "Uploaded upload", timeout=15, since=mark)
    assert bot.platform.simulator.requests["/v3/cc/preview/upload"] == 1
    text = next(m.text for m in bot.telegram.messages(GROUP) if m.message_id == message_id)
    assert "the platform counted 12 number(s)" in text

    message, data = find_button(bot, GROUP, "nt:new:")
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message.message_id, data)
    await bot.telegram.wait_for_text(GROUP, "How should the numbers be called", since=mark)
    steps = [
        ("nt:", ":type:1", "Which agent group"),
        ("nt:", ":grp:", "Call-out rate"),
        ("nt:", ":rate:2", "Maximum ringing"),
        ("nt:", ":ring:40", "Add a remark"),
        ("nt:", ":remark:none", "Confirm the calling task"),
    ]
    for prefix, suffix, expect in steps:
        card, _ = find_button(bot, GROUP, prefix)
        data = next(b["callback_data"] for b in card.buttons if suffix in b["callback_data"])
        mark = bot.telegram.mark()
        await bot.press(GROUP, OPERATOR, card.message_id, data)
        shown = await bot.telegram.wait_for_text(GROUP, expect, since=mark)
        if suffix != ":type:1":  # once chosen, the group is named, not only numbered
            assert re.search(r"Agent group: Flow-Team \(<code>\d+</code>\)", shown.text), shown.text
    card, submit = find_button(bot, GROUP, "nt:")
    assert "Flow-Team" in card.text and "2 enabled agent(s)" in card.text and "rate: 2" in card.text
    submit = next(
        b["callback_data"] for b in card.buttons if b["callback_data"].endswith(":submit")
    )

    # double tap, and a second operator pressing at the same moment: one task
    mark = bot.telegram.mark()
    bot.telegram.press_button(GROUP, OPERATOR, card.message_id, submit)
    bot.telegram.press_button(GROUP, OPERATOR, card.message_id, submit)
    done = await bot.telegram.wait_for_text(GROUP, "submitted", timeout=15, since=mark)
    assert re.search(r"Agent group: Flow-Team \(<code>\d+</code>\)", done.text), done.text
    # Both presses answered: only then is "one task" a fact, however slow the machine.
    await bot.telegram.wait_for(
        lambda c: c.method == "answerCallbackQuery"
        and "nothing more was done" in c.params.get("text", ""),
        30,
        since=mark,
    )
    assert bot.platform.simulator.requests["/v3/cc/preview/submitTask"] == 1
    answers = [
        c.params.get("text", "")
        for c in bot.telegram.calls_of("answerCallbackQuery")
        if c.seq > mark
    ]
    assert any("nothing more was done" in a for a in answers), answers
    task_id = re.search(r"Task <code>(\d+)</code> submitted", done.text).group(1)

    reply = await bot.say(GROUP, VIEWER, f"/task {task_id}")
    assert f"Task <code>{task_id}</code>" in reply.text and "Progress" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/tasks")
    assert task_id in reply.text

    # cancelling asks first; answering twice does it once
    reply = await bot.say(GROUP, OPERATOR, f"/cancel {task_id}")
    assert "Cancel task" in reply.text
    confirm, yes = find_button(bot, GROUP, "pa:")
    yes = next(b["callback_data"] for b in confirm.buttons if b["callback_data"].endswith(":yes"))
    mark = bot.telegram.mark()
    bot.telegram.press_button(GROUP, OPERATOR, confirm.message_id, yes)
    bot.telegram.press_button(GROUP, OPERATOR, confirm.message_id, yes)
    await bot.telegram.wait_for_text(GROUP, "cancelled", since=mark)
    await bot.telegram.wait_until(
        lambda: len([c for c in bot.telegram.calls_of("answerCallbackQuery") if c.seq > mark]) == 2,
        5,
        what="both presses answered",
    )
    answers = [
        c.params.get("text", "")
        for c in bot.telegram.calls_of("answerCallbackQuery")
        if c.seq > mark
    ]
    assert any("already answered" in a for a in answers), answers
    assert bot.platform.simulator.requests["/v3/cc/preview/agent/cancelTask"] == 1
    reply = await bot.say(GROUP, VIEWER, f"/task {task_id}")
    assert "cancelled" in reply.text


async def test_one_line_newtask_shows_the_confirmation_card(bot: BotHarness) -> None:
    await prepare(bot)
    upload_id = await upload_to_platform(bot)
    reply = await bot.say(
        GROUP, OPERATOR, f'/newtask {upload_id} agents Flow-Team rate=3 ring=45 "March leads"'
    )
    assert "Confirm the calling task" in reply.text
    assert "rate: 3" in reply.text and "45 s" in reply.text and "March leads" in reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} agents")
    assert "needs an agent group" in reply.text
    reply = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} agents Flow-Team ring=5")
    assert "from 20 to 120" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/newtask 999 auto")
    assert "no upload #999" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/preview/submitTask"] == 0


async def test_document_answering_the_upload_prompt_is_taken(bot: BotHarness) -> None:
    await prepare(bot)
    prompt = await bot.say(GROUP, OPERATOR, "/upload")
    assert "reply to this message" in prompt.text
    mark = bot.telegram.mark()
    bot.telegram.send_document(
        GROUP, OPERATOR, "list.csv", numbers_csv(), reply_to_message_id=prompt.result["message_id"]
    )
    await bot.telegram.wait_for_text(GROUP, "Number file check", timeout=15, since=mark)


async def test_oversized_document_is_refused_before_download(bot: BotHarness) -> None:
    await prepare(bot)
    mark = bot.telegram.mark()
    bot.telegram.send_document(
        GROUP, OPERATOR, "huge.xlsx", b"PK", caption="/upload", file_size=25 * 1024 * 1024
    )
    reply = await bot.answer(GROUP, mark)
    assert "20 MB" in reply.text and "Split" in reply.text
    assert not bot.telegram.calls_of("getFile")


async def test_bad_files_get_one_sentence_and_nothing_is_stored(bot: BotHarness) -> None:
    await prepare(bot)
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, OPERATOR, "notes.pdf", b"%PDF-1.4", caption="/upload")
    reply = await bot.answer(GROUP, mark)
    assert "can't read notes.pdf" in reply.text
    mark = bot.telegram.mark()
    bot.telegram.send_document(
        GROUP, OPERATOR, "fake.xlsx", b"\x00\x01binary" * 100, caption="/upload"
    )
    reply = await bot.telegram.wait_for_text(GROUP, "couldn't check", timeout=10, since=mark)
    assert "fake.xlsx" in reply.text
    assert not any(
        b.get("callback_data", "").startswith("up:")
        for m in bot.telegram.messages(GROUP)
        for b in m.buttons
    )


async def test_viewer_document_is_refused(bot: BotHarness) -> None:
    await prepare(bot)
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, VIEWER, "leads.csv", numbers_csv(), caption="/upload")
    reply = await bot.answer(GROUP, mark)
    assert "needs the operator role" in reply.text
    assert not bot.telegram.calls_of("getFile")


async def test_a_dropped_file_is_taken_when_the_bot_sees_all_messages(bot: BotHarness) -> None:
    bot.telegram.set_member_status(GROUP, bot.telegram.bot_id, "administrator")
    await prepare(bot)
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, OPERATOR, "dropped.csv", numbers_csv())
    await bot.telegram.wait_for_text(GROUP, "Number file check", timeout=15, since=mark)
    # a viewer's dropped file is ignored without noise
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, VIEWER, "other.csv", numbers_csv())
    reply = await bot.say(GROUP, VIEWER, "/whoami")
    assert "viewer" in reply.text
    assert not [c for c in bot.telegram.sent if c.seq > mark and "operator role" in (c.text or "")]
