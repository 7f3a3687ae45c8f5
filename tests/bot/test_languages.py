"""A team works in its language: the chat's language reaches every text the bot sends there.

The pseudo language (bot/i18n.py PSEUDO: every translated text wrapped in ⟦ ⟧) finds text that
bypasses the catalog: after the wrapped parts are taken out, no English sentence may be left. The
Chinese flows check the real translations arrive (and that a Chinese admin's chat starts in
Chinese)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlmodel import Session

from bot.i18n import CLOSE, OPEN, PSEUDO
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


def shown_texts(bot: BotHarness, since: int) -> list[str]:
    """Every text (and button label) the bot showed since the mark, as plain text."""
    texts = []
    for call in bot.telegram.calls:
        if call.seq <= since or call.method not in _SHOWN:
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
    return shown_texts(bot, mark)


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

FLOWS: dict[str, Any] = {
    "admin": ADMIN_FLOW,
    "account": ACCOUNT_FLOW,
}


@pytest.mark.parametrize("family", sorted(FLOWS))
async def test_every_text_of_a_command_family_comes_from_the_catalog(
    bot: BotHarness, family: str
) -> None:
    await bot.bind()
    await bot.say(GROUP, ADMIN, f"/role viewer {VIEWER}")
    set_language(bot, GROUP, PSEUDO)
    texts = await run_flow(bot, FLOWS[family])
    assert texts
    assert_all_from_catalog(texts)


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
    bot: BotHarness, family: str
) -> None:
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
