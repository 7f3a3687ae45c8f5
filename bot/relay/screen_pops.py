"""The relay's side of the screen pop: new ringing events and call records → private messages to
the agents whose SIP accounts they name, written in the relay's transaction (exactly once).

- A ring on a linked account that pops now (`agent_links.pop_targets`: the agent's own account,
  in the linked group, every condition still holding) becomes a `PopRing` with what the agent
  needs before answering: the callee's row of the task's number file (`task_callee`, by task and
  number: its primary key) or the push's calledInfo, the task's remark, and the callee's last
  three calls counted in the linking team's chat. It is written in the agent's private chat's
  language (`agent_links.private_languages`), its times in the linking team chat's zone.
- One agent's rings that come faster than a private chat takes messages merge: while the
  agent's newest pop still waits unsent, its outbox row is taken back (compare-and-set on
  `pending`, so a pop the sender has claimed is never changed under it) and one row showing
  every ring, newest first, takes its place. The newest ring is therefore in the next message,
  never behind older ones.
- A later ring of the call that lists the agent in noAnswerSipList, and the call's record, edit
  the pop (edit_key "pop:<id>", after any new pop waiting for that agent); a pop still unsent is
  replaced instead, so it goes out once, already up to date.

Anything unexpected in one push (no call id, a number no file knows, 60 KB of calledInfo) is
shown safely or not at all; nothing here raises for a push's content.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.config import chat_zone
from bot.delivery.outbox import OutboxKind, Outgoing
from bot.i18n import speaking
from bot.relay.agent_links import POP_KINDS, PopTarget, pop_key, pop_targets, private_languages
from bot.views.screen_pops import EarlierCall, PopRingView, RingOutcome, pop_text
from storage.models import (
    CallChat,
    CallRecord,
    CallTask,
    OutboxMessage,
    OutboxStatus,
    PopRing,
    RingingEvent,
    ScreenPop,
    TaskCallee,
    json_strings,
    table_of,
)

log = logging.getLogger(__name__)

HISTORY_SHOWN = 3
CALLED_INFO_KEPT = 2_000  # characters of a push's calledInfo kept with the ring (shown: fewer)


def relay_screen_pops(
    session: Session,
    events: list[RingingEvent],
    calls: list[CallRecord],
    now: datetime,
    messages: list[Outgoing],
    default_zone: tzinfo,
) -> int:
    """Pops and pop edits for the batch's new events and records, put at the front of
    `messages` (a ringing phone before the team chats' messages). Returns how many.

    In a savepoint: whatever goes wrong here costs the batch its pops, never its relay."""
    try:
        with session.begin_nested():
            pops = _relay(session, events, calls, now, default_zone)
    except Exception:
        log.exception("screen pops of a relay batch failed; the batch is relayed without them")
        return 0
    messages[:0] = pops
    return len(pops)


def _relay(
    session: Session,
    events: list[RingingEvent],
    calls: list[CallRecord],
    now: datetime,
    default_zone: tzinfo,
) -> list[Outgoing]:
    rings_by_call = _rings_of_calls(
        session,
        [e.call_id for e in events if e.call_id and _missed(e)]
        + [c.call_id for c in calls if c.call_id],
    )
    accounts = {e.sip_account for e in events if e.sip_account}
    accounts |= {ring.sip_account for rings in rings_by_call.values() for ring in rings}
    accounts |= {sip for e in events for sip in _missed(e)}
    targets = pop_targets(session, accounts)
    if not targets:
        return []
    touched: set[int] = set()
    fresh: set[int] = set()  # pops whose first message is still to send
    _new_rings(session, events, targets, now, touched, fresh, rings_by_call)
    _missed_rings(session, events, rings_by_call, touched)
    _ended_calls(session, calls, rings_by_call, touched)
    return _render(session, touched, fresh, targets, now, default_zone)


# ---- what happened ---------------------------------------------------------------------------


def _missed(event: RingingEvent) -> list[str]:
    listed = json_strings(event.no_answer_sip_list, skip_empty=True)
    return [sip for sip in listed if sip != event.sip_account][:200]


def _rings_of_calls(session: Session, call_ids: list[str]) -> dict[str, list[PopRing]]:
    wanted = sorted(set(call_ids))
    if not wanted:
        return {}
    found: dict[str, list[PopRing]] = {}
    for ring in session.exec(select(PopRing).where(col(PopRing.call_id).in_(wanted))):
        found.setdefault(ring.call_id, []).append(ring)
    return found


def _new_rings(
    session: Session,
    events: list[RingingEvent],
    targets: dict[str, PopTarget],
    now: datetime,
    touched: set[int],
    fresh: set[int],
    rings_by_call: dict[str, list[PopRing]],
) -> None:
    """The batch's rings on accounts that pop, in a fixed number of statements whatever the
    batch holds (a storm of 50 agents ringing at once is one relay batch)."""
    popping = [
        (event, targets[event.sip_account])
        for event in events
        if event.sip_account in targets and targets[event.sip_account].rings_for(event.group_name)
    ]
    if not popping:
        return
    facts = _facts(session, popping)
    pop_of_user = _open_pops(session, {t.link.user_id for _, t in popping}, now, fresh)
    rows = [
        {
            "pop_id": pop_of_user[target.link.user_id],
            "user_id": target.link.user_id,
            "call_id": event.call_id or f"event:{event.id}",
            "sip_account": target.link.sip_account,
            "event_at": event.event_at,
            "received_at": event.received_at,
            "facts": json.dumps(fact, ensure_ascii=False, default=str),
            "outcome": None,
        }
        for (event, target), fact in zip(popping, facts, strict=True)
    ]
    for ring in _insert_rings(session, rows):
        touched.add(ring.pop_id)
        rings_by_call.setdefault(ring.call_id, []).append(ring)
    # A pop whose waiting message was taken back is sent again even if no ring was new.
    touched |= {pop for pop in pop_of_user.values() if pop in fresh}


def _open_pops(
    session: Session, users: set[int], now: datetime, fresh: set[int]
) -> dict[int, int]:
    """The pop each user's new rings go into: their newest one while its message still waits
    unsent (taken back here, to be sent again with the new rings), else a new one."""
    latest = dict(
        session.exec(
            select(ScreenPop.user_id, func.max(ScreenPop.id))
            .where(col(ScreenPop.user_id).in_(users))
            .group_by(col(ScreenPop.user_id))
        ).all()
    )
    reopened = _take_back(session, {p for p in latest.values() if p is not None}, new_only=True)
    chosen = {user: pop for user, pop in latest.items() if pop in reopened}
    missing = sorted(users - set(chosen))
    if missing:
        stmt = (
            insert(table_of(ScreenPop))
            .returning(table_of(ScreenPop).c.id, table_of(ScreenPop).c.user_id)
        )
        created = session.execute(
            stmt, [{"user_id": user, "created_at": now} for user in missing]
        ).all()
        chosen.update({user: pop_id for pop_id, user in created})
    fresh.update(chosen.values())
    return chosen


def _take_back(session: Session, pop_ids: set[int], *, new_only: bool) -> dict[int, set[str]]:
    """pending → withdrawn for these pops' waiting rows (their unsent first message only, or
    their edits too): {pop: kinds of the rows taken back}, for the pops the sender had not
    taken yet (compare-and-set on the status)."""
    if not pop_ids:
        return {}
    kinds = (OutboxKind.SCREEN_POP.value,) if new_only else POP_KINDS
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.edit_key).in_([pop_key(p) for p in pop_ids]),
            col(OutboxMessage.status) == OutboxStatus.PENDING.value,
            col(OutboxMessage.kind).in_(kinds),
        )
        .values(status=OutboxStatus.WITHDRAWN.value, error="withdrawn: replaced by a newer version")
        .returning(col(OutboxMessage.edit_key), col(OutboxMessage.kind))
        .execution_options(synchronize_session=False)
    )
    taken: dict[int, set[str]] = {}
    for key, kind in result:
        taken.setdefault(int(str(key).split(":", 1)[1]), set()).add(kind)
    return taken


def _insert_rings(session: Session, rows: list[dict[str, Any]]) -> list[PopRing]:
    """INSERT … ON CONFLICT DO NOTHING: one ring per call, account and user however often the
    platform sends it; returns the rings that were new."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(PopRing)
    stmt = dialect_insert(table).on_conflict_do_nothing().returning(
        table.c.id, table.c.call_id, table.c.sip_account, table.c.user_id
    )
    new = {(c, sip, u): i for i, c, sip, u in session.execute(stmt, rows)}
    rings = []
    for row in rows:
        ring_id = new.pop((row["call_id"], row["sip_account"], row["user_id"]), None)
        if ring_id is not None:
            rings.append(PopRing(id=ring_id, **row))
    return rings


def _missed_rings(
    session: Session,
    events: list[RingingEvent],
    rings_by_call: dict[str, list[PopRing]],
    touched: set[int],
) -> None:
    for event in events:
        missed = set(_missed(event))
        if not missed or not event.call_id:
            continue
        for ring in rings_by_call.get(event.call_id, []):
            if ring.sip_account not in missed:
                continue
            outcome = _outcome_of(ring)
            if outcome.get("missed") or outcome.get("ended"):
                continue
            outcome.update(missed=True, rang_next=event.sip_account)
            _save_outcome(session, ring, outcome, touched)


def _ended_calls(
    session: Session,
    calls: list[CallRecord],
    rings_by_call: dict[str, list[PopRing]],
    touched: set[int],
) -> None:
    for record in calls:
        if not record.call_id:
            continue
        agent = record.agent_account or record.agent_name
        for ring in rings_by_call.get(record.call_id, []):
            outcome = _outcome_of(ring)
            outcome.update(
                ended=True,
                answered=bool(record.answered),
                agent=agent or None,
                talk_seconds=max(int(record.call_duration or 0), 0),
                hangup_reason=record.hangup_reason,
                voice_url=record.voice_url,
            )
            _save_outcome(session, ring, outcome, touched)


def _outcome_of(ring: PopRing) -> dict[str, Any]:
    try:
        value = json.loads(ring.outcome or "{}")
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


def _save_outcome(
    session: Session, ring: PopRing, outcome: dict[str, Any], touched: set[int]
) -> None:
    ring.outcome = json.dumps(outcome, ensure_ascii=False)
    session.execute(
        update(PopRing)
        .where(col(PopRing.id) == ring.id)
        .values(outcome=ring.outcome)
        .execution_options(synchronize_session=False)
    )
    touched.add(ring.pop_id)


# ---- what the agent is shown -----------------------------------------------------------------


def _facts(
    session: Session, popping: list[tuple[RingingEvent, PopTarget]]
) -> list[dict[str, Any]]:
    """What each ring shows, looked up for the whole batch at once."""
    digits = {id(event): _digits(event.called) for event, _ in popping}
    tasks = {event.task_id for event, _ in popping if event.task_id is not None}
    pairs = {(event.task_id, digits[id(event)]) for event, _ in popping if event.task_id}
    info = _callee_info(session, pairs)
    remarks = _remarks(session, tasks)
    history = _history(
        session, {(digits[id(e)], t.link.chat_id) for e, t in popping if digits[id(e)]}
    )
    facts = []
    for event, target in popping:
        number = digits[id(event)]
        row_info = info.get((event.task_id, number)) if event.task_id else None
        facts.append(
            {
                "called": event.called,
                "group_name": event.group_name,
                "task_id": event.task_id,
                "remark": remarks.get(event.task_id) if event.task_id else None,
                "info": row_info or [],
                "called_info": None if row_info else (event.called_info or "")[:CALLED_INFO_KEPT],
                "history": history.get((number, target.link.chat_id), []),
            }
        )
    return facts


def _digits(number: str | None) -> str:
    return "".join(ch for ch in (number or "") if "0" <= ch <= "9")[:32]


def _callee_info(
    session: Session, pairs: Iterable[tuple[int | None, str]]
) -> dict[tuple[int | None, str], list[list[str]]]:
    """The number file's row of each (task, number), its columns in file order (primary key)."""
    wanted = {(t, d) for t, d in pairs if t is not None and d}
    if not wanted:
        return {}
    rows = session.exec(
        select(TaskCallee.task_id, TaskCallee.callee_digits, TaskCallee.info).where(
            col(TaskCallee.task_id).in_({t for t, _ in wanted}),
            col(TaskCallee.callee_digits).in_({d for _, d in wanted}),
        )
    )
    found: dict[tuple[int | None, str], list[list[str]]] = {}
    for task_id, number, raw in rows:
        if (task_id, number) not in wanted:
            continue
        try:
            value = json.loads(raw or "{}")
        except ValueError:
            continue
        if isinstance(value, dict):
            found[(task_id, number)] = [[str(k), str(v)] for k, v in value.items() if str(v)]
    return found


def _remarks(session: Session, tasks: Iterable[int | None]) -> dict[int, str | None]:
    wanted = {t for t in tasks if t is not None}
    if not wanted:
        return {}
    rows = session.exec(
        select(CallTask.task_id, CallTask.remark).where(col(CallTask.task_id).in_(wanted))
    )
    return {task_id: remark for task_id, remark in rows}


def _history(
    session: Session, wanted: set[tuple[str, int]]
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """The last calls of each (number, team chat): records of the number counted in that chat,
    newest first (ix_call_record_called_digits, then the chat's rows by primary key)."""
    if not wanted:
        return {}
    numbers = {n for n, _ in wanted}
    chats = {c for _, c in wanted}
    place = (
        func.row_number()
        .over(
            partition_by=(col(CallRecord.called_digits), col(CallChat.chat_id)),
            order_by=(col(CallRecord.call_start_at).desc(), col(CallRecord.id).desc()),
        )
        .label("place")
    )
    ranked = (
        core_select(
            col(CallRecord.called_digits).label("number"),
            col(CallChat.chat_id).label("chat_id"),
            col(CallRecord.call_start_at).label("at"),
            col(CallRecord.answered).label("answered"),
            col(CallRecord.call_duration).label("talk"),
            col(CallRecord.agent_name).label("agent"),
            place,
        )
        .join(CallChat, col(CallChat.call_record_id) == col(CallRecord.id))
        .where(col(CallRecord.called_digits).in_(numbers), col(CallChat.chat_id).in_(chats))
        .subquery()
    )
    found: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in session.execute(
        core_select(ranked).where(ranked.c.place <= HISTORY_SHOWN).order_by(ranked.c.place)
    ):
        key = (row.number, row.chat_id)
        if key in wanted:
            found.setdefault(key, []).append(
                {
                    "at": row.at.isoformat() if row.at else None,
                    "answered": bool(row.answered),
                    "talk": int(row.talk or 0),
                    "agent": row.agent,
                }
            )
    return found


def _render(
    session: Session,
    touched: set[int],
    fresh: set[int],
    targets: dict[str, PopTarget],
    now: datetime,
    default_zone: tzinfo,
) -> list[Outgoing]:
    if not touched:
        return []
    rings: dict[int, list[PopRing]] = {}
    for ring in session.exec(
        select(PopRing).where(col(PopRing.pop_id).in_(touched)).order_by(col(PopRing.id).desc())
    ):
        rings.setdefault(ring.pop_id, []).append(ring)
    visible = {
        pop_id: [
            ring
            for ring in rings.get(pop_id, [])
            if ring.sip_account in targets and targets[ring.sip_account].link.user_id == ring.user_id
        ]
        for pop_id in sorted(touched)
    }
    # Still this agent's to see (not unlinked, shut out, unrouted): its waiting versions go.
    withdrawn = _take_back(session, {p for p, shown in visible.items() if shown}, new_only=False)
    languages = private_languages(session, {s[0].user_id for s in visible.values() if s})
    out = []
    for pop_id, shown in visible.items():
        if not shown:
            continue
        new_message = pop_id in fresh or OutboxKind.SCREEN_POP.value in withdrawn.get(pop_id, ())
        zone = chat_zone(targets[shown[0].sip_account].chat, default_zone)
        with speaking(languages.get(shown[0].user_id)):  # the agent's private chat's language
            text = pop_text([_view(ring) for ring in shown], zone, now)
        kind = OutboxKind.SCREEN_POP if new_message else OutboxKind.SCREEN_POP_OUTCOME
        out.append(
            Outgoing(
                shown[0].user_id, text, kind, event_at=shown[0].event_at, edit_key=pop_key(pop_id)
            )
        )
    return out


def _view(ring: PopRing) -> PopRingView:
    facts = _loads(ring.facts)
    outcome = _loads(ring.outcome) if ring.outcome else None
    return PopRingView(
        sip_account=ring.sip_account,
        called=_text(facts.get("called")),
        group_name=_text(facts.get("group_name")),
        task_id=facts.get("task_id") if isinstance(facts.get("task_id"), int) else None,
        remark=_text(facts.get("remark")),
        info=[(str(k), str(v)) for k, v in _pairs(facts.get("info"))],
        called_info=_text(facts.get("called_info")),
        history=[_earlier(item) for item in facts.get("history") or [] if isinstance(item, dict)],
        event_at=ring.event_at,
        outcome=_outcome_view(outcome) if outcome else None,
    )


def _outcome_view(value: dict[str, Any]) -> RingOutcome:
    known = set(RingOutcome.__dataclass_fields__)
    return RingOutcome(**{k: v for k, v in value.items() if k in known})


def _earlier(item: dict[str, Any]) -> EarlierCall:
    at = item.get("at")
    return EarlierCall(
        at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        answered=bool(item.get("answered")),
        talk_seconds=int(item.get("talk") or 0),
        agent=_text(item.get("agent")),
    )


def _pairs(value: object) -> Iterable[tuple[object, object]]:
    if not isinstance(value, list):
        return []
    return [(p[0], p[1]) for p in value if isinstance(p, list) and len(p) == 2]


def _loads(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return None if value is None else str(value)

