"""Telegram update handlers, one module per area; `register_handlers` wires them all."""

from __future__ import annotations

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
)
from telegram.ext import Application, CallbackQueryHandler

from bot.handlers import (
    account,
    admin,
    agents_link,
    alerts,
    base,
    edits,
    groups,
    numbers,
    ops,
    relay,
    reports,
    task_flow,
    task_life,
)
from bot.handlers.catalogue import COMMANDS, CommandInfo
from bot.i18n import CHOICES, DEFAULT, speaking
from bot.services.access import Role


def register_handlers(application: Application) -> None:
    edits.register(application)  # first: an edited message is not a new request
    admin.register(application)
    groups.register(application)
    account.register(application)
    numbers.register(application)
    task_flow.register(application)
    task_life.register(application)
    relay.register(application)
    alerts.register(application)
    reports.register(application)
    ops.register(application)
    agents_link.register(application)
    # last: only presses that no button handler above took
    application.add_handler(CallbackQueryHandler(base.unknown_button))


def _menu(commands: list[CommandInfo]) -> list[BotCommand]:
    return [BotCommand(c.name, c.description[:256]) for c in commands]


async def set_command_menus(bot: Bot) -> None:
    """Command menus: every group member sees the team commands; the group's administrators
    (Telegram's scope for them beats the all-members one) also see the admin commands; private
    chats get the personal ones (no /bind, /role...: they are for groups)."""
    team = [c for c in COMMANDS if c.role <= Role.OPERATOR and not c.private_only]
    everything = [c for c in COMMANDS if not c.private_only]
    private = [c for c in COMMANDS if not c.group_only]
    scopes = (
        (team, BotCommandScopeAllGroupChats()),
        (everything, BotCommandScopeAllChatAdministrators()),
        (private, BotCommandScopeAllPrivateChats()),
    )
    # English for everyone, then each other language for the members whose Telegram is in it.
    for language in CHOICES:
        with speaking(language):
            code = None if language == DEFAULT else language
            for commands, scope in scopes:
                await bot.set_my_commands(_menu(commands), scope=scope, language_code=code)
