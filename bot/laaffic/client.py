"""The signed Laaffic call-center client: one typed method per endpoint of platform-api.md §3.

Safety rules, because a repeated create can mean customers called twice:
- Reads (queries, settings, quota, balance) are retried with backoff after a timeout, a dropped
  connection or an HTTP 5xx.
- A request that never left (connection refused, connect timeout) is sent again, whatever it is:
  the platform cannot have seen it.
- A create (add group, add agents, submit task) whose answer is lost after sending is never sent again
  blindly: the client first checks whether it took effect. Found → the result is returned and a
  warning logged ("recovered"). Not found → sent once more. Cannot tell → PlatformOutcomeUnknown.
- Upload is the exception among creates: a lost-answer upload is sent once more without a check,
  because an uploaded file that nobody submits is never dialled or charged; it only costs the
  transfer. Its filePath is simply never used.
- Other writes (rename, delete, settings, agent edits, batch, re-run, edit rate, cancel) are not
  repeated after a lost answer: PlatformUnavailable(may_have_taken_effect=True) tells the user to
  check first.
- On -16 (timestamp expired) the client takes the platform's time from the HTTP `Date` header, keeps
  the offset for later calls and sends the request once more (a -16 request was not carried out).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from bot.laaffic.errors import (
    PlatformError,
    PlatformOutcomeUnknown,
    PlatformUnavailable,
    action,
    bad_answer_error,
    error_for,
    explain,
    http_status_error,
)
from bot.laaffic.models import (
    FS_NODES,
    GROUP_SETTING_FIELDS,
    AddAgentsRequest,
    AddGroupRequest,
    Agent,
    AgentAction,
    AgentGroup,
    AgentQuota,
    Balance,
    BatchAgentsRequest,
    CallRecord,
    CancelTaskRequest,
    CreatedAgent,
    EditTaskRequest,
    Envelope,
    GroupSettings,
    GroupSettingsUpdate,
    Page,
    PageRequest,
    ResendTaskRequest,
    ResendType,
    SubmitTaskRequest,
    Task,
    TaskNumber,
    TaskStatus,
    TaskType,
    UpdateAgentRequest,
    UpdateGroupRequest,
    UploadRequest,
    UploadResult,
    format_platform_time,
)
from bot.laaffic.signing import signed_headers

log = logging.getLogger(__name__)

# Endpoint paths (platform-api.md §3.0).
ADD_GROUP = "/v3/cc/seatGroup/addGroup"
UPDATE_GROUP = "/v3/cc/seatGroup/updateGroup"
DELETE_GROUP = "/v3/cc/seatGroup/deleteGroup"
QUERY_GROUPS = "/v3/cc/seatGroup/query"
GET_GROUP_SETTINGS = "/v3/cc/seatGroup/basicSettingResp"
SET_GROUP_SETTINGS = "/v3/cc/seatGroup/basicSetting"
ADD_AGENTS = "/v3/cc/seat/addSeatList"
QUERY_AGENTS = "/v3/cc/seat/query"
AGENT_QUOTA = "/v3/cc/seat/querySipTotal"
UPDATE_AGENT = "/v3/cc/seat/updateSeat"
BATCH_AGENTS = "/v3/cc/seat/batchingSeat"
UPLOAD = "/v3/cc/preview/upload"
SUBMIT_TASK = "/v3/cc/preview/submitTask"
RESEND_TASK = "/v3/cc/preview/resendTask"
QUERY_TASKS = "/v3/cc/preview/query"
TASK_DETAIL = "/v3/cc/preview/queryTaskDetail"
EDIT_TASK = "/v3/cc/preview/agent/editTask"
CANCEL_TASK = "/v3/cc/preview/agent/cancelTask"
QUERY_RECORDS = "/v3/cc/record/query"
QUERY_RECORDS_LEGACY = "/v3/voice/ccRecordQuery"
BALANCE = "/v3/getBalance"

PLATFORM_TZ = ZoneInfo("Asia/Shanghai")  # UTC+8, the zone of the platform's wall-clock strings
MAX_PAGE_SIZE = 100
MAX_PAGES = 1000  # a guard against a platform that never reports the last page
AGENT_STATS_MAX_WINDOW = timedelta(days=32)

# The request never left this machine, so sending it again cannot repeat anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

_DIGITS_LETTERS = re.compile(r"^[A-Za-z0-9]+$")

_CREATED_AGENTS = TypeAdapter(list[CreatedAgent])

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


@dataclass(frozen=True)
class CallOutcome:
    """One HTTP request and how it ended, for the audit log. Never holds secrets or file content."""

    endpoint: str
    arguments: dict[str, Any]
    code: str | None
    ok: bool
    duration_ms: int
    error: str | None


Observer = Callable[[CallOutcome], Awaitable[None]]


class _NoAnswer(Exception):
    """No usable answer. `sent` says whether the platform may have received the request."""

    def __init__(self, reason: str, *, sent: bool):
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


def _describe(exc: httpx.HTTPError) -> str:
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({kind})"
    return f"connection failed ({kind})"


def _sanitise(arguments: dict[str, Any] | None, file_size: int | None = None) -> dict[str, Any]:
    """The arguments as stored in the audit log: passwords hidden, file content replaced by its size."""
    clean: dict[str, Any] = {}
    for key, value in (arguments or {}).items():
        if key == "file":
            clean[key] = f"<{file_size if file_size is not None else len(str(value))} bytes>"
        elif key.lower() in ("password", "secret", "apisecret", "sign"):
            clean[key] = "<hidden>"
        else:
            clean[key] = value
    return clean


def _check(condition: bool, sentence: str) -> None:
    if not condition:
        raise ValueError(sentence)


def _check_page(page: int, size: int) -> None:
    _check(page >= 1, f"The page number must be 1 or more, not {page}.")
    _check(
        1 <= size <= MAX_PAGE_SIZE,
        f"The page size must be between 1 and {MAX_PAGE_SIZE}, not {size}.",
    )


def _check_display_num(display_num: str | None) -> None:
    if display_num is not None:
        _check(
            bool(_DIGITS_LETTERS.match(display_num)) and len(display_num) <= 20,
            f"The caller ID {display_num!r} must be 1 to 20 letters or digits.",
        )


def _check_ccode(ccode: str | None) -> None:
    if ccode is not None:
        _check(
            ccode.isdigit() and 1 <= len(ccode) <= 4,
            f"The country code {ccode!r} must be the calling code in digits, such as 91.",
        )


def _check_group_name(group_name: str) -> None:
    _check(
        4 <= len(group_name) <= 32,
        f"The group name {group_name!r} has {len(group_name)} characters; it must have 4 to 32.",
    )


def _check_task_rules(
    task_type: TaskType,
    voice_group_ids: Sequence[int],
    callout_rate: int | None,
    app_id: str,
    display_num: str | None,
    ccode: str | None,
) -> None:
    """The type/group/appId/rate rules of submitTask and resendTask (§3.13, §3.14)."""
    _check(
        task_type in (TaskType.AUTOMATIC, TaskType.AGENT_GROUP_CALL),
        f"The task type must be 0 (automatic call) or 1 (group call to agents), not {task_type}.",
    )
    if task_type == TaskType.AGENT_GROUP_CALL:
        _check(
            len(voice_group_ids) == 1,
            "A group call with transfer to agents needs exactly one agent group; "
            f"{len(voice_group_ids)} were given.",
        )
        _check(
            callout_rate is not None,
            "A group call with transfer to agents needs a call-out rate (numbers dialled per "
            "free agent), for example 1.",
        )
        _check(bool(app_id), "A group call with transfer to agents needs the voice application ID.")
    if callout_rate is not None:
        _check(
            isinstance(callout_rate, int) and callout_rate >= 1,
            f"The call-out rate must be a whole number of 1 or more, not {callout_rate!r}.",
        )
    _check_display_num(display_num)
    _check_ccode(ccode)


def _platform_date(moment: date | datetime, tz: tzinfo) -> str:
    """The task query's `startTime`/`endTime`: the docs' sample is a plain date, "2025-01-10"."""
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(tz)
        moment = moment.date()
    return moment.isoformat()


class LaafficClient:
    """Async client for the platform's call-center API. One shared keep-alive connection pool."""

    # Page size used when the client pages through a whole list itself (list_*, checks).
    list_page_size: int = MAX_PAGE_SIZE

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        app_id: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        upload_timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
        settle: float = 2.0,
        observer: Observer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        platform_tz: tzinfo = PLATFORM_TZ,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.__secret = api_secret  # name-mangled: never in vars()-style dumps or reprs
        self.app_id = app_id
        self.platform_tz = platform_tz
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        # After a lost answer to a create, give the platform a moment to finish a request it may
        # still be working on before checking: a late apply after our resend would call every
        # number of a task twice.
        self.settle = max(0.0, settle)
        self._observer = observer
        self._clock_offset_s = 0.0
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self._upload_timeout = httpx.Timeout(
            connect=connect_timeout, read=upload_timeout, write=upload_timeout, pool=connect_timeout
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self._timeout,
            transport=transport,
            headers={"Accept": "application/json"},
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )
        try:  # the process-wide log scrubber, when present, also masks the secret
            from bot.logs import register_secret

            register_secret(api_secret)
        except ImportError:  # pragma: no cover
            pass

    def __repr__(self) -> str:
        return f"LaafficClient(base_url={self.base_url!r}, app_id={self.app_id!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> LaafficClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def clock_offset_s(self) -> float:
        """Platform time minus this server's time, learnt from a -16 answer (0 until then)."""
        return self._clock_offset_s

    # ------------------------------------------------------------------ transport

    def _timestamp(self) -> int:
        return int(time.time() + self._clock_offset_s)

    async def _notify(self, outcome: CallOutcome) -> None:
        if self._observer is None:
            return
        try:
            await self._observer(outcome)
        except Exception:
            # The audit log must never break a platform call.
            log.exception("the platform-call observer failed for %s", outcome.endpoint)

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None,
        params: dict[str, Any] | None,
        arguments: dict[str, Any],
        http_timeout: httpx.Timeout | None,
    ) -> tuple[Envelope, httpx.Response]:
        headers = signed_headers(self.api_key, self.__secret, self._timestamp())
        started = time.monotonic()

        async def finish(code: str | None, ok: bool, error: str | None) -> None:
            duration_ms = int((time.monotonic() - started) * 1000)
            await self._notify(CallOutcome(path, arguments, code, ok, duration_ms, error))

        try:
            if method == "GET":
                response = await self._http.get(
                    path, params=params, headers=headers, timeout=http_timeout or self._timeout
                )
            else:
                content = json.dumps(body or {}, ensure_ascii=False, separators=(",", ":"))
                response = await self._http.post(
                    path,
                    content=content.encode("utf-8"),
                    headers=headers,
                    timeout=http_timeout or self._timeout,
                )
        except httpx.HTTPError as exc:
            failure = _NoAnswer(_describe(exc), sent=not isinstance(exc, _NOT_SENT))
            log.warning("%s %s: %s", method, path, failure.reason)
            await finish(None, False, failure.reason)
            raise failure from None

        if response.status_code >= 500:
            failure = _NoAnswer(f"HTTP {response.status_code}", sent=True)
            log.warning("%s %s: %s", method, path, failure.reason)
            await finish(None, False, failure.reason)
            raise failure
        try:
            envelope = Envelope.model_validate(response.json())
        except (ValueError, ValidationError):
            if response.is_success:
                # A 200 that is not the platform's envelope (a proxy page?): treat as no answer.
                failure = _NoAnswer(
                    f"HTTP {response.status_code} with an answer that is not the platform's",
                    sent=True,
                )
                await finish(None, False, failure.reason)
                raise failure from None
            error = http_status_error(
                response.status_code, response.reason_phrase, path, self.base_url
            )
            await finish(None, False, str(error))
            raise error from None

        duration = int((time.monotonic() - started) * 1000)
        if envelope.ok:
            log.debug("%s %s: ok in %d ms", method, path, duration)
            await finish("0", True, None)
        else:
            log.info("%s %s: platform code %s (%s)", method, path, envelope.status, envelope.reason)
            await finish(envelope.status, False, explain(envelope.status, path, envelope.reason))
        return envelope, response

    def _offset_from(self, response: httpx.Response) -> float | None:
        """Platform time minus local time, from the answer's `Date` header (None without one)."""
        header = response.headers.get("date")
        if not header:
            return None
        try:
            platform_time = parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError):
            return None
        # `Date` has whole seconds: the platform's clock was somewhere in [t, t+1).
        return platform_time + 0.5 - time.time()

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        arguments: dict[str, Any] | None = None,
        http_timeout: httpx.Timeout | None = None,
    ) -> Envelope:
        """One request, plus one resend after a clock correction on -16. Raises on a non-zero code."""
        arguments = arguments if arguments is not None else dict(body or params or {})
        kwargs = {
            "body": body,
            "params": params,
            "arguments": arguments,
            "http_timeout": http_timeout,
        }
        envelope, response = await self._send_once(method, path, **kwargs)
        if envelope.status == "-16":
            offset = self._offset_from(response)
            if offset is not None:
                log.warning(
                    "the platform rejected the timestamp (-16); its clock is %+.0f s from ours. "
                    "Correcting the timestamps and sending again. Fix this server's clock (NTP).",
                    offset,
                )
                self._clock_offset_s = offset
                envelope, response = await self._send_once(method, path, **kwargs)
        if not envelope.ok:
            raise error_for(envelope.status, envelope.reason, path)
        return envelope

    async def _read(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Envelope:
        """A read-only request: retried with backoff when no answer comes."""
        last: _NoAnswer | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return await self._exchange(method, path, body=body, params=params)
            except _NoAnswer as exc:
                last = exc
        assert last is not None
        raise PlatformUnavailable(path, last.reason, may_have_taken_effect=False)

    async def _write(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        arguments: dict[str, Any] | None = None,
        http_timeout: httpx.Timeout | None = None,
    ) -> Envelope:
        """A changing request: resent only when it never left; a lost answer is raised."""
        last: _NoAnswer | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return await self._exchange(
                    method,
                    path,
                    body=body,
                    params=params,
                    arguments=arguments,
                    http_timeout=http_timeout,
                )
            except _NoAnswer as exc:
                if exc.sent:
                    raise PlatformUnavailable(
                        path, exc.reason, may_have_taken_effect=True, is_write=True
                    ) from None
                last = exc
        assert last is not None
        raise PlatformUnavailable(path, last.reason, may_have_taken_effect=False, is_write=True)

    async def _create(
        self,
        path: str,
        body: dict[str, Any],
        *,
        took_effect: Callable[[], Awaitable[R | None]],
        where: str,
    ) -> Envelope | R:
        """A create whose lost answer is checked before it is ever sent again (at most twice).

        Returns the envelope when the platform answered, or what `took_effect` found (recovered).
        """
        lost: PlatformUnavailable | None = None
        for attempt in (1, 2):
            try:
                return await self._write("POST", path, body=body)
            except PlatformUnavailable as exc:
                if not exc.may_have_taken_effect:
                    raise
                lost = exc
            await asyncio.sleep(self.settle)
            try:
                found = await took_effect()
            except PlatformOutcomeUnknown:
                raise
            except PlatformError as exc:
                raise PlatformOutcomeUnknown(
                    path, f"{lost.reason}; the check failed: {exc.detail}", where=where
                ) from exc
            if found is not None:
                log.warning(
                    "%s: the answer was lost (%s), but the platform shows it took effect; "
                    "recovered without sending it again",
                    path,
                    lost.reason,
                )
                return found
            if attempt == 1:
                log.warning(
                    "%s: the answer was lost (%s) and the platform shows it did not take "
                    "effect; sending it once more",
                    path,
                    lost.reason,
                )
        assert lost is not None
        raise PlatformUnavailable(
            path,
            lost.reason,
            may_have_taken_effect=False,
            message=(
                f"Could not {action(path)}: the platform did not answer, twice. The bot checked "
                "and nothing was created, so it is safe to try again in a few minutes."
            ),
        )

    def _aware(self, moment: datetime) -> datetime:
        """A naive datetime is platform wall time (UTC+8), as the platform's own strings are."""
        return moment if moment.tzinfo else moment.replace(tzinfo=self.platform_tz)

    @staticmethod
    async def _snapshot(path: str, read: Awaitable[R]) -> R:
        """The state a create is later checked against; if it cannot be read, nothing was sent."""
        try:
            return await read
        except PlatformUnavailable as exc:
            raise PlatformUnavailable(
                path, exc.reason, may_have_taken_effect=False, is_write=True
            ) from None

    @staticmethod
    def _parse(model: type[M], data: Any, path: str) -> M:
        try:
            return model.model_validate(data if data is not None else {})
        except ValidationError as exc:
            raise bad_answer_error(path, f"{exc.error_count()} field problem(s)") from None

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
        _check_group_name(group_name)
        app_id = app_id or self.app_id
        body = AddGroupRequest(group_name=group_name, app_id=app_id).wire()
        before = await self._snapshot(ADD_GROUP, self._group_ids_named(group_name))

        async def new_group() -> int | None:
            new = await self._group_ids_named(group_name) - before
            return max(new) if new else None

        try:
            outcome = await self._create(
                ADD_GROUP,
                body,
                took_effect=new_group,
                where=f"the agent group list for {group_name!r}",
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
                    await asyncio.sleep(self.backoff * attempt)
                found = await new_group()
                if found is not None:
                    return found
        except PlatformError as exc:
            reason = f"created, but the group list could not be read: {exc.detail}"
        raise PlatformError(
            "",
            reason,
            ADD_GROUP,
            f"The agent group {group_name!r} was created, but the bot could not read its ID from "
            "the platform. Do not create it again; list the groups in a minute to find it.",
        )

    async def _group_ids_named(self, group_name: str) -> set[int]:
        groups = await self.list_groups(group_name)
        return {g.voice_group_id for g in groups if g.group_name == group_name}

    async def update_group(self, voice_group_id: int, group_name: str) -> None:
        _check_group_name(group_name)
        body = UpdateGroupRequest(voice_group_id=voice_group_id, group_name=group_name).wire()
        await self._write("POST", UPDATE_GROUP, body=body)

    async def delete_group(self, voice_group_id: int) -> None:
        await self._write("GET", DELETE_GROUP, params={"voiceGroupId": voice_group_id})

    async def query_groups(
        self, group_name: str | None = None, page: int = 1, size: int = 100
    ) -> Page[AgentGroup]:
        _check_page(page, size)
        params = {"groupName": group_name} if group_name else {}
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._read("POST", QUERY_GROUPS, body=body)
        return self._parse(Page[AgentGroup], envelope.data, QUERY_GROUPS)

    async def list_groups(self, group_name: str | None = None) -> list[AgentGroup]:
        """Every group (all pages). `group_name` is passed to the platform's own filter."""
        return await self._all_pages(
            lambda n: self.query_groups(group_name, page=n, size=self.list_page_size)
        )

    async def get_group_settings(self, voice_group_id: int) -> GroupSettings:
        envelope = await self._read(
            "GET", GET_GROUP_SETTINGS, params={"voiceGroupId": voice_group_id}
        )
        data = envelope.data
        if isinstance(data, dict) and not ({"voiceGroupId", "seatGroupId"} & data.keys()):
            data = {**data, "voiceGroupId": voice_group_id}
        return self._parse(GroupSettings, data, GET_GROUP_SETTINGS)

    async def update_group_settings(
        self,
        voice_group_id: int,
        *,
        display_switch: int,
        encrypt_number: int,
        **optional: Any,
    ) -> None:
        """Change a group's basic settings. Settings not named keep their current value; a setting
        given as None (or [] for label_name) is cleared, as the docs say an empty value clears it.

        The current settings are read first, because the docs do not say whether a field left out
        of basicSetting keeps or clears its value.
        """
        unknown = sorted(set(optional) - set(GROUP_SETTING_FIELDS))
        _check(
            not unknown,
            f"Unknown group setting(s): {', '.join(unknown)}. "
            f"Known: {', '.join(GROUP_SETTING_FIELDS)}.",
        )
        _check(display_switch in (0, 1), "display_switch must be 0 (on) or 1 (off).")
        _check(encrypt_number in (0, 1), "encrypt_number must be 0 (masking on) or 1 (off).")
        if optional.get("callin_strategy") is not None:
            _check(
                optional["callin_strategy"] in (1, 2, 3, 4),
                "callin_strategy must be 1 (longest idle), 2 (fewest calls), 3 (priority) or "
                "4 (round-robin).",
            )
        for name in ("timeout_transfer_sec", "callin_auto_answer_sec", "wrap_up_time",
                     "timeout_idle", "timeout_wait_sec"):  # fmt: skip
            value = optional.get(name)
            if value is not None:
                _check(
                    isinstance(value, int) and value >= 0,
                    f"{name} must be a whole number of seconds (0 or more), not {value!r}.",
                )
        if optional.get("fs_node") is not None:
            _check(
                optional["fs_node"] in FS_NODES,
                f"fs_node must be one of {', '.join(FS_NODES)}, not {optional['fs_node']!r}.",
            )
        labels = optional.get("label_name")
        if labels is not None:
            labels = list(labels)
            _check(
                len(labels) <= 10, f"At most 10 call tags are allowed; {len(labels)} were given."
            )
            _check(len(set(labels)) == len(labels), "The call tags must not repeat.")
            long = [t for t in labels if not 1 <= len(t) <= 20]
            _check(not long, f"Each call tag must have 1 to 20 characters: {long!r}.")
            optional["label_name"] = labels

        current = await self.get_group_settings(voice_group_id)
        values: dict[str, Any] = {}
        for name in GROUP_SETTING_FIELDS:
            if name in optional:
                value = optional[name]
                if value is None:
                    value = [] if name == "label_name" else ""  # empty clears (§3.6)
            else:
                value = getattr(current, name)
            values[name] = value
        body = GroupSettingsUpdate(
            voice_group_id=voice_group_id,
            display_switch=display_switch,
            encrypt_number=encrypt_number,
            **values,
        ).wire()
        await self._write("POST", SET_GROUP_SETTINGS, body=body)

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
        _check(
            isinstance(size, int) and size >= 1,
            f"The number of agents must be 1 or more, not {size!r}.",
        )
        _check_display_num(display_num)
        _check_ccode(ccode)
        body = AddAgentsRequest(
            voice_group_id=voice_group_id, size=size, display_num=display_num, ccode=ccode
        ).wire()
        agents = await self._snapshot(ADD_AGENTS, self.list_agents(voice_group_id))
        before = {a.key_id for a in agents}

        async def created() -> list[CreatedAgent] | None:
            new = [a for a in await self.list_agents(voice_group_id) if a.key_id not in before]
            if not new:
                return None
            if len(new) == size:
                return [CreatedAgent(key_id=a.key_id, name=a.name) for a in new]
            raise PlatformOutcomeUnknown(
                ADD_AGENTS,
                f"{len(new)} new agents found, {size} asked for",
                where=f"the agents of group {voice_group_id}",
            )

        outcome = await self._create(
            ADD_AGENTS, body, took_effect=created, where=f"the agents of group {voice_group_id}"
        )
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
            f"The agents were created, but the bot could not read which ones from the platform's "
            f"answer. Do not create them again; list the agents of group {voice_group_id}.",
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
        size: int = 100,
    ) -> Page[Agent]:
        """One page of agents with their call statistics between `start` and `end`.

        The newer docs make the statistics window (strTime/endTime) required; it defaults to the
        last 24 hours and may span at most 32 days.
        """
        _check_page(page, size)
        end = self._aware(end) if end else datetime.now(self.platform_tz)
        start = self._aware(start) if start else end - timedelta(hours=24)
        _check(start <= end, "The start of the statistics window must be before its end.")
        _check(
            end - start <= AGENT_STATS_MAX_WINDOW,
            "The agent statistics window may span at most 32 days.",
        )
        if enable is not None:
            _check(enable in (0, 1), "enable must be 0 (enabled) or 1 (disabled).")
        params: dict[str, Any] = {
            "voiceGroupId": voice_group_id,
            "name": name,
            "status": int(status) if status is not None else None,
            "enable": enable,
            "strTime": format_platform_time(start, self.platform_tz),
            "endTime": format_platform_time(end, self.platform_tz),
        }
        params = {k: v for k, v in params.items() if v is not None}
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._read("POST", QUERY_AGENTS, body=body)
        return self._parse(Page[Agent], envelope.data, QUERY_AGENTS)

    async def list_agents(self, voice_group_id: int | None = None, **filters: Any) -> list[Agent]:
        """Every agent matching the filters of `query_agents` (all pages)."""
        filters.pop("page", None)
        filters.pop("size", None)
        return await self._all_pages(
            lambda n: self.query_agents(voice_group_id, page=n, size=self.list_page_size, **filters)
        )

    async def agent_quota(self, voice_group_id: int) -> AgentQuota:
        envelope = await self._read("GET", AGENT_QUOTA, params={"voiceGroupId": voice_group_id})
        return self._parse(AgentQuota, envelope.data, AGENT_QUOTA)

    async def update_agent(
        self,
        key_id: int,
        voice_group_id: int,
        name: str,
        emp_no: str,
        *,
        display_num: str | None = None,
        ccode: str | None = None,
        pet_name: str | None = None,
        password: str | None = None,
    ) -> None:
        _check(bool(name), "The agent name must not be empty.")
        _check(bool(emp_no), "The job number (empNo) must not be empty.")
        if password is not None:
            _check(
                bool(_DIGITS_LETTERS.match(password)),
                "The SIP password may contain only letters and digits.",
            )
        _check_display_num(display_num)
        _check_ccode(ccode)
        request = UpdateAgentRequest(
            key_id=key_id,
            voice_group_id=str(voice_group_id),
            name=name,
            emp_no=emp_no,
            display_num=display_num,
            ccode=ccode,
            pet_name=pet_name,
            password=password,
        )
        body = request.wire()
        await self._write("POST", UPDATE_AGENT, body=body, arguments=_sanitise(body))

    async def batch_agents(self, action: AgentAction, key_ids: list[int]) -> None:
        """Delete, disable or enable several agents at once."""
        _check(
            action in tuple(AgentAction),
            f"The agent action must be 2 (delete), 3 (disable) or 4 (enable), not {action!r}.",
        )
        _check(bool(key_ids), "Give at least one agent ID.")
        body = BatchAgentsRequest(type=int(action), id_list=list(key_ids)).wire()
        await self._write("POST", BATCH_AGENTS, body=body)

    # ------------------------------------------------------------------ numbers and tasks

    async def upload_numbers(self, file_name: str, content: bytes) -> UploadResult:
        """Upload a callee number file (Excel); its `file_path` is what submit_task needs.

        After a lost answer the upload is sent once more without checking: an uploaded file is
        only used once a task is submitted with its filePath, so an orphan copy is harmless.
        """
        _check(
            5 <= len(file_name) <= 32,
            f"The file name {file_name!r} has {len(file_name)} characters; the platform needs "
            "5 to 32. Rename the file.",
        )
        _check(bool(content), "The number file is empty.")
        body = UploadRequest(file_name=file_name, file=base64.b64encode(content).decode()).wire()
        arguments = _sanitise(body, file_size=len(content))
        for attempt in (1, 2):
            try:
                envelope = await self._write(
                    "POST",
                    UPLOAD,
                    body=body,
                    arguments=arguments,
                    http_timeout=self._upload_timeout,
                )
                break
            except PlatformUnavailable as exc:
                if not exc.may_have_taken_effect:
                    raise
                if attempt == 2:
                    raise PlatformUnavailable(
                        UPLOAD,
                        exc.reason,
                        may_have_taken_effect=True,
                        message=(
                            "Could not reach the Laaffic platform to upload the number file. A "
                            "file that arrived without an answer is never used, so it is safe to "
                            "send the file again in a few minutes."
                        ),
                    ) from None
                log.warning("%s: no answer (%s); uploading the file once more", UPLOAD, exc.reason)
                await asyncio.sleep(self.backoff)
        return self._parse(UploadResult, envelope.data, UPLOAD)

    async def submit_task(
        self,
        *,
        file_path: str,
        file_name: str,
        task_type: TaskType,
        voice_group_ids: Sequence[int] = (),
        callout_rate: int | None = None,
        display_num: str | None = None,
        ccode: str | None = None,
        remark: str | None = None,
        max_ringing_time: int | None = None,
        app_id: str | None = None,
    ) -> int | None:
        """Create a calling task from an uploaded file; returns its taskId.

        None only when the platform (older versions) returns no id and the task cannot be found.
        The recent tasks of the same type and groups are listed first, so that after a lost answer
        the new task can be recognised (by filePath/fileName when the platform reports them,
        otherwise as the single new task with the same type, groups, remark and country).
        """
        app_id = app_id or self.app_id
        groups = list(voice_group_ids)
        _check(bool(file_path), "The file path from the upload is missing; upload the file first.")
        _check(bool(file_name), "The file name is missing.")
        _check_task_rules(task_type, groups, callout_rate, app_id, display_num, ccode)
        if max_ringing_time is not None:
            _check(
                20 <= max_ringing_time <= 120,
                f"The maximum ringing time must be 20 to 120 seconds, not {max_ringing_time}.",
            )
        request = SubmitTaskRequest(
            file_path=file_path,
            file_name=file_name,
            type=int(task_type),
            voice_group_id=groups or None,
            app_id=app_id,
            callout_rate=callout_rate,
            display_num=display_num,
            ccode=ccode,
            remark=remark,
            max_ringing_time=max_ringing_time,
        )
        before = await self._snapshot(SUBMIT_TASK, self._recent_tasks(task_type, groups))
        where = f"the task list (file {file_name!r})"

        async def submitted() -> int | None:
            return await self._find_new_task(request, before, where)

        outcome = await self._create(
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
        query = {"task_type": task_type, "voice_group_ids": groups or None}
        first = await self.query_tasks(**query, page=1, size=self.list_page_size)
        tasks = {t.task_id: t for t in first.records}
        if first.pages > 1:
            last = await self.query_tasks(**query, page=first.pages, size=self.list_page_size)
            tasks.update({t.task_id: t for t in last.records})
        return tasks

    async def _find_new_task(
        self, request: SubmitTaskRequest, before: dict[int, Task], where: str
    ) -> int | None:
        now = await self._recent_tasks(TaskType(request.type), list(request.voice_group_id or []))
        # Only tasks absent before count; no assumption that task ids grow, as a wrong guess
        # here would mean submitting (and calling everyone) twice.
        new = [
            t
            for t in now.values()
            if t.task_id not in before
            and t.task_type == request.type
            and set(t.voice_group_ids) == set(request.voice_group_id or [])
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
        task_type: TaskType,
        *,
        voice_group_ids: Sequence[int] = (),
        callout_rate: int | None = None,
        display_num: str | None = None,
        ccode: str | None = None,
        remark: str | None = None,
        app_id: str | None = None,
    ) -> None:
        """Re-run a task's failed, not-called or all numbers. Never repeated after a lost answer."""
        app_id = app_id or self.app_id
        groups = list(voice_group_ids)
        _check(
            resend_type in tuple(ResendType),
            "The re-run option must be 1 (failed numbers), 2 (numbers not called) or 3 (all).",
        )
        _check_task_rules(task_type, groups, callout_rate, app_id, display_num, ccode)
        body = ResendTaskRequest(
            task_id=task_id,
            resend_type=int(resend_type),
            type=int(task_type),
            voice_group_id=groups or None,
            app_id=app_id,
            callout_rate=callout_rate,
            display_num=display_num,
            ccode=ccode,
            remark=remark,
        ).wire()
        await self._write("POST", RESEND_TASK, body=body)

    async def query_tasks(
        self,
        *,
        task_id: int | None = None,
        statuses: Iterable[TaskStatus | int] | None = None,
        task_type: TaskType | None = None,
        finish_flag: bool | int | None = None,
        voice_group_ids: Sequence[int] | None = None,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        page: int = 1,
        size: int = 100,
    ) -> Page[Task]:
        """One page of tasks. `start`/`end` are sent as dates (the docs' sample: "2025-01-10")."""
        _check_page(page, size)
        params: dict[str, Any] = {
            "taskId": str(task_id) if task_id is not None else None,
            "taskStatus": [int(s) for s in statuses] if statuses is not None else None,
            "taskType": int(task_type) if task_type is not None else None,
            "finishFlag": int(finish_flag) if finish_flag is not None else None,
            "voiceGroupIds": list(voice_group_ids) if voice_group_ids else None,
            "startTime": _platform_date(start, self.platform_tz) if start else None,
            "endTime": _platform_date(end, self.platform_tz) if end else None,
        }
        params = {k: v for k, v in params.items() if v is not None}
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._read("POST", QUERY_TASKS, body=body)
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
        size: int = 100,
    ) -> Page[TaskNumber]:
        """One page of a task's numbers (status 1 calling, 5 not called, 7 abnormal, 9 called)."""
        _check_page(page, size)
        params: dict[str, Any] = {"taskId": task_id}
        if statuses is not None:
            params["statusList"] = [int(s) for s in statuses]
        if called:
            params["called"] = called
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._read("POST", TASK_DETAIL, body=body)
        return self._parse(Page[TaskNumber], envelope.data, TASK_DETAIL)

    async def edit_task(self, task_id: int, callout_rate: int, remark: str | None = None) -> None:
        """Change the call-out rate (and remark) of a group-call-to-agents task."""
        _check(
            isinstance(callout_rate, int) and callout_rate >= 1,
            f"The call-out rate must be a whole number of 1 or more, not {callout_rate!r}.",
        )
        if remark is not None:
            _check(len(remark) <= 50, f"The remark has {len(remark)} characters; at most 50 fit.")
        body = EditTaskRequest(task_id=task_id, callout_rate=callout_rate, remark=remark).wire()
        await self._write("POST", EDIT_TASK, body=body)

    async def cancel_task(self, task_id: int) -> None:
        await self._write("POST", CANCEL_TASK, body=CancelTaskRequest(task_id=task_id).wire())

    # ------------------------------------------------------------------ records and balance

    _RECORD_FILTERS = {
        "sip_group_name": "sipGroupName",
        "seat_id": "seatId",
        "seat_name_list": "seatNameList",
        "hangup_reason": "hangupReason",
        "called_or_caller": "calledOrCaller",
        "ccode": "ccode",
        "hanging_direction": "hangingDirection",
        "label_names": "labelNames",
    }

    async def query_records(
        self,
        start: datetime,
        end: datetime,
        *,
        voice_group_id: int | None = None,
        call_types: Iterable[int] | None = None,
        page: int = 1,
        size: int = 100,
        **filters: Any,
    ) -> Page[CallRecord]:
        """One page of call records between `start` and `end` (sent as "yyyy-MM-dd HH:mm:ss" in the
        platform's zone; a naive datetime is taken as platform wall time)."""
        _check_page(page, size)
        start, end = self._aware(start), self._aware(end)
        _check(start <= end, "The start of the time range must be before its end.")
        unknown = sorted(set(filters) - set(self._RECORD_FILTERS))
        _check(
            not unknown,
            f"Unknown call-record filter(s): {', '.join(unknown)}. "
            f"Known: voice_group_id, call_types, {', '.join(self._RECORD_FILTERS)}.",
        )
        params: dict[str, Any] = {
            "startTime": format_platform_time(start, self.platform_tz),
            "endTime": format_platform_time(end, self.platform_tz),
        }
        if voice_group_id is not None:
            params["voiceGroupId"] = voice_group_id
        if call_types is not None:
            params["callType"] = [int(c) for c in call_types]
        for name, value in filters.items():
            if value is not None:
                params[self._RECORD_FILTERS[name]] = value
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._read("POST", QUERY_RECORDS, body=body)
        return self._parse(Page[CallRecord], envelope.data, QUERY_RECORDS)

    # The older record query: no group or agent-id filters, a 31-day window in the last 2 months.
    _LEGACY_RECORD_FILTERS = {k: v for k, v in _RECORD_FILTERS.items() if k != "seat_id"}

    async def query_records_legacy(
        self,
        start: datetime,
        end: datetime,
        *,
        call_types: Iterable[int] | None = None,
        page: int = 1,
        size: int = 100,
        **filters: Any,
    ) -> Page[CallRecord]:
        """One page of call records from the older `/v3/voice/ccRecordQuery` (§3.20): times go as
        ISO-8601 with the platform's offset; the window is at most 31 days."""
        _check_page(page, size)
        start, end = self._aware(start), self._aware(end)
        _check(start <= end, "The start of the time range must be before its end.")
        _check(end - start <= timedelta(days=31), "The older record query covers at most 31 days.")
        unknown = sorted(set(filters) - set(self._LEGACY_RECORD_FILTERS))
        _check(
            not unknown,
            f"Unknown call-record filter(s): {', '.join(unknown)}. "
            f"Known: call_types, {', '.join(self._LEGACY_RECORD_FILTERS)}.",
        )
        params: dict[str, Any] = {
            "strTime": start.astimezone(self.platform_tz).isoformat(timespec="seconds"),
            "endTime": end.astimezone(self.platform_tz).isoformat(timespec="seconds"),
        }
        if call_types is not None:
            params["callType"] = [int(c) for c in call_types]
        for name, value in filters.items():
            if value is not None:
                params[self._LEGACY_RECORD_FILTERS[name]] = value
        body = PageRequest(current=page, size=size, params=params).wire()
        envelope = await self._read("POST", QUERY_RECORDS_LEGACY, body=body)
        return self._parse(Page[CallRecord], envelope.data, QUERY_RECORDS_LEGACY)

    async def balance(self) -> Balance:
        """Balance, gift and credit: top-level fields of the answer, not inside `data` (§3.21)."""
        envelope = await self._read("GET", BALANCE)
        fields = dict(envelope.model_extra or {})
        if isinstance(envelope.data, dict):
            fields.update(envelope.data)
        return self._parse(Balance, fields, BALANCE)
