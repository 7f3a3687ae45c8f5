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
    # last: only presses that no button handler above took
    application.add_handler(CallbackQueryHandler(base.unknown_button))


def _menu(commands: list[CommandInfo]) -> list[BotCommand]:
    return [BotCommand(c.name, c.summary[:256]) for c in commands]


async def set_command_menus(bot: Bot) -> None:
    """Command menus: every group member sees the team commands; the group's administrators
    (Telegram's scope for them beats the all-members one) also see the admin commands; private
    chats get the personal ones (no /bind, /role...: they are for groups)."""
    team = [c for c in COMMANDS if c.role <= Role.OPERATOR]
    everything = [c for c in COMMANDS]
    private = [c for c in COMMANDS if not c.group_only]
    await bot.set_my_commands(_menu(team), scope=BotCommandScopeAllGroupChats())
    await bot.set_my_commands(_menu(everything), scope=BotCommandScopeAllChatAdministrators())
    await bot.set_my_commands(_menu(private), scope=BotCommandScopeAllPrivateChats())
