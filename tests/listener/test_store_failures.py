"""A push answered 200 that the relay cannot store after all is not dropped silently: the rest of
its batch goes on, it is counted (`ccbot_pushes_failed_total`, `/status`), its body is kept in
`dead_letter` with the reason, and the admins get one notice however many fail.

The database is made to refuse one record with a trigger (the door lets nothing unstorable in
now), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.metrics import REGISTRY
from bot.relay.worker import BatchOutcome, RelayWorker
from bot.status import queue_state
from storage.db import Database
from storage.models import CallRecord, DeadLetter, InboxStatus, OutboxMessage
from tests.listener.conftest import Listener
from tests.relay.conftest import SHANGHAI, TEAM, add_push, bind, call_record, drain, inbox, route

ADMINS = (4242, 4343)
REFUSED_CALLER = "refuse-me"


def refuse_a_caller(database: Database) -> None:
    """The database refuses call records from REFUSED_CALLER, as a constraint would."""
    with database.engine.begin() as conn:
        if database.is_sqlite:
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_caller BEFORE INSERT ON call_record "
                f"WHEN NEW.caller = '{REFUSED_CALLER}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test''s trigger'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_caller() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.caller = '{REFUSED_CALLER}' THEN RAISE EXCEPTION "
                "'refused by the test''s trigger' USING ERRCODE = 'check_violation'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_caller BEFORE INSERT ON call_record "
                "FOR EACH ROW EXECUTE FUNCTION refuse_caller()"
            )


def failed_metric(reason: str) -> float:
    return REGISTRY.get_sample_value("ccbot_pushes_failed_total", {"reason": reason}) or 0.0


def worker(database: Database) -> RelayWorker:
    return RelayWorker(
        database,
        platform_tz=SHANGHAI,
        default_zone=ZoneInfo("UTC"),
        name="t",
        admin_user_ids=ADMINS,
    )


def notices(database: Database) -> list[OutboxMessage]:
    return database.call(
        lambda s: list(
            s.exec(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "notice")
                .order_by(OutboxMessage.id)
            )
        )
    )


async def test_a_push_the_database_refuses_is_counted_kept_and_told_while_its_batch_goes_on(
    listener: Listener,
) -> None:
    database = listener.runtime.database
    bind(database, TEAM, notify_calls="each")
    route(database, "Sales-Team-1", TEAM)
    refuse_a_caller(database)
    before = failed_metric("refused")
    bodies = [
        call_record(callSessionId="s-1"),
        call_record(callSessionId="s-2", caller=REFUSED_CALLER),
        call_record(callSessionId="s-3"),
    ]
    for body in bodies:  # all acknowledged: nothing at the door says the database will refuse
        assert (await listener.post("", body)).status_code == 200
    outcome: BatchOutcome = await asyncio.to_thread(drain, worker(database))

    # The others of the batch were stored and posted.
    assert (outcome.done, outcome.failed) == (2, 1)
    stored = database.call(lambda s: sorted(s.exec(select(CallRecord.call_session_id)).all()))
    assert stored == ["s-1", "s-3"]
    team = database.call(
        lambda s: list(s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == TEAM)))
    )
    assert [m.kind for m in team] == ["call", "call"]
    # Counted, on /metrics and in /status.
    assert failed_metric("refused") == before + 1
    assert 'ccbot_pushes_failed_total{reason="refused"}' in (
        await listener.http.get(f"{listener.base_url}/metrics")
    ).text
    state = database.call(lambda s: queue_state(s, datetime.now(UTC)))
    assert (state.inbox_failed, state.inbox_pending) == (1, 0)
    failed = [row for row in inbox(database) if row.status == InboxStatus.FAILED]
    assert len(failed) == 1 and "refused by the test's trigger" in (failed[0].error or "")
    # Kept as a dead letter, with the body as acknowledged and the reason.
    (dead,) = listener.dead_letters()
    assert json.loads(dead.body) == bodies[1]
    assert dead.path == f"relay: push_inbox #{failed[0].id} (call)"
    assert "the database refused it" in dead.reason and "trigger" in dead.reason
    # Told to each admin, privately, once.
    told = notices(database)
    assert sorted(m.chat_id for m in told) == sorted(ADMINS)
    assert all("1 push could not be stored" in m.text for m in told)
    assert all("dead_letter" in m.text and "ccbot_pushes_failed_total" in m.text for m in told)


async def test_a_thousand_failures_in_an_hour_make_one_notice_per_admin(
    listener: Listener,
) -> None:
    database = listener.runtime.database
    bind(database, TEAM, notify_calls="each")
    before = failed_metric("unreadable")
    for n in range(40):  # rows an older version stored, which do not read as pushes
        add_push(database, "call", f'{{"called": "91{n}"}}')
    outcome = await asyncio.to_thread(drain, worker(database))
    assert outcome.failed == 40
    assert failed_metric("unreadable") == before + 40
    assert len(listener.dead_letters()) == 40
    told = notices(database)
    # One message per admin for the hour, rewritten while it waits to be sent.
    assert sorted(m.chat_id for m in told) == sorted(ADMINS)
    assert all("40 pushes could not be stored" in m.text for m in told)
    assert all("has no callSessionId" in m.text for m in told)
    assert len({m.edit_key for m in told}) == len(ADMINS)


async def test_without_admins_a_failed_push_is_still_counted_and_kept(
    database: Database,
) -> None:
    add_push(database, "ringing", '{"not": "an array"}')
    quiet = RelayWorker(database, platform_tz=SHANGHAI, default_zone=ZoneInfo("UTC"), name="q")
    outcome = await asyncio.to_thread(drain, quiet)
    assert outcome.failed == 1
    assert len(database.call(lambda s: list(s.exec(select(DeadLetter))))) == 1
    assert notices(database) == []
