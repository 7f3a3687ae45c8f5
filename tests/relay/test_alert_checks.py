"""The time-based alert rules the scheduler's leader runs: no-pushes and task-stalled for running
tasks, balance for the chats that turned it on. Each raises once, however often it runs, and
clears when the condition is gone."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.alerts.checks import CALLING, check_balance, check_tasks
from bot.alerts.rules import Rule, save_rule
from storage.db import Database
from storage.models import AlertEpisode, OutboxMessage, RingingEvent, utcnow
from tests.relay.conftest import TEAM, add_task, bind, outbox, post_live_messages

UTC = ZoneInfo("UTC")
ADMIN = 1001


def alerts(database: Database, chat_id: int = TEAM) -> list[OutboxMessage]:
    return [m for m in outbox(database, chat_id) if m.kind in ("alert", "alert_cleared")]


def episodes(database: Database) -> list[AlertEpisode]:
    return database.call(lambda s: list(s.exec(select(AlertEpisode).order_by(AlertEpisode.id))))


def running_task(database: Database, minutes_ago: int) -> None:
    bind(database, TEAM)
    add_task(
        database,
        561235,
        TEAM,
        last_status=CALLING,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )


def test_a_running_task_without_pushes_is_told_to_its_chat_and_the_admins_once(database) -> None:
    running_task(database, minutes_ago=12)
    database.call(lambda s: save_rule(s, TEAM, Rule.TASK_STALLED, False, None, None))
    for _ in range(2):  # the leader's minute, twice: one alert
        database.call(lambda s: check_tasks(s, utcnow(), UTC, [ADMIN]))
    (alert,) = alerts(database)
    assert "task <b>561235</b> is running, but no ringing event or call record" in alert.text
    assert "for 12 minutes" in alert.text and json.loads(alert.reply_markup)
    (copy,) = outbox(database, ADMIN)
    assert copy.kind == "alert" and "Told to the team chat" in copy.text
    post_live_messages(database)
    # A push comes: recovered.
    event = RingingEvent(dedupe_key="k", task_id=561235, received_at=utcnow(), event_at=utcnow())
    database.call(lambda s: s.add(event))
    database.call(lambda s: check_tasks(s, utcnow(), UTC, [ADMIN]))
    assert [m.kind for m in alerts(database)] == ["alert", "alert_cleared", "alert_cleared"]


def test_a_young_task_raises_nothing_yet(database) -> None:
    running_task(database, minutes_ago=3)
    database.call(lambda s: check_tasks(s, utcnow(), UTC, [ADMIN]))
    assert alerts(database) == []


def test_a_running_task_whose_card_did_not_change_is_stalled_and_clears_when_it_ends(
    database,
) -> None:
    running_task(database, minutes_ago=20)
    database.call(lambda s: save_rule(s, TEAM, Rule.NO_PUSHES, False, None, None))
    database.call(lambda s: check_tasks(s, utcnow(), UTC, []))
    (alert,) = alerts(database)
    assert "its progress has not changed for 20 minutes" in alert.text
    # The task completed: its alert clears.
    from storage.models import CallTask

    def complete(session):  # noqa: ANN001, ANN202
        session.get(CallTask, 561235).last_status = 12

    database.call(complete)
    database.call(lambda s: check_tasks(s, utcnow(), UTC, []))
    (episode,) = episodes(database)
    assert episode.cleared_at is not None


def test_the_balance_rule_is_off_until_a_chat_sets_an_amount(database) -> None:
    bind(database, TEAM)
    database.call(lambda s: check_balance(s, Decimal("5"), utcnow(), UTC))
    assert alerts(database) == []
    database.call(lambda s: save_rule(s, TEAM, Rule.BALANCE, True, {"amount": 100}, None))
    for _ in range(2):
        database.call(lambda s: check_balance(s, Decimal("80.5"), utcnow(), UTC))
    (alert,) = alerts(database)
    assert "the account balance is 80.50, below the alert's 100.00" in alert.text
    post_live_messages(database)
    database.call(lambda s: check_balance(s, Decimal("150"), utcnow(), UTC))
    assert len(alerts(database)) == 3 and episodes(database)[0].cleared_at is not None


def test_a_chinese_team_reads_its_alert_in_chinese_and_each_admin_in_their_own_language(
    database,
) -> None:
    bind(database, TEAM, language="zh")
    add_task(
        database, 561235, TEAM, last_status=CALLING, created_at=utcnow() - timedelta(minutes=12)
    )
    bind(database, ADMIN + 1, language="zh")  # the second admin's private chat is in Chinese
    database.call(lambda s: save_rule(s, TEAM, Rule.TASK_STALLED, False, None, None))
    database.call(lambda s: check_tasks(s, utcnow(), UTC, [ADMIN, ADMIN + 1]))
    (alert,) = alerts(database)
    assert "无推送告警" in alert.text and "外呼任务 <b>561235</b>" in alert.text
    labels = [b["text"] for row in json.loads(alert.reply_markup)["inline_keyboard"] for b in row]
    assert labels == ["我来处理", "暂停提醒 1 小时", "查看通话"]
    (english,) = outbox(database, ADMIN)
    assert "No pushes" in english.text and "Told to the team chat" in english.text
    (chinese,) = outbox(database, ADMIN + 1)
    assert "无推送告警" in chinese.text and "已通知团队群" in chinese.text
    post_live_messages(database)
    event = RingingEvent(dedupe_key="k", task_id=561235, received_at=utcnow(), event_at=utcnow())
    database.call(lambda s: s.add(event))
    database.call(lambda s: check_tasks(s, utcnow(), UTC, [ADMIN]))
    edited, note = alerts(database)[1:]
    assert "已于" in edited.text and "恢复" in edited.text
    assert "✅ 已恢复：外呼任务 <b>561235</b> 的推送重新到达" in note.text
