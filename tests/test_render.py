"""The one renderer (escaping, splitting) and the one send path, against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery.replies import edit_text, send_text
from bot.render import MESSAGE_LIMIT, esc, split_message, text_length
from bot.services import access
from storage.db import Database
from tests.fakes.telegram import FakeTelegram, parse_html

GROUP = -1001234567890


def test_escaping_makes_any_value_literal() -> None:
    value = '<a href="https://example.com">x</a> & <b>'
    plain, entities = parse_html(esc(value))
    assert plain == value and entities == []


def test_split_keeps_lines_whole_and_under_the_limit() -> None:
    text = "\n".join(f"<b>line {i}</b> " + "x" * 50 for i in range(500))
    chunks = split_message(text, limit=1000)
    assert all(len(c) <= 1000 for c in chunks)
    assert "\n".join(chunks) == text


def test_split_cuts_between_paragraphs_rather_than_inside_one() -> None:
    # /help: a command's paragraph (its line and its example) is never cut in two.
    paragraph = "<b>/command</b> what it does\n" + "an example line " * 4 + "\nmore of it"
    text = "\n\n".join(paragraph.replace("command", f"command{i}") for i in range(60))
    chunks = split_message(text, limit=1000)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.startswith("<b>/command") and chunk.endswith("more of it")
    assert "\n\n".join(chunks) == text


def test_a_tag_open_at_a_cut_is_closed_and_reopened_and_no_entity_is_cut() -> None:
    text = '<b>Report</b>\n<blockquote><a href="https://e.x/?a=1&amp;b=2">' + (
        "word &amp; &lt;more&gt; " * 400
    ) + "</a></blockquote>"
    chunks = split_message(text, limit=1000)
    assert len(chunks) > 5
    plain = ""
    for chunk in chunks:
        assert text_length(chunk) <= 1000
        part, entities = parse_html(chunk)  # raises on a cut tag or entity
        assert part.startswith(("Report", "word", "&", "<more>"))
        plain += part
    assert plain.count("<more>") == 400 and "&lt" not in plain
    assert chunks[1].startswith('<blockquote><a href="https://e.x/?a=1&amp;b=2">')


def test_length_is_measured_as_telegram_does_emoji_count_twice() -> None:
    chunks = split_message("😀 " * 3000, limit=1000)
    assert all(text_length(c) <= 1000 for c in chunks)
    assert sum(c.count("😀") for c in chunks) == 3000


def test_a_word_longer_than_a_message_is_cut_between_characters_only() -> None:
    text = "x" * 9000 + "&amp;" + "y" * 5000
    chunks = split_message(text)
    assert all(text_length(c) <= MESSAGE_LIMIT for c in chunks)
    assert "".join(parse_html(c)[0] for c in chunks) == "x" * 9000 + "&" + "y" * 5000


@pytest.fixture
async def tg(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(
        fake_telegram.token,
        base_url=fake_telegram.base_url,
        base_file_url=fake_telegram.base_file_url,
    ) as bot:
        yield bot


def _long_report(lines: int) -> str:
    return "\n".join(f"<b>Column {i}</b>: {esc('<value> & more')}" for i in range(lines))


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Upload", callback_data="up:1:go")]])


async def test_send_text_splits_and_puts_the_keyboard_on_the_last_message(
    fake_telegram: FakeTelegram, tg: Bot, database: Database
) -> None:
    text = _long_report(400)
    delivery = await send_text(tg, database, GROUP, text, markup=_keyboard())
    messages = fake_telegram.messages(GROUP)
    assert len(messages) == len(delivery.messages) >= 3
    assert [m.buttons for m in messages[:-1]] == [[]] * (len(messages) - 1)
    assert messages[-1].buttons[0]["callback_data"] == "up:1:go"
    assert "\n".join(m.text or "" for m in messages) == parse_html(text)[0]


async def test_edit_text_never_cuts_a_long_card_it_continues_it(
    fake_telegram: FakeTelegram, tg: Bot, database: Database
) -> None:
    card = await tg.send_message(GROUP, "Checking…")
    text = _long_report(400)
    carrier = await edit_text(tg, database, card, text, markup=_keyboard())
    messages = fake_telegram.messages(GROUP)
    assert messages[0].message_id == card.message_id and messages[0].edits == 1
    assert len(messages) >= 3 and carrier.message_id == messages[-1].message_id
    assert messages[-1].buttons and not messages[0].buttons
    assert "\n".join(m.text or "" for m in messages) == parse_html(text)[0]
    # the same short text again is not an error
    short = await tg.send_message(GROUP, "Done")
    assert (await edit_text(tg, database, short, "Done")).message_id == short.message_id


async def test_send_text_follows_a_migrated_chat_and_moves_its_binding(
    fake_telegram: FakeTelegram, tg: Bot, database: Database
) -> None:
    old, new = -4001, -1004001
    await database.run(
        lambda s: access.bind_chat(s, old, title="T", chat_type="group", thread_id=None, by_user=1)
    )
    fake_telegram.migrate_chat(old, new)
    delivery = await send_text(tg, database, old, _long_report(300))
    assert delivery.chat_id == new and len(delivery.messages) >= 2
    assert fake_telegram.messages(old) == []
    assert len(fake_telegram.messages(new)) == len(delivery.messages)
    bound = await database.run(lambda s: access.get_bound_chat(s, new))
    assert bound is not None and await database.run(lambda s: access.get_bound_chat(s, old)) is None


@pytest.mark.parametrize(
    "control",
    ["\u202e", "\u202d", "\u202a", "\u202b", "\u202c", "\u2066", "\u2067", "\u2068", "\u2069"]
    + ["\u200e", "\u200f", "\u061c"],
)
def test_direction_controls_from_a_value_are_not_shown(control: str) -> None:
    # A right-to-left override would show "agent_7 9812345210" with its digits reversed.
    value = f"agent_7 {control}9812345210{control} <b>"
    plain, entities = parse_html(esc(value))
    assert plain == "agent_7 9812345210 <b>" and entities == []


def test_right_to_left_letters_are_shown_as_they_are() -> None:
    plain, _ = parse_html(esc("مرحبا שלום"))
    assert plain == "مرحبا שלום"
