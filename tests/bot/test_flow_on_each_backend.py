"""The upload-to-task flow (with its double submit) and chat migration on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.bot import test_access, test_upload_and_tasks
from tests.bot.conftest import BotHarness


@pytest.fixture
def bot_database_url(database_url: str) -> str:
    return database_url


async def test_upload_to_task_flow(bot: BotHarness) -> None:
    await test_upload_and_tasks.test_file_report_upload_and_guided_task_submitted_once(bot)


async def test_chat_migration(bot: BotHarness) -> None:
    await test_access.test_group_upgraded_to_supergroup_keeps_binding_roles_and_routes(bot)
