"""Answers of /balance and /settings: the account's balance and a chat's settings."""

from __future__ import annotations

from bot.i18n import LANGUAGE_NAMES, _, language_of
from bot.laaffic.models import Balance
from bot.render import code, esc
from storage.models import BoundChat


def balance_message(balance: Balance) -> str:
    return "\n".join(
        [
            _("<b>Account balance</b>: {amount} USD", amount=esc(balance.balance)),
            _("Gift balance: {amount} USD", amount=esc(balance.gift)),
            _("Credit line: {amount} USD", amount=esc(balance.credit)),
        ]
    )


def chat_settings(chat: BoundChat, *, default_timezone: str, default_app_id: str) -> str:
    """A chat's settings, each saying whether it is the chat's own or the default."""
    ccode = (
        _("Country code: {code}", code=code(chat.ccode))
        if chat.ccode
        else _("Country code: not set (number files need +country codes)")
    )
    display = (
        _("Display number: {number}", number=code(chat.display_num))
        if chat.display_num
        else _("Display number: not set")
    )
    zone = (
        _("Time zone: {zone}", zone=code(chat.timezone))
        if chat.timezone
        else _("Time zone: {zone} (the default)", zone=code(default_timezone))
    )
    app = (
        _("Voice application: {app}", app=code(chat.app_id))
        if chat.app_id
        else _("Voice application: {app} (the default)", app=code(default_app_id))
    )
    where = (
        _("Notifications go to: topic {topic}", topic=code(chat.thread_id))
        if chat.thread_id
        else _("Notifications go to: this chat")
    )
    mask = (
        _("Callee numbers in relayed messages: masked")
        if chat.mask_numbers
        else _("Callee numbers in relayed messages: shown in full")
    )
    language = _("Language: {language}", language=_(LANGUAGE_NAMES[language_of(chat.language)]))
    lines = [_("<b>This chat's settings</b>"), ccode, display, zone, app, where, mask]
    if chat.language:  # a chat that never chose keeps its settings as they always read
        lines.append(language)
    return "\n".join(lines)


def settings_saved(settings_text: str) -> str:
    """After a change: the chat's settings as they are now (`chat_settings`)."""
    return _("Saved.") + "\n" + settings_text
