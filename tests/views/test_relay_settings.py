"""Answers about which groups' events come to a chat and how they are posted there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.views import relay_settings as views
from tests.fakes.telegram import parse_html

HOSTILE = '<b>&"x'
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class Unrouted:
    group_name: str | None
    ringing_events: int
    call_records: int


def test_a_time_shows_its_day_only_when_it_is_not_today_in_the_chats_zone() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    assert views.when(datetime(2025, 3, 1, 10, 0, tzinfo=UTC), kolkata, NOW) == (
        "15:30 (Asia/Kolkata)"
    )
    assert views.when(datetime(2025, 3, 1, 20, 0, tzinfo=UTC), kolkata, NOW) == (
        "01:30 on Sun 02 Mar (Asia/Kolkata)"
    )


def test_the_notify_summary_says_what_is_posted_and_until_when_it_is_muted() -> None:
    html = views.notify_summary(
        ringing=False, calls_words="a digest every 15 minutes", masked=True, muted_until="18:00"
    )
    text, _ = parse_html(html)
    assert text.splitlines() == [
        "Ringing events: off",
        "Call records: a digest every 15 minutes",
        "Callee numbers: masked",
        "🔕 Muted until 18:00: nothing is posted here until then (/unmute ends it now).",
    ]


def test_routing_answers_name_the_group_and_how_to_undo_it() -> None:
    text, _ = parse_html(views.routed("Sales Two", 7, [-100, -200], "Ringing events: on"))
    assert text.startswith("The agent group Sales Two (7) is this team's now:")
    assert "It stays routed to -100, -200 as well.\nRinging events: on\n" in text
    assert text.endswith('stop it with /unroute "Sales Two".')
    text, _ = parse_html(views.routed_already(HOSTILE, 7, []))
    assert text == f"The agent group {HOSTILE} (7) is this team's already."
    text, _ = parse_html(views.unrouted(HOSTILE, 7))
    assert text.endswith(f"/route {HOSTILE} brings them back.")


def test_routes_list_the_chats_groups_and_for_admins_the_unrouted_ones() -> None:
    html = views.routes_list(
        [(HOSTILE, 7, 2)],
        summary="Ringing events: on",
        unrouted_groups=[Unrouted("Night Shift", 3, 0), Unrouted(None, 0, 4)],
    )
    text, _ = parse_html(html)
    assert text.splitlines() == [
        "Agent groups whose events come to this chat (1)",
        f"• {HOSTILE} — id 7 · also in 2 other chat(s)",
        "",
        "Ringing events: on",
        "",
        "Unrouted groups seen in the last 24 hours (stored, posted and counted nowhere)",
        '• Night Shift: 3 ringing event(s) — /route "Night Shift"',
        "• without an agent group, counted in no chat (no task of a bound chat dialled them): "
        "4 call record(s)",
    ]
    text, _ = parse_html(views.routes_list([], summary=None, unrouted_groups=None))
    assert text.startswith("No agent group's events come to this chat yet.")


def test_muting_says_where_the_muted_events_go_and_what_was_withdrawn() -> None:
    text, _ = parse_html(views.muted("18:00 (UTC)", digest_follows=True, withdrawn=1))
    assert "and the first digest after it shows them. The 1 message that was still" in text
    text, _ = parse_html(views.muted("18:00 (UTC)", digest_follows=False, withdrawn=0))
    assert "and the daily summary counts them. /unmute ends it now." in text
