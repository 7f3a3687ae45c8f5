"""The command surface under pressure: hostile text, bad numbers, names with spaces, long answers,
a slow platform, menus and prompts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.app import BotService
from bot.handlers.base import Request, button, command
from bot.handlers.catalogue import COMMANDS, info
from bot.laaffic import limits
from bot.services.access import Role
from tests.bot.conftest import ADMIN, GROUP, OPERATOR, VIEWER, BotHarness, make_settings

# What an entity may be in a reply: formatting only, never a link or a mention nobody wrote.
FORMATTING = {"bold", "italic", "code", "pre", "underline", "strikethrough", "blockquote"}

# Each command of the catalogue with hostile arguments, and the part of them its answer must show
# as typed (None: the answer does not repeat the arguments, it must still arrive intact).
HOSTILE: dict[str, tuple[str, str | None]] = {
    "help": ('/help <b>&"', None),
    "whoami": ("/whoami <i>x</i>", None),
    "groups": ('/groups <b>&"', '<b>&"'),
    "group": ('/group <a href="https://example.com">x</a>', '<a href="https://example.com">x</a>'),
    "newgroup": ("/newgroup a<b", "a<b"),
    "agents": ("/agents <x", "<x"),
    "addagents": ("/addagents <b>&amp; 5", "<b>&amp;"),
    "agentcreds": ('/agentcreds <i>x</i> & y"', '<i>x</i> & y"'),
    "route": ("/route <code>1</code>", "<code>1</code>"),
    "upload": ("/upload <b>", None),
    "newtask": ("/newtask 1 <b>", "<b>"),
    "tasks": ("/tasks <b>", None),
    "task": ("/task <b>1</b>", None),
    "cancel": ("/cancel <x", None),
    "rate": ("/rate 5000001 <b>", "<b>"),
    "rerun": ("/rerun 5000001 <b>", None),
    "balance": ("/balance <b>", None),
    "settings": ("/settings displaynum 号码<b>", "号码<b>"),
    "bind": ("/bind <b>", None),
    "role": ("/role operator <b>&", "<b>&"),
    "audit": ("/audit <b>", "<b>"),
    "summary": ("/summary <b>", "<b>"),
    "schedule": ("/schedule <b>", "<b>"),
    "export": ("/export <i>x", "<i>x"),
    "calls": ("/calls <b>&", "<b>&"),
    "status": ("/status <b>", None),
    "unroute": ("/unroute <b>x</b>", "<b>x</b>"),
    "routes": ("/routes <b>", None),
    "notify": ("/notify calls <b>", "<b>"),
    "mute": ("/mute <i>x", "<i>x"),
    "unmute": ("/unmute <b>", None),
    "link": ("/link <b>x 5", "<b>x"),
    "unlink": ("/unlink <i>x", "<i>x"),
    "iam": ("/iam <b>", None),
    "pop": ("/pop <b>", None),
    "alerts": ("/alerts <b>&x", "<b>&x"),
    "topic": ("/topic <i>x", "<i>x"),
    "topics": ("/topics <b>", None),
    "unbind": ("/unbind <b>", None),  # last: it unbinds the chat
}


def _rendered(call: Any) -> tuple[str, list[dict[str, Any]]]:
    assert call.ok, f"{call.method} refused: {call.description}"
    return call.result["text"], call.result.get("entities", [])


async def test_every_command_shows_hostile_arguments_literally_and_links_nothing(
    chatty_bot: BotHarness,
) -> None:
    bot = chatty_bot
    assert set(HOSTILE) == {c.name for c in COMMANDS}  # a new command gets a line here
    await bot.bind()
    for text, echoed in HOSTILE.values():
        answers = [_rendered(call) for call in await bot.say_calls(GROUP, ADMIN, text)]
        shown = "\n".join(part for part, _ in answers)
        entities = [e for _, found in answers for e in found]
        assert {e["type"] for e in entities} <= FORMATTING, (text, entities)
        if echoed is not None:
            assert echoed in shown, (text, shown)
        if "&" not in (echoed or ""):
            assert "&lt;" not in shown and "&amp;" not in shown, (text, shown)
    assert bot.platform.simulator.requests["/v3/cc/seatGroup/addGroup"] == 0  # a<b is too short


async def test_usage_answers_come_from_the_catalogue_with_the_example(bot: BotHarness) -> None:
    await bot.bind()
    for name in (
        "group",
        "newgroup",
        "agents",
        "addagents",
        "agentcreds",
        "route",
        "role",
        "newtask",
    ):
        reply = await bot.say(GROUP, ADMIN, f"/{name}")
        shown, _ = _rendered(reply)
        entry = info(name)
        assert entry.forms[0] in shown and f"Example: {entry.example}" in shown
        assert entry.hint in shown
    # A one-line /newtask mistake: the sentence, then the catalogue's usage.
    reply = await bot.say(GROUP, ADMIN, "/newtask 12 robot")
    shown, _ = _rendered(reply)
    assert shown == "The task type is “agents” or “auto”, not “robot”.\n" + info("newtask").usage_text
    reply = await bot.say(GROUP, ADMIN, "/settings tone 5")
    shown, _ = _rendered(reply)
    assert "“tone” is not a setting" in shown and "/settings ccode" in shown


async def test_numbers_are_ascii_digits_in_their_real_range_or_a_sentence(
    bot: BotHarness,
) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Digits-Team")
    for count in ("٣", "²", "-2", "3.0"):
        reply = await bot.say(GROUP, OPERATOR, f"/addagents Digits-Team {count}")
        assert f"digits 0–9; “{count}” is not" in reply.text or "at least 1" in reply.text, count
    reply = await bot.say(GROUP, OPERATOR, "/addagents Digits-Team 0")
    assert "must be at least 1; 0 is not" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/seat/addSeatList"] == 0
    assert bot.platform.call(lambda: len(bot.platform.simulator.state.agents)) == 0
    reply = await bot.say(GROUP, ADMIN, "/audit ٣")
    assert "“٣” is not" in reply.text and "Usage: /audit" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/audit 51")
    assert "from 1 to 50" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/group " + "9" * 25)
    assert "There is no agent group" in reply.text
    for who in ("-5", "0", "9" * 25, "٣٣٣٣٣"):
        reply = await bot.say(GROUP, ADMIN, f"/role operator {who}")
        assert "A user id must be" in reply.text, (who, reply.text)
    reply = await bot.say(GROUP, ADMIN, "/role operator <script>")
    assert "neither a @username nor a user id" in reply.text


async def test_role_none_on_an_admin_says_roles_do_not_apply_to_them(bot: BotHarness) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, ADMIN, f"/role none {ADMIN}")
    assert "is a ccbot admin" in reply.text and "nothing was changed" in reply.text
    reply = await bot.say(GROUP, ADMIN, "/whoami")
    assert "admin" in reply.text  # still every right


async def test_settings_refuse_a_display_number_the_platform_would_refuse(bot: BotHarness) -> None:
    await bot.bind()
    for value in ("号码", "12 34", "x" * (limits.DISPLAY_NUM_MAX + 1), "12-34"):
        reply = await bot.say(GROUP, OPERATOR, f'/settings displaynum "{value}"')
        assert "nothing was saved" in reply.text, value
    reply = await bot.say(GROUP, OPERATOR, "/settings ccode ٩١")
    assert "not a country calling code" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/settings")
    assert "Display number: not set" in reply.text and "Country code: not set" in reply.text
    reply = await bot.say(GROUP, OPERATOR, "/settings displaynum Sales01")
    assert "Saved" in reply.text and "Sales01" in reply.text


async def test_names_with_spaces_are_quoted_in_suggestions_and_accepted_quoted(
    bot: BotHarness,
) -> None:
    await bot.bind()
    reply = await bot.say(GROUP, OPERATOR, "/newgroup Sales Team Two")
    assert "Created the agent group" in reply.text
    assert '/addagents "Sales Team Two" 5' in _rendered(reply)[0]
    reply = await bot.say(GROUP, OPERATOR, '/addagents "Sales Team Two" 2')
    assert "Created 2 agent(s)" in reply.text
    assert '/agentcreds "Sales Team Two"' in _rendered(reply)[0]
    reply = await bot.say(GROUP, OPERATOR, "/addagents Sales Team Two 2")
    assert 'put it in double quotes, like /addagents "Sales Team Two" 5' in _rendered(reply)[0]
    reply = await bot.say(GROUP, VIEWER, "/agents “Sales Team Two”")  # as phones type quotes
    assert "2 agent(s)" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/group Sales Team Two")
    assert "Agents: 2" in reply.text
    reply = await bot.say(GROUP, VIEWER, '/group "Sales Team Two')
    assert "A quote is not closed" in reply.text
    assert bot.platform.call(lambda: len(bot.platform.simulator.state.agents)) == 2


async def test_group_names_that_differ_only_in_case_are_ambiguous_not_missing(
    bot: BotHarness,
) -> None:
    await bot.bind()
    first = await bot.say(GROUP, OPERATOR, "/newgroup Case-Team")
    second = await bot.say(GROUP, OPERATOR, "/newgroup case-team")
    assert "Created" in first.text and "Created" in second.text
    reply = await bot.say(GROUP, VIEWER, "/group CASE-TEAM")
    assert "Several agent groups are called “CASE-TEAM”" in reply.text
    ids = sorted(bot.platform.call(lambda: list(bot.platform.simulator.state.groups)))
    assert f"Case-Team (id {ids[0]})" in reply.text and f"case-team (id {ids[1]})" in reply.text
    reply = await bot.say(GROUP, VIEWER, "/agents case-team")  # the exact name is not ambiguous
    assert "has no agents yet" in reply.text and "case-team" in reply.text
    await bot.say(GROUP, OPERATOR, "/newgroup Solo-Team")
    reply = await bot.say(GROUP, VIEWER, "/agents SOLO-team")  # one match apart from case: found
    assert "Solo-Team" in reply.text and "has no agents yet" in reply.text


@pytest.fixture
async def big_quota_bot(
    fake_telegram: Any, start_simulator: Any, bot_database_url: str
) -> AsyncIterator[BotHarness]:
    platform = start_simulator(agent_quota_per_group=3 * limits.AGENT_BATCH_MAX)
    service = BotService(make_settings(fake_telegram, platform, bot_database_url))
    await service.start()
    try:
        yield BotHarness(service, fake_telegram, platform)
    finally:
        await service.stop()


async def test_addagents_answers_with_the_quota_first_then_the_batch_limit(
    bot: BotHarness,
) -> None:
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Quota-Team")
    quota = bot.platform.config.agent_quota_per_group
    reply = await bot.say(GROUP, OPERATOR, f"/addagents Quota-Team {limits.AGENT_BATCH_MAX + 50}")
    assert f"can take only {quota} more" in reply.text and "Nothing was created" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/seat/addSeatList"] == 0


async def test_addagents_over_the_batch_limit_within_the_quota_creates_nothing(
    big_quota_bot: BotHarness,
) -> None:
    bot = big_quota_bot
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Batch-Team")
    reply = await bot.say(GROUP, OPERATOR, f"/addagents Batch-Team {limits.AGENT_BATCH_MAX + 1}")
    assert f"at most {limits.AGENT_BATCH_MAX} agents" in reply.text
    assert bot.platform.simulator.requests["/v3/cc/seat/addSeatList"] == 0


async def test_a_long_agent_list_arrives_whole_in_several_messages(
    big_quota_bot: BotHarness,
) -> None:
    bot = big_quota_bot
    await bot.bind()
    await bot.say(GROUP, OPERATOR, "/newgroup Many-Agents")
    reply = await bot.say(
        GROUP, OPERATOR, f"/addagents Many-Agents {limits.AGENT_BATCH_MAX}", timeout=30
    )
    assert f"Created {limits.AGENT_BATCH_MAX} agent(s)" in reply.text
    names = bot.platform.call(lambda: [a.name for a in bot.platform.simulator.state.agents.values()])
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, VIEWER, "/agents Many-Agents")
    await bot.telegram.wait_for_text(GROUP, names[-1], 20, since=mark)
    parts = [c for c in bot.telegram.calls_of("sendMessage", GROUP) if c.seq > mark]
    assert len(parts) >= 2 and all(c.ok for c in parts)
    shown = "\n".join(c.result["text"] for c in parts)
    assert all(name in shown for name in names)
    assert f"{limits.AGENT_BATCH_MAX} agent(s)" in parts[0].result["text"]  # the summary first


async def test_another_members_whoami_is_answered_while_a_slow_groups_waits(
    bot: BotHarness,
) -> None:
    await bot.bind()
    path = "/v3/cc/seatGroup/query"
    bot.platform.call(bot.platform.simulator.inject_fault, path, "delay_before_apply", 2.0)
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, OPERATOR, "/groups")
    await bot.telegram.wait_until(
        lambda: bot.platform.simulator.requests[path] == 1, 10, what="/groups reaching the platform"
    )
    bot.telegram.send_command(GROUP, VIEWER, "/whoami")
    bot.telegram.send_command(GROUP, OPERATOR, "/whoami")
    viewer = await bot.telegram.wait_for_text(GROUP, str(VIEWER), 10, since=mark)
    operator = await bot.telegram.wait_for_text(GROUP, "is <b>operator</b>", 10, since=mark)
    groups = await bot.telegram.wait_for_text(GROUP, "agent groups", 10, since=mark)
    assert viewer.seq < groups.seq and operator.seq < groups.seq


async def test_command_menus_show_admin_commands_to_chat_administrators(bot: BotHarness) -> None:
    bot.telegram.set_member_status(GROUP, ADMIN, "administrator")
    member_menu = bot.telegram.menu_for(GROUP, VIEWER)
    admin_menu = bot.telegram.menu_for(GROUP, ADMIN)
    private_menu = bot.telegram.menu_for(OPERATOR, OPERATOR)
    assert {"groups", "newtask", "upload"} <= set(member_menu)
    assert "bind" not in member_menu and "role" not in member_menu
    assert {"bind", "role", "audit", "route", "groups", "newtask"} <= set(admin_menu)
    assert "bind" not in private_menu and {"help", "whoami"} <= set(private_menu)
    # The agent's own commands are where they work: in the private chat only.
    assert {"iam", "pop"} <= set(private_menu) and "iam" not in member_menu + admin_menu


async def test_help_lists_usages_quoting_the_team_rule_and_the_platform_limits(
    bot: BotHarness,
) -> None:
    await bot.bind()
    shown = await bot.say_all(GROUP, OPERATOR, "/help")
    assert "\n".join(info("addagents").forms) in shown and info("newtask").example in shown
    assert "double quotes" in shown and "Teams: each bound chat is a team" in shown
    assert f"call-out rate {limits.CALLOUT_RATE_MIN}–{limits.CALLOUT_RATE_MAX}" in shown
    assert f"{limits.GROUP_NAME_MIN}–{limits.GROUP_NAME_MAX} characters" in shown


async def test_a_prompt_is_aimed_at_whoever_asked_or_pressed(bot: BotHarness) -> None:
    """Request.prompt: a ForceReply that reaches the member, after a command or a button."""

    @command("/asktest", Role.VIEWER)
    async def ask(req: Request) -> None:
        await req.reply("A card", [[("Ask me", "asktest:1")]])
        await req.prompt("Type the <b>rate</b>", "a number")

    @button("asktest", Role.VIEWER)
    async def ask_again(req: Request) -> None:
        await req.toast("")
        await req.prompt("Type the rate", "a number")

    application = bot.service.application
    assert application is not None
    application.add_handler(CommandHandler("asktest", ask), group=-1)
    application.add_handler(CallbackQueryHandler(ask_again, pattern=r"^asktest:"), group=-1)
    await bot.bind()
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, OPERATOR, "/asktest")
    card = await bot.telegram.wait_for_text(GROUP, "A card", 10, since=mark)
    prompt = await bot.telegram.wait_for_text(GROUP, "Type the <b>rate</b>", 10, since=mark)
    assert bot.telegram.force_reply_targets(GROUP, prompt.result["message_id"]) == {OPERATOR}
    await bot.say(GROUP, VIEWER, "/whoami")  # the viewer is known to the bot
    mark = bot.telegram.mark()
    bot.telegram.press_button(GROUP, VIEWER, card.result["message_id"], "asktest:1")
    prompt = await bot.telegram.wait_for_text(GROUP, "Type the rate", 10, since=mark)
    assert bot.telegram.force_reply_targets(GROUP, prompt.result["message_id"]) == {VIEWER}

