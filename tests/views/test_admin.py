"""/help, /whoami, /role, /audit and the notice that the bot was removed from a chat."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.handlers.catalogue import commands_for
from bot.services.access import Role
from bot.views import admin
from storage.models import AuditEntry
from tests.fakes.telegram import parse_html

HOSTILE = '<b>&"x'


def test_help_lists_each_command_with_its_forms_and_example_then_the_notes() -> None:
    commands = commands_for(Role.VIEWER)
    html = admin.help_message(
        "viewer", situation=None, commands=commands, notes=["Names <with> spaces: quote them."]
    )
    text, _ = parse_html(html)
    blocks = text.split("\n\n")
    assert blocks[0] == "ccbot — you are viewer here."
    first = commands[0]
    assert blocks[1].startswith(f"/{first.name} — {first.description}\n    ")
    assert blocks[1].endswith(f"    e.g. {first.example}")
    assert blocks[-1] == "Names <with> spaces: quote them."


def test_help_says_first_what_to_do_in_a_chat_that_cannot_be_used_yet() -> None:
    html = admin.help_message("nobody", situation="Bind <me> first.", commands=[], notes=[])
    assert parse_html(html)[0] == "ccbot — you are nobody here.\n\nBind <me> first."


def test_whoami_and_role_changes_show_names_literally() -> None:
    text, _ = parse_html(admin.whoami_message(42, "operator", "this chat", -100))
    assert text == "Your Telegram user id is 42; your role in this chat is operator. Chat id: -100."
    text, _ = parse_html(admin.role_changed(HOSTILE, 7, "viewer", "can now only look here"))
    assert text == f"{HOSTILE} (7) is now viewer: can now only look here."


def test_the_audit_lists_who_called_what_and_how_it_ended() -> None:
    row = AuditEntry(
        at=datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC),
        user_id=42,
        chat_id=-100,
        command="/newgroup",
        endpoint="seatGroup/addGroup",
        arguments=json.dumps({"groupName": HOSTILE, "appId": "A1"}),
        result_code="0",
        ok=True,
        duration_ms=35,
    )
    text, _ = parse_html(admin.audit_list([row]))
    assert text == (
        "Last 1 platform calls\n"
        f"✓ 03-01 08:00:05 /newgroup by 42 in -100: seatGroup/addGroup "
        f"(groupName={HOSTILE}, appId=A1) → code 0, 35 ms"
    )


def test_the_removed_from_chat_notice_says_what_stopped_and_what_to_do() -> None:
    text, _ = parse_html(admin.removed_from_chat(HOSTILE, -100, 2, 3))
    assert text.startswith(f"I was removed from the chat {HOSTILE} (-100). I unbound it; 2 agent")
    assert "The 3 message(s) still waiting" in text and text.endswith("in another chat.")
    text, _ = parse_html(admin.removed_from_chat(None, -100, 0, 0))
    assert text.startswith("I was removed from the chat -100 (-100).") and "waiting" not in text
