"""The relay-side alert rules (unanswered, answer-rate, missed-rings), evaluated in the relay's
transaction over the rows it stored: raised once, not repeated while the condition holds, cleared
with an edit and one silent note, exactly once with a second worker."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.alerts.rules import Rule, save_rule
from bot.relay.worker import RelayWorker
from storage.db import Database
from storage.models import AlertEpisode, AlertSnooze, OutboxMessage, utcnow
from tests.relay.conftest import (
    TEAM,
    add_push,
    bind,
    drain,
    outbox,
    platform_time,
    post_live_messages,
    recent_call,
    ringing_event,
    route,
)

GROUP = "Sales-Team-1"
_ids = iter(range(10**6))


def call(moment, answered: bool, **overrides: Any) -> dict[str, Any]:
    extra = {} if answered else {"answerTime": None, "callDuration": 0}
    body = recent_call(moment, **extra, **overrides)
    body.update(callSessionId=f"s{next(_ids)}", callId=overrides.get("callId", f"c{next(_ids)}"))
    if not answered:
        body["answerTime"] = None
    return body


def team(database: Database) -> None:
    _clock["at"] = utcnow() - timedelta(minutes=10)
    bind(database, TEAM, notify_calls="off", notify_ringing=False)
    route(database, GROUP, TEAM)


def episodes(database: Database) -> list[AlertEpisode]:
    return database.call(lambda s: list(s.exec(select(AlertEpisode).order_by(AlertEpisode.id))))


def alerts(database: Database) -> list[OutboxMessage]:
    return [m for m in outbox(database, TEAM) if m.kind in ("alert", "alert_cleared")]


_clock = {"at": utcnow() - timedelta(minutes=10)}


def relay_calls(database: Database, worker: RelayWorker, answers: list[bool]) -> None:
    """Calls a second apart, each batch after the last (in call-start order)."""
    for answered in answers:
        _clock["at"] += timedelta(seconds=1)
        add_push(database, "call", call(_clock["at"], answered))
    drain(worker)


def test_an_alert_that_recovers_before_it_is_posted_goes_out_once_already_recovered(
    database, worker
) -> None:
    """Five unanswered calls, then an answered one, relayed before the chat's next pacing slot:
    the alert's waiting message is edited to say it recovered, and no note repeats it."""
    team(database)
    relay_calls(database, worker, [False] * 5)
    relay_calls(database, worker, [True])
    kinds = [(m.kind, m.edit_key) for m in alerts(database)]
    (episode,) = episodes(database)
    key = f"alert:{episode.id}"
    assert kinds == [("alert", key), ("alert_cleared", key)]  # one message, its newest text
    assert "✅ Recovered at" in alerts(database)[1].text
    assert not [m for m in outbox(database, TEAM) if "answered a call again" in m.text]


def test_five_unanswered_calls_in_a_row_raise_one_alert_with_buttons(database, worker) -> None:
    team(database)
    relay_calls(database, worker, [True, False, False, False, False])
    assert alerts(database) == []  # four in a row: not yet
    relay_calls(database, worker, [False])
    (alert,) = alerts(database)
    assert alert.kind == "alert" and alert.urgency == 1
    assert "5 calls in a row of the group <b>Sales-Team-1</b> were not answered" in alert.text
    assert "set at 5 in a row" in alert.text
    buttons = [b["text"] for row in json.loads(alert.reply_markup)["inline_keyboard"] for b in row]
    assert buttons == ["I'm on it", "Snooze 1 h", "Show calls"]
    (episode,) = episodes(database)
    assert alert.edit_key == f"alert:{episode.id}" and episode.cleared_at is None


def test_a_growing_streak_is_the_same_alert_and_an_answered_call_clears_it(
    database, worker
) -> None:
    team(database)
    relay_calls(database, worker, [False] * 5)
    relay_calls(database, worker, [False] * 4)  # 9 in a row: still one alert
    assert [m.kind for m in alerts(database)] == ["alert"]
    post_live_messages(database)  # the alert is in the chat
    relay_calls(database, worker, [True])
    kinds = [(m.kind, m.edit_key is not None) for m in alerts(database)]
    assert kinds == [("alert", True), ("alert_cleared", True), ("alert_cleared", False)]
    edit, note = alerts(database)[1:]
    assert "✅ Recovered at" in edit.text and edit.edit_key == alerts(database)[0].edit_key
    assert "answered a call again" in note.text
    (episode,) = episodes(database)
    assert episode.cleared_at is not None
    relay_calls(database, worker, [False] * 5)  # a new streak: a new alert
    assert len(episodes(database)) == 2


def test_a_chat_threshold_and_off_are_followed(database, worker) -> None:
    team(database)
    database.call(lambda s: save_rule(s, TEAM, Rule.UNANSWERED, True, {"calls": 2}, None))
    relay_calls(database, worker, [False, False])
    assert len(alerts(database)) == 1
    relay_calls(database, worker, [True])
    database.call(lambda s: save_rule(s, TEAM, Rule.UNANSWERED, False, None, None))
    relay_calls(database, worker, [False] * 6)
    assert len(episodes(database)) == 1  # off: nothing new


def test_a_snoozed_rule_raises_nothing_for_its_group(database, worker) -> None:
    team(database)
    until = utcnow() + timedelta(hours=1)
    database.call(
        lambda s: s.add(AlertSnooze(chat_id=TEAM, rule="unanswered", subject=GROUP, until=until))
    )
    relay_calls(database, worker, [False] * 6)
    assert [e.rule for e in episodes(database)] == []


def test_the_same_pushes_relayed_by_a_second_worker_raise_nothing_more(database, worker) -> None:
    team(database)
    start = utcnow() - timedelta(minutes=5)
    bodies = [call(start + timedelta(seconds=i), False) for i in range(5)]
    for body in bodies:
        add_push(database, "call", body)
    drain(worker)
    other = RelayWorker(database, platform_tz=worker.platform_tz, default_zone=worker.default_zone)
    for body in bodies:  # the platform retried every push, and another replica relays them
        add_push(database, "call", body)
    drain(other)
    assert len(episodes(database)) == 1 and len(alerts(database)) == 1


def test_an_answer_rate_below_the_threshold_raises_and_recovers_above_it_plus_margin(
    database, worker
) -> None:
    team(database)
    database.call(lambda s: save_rule(s, TEAM, Rule.UNANSWERED, False, None, None))
    # 20 calls, 4 answered: 20 %.
    relay_calls(database, worker, [True, False, False, False, False] * 4)
    (alert,) = alerts(database)
    assert "answered 20% of its calls over the last 15 minutes (4 of 20)" in alert.text
    assert "below the alert's 30%" in alert.text
    post_live_messages(database)
    relay_calls(database, worker, [True] * 6)  # 10 of 26: 38 % ≥ 30 + 5
    assert [m.kind for m in alerts(database)] == ["alert", "alert_cleared", "alert_cleared"]


def test_too_few_calls_never_raise_an_answer_rate_alert(database, worker) -> None:
    team(database)
    database.call(lambda s: save_rule(s, TEAM, Rule.UNANSWERED, False, None, None))
    relay_calls(database, worker, [False, True] * 9)
    assert alerts(database) == []


def ring(call_id: str, sip: str, missed: list[str], at) -> list[dict[str, Any]]:
    return [
        ringing_event(
            callId=call_id,
            sipAccount=sip,
            noAnswerSipList=missed,
            callinEventTime=platform_time(at),
            taskId=None,
            seatGroupName=GROUP,
        )
    ]


def test_an_agent_missing_three_rings_in_a_row_raises_missed_rings(database, worker) -> None:
    team(database)
    start = utcnow() - timedelta(minutes=10)
    for i in range(3):
        at = start + timedelta(minutes=i)
        add_push(database, "ringing", ring(f"m{i}", "agent_7", [], at))
        # The call went on to another agent, who answered: agent_7 missed it.
        add_push(database, "ringing", ring(f"m{i}", "agent_8", ["agent_7"], at))
    drain(worker)
    missed = [m for m in alerts(database) if "Missed rings" in m.text]
    assert len(missed) == 1
    assert "the agent <b>agent_7</b> missed 3 rings in a row" in missed[0].text
    post_live_messages(database)
    # agent_7 answers the next ring: recovered.
    at = start + timedelta(minutes=5)
    add_push(database, "ringing", ring("m9", "agent_7", [], at))
    add_push(
        database,
        "call",
        call(at, True, callId="m9", agentAccount="agent_7", agentGroupName=GROUP),
    )
    drain(worker)
    notes = [m for m in alerts(database) if "answered a ring again" in m.text]
    assert len(notes) == 1


def test_group_calls_no_agent_answered_count_in_their_tasks_group_streak(database, worker) -> None:
    """The platform names no agent group in the record of a group call that no agent answered:
    exactly the calls of a group where nobody picks up. They are its task's group's calls."""
    from storage.models import GroupRoute
    from tests.relay.conftest import add_task

    team(database)
    group_id = database.call(
        lambda s: s.exec(select(GroupRoute.voice_group_id).where(GroupRoute.group_name == GROUP))
        .one()
    )
    add_task(database, 880001, TEAM, task_type=1, voice_group_id=group_id)
    for _ in range(5):
        _clock["at"] += timedelta(seconds=1)
        call_id = f"g{next(_ids)}"
        add_push(database, "ringing", [ringing_event(callId=call_id, taskId=880001)])
        add_push(
            database,
            "call",
            call(_clock["at"], False, callId=call_id, agentGroupName=None, agentName=None),
        )
        drain(worker)
    (alert,) = alerts(database)
    assert "5 calls in a row of the group <b>Sales-Team-1</b> were not answered" in alert.text
