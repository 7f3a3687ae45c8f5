"""Teams are kept apart: a chat acts on the groups routed to it; admins act anywhere."""

from __future__ import annotations

from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness

OTHER = -1009876543210  # another team's chat
OTHER_OPERATOR = 4004


async def _two_teams(bot: BotHarness) -> int:
    """Both chats bound; the other team has the group Other-Team with one agent. Its id."""
    await bot.bind()
    await bot.bind(OTHER, operators=(OTHER_OPERATOR,))
    reply = await bot.say(OTHER, OTHER_OPERATOR, "/newgroup Other-Team")
    assert "Created" in reply.text
    reply = await bot.say(OTHER, OTHER_OPERATOR, "/addagents Other-Team 1")
    assert "Created 1 agent(s)" in reply.text
    groups = bot.platform.call(lambda: list(bot.platform.simulator.state.groups))
    return groups[0]


def _agent_count(bot: BotHarness) -> int:
    return bot.platform.call(lambda: len(bot.platform.simulator.state.agents))


async def test_another_teams_group_is_refused_by_every_group_command(bot: BotHarness) -> None:
    group_id = await _two_teams(bot)
    writes = bot.platform.simulator.requests["/v3/cc/seat/addSeatList"]
    for user, text in (
        (VIEWER, "/group Other-Team"),
        (VIEWER, f"/group {group_id}"),
        (VIEWER, "/agents Other-Team"),
        (OPERATOR, "/addagents Other-Team 2"),
    ):
        reply = await bot.say(GROUP, user, text)
        assert "is not this team's, so nothing was done" in reply.text, (text, reply.text)
        assert f"/route {group_id}" in reply.text
        assert "account" not in reply.text  # no agent detail leaked
    assert bot.platform.simulator.requests["/v3/cc/seat/addSeatList"] == writes
    assert _agent_count(bot) == 1
    # the owning team still acts on it
    reply = await bot.say(OTHER, OTHER_OPERATOR, "/addagents Other-Team 1")
    assert "Created 1 agent(s)" in reply.text


async def test_groups_lists_this_teams_groups_and_all_only_for_admins(bot: BotHarness) -> None:
    await _two_teams(bot)
    await bot.say(GROUP, OPERATOR, "/newgroup Home-Team")
    reply = await bot.say(GROUP, VIEWER, "/groups")
    assert "Home-Team" in reply.text and "Other-Team" not in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/groups all")
    assert "for ccbot admins" in reply.text and "Other-Team" not in reply.text
    reply = await bot.say(GROUP, ADMIN, "/groups")
    assert "Other-Team" not in reply.text and "1 more belong to other teams" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/groups all")
    assert "Home-Team" in reply.text and "Other-Team" in reply.text
    reply = await bot.say(ADMIN, ADMIN, "/groups")  # an admin's private chat sees everything
    assert "Home-Team" in reply.text and "Other-Team" in reply.text


async def test_admins_act_on_any_teams_group(bot: BotHarness) -> None:
    await _two_teams(bot)
    reply = await bot.say(GROUP, ADMIN, "/group Other-Team")
    assert "Agents: 1" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/addagents Other-Team 1")
    assert "Created 1 agent(s)" in reply.text
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, ADMIN, "/agentcreds Other-Team")
    private = await bot.answer(ADMIN, mark)
    assert "password" in private.text
    assert _agent_count(bot) == 2


async def test_route_makes_a_group_this_teams_too_and_only_admins_may(bot: BotHarness) -> None:
    group_id = await _two_teams(bot)
    reply = await bot.say(GROUP, OPERATOR, "/route Other-Team")
    assert "needs the admin role" in reply.text
    reply = await bot.say(GROUP, ADMIN, f"/route {group_id}")
    assert "is this team's now" in reply.text and f"stays routed to <code>{OTHER}</code>" in (
        reply.params["text"]
    )
    reply = await bot.say(GROUP, VIEWER, "/agents Other-Team")
    assert "1 agent(s)" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/groups")
    assert "Other-Team" in reply.text and "events here" in reply.text
    # a group may be routed to several chats: the first team keeps it
    reply = await bot.say(OTHER, OTHER_OPERATOR, "/addagents Other-Team 1")
    assert "Created 1 agent(s)" in reply.text
    assert _agent_count(bot) == 2


async def test_a_group_made_outside_the_bot_belongs_to_no_team_until_routed(
    bot: BotHarness,
) -> None:
    await bot.bind()
    client = bot.service.runtime.client  # type: ignore[union-attr]
    group_id = await client.add_group("Console-Team")
    reply = await bot.say(GROUP, VIEWER, "/agents Console-Team")
    assert "is not this team's" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/route Console-Team")
    assert "is this team's now" in reply.text and "stays routed" not in reply.text
    reply = await bot.say(GROUP, VIEWER, f"/agents {group_id}")
    assert "has no agents yet" in reply.text
