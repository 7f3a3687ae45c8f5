"""Pydantic models for the platform's requests and answers (platform-api.md §3).

Python names are snake_case; the wire names are camelCase aliases. Answers are read tolerantly, as
the docs are partly cut off: unknown fields are ignored, numbers may come as strings and strings as
numbers, empty strings count as missing, and `seatGroupId`/`voiceGroupId` are both accepted.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bot.logs import register_secret

PLATFORM_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _to_int_list(value: Any) -> Any:
    """A list of ids sent as a list, one number, or "1,2"."""
    value = _blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, (int, float)):
        return [int(value)]
    if isinstance(value, str):
        return [int(part) for part in re.split(r"[,\s]+", value.strip()) if part]
    return value


def _to_str_list(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _rate(value: Any) -> float | None:
    """Completion/connect rates arrive as 0.5, "0.5", "50%" or "50.00%"; kept as the number shown."""
    value = _blank_to_none(value)
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip().rstrip("%").strip())
    except ValueError:
        return None


def _decimal(value: Any) -> Any:
    value = _blank_to_none(value)
    if value is None:
        return Decimal(0)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


OptInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
IntList = Annotated[list[int], BeforeValidator(_to_int_list)]
StrList = Annotated[list[str], BeforeValidator(_to_str_list)]
Rate = Annotated[float | None, BeforeValidator(_rate)]
Money = Annotated[Decimal, BeforeValidator(_decimal)]


class PlatformModel(BaseModel):
    """Base for everything on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        coerce_numbers_to_str=True,
    )

    def wire(self) -> dict[str, Any]:
        """The JSON body: camelCase names, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# ---------------------------------------------------------------- enums


class AgentAction(IntEnum):
    DELETE = 2
    DISABLE = 3
    ENABLE = 4


class TaskType(IntEnum):
    AUTOMATIC = 0
    AGENT_GROUP_CALL = 1


class ResendType(IntEnum):
    FAILED = 1
    UNCALLED = 2
    ALL = 3


class TaskStatus(IntEnum):
    ENABLED = 1
    DISABLED = 2
    CALLING = 11
    COMPLETED = 12
    SUBMIT_FAILED = 13
    CANCELLED = 14
    SUSPENDED = 15
    SUBMITTING = 16

    @property
    def label(self) -> str:
        return _TASK_STATUS_LABELS[self]

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.SUBMIT_FAILED, TaskStatus.CANCELLED)


_TASK_STATUS_LABELS = {
    TaskStatus.ENABLED: "enabled",
    TaskStatus.DISABLED: "disabled",
    TaskStatus.CALLING: "calling",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.SUBMIT_FAILED: "submission failed",
    TaskStatus.CANCELLED: "cancelled",
    TaskStatus.SUSPENDED: "suspended",
    TaskStatus.SUBMITTING: "submitting",
}


class AgentStatus(IntEnum):
    OFFLINE = 1
    IDLE = 2
    BUSY = 3
    WRAP_UP = 4
    ON_BREAK = 5


class NumberStatus(IntEnum):
    """Status of one number within a task (queryTaskDetail)."""

    CALLING = 1
    NOT_CALLED = 5
    ABNORMAL = 7
    CALLED = 9


class CallType(IntEnum):
    GROUP_CALL_TO_AGENT = 1
    INBOUND = 2
    OUTBOUND = 3


def _known(enum: type[IntEnum]):
    """Map known values to the enum, keep unknown ones as plain ints instead of failing."""

    def convert(value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        try:
            return enum(int(value))
        except (ValueError, TypeError):
            return value

    return BeforeValidator(convert)


# ---------------------------------------------------------------- envelope and paging


class Envelope(BaseModel):
    """`{"status": "0", "reason": "success", "data": …}`; status may be a string or a number."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    status: str
    reason: str = ""
    data: Any = None

    @property
    def ok(self) -> bool:
        return self.status.strip() in ("0", "0.0")


T = TypeVar("T")


class Page(PlatformModel, Generic[T]):
    total: int = 0
    size: int = 0
    current: int = 1
    pages: int = 0
    records: list[T] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _null_records(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("records") is None:
            value = {**value, "records": []}
        return value


class PageRequest(PlatformModel):
    current: int
    size: int
    params: dict[str, Any]


# ---------------------------------------------------------------- agent groups


class AgentGroup(PlatformModel):
    voice_group_id: int = Field(
        validation_alias=AliasChoices("voiceGroupId", "seatGroupId", "voice_group_id")
    )
    group_name: str = ""
    count_seat: OptInt = None
    callin_strategy: OptInt = None
    app_name: OptStr = None


class GroupSettings(PlatformModel):
    voice_group_id: int = Field(
        validation_alias=AliasChoices("voiceGroupId", "seatGroupId", "voice_group_id")
    )
    group_name: OptStr = None
    app_name: OptStr = None
    callin_strategy: OptInt = None
    timeout_transfer_sec: OptInt = None
    callin_auto_answer_sec: OptInt = None
    wrap_up_time: OptInt = None
    timeout_idle: OptInt = None
    timeout_wait_sec: OptInt = None
    turn_seat_ring: OptStr = None
    turn_seat_ring_url: OptStr = None
    label_name: StrList = Field(default_factory=list)
    display_switch: OptInt = None
    encrypt_number: OptInt = None
    fs_node: OptStr = None


# Fields of basicSetting that may be changed; "empty value clears" (§3.6).
GROUP_SETTING_FIELDS = (
    "callin_strategy",
    "timeout_transfer_sec",
    "callin_auto_answer_sec",
    "wrap_up_time",
    "timeout_idle",
    "timeout_wait_sec",
    "turn_seat_ring",
    "label_name",
    "fs_node",
)
FS_NODES = ("SG_FS", "USA_FS", "UAE_FS")


class AddGroupRequest(PlatformModel):
    group_name: str
    app_id: str


class UpdateGroupRequest(PlatformModel):
    voice_group_id: int
    group_name: str


class GroupSettingsUpdate(PlatformModel):
    voice_group_id: int
    display_switch: int
    encrypt_number: int
    callin_strategy: int | str | None = None
    timeout_transfer_sec: int | str | None = None
    callin_auto_answer_sec: int | str | None = None
    wrap_up_time: int | str | None = None
    timeout_idle: int | str | None = None
    timeout_wait_sec: int | str | None = None
    turn_seat_ring: str | None = None
    label_name: list[str] | None = None
    fs_node: str | None = None


# ---------------------------------------------------------------- agents


def _secret(value: str | None) -> str | None:
    register_secret(value)  # from now on masked in every log line (bot.logs)
    return value


class CreatedAgent(PlatformModel):
    key_id: int
    name: str = ""


class Agent(PlatformModel):
    key_id: int
    name: str = ""
    emp_no: OptStr = None
    pet_name: OptStr = None
    app_id: OptStr = None
    enable: OptInt = None  # 0 enabled, 1 disabled
    status: Annotated[AgentStatus | int | None, _known(AgentStatus)] = None
    voice_group_id: OptInt = Field(
        default=None, validation_alias=AliasChoices("voiceGroupId", "seatGroupId", "voice_group_id")
    )
    group_name: OptStr = None
    account: OptStr = None
    # The SIP password comes back in clear; keep it out of reprs and logs.
    password: Annotated[OptStr, AfterValidator(_secret)] = Field(default=None, repr=False)
    display_num: OptStr = None
    ccode: OptStr = None
    priority: OptInt = None
    delete_flag: OptInt = None
    create_time: OptStr = None
    update_time: OptStr = None
    num: OptInt = None
    connect_num: OptInt = None
    connect_rate: Rate = None

    @property
    def is_enabled(self) -> bool:
        return self.enable == 0


class AgentQuota(PlatformModel):
    total: int = 0
    remaining: int = 0


class AddAgentsRequest(PlatformModel):
    voice_group_id: int
    size: int
    display_num: str | None = None
    ccode: str | None = None


class UpdateAgentRequest(PlatformModel):
    key_id: int
    voice_group_id: str  # a String in the docs, sample "12"
    name: str
    emp_no: str
    display_num: str | None = None
    ccode: str | None = None
    pet_name: str | None = None
    password: Annotated[str | None, AfterValidator(_secret)] = Field(default=None, repr=False)


class BatchAgentsRequest(PlatformModel):
    type: int
    id_list: list[int]


# ---------------------------------------------------------------- numbers and tasks


class UploadRequest(PlatformModel):
    file_name: str
    file: str = Field(repr=False)  # base64 content


class UploadResult(PlatformModel):
    file_path: str
    number_total_count: OptInt = None
    number_same_count: OptInt = None


class SubmitTaskRequest(PlatformModel):
    file_path: str
    file_name: str
    type: int
    voice_group_id: list[int] | None = None
    app_id: str | None = None
    callout_rate: int | None = None
    display_num: str | None = None
    ccode: str | None = None
    remark: str | None = None
    max_ringing_time: int | None = None


class ResendTaskRequest(PlatformModel):
    task_id: int
    resend_type: int
    type: int
    voice_group_id: list[int] | None = None
    app_id: str | None = None
    callout_rate: int | None = None
    display_num: str | None = None
    ccode: str | None = None
    remark: str | None = None


class EditTaskRequest(PlatformModel):
    task_id: int
    callout_rate: int
    remark: str | None = None


class CancelTaskRequest(PlatformModel):
    task_id: int


class Task(PlatformModel):
    task_id: int
    # Documented as List<Integer> under the name voiceGroupId; accept a bare number too.
    voice_group_ids: IntList = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "voiceGroupId", "voiceGroupIds", "seatGroupId", "voice_group_ids"
        ),
    )
    seat_group_name: OptStr = None
    remain_count: OptInt = None
    total_count: OptInt = None
    remark: OptStr = None
    ccode: OptStr = None
    code_name: OptStr = None
    task_status: Annotated[TaskStatus | int | None, _known(TaskStatus)] = None
    task_type: Annotated[TaskType | int | None, _known(TaskType)] = None
    finish_flag: OptInt = None
    completed_rate: Rate = None
    group_task_id: OptInt = None
    transfers_num: OptInt = None
    call_failures_num: OptInt = None
    # Not in the (cut-off) docs; read when the platform sends them, used to recognise a task.
    file_name: OptStr = None
    file_path: OptStr = None
    create_time: OptStr = None

    @property
    def status_label(self) -> str:
        if isinstance(self.task_status, TaskStatus):
            return self.task_status.label
        return "unknown" if self.task_status is None else f"status {self.task_status}"

    @property
    def is_finished(self) -> bool:
        return self.finish_flag == 1 or (
            isinstance(self.task_status, TaskStatus) and self.task_status.is_final
        )


_VAR_FIELD = re.compile(r"^var\d+$")


class TaskNumber(PlatformModel):
    key_id: int
    encrypt_called: OptStr = None
    seat_name: OptStr = None
    sip_group_name: OptStr = None
    label_name: OptStr = None
    remark: OptStr = None
    status: Annotated[NumberStatus | int | None, _known(NumberStatus)] = None
    call_id: OptStr = None
    error_reason: OptStr = None
    call_count: Annotated[float | None, BeforeValidator(_blank_to_none)] = None
    extra: dict[str, str] = Field(default_factory=dict)  # var01, var02, … callee-info columns

    @model_validator(mode="before")
    @classmethod
    def _collect_vars(cls, value: Any) -> Any:
        if isinstance(value, dict) and "extra" not in value:
            extra = {
                k: "" if v is None else str(v) for k, v in value.items() if _VAR_FIELD.match(str(k))
            }
            value = {**value, "extra": dict(sorted(extra.items()))}
        return value


# ---------------------------------------------------------------- call records and balance


class CallRecord(PlatformModel):
    """One call-center call. Times stay the platform's strings (UTC+8 wall time); see
    `parse_platform_time`."""

    call_id: OptStr = None
    call_session_id: OptStr = None
    called: OptStr = None
    called_info: OptStr = None
    caller: OptStr = None
    ccode: OptStr = None
    ccode_name: OptStr = None
    agent_name: OptStr = None
    agent_group_name: OptStr = None
    agent_account: OptStr = None
    call_duration: OptInt = None
    call_type: Annotated[CallType | int | None, _known(CallType)] = None
    hangup_code: OptStr = None
    hangup_reason: OptInt = None
    hanging_direction: OptInt = None
    labels: StrList = Field(default_factory=list)
    base_cost: OptStr = None
    cost: OptStr = None
    remark: OptStr = None
    call_start_time: OptStr = None
    answer_time: OptStr = None
    call_end_time: OptStr = None
    voice_url: OptStr = None


class Balance(PlatformModel):
    balance: Money = Decimal(0)
    gift: Money = Decimal(0)
    credit: Money = Decimal(0)


def parse_platform_time(value: str | None, tz: tzinfo) -> datetime | None:
    """A platform time as an aware datetime.

    Accepts "yyyy-MM-dd HH:mm:ss" (wall time in `tz`, the platform's zone), ISO-8601 with or
    without an offset, a date alone, and epoch seconds or milliseconds. Empty → None.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        number = int(text)
        seconds = number / 1000 if number > 10**11 else number
        return datetime.fromtimestamp(seconds, tz)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time the platform uses (yyyy-MM-dd HH:mm:ss)") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def format_platform_time(moment: datetime, tz: tzinfo) -> str:
    """ "yyyy-MM-dd HH:mm:ss" in the platform's zone; a naive datetime is taken as that zone already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.strftime(PLATFORM_TIME_FORMAT)
