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
from bot.i18n import CHOICES, _, n_, normalise, switch
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
    if req.args[0].lower() in ("language", "lang"):
        await settings_language(req)
        return
    key = req.args[0].lower()
    field = SETTING_NAMES.get(key)
    if field is None:
        raise UsageError(_("“{name}” is not a setting.", name=req.args[0][:20]), command="settings")
    if len(req.args) == 1:
        raise UsageError(
            _("Give /settings {key} a value, or - to clear it.", key=key), command="settings"
        )
    if len(req.args) > 2:
        raise UsageError(
            n_(
                "/settings {key} takes one value without spaces; you gave {count} word.",
                "/settings {key} takes one value without spaces; you gave {count} words.",
                len(req.args) - 1,
                key=key,
            ),
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


async def settings_language(req: Request) -> None:
    """/settings language en|zh: the language of everything the bot writes in this chat."""
    if len(req.args) != 2 or normalise(req.args[1]) not in CHOICES:
        raise UsageError(
            _(
                "Give /settings language one of: {choices}.",
                choices=", ".join(CHOICES),
            ),
            command="settings",
        )
    if req.role < Role.OPERATOR:
        await req.reply(esc(refusal(req, Role.OPERATOR, "/settings language")))
        return
    language = normalise(req.args[1])

    def update(session: Session) -> BoundChat:
        row = session.get(BoundChat, req.chat_id)
        assert row is not None
        row.language = language
        session.add(row)
        return row

    chat = await req.runtime.database.run(update)
    req.chat = chat
    switch(language)  # the answer is already in the new language
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
                _(
                    "{value} is not a country calling code. Use its digits 0–9, such as 91 "
                    "(India) or 86 (China).",
                    value=shown,
                )
            )
    elif field == "display_num":
        if not limits.DISPLAY_NUM_RE.fullmatch(value):
            raise UserFacingError(
                _(
                    "A display number is 1–{max} letters or digits (A–Z, 0–9, "
                    "nothing else); “{value}” is not one, so nothing was saved.",
                    max=limits.DISPLAY_NUM_MAX,
                    value=shown,
                )
            )
    elif field == "timezone":
        value = checked_zone(value)
    elif field == "app_id" and not APP_ID_RE.fullmatch(value):
        raise UserFacingError(
            _("An application id is letters and digits (A–Z, 0–9), as shown in the console.")
        )
    return value


def register(application: Application) -> None:
    application.add_handler(CommandHandler("balance", balance))
    application.add_handler(CommandHandler("settings", settings))
