"""The models read the platform's answers tolerantly, as the docs leave much open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.laaffic.models import (
    Agent,
    AgentGroup,
    Balance,
    CallRecord,
    Envelope,
    GroupSettings,
    Page,
    SubmitTaskRequest,
    Task,
    TaskNumber,
    TaskStatus,
    TaskType,
    UpdateAgentRequest,
    format_platform_time,
    parse_platform_time,
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


def test_call_record_keeps_platform_time_strings() -> None:
    record = CallRecord.model_validate(
        {"agentGroupName": "TAOTAO", "agentName": "0705C049_053", "answerTime": "2023-11-17 13:42:33",
         "callDuration": 15, "callEndTime": "2023-11-17 13:42:48", "callSessionId": "23111713424802472",
         "callId": "23111714122312000001", "callStartTime": "2023-11-17 13:42:30", "callType": 3,
         "called": 918613237978737, "caller": "91778800001", "ccode": "91", "hangingDirection": 1,
         "labels": None, "cost": "0.0100"}
    )  # fmt: skip
    assert record.call_start_time == "2023-11-17 13:42:30" and record.called == "918613237978737"
    assert record.labels == [] and record.call_type == 3


def test_balance_as_decimal_from_strings() -> None:
    balance = Balance.model_validate({"balance": "100.0200", "gift": "", "credit": 5.1})
    assert balance == Balance(balance=Decimal("100.0200"), gift=Decimal(0), credit=Decimal("5.1"))


def test_requests_use_camel_case_and_leave_out_unset_fields() -> None:
    body = SubmitTaskRequest(
        file_path="/mnt/a.xls", file_name="a.xls", type=1, voice_group_id=[5], callout_rate=1
    ).wire()
    assert body == {
        "filePath": "/mnt/a.xls",
        "fileName": "a.xls",
        "type": 1,
        "voiceGroupId": [5],
        "calloutRate": 1,
    }
    update = UpdateAgentRequest(
        key_id=1, voice_group_id="12", name="n", emp_no="e", password="abc123"
    )
    assert "abc123" not in repr(update)


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
    assert format_platform_time(datetime(2025, 1, 8, 9, 30), SHANGHAI) == "2025-01-08 09:30:00"
