"""The signed Laaffic call-center client: one typed method per endpoint of platform-api.md §3 that
the bot calls (the simulator also answers the others: renaming or deleting groups, changing
agents and group settings, querying call records).

Each method checks its arguments against `limits.py` before anything is sent (InvalidRequest, a
plain sentence), builds the request model, and hands it to the transport (`transport.py`), whose
docstring has the rules for when a request is sent again. The creates (add group, add agents,
submit task) also say here how to recognise, after a lost answer, whether they took effect.

Times: the platform writes "yyyy-MM-dd HH:mm:ss" wall time in its zone (`platform_tz`, from
PLATFORM_TIMEZONE). Methods take aware datetimes and write them in that zone; every time in an
answer comes back as an aware UTC datetime.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict, TypeVar, Unpack
from zoneinfo import ZoneInfo

from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.i18n import _
from bot.laaffic import preflight
from bot.laaffic.errors import PlatformError, PlatformOutcomeUnknown
from bot.laaffic.limits import (
    AGENT_STATS_WINDOW_DAYS,
    PAGE_SIZE_MAX,
)
from bot.laaffic.models import (
    DEFAULT_PLATFORM_TZ,
    AddAgentsRequest,
    AddGroupRequest,
    Agent,
    AgentGroup,
    AgentQuota,
    Balance,
    CancelTaskRequest,
    CreatedAgent,
    EditTaskRequest,
    GroupSettings,
    Page,
    PageRequest,
    ResendTaskRequest,
    ResendType,
    SubmitTaskRequest,
    Task,
    TaskNumber,
    TaskSettings,
    TaskStatus,
    TaskType,
    UploadRequest,
    UploadResult,
    format_platform_time,
)
from bot.laaffic.transport import (
    CallOutcome,
    Observer,
    PlatformFailure,
    Transport,
    TransportOptions,
    sanitise,
)

__all__ = ["CallOutcome", "LaafficClient", "Observer", "PlatformFailure"]

log = logging.getLogger(__name__)

# Endpoint paths (platform-api.md §3.0).
ADD_GROUP = "/v3/cc/seatGroup/addGroup"
QUERY_GROUPS = "/v3/cc/seatGroup/query"
GET_GROUP_SETTINGS = "/v3/cc/seatGroup/basicSettingResp"
ADD_AGENTS = "/v3/cc/seat/addSeatList"
QUERY_AGENTS = "/v3/cc/seat/query"
AGENT_QUOTA = "/v3/cc/seat/querySipTotal"
UPLOAD = "/v3/cc/preview/upload"
SUBMIT_TASK = "/v3/cc/preview/submitTask"
RESEND_TASK = "/v3/cc/preview/resendTask"
QUERY_TASKS = "/v3/cc/preview/query"
TASK_DETAIL = "/v3/cc/preview/queryTaskDetail"
EDIT_TASK = "/v3/cc/preview/agent/editTask"
CANCEL_TASK = "/v3/cc/preview/agent/cancelTask"
BALANCE = "/v3/getBalance"

MAX_PAGES = 1000  # a guard against a platform that never reports the last page

_CREATED_AGENTS = TypeAdapter(list[CreatedAgent])

M = TypeVar("M", bound=BaseModel)


class TaskFields(TypedDict, total=False):
    """The task settings one by one, for callers that do not build a TaskSettings."""

    voice_group_ids: Sequence[int]
    callout_rate: int | None
    display_num: str | None
    ccode: str | None
    remark: str | None
    max_ringing_time: int | None  # submitTask only
    app_id: str | None  # default: the client's application


class LaafficClient:
    """Async client for the platform's call-center API. One shared keep-alive connection pool."""

    # Page size used when the client pages through a whole list itself (list_*, checks).
    list_page_size: int = PAGE_SIZE_MAX

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        app_id: str,
        *,
        platform_tz: ZoneInfo = DEFAULT_PLATFORM_TZ,
        **transport: Unpack[TransportOptions],
    ) -> None:
        """`platform_tz` is PLATFORM_TIMEZONE; `transport` holds the timeouts, retries, backoff,
        settle time and observer (see Transport for their defaults)."""
        self.app_id = app_id
        self.platform_tz = platform_tz
        self._transport = Transport(base_url, api_key, api_secret, **transport)

    def __repr__(self) -> str:
        return f"LaafficClient(base_url={self.base_url!r}, app_id={self.app_id!r})"

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> LaafficClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def clock_offset_s(self) -> float:
        """Platform time minus this server's time, learnt from a -16 answer (0 until then)."""
        return self._transport.clock_offset_s

    @property
    def last_error(self) -> PlatformFailure | None:
        """The last platform call that failed (time, endpoint, code, sentence); None until one does."""
        return self._transport.last_error

    # ------------------------------------------------------------------ helpers

    def _parse(self, model: type[M], data: Any, path: str) -> M:
        return self._transport.parse(model, data, path, self.platform_tz)

    def _wall_time(self, moment: datetime) -> str:
        """An aware datetime as the platform's "yyyy-MM-dd HH:mm:ss" in its zone."""
        return format_platform_time(moment, self.platform_tz)

    def _platform_date(self, moment: date, what: str) -> str:
        """The task query's `startTime`/`endTime`: the docs' sample is a plain date, "2025-01-10".
        A date is a calendar day of the platform; a datetime is taken to the platform's day."""
        if isinstance(moment, datetime):
            moment = preflight.check_aware(moment, what).astimezone(self.platform_tz).date()
        return moment.isoformat()

    async def _all_pages(self, fetch: Callable[[int], Awaitable[Page[M]]]) -> list[M]:
        records: list[M] = []
        for number in range(1, MAX_PAGES + 1):
            page = await fetch(number)
            records.extend(page.records)
            if not page.records or number >= page.pages:
                break
        return records

    # ------------------------------------------------------------------ agent groups

    async def add_group(self, group_name: str, app_id: str | None = None) -> int:
        """Create an agent group and return its voiceGroupId.

        addGroup returns no id, so the new group is found by exact name in the group list. Groups
        with that name listed before the create (other applications may use it) are left out.
        """
        preflight.check_group_name(group_name)
        body = AddGroupRequest(group_name=group_name, app_id=app_id or self.app_id).wire()
        before = await self._transport.snapshot(ADD_GROUP, self._group_ids_named(group_name))

        async def new_group() -> int | None:
            new = await self._group_ids_named(group_name) - before
            return max(new) if new else None

        try:
            outcome = await self._transport.create(
                ADD_GROUP,
                body,
                took_effect=new_group,
                where=_("the agent group list for {name}", name=repr(group_name)),
            )
        except PlatformError as exc:
            # -20 on the second send: the first one did arrive after all.
            if exc.code == "-20" and (found := await new_group()) is not None:
                log.warning("%s: group %r exists after all (id %s)", ADD_GROUP, group_name, found)
                return found
            raise
        if isinstance(outcome, int):
            return outcome
        reason = "created, but not in the group list"
        try:
            for attempt in range(3):
                if attempt:
                    await asyncio.sleep(self._transport.backoff * attempt)
                found = await new_group()
                if found is not None:
                    return found
        except PlatformError as exc:
            reason = f"created, but the group list could not be read: {exc.detail}"
        raise PlatformError(
            "",
            reason,
            ADD_GROUP,
            _(
                "The agent group {name} was created, but the bot could not read its ID from the "
                "platform. Do not create it again; list the groups in a minute to find it.",
                name=repr(group_name),
            ),
        )

    async def _group_ids_named(self, group_name: str) -> set[int]:
        groups = await self.list_groups(group_name)
        return {g.voice_group_id for g in groups if g.group_name == group_name}

    async def query_groups(
        self, group_name: str | None = None, page: int = 1, size: int = PAGE_SIZE_MAX
    ) -> Page[AgentGroup]:
        preflight.check_page(page, size)
        params = {"groupName": group_name} if group_name else {}
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._transport.read("POST", QUERY_GROUPS, body=body)
        return self._parse(Page[AgentGroup], envelope.data, QUERY_GROUPS)

    async def list_groups(self, group_name: str | None = None) -> list[AgentGroup]:
        """Every group (all pages). `group_name` is passed to the platform's own filter."""
        return await self._all_pages(
            lambda n: self.query_groups(group_name, page=n, size=self.list_page_size)
        )

    async def get_group_settings(self, voice_group_id: int) -> GroupSettings:
        envelope = await self._transport.read(
            "GET", GET_GROUP_SETTINGS, params={"voiceGroupId": voice_group_id}
        )
        data = envelope.data
        if isinstance(data, dict) and not ({"voiceGroupId", "seatGroupId"} & data.keys()):
            data = {**data, "voiceGroupId": voice_group_id}
        return self._parse(GroupSettings, data, GET_GROUP_SETTINGS)

    # ------------------------------------------------------------------ agents

    async def add_agents(
        self,
        voice_group_id: int,
        size: int,
        display_num: str | None = None,
        ccode: str | None = None,
    ) -> list[CreatedAgent]:
        """Create `size` agents in a group; returns their keyIds and account names.

        The group's agents are listed first, so that after a lost answer the new ones can be told
        from the old ones.
        """
        preflight.check_agent_count(size)
        preflight.check_display_num(display_num)
        preflight.check_ccode(ccode)
        body = AddAgentsRequest(
            voice_group_id=voice_group_id, size=size, display_num=display_num, ccode=ccode
        ).wire()
        agents = await self._transport.snapshot(ADD_AGENTS, self.list_agents(voice_group_id))
        before = {a.key_id for a in agents}
        where = _("the agents of group {group_id}", group_id=voice_group_id)

        async def created() -> list[CreatedAgent] | None:
            new = [a for a in await self.list_agents(voice_group_id) if a.key_id not in before]
            if not new:
                return None
            if len(new) == size:
                return [CreatedAgent(key_id=a.key_id, name=a.name) for a in new]
            raise PlatformOutcomeUnknown(
                ADD_AGENTS, f"{len(new)} new agents found, {size} asked for", where=where
            )

        outcome = await self._transport.create(ADD_AGENTS, body, took_effect=created, where=where)
        if isinstance(outcome, list):
            return outcome
        try:
            return _CREATED_AGENTS.validate_python(outcome.data or [])
        except ValidationError as exc:
            problem = f"created, but the answer had {exc.error_count()} field problem(s)"
        try:  # they were created: read them from the group instead
            found = await created()
        except PlatformError:
            found = None
        if found is not None:
            return found
        raise PlatformError(
            "bad-answer",
            problem,
            ADD_AGENTS,
            _(
                "The agents were created, but the bot could not read which ones from the "
                "platform's answer. Do not create them again; list the agents of group "
                "{group_id}.",
                group_id=voice_group_id,
            ),
        )

    async def query_agents(
        self,
        voice_group_id: int | None = None,
        *,
        name: str | None = None,
        status: int | None = None,
        enable: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        page: int = 1,
        size: int = PAGE_SIZE_MAX,
    ) -> Page[Agent]:
        """One page of agents with their call statistics between `start` and `end` (aware).

        The newer docs make the statistics window (strTime/endTime) required; it defaults to the
        last 24 hours and may span at most AGENT_STATS_WINDOW_DAYS days.
        """
        preflight.check_page(page, size)
        what = "agent statistics window"
        end = preflight.check_aware(end, f"end of the {what}") if end else datetime.now(UTC)
        start = (
            preflight.check_aware(start, f"start of the {what}")
            if start
            else end - timedelta(hours=24)
        )
        preflight.check_window(start, end, what, AGENT_STATS_WINDOW_DAYS)
        if enable is not None:
            preflight.require(enable in (0, 1), "enable must be 0 (enabled) or 1 (disabled).")
        params: dict[str, Any] = {
            "voiceGroupId": voice_group_id,
            "name": name,
            "status": int(status) if status is not None else None,
            "enable": enable,
            "strTime": self._wall_time(start),
            "endTime": self._wall_time(end),
        }
        params = {k: v for k, v in params.items() if v is not None}
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._transport.read("POST", QUERY_AGENTS, body=body)
        return self._parse(Page[Agent], envelope.data, QUERY_AGENTS)

    async def list_agents(self, voice_group_id: int | None = None, **filters: Any) -> list[Agent]:
        """Every agent matching the filters of `query_agents` (all pages)."""
        filters.pop("page", None)
        filters.pop("size", None)
        return await self._all_pages(
            lambda n: self.query_agents(voice_group_id, page=n, size=self.list_page_size, **filters)
        )

    async def agent_quota(self, voice_group_id: int) -> AgentQuota:
        envelope = await self._transport.read(
            "GET", AGENT_QUOTA, params={"voiceGroupId": voice_group_id}
        )
        return self._parse(AgentQuota, envelope.data, AGENT_QUOTA)

    # ------------------------------------------------------------------ numbers and tasks

    async def upload_numbers(self, file_name: str, content: bytes) -> UploadResult:
        """Upload a callee number file (Excel); its `file_path` is what submit_task needs.

        After a lost answer the upload is sent once more without checking: an uploaded file is
        only used once a task is submitted with its filePath, so an orphan copy is harmless.
        """
        preflight.check_upload_file_name(file_name)
        preflight.require(bool(content), _("The number file is empty."))
        body = UploadRequest(file_name=file_name, file=base64.b64encode(content).decode()).wire()
        envelope = await self._transport.write_repeatable(
            UPLOAD,
            body,
            arguments=sanitise(body, file_size=len(content)),
            http_timeout=self._transport.upload_timeout,
            gave_up=_(
                "Could not reach the Laaffic platform to upload the number file. A file that "
                "arrived without an answer is never used, so it is safe to send the file again "
                "in a few minutes."
            ),
        )
        return self._parse(UploadResult, envelope.data, UPLOAD)

    def task_settings(self, task_type: TaskType, **fields: Unpack[TaskFields]) -> TaskSettings:
        """The settings of a task, checked now (InvalidRequest); the application defaults to ours.
        Build them once (for a draft, say) and pass them to submit_task and resend_task."""
        return TaskSettings(
            type=task_type,
            voice_group_id=list(fields.get("voice_group_ids", ())),
            app_id=fields.get("app_id") or self.app_id,
            callout_rate=fields.get("callout_rate"),
            display_num=fields.get("display_num"),
            ccode=fields.get("ccode"),
            remark=fields.get("remark"),
            max_ringing_time=fields.get("max_ringing_time"),
        )

    def _settings_of(
        self, settings: TaskSettings | None, task_type: TaskType | None, fields: TaskFields
    ) -> TaskSettings:
        if settings is not None:
            given = [k for k, v in fields.items() if v is not None and v != () and v != []]
            if task_type is not None or given:
                raise TypeError("give either `settings` or the separate task fields, not both")
            return settings
        if task_type is None:
            raise TypeError("give the task type (or `settings`)")
        return self.task_settings(task_type, **fields)

    async def submit_task(
        self,
        *,
        file_path: str,
        file_name: str,
        settings: TaskSettings | None = None,
        task_type: TaskType | None = None,
        **fields: Unpack[TaskFields],
    ) -> int | None:
        """Create a calling task from an uploaded file; returns its taskId.

        Takes `settings` (see `task_settings`), or the same fields one by one.
        None only when the platform (older versions) returns no id and the task cannot be found.
        The recent tasks of the same type and groups are listed first, so that after a lost answer
        the new task can be recognised (by filePath/fileName when the platform reports them,
        otherwise as the single new task with the same type, groups, remark and country).
        """
        settings = self._settings_of(settings, task_type, fields)
        request = SubmitTaskRequest(file_path=file_path, file_name=file_name, **settings.fields())
        before = await self._transport.snapshot(
            SUBMIT_TASK, self._recent_tasks(request.task_type, request.group_ids)
        )
        where = _("the task list (file {name})", name=repr(file_name))

        async def submitted() -> int | None:
            return await self._find_new_task(request, before, where)

        outcome = await self._transport.create(
            SUBMIT_TASK, request.wire(), took_effect=submitted, where=where
        )
        if isinstance(outcome, int):
            return outcome
        data = outcome.data
        if isinstance(data, dict):  # tolerate {"taskId": …}
            data = data.get("taskId")
        try:
            return int(data)
        except (TypeError, ValueError):
            # Older deployments answer data: null; look the task up instead.
            try:
                return await self._find_new_task(request, before, where)
            except PlatformError:
                return None

    async def _recent_tasks(self, task_type: TaskType, groups: list[int]) -> dict[int, Task]:
        """Tasks of this type and groups on the first and the last page (the newest are on one
        of them, whichever order the platform lists in)."""

        async def page(number: int) -> Page[Task]:
            return await self.query_tasks(
                task_type=task_type,
                voice_group_ids=groups or None,
                page=number,
                size=self.list_page_size,
            )

        first = await page(1)
        tasks = {t.task_id: t for t in first.records}
        if first.pages > 1:
            tasks.update({t.task_id: t for t in (await page(first.pages)).records})
        return tasks

    async def _find_new_task(
        self, request: SubmitTaskRequest, before: dict[int, Task], where: str
    ) -> int | None:
        now = await self._recent_tasks(request.task_type, request.group_ids)
        # Only tasks absent before count; no assumption that task ids grow, as a wrong guess
        # here would mean submitting (and calling everyone) twice.
        new = [
            t
            for t in now.values()
            if t.task_id not in before
            and t.task_type == request.type
            and set(t.voice_group_ids) == set(request.group_ids)
            and (request.remark is None or t.remark in (None, request.remark))
            and (request.ccode is None or t.ccode in (None, request.ccode))
        ]
        same_file = [
            t
            for t in new
            if t.file_path == request.file_path
            or (t.file_path is None and t.file_name == request.file_name)
        ]
        if same_file:
            return max(t.task_id for t in same_file)
        unlabelled = [t for t in new if t.file_path is None and t.file_name is None]
        if len(unlabelled) == 1:
            return unlabelled[0].task_id
        if unlabelled:
            raise PlatformOutcomeUnknown(
                SUBMIT_TASK, f"{len(unlabelled)} new tasks could be this one", where=where
            )
        return None

    async def resend_task(
        self,
        task_id: int,
        resend_type: ResendType,
        task_type: TaskType | None = None,
        *,
        settings: TaskSettings | None = None,
        **fields: Unpack[TaskFields],
    ) -> None:
        """Re-run a task's failed, not-called or all numbers. Never repeated after a lost answer.

        Takes `settings` (see `task_settings`; its maximum ringing time is not a resendTask field
        and is left out), or the same fields one by one.
        """
        settings = self._settings_of(settings, task_type, fields)
        body = ResendTaskRequest(
            task_id=task_id, resend_type=resend_type, **settings.fields()
        ).wire()
        await self._transport.write("POST", RESEND_TASK, body=body)

    async def query_tasks(
        self,
        *,
        task_id: int | None = None,
        statuses: Iterable[TaskStatus | int] | None = None,
        task_type: TaskType | None = None,
        finish_flag: bool | int | None = None,
        voice_group_ids: Sequence[int] | None = None,
        start: date | None = None,
        end: date | None = None,
        page: int = 1,
        size: int = PAGE_SIZE_MAX,
    ) -> Page[Task]:
        """One page of tasks. `start`/`end` (dates, or aware datetimes) are sent as the platform's
        calendar day, as in the docs' sample ("2025-01-10")."""
        preflight.check_page(page, size)
        params: dict[str, Any] = {
            "taskId": str(task_id) if task_id is not None else None,
            "taskStatus": [int(s) for s in statuses] if statuses is not None else None,
            "taskType": int(task_type) if task_type is not None else None,
            "finishFlag": int(finish_flag) if finish_flag is not None else None,
            "voiceGroupIds": list(voice_group_ids) if voice_group_ids else None,
            "startTime": self._platform_date(start, "start of the task query") if start else None,
            "endTime": self._platform_date(end, "end of the task query") if end else None,
        }
        params = {k: v for k, v in params.items() if v is not None}
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._transport.read("POST", QUERY_TASKS, body=body)
        return self._parse(Page[Task], envelope.data, QUERY_TASKS)

    async def get_task(self, task_id: int) -> Task | None:
        page = await self.query_tasks(task_id=task_id, page=1, size=10)
        return next((t for t in page.records if t.task_id == task_id), None)

    async def task_detail(
        self,
        task_id: int,
        *,
        statuses: Iterable[int] | None = None,
        called: str | None = None,
        page: int = 1,
        size: int = PAGE_SIZE_MAX,
    ) -> Page[TaskNumber]:
        """One page of a task's numbers (status 1 calling, 5 not called, 7 abnormal, 9 called)."""
        preflight.check_page(page, size)
        params: dict[str, Any] = {"taskId": task_id}
        if statuses is not None:
            params["statusList"] = [int(s) for s in statuses]
        if called:
            params["called"] = called
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._transport.read("POST", TASK_DETAIL, body=body)
        return self._parse(Page[TaskNumber], envelope.data, TASK_DETAIL)

    async def edit_task(self, task_id: int, callout_rate: int, remark: str | None = None) -> None:
        """Change the call-out rate (and remark) of a group-call-to-agents task."""
        preflight.check_callout_rate(callout_rate)
        preflight.check_remark(remark)
        body = EditTaskRequest(task_id=task_id, callout_rate=callout_rate, remark=remark).wire()
        await self._transport.write("POST", EDIT_TASK, body=body)

    async def cancel_task(self, task_id: int) -> None:
        await self._transport.write(
            "POST", CANCEL_TASK, body=CancelTaskRequest(task_id=task_id).wire()
        )

    # ------------------------------------------------------------------ balance

    async def balance(self) -> Balance:
        """Balance, gift and credit: top-level fields of the answer, not inside `data` (§3.21)."""
        envelope = await self._transport.read("GET", BALANCE)
        fields = dict(envelope.model_extra or {})
        if isinstance(envelope.data, dict):
            fields.update(envelope.data)
        return self._parse(Balance, fields, BALANCE)
