"""/balance and /settings."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from telegram.ext import Application, CommandHandler

from bot.errors import UsageError, UserFacingError
from bot.handlers import relay
from bot.handlers.base import Request, command, refusal
from bot.render import code, esc
from bot.services.access import Role
from storage.models import BoundChat


@command("/balance", Role.VIEWER)
async def balance(req: Request) -> None:
    b = await req.runtime.client.balance()
    await req.reply(
        f"<b>Account balance</b>: {esc(b.balance)} USD\nGift balance: {esc(b.gift)} USD\n"
        f"Credit line: {esc(b.credit)} USD"
    )


SETTINGS_USAGE = (
    "Usage:\n"
    "<code>/settings</code> — show this chat's defaults\n"
    "<code>/settings ccode 91</code> — country code for number files and new agents\n"
    "<code>/settings displaynum 1234</code> — display number for new agents and tasks\n"
    "<code>/settings timezone Asia/Kolkata</code> — time zone of the daily summary\n"
    "<code>/settings app HsiT9A6d</code> — the voice application this chat works with (admins)\n"
    "<code>/settings mask on</code> — mask callee numbers in relayed messages (+91 98•••••210)\n"
    "Use <code>-</code> as the value to clear a setting."
)


def _show(req: Request, chat: BoundChat) -> str:
    s = req.runtime.settings
    return "\n".join(
        [
            "<b>This chat's settings</b>",
            f"Country code: {code(chat.ccode) if chat.ccode else 'not set (number files need +country codes)'}",
            f"Display number: {code(chat.display_num) if chat.display_num else 'not set'}",
            f"Time zone: {code(chat.timezone or s.default_timezone)}"
            f"{'' if chat.timezone else ' (the default)'}",
            f"Voice application: {code(chat.app_id or req.runtime.client.app_id)}"
            f"{'' if chat.app_id else ' (the default)'}",
            f"Notifications go to: {'topic ' + code(chat.thread_id) if chat.thread_id else 'this chat'}",
            f"Callee numbers in relayed messages: {'masked' if chat.mask_numbers else 'shown in full'}",
        ]
    )


@command("/settings", Role.VIEWER)
async def settings(req: Request) -> None:
    chat = req.chat
    assert chat is not None
    if not req.args:
        await req.reply(_show(req, chat) + "\n\n" + SETTINGS_USAGE)
        return
    if req.args[0].lower() == "mask":  # relay display setting, handled with /notify's settings
        await relay.settings_mask(req, req.args[1] if len(req.args) == 2 else None)
        return
    if len(req.args) != 2:
        raise UsageError(SETTINGS_USAGE)
    key, value = req.args[0].lower(), req.args[1].strip()
    needed = Role.ADMIN if key == "app" else Role.OPERATOR
    if req.role < needed:
        await req.reply(refusal(req, needed, f"/settings {key}"))
        return
    clear = value == "-"
    if key == "ccode":
        value = value.lstrip("+")
        if not clear and (
            not value.isdigit() or phonenumbers.region_code_for_country_code(int(value)) == "ZZ"
        ):
            raise UserFacingError(
                f"{esc(value)} is not a country calling code. Use digits such as 91 "
                f"(India) or 86 (China)."
            )
        field = "ccode"
    elif key in ("displaynum", "display", "display_num"):
        if not clear and (len(value) > 20 or not value.isalnum()):
            raise UserFacingError("A display number is at most 20 letters or digits.")
        field = "display_num"
    elif key in ("timezone", "tz"):
        try:
            clear or ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise UserFacingError(
                f"{esc(value)} is not a time zone I know. Use an IANA name such as "
                f"Asia/Kolkata or Europe/Berlin."
            ) from None
        field = "timezone"
    elif key in ("app", "appid"):
        if not clear and not (1 <= len(value) <= 64 and value.isalnum()):
            raise UserFacingError(
                "An application id is letters and digits, as shown in the console."
            )
        field = "app_id"
    else:
        raise UsageError(SETTINGS_USAGE)

    def update(session):  # noqa: ANN001, ANN202
        row = session.get(BoundChat, req.chat_id)
        setattr(row, field, None if clear else value)
        session.add(row)
        return row

    chat = await req.runtime.database.run(update)
    req.chat = chat
    await req.reply(f"Saved.\n{_show(req, chat)}")


def register(application: Application) -> None:
    application.add_handler(CommandHandler("balance", balance))
    application.add_handler(CommandHandler("settings", settings))
