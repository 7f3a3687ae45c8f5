"""The fake Bot API, driven by the real python-telegram-bot over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram import FakeTelegram, parse_html

GROUP = -1001234567890
OLD_GROUP = -4012345678
USER = 555001


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        fake_telegram.token,
        base_url=fake_telegram.base_url,
        base_file_url=fake_telegram.base_file_url,
    ) as bot:
        yield bot


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


# -- plain Bot API calls ------------------------------------------------------------------------


async def test_get_me_describes_the_test_bot(fake_telegram: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (fake_telegram.bot_id, "ccbot_test_bot", True)
    assert me.can_read_all_group_messages is False
    assert me.can_join_groups is True
    assert fake_telegram.sent[0].method == "getMe"


async def test_a_wrong_token_is_unauthorized(fake_telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake_telegram.url}/bot999:wrong/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    with pytest.raises(InvalidToken):
        await Bot("999:wrong", base_url=fake_telegram.base_url).get_me()


async def test_send_message_with_html_and_keyboard(fake_telegram: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(
        GROUP,
        "  <b>Team &lt;One&gt;</b> created &amp; ready\n",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Add agents", "agents:7")),
        disable_web_page_preview=True,
    )
    assert sent.text == "Team <One> created & ready"  # parsed and trimmed, like Telegram
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 10)]
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "agents:7"
    assert sent.chat.type == "supergroup" and sent.from_user.id == fake_telegram.bot_id

    call = fake_telegram.calls_of("sendMessage")[0]
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Add agents", "callback_data": "agents:7"}]]
    }
    assert call.params["link_preview_options"] == {"is_disabled": True}
    second = await bot.send_message(GROUP, "next")
    assert second.message_id == sent.message_id + 1
    assert [m.text for m in fake_telegram.messages(GROUP)] == [sent.text, "next"]
    assert fake_telegram.last_text(GROUP) == "next"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("calls < 5", 'Unsupported start tag ""'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x</i>", 'expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag"),
    ],
)
async def test_invalid_html_is_refused_like_telegram(
    bot: Bot, fake_telegram: FakeTelegram, text: str, complaint: str
) -> None:
    with pytest.raises(BadRequest, match="(?i)parse entities") as error:
        await bot.send_message(GROUP, text, parse_mode=ParseMode.HTML)
    assert complaint.lower() in str(error.value).lower()
    assert fake_telegram.messages(GROUP) == []


def test_html_parsing_details() -> None:
    text, entities = parse_html(
        '<a href="https://x.test/?a=1&amp;b=2">link</a> 😀 <i>it</i> &#64; &unknown; '
        '<pre><code class="language-python">x</code></pre>'
    )
    assert text == "link 😀 it @ &unknown; x"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 4, "url": "https://x.test/?a=1&b=2"},
        {"type": "italic", "offset": 8, "length": 2},  # the emoji counts 2 UTF-16 units
        {"type": "pre", "offset": 23, "length": 1, "language": "python"},
    ]


async def test_empty_and_too_long_texts_are_refused(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(GROUP, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(GROUP, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(GROUP, "hi", reply_markup=keyboard(("b", "d" * 65)))


async def test_edits_and_message_not_modified(fake_telegram: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "Task 1: running", reply_markup=keyboard(("Stop", "s:1")))
    edited = await bot.edit_message_text(
        "Task 1: <b>done</b>",
        chat_id=GROUP,
        message_id=sent.message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Stop", "s:1")),
    )
    assert edited.text == "Task 1: done" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "Task 1: <b>done</b>",
            chat_id=GROUP,
            message_id=sent.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("Stop", "s:1")),
        )
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(
            GROUP, sent.message_id, reply_markup=keyboard(("Stop", "s:1"))
        )
    # An edit without reply_markup drops the keyboard, as on Telegram.
    await bot.edit_message_text("Task 1: done", chat_id=GROUP, message_id=sent.message_id)
    [message] = fake_telegram.messages(GROUP)
    assert (message.text, message.reply_markup, message.edits) == ("Task 1: done", None, 2)
    assert message.sent_text == "Task 1: done"
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=999)
    assert await bot.delete_message(GROUP, sent.message_id) is True
    assert fake_telegram.messages(GROUP) == []
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(GROUP, sent.message_id)


async def test_replies_need_an_existing_message(fake_telegram: FakeTelegram, bot: Bot) -> None:
    update = fake_telegram.send_text(USER, USER, "hello")
    reply = await bot.send_message(USER, "hi", reply_to_message_id=update["message"]["message_id"])
    assert reply.reply_to_message.text == "hello"
    assert (
        fake_telegram.calls_of("sendMessage")[0].reply_to_message_id
        == reply.reply_to_message.message_id
    )
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(USER, "hi", reply_to_message_id=12345)


async def test_send_document_then_download_it(fake_telegram: FakeTelegram, bot: Bot) -> None:
    content = b"phone\n+8613800000001\n" * 3 + b"\x00\xff\r\n--binary--\r\n"
    sent = await bot.send_document(
        GROUP,
        content,
        filename="номера 1.csv",
        caption="<b>Failed</b> numbers",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Re-run", "rerun:3")),
    )
    assert sent.document.file_name == "номера 1.csv"
    assert sent.document.file_size == len(content)
    assert sent.caption == "Failed numbers"
    call = fake_telegram.calls_of("sendDocument")[0]
    upload = call.files["document"]
    assert (upload.file_name, upload.content) == ("номера 1.csv", content)
    assert call.params["caption"] == "<b>Failed</b> numbers" and call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "rerun:3"
    [message] = fake_telegram.messages(GROUP)
    assert message.file is not None and message.file.content == content

    file = await bot.get_file(sent.document.file_id)
    assert file.file_size == len(content)
    assert bytes(await file.download_as_bytearray()) == content


async def test_an_upload_keeps_its_file_name_quotes_and_all(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    sent = await bot.send_document(USER, b"a,b\n", filename='calls "March" 50%.csv')
    assert sent.document.file_name == 'calls "March" 50%.csv'
    assert fake_telegram.calls_of("sendDocument")[0].files["document"].content == b"a,b\n"


async def test_a_stalled_call_is_held_until_released_and_listed_meanwhile(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    fake_telegram.stall_next("sendMessage", None, chat_id=USER)
    assert fake_telegram.stalls_pending == 1
    sending = asyncio.create_task(bot.send_message(USER, "slow", read_timeout=60))
    await fake_telegram.wait_until(lambda: bool(fake_telegram.held_calls), 30, what="the stall")
    [held] = fake_telegram.held_calls
    assert (held.method, held.params["text"]) == ("sendMessage", "slow")
    assert fake_telegram.stalls_pending == 0 and fake_telegram.messages(USER) == []
    fake_telegram.release_held()
    assert (await asyncio.wait_for(sending, 30)).text == "slow"
    assert fake_telegram.held_calls == [] and fake_telegram.last_text(USER) == "slow"


async def test_a_stalled_call_whose_client_gave_up_is_not_carried_out(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    fake_telegram.stall_next("sendMessage", None)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "given up", read_timeout=0.2)
    gone = await fake_telegram.wait_for(lambda c: c.method == "sendMessage", 30)
    assert gone.status == 499 and fake_telegram.messages(USER) == []
    assert fake_telegram.held_calls == []


async def test_send_photo_is_recorded(fake_telegram: FakeTelegram, bot: Bot) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"chart" * 50
    sent = await bot.send_photo(USER, png, caption="Daily summary", filename="summary.png")
    assert sent.photo[-1].file_size == len(png)
    assert fake_telegram.calls_of("sendPhoto")[0].files["photo"].content == png
    assert fake_telegram.last_text(USER) == "Daily summary"


async def test_user_files_download_and_big_files_are_refused(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    update = fake_telegram.send_document(USER, USER, "agents.xlsx", b"PK\x03\x04 sheet")
    document = update["message"]["document"]
    assert document["mime_type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    file = await bot.get_file(document["file_id"])
    buffer = bytearray()
    await file.download_as_bytearray(buffer)
    assert bytes(buffer) == b"PK\x03\x04 sheet"

    big = fake_telegram.send_document(USER, USER, "huge.csv", b"x", file_size=21 * 1024 * 1024)
    with pytest.raises(BadRequest, match="(?i)file is too big"):
        await bot.get_file(big["message"]["document"]["file_id"])
    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("no-such-file")


# -- error injection ----------------------------------------------------------------------------


async def test_flood_limit_surfaces_as_retry_after(
    fake_telegram: FakeTelegram, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # PTB 22's future retry_after type, no warning
    fake_telegram.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as error:
        await bot.send_message(GROUP, "first")
    assert error.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(GROUP, "second")  # times=1: only the next call failed
    failed, ok = fake_telegram.calls_of("sendMessage")
    assert (failed.status, failed.description) == (429, "Too Many Requests: retry after 3")
    assert ok.ok and fake_telegram.last_text(GROUP) == "second"


async def test_failures_per_chat_and_forbidden(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.fail_next(
        "sendMessage",
        403,
        "Forbidden: bot was kicked from the group chat",
        chat_id=OLD_GROUP,
        times=None,
    )
    for _ in range(2):
        with pytest.raises(Forbidden, match="(?i)kicked"):
            await bot.send_message(OLD_GROUP, "hello")
    await bot.send_message(GROUP, "other chats still work")
    fake_telegram.clear_failures()
    await bot.send_message(OLD_GROUP, "hello again")

    fake_telegram.my_chat_member(USER, "member", "kicked", USER)  # the user blocked the bot
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(USER, "hi")


async def test_migrated_group_answers_chat_migrated(fake_telegram: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(OLD_GROUP, "before")
    fake_telegram.migrate_chat(OLD_GROUP, GROUP)
    with pytest.raises(ChatMigrated) as error:
        await bot.send_message(OLD_GROUP, "after")
    assert error.value.new_chat_id == GROUP
    assert (await bot.send_message(GROUP, "after")).chat.id == GROUP
    assert fake_telegram.calls_of("sendMessage", OLD_GROUP)[-1].status == 400


async def test_bad_request_injection_keeps_description(
    bot: Bot, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.fail_next("editMessageText", 400, "Bad Request: message is not modified")
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=1)
    with pytest.raises(ValueError, match="does not implement 'sendDice'"):
        fake_telegram.fail_next("sendDice")


async def test_unknown_methods_are_404_and_recorded(fake_telegram: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(InvalidToken, match="(?i)method not found"):  # PTB maps 404 to InvalidToken
        await bot.send_dice(GROUP)
    [call] = fake_telegram.unsupported_calls
    assert (call.method, call.status, call.chat_id) == ("sendDice", 404, GROUP)


# -- commands, chats, callbacks -----------------------------------------------------------------


async def test_commands_are_kept_per_scope(fake_telegram: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    await bot.set_my_commands(
        [BotCommand("newgroup", "Create an agent group")],
        scope=BotCommandScopeAllChatAdministrators(),
    )
    await bot.set_my_commands(
        [BotCommand("status", "Status")], scope=BotCommandScopeChat(GROUP), language_code="zh"
    )
    assert [c["command"] for c in fake_telegram.commands()] == ["start", "help"]
    assert fake_telegram.commands({"type": "all_chat_administrators"}) == [
        {"command": "newgroup", "description": "Create an agent group"}
    ]
    assert (
        fake_telegram.commands({"type": "chat", "chat_id": GROUP}, "zh")[0]["command"] == "status"
    )
    assert fake_telegram.commands({"type": "chat", "chat_id": GROUP}) == []
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    await bot.delete_my_commands()
    assert fake_telegram.commands() == []
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("New-Group", "bad name")])


async def test_the_menu_a_member_sees_is_resolved_like_telegram(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    await bot.set_my_commands([BotCommand("help", "Help")])
    await bot.set_my_commands([BotCommand("groups", "Groups")], scope=BotCommandScopeAllGroupChats())
    await bot.set_my_commands(
        [BotCommand("groups", "Groups"), BotCommand("bind", "Bind")],
        scope=BotCommandScopeAllChatAdministrators(),
    )
    fake_telegram.set_member_status(GROUP, USER, "administrator")
    assert fake_telegram.menu_for(GROUP, USER) == ["groups", "bind"]
    assert fake_telegram.menu_for(GROUP, USER + 1) == ["groups"]
    assert fake_telegram.menu_for(USER, USER) == ["help"]  # no private list: the default one
    await bot.set_my_commands([BotCommand("whoami", "Who")], scope=BotCommandScopeAllPrivateChats())
    assert fake_telegram.menu_for(USER, USER) == ["whoami"]
    await bot.set_my_commands([BotCommand("status", "Status")], scope=BotCommandScopeChat(GROUP))
    assert fake_telegram.menu_for(GROUP, USER + 1) == ["status"]
    assert fake_telegram.menu_for(GROUP, USER) == ["status"]  # the chat scope beats all admins


async def test_a_command_scope_of_an_unknown_type_or_without_its_chat_is_refused(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    async with httpx.AsyncClient() as http:
        for scope in (
            {"type": "everyone"},
            {"type": "chat"},
            {"type": "chat_member", "chat_id": 1},
        ):
            response = await http.post(
                f"{fake_telegram.base_url}{fake_telegram.token}/setMyCommands",
                json={"commands": [{"command": "help", "description": "Help"}], "scope": scope},
            )
            assert response.status_code == 400, scope
            assert "BotCommandScope" in response.json()["description"]


async def test_a_selective_force_reply_targets_only_the_replied_sender_and_mentions(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    asked = fake_telegram.send_command(GROUP, USER, "/upload")["message"]["message_id"]
    fake_telegram.send_text(GROUP, USER + 1, "hi", username="bob_the_operator")
    selective = ForceReply(selective=True, input_field_placeholder="The file")
    to_nobody = await bot.send_message(GROUP, "Send the file", reply_markup=selective)
    as_reply = await bot.send_message(
        GROUP, "Send the file", reply_markup=selective, reply_to_message_id=asked
    )
    mentioned = await bot.send_message(
        GROUP,
        f'<a href="tg://user?id={USER}">Ann</a> and @bob_the_operator: the rate?',
        parse_mode=ParseMode.HTML,
        reply_markup=selective,
    )
    everyone = await bot.send_message(GROUP, "Anyone?", reply_markup=ForceReply())
    assert fake_telegram.force_reply_targets(GROUP, to_nobody.message_id) == frozenset()
    assert fake_telegram.force_reply_targets(GROUP, as_reply.message_id) == {USER}
    assert fake_telegram.force_reply_targets(GROUP, mentioned.message_id) == {USER, USER + 1}
    assert fake_telegram.force_reply_targets(GROUP, everyone.message_id) is None
    [mention] = [e for e in mentioned.entities if e.type == "text_mention"]
    assert mention.user is not None and mention.user.id == USER
    with pytest.raises(BadRequest, match="placeholder"):
        await bot.send_message(
            GROUP, "x", reply_markup=ForceReply(input_field_placeholder="x" * 65)
        )


async def test_chat_and_member_lookups(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.set_chat(GROUP, title="Team One", is_forum=True)
    fake_telegram.set_member_status(GROUP, USER, "administrator")
    fake_telegram.set_member_status(None, 777, "creator")
    chat = await bot.get_chat(GROUP)
    assert (chat.title, chat.type, chat.is_forum) == ("Team One", "supergroup", True)
    assert (await bot.get_chat_member(GROUP, USER)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, 777)).status == "creator"
    assert (await bot.get_chat_member(GROUP, 888)).status == "member"
    assert (await bot.get_chat_member(OLD_GROUP, USER)).status == "member"
    admins = await bot.get_chat_administrators(GROUP)
    assert sorted(m.user.id for m in admins) == [777, USER]
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.get_chat(-4999)
    assert await bot.send_chat_action(GROUP, "typing") is True
    with pytest.raises(BadRequest, match="(?i)wrong parameter action"):
        await bot.send_chat_action(GROUP, "dancing")
    assert await bot.leave_chat(GROUP) is True
    with pytest.raises(Forbidden, match="(?i)not a member"):
        await bot.send_message(GROUP, "still here?")


async def test_callback_queries_are_answered_once(fake_telegram: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Submit?", reply_markup=keyboard(("Yes", "y"), ("No", "n")))
    update = fake_telegram.press_button(USER, USER, sent.message_id, button_text="No")
    query = update["callback_query"]
    assert query["data"] == "n" and query["message"]["message_id"] == sent.message_id
    assert await bot.answer_callback_query(query["id"], "Cancelled", show_alert=True) is True
    call = fake_telegram.calls_of("answerCallbackQuery")[0]
    assert (call.params["text"], call.params["show_alert"]) == ("Cancelled", True)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(AssertionError, match=r"no button 'maybe'.*\('Yes', 'y'\)"):
        fake_telegram.press_button(USER, USER, sent.message_id, "maybe")
    with pytest.raises(AssertionError, match="has no message 99"):
        fake_telegram.press_button(USER, USER, 99, "y")


def test_builders_refuse_impossible_updates(fake_telegram: FakeTelegram) -> None:
    with pytest.raises(ValueError, match="private chat's id is the user's id"):
        fake_telegram.build_text(USER, USER + 1, "hi")
    with pytest.raises(ValueError, match="a command starts with '/'"):
        fake_telegram.build_command(GROUP, USER, "newgroup")
    with pytest.raises(ValueError, match="no message 5 to reply to"):
        fake_telegram.build_text(GROUP, USER, "hi", reply_to_message_id=5)
    with pytest.raises(ValueError, match="only in supergroups"):
        fake_telegram.build_text(OLD_GROUP, USER, "hi", message_thread_id=3)
    with pytest.raises(ValueError, match="status must be one of"):
        fake_telegram.my_chat_member(GROUP, "member", "owner", USER)


def test_command_update_shape(fake_telegram: FakeTelegram) -> None:
    update = fake_telegram.build_command(
        GROUP, USER, "/newgroup@ccbot_test_bot Team One", username="ops", message_thread_id=12
    )
    message = update["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 24}]
    assert message["chat"] == {
        "id": GROUP,
        "type": "supergroup",
        "title": f"Group {GROUP}",
        "is_forum": True,
    }
    assert (message["message_thread_id"], message["is_topic_message"]) == (12, True)
    assert message["from"]["username"] == "ops"
    assert fake_telegram.pending_updates == []  # build_* does not enqueue
    parsed = Update.de_json(update, None)
    assert parsed.message.text == "/newgroup@ccbot_test_bot Team One"


# -- getUpdates ---------------------------------------------------------------------------------


async def test_get_updates_confirms_by_offset_and_caps_long_poll(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    first = fake_telegram.send_command(USER, USER, "/start")
    second = fake_telegram.send_text(USER, USER, "hello")
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert [u.update_id for u in await bot.get_updates(offset=second["update_id"])] == [
        second["update_id"]
    ]
    started = time.monotonic()
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=30) == ()
    # The fake caps long polls at 1 s; uncapped, this one would last the 30 s it asked for. The
    # bound sits far from both, so a loaded machine cannot fail it.
    assert time.monotonic() - started < 15
    assert fake_telegram.pending_updates == []


async def test_allowed_updates_filter(fake_telegram: FakeTelegram, bot: Bot) -> None:
    fake_telegram.send_text(USER, USER, "text")
    fake_telegram.my_chat_member(GROUP, "left", "member", USER)
    updates = await bot.get_updates(timeout=0, allowed_updates=["my_chat_member"])
    assert [u.my_chat_member.new_chat_member.status for u in updates] == ["member"]


async def test_privacy_mode_withholds_plain_group_messages(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    hidden = fake_telegram.send_text(GROUP, USER, "just chatting")
    command = fake_telegram.send_command(GROUP, USER, "/status")
    other_bot = fake_telegram.send_command(GROUP, USER, "/status@other_bot")
    sent = await bot.send_message(GROUP, "Send the file as a reply")
    reply = fake_telegram.send_document(
        GROUP, USER, "n.csv", b"1", reply_to_message_id=sent.message_id
    )
    delivered = [u.update_id for u in await bot.get_updates(timeout=0)]
    assert delivered == [command["update_id"], reply["update_id"]]
    assert [u["update_id"] for u in fake_telegram.withheld_updates] == [
        hidden["update_id"],
        other_bot["update_id"],
    ]
    fake_telegram.set_member_status(GROUP, fake_telegram.bot_id, "administrator")
    seen = fake_telegram.send_text(GROUP, USER, "admins see everything")
    assert [u.update_id for u in await bot.get_updates(offset=delivered[-1] + 1, timeout=0)] == [
        seen["update_id"]
    ]


async def test_migration_service_messages(fake_telegram: FakeTelegram, bot: Bot) -> None:
    old, new = fake_telegram.migrate_service_message(OLD_GROUP, GROUP, by_user_id=USER)
    updates = await bot.get_updates(timeout=0)
    assert updates[0].message.migrate_to_chat_id == GROUP
    assert updates[0].message.chat.type == "group"
    assert updates[1].message.migrate_from_chat_id == OLD_GROUP
    assert updates[1].message.chat.type == "supergroup"
    assert [u.update_id for u in updates] == [old["update_id"], new["update_id"]]
    with pytest.raises(ChatMigrated):
        await bot.send_message(OLD_GROUP, "hi")


async def test_wait_for_times_out_with_a_readable_dump(
    fake_telegram: FakeTelegram, bot: Bot
) -> None:
    await bot.send_message(GROUP, "Agents added: 3")
    mark = fake_telegram.mark()
    with pytest.raises(AssertionError) as error:
        await fake_telegram.wait_for_text(GROUP, "Agents added", timeout=0.2, since=mark)
    report = str(error.value)
    assert "timed out after 0.2 s waiting for a Bot API call matching" in report
    assert "sendMessage" in report and "'text': 'Agents added: 3'" in report
    assert fake_telegram.token not in report
    assert (await fake_telegram.wait_for_text(GROUP, "Agents added", timeout=0.2)).ok


# -- webhooks -----------------------------------------------------------------------------------


class _WebhookReceiver(ThreadingHTTPServer):
    """A stand-in for the bot's webhook endpoint: fails the first `failures` posts with 500."""

    def __init__(self, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.failures = failures
        self.received: list[tuple[str | None, dict]] = []


class _WebhookHandler(BaseHTTPRequestHandler):
    server: _WebhookReceiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.server.failures > 0:
            self.server.failures -= 1
            self.send_response(500)
        else:
            self.server.received.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), body))
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[_WebhookReceiver]:
    receiver = _WebhookReceiver(failures=1)
    thread = threading.Thread(target=receiver.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield receiver
    receiver.shutdown()
    thread.join()
    receiver.server_close()


async def test_webhook_mode_posts_updates(
    fake_telegram: FakeTelegram, bot: Bot, webhook_receiver: _WebhookReceiver
) -> None:
    url = f"http://127.0.0.1:{webhook_receiver.server_address[1]}/telegram/s3cret"
    await bot.set_webhook(url, secret_token="s3cret-Token_1")
    assert fake_telegram.webhook_url == url
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    update = fake_telegram.send_command(GROUP, USER, "/status")
    # The fake records a delivery once the receiver has answered, so wait for that record.
    await fake_telegram.wait_until(
        lambda: len(fake_telegram.webhook_deliveries) == 2, 3, what="a failed and a good delivery"
    )
    assert webhook_receiver.received == [("s3cret-Token_1", update)]
    assert [d.status_code for d in fake_telegram.webhook_deliveries] == [500, 200]
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (url, 0)
    assert "500" in info.last_error_message
    with pytest.raises(BadRequest, match="(?i)secret token"):
        await bot.set_webhook(url, secret_token="not allowed!")
    summary = fake_telegram.calls_of("setWebhook")[0].summary()
    assert "'secret_token': '***'" in summary and "s3cret-Token_1" not in summary
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


# -- a real Application, polling ----------------------------------------------------------------


async def test_application_polling_end_to_end(fake_telegram: FakeTelegram) -> None:
    fake = fake_telegram

    async def new_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        name = " ".join(context.args or [])
        await update.message.reply_html(
            f"Group <b>{html.escape(name)}</b> created",
            reply_markup=keyboard(("Add agents", "agents:1")),
        )

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("Opening the agent list")
        await query.edit_message_text(f"Adding agents ({query.data})")

    async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        file = await update.message.document.get_file()
        content = await file.download_as_bytearray()
        await update.message.reply_text(
            f"{update.message.document.file_name}: {content.decode().count(chr(10))} lines"
        )

    application = (
        Application.builder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("newgroup", new_group))
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(MessageHandler(filters.Document.ALL, document))
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            fake.send_command(GROUP, USER, "/newgroup Team <One>", message_thread_id=5)
            created = await fake.wait_for_text(GROUP, "created")
            assert created.params["text"] == "Group <b>Team &lt;One&gt;</b> created"
            assert created.params["message_thread_id"] == 5  # PTB replies into the topic
            [reply] = fake.messages(GROUP)
            assert reply.text == "Group Team <One> created" and reply.message_thread_id == 5

            fake.press_button(GROUP, USER, reply.message_id, "agents:1")
            answer = await fake.wait_for(lambda c: c.method == "answerCallbackQuery")
            assert answer.ok and answer.params["text"] == "Opening the agent list"
            await fake.wait_for(lambda c: c.method == "editMessageText" and c.ok)
            assert fake.last_text(GROUP) == "Adding agents (agents:1)"

            fake.send_document(USER, USER, "numbers.csv", b"+1\n+2\n+3\n")
            await fake.wait_for_text(USER, "numbers.csv: 3 lines")
        finally:
            # A hang guard: the fake ends a long poll when its client hangs up.
            await asyncio.wait_for(application.updater.stop(), 30)
            await application.stop()
    assert fake.unsupported_calls == []
    assert fake.pending_updates == []


async def test_factory_options_turn_privacy_mode_off(fake_telegram_factory) -> None:
    fake = fake_telegram_factory(can_read_all_group_messages=True, long_poll_cap=0.2)
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        assert (await bot.get_me()).can_read_all_group_messages is True
        update = fake.send_text(GROUP, USER, "plain group chatter")
        assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update["update_id"]]
        assert fake.long_poll_cap == 0.2
        started = time.monotonic()
        await bot.get_updates(offset=update["update_id"] + 1, timeout=30)
        assert time.monotonic() - started < 15  # capped (0.2 s), not the 30 s asked for
