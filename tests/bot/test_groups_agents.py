"""/groups, /newgroup, /group, /agents, /addagents, /agentcreds, /balance, /settings end to end."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness


async def test_newgroup_creates_routes_and_lists(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/newgroup Sales-Team-1")
    assert "Created the agent group" in reply.text and "Sales-Team-1" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/groups")
    assert (
        "Sales-Team-1" in reply.text and "0 agent(s)" in reply.text and "events here" in reply.text
    )


async def test_newgroup_bad_names_never_reach_the_platform(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/newgroup")
    assert "Usage: /newgroup" in reply.text and "Example" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/newgroup abc")
    assert "4–32 characters" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/newgroup " + "x" * 33)
    assert "4–32 characters" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/newgroup S\u0430les-Team")  # a Cyrillic а
    assert "mixes Latin and Cyrillic letters (“\u0430” is Cyrillic)" in reply.text
    assert "one alphabet" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/seatGroup/addGroup"] == 0


async def test_duplicate_group_name_gets_the_platform_sentence_and_code(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Team-Dup")
    reply = await bot.say(GROUP, OPERATOR, "/newgroup Team-Dup")
    assert "platform code -20" in reply.text


async def test_addagents_checks_quota_and_lists_agents(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Agents-Team")
    reply = await bot.say(GROUP, OPERATOR, "/addagents Agents-Team 3 1234 91")
    assert "Created 3 agent(s)" in reply.text
    quota = bot.platform.config.agent_quota_per_group
    reply = await bot.say(GROUP, OPERATOR, f"/addagents Agents-Team {quota}")
    assert f"only {quota - 3} more" in reply.text and "Nothing was created" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/seat/addSeatList"] == 1
    reply = await bot.say(GROUP, VIEWER, "/agents Agents-Team")
    assert "3 agent(s)" in reply.text and "idle" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/group Agents-Team")
    assert "quota" in reply.text and "Agents: 3" in reply.text


async def test_addagents_usage_and_unknown_group(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/addagents Nope")
    assert "Usage: /addagents" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/addagents Nope 0")
    assert "must be at least 1; 0 is not" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/addagents No-Such-Group 2")
    assert "no agent group" in reply.text.lower() and "/groups" in reply.text


async def test_agentcreds_go_privately_to_the_admin_only(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Creds-Team")
    await bot.say(GROUP, OPERATOR, "/addagents Creds-Team 2")
    reply = await bot.say(GROUP, OPERATOR, "/agentcreds Creds-Team")
    assert "needs the admin role" in reply.text
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, ADMIN, "/agentcreds Creds-Team")
    private = await bot.answer(ADMIN, mark)
    assert "password" in private.text
    group_reply = await bot.answer(GROUP, mark)
    assert "private message" in group_reply.text
    # no password ever reaches the group
    for message in bot.telegram.messages(GROUP):
        assert "password" not in (message.text or "").lower() or "private" in message.text


async def test_balance_and_settings(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, VIEWER, "/balance")
    assert "Account balance" in reply.text and "USD" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/settings ccode 91")
    assert "needs the operator role" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings ccode 999")
    assert "not a country calling code" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings timezone Mars/Base")
    assert "not a time zone" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings ccode 91")
    assert "Saved" in reply.text and "91" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings app Xq7Lm2Pa")
    assert "needs the admin role" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings timezone Asia/Kolkata")
    assert "Asia/Kolkata" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/settings")
    assert "91" in reply.text and "Asia/Kolkata" in reply.text


async def test_agentcreds_when_the_admin_never_opened_a_private_chat(bot: BotHarness) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Creds-Team2")
    await bot.say(GROUP, OPERATOR, "/addagents Creds-Team2 1")
    bot.telegram.fail_next(
        "sendMessage", 403, "Forbidden: bot can't initiate conversation with a user", chat_id=ADMIN
    )
    reply = await bot.say(GROUP, ADMIN, "/agentcreds Creds-Team2")
    assert "Open a private chat with me" in reply.text
    assert "password" not in reply.text.lower()


async def test_a_flood_limit_on_a_reply_is_waited_out(bot: BotHarness) -> None:
    await bot.bind()
    bot.telegram.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, chat_id=GROUP
    )
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, VIEWER, "/whoami")
    reply = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.ok and c.chat_id == GROUP, 10, since=mark
    )
    assert "viewer" in reply.text
    refused = [c for c in bot.telegram.calls_of("sendMessage", GROUP) if c.seq > mark and not c.ok]
    assert len(refused) == 1 and refused[0].status == 429


async def test_every_command_without_its_arguments_answers_with_usage_and_example(
    bot: BotHarness,
) -> None:
    await bot.bind()
    for command, user in (("/group", VIEWER), ("/agents", VIEWER), ("/newgroup", OPERATOR),
                          ("/addagents", OPERATOR), ("/agentcreds", ADMIN), ("/newtask", OPERATOR),
                          ("/task", VIEWER), ("/cancel", OPERATOR), ("/rate", OPERATOR),
                          ("/rerun", OPERATOR), ("/audit many", ADMIN), ("/settings ccode", OPERATOR),
                          ("/role", ADMIN)):
        reply = await bot.say(GROUP, user, command)
        assert "Usage" in reply.text and ("Example" in reply.text or "e.g." in reply.text
                                          or "<code>/" in reply.params["text"]), (command, reply.text)
    assert sum(bot.platform.simulator.requests.values()) == 0  # nothing reached the platform
