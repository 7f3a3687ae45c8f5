"""Answers about agent groups and agents: lists, cards, creations and the SIP logins."""

from __future__ import annotations

from bot.laaffic.models import Agent, AgentGroup, AgentQuota, CreatedAgent, GroupSettings
from bot.views import groups
from tests.fakes.telegram import parse_html

HOSTILE = '<b>&"x'


def test_the_group_list_is_sorted_by_name_and_marks_the_groups_whose_events_come_here() -> None:
    shown = [
        AgentGroup(voice_group_id=2, group_name="beta", count_seat=3),
        AgentGroup(voice_group_id=1, group_name=HOSTILE, count_seat=None),
    ]
    html = groups.group_list(shown, everything=False, events_here={2}, hidden=4)
    text, _ = parse_html(html)
    assert text.splitlines() == [
        "This team's agent groups (2)",
        f"• {HOSTILE} — id 1, 0 agent(s)",
        "• beta — id 2, 3 agent(s) · events here",
        "4 more belong to other teams: /groups all lists them.",
    ]


def test_no_groups_says_how_to_create_one_and_tells_admins_about_the_others() -> None:
    text, _ = parse_html(groups.no_groups(any_exist=False, others=None))
    assert text == "There are no agent groups yet. Create one with /newgroup Sales-Team-1."
    text, _ = parse_html(groups.no_groups(any_exist=True, others=5))
    assert text.splitlines()[1] == "5 group(s) belong to other teams: /groups all lists them."


def test_the_group_card_shows_settings_and_the_first_agents() -> None:
    group = AgentGroup(voice_group_id=9, group_name=HOSTILE, app_name="App")
    settings = GroupSettings(
        voice_group_id=9, callin_strategy=1, timeout_transfer_sec=20, encrypt_number=0
    )
    agents = [
        Agent(key_id=i, name=f"a{i}", enable=0, status=2, num=4, connect_num=3) for i in range(3)
    ]
    html = groups.group_card(
        group,
        settings,
        agents,
        AgentQuota(total=10, remaining=7),
        shown=2,
        more_command="/agents x",
    )
    text, _ = parse_html(html)
    lines = text.splitlines()
    assert lines[:4] == [
        f"{HOSTILE} — id 9",
        "Agents: 3 (quota 10, 7 more can be created)",
        "Application: App",
        "Inbound routing: longest idle",
    ]
    assert "Transfer after: 20 s · wrap-up: not set · queue wait: not set" in lines
    assert "• a0 (0): idle, 3/4 calls connected" in lines
    assert lines[-1] == "… and 1 more: /agents x"


def test_the_agent_list_counts_each_state() -> None:
    agents = [
        Agent(key_id=1, name="a", enable=1),
        Agent(key_id=2, name="b", enable=0, status=3),
        Agent(key_id=3, name="c", enable=0, status=3),
    ]
    text, _ = parse_html(groups.agent_list(AgentGroup(voice_group_id=9, group_name="G"), agents))
    assert text.splitlines()[0] == "G: 3 agent(s) — 2 busy, 1 disabled"
    assert text.splitlines()[1] == "• a (1): disabled"


def test_creating_agents_and_their_logins_show_names_literally() -> None:
    created = [CreatedAgent(key_id=1, name=HOSTILE), CreatedAgent(key_id=2, name="b")]
    text, _ = parse_html(
        groups.agents_created("G", created, remaining=3, creds_command='/agentcreds "G"')
    )
    assert text.startswith(f"Created 2 agent(s) in G: {HOSTILE}, b.\n3 more can be created.")
    assert text.endswith('logins privately with /agentcreds "G".')
    logins = [Agent(key_id=1, name="a", account="acc1", password="p<w>")]
    text, _ = parse_html(groups.sip_logins(HOSTILE, logins))
    assert text == f"SIP logins of {HOSTILE} — keep them private.\na: account acc1 password p<w>"
    text, _ = parse_html(groups.no_agents("G", add_command="/addagents G 5"))
    assert text == "The group G has no agents yet. Add some with /addagents G 5."
