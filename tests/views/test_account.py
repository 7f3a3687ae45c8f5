"""/balance and /settings answers."""

from __future__ import annotations

from decimal import Decimal

from bot.laaffic.models import Balance
from bot.views.account import balance_message, chat_settings, settings_saved
from storage.models import BoundChat
from tests.fakes.telegram import parse_html


def test_the_balance_names_each_amount_in_usd() -> None:
    text, _ = parse_html(
        balance_message(Balance(balance=Decimal("100.02"), gift=Decimal(0), credit=Decimal("5.1")))
    )
    assert text == "Account balance: 100.02 USD\nGift balance: 0 USD\nCredit line: 5.1 USD"


def test_settings_say_which_values_are_the_defaults() -> None:
    chat = BoundChat(chat_id=-100, ccode="91", timezone=None, app_id=None, thread_id=None)
    text, _ = parse_html(chat_settings(chat, default_timezone="UTC", default_app_id="APP1"))
    assert text.splitlines() == [
        "This chat's settings",
        "Country code: 91",
        "Display number: not set",
        "Time zone: UTC (the default)",
        "Voice application: APP1 (the default)",
        "Notifications go to: this chat",
        "Callee numbers in relayed messages: shown in full",
    ]


def test_a_chats_own_settings_are_shown_literally() -> None:
    chat = BoundChat(
        chat_id=-100,
        display_num="<b>7",
        timezone="Asia/Kolkata",
        app_id="A&B",
        thread_id=12,
        mask_numbers=True,
    )
    html = settings_saved(chat_settings(chat, default_timezone="UTC", default_app_id="APP1"))
    text, entities = parse_html(html)
    assert text.startswith("Saved.\nThis chat's settings\nCountry code: not set (number files")
    assert "Display number: <b>7" in text and "Voice application: A&B\n" in text
    assert "Time zone: Asia/Kolkata\n" in text and "Notifications go to: topic 12" in text
    assert text.endswith("Callee numbers in relayed messages: masked")
    assert {e["type"] for e in entities} == {"bold", "code"}
