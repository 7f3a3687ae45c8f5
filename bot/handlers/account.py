"""/balance and /settings. Every setting is checked when it is set, against the platform's limits."""

from __future__ import annotations

import re

import phonenumbers
from sqlmodel import Session
from telegram.ext import Application, CommandHandler

from bot.errors import UsageError, UserFacingError
from bot.handlers import relay
from bot.handlers.base import Request, command, refusal
from bot.handlers.catalogue import info as command_info
from bot.handlers.reports import checked_zone
from bot.laaffic import limits
from bot.render import esc
from bot.services.access import Role
from bot.views import account as views
from storage.models import BoundChat

# Voice application ids are letters and digits, as the console shows them.
APP_ID_RE = re.compile(r"[A-Za-z0-9]{1,64}")
SETTING_NAMES = {
    "ccode": "ccode",
    "displaynum": "display_num",
    "display": "display_num",
    "display_num": "display_num",
    "timezone": "timezone",
    "tz": "timezone",
    "app": "app_id",
    "appid": "app_id",
}


@command("/balance", Role.VIEWER)
async def balance(req: Request) -> None:
    b = await req.runtime.client.balance()
    await req.reply(views.balance_message(b))


def _show(req: Request, chat: BoundChat) -> str:
    return views.chat_settings(
        chat,
        default_timezone=req.runtime.settings.default_timezone,
        default_app_id=req.runtime.client.app_id,
    )


@command("/settings", Role.VIEWER)
async def settings(req: Request) -> None:
    chat = req.chat
    assert chat is not None
    if not req.args:
        await req.reply(_show(req, chat) + "\n\n" + _usage_html())
        return
    if req.args[0].lower() == "mask":  # a relay display setting, kept with /notify's
        await relay.settings_mask(req, req.args[1] if len(req.args) == 2 else None)
        return
    key = req.args[0].lower()
    field = SETTING_NAMES.get(key)
    if field is None:
        raise UsageError(f"“{req.args[0][:20]}” is not a setting.", command="settings")
    if len(req.args) == 1:
        raise UsageError(f"Give /settings {key} a value, or - to clear it.", command="settings")
    if len(req.args) > 2:
        raise UsageError(
            f"/settings {key} takes one value without spaces; you gave {len(req.args) - 1} words.",
            command="settings",
        )
    value = req.args[1].strip()
    needed = Role.ADMIN if field == "app_id" else Role.OPERATOR
    if req.role < needed:
        await req.reply(esc(refusal(req, needed, f"/settings {key}")))
        return
    clear = value == "-"
    if not clear:
        value = _checked(field, value)

    def update(session: Session) -> BoundChat:
        row = session.get(BoundChat, req.chat_id)
        assert row is not None
        setattr(row, field, None if clear else value)
        session.add(row)
        return row

    chat = await req.runtime.database.run(update)
    req.chat = chat
    await req.reply(views.settings_saved(_show(req, chat)))


def _usage_html() -> str:
    return command_info("settings").usage_html


def _checked(field: str, value: str) -> str:
    """The value to store, or a plain-text sentence saying why not (checked at once, so a bad
    default never breaks a later /addagents or task)."""
    shown = value if len(value) <= 30 else value[:30] + "…"
    if field == "ccode":
        # "0091" and "+91" are how people write 91 with its dialling prefix: the platform is
        # given the calling code itself, never the zeros.
        value = value.removeprefix("+").lstrip("0")
        if not limits.CCODE_RE.fullmatch(value) or (
            phonenumbers.region_code_for_country_code(int(value)) == "ZZ"
        ):
            raise UserFacingError(
                f"{shown} is not a country calling code. Use its digits 0–9, such as 91 "
                f"(India) or 86 (China)."
            )
    elif field == "display_num":
        if not limits.DISPLAY_NUM_RE.fullmatch(value):
            raise UserFacingError(
                f"A display number is 1–{limits.DISPLAY_NUM_MAX} letters or digits (A–Z, 0–9, "
                f"nothing else); “{shown}” is not one, so nothing was saved."
            )
    elif field == "timezone":
        value = checked_zone(value)
    elif field == "app_id" and not APP_ID_RE.fullmatch(value):
        raise UserFacingError(
            "An application id is letters and digits (A–Z, 0–9), as shown in the console."
        )
    return value


def register(application: Application) -> None:
    application.add_handler(CommandHandler("balance", balance))
    application.add_handler(CommandHandler("settings", settings))
