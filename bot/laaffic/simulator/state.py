"""The simulated account, in memory: applications, agent groups, agents, uploads, tasks, call records."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

# The platform's `yyyy-MM-dd HH:mm:ss` times are wall time in its zone (UTC+8 is stated for the
# ringing push, platform-api.md §4.2; SimulatorConfig.platform_timezone sets it).
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class PlatformError(Exception):
    """A business failure: answered as HTTP 200 with {"status": "<code>", "reason": ...}."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def format_time(moment: datetime | None, tz: tzinfo) -> str | None:
    return None if moment is None else moment.astimezone(tz).strftime(TIME_FORMAT)


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(text: Any, tz: tzinfo, *, end_of_day: bool = False) -> datetime:
    """`yyyy-MM-dd HH:mm:ss` (in `tz`), ISO-8601 (offset honoured, none = `tz`), or `yyyy-MM-dd`."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty time")
    text = text.strip()
    if _DATE_ONLY.match(text):
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=tz)
        return day + timedelta(days=1, microseconds=-1) if end_of_day else day
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


# Task statuses (platform-api.md §3.15) and per-number statuses (§3.16).
TASK_ENABLED, TASK_CALLING, TASK_COMPLETED, TASK_SUBMIT_FAILED = 1, 11, 12, 13
TASK_CANCELLED, TASK_SUSPENDED, TASK_SUBMITTING = 14, 15, 16
TASK_FINAL = frozenset({TASK_COMPLETED, TASK_SUBMIT_FAILED, TASK_CANCELLED})
NUMBER_CALLING, NUMBER_NOT_CALLED, NUMBER_ABNORMAL, NUMBER_CALLED = 1, 5, 7, 9

# Agent statuses (§3.8).
AGENT_OFFLINE, AGENT_IDLE, AGENT_BUSY, AGENT_WRAP_UP, AGENT_BREAK = 1, 2, 3, 4, 5

COUNTRY_NAMES = {
    "1": "United States",
    "7": "Russia",
    "20": "Egypt",
    "27": "South Africa",
    "33": "France",
    "44": "United Kingdom",
    "49": "Germany",
    "52": "Mexico",
    "55": "Brazil",
    "60": "Malaysia",
    "62": "Indonesia",
    "63": "Philippines",
    "65": "Singapore",
    "66": "Thailand",
    "81": "Japan",
    "82": "South Korea",
    "84": "Vietnam",
    "86": "China",
    "90": "Turkey",
    "91": "India",
    "92": "Pakistan",
    "234": "Nigeria",
    "254": "Kenya",
    "880": "Bangladesh",
    "971": "United Arab Emirates",
}


def country_name(ccode: str | None) -> str:
    if not ccode:
        return ""
    if ccode in COUNTRY_NAMES:
        return COUNTRY_NAMES[ccode]
    import phonenumbers

    regions = (
        phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(ccode), ()) if ccode.isdigit() else ()
    )
    return regions[0] if regions else ""


def country_code_exists(ccode: str) -> bool:
    import phonenumbers

    return ccode.isdigit() and int(ccode) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE


def country_code_of(number: str) -> str:
    """The calling code a full international number starts with ("" when unknown)."""
    for length in (1, 2, 3):
        if country_code_exists(number[:length]) and len(number) > length + 4:
            return number[:length]
    return ""


@dataclass
class Application:
    app_id: str
    name: str
    agent_prefix: str  # agent accounts are "<prefix>_001", like "1344C025cb_001" in the docs
    agents_created: int = 0


def agent_prefix_for(app_id: str) -> str:
    digest = hashlib.md5(app_id.encode()).hexdigest()
    digits = "".join(str(int(c, 16) % 10) for c in digest[:7])
    letters = "".join(string.ascii_lowercase[int(c, 16) % 26] for c in digest[7:9])
    return f"{digits[:4]}C{digits[4:7]}{letters}"


@dataclass
class AgentGroup:
    voice_group_id: int
    app_id: str
    name: str
    create_time: datetime
    callin_strategy: int = 4
    timeout_transfer_sec: int | None = 45
    callin_auto_answer_sec: int | None = None
    wrap_up_time: int | None = None
    timeout_idle: int | None = None
    timeout_wait_sec: int | None = 60
    turn_seat_ring: str | None = None
    label_names: list[str] = field(default_factory=list)
    display_switch: int = 1
    encrypt_number: int = 1  # 0 = masking on; off by default so the bot sees real numbers
    fs_node: str = "SG_FS"


@dataclass
class Agent:
    key_id: int
    voice_group_id: int
    app_id: str
    name: str
    account: str
    password: str = field(repr=False)
    create_time: datetime
    update_time: datetime
    emp_no: str | None = None
    pet_name: str | None = None
    enable: int = 0  # 0 enabled, 1 disabled
    priority: int = 1
    display_num: str | None = None
    ccode: str | None = None
    status: int = AGENT_IDLE
    idle_since: float = 0.0  # for "longest idle first"
    rings: list[tuple[datetime, bool]] = field(
        default_factory=list
    )  # (when, answered): seat/query stats

    @property
    def available(self) -> bool:
        return self.enable == 0 and self.status == AGENT_IDLE


@dataclass
class Callee:
    called: str
    info: list[str]


@dataclass
class UploadedFile:
    file_path: str
    file_name: str
    callees: list[Callee]
    info_headers: list[str]  # names of the callee-info columns, which become var01, var02, ...
    duplicate_count: int
    create_time: datetime


@dataclass
class TaskNumber:
    key_id: int
    called: str
    info: list[str]
    status: int = NUMBER_NOT_CALLED
    call_count: int = 0
    call_id: str | None = None
    seat_name: str | None = None
    group_name: str | None = None
    error_reason: str | None = None
    labels: list[str] = field(default_factory=list)


@dataclass
class Task:
    task_id: int
    task_type: int  # 0 automatic call, 1 group call transferred to agents
    app_id: str | None
    voice_group_ids: list[int]
    callout_rate: int
    display_num: str | None
    ccode: str | None
    remark: str | None
    max_ringing_time: int | None
    file_name: str
    file_path: str
    info_headers: list[str]
    numbers: list[TaskNumber]
    create_time: datetime
    status: int = TASK_SUBMITTING
    transfers: int = 0  # calls that reached an agent
    call_failures: int = 0  # customers who answered but reached no agent
    runner: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in TASK_FINAL

    def count(self, status: int) -> int:
        return sum(1 for n in self.numbers if n.status == status)


@dataclass
class CallRecord:
    """One finished call. `push_body()` is the documented cc-http push (platform-api.md §4.1)."""

    call_id: str
    call_session_id: str
    called: str
    called_info: str | None
    caller: str
    ccode: str
    agent_name: str | None
    agent_group_name: str | None
    agent_account: str | None
    call_duration: int
    call_type: int
    hangup_code: str
    hangup_reason: int
    hanging_direction: int
    labels: list[str]
    base_cost: Decimal
    cost: Decimal
    remark: str
    call_start: datetime
    answer: datetime | None
    call_end: datetime
    voice_url: str | None
    # Not in the push, used by the record/query filters.
    task_id: int
    voice_group_id: int | None
    seat_id: int | None

    def push_body(self, tz: tzinfo) -> dict[str, Any]:
        """The body in the platform's zone `tz`."""
        return {
            "callId": self.call_id,
            "callSessionId": self.call_session_id,
            "called": self.called,
            "calledInfo": self.called_info,
            "caller": self.caller,
            "ccode": self.ccode,
            "ccodeName": country_name(self.ccode),
            "agentName": self.agent_name,
            "agentGroupName": self.agent_group_name,
            "agentAccount": self.agent_account,
            "callDuration": self.call_duration,
            "callType": self.call_type,
            "hangupCode": self.hangup_code,
            "hangupReason": self.hangup_reason,
            "hangingDirection": self.hanging_direction,
            "labels": list(self.labels),
            "baseCost": f"{self.base_cost:.4f}",
            "cost": f"{self.cost:.4f}",
            "remark": self.remark,
            "callStartTime": format_time(self.call_start, tz),
            "answerTime": format_time(self.answer, tz),
            "callEndTime": format_time(self.call_end, tz),
            "voiceUrl": self.voice_url,
        }


class PlatformState:
    """Everything the account holds. Only touched from the simulator's event loop."""

    def __init__(self, app_ids: tuple[str, ...], balance: Decimal) -> None:
        self.apps: dict[str, Application] = {
            app_id: Application(app_id, f"{app_id}-voice", agent_prefix_for(app_id))
            for app_id in app_ids
        }
        self.groups: dict[int, AgentGroup] = {}
        self.agents: dict[int, Agent] = {}
        self.uploads: dict[str, UploadedFile] = {}
        self.tasks: dict[int, Task] = {}
        self.records: list[CallRecord] = []
        self.balance = balance
        self._group_ids = itertools.count(1000001)
        self._agent_ids = itertools.count(3000001)
        self._task_ids = itertools.count(5000001)
        self._number_ids = itertools.count(7000001)
        self._call_seq = itertools.count(1)

    def next_group_id(self) -> int:
        return next(self._group_ids)

    def next_agent_id(self) -> int:
        return next(self._agent_ids)

    def next_task_id(self) -> int:
        return next(self._task_ids)

    def next_number_id(self) -> int:
        return next(self._number_ids)

    def next_call_seq(self) -> int:
        return next(self._call_seq)

    def group(self, voice_group_id: int) -> AgentGroup:
        try:
            return self.groups[voice_group_id]
        except KeyError:
            raise PlatformError(-24, f"agent group {voice_group_id} does not exist") from None

    def task(self, task_id: int) -> Task:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise PlatformError(-24, f"task {task_id} does not exist") from None

    def agents_in(self, voice_group_id: int) -> list[Agent]:
        return [a for a in self.agents.values() if a.voice_group_id == voice_group_id]
