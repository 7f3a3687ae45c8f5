"""Pydantic models for the platform's requests and answers (platform-api.md §3).

Python names are snake_case; the wire names are camelCase aliases. Answers are read tolerantly, as
the docs are partly cut off: unknown fields are ignored, numbers may come as strings and strings as
numbers, empty strings count as missing, and `seatGroupId`/`voiceGroupId` are both accepted.

The platform writes times as "yyyy-MM-dd HH:mm:ss" wall time in its own zone (PLATFORM_TIMEZONE).
Answers are read with that zone in the validation context (`read_answer`) and every time comes out
as an aware UTC datetime; requests are built from aware datetimes only (`format_platform_time`).
Request models refuse a value the platform would refuse with InvalidRequest, a plain sentence.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Any, Generic, Self, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bot.i18n import N_, _
from bot.laaffic import preflight
from bot.laaffic.errors import InvalidRequest
from bot.logs import register_secret

log = logging.getLogger(__name__)

PLATFORM_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The documented zone of the platform's times (UTC+8, stated for the ringing push, §4.2).
DEFAULT_PLATFORM_TZ = ZoneInfo("Asia/Shanghai")
# Key of the validation context that carries the platform's zone into the models.
PLATFORM_TZ_CONTEXT = "platform_tz"


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


def _platform_time(value: Any, info: ValidationInfo) -> datetime | None:
    """A time from an answer, as an aware UTC datetime. One the bot cannot read counts as missing:
    a whole task list must not fail because one row says "0000-00-00 00:00:00"."""
    tz = (info.context or {}).get(PLATFORM_TZ_CONTEXT, DEFAULT_PLATFORM_TZ)
    if isinstance(value, datetime):
        return preflight.check_aware(value, "time").astimezone(UTC)
    try:
        return parse_platform_time(value, tz)
    except ValueError:
        log.warning("the platform sent %r where a time belongs; read as missing", value)
        return None


OptInt = Annotated[int | None, BeforeValidator(_blank_to_none)]
OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
IntList = Annotated[list[int], BeforeValidator(_to_int_list)]
StrList = Annotated[list[str], BeforeValidator(_to_str_list)]
Rate = Annotated[float | None, BeforeValidator(_rate)]
Money = Annotated[Decimal, BeforeValidator(_decimal)]
PlatformTime = Annotated[datetime | None, BeforeValidator(_platform_time)]


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


M = TypeVar("M", bound=BaseModel)


def read_answer(model: type[M], data: Any, platform_tz: tzinfo) -> M:
    """An answer's `data` (or a push body) as `model`, its times read in the platform's zone."""
    return model.model_validate(data, context={PLATFORM_TZ_CONTEXT: platform_tz})


class PlatformRequest(PlatformModel):
    """Base for request bodies. A value the platform would refuse raises InvalidRequest, whose
    sentence says what is wrong, instead of pydantic's ValidationError."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> InvalidRequest:
    first = exc.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidRequest):
        return cause
    field = ".".join(str(part) for part in first["loc"]) or _("the request")
    return InvalidRequest(
        _(
            "The value of {field} is not valid: {first}.",
            field=field,
            first=first["msg"],
        )
    )


# ---------------------------------------------------------------- enums


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
        return _(_TASK_STATUS_LABELS[self])

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.SUBMIT_FAILED, TaskStatus.CANCELLED)


_TASK_STATUS_LABELS = {
    TaskStatus.ENABLED: N_("enabled"),
    TaskStatus.DISABLED: N_("disabled"),
    TaskStatus.CALLING: N_("calling"),
    TaskStatus.COMPLETED: N_("completed"),
    TaskStatus.SUBMIT_FAILED: N_("submission failed"),
    TaskStatus.CANCELLED: N_("cancelled"),
    TaskStatus.SUSPENDED: N_("suspended"),
    TaskStatus.SUBMITTING: N_("submitting"),
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


class PageRequest(PlatformRequest):
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


class AddGroupRequest(PlatformRequest):
    group_name: str
    app_id: str


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
    create_time: PlatformTime = None
    update_time: PlatformTime = None
    num: OptInt = None
    connect_num: OptInt = None
    connect_rate: Rate = None

    @property
    def is_enabled(self) -> bool:
        return self.enable == 0


class AgentQuota(PlatformModel):
    total: int = 0
    remaining: int = 0


class AddAgentsRequest(PlatformRequest):
    voice_group_id: int
    size: int
    display_num: str | None = None
    ccode: str | None = None


# ---------------------------------------------------------------- numbers and tasks


class UploadRequest(PlatformRequest):
    file_name: str
    file: str = Field(repr=False)  # base64 content


class UploadResult(PlatformModel):
    file_path: str
    number_total_count: OptInt = None
    number_same_count: OptInt = None


class TaskSettings(PlatformRequest):
    """The settings submitTask and resendTask share (§3.13, §3.14), checked once, here.

    Build it once for a draft; submit and re-run both take it. `max_ringing_time` applies to
    submitTask only: a re-run keeps the task's own, as resendTask has no such field.
    """

    type: int
    voice_group_id: list[int] | None = None
    app_id: str | None = None
    callout_rate: int | None = None
    display_num: str | None = None
    ccode: str | None = None
    remark: str | None = None
    max_ringing_time: int | None = None

    @model_validator(mode="after")
    def _platform_rules(self) -> Self:
        preflight.require(
            self.type in tuple(TaskType),
            _(
                "The task type must be 0 (automatic call) or 1 (group call to agents), not {type}.",
                type=self.type,
            ),
        )
        if not self.voice_group_id:
            self.voice_group_id = None  # left out of the body, as the docs' automatic sample
        if self.type == TaskType.AGENT_GROUP_CALL:
            groups = len(self.voice_group_id or [])
            preflight.require(
                groups == 1,
                _(
                    "A group call with transfer to agents needs exactly one agent group; {groups} were "
                    "given.",
                    groups=groups,
                ),
            )
            preflight.require(
                self.callout_rate is not None,
                _(
                    "A group call with transfer to agents needs a call-out rate (numbers dialled per free "
                    "agent), for example 1.",
                ),
            )
            preflight.require(
                bool(self.app_id),
                _("A group call with transfer to agents needs the voice application ID."),
            )
        preflight.check_callout_rate(self.callout_rate)
        preflight.check_display_num(self.display_num)
        preflight.check_ccode(self.ccode)
        preflight.check_remark(self.remark)
        preflight.check_ringing_time(self.max_ringing_time)
        return self

    @property
    def task_type(self) -> TaskType:
        return TaskType(self.type)

    @property
    def group_ids(self) -> list[int]:
        return list(self.voice_group_id or [])

    def fields(self) -> dict[str, Any]:
        """The settings as keyword arguments of a request built on them."""
        return {name: getattr(self, name) for name in TaskSettings.model_fields}


class SubmitTaskRequest(TaskSettings):
    file_path: str
    file_name: str

    @model_validator(mode="after")
    def _file_given(self) -> Self:
        preflight.require(
            bool(self.file_path),
            _("The file path from the upload is missing; upload the file first."),
        )
        preflight.require(bool(self.file_name), _("The file name is missing."))
        return self


class ResendTaskRequest(TaskSettings):
    task_id: int
    resend_type: int

    @model_validator(mode="after")
    def _known_option(self) -> Self:
        preflight.require(
            self.resend_type in tuple(ResendType),
            _("The re-run option must be 1 (failed numbers), 2 (numbers not called) or 3 (all)."),
        )
        return self

    def wire(self) -> dict[str, Any]:
        body = super().wire()
        body.pop("maxRingingTime", None)  # not a resendTask field
        return body


class EditTaskRequest(PlatformRequest):
    task_id: int
    callout_rate: int
    remark: str | None = None


class CancelTaskRequest(PlatformRequest):
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
    create_time: PlatformTime = None

    @property
    def status_label(self) -> str:
        if isinstance(self.task_status, TaskStatus):
            return self.task_status.label
        if self.task_status is None:
            return _("unknown")
        return _("status {code}", code=self.task_status)

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


# ---------------------------------------------------------------- balance


class Balance(PlatformModel):
    balance: Money = Decimal(0)
    gift: Money = Decimal(0)
    credit: Money = Decimal(0)


def parse_platform_time(value: str | None, tz: tzinfo) -> datetime | None:
    """A platform time as an aware UTC datetime.

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
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a time the platform uses (yyyy-MM-dd HH:mm:ss)") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).astimezone(UTC)


def format_platform_time(moment: datetime, tz: tzinfo) -> str:
    """An aware datetime as "yyyy-MM-dd HH:mm:ss" wall time in the platform's zone `tz`."""
    return preflight.check_aware(moment, "time").astimezone(tz).strftime(PLATFORM_TIME_FORMAT)
