"""A team works in its language: the chat's language reaches every text the bot sends there.

The pseudo language (bot/i18n.py PSEUDO: every translated text wrapped in ⟦ ⟧) finds text that
bypasses the catalog: after the wrapped parts are taken out, no English sentence may be left. The
Chinese flows check the real translations arrive (and that a Chinese admin's chat starts in
Chinese)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from sqlmodel import Session

from bot.i18n import CLOSE, OPEN, PSEUDO
from bot.laaffic.errors import PlatformError
from storage.models import BoundChat
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness

_WRAPPED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
_TAG = re.compile(r"<[^<>]*>")
# Three English words in a row: a sentence (or a label) that did not come from the catalog.
# Names and values in these flows are not English words.
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,'’]+[A-Za-z]{2,}){2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")

# Methods whose text a chat member reads.
_SHOWN = (
    "sendMessage",
    "editMessageText",
    "sendPhoto",
    "sendDocument",
    "answerCallbackQuery",
    "editMessageCaption",
)


def shown_texts(bot: BotHarness, since: int, chats: tuple[int, ...] = ()) -> list[str]:
    """Every text (and button label) the bot showed since the mark, as plain text (in `chats`
    only, when given: an admin's private chat follows the admin's own language)."""
    texts = []
    for call in bot.telegram.calls:
        if call.seq <= since or call.method not in _SHOWN:
            continue
        if chats and call.chat_id not in chats and call.method != "answerCallbackQuery":
            continue
        if call.text:
            texts.append(html.unescape(_TAG.sub("", call.text)))
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                texts += [button.get("text", "") for button in row]
    return texts


def english_left(text: str) -> list[str]:
    """The English sentences left in `text` once every catalog text is taken out."""
    previous = None
    while previous != text:  # inner texts first: a translation may hold others
        previous, text = text, _WRAPPED.sub(" ", text)
    return _ENGLISH.findall(text)


def set_language(bot: BotHarness, chat_id: int, language: str | None) -> None:
    with bot.service.runtime.database.session() as session:
        _set(session, chat_id, language)


def _set(session: Session, chat_id: int, language: str | None) -> None:
    chat = session.get(BoundChat, chat_id)
    assert chat is not None
    chat.language = language
    session.add(chat)
    session.commit()


async def run_flow(bot: BotHarness, steps: list[tuple[int, str]]) -> list[str]:
    mark = bot.telegram.mark()
    for user, text in steps:
        await bot.say_calls(GROUP, user, text)
    await bot.settled()
    return shown_texts(bot, mark, (GROUP,))


def assert_all_from_catalog(texts: list[str]) -> None:
    # One text: a long answer split into several messages splits a wrapped text too.
    leaks = english_left("\n".join(texts))
    assert not leaks, f"text that bypassed the catalog: {leaks}"


ADMIN_FLOW = [
    (ADMIN, "/help"),
    (VIEWER, "/help"),
    (ADMIN, "/whoami"),
    (ADMIN, "/role"),
    (ADMIN, "/role boss @nobody"),
    (ADMIN, "/role operator @nobody_seen_yet"),
    (ADMIN, f"/role viewer {VIEWER}"),
    (VIEWER, "/bind"),
    (ADMIN, "/audit 0"),
    (ADMIN, "/audit"),
]
ACCOUNT_FLOW = [
    (ADMIN, "/balance"),
    (ADMIN, "/settings"),
    (ADMIN, "/settings colour red"),
    (ADMIN, "/settings ccode"),
    (ADMIN, "/settings ccode 9999"),
    (ADMIN, "/settings displaynum 号码号码号码号码号码号码号码号码"),
    (ADMIN, "/settings timezone Asia/Shanghai"),
    (ADMIN, "/settings app ✗"),
    (VIEWER, "/settings ccode 86"),
    (ADMIN, "/settings language fr"),
]

GROUPS_FLOW = [
    (OPERATOR, "/groups"),
    (OPERATOR, "/groups all"),
    (OPERATOR, "/group"),
    (OPERATOR, "/group 不存在的组"),
    (OPERATOR, "/newgroup 组"),
    (OPERATOR, "/newgroup 销售一组"),
    (OPERATOR, "/groups"),
    (OPERATOR, "/group 销售一组"),
    (OPERATOR, "/agents 销售一组"),
    (OPERATOR, "/addagents 销售一组 x"),
    (OPERATOR, "/addagents 销售一组 500"),
    (OPERATOR, "/addagents 销售一组 2"),
    (OPERATOR, "/agents 销售一组"),
    (ADMIN, "/agentcreds 销售一组"),
    (ADMIN, "/groups all"),
]
RELAY_FLOW = [
    (OPERATOR, "/newgroup 销售一组"),
    (OPERATOR, "/routes"),
    (OPERATOR, "/notify"),
    (OPERATOR, "/notify calls each"),
    (OPERATOR, "/notify ringing off"),
    (OPERATOR, "/notify sideways"),
    (OPERATOR, "/notify calls"),
    (OPERATOR, "/mute 2h"),
    (OPERATOR, "/mute forever"),
    (OPERATOR, "/mute 30d"),
    (OPERATOR, "/unmute"),
    (OPERATOR, "/unmute"),
    (OPERATOR, "/settings mask on"),
    (OPERATOR, "/settings mask maybe"),
    (OPERATOR, "/route 不存在的组"),
    (OPERATOR, "/unroute 销售一组"),
    (ADMIN, "/route 销售一组"),
    (OPERATOR, "/unroute 不存在的组"),
]
TASKS_FLOW = [
    (OPERATOR, "/tasks"),
    (OPERATOR, "/tasks all"),
    (OPERATOR, "/task"),
    (OPERATOR, "/task abc"),
    (OPERATOR, "/task 5000999"),
    (OPERATOR, "/cancel 5000999"),
    (OPERATOR, "/rate 5000999 3"),
    (OPERATOR, "/rate 5000999 99"),
    (OPERATOR, "/rerun 5000999 sometimes"),
    (OPERATOR, "/rerun 5000999 failed"),
    (OPERATOR, "/newtask"),
    (OPERATOR, "/newtask 99"),
    (OPERATOR, "/newtask 99 agents 销售一组 rate=1"),
    (OPERATOR, "/newtask x"),
]
REPORTS_FLOW = [
    (OPERATOR, "/summary"),
    (OPERATOR, "/summary today"),
    (OPERATOR, "/summary 2020-01-01"),
    (OPERATOR, "/summary 2099-01-01"),
    (OPERATOR, "/summary someday"),
    (OPERATOR, "/schedule"),
    (OPERATOR, "/schedule 18:00 Asia/Shanghai"),
    (OPERATOR, "/schedule 25:00"),
    (OPERATOR, "/schedule 18:00 CST"),
    (OPERATOR, "/schedule off"),
    (OPERATOR, "/schedule"),
    (OPERATOR, "/export"),
    (OPERATOR, "/export someday"),
    (OPERATOR, "/calls"),
    (OPERATOR, "/calls +91 98765 43210"),
    (OPERATOR, "/calls 12"),
    (ADMIN, "/status"),
]

ALERTS_FLOW = [
    (VIEWER, "/alerts"),
    (VIEWER, "/alerts unanswered 8"),
    (OPERATOR, "/alerts unanswered 8"),
    (OPERATOR, "/alerts answer-rate 130"),
    (OPERATOR, "/alerts answer-rate 25 10 30"),
    (OPERATOR, "/alerts unanswered 0"),
    (OPERATOR, "/alerts unanswered five"),
    (OPERATOR, "/alerts unanswered 2.5"),
    (OPERATOR, "/alerts unanswered 5 6"),
    (OPERATOR, "/alerts nosuchrule"),
    (OPERATOR, "/alerts unanswered"),
    (OPERATOR, "/alerts balance on"),
    (OPERATOR, "/alerts balance 100"),
    (OPERATOR, "/alerts missed-rings off"),
    (OPERATOR, "/alerts no-pushes 20"),
    (OPERATOR, "/alerts task-stalled 30"),
    (VIEWER, "/alerts"),
    (OPERATOR, "/notify sound"),
    (OPERATOR, "/notify sound calls on"),
    (OPERATOR, "/notify sound calls off"),
    (OPERATOR, "/notify sound calls"),
    (OPERATOR, "/notify sound thunder on"),
    (VIEWER, "/notify sound alerts off"),
    (OPERATOR, "/topic"),
    (OPERATOR, "/topic thunder"),
    (OPERATOR, "/topic alerts"),
    (OPERATOR, "/topic alerts sideways"),
    (OPERATOR, "/topic alerts off"),
    (OPERATOR, "/topics"),
]

# The team chat's side of screen pops (the agent's private side and the pops themselves:
# test_a_screen_pop_and_its_commands_come_from_the_catalog below).
SCREEN_POPS_FLOW = [
    (OPERATOR, "/link"),
    (OPERATOR, "/link nosuch_001 4004"),
    (OPERATOR, "/newgroup 销售一组"),
    (OPERATOR, "/link 坏名字 4004"),
    (OPERATOR, "/link nosuch_001 @@@"),
    (OPERATOR, "/link nosuch_001 99999999999999999999"),
    (OPERATOR, "/link nosuch_001 @nobody_seen_yet"),
    (OPERATOR, "/link nosuch_001 4004"),
    (VIEWER, "/link nosuch_001 4004"),
    (OPERATOR, "/unlink"),
    (OPERATOR, "/unlink nosuch_001"),
    (OPERATOR, "/iam nosuch_001"),
    (OPERATOR, "/pop"),
    (OPERATOR, "/agents 销售一组"),
]

FLOWS: dict[str, Any] = {
    "alerts": ALERTS_FLOW,
    "admin": ADMIN_FLOW,
    "account": ACCOUNT_FLOW,
    "groups": GROUPS_FLOW,
    "relay settings": RELAY_FLOW,
    "tasks": TASKS_FLOW,
    "reports": REPORTS_FLOW,
    "screen pops": SCREEN_POPS_FLOW,
}


@pytest.mark.parametrize("family", sorted(FLOWS))
async def test_every_text_of_a_command_family_comes_from_the_catalog(
    chatty_bot: BotHarness, family: str
) -> None:
    bot = chatty_bot
    await bot.bind()
    await bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    set_language(bot, GROUP, PSEUDO)
    texts = await run_flow(bot, FLOWS[family])
    assert texts
    assert_all_from_catalog(texts)


async def test_a_number_file_is_checked_uploaded_and_reported_in_the_chats_language(
    bot: BotHarness,
) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/settings ccode 91")
    set_language(bot, GROUP, PSEUDO)
    mark = bot.telegram.mark()
    rows = ["电话,姓名"] + [f"98765{43210 + i:05d},客户{i}" for i in range(5)] + ["12345,坏号"]
    content = ("\n".join(rows) + "\n").encode()
    bot.telegram.send_document(GROUP, OPERATOR, "名单.csv", content, caption="/upload")
    card = await bot.telegram.wait_for(
        lambda c: (
            c.method in ("sendMessage", "editMessageText")
            and "up:" in str(c.params.get("reply_markup"))
        ),
        15,
        since=mark,
    )
    upload = next(
        b["callback_data"]
        for row in card.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b["callback_data"].endswith(":go")
    )
    await bot.press(GROUP, OPERATOR, card.result["message_id"], upload)
    await bot.telegram.wait_for(
        lambda c: c.method == "editMessageText" and "platform" in (c.text or ""), 15, since=mark
    )
    await bot.settled()
    texts = shown_texts(bot, mark, (GROUP,))
    assert len(texts) >= 3
    assert_all_from_catalog(texts)
    rejected = [c for c in bot.telegram.calls_of("sendDocument", GROUP) if c.seq > mark]
    assert not rejected or rejected[0].files  # the rejected-rows file, when it is sent


async def test_a_chat_bound_by_a_chinese_speaking_admin_starts_in_chinese(bot: BotHarness) -> None:
    bot.telegram.state.set_language(ADMIN, "zh-hans")
    reply = await bot.say(GROUP, ADMIN, "/bind")
    assert "已绑定" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/settings")
    assert "本群设置" in reply.text and "简体中文" in reply.text
    # The chat's language is the chat's: an English-speaking member reads it in Chinese too.
    reply = await bot.say(GROUP, VIEWER, "/whoami")
    assert "你的 Telegram 用户 ID" in reply.text


async def test_settings_language_switches_the_chat_and_answers_in_the_new_language(
    bot: BotHarness,
) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/settings language zh")
    assert reply.text.startswith("已保存。") and "语言：简体中文（zh）" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings language pseudo")
    assert "/settings language" in reply.text and "pseudo" not in reply.text.split("：")[-1]
    reply = await bot.say(GROUP, VIEWER, "/settings language en")
    assert "operator" in reply.text and _HAN.search(reply.text)  # refused, in Chinese
    reply = await bot.say(GROUP, OPERATOR, "/settings language en")
    assert reply.text.startswith("Saved.") and "Language: English (en)" in reply.text


async def test_a_private_chat_follows_the_users_telegram_language(bot: BotHarness) -> None:
    bot.telegram.state.set_language(VIEWER, "zh-CN")
    reply = await bot.say(VIEWER, VIEWER, "/start")
    assert _HAN.search(reply.text) and not english_left(reply.text.replace("Laaffic", ""))
    bot.telegram.state.set_language(VIEWER, "en")
    reply = await bot.say(VIEWER, VIEWER, "/start")
    assert reply.text.startswith("Hello!")


@pytest.mark.parametrize("family", sorted(FLOWS))
async def test_a_chinese_chat_reads_each_command_family_in_chinese(
    chatty_bot: BotHarness, family: str
) -> None:
    bot = chatty_bot
    await bot.bind()
    await bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    await bot.say(GROUP, ADMIN, "/settings language zh")
    texts = await run_flow(bot, FLOWS[family])
    for text in texts:
        assert _HAN.search(text) or not english_left(text), text


async def test_the_command_menus_are_set_in_chinese_for_chinese_telegram_apps(
    bot: BotHarness,
) -> None:
    group_scope = {"type": "all_group_chats"}
    english = {c["command"]: c["description"] for c in bot.telegram.commands(group_scope)}
    chinese = {c["command"]: c["description"] for c in bot.telegram.commands(group_scope, "zh")}
    assert english.keys() == chinese.keys()
    assert english["newtask"] == "create a calling task from an uploaded file"
    assert chinese["newtask"] == "用已上传的号码文件创建外呼任务"
    for scope in ({"type": "all_chat_administrators"}, {"type": "all_private_chats"}):
        assert all(_HAN.search(c["description"]) for c in bot.telegram.commands(scope, "zh"))


async def test_an_admin_reads_notices_in_the_language_of_their_private_chat(
    bot: BotHarness,
) -> None:
    await bot.bind()
    reply = await bot.say(ADMIN, ADMIN, "/settings language zh")
    assert reply.text.startswith("已保存。")
    mark = bot.telegram.mark()
    bot.telegram.my_chat_member(GROUP, "member", "left", by_user_id=OPERATOR)
    notice = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN, 10, since=mark
    )
    assert "我被移出了群" in notice.text and "/bind" in notice.text


async def test_a_chinese_chat_gets_its_task_card_and_ringing_events_in_chinese(
    fast_bot: BotHarness,
) -> None:
    """The whole relay loop over real HTTP, for a chat that reads Chinese (call records come
    in the 15-minute digest here: their Chinese is checked by tests/views/test_languages.py)."""
    import dataclasses

    from tests.bot.conftest import PUSH_TOKEN
    from tests.bot.test_task_life import uploaded
    from tests.bot.test_upload_and_tasks import find_button

    bot = fast_bot
    url = f"{bot.service.listener_url}/push/{PUSH_TOKEN}"
    try:
        bot.platform.config.push_url = url
    except dataclasses.FrozenInstanceError:
        object.__setattr__(bot.platform.config, "push_url", url)
    upload_id = await uploaded(bot)
    reply = await bot.say(GROUP, OPERATOR, "/settings language zh")
    assert reply.text.startswith("已保存。")
    card = await bot.say(GROUP, OPERATOR, f"/newtask {upload_id} agents Flow-Team rate=1")
    assert "确认外呼任务" in card.text and "群呼转坐席" in card.text, card.text
    message, _ = find_button(bot, GROUP, "nt:")
    assert [b["text"] for b in message.buttons] == ["✅ 提交", "✖ 取消"]
    submit = next(
        b["callback_data"] for b in message.buttons if b["callback_data"].endswith(":submit")
    )
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, message.message_id, submit)
    await bot.telegram.wait_for_text(GROUP, "已提交", timeout=15, since=mark)
    ringing = await bot.telegram.wait_for_text(GROUP, "🔔 <b>振铃</b>", timeout=30, since=mark)
    assert "坐席" in ringing.text and "被叫号码：" in ringing.text
    final = await bot.telegram.wait_for(
        lambda c: c.chat_id == GROUP and "最终计数" in (c.text or ""), 60, since=mark
    )
    assert "外呼任务" in final.text and "已完成" in final.text
    await bot.settled()
    for text in shown_texts(bot, mark, (GROUP,)):
        assert _HAN.search(text), text


async def test_edits_plain_documents_and_typed_answers_answer_in_the_chats_language(
    bot: BotHarness,
) -> None:
    """Updates that no command decorator handles (an edited command, a file without a caption)
    are answered in the chat's language too."""
    import time

    await bot.bind()
    await bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    set_language(bot, GROUP, "zh")
    mark = bot.telegram.mark()
    update = bot.telegram.build_command(GROUP, OPERATOR, "/groups")
    message = update.pop("message")
    message["edit_date"] = int(time.time())
    update["edited_message"] = message
    bot.telegram.enqueue(update)
    edited = await bot.answer(GROUP, mark)
    assert "我只处理新消息" in edited.text
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, VIEWER, "名单.csv", b"phone\n9876543210\n")
    bot.telegram.state.set_language(VIEWER, "zh-hans")  # a private chat: the user's language
    bot.telegram.send_document(VIEWER, VIEWER, "名单.csv", b"phone\n9876543210\n")
    await bot.settled()
    for text in shown_texts(bot, mark):
        assert _HAN.search(text) or not english_left(text), text


async def _alert_and_its_buttons(bot: BotHarness) -> list[str]:
    """Five unanswered calls raise an alert; every button is pressed (a viewer's refused take
    too), then an answered call clears it: the texts the chat was shown on the way."""
    from tests.bot.test_alerts import TEAM_GROUP, _clock, call
    from tests.relay.test_commands import relay

    _clock.clear()
    reply = await bot.say(GROUP, OPERATOR, f"/newgroup {TEAM_GROUP}")
    assert reply.ok, reply.summary()
    mark = bot.telegram.mark()
    for _ in range(5):
        await relay(bot, "call", call(False))
    sent = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and "al:take:" in str(c.params.get("reply_markup")),
        20,
        since=mark,
    )
    message_id = sent.result["message_id"]
    data = [
        b["callback_data"] for row in sent.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    take, snooze, calls = (
        next(d for d in data if f":{a}:" in d) for a in ("take", "snooze", "calls")
    )
    await bot.press(GROUP, VIEWER, message_id, take)
    await bot.press(GROUP, OPERATOR, message_id, take)
    await bot.press(GROUP, ADMIN, message_id, take)
    await bot.press(GROUP, OPERATOR, message_id, snooze)
    await bot.press(GROUP, VIEWER, message_id, calls)
    before = bot.telegram.mark()
    await relay(bot, "call", call(True))
    await bot.telegram.wait_for(
        lambda c: c.method == "editMessageText" and c.params.get("message_id") == message_id,
        20,
        since=before,
    )
    # The short recovery note is paced like any relay message: wait until the outbox is empty
    # (a sendMessage since `before` may be [Show calls]' answer, which can come after it).
    await bot.idle(timeout=60)  # a hang guard: the group takes one relay message per 3.75 s
    await bot.say(GROUP, OPERATOR, "/alerts unanswered off")
    await bot.idle(timeout=60)
    return shown_texts(bot, mark, (GROUP,))


@pytest.mark.timeout(180)
async def test_an_alert_its_buttons_and_its_recovery_come_from_the_catalog(
    chatty_bot: BotHarness,
) -> None:
    await chatty_bot.bind()
    await chatty_bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    set_language(chatty_bot, GROUP, PSEUDO)
    texts = await _alert_and_its_buttons(chatty_bot)
    assert len(texts) >= 10
    assert any(f"{OPEN}I'm on it{CLOSE}" == t for t in texts), texts
    assert_all_from_catalog(texts)


@pytest.mark.timeout(180)
async def test_a_chinese_chat_reads_its_alerts_and_their_buttons_in_chinese(
    chatty_bot: BotHarness,
) -> None:
    await chatty_bot.bind()
    await chatty_bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    await chatty_bot.say(GROUP, ADMIN, "/settings language zh")
    texts = await _alert_and_its_buttons(chatty_bot)
    joined = "\n".join(texts)
    assert "未接通告警" in joined and "已于" in joined and "又接通了电话" in joined, joined
    assert "我来处理" in texts and "暂停提醒 1 小时" in texts and "查看通话" in texts
    for text in texts:
        assert _HAN.search(text) or not english_left(text), text


async def _card(bot: BotHarness, since: int) -> Any:
    """The /iam request card posted into the team chat."""
    return await bot.telegram.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and c.chat_id == GROUP
            and "iam:" in str(c.params.get("reply_markup"))
        ),
        10,
        since=since,
    )


def _button(card: Any, suffix: str) -> str:
    markup = card.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    return next(
        b["callback_data"]
        for row in markup["inline_keyboard"]
        for b in row
        if b["callback_data"].endswith(suffix)
    )


@pytest.mark.parametrize("language", [PSEUDO, "zh"])
async def test_a_screen_pop_and_its_commands_come_from_the_catalog(
    bot: BotHarness, language: str
) -> None:
    """Both sides of screen pops in the chats' languages: the team chat's (/link, /unlink, the
    /iam card and its buttons, the blocked-agent notice) and the agents' private chats, which
    follow each agent's own Telegram language (/start, /iam, /pop, the pop and its edits)."""
    from datetime import UTC, datetime

    from storage.models import CallTask, TaskCallee
    from tests.bot.test_screen_pops import (
        AGENT,
        CALLEE,
        OTHER_AGENT,
        TASK_ID,
        TEAM_GROUP,
        push,
        record,
        relayed,
        ring,
        sip_accounts,
    )

    await bot.bind()
    await bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    await bot.say(GROUP, OPERATOR, f"/newgroup {TEAM_GROUP}")
    await bot.say(GROUP, OPERATOR, f"/addagents {TEAM_GROUP} 2")
    sips = sip_accounts(bot)
    # The team chat's own relayed ringing events are another test's (a burst of them merges:
    # bot/delivery/merging.py); here the chat gets only what screen pops post there.
    await bot.say(GROUP, OPERATOR, "/notify ringing off")
    set_language(bot, GROUP, language)
    for agent in (AGENT, OTHER_AGENT):
        bot.telegram.state.set_language(agent, language)
    now = datetime.now(UTC)
    with bot.service.runtime.database.session() as s:
        s.add(CallTask(task_id=TASK_ID, chat_id=GROUP, remark="三月名单", created_at=now))
        info = {"姓名": "王伟", "欠款": "12,000", "城市": "上海"}
        s.add(
            TaskCallee(
                task_id=TASK_ID,
                callee_digits=CALLEE,
                chat_id=GROUP,
                row=1,
                info=json.dumps(info, ensure_ascii=False),
                created_at=now,
            )
        )
        s.commit()
    mark = bot.telegram.mark()
    # The team links an agent who has not started a private chat yet; the agent starts it.
    await bot.say(GROUP, AGENT, "/whoami")
    await bot.say(GROUP, OPERATOR, f"/link {sips[0]} {AGENT}")
    await bot.say(GROUP, OPERATOR, f"/link {sips[0]} {AGENT}")
    await bot.say(GROUP, OPERATOR, f"/link {sips[0]} {OPERATOR}")
    await bot.say(AGENT, AGENT, "/start")
    for text in ("/pop", "/pop off", "/pop sometimes", "/pop on", "/link x 1", f"/iam {sips[0]}"):
        await bot.say(AGENT, AGENT, text)
    await bot.say(GROUP, VIEWER, f"/agents {TEAM_GROUP}")
    # Another agent asks for their account: refused once, then confirmed.
    await bot.say(OTHER_AGENT, OTHER_AGENT, "/pop")
    await bot.say(OTHER_AGENT, OTHER_AGENT, "/iam nosuch_001")
    card_mark = bot.telegram.mark()
    await bot.say(OTHER_AGENT, OTHER_AGENT, f"/iam {sips[1]}")
    await bot.say(OTHER_AGENT, OTHER_AGENT, f"/iam {sips[1]}")
    card = await _card(bot, card_mark)
    await bot.press(GROUP, VIEWER, card.result["message_id"], _button(card, ":y"))
    await bot.press(GROUP, OPERATOR, card.result["message_id"], _button(card, ":n"))
    card_mark = bot.telegram.mark()
    await bot.say(OTHER_AGENT, OTHER_AGENT, f"/iam {sips[1]}")
    refused, card = card, await _card(bot, card_mark)
    # (the refused card's Confirm pressed late, as an old client may still show it)
    late = bot.telegram.build_button_press(
        GROUP, OPERATOR, card.result["message_id"], _button(card, ":y")
    )
    late["callback_query"]["data"] = _button(refused, ":y")
    press_mark = bot.telegram.mark()
    bot.telegram.enqueue(late)
    await bot.telegram.wait_for(lambda c: c.method == "answerCallbackQuery", 10, since=press_mark)
    await bot.press(GROUP, OPERATOR, card.result["message_id"], _button(card, ":y"))
    # Rings, a miss, the records: the pops and their edits.
    await push(bot, record("c-old", "s-old", "坐席甲", duration=42, start="2026-12-04 10:00:00"))
    await push(bot, [ring("c-1", sips[0]), ring("c-9", sips[1], called="919000000009")])
    await relayed(bot)
    await push(bot, [ring("c-1", sips[1], missed=(sips[0],), at="2026-12-05 12:00:20")])
    await relayed(bot)
    await push(bot, record("c-1", "s-1", sips[1], duration=83))
    await push(bot, record("c-9", "s-9", None, answered=False, reason=7))
    await relayed(bot)
    await push(
        bot, [ring("c-2", sips[0], called="919000000002", called_info="客户资料", task_id=None)]
    )
    await relayed(bot)
    # Stopping: unlink (the team), the agent blocks the bot (the team is told).
    await bot.say(GROUP, OPERATOR, f"/unlink {sips[1]}")
    blocked_mark = bot.telegram.mark()
    bot.telegram.my_chat_member(AGENT, "member", "kicked", AGENT)
    await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == GROUP and "⚠️" in (c.text or ""),
        15,
        since=blocked_mark,
    )
    await bot.settled()
    texts = shown_texts(bot, mark, (GROUP, AGENT, OTHER_AGENT))
    pops = [t for t in texts if "📞" in t]
    assert len(pops) >= 4, texts  # two pops, the miss and the outcomes (edits)
    if language == PSEUDO:
        assert_all_from_catalog(texts)
    else:
        for text in texts:
            assert _HAN.search(text) or not english_left(text), text
        assert any("你的电话正在振铃" in t and "姓名：王伟" in t for t in pops), pops
        assert any("你未接" in t for t in pops) and any("通话 1分23秒" in t for t in pops), pops


async def test_an_agent_reads_pops_in_their_language_and_the_team_reads_its_card_in_its_own(
    bot: BotHarness,
) -> None:
    """A Chinese-speaking agent of an English team: the /iam card and its buttons are in English
    for the team, what the agent gets privately (the answer, the pop) is in Chinese."""
    from tests.bot.test_screen_pops import (
        AGENT,
        TEAM_GROUP,
        plain,
        push,
        ring,
        sip_accounts,
        task_with_callee,
    )

    await bot.bind()
    await bot.say(GROUP, OPERATOR, f"/newgroup {TEAM_GROUP}")
    await bot.say(GROUP, OPERATOR, f"/addagents {TEAM_GROUP} 1")
    sip = sip_accounts(bot)[0]
    task_with_callee(bot)
    bot.telegram.state.set_language(AGENT, "zh-hans")
    mark = bot.telegram.mark()
    asked = await bot.say(AGENT, AGENT, f"/iam {sip}")
    assert "我已请群" in asked.text, asked.text
    card = await _card(bot, mark)
    assert "says SIP account" in card.text
    markup = card.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert [b["text"] for b in markup["inline_keyboard"][0]] == ["Confirm", "Refuse"]
    answer = await bot.press(GROUP, OPERATOR, card.result["message_id"], _button(card, ":y"))
    assert answer.params["text"] == "Confirmed."
    told = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT and "✅" in (c.text or ""),
        10,
        since=mark,
    )
    assert "团队已确认" in plain(told)
    mark = bot.telegram.mark()
    await push(bot, [ring("c-zh", sip)])
    pop = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == AGENT, 10, since=mark
    )
    assert "你的电话正在振铃" in plain(pop) and "Name：Ravi Kumar" in plain(pop), plain(pop)


async def test_an_admins_chinese_status_reads_a_platform_error_made_elsewhere_in_chinese(
    bot: BotHarness,
) -> None:
    await bot.bind()
    with pytest.raises(PlatformError):  # a job's call: no chat, no language
        await bot.service.runtime.client.edit_task(5_999_999, 1)
    reply = await bot.say(ADMIN, ADMIN, "/settings language zh")
    assert reply.text.startswith("已保存。")
    status = await bot.say(ADMIN, ADMIN, "/status")
    (line,) = [x for x in status.text.splitlines() if x.startswith("最近的平台错误：")]
    assert "preview/agent/editTask" in line and "无法修改任务的外呼倍率：" in line, line
    assert not english_left(line.replace("preview/agent/editTask", "")), line


async def test_an_admin_who_never_chose_a_language_reads_notices_in_their_telegram_language(
    bot: BotHarness,
) -> None:
    await bot.bind()
    bot.telegram.state.set_language(ADMIN, "zh-hans")
    await bot.say(ADMIN, ADMIN, "/start")  # the bot sees the admin's Telegram language
    mark = bot.telegram.mark()
    bot.telegram.my_chat_member(GROUP, "member", "left", by_user_id=OPERATOR)
    notice = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ADMIN, 10, since=mark
    )
    assert "我被移出了群" in notice.text and "/bind" in notice.text
