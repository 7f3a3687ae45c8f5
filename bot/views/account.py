"""Answers of /balance and /settings: the account's balance and a chat's settings."""

from __future__ import annotations

from bot.laaffic.models import Balance
from bot.render import code, esc
from storage.models import BoundChat


def balance_message(balance: Balance) -> str:
    return "\n".join(
        [
            f"<b>Account balance</b>: {esc(balance.balance)} USD",
            f"Gift balance: {esc(balance.gift)} USD",
            f"Credit line: {esc(balance.credit)} USD",
        ]
    )


def chat_settings(chat: BoundChat, *, default_timezone: str, default_app_id: str) -> str:
    """A chat's settings, each saying whether it is the chat's own or the default."""
    ccode = (
        f"Country code: {code(chat.ccode)}"
        if chat.ccode
        else "Country code: not set (number files need +country codes)"
    )
    display = (
        f"Display number: {code(chat.display_num)}"
        if chat.display_num
        else "Display number: not set"
    )
    zone = (
        f"Time zone: {code(chat.timezone)}"
        if chat.timezone
        else f"Time zone: {code(default_timezone)} (the default)"
    )
    app = (
        f"Voice application: {code(chat.app_id)}"
        if chat.app_id
        else f"Voice application: {code(default_app_id)} (the default)"
    )
    where = (
        f"Notifications go to: topic {code(chat.thread_id)}"
        if chat.thread_id
        else "Notifications go to: this chat"
    )
    mask = (
        "Callee numbers in relayed messages: masked"
        if chat.mask_numbers
        else "Callee numbers in relayed messages: shown in full"
    )
    return "\n".join(["<b>This chat's settings</b>", ccode, display, zone, app, where, mask])


def settings_saved(settings_text: str) -> str:
    """After a change: the chat's settings as they are now (`chat_settings`)."""
    return f"Saved.\n{settings_text}"
