"""Alert episodes: raising one (exactly once), clearing one, and the messages each makes.

An episode is inserted with ON CONFLICT DO NOTHING against two unique keys: (chat, rule, subject,
start), and at most one open episode per (chat, rule, subject). Whoever inserts it (a relay
transaction on any replica, or the scheduler's leader) enqueues its message in the same
transaction; whoever loses the race inserts nothing and says nothing. Clearing is a
compare-and-set on `cleared_at IS NULL`, so the recovery is told once too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

from sqlalchemy import event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from bot.delivery.outbox import OutboxKind, Outgoing
from bot.i18n import _, speaking
from bot.metrics import ALERTS_CLEARED, ALERTS_STARTED
from bot.views import alerts as views
from storage.models import AlertEpisode, AlertSnooze, LiveMessage, table_of

SNOOZE = timedelta(hours=1)


def edit_key(episode_id: int) -> str:
    return f"alert:{episode_id}"


def keyboard(episode_id: int, *, open_: bool) -> str:
    """The alert's buttons (Bot API JSON): all three while it is open, [Show calls] after; their
    labels in the current language (the caller speaks the chat's)."""
    calls = {"text": _(views.CALLS_LABEL), "callback_data": f"al:calls:{episode_id}"}
    if not open_:
        return json.dumps({"inline_keyboard": [[calls]]})
    return json.dumps(
        {
            "inline_keyboard": [
                [
                    {"text": _(views.TAKE_LABEL), "callback_data": f"al:take:{episode_id}"},
                    {"text": _(views.SNOOZE_LABEL), "callback_data": f"al:snooze:{episode_id}"},
                ],
                [calls],
            ]
        }
    )


@dataclass
class Target:
    """A chat an alert goes to: where (its main place), in which zone its times are shown, in
    which language (bot/i18n.py) its texts and buttons are written."""

    chat_id: int
    thread_id: int | None
    zone: tzinfo
    language: str = "en"


@dataclass
class Changes:
    """What one evaluation raised and cleared, counted in /metrics once its transaction commits."""

    started: Counter[str] = field(default_factory=Counter)
    cleared: Counter[str] = field(default_factory=Counter)

    def count_on_commit(self, session: Session) -> None:
        if not self.started and not self.cleared:
            return
        started, cleared = Counter(self.started), Counter(self.cleared)

        def count(_session: Any) -> None:
            for rule, n in started.items():
                ALERTS_STARTED.labels(rule=rule).inc(n)
            for rule, n in cleared.items():
                ALERTS_CLEARED.labels(rule=rule).inc(n)

        event.listen(session, "after_commit", count, once=True)
        self.started.clear()
        self.cleared.clear()


class OpenEpisode(Protocol):
    """An episode's columns as `clear_alert` reads them (an ORM row, or a plain row)."""

    id: int | None
    rule: str
    subject: str
    started_at: datetime
    figures: str
    taken_by_name: str | None
    taken_at: datetime | None


def open_episodes(
    session: Session, chat_ids: Iterable[int], rules: Iterable[str]
) -> dict[tuple[int, str, str], OpenEpisode]:
    """The open episodes of these chats and rules, as plain rows (one query, no ORM objects:
    the relay reads them every batch)."""
    ids, names = list(set(chat_ids)), list(set(rules))
    if not ids or not names:
        return {}
    table = table_of(AlertEpisode).c
    rows = session.execute(
        select(
            table.id,
            table.chat_id,
            table.rule,
            table.subject,
            table.started_at,
            table.figures,
            table.taken_by_name,
            table.taken_at,
        ).where(table.chat_id.in_(ids), table.rule.in_(names), table.cleared_at.is_(None))
    )
    return {(r.chat_id, r.rule, r.subject): r for r in rows}


def snoozed(session: Session, chat_ids: Iterable[int], now: datetime) -> set[tuple[int, str, str]]:
    ids = list(set(chat_ids))
    if not ids:
        return set()
    table = table_of(AlertSnooze).c
    rows = session.execute(
        select(table.chat_id, table.rule, table.subject).where(
            table.chat_id.in_(ids), table.until > now
        )
    )
    return {(r.chat_id, r.rule, r.subject) for r in rows}


def raise_alert(
    session: Session,
    target: Target,
    rule: str,
    subject: str,
    started_at: datetime,
    figures: dict[str, Any],
    now: datetime,
    messages: list[Outgoing],
    changes: Changes,
) -> int | None:
    """Insert the episode; when this transaction is the one that did, enqueue the loud alert with
    its buttons. Returns the episode's id, or None when it already existed."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(AlertEpisode)
    stmt = (
        insert(table)
        .values(
            chat_id=target.chat_id,
            rule=rule,
            subject=subject[:160],
            started_at=started_at,
            raised_at=now,
            figures=json.dumps(figures),
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    episode_id = session.execute(stmt).scalar()
    if episode_id is None:
        return None
    with speaking(target.language):
        text = views.alert_message(
            rule, subject, figures, views.AlertState(started_at=started_at), target.zone
        )
        buttons = keyboard(episode_id, open_=True)
    messages.append(
        Outgoing(
            target.chat_id,
            text,
            OutboxKind.ALERT,
            target.thread_id,
            event_at=now,
            edit_key=edit_key(episode_id),
            reply_markup=buttons,
        )
    )
    changes.started[rule] += 1
    return episode_id


def state_of(
    episode: AlertEpisode, snooze: AlertSnooze | None, snoozed_by: str | None
) -> views.AlertState:
    return views.AlertState(
        started_at=episode.started_at,
        taken_by=episode.taken_by_name,
        taken_at=episode.taken_at,
        snoozed_until=snooze.until if snooze is not None else None,
        snoozed_by=snoozed_by,
        cleared_at=episode.cleared_at,
    )


def clear_alert(
    session: Session,
    episode: OpenEpisode,
    target: Target,
    now: datetime,
    messages: list[Outgoing],
    changes: Changes,
    *,
    turned_off: bool = False,
) -> bool:
    """Mark the episode cleared (compare-and-set) and enqueue the edit of its message and, unless
    the rule was turned off, one short silent note. False when another transaction cleared it.

    The note tells the team, at the bottom of the chat, that an alert further up has recovered.
    When the alert has not been posted yet (it started and cleared within the chat's pacing
    slot), the edit replaces its text before it goes out: it arrives once, already saying "✅
    Recovered at …", and a note would only repeat it."""
    result = session.execute(
        update(AlertEpisode)
        .where(col(AlertEpisode.id) == episode.id, col(AlertEpisode.cleared_at).is_(None))
        .values(cleared_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    assert episode.id is not None
    figures = json.loads(episode.figures or "{}")
    state = views.AlertState(
        started_at=episode.started_at,
        taken_by=episode.taken_by_name,
        taken_at=episode.taken_at,
        cleared_at=now,
        turned_off=turned_off,
    )
    with speaking(target.language):
        text = views.alert_message(episode.rule, episode.subject, figures, state, target.zone)
        buttons = keyboard(episode.id, open_=False)
        note = views.recovered_note(episode.rule, episode.subject)
    messages.append(
        Outgoing(
            target.chat_id,
            text,
            OutboxKind.ALERT_CLEARED,
            target.thread_id,
            event_at=now,
            edit_key=edit_key(episode.id),
            reply_markup=buttons,
        )
    )
    posted = session.get(LiveMessage, edit_key(episode.id)) is not None
    if posted and not turned_off:
        messages.append(
            Outgoing(
                target.chat_id,
                note,
                OutboxKind.ALERT_CLEARED,
                target.thread_id,
                event_at=now,
            )
        )
    changes.cleared[episode.rule] += 1
    return True
