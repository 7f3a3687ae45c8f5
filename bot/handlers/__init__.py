"""Telegram update handlers, one module per area; `register_handlers` wires them all."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats
from telegram.ext import Application

from bot.handlers.catalogue import COMMANDS
from bot.services.access import Role


def register_handlers(application: Application) -> None:
    from bot.handlers import account, admin, groups, numbers, ops, relay, reports, tasks

    admin.register(application)
    groups.register(application)
    account.register(application)
    numbers.register(application)
    tasks.register(application)
    relay.register(application)
    reports.register(application)
    ops.register(application)


async def set_command_menus(bot: Bot) -> None:
    """Command menus: groups see the team commands, private chats the personal ones."""
    group = [BotCommand(c.name, c.summary[:256]) for c in COMMANDS if c.role <= Role.OPERATOR]
    private = [BotCommand(c.name, c.summary[:256]) for c in COMMANDS if not c.group_only]
    await bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())
    await bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
