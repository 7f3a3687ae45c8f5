"""The models read the platform's answers tolerantly, as the docs leave much open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.laaffic.errors import InvalidRequest
from bot.laaffic.limits import CALLOUT_RATE_MAX, REMARK_MAX
from bot.laaffic.models import (
    Agent,
    AgentGroup,
    Balance,
    Envelope,
    GroupSettings,
    Page,
    ResendTaskRequest,
    SubmitTaskRequest,
    Task,
    TaskNumber,
    TaskSettings,
    TaskStatus,
    TaskType,
    format_platform_time,
    parse_platform_time,
    read_answer,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("status", ["0", 0, " 0"])
def test_envelope_success_as_string_or_number(status: object) -> None:
    assert Envelope.model_validate({"status": status, "reason": "success", "data": None}).ok


def test_envelope_failure_keeps_code_as_string() -> None:
    env = Envelope.model_validate({"status": -16, "reason": "timestamp expires"})
    assert not env.ok and env.status == "-16" and env.data is None


def test_group_page_from_the_docs_sample() -> None:
    page = Page[AgentGroup].model_validate(
        {"total": 5, "size": 20, "current": 1, "pages": 1,
         "records": [{"voiceGroupId": 1000037, "callinStrategy": 4, "countSeat": 4,
                      "groupName": "groupName12", "appName": "appName---test-C782-3", "new": 1}]}
    )  # fmt: skip
    group = page.records[0]
    assert (group.voice_group_id, group.group_name, group.count_seat) == (1000037, "groupName12", 4)
    assert page.total == 5 and page.pages == 1


def test_page_with_null_records_and_string_numbers() -> None:
    page = Page[AgentGroup].model_validate(
        {"total": "0", "size": "100", "current": "1", "pages": "0", "records": None}
    )
    assert page.records == [] and page.size == 100


def test_group_settings_accept_seat_group_id_and_blank_numbers() -> None:
    settings = GroupSettings.model_validate(
        {"seatGroupId": 5000048, "groupName": "call-center-group12", "callinStrategy": 4,
         "timeoutTransferSec": 45, "callinAutoAnswerSec": None, "wrapUpTime": "20",
         "timeoutIdle": "", "timeoutWaitSec": 60, "labelName": None, "displaySwitch": "0"}
    )  # fmt: skip
    assert settings.voice_group_id == 5000048
    assert settings.wrap_up_time == 20 and settings.timeout_idle is None
    assert settings.label_name == [] and settings.display_switch == 0
    assert GroupSettings.model_validate({"voiceGroupId": 7}).voice_group_id == 7


def test_agent_tolerates_numbers_as_strings_and_hides_password() -> None:
    agent = Agent.model_validate(
        {"keyId": "12", "name": "1344C025cb_001", "empNo": 7, "enable": "0", "status": 2,
         "voiceGroupId": "1000001", "password": "Pa55word", "ccode": 91, "connectRate": "45.5%",
         "deleteFlag": 0, "whatever": {"x": 1}}
    )  # fmt: skip
    assert agent.key_id == 12 and agent.emp_no == "7" and agent.ccode == "91"
    assert agent.voice_group_id == 1000001 and agent.is_enabled and agent.connect_rate == 45.5
    assert "Pa55word" not in repr(agent) and agent.password == "Pa55word"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([1000006], [1000006]),
        (1000006, [1000006]),
        ("1000006,1000007", [1000006, 1000007]),
        (None, []),
    ],
)
def test_task_voice_group_id_as_list_or_number(raw: object, expected: list[int]) -> None:
    assert Task.model_validate({"taskId": 1, "voiceGroupId": raw}).voice_group_ids == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("45.50", 45.5), (0.5, 0.5), ("80%", 80.0), ("", None), ("n/a", None)]
)
def test_task_completed_rate_as_string_or_number(raw: object, expected: float | None) -> None:
    assert Task.model_validate({"taskId": 1, "completedRate": raw}).completed_rate == expected


def test_task_status_known_and_unknown() -> None:
    task = Task.model_validate(
        {"taskId": "5017560", "taskStatus": "11", "taskType": 1, "finishFlag": 0}
    )
    assert task.task_status is TaskStatus.CALLING and task.status_label == "calling"
    assert task.task_type is TaskType.AGENT_GROUP_CALL and not task.is_finished
    odd = Task.model_validate({"taskId": 1, "taskStatus": 99})
    assert odd.task_status == 99 and odd.status_label == "status 99"
    assert (
        TaskStatus.CANCELLED.label == "cancelled"
        and TaskStatus.SUBMIT_FAILED.label == "submission failed"
    )


def test_task_number_collects_var_columns() -> None:
    row = TaskNumber.model_validate(
        {"keyId": 1, "encryptCalled": "9198****01", "status": 9, "callCount": "2",
         "var02": "Gold", "var01": "Asha", "var03": None, "variable": "no"}
    )  # fmt: skip
    assert row.extra == {"var01": "Asha", "var02": "Gold", "var03": ""}
    assert row.call_count == 2.0


def test_platform_times_are_read_in_the_platform_zone_as_aware_utc() -> None:
    task = Task.model_validate({"taskId": 1, "createTime": "2023-11-17 13:42:30"})
    assert task.create_time == datetime(2023, 11, 17, 5, 42, 30, tzinfo=UTC)
    assert task.create_time.utcoffset() == timedelta(0)
    # The zone comes from the caller (PLATFORM_TIMEZONE); without one, the documented UTC+8.
    kolkata = read_answer(Task, {"taskId": 1, "createTime": "2023-11-17 13:42:30"}, ZoneInfo("Asia/Kolkata"))
    assert kolkata.create_time == datetime(2023, 11, 17, 8, 12, 30, tzinfo=UTC)


def test_a_time_the_bot_cannot_read_counts_as_missing(caplog: pytest.LogCaptureFixture) -> None:
    page = read_answer(
        Page[Task],
        {"records": [{"taskId": 1, "createTime": "0000-00-00 00:00:00"},
                     {"taskId": 2, "createTime": "2025-01-08 08:00:00"}]},
        SHANGHAI,
    )  # fmt: skip
    assert [t.create_time for t in page.records] == [None, datetime(2025, 1, 8, tzinfo=UTC)]
    assert "0000-00-00 00:00:00" in caplog.text


def test_balance_as_decimal_from_strings() -> None:
    balance = Balance.model_validate({"balance": "100.0200", "gift": "", "credit": 5.1})
    assert balance == Balance(balance=Decimal("100.0200"), gift=Decimal(0), credit=Decimal("5.1"))


def test_requests_use_camel_case_and_leave_out_unset_fields() -> None:
    body = SubmitTaskRequest(
        file_path="/mnt/a.xls", file_name="a.xls", type=1, voice_group_id=[5], app_id="A1",
        callout_rate=1,
    ).wire()  # fmt: skip
    assert body == {
        "filePath": "/mnt/a.xls",
        "fileName": "a.xls",
        "type": 1,
        "voiceGroupId": [5],
        "appId": "A1",
        "calloutRate": 1,
    }
    agent = Agent.model_validate({"keyId": 1, "password": "abc123"})
    assert "abc123" not in repr(agent)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-08 00:00:00", datetime(2025, 1, 8, tzinfo=SHANGHAI)),
        ("2022-01-01T00:00:00+08:00", datetime(2022, 1, 1, tzinfo=timezone(timedelta(hours=8)))),
        ("2022-01-01T00:00:00Z", datetime(2022, 1, 1, tzinfo=UTC)),
        ("2025-01-10", datetime(2025, 1, 10, tzinfo=SHANGHAI)),
        ("1700000000000", datetime.fromtimestamp(1_700_000_000, UTC)),
        ("", None),
        (None, None),
    ],
)
def test_parse_platform_time_accepts_both_formats(
    text: str | None, expected: datetime | None
) -> None:
    assert parse_platform_time(text, SHANGHAI) == expected


def test_parse_platform_time_rejects_nonsense_clearly() -> None:
    with pytest.raises(ValueError, match="yyyy-MM-dd HH:mm:ss"):
        parse_platform_time("yesterday", SHANGHAI)


def test_format_platform_time_converts_to_the_platform_zone() -> None:
    assert (
        format_platform_time(datetime(2025, 1, 7, 16, 0, tzinfo=UTC), SHANGHAI)
        == "2025-01-08 00:00:00"
    )
    with pytest.raises(InvalidRequest, match="has no time zone"):
        format_platform_time(datetime(2025, 1, 8, 9, 30), SHANGHAI)


def test_parse_platform_time_returns_aware_utc() -> None:
    parsed = parse_platform_time("2025-01-08 00:00:00", SHANGHAI)
    assert parsed is not None and parsed.tzinfo is UTC and parsed.hour == 16


def test_submit_and_resend_share_one_checked_task_settings_model() -> None:
    settings = TaskSettings(type=TaskType.AGENT_GROUP_CALL, voice_group_id=[5], app_id="A1",
                            callout_rate=2, remark="spring", max_ringing_time=30)  # fmt: skip
    submit = SubmitTaskRequest(file_path="/mnt/a.xls", file_name="a.xls", **settings.fields())
    resend = ResendTaskRequest(task_id=9, resend_type=1, **settings.fields())
    shared = {"type": 1, "voiceGroupId": [5], "appId": "A1", "calloutRate": 2, "remark": "spring"}
    assert submit.wire() == {**shared, "maxRingingTime": 30, "filePath": "/mnt/a.xls", "fileName": "a.xls"}
    assert resend.wire() == {**shared, "taskId": 9, "resendType": 1}  # resendTask has no ringing time
    # An automatic call leaves the empty group list out, as the docs' sample does.
    assert "voiceGroupId" not in TaskSettings(type=0, voice_group_id=[]).wire()


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"type": 2}, "The task type must be 0"),
        ({"type": 1, "app_id": "A1", "callout_rate": 1}, "exactly one agent group; 0 were given"),
        ({"type": 1, "voice_group_id": [5], "app_id": "A1"}, "needs a call-out rate"),
        ({"type": 1, "voice_group_id": [5], "callout_rate": 1}, "voice application ID"),
        ({"type": 0, "callout_rate": CALLOUT_RATE_MAX + 1}, f"at most {CALLOUT_RATE_MAX}, not {CALLOUT_RATE_MAX + 1}"),
        ({"type": 0, "remark": "x" * (REMARK_MAX + 1)}, f"at most {REMARK_MAX} fit"),
        ({"type": 0, "display_num": "号码"}, "letters or digits"),
        ({"type": 0, "display_num": "123\n"}, "letters or digits"),
        ({"type": 0, "ccode": "9a"}, "calling code in digits"),
        ({"type": 0, "max_ringing_time": 121}, "20 to 120 seconds"),
        ({"type": 0, "callout_rate": "fast"}, "The value of callout_rate is not valid"),
    ],
)  # fmt: skip
def test_task_settings_refuse_what_the_platform_would_with_a_plain_sentence(
    fields: dict[str, object], words: str
) -> None:
    with pytest.raises(InvalidRequest, match=words) as caught:
        TaskSettings(**fields)
    assert "<" not in str(caught.value) and "validation error" not in str(caught.value)
