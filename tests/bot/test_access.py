"""Who may do what: binding, roles, refusals on commands and buttons, /help, /whoami, /audit."""

from __future__ import annotations

import httpx
from sqlmodel import select

from storage.models import OutboxMessage
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness
from tests.relay.test_commands import call, relay


async def test_unbound_group_answers_only_how_to_get_bound(bot: BotHarness) -> None:
    reply = await bot.say(GROUP, OPERATOR, "/groups")
    assert "not bound" in reply.text and "/bind" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/help")
    assert "not bound yet" in reply.text
    # an admin also has to bind first: the bot acts in a group only after /bind
    reply = await bot.say(GROUP, ADMIN, "/groups")
    assert "not bound" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/seatGroup/query"] == 0


async def test_bind_roles_and_refusals(bot: BotHarness) -> None:
    reply = await bot.say(GROUP, OPERATOR, "/bind")
    assert "needs the admin role" in reply.text
    await bot.bind()
    reply = await bot.say(GROUP, VIEWER, "/whoami")
    assert "viewer" in reply.text and str(VIEWER) in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/whoami")
    assert "operator" in reply.text
    # viewers read, but can't create
    reply = await bot.say(GROUP, VIEWER, "/newgroup Team-Viewer")
    assert "needs the operator role" in reply.text and "/role operator" in reply.text
    assert "you are a viewer" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/audit")
    assert "you are an operator" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/seatGroup/addGroup"] == 0
    reply = await bot.say(GROUP, VIEWER, "/groups")
    assert "no agent groups" in reply.text.lower()
    # /role none shuts a member out
    await bot.say(GROUP, ADMIN, f"/role none {VIEWER}")
    reply = await bot.say(GROUP, VIEWER, "/groups")
    assert "needs the viewer role" in reply.text


async def test_role_by_username_and_by_reply(bot: BotHarness) -> None:
    await bot.bind(operators=())
    reply = await bot.say(GROUP, ADMIN, "/role operator @carol")
    assert "haven't seen @carol" in reply.text
    await bot.say(GROUP, VIEWER, "/whoami", username="carol")
    reply = await bot.say(GROUP, ADMIN, "/role operator @carol")
    assert "is now <b>operator</b>" in reply.params["text"]
    reply = await bot.say(GROUP, VIEWER, "/whoami")
    assert "operator" in reply.text
    user_msg = bot.telegram.send_text(GROUP, OPERATOR, "hello")
    reply = await bot.say(
        GROUP, ADMIN, "/role operator", reply_to=user_msg["message"]["message_id"]
    )
    assert str(OPERATOR) in reply.text and "operator" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/role boss 5")
    assert "Usage: /role" in reply.text


async def test_private_chat_for_non_admin_and_admin(bot: BotHarness) -> None:
    reply = await bot.say(OPERATOR, OPERATOR, "/groups")
    assert "team chat" in reply.text
    reply = await bot.say(ADMIN, ADMIN, "/groups")
    assert "no agent groups" in reply.text.lower()


async def test_help_lists_commands_for_the_role(bot: BotHarness) -> None:
    await bot.bind()
    viewer_help = await bot.say_all(GROUP, VIEWER, "/help")
    operator_help = await bot.say_all(GROUP, OPERATOR, "/help")
    admin_help = await bot.say_all(GROUP, ADMIN, "/help")
    assert "/groups" in viewer_help and "/newgroup" not in viewer_help
    assert "/newgroup" in operator_help and "/role" not in operator_help
    assert "/role" in admin_help and "/audit" in admin_help


async def test_command_menus_are_set_for_groups_and_private_chats(bot: BotHarness) -> None:
    group_cmds = {c["command"] for c in bot.telegram.commands({"type": "all_group_chats"})}
    private_cmds = {c["command"] for c in bot.telegram.commands({"type": "all_private_chats"})}
    assert {"groups", "newtask", "upload"} <= group_cmds
    assert "bind" not in private_cmds and "help" in private_cmds


async def test_audit_shows_platform_calls_with_who_and_code(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Audit-Team")
    await bot.say(GROUP, OPERATOR, "/newgroup x")  # refused before calling the platform
    reply = await bot.say(GROUP, OPERATOR, "/audit")
    assert "needs the admin role" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/audit 5")
    assert "seatGroup/addGroup" in reply.text and str(OPERATOR) in reply.text
    assert "/newgroup" in reply.text and "code 0" in reply.text
    assert bot.platform.config.api_secret not in reply.text


async def test_healthz(bot: BotHarness) -> None:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{bot.service.listener_url}/healthz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


async def test_removed_from_chat_disables_routes_and_tells_admins(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Removal-Team")
    mark = bot.telegram.mark()
    bot.telegram.my_chat_member(GROUP, "member", "left", by_user_id=OPERATOR)
    call = await bot.answer(ADMIN, mark)
    assert "removed from the chat" in call.text and "1 agent group" in call.text
    reply = await bot.say(GROUP, OPERATOR, "/groups")
    assert "not bound" in reply.text


async def test_removed_from_a_chat_takes_back_its_waiting_messages_and_says_so(
    bot: BotHarness,
) -> None:
    """The waiting messages went on to Telegram, were refused, and the admins got a second
    notice about the same chat."""
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Removal-Team")
    await bot.say(GROUP, OPERATOR, "/notify calls each")
    for _ in range(4):
        await relay(bot, "call", call("Removal-Team"))
    mark = bot.telegram.mark()
    bot.telegram.my_chat_member(GROUP, "member", "left", by_user_id=OPERATOR)
    notice = await bot.answer(ADMIN, mark)
    rows = bot.service.runtime.database.call(
        lambda s: list(s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP)))
    )
    withdrawn = [r for r in rows if r.status == "withdrawn"]
    assert withdrawn and {r.status for r in rows} <= {"sent", "sending", "withdrawn"}
    assert f"The {len(withdrawn)} message(s) still waiting to be posted there" in notice.text


async def test_group_upgraded_to_supergroup_keeps_binding_roles_and_routes(bot: BotHarness) -> None:
    old, new = -4001, -1004001
    await bot.bind(chat_id=old)
    await bot.say(old, OPERATOR, "/newgroup Migrating-Team")
    bot.telegram.migrate_service_message(old, new)
    reply = await bot.say(new, OPERATOR, "/whoami")
    assert "operator" in reply.text
    reply = await bot.say(new, OPERATOR, "/groups")
    assert "Migrating-Team" in reply.text and "events here" in reply.text


async def test_bind_in_a_forum_topic_makes_it_the_notification_place(bot: BotHarness) -> None:
    reply = await bot.say(GROUP, ADMIN, "/bind", message_thread_id=77)
    assert "notifications go to this topic" in reply.text
    assert reply.params.get("message_thread_id") == 77
    reply = await bot.say(GROUP, ADMIN, "/settings")
    assert "topic <code>77</code>" in reply.text
    # A group made from another topic still says where its events will go.
    reply = await bot.say(GROUP, ADMIN, "/newgroup Topic-Team", message_thread_id=9)
    assert "will be posted in the topic where /bind was run" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/newgroup Topic-Team-2", message_thread_id=77)
    assert "will be posted in this topic" in reply.text


async def test_bind_tells_which_privacy_case_applies(bot: BotHarness) -> None:
    reply = await bot.say(GROUP, ADMIN, "/bind")
    assert "Privacy mode is on" in reply.text and "caption /upload" in reply.text


async def test_reply_to_a_chat_that_migrated_unseen_moves_the_binding(bot: BotHarness) -> None:
    old, new = -5001, -1005001
    await bot.bind(chat_id=old)
    bot.telegram.migrate_chat(old, new)  # sends to `old` now fail with migrate_to_chat_id
    mark = bot.telegram.mark()
    bot.telegram.send_command(old, OPERATOR, "/whoami")
    reply = await bot.answer(new, mark)
    assert "operator" in reply.text
    reply = await bot.say(new, OPERATOR, "/whoami")
    assert "operator" in reply.text


async def test_bind_as_group_admin_says_files_can_simply_be_dropped(bot: BotHarness) -> None:
    bot.telegram.set_member_status(GROUP, bot.telegram.bot_id, "administrator")
    reply = await bot.say(GROUP, ADMIN, "/bind")
    assert "simply drop number files" in reply.text
