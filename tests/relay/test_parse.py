"""Stored pushes → typed rows: every field, times in the platform's zone, clear reasons for bad ones."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest

from bot.relay.parse import ParseError, PushKind, parse_push
from bot.relay.push_shapes import check_push
from tests.relay.conftest import call_record, ringing_event, utc

KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30, not the default zone
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_every_field_of_a_ringing_event_is_read_and_its_time_kept_in_utc() -> None:
    body = json.dumps([ringing_event(calledInfo="Priya", extraField={"a": 1}, level=3)])
    parsed = parse_push("ringing", body, KOLKATA)
    assert parsed.kind is PushKind.RINGING and parsed.call is None
    (event,) = parsed.ringing
    v = event.values
    assert v["dedupe_key"] == "250918183554315000287|1344C025cb_001|2025-09-18 18:35:00|1"
    assert v["call_id"] == "250918183554315000287"
    assert v["event_type"] == 1
    assert v["task_id"] == 561235
    assert v["called"] == "919812345210"
    assert v["called_info"] == "Priya"
    assert v["group_name"] == "Sales-Team-1"
    assert v["sip_account"] == "1344C025cb_001"
    assert json.loads(v["no_answer_sip_list"]) == ["1344C025cb_002"]
    # 18:35 in Kolkata is 13:05 UTC.
    assert v["event_at"] == utc(2025, 9, 18, 13, 5)
    assert json.loads(v["extra"]) == {"extraField": {"a": 1}, "level": 3}


def test_the_same_ringing_time_reads_differently_in_the_default_zone() -> None:
    (event,) = parse_push("ringing", json.dumps([ringing_event()]), SHANGHAI).ringing
    assert event.values["event_at"] == utc(2025, 9, 18, 10, 35)


def test_every_field_of_a_call_record_is_read_as_numbers_and_utc_times() -> None:
    parsed = parse_push("call", json.dumps(call_record(surprise="kept")), KOLKATA)
    assert parsed.kind is PushKind.CALL and parsed.ringing == []
    v = parsed.call.values
    assert v["call_session_id"] == "23111713424802472"
    assert v["call_id"] == "23111714122312000001"
    assert v["called"] == "918613237978737" and v["called_digits"] == "918613237978737"
    assert v["called_info"] == "Priya, gold plan"
    assert v["caller"] == "91778800001"
    assert v["ccode"] == "91" and v["ccode_name"] == "India"
    assert v["agent_name"] == "0705C049_053" and v["agent_account"] == "0705C049_053"
    assert v["agent_group_name"] == "Sales-Team-1"
    assert v["call_duration"] == 15 and v["answered"] is True
    assert v["call_type"] == 3
    assert v["hangup_code"] == "200"
    assert v["hangup_reason"] == 3 and v["hanging_direction"] == 1
    assert json.loads(v["labels"]) == ["Intended customers"]
    assert v["base_cost"] == pytest.approx(0.01) and v["cost"] == pytest.approx(0.012)
    assert isinstance(v["cost"], float)
    assert v["remark"] == "March leads"
    assert v["call_start_at"] == utc(2023, 11, 17, 8, 12, 30)
    assert v["answer_at"] == utc(2023, 11, 17, 8, 12, 33)
    assert v["call_end_at"] == utc(2023, 11, 17, 8, 12, 48)
    assert v["voice_url"] == "https://recordings.example.com/23111713424802472.mp3"
    assert json.loads(v["extra"]) == {"surprise": "kept"}


def test_numbers_sent_as_strings_and_blank_strings_are_accepted() -> None:
    record = call_record(
        callSessionId=23111713424802472,
        callDuration="42",
        callType="1",
        hangupReason="0",
        hangingDirection="",
        cost="",
        baseCost=0.5,
        labels="hot, callback",
        called="+91 86132-37978737",
        answerTime="",
        voiceUrl="",
    )
    v = parse_push("call", json.dumps(record), SHANGHAI).call.values
    assert v["call_session_id"] == "23111713424802472"
    assert v["call_duration"] == 42 and v["call_type"] == 1 and v["hangup_reason"] == 0
    assert v["hanging_direction"] is None and v["cost"] is None and v["base_cost"] == 0.5
    assert json.loads(v["labels"]) == ["hot", "callback"]
    assert v["called_digits"] == "918613237978737"
    assert v["answer_at"] is None and v["voice_url"] is None
    (event,) = parse_push(
        "ringing",
        json.dumps([ringing_event(taskId="561235", type="2", noAnswerSipList=None)]),
        SHANGHAI,
    ).ringing
    assert event.values["task_id"] == 561235 and event.values["event_type"] == 2
    assert event.values["no_answer_sip_list"] == "[]"


@pytest.mark.parametrize(
    ("answer_time", "duration", "answered"),
    [
        ("2023-11-17 13:42:33", 15, True),
        ("2023-11-17 13:42:33", 0, True),  # picked up, hung up at once
        (None, 12, True),  # no answerTime sent, but there was talk time
        (None, 0, False),
        ("", 0, False),
    ],
)
def test_a_call_is_answered_when_answer_time_is_present_or_it_has_talk_time(
    answer_time: str | None, duration: int, answered: bool
) -> None:
    record = call_record(answerTime=answer_time, callDuration=duration)
    assert parse_push("call", json.dumps(record), SHANGHAI).call.values["answered"] is answered


def test_iso_times_with_an_offset_are_read_as_they_say() -> None:
    record = call_record(callStartTime="2023-11-17T13:42:30+00:00")
    v = parse_push("call", json.dumps(record), KOLKATA).call.values
    assert v["call_start_at"] == utc(2023, 11, 17, 13, 42, 30)


def test_a_missing_part_of_the_ringing_key_is_an_empty_string() -> None:
    event = ringing_event()
    del event["callinEventTime"]
    del event["type"]
    (parsed,) = parse_push("ringing", json.dumps([event]), SHANGHAI).ringing
    assert parsed.dedupe_key == "250918183554315000287|1344C025cb_001||"
    assert parsed.values["event_at"] is None


def test_several_events_in_one_push_become_several_rows() -> None:
    body = [ringing_event(sipAccount=f"agent_{i}") for i in range(3)]
    parsed = parse_push("ringing", json.dumps(body), SHANGHAI)
    assert [e.values["sip_account"] for e in parsed.ringing] == ["agent_0", "agent_1", "agent_2"]
    assert len({e.dedupe_key for e in parsed.ringing}) == 3


@pytest.mark.parametrize(
    ("kind", "body", "reason"),
    [
        ("ringing", "not json", "The body is not JSON"),
        # Valid JSON syntax that Python's json still refuses (its 4,300-digit integer limit).
        ("call", '{"callSessionId": "s1", "n": ' + "1" * 5000 + "}", "cannot be read as JSON"),
        (
            "ringing",
            json.dumps({"callId": "1"}),
            "The ringing push is an object, not an array",
        ),
        ("ringing", json.dumps([1]), "Ringing event #1 is not a JSON object"),
        (
            "ringing",
            json.dumps([ringing_event(), {"callId": "2"}]),
            "Ringing event #2 has no sipAccount, which is required",
        ),
        (
            "ringing",
            json.dumps([ringing_event(callId=True)]),
            "callId: input should be a valid string",
        ),
        (
            "ringing",
            json.dumps([ringing_event(callId="x" * 65)]),
            "callId: string should have at most 64 characters",
        ),
        (
            "call",
            json.dumps([call_record()]),
            "The call record is an array, not one object",
        ),
        (
            "call",
            json.dumps(call_record(callSessionId=None)),
            "callSessionId: input should be a valid string",
        ),
        ("call", json.dumps({"called": "91"}), "has no callSessionId"),
        ("fax", "{}", "unknown push kind 'fax'"),
        ("ringing", json.dumps([ringing_event(callId="\u200b\u2060")]), "callId is blank"),
        ("call", json.dumps(call_record(callSessionId="\ufeff ")), "callSessionId is blank"),
    ],
)
def test_a_push_that_cannot_be_read_gives_one_line_that_says_why(
    kind: str, body: str, reason: str
) -> None:
    with pytest.raises(ParseError) as caught:
        parse_push(kind, body, SHANGHAI)
    message = str(caught.value)
    assert reason in message, message
    assert "\n" not in message


def test_a_long_wrong_value_is_shortened_in_the_reason() -> None:
    with pytest.raises(ParseError) as caught:
        parse_push("call", json.dumps(call_record(callSessionId="9" * 500 + "x")), SHANGHAI)
    assert len(str(caught.value)) < 200 and "..." in str(caught.value)


def test_a_call_record_stored_under_the_simulators_word_record_is_read_too() -> None:
    parsed = parse_push("record", json.dumps(call_record()), SHANGHAI)
    assert parsed.kind is PushKind.CALL and parsed.call is not None


@pytest.mark.parametrize(
    ("kind", "field", "sent", "reason", "column"),
    [
        ("ringing", "callinEventTime", "yesterday", "not a time", "event_at"),
        ("ringing", "taskId", "abc", "valid integer", "task_id"),
        ("ringing", "taskId", 2**70, "less than or equal to", "task_id"),
        ("ringing", "called", "9" * 65, "at most 64 characters", "called"),
        ("call", "callDuration", "ten", "valid integer", "call_duration"),
        ("call", "callDuration", -5, "greater than or equal to 0", "call_duration"),
        ("call", "cost", "abc", "valid number", "cost"),
        ("call", "cost", "Infinity", "finite number", "cost"),
        ("call", "baseCost", "NaN", "finite number", "base_cost"),
        ("call", "answerTime", "2023-13-45 99:00:00", "not a time", "answer_at"),
        ("call", "agentGroupName", "g" * 129, "at most 128 characters", "agent_group_name"),
        ("call", "agentName", "a" * 129, "at most 128 characters", "agent_name"),
        ("call", "labels", {"a": 1}, "valid list", "labels"),
    ],
)
def test_an_unreadable_optional_field_keeps_the_rest_and_the_value_as_sent(
    kind: str, field: str, sent: object, reason: str, column: str
) -> None:
    """One bad optional field does not cost the whole event or record (it would never be relayed
    nor counted): the row is kept without it, and the value as sent is kept in `extra`."""
    body = [ringing_event(**{field: sent})] if kind == "ringing" else call_record(**{field: sent})
    parsed = parse_push(kind, json.dumps(body), SHANGHAI)
    values = parsed.ringing[0].values if kind == "ringing" else parsed.call.values
    assert values[column] in (None, 0, "[]")  # not the bad value
    unreadable = json.loads(values["extra"])["unreadable"]
    assert unreadable[field]["sent"] == sent and reason in unreadable[field]["reason"]
    good = parse_push(
        kind, json.dumps([ringing_event()] if kind == "ringing" else call_record()), SHANGHAI
    )
    good_values = good.ringing[0].values if kind == "ringing" else good.call.values
    for name, value in good_values.items():  # every other column is what a clean push gives
        if name not in {column, "extra", "answered", "dedupe_key"}:
            assert values[name] == value, name


def test_an_over_long_event_time_is_set_aside_and_the_event_kept_with_a_key_that_fits() -> None:
    """A 44-character callinEventTime once refused the whole ringing push at the door while the
    same value in a call record was set aside; one schema sets both aside."""
    for sent in ("2025-09-18 18:35:00.000000000000000000000000", "9" * 300):
        (event,) = parse_push(
            "ringing", json.dumps([ringing_event(callinEventTime=sent)]), SHANGHAI
        ).ringing
        assert event.values["event_at"] is None and event.values["call_id"]
        assert json.loads(event.values["extra"])["unreadable"]["callinEventTime"]["sent"] == sent
        assert len(event.dedupe_key) <= 256
        again = parse_push("ringing", json.dumps([ringing_event(callinEventTime=sent)]), SHANGHAI)
        assert again.ringing[0].dedupe_key == event.dedupe_key  # a retry is still a duplicate


def test_every_push_the_door_accepts_the_relay_reads_to_the_same_values() -> None:
    bodies = [
        [ringing_event(callinEventTime="x" * 44, taskId="task", noAnswerSipList="a, b")],
        call_record(callDuration="long", labels={"a": 1}, caller="\u0000+91\ud800", odd="\ud83d"),
        [ringing_event(called="\u0000" * 3, seatGroupName="Team\u0000 1")],
    ]
    for body in bodies:
        raw = json.dumps(body).encode()
        accepted = check_push(raw)
        parsed = parse_push(accepted.kind, accepted.text, SHANGHAI)  # never a ParseError
        door = accepted.read.events or [accepted.read.record]
        relay = parsed.ringing or [parsed.call]
        assert len(door) == len(relay)
        for read, row in zip(door, relay, strict=True):
            unreadable = json.loads(row.values["extra"]).get("unreadable", {})
            assert set(read.unreadable) <= set(unreadable)
            for value in row.values.values():
                if isinstance(value, str):  # storable on both databases
                    assert "\x00" not in value
                    value.encode("utf-8")  # no lone surrogate


def test_the_relay_cleans_an_id_an_older_door_stored_with_nul_or_a_lone_surrogate() -> None:
    """The door now refuses such ids; a row stored before is relayed, not lost."""
    body = json.dumps([ringing_event(callId="25\u000009", sipAccount="agent\udc00")])
    (event,) = parse_push("ringing", body, SHANGHAI).ringing
    assert (event.values["call_id"], event.values["sip_account"]) == ("2509", "agent\ufffd")
