"""The push routes over real HTTP: each address and shape, the token, bodies refused at the door,
duplicates, and that a push is in the database when it is answered 200."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from bot.relay.ingest import InboxWriter
from bot.relay.push_shapes import PushKind, read_push
from storage.models import utcnow
from tests.listener.conftest import Listener, call_body, eventually, ringing_body


@pytest.mark.parametrize(
    ("suffix", "make_body", "kind"),
    [
        ("", ringing_body, PushKind.RINGING),
        ("", call_body, PushKind.CALL),
        ("/ringing", ringing_body, PushKind.RINGING),
        ("/calls", call_body, PushKind.CALL),
    ],
)
async def test_each_address_stores_its_push_before_answering_200(
    listener: Listener, suffix, make_body, kind
) -> None:
    body = make_body()
    raw = json.dumps(body, ensure_ascii=False).encode()
    response = await listener.post(suffix, raw)
    assert response.status_code == 200, response.text
    # No wait: 200 means committed.
    rows = listener.inbox_rows()
    assert [(r.kind, r.body, r.status) for r in rows] == [(kind.value, raw.decode(), "pending")]
    assert (rows[0].attempts, rows[0].lease_owner, rows[0].processed_at) == (0, None, None)
    assert abs(rows[0].received_at - utcnow()) < timedelta(minutes=1)  # read back as aware UTC
    assert read_push(PushKind(rows[0].kind), rows[0].body).kind is kind
    assert listener.dead_letters() == []


async def test_a_ringing_push_with_several_events_is_one_inbox_row(listener: Listener) -> None:
    events = ringing_body() + ringing_body(sipAccount="1344C025cb_002", noAnswerSipList=[])
    response = await listener.post("", events)
    assert response.status_code == 200
    rows = listener.inbox_rows()
    assert len(rows) == 1 and json.loads(rows[0].body) == events
    read = read_push(PushKind(rows[0].kind), rows[0].body)
    assert [e.push.sip_account for e in read.events] == [
        "1344C025cb_001",
        "1344C025cb_002",
    ]


async def test_loose_types_and_unknown_fields_are_accepted_and_the_body_is_kept_as_sent(
    listener: Listener,
) -> None:
    raw = (
        '\n  {"callSessionId": 23111713424802472, "callDuration": "15", "callType": "3",'
        ' "hangupReason": "", "cost": 0.012, "calledInfo": {"name": "Asha"},'
        ' "brandNewField": {"x": [1, 2]}, "remark": "caf\u00e9 \u2713"}  '
    ).encode()
    response = await listener.post("/calls", raw)
    assert response.status_code == 200, response.text
    (row,) = listener.inbox_rows()
    assert row.body == raw.decode()  # byte for byte, whitespace included
    read = read_push(PushKind(row.kind), row.body).record
    assert read is not None and read.unreadable == {}
    record = read.push
    assert record.call_session_id == "23111713424802472"
    assert (record.call_duration, record.call_type, record.hangup_reason) == (15, 3, None)
    assert record.cost == 0.012 and record.called_info == '{"name":"Asha"}'
    assert record.model_extra == {"brandNewField": {"x": [1, 2]}}


async def test_a_push_with_the_wrong_token_gets_404_is_counted_and_is_not_stored(
    listener: Listener,
) -> None:
    before = await listener.metric("ccbot_pushes_rejected_total", reason="bad_token")
    for url in (
        listener.push_url(token="wrong-token"),
        listener.push_url("/ringing", token="push-token-for-listener-tests-7f3a9"),  # a prefix
        listener.push_url("/calls", token="push-token-for-listener-tests-7f3a9c0"),  # longer
        listener.push_url(token="%C3%A9t%C3%A9"),  # not ASCII once decoded
    ):
        response = await listener.http.post(url, content=json.dumps(call_body()))
        assert (response.status_code, response.text) == (404, "Not Found"), url
    after = await listener.metric("ccbot_pushes_rejected_total", reason="bad_token")
    assert after - before == 4
    assert listener.inbox_rows() == [] and listener.dead_letters() == []


async def test_without_a_push_token_every_push_is_refused_with_404(start_listener) -> None:
    listener = await start_listener(push_token=None)
    for token in ("", "None", "sandbox"):
        response = await listener.http.post(
            f"{listener.base_url}/push/{token}", content=json.dumps(call_body())
        )
        assert response.status_code == 404
    assert listener.inbox_rows() == []


async def test_duplicate_pushes_are_all_answered_200_and_all_kept_in_the_inbox(
    listener: Listener,
) -> None:
    # The platform retries a push it thinks failed; the relay worker drops the repeats by the
    # UNIQUE keys of its tables. The inbox keeps every copy as it arrived.
    ringing = json.dumps(ringing_body()).encode()
    record = json.dumps(call_body()).encode()
    answers = [await listener.post("", body) for body in (ringing, ringing, record, record, record)]
    assert [a.status_code for a in answers] == [200] * 5
    rows = listener.inbox_rows()
    assert [(r.kind, r.body) for r in rows] == [
        ("ringing", ringing.decode()),
        ("ringing", ringing.decode()),
        ("call", record.decode()),
        ("call", record.decode()),
        ("call", record.decode()),
    ]


REFUSED = [
    # (body, address, reason label, words the one-line reason must contain)
    (b"", "", "not_json", "empty"),
    (b"callSessionId=1&called=91", "", "not_json", "not JSON"),
    (b"\xff\xfe{\x00}", "", "not_json", "not UTF-8"),
    (b'{"callSessionId": "1",', "", "not_json", "not JSON"),
    (b'[{"callId": "1", "sipAccount": "a"}] trailing', "", "not_json", "not JSON"),
    (b'"a string"', "", "bad_shape", "a string, not a push"),
    (b"42", "", "bad_shape", "a number, not a push"),
    (b"null", "", "bad_shape", "null, not a push"),
    (b"[]", "", "bad_shape", "empty array"),
    (b'[1, "x"]', "", "bad_shape", "Ringing event #1 is not a JSON object"),
    (b'[{"sipAccount": "a"}]', "", "bad_shape", "has no callId"),
    (b'[{"callId": "1"}]', "/ringing", "bad_shape", "has no sipAccount"),
    (
        b'[{"callId": "1", "sipAccount": "a"}, {"callId": "2"}]',
        "",
        "bad_shape",
        "Ringing event #2 has no sipAccount",
    ),
    (b"{}", "", "bad_shape", "no callSessionId"),
    (b'{"callId": "1", "called": "91"}', "/calls", "bad_shape", "no callSessionId"),
    (b'{"callSessionId": ["1"]}', "", "bad_types", "callSessionId"),
    (b'{"callSessionId": ""}', "", "bad_types", "callSessionId"),
    (b'[{"callId": {"id": 1}, "sipAccount": "a"}]', "", "bad_types", "callId"),
    (b'[{"callId": "1", "sipAccount": true}]', "", "bad_types", "sipAccount"),
    (b'[{"callId": "' + b"9" * 65 + b'", "sipAccount": "a"}]', "", "bad_types", "callId"),
    # A row needs these ids: blank once spaces and invisible characters are set aside, too long
    # for their column, or holding what cannot be stored exactly (NUL, a lone surrogate).
    (b'[{"callId": "\\u200b\\u2060", "sipAccount": "a"}]', "", "bad_types", "callId is blank"),
    (b'{"callSessionId": "\\ufeff\\u200e "}', "", "bad_types", "callSessionId is blank"),
    (b'{"callSessionId": "' + b"7" * 65 + b'"}', "", "bad_types", "at most 64 characters"),
    (b'[{"callId": "1", "sipAccount": "' + b"s" * 129 + b'"}]', "", "bad_types", "sipAccount"),
    (b'{"callSessionId": "12\\u00003"}', "", "bad_types", "NUL character"),
    (b'[{"callId": "\\ud800", "sipAccount": "a"}]', "", "bad_types", "surrogate"),
    (b'[{"callId": "1", "sipAccount": "\xc2\xa0"}]', "", "bad_types", "sipAccount is blank"),
    (b'{"callSessionId": "   "}', "", "bad_types", "callSessionId is blank"),
    (b'{"callSessionId": 1.5}', "", "bad_types", "callSessionId"),
    (b'{"callSessionId": "1"}', "/ringing", "wrong_address", "send it to /calls"),
    (b'[{"callId": "1", "sipAccount": "a"}]', "/calls", "wrong_address", "send it to /ringing"),
]


@pytest.mark.parametrize(("raw", "suffix", "reason", "words"), REFUSED)
async def test_a_body_that_is_not_a_push_gets_400_with_its_reason_and_is_kept_as_a_dead_letter(
    listener: Listener, raw: bytes, suffix: str, reason: str, words: str
) -> None:
    before = await listener.metric("ccbot_pushes_rejected_total", reason=reason)
    response = await listener.http.post(
        listener.push_url(suffix), content=raw, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert words in error and "\n" not in error and len(error) < 300, error
    (dead,) = listener.dead_letters()
    assert dead.body == raw and dead.reason == error
    assert dead.path == f"/push/{{PUSH_TOKEN}}{suffix}" and dead.content_type == "text/plain"
    assert await listener.metric("ccbot_pushes_rejected_total", reason=reason) == before + 1
    assert listener.inbox_rows() == []  # nothing half-stored


async def test_a_refused_body_does_not_disturb_the_pushes_around_it(listener: Listener) -> None:
    bodies = [call_body(), b"not json", ringing_body(), b"{}", call_body()]
    answers = await asyncio.gather(*(listener.post("", body) for body in bodies))
    assert [a.status_code for a in answers] == [200, 400, 200, 400, 200]
    assert sorted(r.kind for r in listener.inbox_rows()) == ["call", "call", "ringing"]
    assert sorted(d.body for d in listener.dead_letters()) == [b"not json", b"{}"]


async def test_dead_letters_are_bounded_and_the_oldest_go_first(
    start_listener, migrated_url
) -> None:
    inbox = InboxWriter(migrated_url, dead_letter_limit=20, dead_letter_prune_every=5)
    listener = await start_listener(inbox=inbox)
    for n in range(1, 48):
        response = await listener.post("", f"junk {n}".encode())
        assert response.status_code == 400
    kept = [d.body for d in listener.dead_letters()]
    # Pruned with the first body after the start and then every 5: never more than limit + 4.
    assert 20 <= len(kept) <= 24
    assert kept == [f"junk {n}".encode() for n in range(48 - len(kept), 48)]
    response = await listener.post("", call_body())
    assert response.status_code == 200 and len(listener.inbox_rows()) == 1


async def test_the_dead_letter_limit_holds_across_restarts(start_listener, migrated_url) -> None:
    for start in range(3):
        inbox = InboxWriter(migrated_url, dead_letter_limit=10, dead_letter_prune_every=100)
        listener = await start_listener(inbox=inbox)
        for n in range(8):
            assert (await listener.post("", f"run {start} junk {n}".encode())).status_code == 400
        await listener.server.stop()
    # Each start prunes with its first refused body, so restarts cannot pile up rows.
    assert len(listener.dead_letters()) <= 10 + 7


async def test_the_default_dead_letter_limit_is_ten_thousand(migrated_url) -> None:
    inbox = InboxWriter(migrated_url)
    assert (inbox.dead_letter_limit, inbox.dead_letter_prune_every) == (10_000, 100)


async def test_fifty_concurrent_pushes_are_all_acknowledged_and_stored_once_each(
    listener: Listener,
) -> None:
    bodies = [json.dumps(call_body() if n % 2 else ringing_body()).encode() for n in range(50)]
    answers = await asyncio.gather(*(listener.post("", body) for body in bodies))
    assert [a.status_code for a in answers] == [200] * 50
    stored = [r.body for r in listener.inbox_rows()]
    assert sorted(stored) == sorted(b.decode() for b in bodies)


async def test_pushes_waiting_together_share_one_commit(migrated_url) -> None:
    inbox = InboxWriter(migrated_url)
    await inbox.start()
    try:
        bodies = [json.dumps(call_body()) for _ in range(50)]
        await asyncio.gather(*(inbox.store_push(PushKind.CALL, body) for body in bodies))
        assert (inbox.commits, inbox.rows_committed, inbox.largest_batch) == (1, 50, 50)
        await inbox.store_push(PushKind.CALL, json.dumps(call_body()))
        assert inbox.commits == 2
    finally:
        await inbox.stop()


async def test_the_metrics_route_shows_pushes_received_and_commit_latency(
    listener: Listener,
) -> None:
    calls = await listener.metric("ccbot_pushes_received_total", kind="call")
    ringing = await listener.metric("ccbot_pushes_received_total", kind="ringing")
    latencies = await listener.metric("ccbot_push_commit_seconds_count")
    assert (await listener.post("", call_body())).status_code == 200
    assert (await listener.post("", ringing_body())).status_code == 200
    assert (await listener.post("", call_body())).status_code == 200
    assert await listener.metric("ccbot_pushes_received_total", kind="call") == calls + 2
    assert await listener.metric("ccbot_pushes_received_total", kind="ringing") == ringing + 1
    assert await listener.metric("ccbot_push_commit_seconds_count") == latencies + 3
    response = await listener.http.get(f"{listener.base_url}/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=")
    for name in ("ccbot_inbox_depth", "ccbot_outbox_depth", "ccbot_messages_sent_total"):
        assert name in response.text
    assert "push-token-for-listener-tests" not in response.text


async def test_inbox_depth_counts_the_pending_pushes(listener: Listener) -> None:
    for _ in range(3):
        assert (await listener.post("", call_body())).status_code == 200
    assert await listener.metric("ccbot_inbox_depth") == 3


async def test_when_the_database_refuses_the_push_is_answered_503_and_later_pushes_are_stored(
    listener: Listener,
) -> None:
    # A database that does not take the row is no reason to answer 200 (the push would be lost)
    # nor 500: 503 tells the platform to send it again.
    with listener.runtime.database.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE push_inbox RENAME TO push_inbox_away")
    try:
        response = await listener.post("", call_body())
        assert response.status_code == 503
        assert "send it again" in response.json()["error"]
    finally:
        with listener.runtime.database.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE push_inbox_away RENAME TO push_inbox")
    body = call_body()
    assert (await listener.post("", body)).status_code == 200
    assert [json.loads(r.body) for r in listener.inbox_rows()] == [body]


async def test_while_the_database_stalls_pushes_past_the_bound_get_503_at_once_and_the_rest_are_stored(
    start_listener, migrated_url
) -> None:
    listener = await start_listener(inbox=InboxWriter(migrated_url, max_pending_rows=3))
    engine = listener.runtime.database.engine
    blocker = engine.raw_connection()  # holds the write lock: the writer's INSERT waits
    cursor = blocker.cursor()
    if engine.dialect.name == "sqlite":
        cursor.execute("BEGIN IMMEDIATE")
    else:
        cursor.execute("LOCK TABLE push_inbox IN EXCLUSIVE MODE")
    try:
        first = asyncio.create_task(listener.post("", call_body()))
        await eventually(lambda: listener.inbox.committing_rows == 1)  # it waits for the lock
        waiting = [asyncio.create_task(listener.post("", call_body())) for _ in range(3)]
        await eventually(lambda: listener.inbox.waiting_rows == 3)
        overflow = await listener.post("", call_body())
        assert overflow.status_code == 503
        assert "send it again" in overflow.json()["error"]
        assert not first.done() and not any(task.done() for task in waiting)
    finally:
        blocker.rollback()
        blocker.close()
    answers = [await first] + [await task for task in waiting]
    assert [a.status_code for a in answers] == [200] * 4
    assert len(listener.inbox_rows()) == 4


async def test_a_push_that_cannot_get_sqlites_write_lock_in_time_is_answered_503_and_nothing_is_half_stored(
    start_listener, migrated_url, monkeypatch
) -> None:
    listener = await start_listener()
    engine = listener.runtime.database.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock: the inbox writer waits for it itself")
    monkeypatch.setattr("bot.relay.ingest.LOCK_WAIT_S", 0.2)
    blocker = engine.raw_connection()  # holds the write lock until the push is answered
    blocker.cursor().execute("BEGIN IMMEDIATE")
    try:
        refused = await listener.post("", call_body())
    finally:
        blocker.rollback()
        blocker.close()
    assert refused.status_code == 503
    assert "send it again" in refused.json()["error"]
    assert listener.inbox_rows() == []
    # The lock free again, the platform's retry is stored.
    assert (await listener.post("", call_body())).status_code == 200
    assert len(listener.inbox_rows()) == 1


async def test_a_trailing_slash_reaches_the_same_address_and_other_paths_or_methods_are_refused(
    listener: Listener,
) -> None:
    for suffix, body in (
        ("/", call_body()),
        ("/ringing/", ringing_body()),
        ("/calls/", call_body()),
    ):
        assert (await listener.post(suffix, body)).status_code == 200, suffix
    assert len(listener.inbox_rows()) == 3
    bad_token = await listener.metric("ccbot_pushes_rejected_total", reason="bad_token")
    unknown = await listener.post("/records", call_body())
    assert (unknown.status_code, unknown.text) == (404, "Not Found")
    read = await listener.http.get(listener.push_url())
    assert read.status_code == 405 and read.headers["allow"] == "POST"
    # Neither is a wrong token, and nothing was stored or kept.
    assert await listener.metric("ccbot_pushes_rejected_total", reason="bad_token") == bad_token
    assert len(listener.inbox_rows()) == 3 and listener.dead_letters() == []


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (
            b'[{"callId": "1", "sipAccount": "a", "callinEventTime": "' + b"2" * 44 + b'"}]',
            "callinEventTime",
        ),
        (b'[{"callId": "1", "sipAccount": "a", "taskId": "task"}]', "taskId"),
        (b'[{"callId": "1", "sipAccount": "a", "noAnswerSipList": {"a": 1}}]', "noAnswerSipList"),
        (b'{"callSessionId": "1", "callDuration": "long"}', "callDuration"),
        (b'{"callSessionId": "1", "callDuration": 1e20}', "callDuration"),
        (b'{"callSessionId": "1", "labels": {"vip": true}}', "labels"),
        (b'{"callSessionId": "1", "callStartTime": "' + b"2" * 44 + b'"}', "callStartTime"),
        (b'{"callSessionId": "1", "agentGroupName": "' + b"g" * 129 + b'"}', "agentGroupName"),
    ],
)
async def test_an_unreadable_optional_field_is_set_aside_and_the_push_is_answered_200(
    listener: Listener, raw: bytes, field: str
) -> None:
    """The README's promise, the same at the door and in the relay: the push is kept, and the
    value waits in `extra["unreadable"]` (one schema reads both)."""
    response = await listener.post("", raw)
    assert response.status_code == 200, response.text
    (row,) = listener.inbox_rows()
    assert row.body == raw.decode() and listener.dead_letters() == []
    read = read_push(PushKind(row.kind), row.body)
    (item,) = read.events if read.record is None else [read.record]
    assert list(item.unreadable) == [field]
