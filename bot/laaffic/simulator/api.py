"""The platform's endpoints (platform-api.md §3): request checks, state changes, documented answers.

Each handler takes the simulator and the request fields (JSON body, or query string for GET) and
returns `data`, or raises PlatformError. Handlers never await: a request is applied in one step.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.laaffic.limits import (
    AGENT_BATCH_MAX,
    AGENT_STATS_WINDOW_DAYS,
    AGENT_TEXT_MAX,
    CALLOUT_RATE_MAX,
    CALLOUT_RATE_MIN,
    CCODE_MAX_DIGITS,
    DISPLAY_NUM_MAX,
    DISPLAY_NUM_RE,
    FS_NODES,
    GROUP_NAME_MAX,
    GROUP_NAME_MIN,
    LABEL_LEN_MAX,
    LABELS_MAX,
    LEGACY_RECORD_HISTORY_DAYS,
    LEGACY_RECORD_WINDOW_DAYS,
    PAGE_SIZE_MAX,
    REMARK_MAX,
    RINGING_TIME_MAX,
    RINGING_TIME_MIN,
    UPLOAD_FILE_NAME_MAX,
    UPLOAD_FILE_NAME_MIN,
    UPLOAD_ROWS_MAX,
)
from bot.laaffic.simulator.numberfile import decode_upload, parse_numbers
from bot.laaffic.simulator.params import Params, is_alnum
from bot.laaffic.simulator.state import (
    AGENT_BUSY,
    NUMBER_ABNORMAL,
    NUMBER_CALLING,
    NUMBER_NOT_CALLED,
    TASK_CALLING,
    TASK_CANCELLED,
    TASK_SUBMITTING,
    Agent,
    AgentGroup,
    CallRecord,
    PlatformError,
    Task,
    TaskNumber,
    UploadedFile,
    country_code_exists,
    country_name,
    format_time,
    parse_time,
)

if TYPE_CHECKING:
    from bot.laaffic.simulator.app import Simulator

Handler = Callable[["Simulator", Params], Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    top_level: bool = False  # getBalance puts its fields beside status/reason, not in data


ENDPOINTS: list[Endpoint] = []


def endpoint(method: str, path: str, *, top_level: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(Endpoint(method, path, handler, top_level))
        return handler

    return register


# --- shared checks ---------------------------------------------------------------------------------


def _page(p: Params, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    current = p.req_int("current", low=1)
    size = p.req_int("size", low=1, high=PAGE_SIZE_MAX)
    total = len(items)
    start = (current - 1) * size
    return {
        "total": total,
        "size": size,
        "current": current,
        "pages": math.ceil(total / size),
        "records": [render(item) for item in items[start : start + size]],
    }


def _app(sim: Simulator, app_id: str) -> str:
    if app_id not in sim.state.apps:
        raise PlatformError(-32, f"this API key may not access application {app_id!r}")
    return app_id


def _group_name(p: Params, sim: Simulator, app_id: str, exclude: int | None = None) -> str:
    name = p.req_str("groupName", min_len=GROUP_NAME_MIN, max_len=GROUP_NAME_MAX)
    if any(
        g.app_id == app_id and g.name == name and g.voice_group_id != exclude
        for g in sim.state.groups.values()
    ):
        raise PlatformError(-20, f"agent group name {name!r} already exists in this application")
    return name


def _display_num(p: Params) -> str | None:
    value = p.text("displayNum", required=False)
    if value is not None and not DISPLAY_NUM_RE.match(value):
        raise PlatformError(
            -22, f"displayNum may contain only letters and digits (at most {DISPLAY_NUM_MAX})"
        )
    return value


def _ccode(p: Params, code: int = -22) -> str | None:
    value = p.text("ccode", required=False, max_len=CCODE_MAX_DIGITS)
    if value is not None and not country_code_exists(value):
        raise PlatformError(code, f"country code {value!r} does not exist")
    return value


def _time(
    sim: Simulator, p: Params, name: str, *, end: bool = False, required: bool = True
) -> datetime | None:
    value = p.raw(name)
    if p.blank(name):
        if required:
            raise PlatformError(-22, f"{name} is required (yyyy-MM-dd HH:mm:ss)")
        return None
    try:
        return parse_time(value, sim.config.zone, end_of_day=end)
    except ValueError:
        raise PlatformError(
            -11,
            f"{name} {value!r} is not a time like 2025-01-08 00:00:00 or 2025-01-08T00:00:00+08:00",
        ) from None


def _percent(part: int, whole: int) -> str:
    return f"{(part / whole * 100) if whole else 0:.2f}%"


def _password(sim: Simulator) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(sim.rng.choice(alphabet) for _ in range(10))


# --- agent groups (§3.1–3.6) -------------------------------------------------------------------------


@endpoint("POST", "/v3/cc/seatGroup/addGroup")
def add_group(sim: Simulator, p: Params) -> None:
    app_id = _app(sim, p.req_str("appId"))
    name = _group_name(p, sim, app_id)
    if (
        sum(1 for g in sim.state.groups.values() if g.app_id == app_id)
        >= sim.config.max_groups_per_app
    ):
        raise PlatformError(
            -23, f"this application already has {sim.config.max_groups_per_app} agent groups"
        )
    group_id = sim.state.next_group_id()
    sim.state.groups[group_id] = AgentGroup(group_id, app_id, name, sim.now())


@endpoint("POST", "/v3/cc/seatGroup/updateGroup")
def update_group(sim: Simulator, p: Params) -> None:
    group = sim.state.group(p.req_int("voiceGroupId"))
    group.name = _group_name(p, sim, group.app_id, exclude=group.voice_group_id)


@endpoint("GET", "/v3/cc/seatGroup/deleteGroup")
def delete_group(sim: Simulator, p: Params) -> None:
    group = sim.state.group(p.req_int("voiceGroupId"))
    if sim.state.agents_in(group.voice_group_id):
        raise PlatformError(-64, "agents exist under this group; delete them first")
    del sim.state.groups[group.voice_group_id]


def _group_record(sim: Simulator, group: AgentGroup) -> dict[str, Any]:
    return {
        "voiceGroupId": group.voice_group_id,
        "callinStrategy": group.callin_strategy,
        "countSeat": len(sim.state.agents_in(group.voice_group_id)),
        "groupName": group.name,
        "appName": sim.state.apps[group.app_id].name,
    }


@endpoint("POST", "/v3/cc/seatGroup/query")
def query_groups(sim: Simulator, p: Params) -> dict[str, Any]:
    name = p.sub("params").text("groupName", required=False)
    groups = [g for g in sim.state.groups.values() if name is None or name in g.name]
    groups.sort(key=lambda g: g.voice_group_id, reverse=True)
    return _page(p, groups, lambda g: _group_record(sim, g))


@endpoint("GET", "/v3/cc/seatGroup/basicSettingResp")
def read_group_settings(sim: Simulator, p: Params) -> dict[str, Any]:
    g = sim.state.group(p.req_int("voiceGroupId"))
    return {
        # The documented field is voiceGroupId, the documented sample says seatGroupId: send both.
        "seatGroupId": g.voice_group_id,
        "voiceGroupId": g.voice_group_id,
        "groupName": g.name,
        "appName": sim.state.apps[g.app_id].name,
        "callinStrategy": g.callin_strategy,
        "timeoutTransferSec": g.timeout_transfer_sec,
        "callinAutoAnswerSec": g.callin_auto_answer_sec,
        "wrapUpTime": g.wrap_up_time,
        "timeoutIdle": g.timeout_idle,
        "timeoutWaitSec": g.timeout_wait_sec,
        "turnSeatRing": g.turn_seat_ring,
        "turnSeatRingUrl": (
            f"https://media.simulator.invalid/{g.turn_seat_ring}" if g.turn_seat_ring else None
        ),
        "labelName": list(g.label_names),
        "displaySwitch": g.display_switch,
        "encryptNumber": g.encrypt_number,
        "fsNode": g.fs_node,
    }


_CLEARABLE = {
    "timeoutTransferSec": "timeout_transfer_sec",
    "callinAutoAnswerSec": "callin_auto_answer_sec",
    "wrapUpTime": "wrap_up_time",
    "timeoutIdle": "timeout_idle",
    "timeoutWaitSec": "timeout_wait_sec",
}


@endpoint("POST", "/v3/cc/seatGroup/basicSetting")
def write_group_settings(sim: Simulator, p: Params) -> None:
    g = sim.state.group(p.req_int("voiceGroupId"))
    display_switch = p.choice("displaySwitch", (0, 1))
    encrypt_number = p.choice("encryptNumber", (0, 1))
    strategy = p.choice("callinStrategy", (1, 2, 3, 4), required=False)
    # "An empty value clears the previous setting" for these, so a present-but-empty field means None.
    cleared = {
        attr: p.integer(key, required=False, low=0)
        for key, attr in _CLEARABLE.items()
        if p.has(key)
    }
    labels: list[str] | None = None
    if p.has("labelName"):
        labels = p.str_list("labelName") or []
        if len(labels) > LABELS_MAX or any(not 0 < len(x) <= LABEL_LEN_MAX for x in labels):
            raise PlatformError(
                -22, f"labelName: at most {LABELS_MAX} tags, each 1-{LABEL_LEN_MAX} characters"
            )
        if len(set(labels)) != len(labels):
            raise PlatformError(-22, "labelName: tags must not repeat")
    fs_node = p.text("fsNode", required=False)
    if fs_node is not None and fs_node not in FS_NODES:
        raise PlatformError(-22, f"fsNode must be one of {', '.join(FS_NODES)}")
    # Everything is checked; apply.
    assert display_switch is not None and encrypt_number is not None
    g.display_switch, g.encrypt_number = display_switch, encrypt_number
    if strategy is not None:
        g.callin_strategy = strategy
    for attr, value in cleared.items():
        setattr(g, attr, value)
    if labels is not None:
        g.label_names = labels
    if p.has("turnSeatRing"):
        g.turn_seat_ring = p.text("turnSeatRing", required=False)
    if fs_node is not None:
        g.fs_node = fs_node


# --- agents (§3.7–3.11) ------------------------------------------------------------------------------


@endpoint("POST", "/v3/cc/seat/addSeatList")
def add_agents(sim: Simulator, p: Params) -> list[dict[str, Any]]:
    group = sim.state.group(p.req_int("voiceGroupId"))
    size = p.req_int("size", low=1, high=AGENT_BATCH_MAX)
    display_num = _display_num(p)
    ccode = _ccode(p)
    quota = sim.config.agent_quota_per_group
    remaining = quota - len(sim.state.agents_in(group.voice_group_id))
    if size > remaining:
        raise PlatformError(
            -36,
            f"exceeds the number that can be created: {remaining} of {quota} agents left in this group",
        )
    app = sim.state.apps[group.app_id]
    now = sim.now()
    created = []
    for _ in range(size):
        app.agents_created += 1
        name = f"{app.agent_prefix}_{app.agents_created:03d}"
        agent = Agent(
            key_id=sim.state.next_agent_id(),
            voice_group_id=group.voice_group_id,
            app_id=group.app_id,
            name=name,
            account=name,
            password=_password(sim),
            create_time=now,
            update_time=now,
            display_num=display_num,
            ccode=ccode,
        )
        sim.state.agents[agent.key_id] = agent
        created.append({"keyId": agent.key_id, "name": agent.name})
    return created


@endpoint("POST", "/v3/cc/seat/query")
def query_agents(sim: Simulator, p: Params) -> dict[str, Any]:
    q = p.sub("params")
    enable = q.choice("enable", (0, 1), required=False)
    name = q.text("name", required=False)
    group_id = q.integer("voiceGroupId", required=False)
    status = q.choice("status", (1, 2, 3, 4, 5), required=False)
    since = _time(sim, q, "strTime", required=False)
    until = _time(sim, q, "endTime", end=True, required=False)
    if since and until and until - since > timedelta(days=AGENT_STATS_WINDOW_DAYS):
        raise PlatformError(
            -25,
            "the statistics window (strTime to endTime) may be at most "
            f"{AGENT_STATS_WINDOW_DAYS} days",
        )
    agents = [
        a
        for a in sim.state.agents.values()
        if (enable is None or a.enable == enable)
        and (name is None or name.lower() in a.name.lower())
        and (group_id is None or a.voice_group_id == group_id)
        and (status is None or a.status == status)
    ]
    agents.sort(key=lambda a: a.key_id)

    def render(a: Agent) -> dict[str, Any]:
        rings = [
            ok
            for when, ok in a.rings
            if (not since or when >= since) and (not until or when <= until)
        ]
        group = sim.state.groups.get(a.voice_group_id)
        return {
            "keyId": a.key_id,
            "empNo": a.emp_no,
            "petName": a.pet_name,
            "name": a.name,
            "appId": a.app_id,
            "deleteFlag": 0,
            "enable": a.enable,
            "priority": a.priority,
            "voiceGroupId": a.voice_group_id,
            "groupName": group.name if group else None,
            "account": a.account,
            "password": a.password,  # the platform returns SIP passwords in clear (§3.8)
            "createTime": format_time(a.create_time, sim.config.zone),
            "updateTime": format_time(a.update_time, sim.config.zone),
            "displayNum": a.display_num,
            "ccode": a.ccode,
            "status": a.status,
            "num": len(rings),
            "connectNum": sum(rings),
            "connectRate": _percent(sum(rings), len(rings)),
        }

    return _page(p, agents, render)


@endpoint("GET", "/v3/cc/seat/querySipTotal")
def agent_quota(sim: Simulator, p: Params) -> dict[str, int]:
    group = sim.state.group(p.req_int("voiceGroupId"))
    total = sim.config.agent_quota_per_group
    return {
        "total": total,
        "remaining": max(0, total - len(sim.state.agents_in(group.voice_group_id))),
    }


@endpoint("POST", "/v3/cc/seat/updateSeat")
def update_agent(sim: Simulator, p: Params) -> None:
    key_id = p.req_int("keyId")
    agent = sim.state.agents.get(key_id)
    if agent is None:
        raise PlatformError(-24, f"agent {key_id} does not exist")
    group = sim.state.group(p.req_int("voiceGroupId"))
    name = p.req_str("name", min_len=1, max_len=AGENT_TEXT_MAX)
    emp_no = p.req_str("empNo", max_len=AGENT_TEXT_MAX)
    display_num = _display_num(p)
    ccode = _ccode(p, code=-66)
    pet_name = p.text("petName", required=False, max_len=AGENT_TEXT_MAX)
    password = p.text("password", required=False, max_len=AGENT_TEXT_MAX)
    if group.app_id != agent.app_id:
        raise PlatformError(-65, "the agent group does not belong to this agent's application")
    if password is not None and not is_alnum(password):
        raise PlatformError(-64, "the password may contain only letters and digits")
    others = [a for a in sim.state.agents.values() if a.key_id != key_id]
    if any(a.emp_no == emp_no for a in others):
        raise PlatformError(-34, f"job number (empNo) {emp_no!r} is already used by another agent")
    if any(a.name == name for a in others):
        raise PlatformError(-20, f"agent name {name!r} already exists")
    if agent.status == AGENT_BUSY:
        raise PlatformError(-67, "the agent is on a call; try again later")
    if (
        group.voice_group_id != agent.voice_group_id
        and len(sim.state.agents_in(group.voice_group_id)) >= sim.config.agent_quota_per_group
    ):
        raise PlatformError(-23, "the target agent group is full")
    agent.voice_group_id, agent.name, agent.emp_no = group.voice_group_id, name, emp_no
    if p.has("displayNum"):
        agent.display_num = display_num
    if p.has("ccode"):
        agent.ccode = ccode
    if p.has("petName"):
        agent.pet_name = pet_name
    if password is not None:
        agent.password = password
    agent.update_time = sim.now()


def _running_group_call_groups(sim: Simulator) -> set[int]:
    return {
        g
        for t in sim.state.tasks.values()
        if t.task_type == 1
        and (t.status in (TASK_SUBMITTING, TASK_CALLING) or t.runner is not None)
        for g in t.voice_group_ids
    }


@endpoint("POST", "/v3/cc/seat/batchingSeat")
def batch_agents(sim: Simulator, p: Params) -> None:
    action = p.choice("type", (2, 3, 4))
    ids = p.int_list("idList", required=True) or []
    missing = [i for i in ids if i not in sim.state.agents]
    if missing:
        raise PlatformError(-24, f"agents {', '.join(map(str, missing))} do not exist")
    agents = [sim.state.agents[i] for i in ids]
    if action == 2 and any(a.voice_group_id in _running_group_call_groups(sim) for a in agents):
        raise PlatformError(
            -68,
            "agents of a group in a running group-call task cannot be deleted until the task ends",
        )
    if action in (2, 3) and any(a.status == AGENT_BUSY for a in agents):
        raise PlatformError(-67, "an agent is on a call; try again later")
    now = sim.now()
    for agent in agents:
        if action == 2:
            del sim.state.agents[agent.key_id]
        else:
            agent.enable = 1 if action == 3 else 0
            agent.update_time = now


# --- numbers and tasks (§3.12–3.18) ------------------------------------------------------------------


@endpoint("POST", "/v3/cc/preview/upload")
def upload_numbers(sim: Simulator, p: Params) -> dict[str, Any]:
    file_name = p.req_str("fileName", min_len=UPLOAD_FILE_NAME_MIN, max_len=UPLOAD_FILE_NAME_MAX)
    content = p.raw("file")
    if not isinstance(content, str) or not content:
        raise PlatformError(-22, "file is required: the file content, base64-encoded")
    data = decode_upload(content, sim.config.max_upload_bytes)
    parsed = parse_numbers(data, file_name, UPLOAD_ROWS_MAX)
    now = sim.now()
    suffix = "." + file_name.rsplit(".", 1)[1].lower() if "." in file_name else ".xls"
    tag = "".join(sim.rng.choice(string.ascii_letters + string.digits) for _ in range(7))
    stamp = format_time(now, sim.config.zone) or ""
    stamp = stamp.replace("-", "").replace(" ", "").replace(":", "")
    path = f"/mnt/cc/upload/execl/{stamp}{now.microsecond // 1000:03d}_{tag}{suffix}"
    sim.state.uploads[path] = UploadedFile(
        path, file_name, parsed.callees, parsed.info_headers, parsed.duplicate_count, now
    )
    return {
        "filePath": path,
        "numberTotalCount": len(parsed.callees),
        "numberSameCount": parsed.duplicate_count,
    }


@dataclass
class _TaskSettings:
    task_type: int
    app_id: str | None
    group_ids: list[int]
    callout_rate: int
    display_num: str | None
    ccode: str | None
    remark: str | None


def _task_settings(sim: Simulator, p: Params) -> _TaskSettings:
    """The fields submitTask and resendTask share, with their rules (type 1 needs one group of the app)."""
    if sim.config.no_minimum_rate:
        raise PlatformError(-77, "no minimum rate is configured under this application")
    task_type = p.choice("type", (0, 1))
    group_ids = p.int_list("voiceGroupId") or []
    app_id = p.text("appId", required=task_type == 1)
    # limits.py's range is an ASSUMPTION; above it is -22 like any out-of-range field.
    rate = p.integer(
        "calloutRate", required=task_type == 1, low=CALLOUT_RATE_MIN, high=CALLOUT_RATE_MAX
    )
    if task_type == 1 and len(group_ids) != 1:
        raise PlatformError(-22, "a group call to agents (type 1) needs exactly one voiceGroupId")
    if app_id is not None:
        _app(sim, app_id)
    for group_id in group_ids:
        group = sim.state.group(group_id)
        if app_id is not None and group.app_id != app_id:
            raise PlatformError(
                -74, f"agent group {group_id} does not belong to application {app_id!r}"
            )
    return _TaskSettings(
        task_type=task_type if task_type is not None else 0,
        app_id=app_id,
        group_ids=group_ids,
        callout_rate=rate or 1,
        display_num=_display_num(p),
        ccode=_ccode(p),
        remark=p.text("remark", required=False, max_len=REMARK_MAX),
    )


@endpoint("POST", "/v3/cc/preview/submitTask")
def submit_task(sim: Simulator, p: Params) -> int:
    file_path = p.req_str("filePath")
    file_name = p.req_str("fileName")
    settings = _task_settings(sim, p)
    max_ring = p.integer(
        "maxRingingTime", required=False, low=RINGING_TIME_MIN, high=RINGING_TIME_MAX
    )
    upload = sim.state.uploads.get(file_path)
    if upload is None:
        raise PlatformError(
            -24, f"no uploaded file at {file_path!r}; upload it with preview/upload first"
        )
    headers = [h for h in upload.info_headers if h]
    if len(set(headers)) != len(headers):
        raise PlatformError(-43, "the callee information header columns must not repeat")
    if not upload.callees:
        raise PlatformError(-22, "the uploaded file has no phone numbers")
    if sim.state.balance <= 0:
        raise PlatformError(-10, "insufficient balance")
    task = Task(
        task_id=sim.state.next_task_id(),
        task_type=settings.task_type,
        app_id=settings.app_id,
        voice_group_ids=settings.group_ids,
        callout_rate=settings.callout_rate,
        display_num=settings.display_num,
        ccode=settings.ccode,
        remark=settings.remark,
        max_ringing_time=max_ring,
        file_name=file_name,
        file_path=file_path,
        info_headers=list(upload.info_headers),
        numbers=[
            TaskNumber(sim.state.next_number_id(), c.called, list(c.info)) for c in upload.callees
        ],
        create_time=sim.now(),
    )
    sim.state.tasks[task.task_id] = task
    sim.engine.start(task)
    return task.task_id


def _task(sim: Simulator, p: Params) -> Task:
    return sim.state.task(p.req_int("taskId"))


@endpoint("POST", "/v3/cc/preview/resendTask")
def resend_task(sim: Simulator, p: Params) -> None:
    task = _task(sim, p)
    resend_type = p.choice("resendType", (1, 2, 3))
    settings = _task_settings(sim, p)
    if not task.finished or task.runner is not None:
        raise PlatformError(
            -41, "bad status: the task is still running; wait until it ends or cancel it"
        )
    wanted = {1: {NUMBER_ABNORMAL}, 2: {NUMBER_NOT_CALLED}}.get(resend_type or 3)
    numbers = [n for n in task.numbers if wanted is None or n.status in wanted]
    if not numbers:
        raise PlatformError(-42, "no numbers match: the number count is 0")
    for number in numbers:
        number.status, number.error_reason = NUMBER_NOT_CALLED, None
    task.task_type, task.voice_group_ids = settings.task_type, settings.group_ids
    task.app_id, task.callout_rate = settings.app_id, settings.callout_rate
    for attr in ("display_num", "ccode", "remark"):
        if getattr(settings, attr) is not None:
            setattr(task, attr, getattr(settings, attr))
    sim.engine.start(task)


def _task_record(sim: Simulator, t: Task) -> dict[str, Any]:
    total = len(t.numbers)
    remain = t.count(NUMBER_NOT_CALLED) + t.count(NUMBER_CALLING)
    groups = [sim.state.groups[g].name for g in t.voice_group_ids if g in sim.state.groups]
    return {
        "taskId": t.task_id,
        "voiceGroupId": list(t.voice_group_ids),
        "seatGroupName": ",".join(groups),
        "remainCount": remain,
        "totalCount": total,
        "remark": t.remark,
        "ccode": t.ccode,
        "codeName": country_name(t.ccode),
        "taskStatus": t.status,
        "taskType": t.task_type,
        "finishFlag": 1 if t.finished else 0,
        "completedRate": _percent(total - remain, total),
        "groupTaskId": t.task_id,
        "transfersNum": t.transfers,
        "callFailuresNum": t.call_failures,
        # Past the end of the stored docs; a real task list surely shows these (inferred).
        "callingNumber": t.count(NUMBER_CALLING),
        "calloutRate": t.callout_rate,
        "fileName": t.file_name,
        "displayNum": t.display_num,
        "createTime": format_time(t.create_time, sim.config.zone),
    }


@endpoint("POST", "/v3/cc/preview/query")
def query_tasks(sim: Simulator, p: Params) -> dict[str, Any]:
    q = p.sub("params")
    since = _time(sim, q, "startTime", required=False)
    until = _time(sim, q, "endTime", end=True, required=False)
    task_id = q.integer("taskId", required=False)
    statuses = q.int_list("taskStatus")
    task_type = q.choice("taskType", (0, 1), required=False)
    finish = q.choice("finishFlag", (0, 1), required=False)
    group_ids = q.int_list("voiceGroupIds")
    tasks = [
        t
        for t in sim.state.tasks.values()
        if (since is None or t.create_time >= since)
        and (until is None or t.create_time <= until)
        and (task_id is None or t.task_id == task_id)
        and (statuses is None or t.status in statuses)
        and (task_type is None or t.task_type == task_type)
        and (finish is None or int(t.finished) == finish)
        and (group_ids is None or set(group_ids) & set(t.voice_group_ids))
    ]
    tasks.sort(key=lambda t: t.task_id, reverse=True)
    return _page(p, tasks, lambda t: _task_record(sim, t))


def _mask(number: str) -> str:
    return number[:4] + "****" + number[-4:] if len(number) > 8 else "****"


@endpoint("POST", "/v3/cc/preview/queryTaskDetail")
def query_task_numbers(sim: Simulator, p: Params) -> dict[str, Any]:
    q = p.sub("params", required=True)
    task = _task(sim, q)
    called = q.text("called", required=False)
    group_id = q.integer("sipGroupId", required=False)
    seat_ids = q.int_list("seatId")
    labels = q.str_list("labelNames")
    remark = q.text("remark", required=False)
    statuses = q.int_list("statusList")
    seat_names = (
        {sim.state.agents[i].name for i in seat_ids if i in sim.state.agents} if seat_ids else None
    )
    group_name = sim.state.groups[group_id].name if group_id in sim.state.groups else None
    numbers = [
        n
        for n in task.numbers
        if (called is None or called in n.called)
        and (group_id is None or n.group_name == group_name)
        and (seat_names is None or n.seat_name in seat_names)
        and (labels is None or set(labels) & set(n.labels))
        and remark is None  # rows carry no remark, so a remark filter matches none
        and (statuses is None or n.status in statuses)
    ]
    masked = any(
        sim.state.groups[g].encrypt_number == 0
        for g in task.voice_group_ids
        if g in sim.state.groups
    )

    def render(n: TaskNumber) -> dict[str, Any]:
        row: dict[str, Any] = {
            "keyId": n.key_id,
            "encryptCalled": _mask(n.called) if masked else n.called,
            "seatName": n.seat_name,
            "sipGroupName": n.group_name,
            "labelName": ",".join(n.labels),
            "remark": "",
            "callId": n.call_id,
            "errorReason": n.error_reason,
            "status": n.status,
            "callCount": n.call_count,
        }
        for i in range(len(task.info_headers)):
            row[f"var{i + 1:02d}"] = n.info[i] if i < len(n.info) else ""
        return row

    return _page(p, numbers, render)


@endpoint("POST", "/v3/cc/preview/agent/editTask")
def edit_task(sim: Simulator, p: Params) -> None:
    task = _task(sim, p)
    rate = p.req_int("calloutRate", low=CALLOUT_RATE_MIN, high=CALLOUT_RATE_MAX)
    remark = p.text("remark", required=False, max_len=REMARK_MAX)
    if task.task_type != 1:
        raise PlatformError(-22, "only a group call to agents (type 1) can be edited")
    if task.finished:
        raise PlatformError(-41, "bad status: the task has already ended")
    task.callout_rate = rate
    if p.has("remark"):
        task.remark = remark


@endpoint("POST", "/v3/cc/preview/agent/cancelTask")
def cancel_task(sim: Simulator, p: Params) -> None:
    task = _task(sim, p)
    if task.finished:
        raise PlatformError(-41, "bad status: the task has already ended")
    task.status = TASK_CANCELLED  # calls in progress finish; no new ones start


# --- call records (§3.19, §3.20) ---------------------------------------------------------------------


def _filter_records(
    sim: Simulator, q: Params, since: datetime, until: datetime, *, with_ids: bool
) -> list[CallRecord]:
    group_id = q.integer("voiceGroupId", required=False) if with_ids else None
    seat_ids = q.int_list("seatId") if with_ids else None
    group_name = q.text("sipGroupName", required=False)
    seat_names = q.str_list("seatNameList")
    call_types = q.int_list("callType")
    reasons = q.int_list("hangupReason")
    number = q.text("calledOrCaller", required=False)
    ccodes = q.str_list("ccode")
    directions = q.int_list("hangingDirection")
    labels = q.str_list("labelNames")

    def keep(r: CallRecord) -> bool:
        return (
            since <= r.call_start <= until
            and (group_id is None or r.voice_group_id == group_id)
            and (seat_ids is None or r.seat_id in seat_ids)
            and (group_name is None or r.agent_group_name == group_name)
            and (seat_names is None or r.agent_name in seat_names)
            and (call_types is None or r.call_type in call_types)
            and (reasons is None or r.hangup_reason in reasons)
            and (number is None or number in (r.called, r.caller))
            and (ccodes is None or r.ccode in ccodes)
            and (directions is None or r.hanging_direction in directions)
            and (labels is None or bool(set(labels) & set(r.labels)))
        )

    records = [r for r in sim.state.records if keep(r)]
    records.sort(key=lambda r: (r.call_start, r.call_session_id), reverse=True)
    return records


def _window(sim: Simulator, q: Params, start_name: str) -> tuple[datetime, datetime]:
    """The required time range of a record query."""
    since = _time(sim, q, start_name)
    until = _time(sim, q, "endTime", end=True)
    assert since is not None and until is not None  # required: _time raised otherwise
    return since, until


def _record_page(sim: Simulator, p: Params, records: list[CallRecord]) -> dict[str, Any]:
    return _page(p, records, lambda r: r.push_body(sim.config.zone))


@endpoint("POST", "/v3/cc/record/query")
def query_records(sim: Simulator, p: Params) -> dict[str, Any]:
    q = p.sub("params", required=True)
    since, until = _window(sim, q, "startTime")
    return _record_page(sim, p, _filter_records(sim, q, since, until, with_ids=True))


@endpoint("POST", "/v3/voice/ccRecordQuery")
def query_records_v1(sim: Simulator, p: Params) -> dict[str, Any]:
    q = p.sub("params", required=True)
    since, until = _window(sim, q, "strTime")
    if until - since > timedelta(days=LEGACY_RECORD_WINDOW_DAYS):
        raise PlatformError(
            -25, f"strTime and endTime may be at most {LEGACY_RECORD_WINDOW_DAYS} days apart"
        )
    if since < sim.now() - timedelta(days=LEGACY_RECORD_HISTORY_DAYS):
        raise PlatformError(-25, "only the last two months can be queried")
    return _record_page(sim, p, _filter_records(sim, q, since, until, with_ids=False))


# --- account (§3.21) ---------------------------------------------------------------------------------


@endpoint("GET", "/v3/getBalance", top_level=True)
def balance(sim: Simulator, p: Params) -> dict[str, str]:
    return {
        "balance": f"{sim.state.balance:.4f}",
        "gift": sim.config.gift,
        "credit": sim.config.credit,
    }
