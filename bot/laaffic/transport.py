"""Sending signed requests to the Laaffic platform, and the rules for sending one again.

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

Every HTTP request, whatever its end, is counted once here: `ccbot_platform_calls{endpoint,code}`,
its latency, `ccbot_platform_errors{endpoint,code}` when it failed, one CallOutcome for the audit
log, and `last_error` for `/status`. Codes: "0" success, the platform's code, or "http" (an HTTP
error or an answer that is not the platform's), "network", "timeout"; "bad-answer" (errors only)
for a success whose data is not in the documented shape.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.i18n import _
from bot.laaffic.errors import (
    CLOCK_CODE,
    PlatformError,
    PlatformOutcomeUnknown,
    PlatformUnavailable,
    action,
    bad_answer_error,
    endpoint_key,
    error_for,
    explain,
    http_status_error,
)
from bot.laaffic.models import Envelope, read_answer
from bot.laaffic.signing import signed_headers
from bot.logs import log_context, register_secret
from bot.metrics import PLATFORM_CALL_SECONDS, PLATFORM_CALLS, PLATFORM_ERRORS
from bot.tls import client_tls

log = logging.getLogger(__name__)

# The request never left this machine, so sending it again cannot repeat anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


@dataclass(frozen=True)
class CallOutcome:
    """One HTTP request and how it ended, for the audit log. Never holds secrets or file content."""

    endpoint: str
    arguments: dict[str, Any]
    code: str | None  # None when no platform answer came
    ok: bool
    duration_ms: int
    error: str | None


Observer = Callable[[CallOutcome], Awaitable[None]]


@dataclass(frozen=True)
class PlatformFailure:
    """The last failed platform call, for `/status`: when, where, which code, and the sentence."""

    at: datetime  # aware UTC
    endpoint: str  # "seatGroup/addGroup"
    code: str  # a platform code, or "http", "network", "timeout", "bad-answer"
    said: Callable[[], str] = field(repr=False, compare=False)  # builds `sentence`

    @property
    def sentence(self) -> str:
        """The plain sentence in the current language: /status reads it in its chat's language,
        whichever language (a team's, or a job's English) the failed call was made in."""
        return self.said()


@dataclass(frozen=True)
class _Request:
    method: str  # "GET" (query string) or "POST" (JSON body)
    path: str
    body: dict[str, Any] | None
    params: dict[str, Any] | None
    arguments: dict[str, Any]  # as the audit log shows them
    timeout: httpx.Timeout


class _NoAnswer(Exception):
    """No usable answer. `sent` says whether the platform may have received the request."""

    def __init__(self, reason: str, code: str, *, sent: bool):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.sent = sent


def _unreached(path: str, error: str) -> str:
    """/status's sentence for a request that got no usable answer (`error`: what happened)."""
    return _(
        "Could not reach the Laaffic platform to {action}: {error}.",
        action=action(path),
        error=error,
    )


def _no_answer(exc: httpx.HTTPError) -> _NoAnswer:
    kind = type(exc).__name__
    sent = not isinstance(exc, _NOT_SENT)
    if isinstance(exc, httpx.TimeoutException):
        return _NoAnswer(f"no answer in time ({kind})", "timeout", sent=sent)
    return _NoAnswer(f"connection failed ({kind})", "network", sent=sent)


def sanitise(arguments: dict[str, Any] | None, file_size: int | None = None) -> dict[str, Any]:
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


class TransportOptions(TypedDict, total=False):
    """How patient the transport is; Transport has a default for each."""

    connect_timeout: float
    read_timeout: float
    upload_timeout: float
    retries: int
    backoff: float
    settle: float
    observer: Observer | None


class Transport:
    """Signed JSON over one shared keep-alive connection pool, with the rules above."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        upload_timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
        settle: float = 2.0,
        observer: Observer | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.__secret = api_secret  # name-mangled: never in vars()-style dumps or reprs
        register_secret(api_secret)  # and masked in every log line
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        # After a lost answer to a create, give the platform a moment to finish a request it may
        # still be working on before checking: a late apply after our resend would call every
        # number of a task twice.
        self.settle = max(0.0, settle)
        self.last_error: PlatformFailure | None = None
        self._observer = observer
        self._clock_offset_s = 0.0
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self.upload_timeout = httpx.Timeout(
            connect=connect_timeout, read=upload_timeout, write=upload_timeout, pool=connect_timeout
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self._timeout,
            headers={"Accept": "application/json"},
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            verify=client_tls(),
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def clock_offset_s(self) -> float:
        """Platform time minus this server's time, learnt from a -16 answer (0 until then)."""
        return self._clock_offset_s

    # ------------------------------------------------------------------ the request kinds

    async def read(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Envelope:
        """A read-only request: retried with backoff when no answer comes."""
        request = _Request(method, path, body, params, dict(body or params or {}), self._timeout)
        return await self._attempts(request, is_write=False)

    async def write(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        arguments: dict[str, Any] | None = None,
        http_timeout: httpx.Timeout | None = None,
    ) -> Envelope:
        """A changing request: resent only when it never left; a lost answer is raised.
        `arguments` is what the audit log shows (default: the body or query)."""
        request = _Request(
            method,
            path,
            body,
            params,
            arguments if arguments is not None else dict(body or params or {}),
            http_timeout or self._timeout,
        )
        return await self._attempts(request, is_write=True)

    async def create(
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
                return await self.write("POST", path, body=body)
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
            message=_(
                "Could not {action}: the platform did not answer, twice. The bot checked and "
                "nothing was created, so it is safe to try again in a few minutes.",
                action=action(path),
            ),
        )

    async def write_repeatable(
        self,
        path: str,
        body: dict[str, Any],
        *,
        arguments: dict[str, Any],
        http_timeout: httpx.Timeout | None,
        gave_up: str,
    ) -> Envelope:
        """A write whose repeat is harmless (an upload nobody submits): after a lost answer it is
        sent once more without a check. `gave_up` is the sentence when that answer is lost too."""
        for attempt in (1, 2):
            try:
                return await self.write(
                    "POST", path, body=body, arguments=arguments, http_timeout=http_timeout
                )
            except PlatformUnavailable as exc:
                if not exc.may_have_taken_effect:
                    raise
                if attempt == 2:
                    raise PlatformUnavailable(
                        path, exc.reason, may_have_taken_effect=True, message=gave_up
                    ) from None
                log.warning("%s: no answer (%s); sending it once more", path, exc.reason)
                await asyncio.sleep(self.backoff)
        raise AssertionError("unreachable: the second attempt returns or raises")

    @staticmethod
    async def snapshot(path: str, read: Awaitable[R]) -> R:
        """The state a create is later checked against; if it cannot be read, nothing was sent."""
        try:
            return await read
        except PlatformUnavailable as exc:
            raise PlatformUnavailable(
                path, exc.reason, may_have_taken_effect=False, is_write=True
            ) from None

    def parse(self, model: type[M], data: Any, path: str, platform_tz: tzinfo) -> M:
        """An answer's data as `model`. A shape other than the docs' fails this call (and counts)."""
        try:
            return read_answer(model, data if data is not None else {}, platform_tz)
        except ValidationError as exc:
            problems = f"{exc.error_count()} field problem(s)"
            error = bad_answer_error(path, problems)
            self._failed(path, "bad-answer", lambda: str(bad_answer_error(path, problems)))
            raise error from None

    # ------------------------------------------------------------------ one request

    async def _attempts(self, request: _Request, *, is_write: bool) -> Envelope:
        # A task's calls log with its id (LOG_FORMAT=json's task_id, text's task=…).
        task_id = request.arguments.get("taskId")
        with log_context(task_id=task_id if isinstance(task_id, int | str) and task_id else None):
            return await self._attempts_logged(request, is_write=is_write)

    async def _attempts_logged(self, request: _Request, *, is_write: bool) -> Envelope:
        last: _NoAnswer | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return await self._exchange(request)
            except _NoAnswer as exc:
                if exc.sent and is_write:
                    raise PlatformUnavailable(
                        request.path, exc.reason, may_have_taken_effect=True, is_write=True
                    ) from None
                last = exc
        assert last is not None
        raise PlatformUnavailable(
            request.path, last.reason, may_have_taken_effect=False, is_write=is_write
        )

    async def _exchange(self, request: _Request) -> Envelope:
        """One request, plus one resend after a clock correction on -16. Raises on a non-zero code."""
        envelope, response = await self._send_once(request)
        if envelope.status == CLOCK_CODE:
            offset = self._offset_from(response)
            if offset is not None:
                log.warning(
                    "the platform rejected the timestamp (-16); its clock is %+.0f s from ours. "
                    "Correcting the timestamps and sending again. Fix this server's clock (NTP).",
                    offset,
                )
                self._clock_offset_s = offset
                envelope, response = await self._send_once(request)
        if not envelope.ok:
            raise error_for(envelope.status, envelope.reason, request.path)
        return envelope

    async def _send_once(self, request: _Request) -> tuple[Envelope, httpx.Response]:
        method, path = request.method, request.path
        headers = signed_headers(self.api_key, self.__secret, self._timestamp())
        started = time.monotonic()

        async def finish(
            code: str,
            error: str | None,
            *,
            answered: bool = True,
            sentence: Callable[[], str] | None = None,
        ) -> None:
            """Count the request once. `error` is the audit log's text; `sentence` builds the
            one for `last_error` (by default "could not reach" and `error`)."""
            seconds = time.monotonic() - started
            endpoint = endpoint_key(path)
            PLATFORM_CALLS.labels(endpoint, code).inc()
            PLATFORM_CALL_SECONDS.labels(endpoint).observe(seconds)
            if error is not None:
                self._failed(path, code, sentence or functools.partial(_unreached, path, error))
            await self._notify(
                CallOutcome(
                    endpoint=path,
                    arguments=request.arguments,
                    code=code if answered else None,
                    ok=error is None,
                    duration_ms=int(seconds * 1000),
                    error=error,
                )
            )

        try:
            if method == "GET":
                response = await self._http.get(
                    path, params=request.params, headers=headers, timeout=request.timeout
                )
            else:
                content = json.dumps(request.body or {}, ensure_ascii=False, separators=(",", ":"))
                response = await self._http.post(
                    path,
                    content=content.encode("utf-8"),
                    headers=headers,
                    timeout=request.timeout,
                )
        except httpx.HTTPError as exc:
            failure = _no_answer(exc)
            log.warning("%s %s: %s", method, path, failure.reason)
            await finish(failure.code, failure.reason, answered=False)
            raise failure from None

        if response.status_code >= 500:
            failure = _NoAnswer(f"HTTP {response.status_code}", "http", sent=True)
            log.warning("%s %s: %s", method, path, failure.reason)
            await finish(failure.code, failure.reason, answered=False)
            raise failure
        try:
            envelope = Envelope.model_validate(response.json())
        except (ValueError, ValidationError):
            if response.is_success:
                # A 200 that is not the platform's envelope (a proxy page?): treat as no answer.
                failure = _NoAnswer(
                    f"HTTP {response.status_code} with an answer that is not the platform's",
                    "http",
                    sent=True,
                )
                await finish(failure.code, failure.reason, answered=False)
                raise failure from None
            status, phrase, base_url = response.status_code, response.reason_phrase, self.base_url
            error = http_status_error(status, phrase, path, base_url)
            await finish(
                "http",
                str(error),
                answered=False,
                sentence=lambda: str(http_status_error(status, phrase, path, base_url)),
            )
            raise error from None

        if envelope.ok:
            log.debug("%s %s: ok in %d ms", method, path, (time.monotonic() - started) * 1000)
            await finish("0", None)
        else:
            log.info("%s %s: platform code %s (%s)", method, path, envelope.status, envelope.reason)
            refused = error_for(envelope.status, envelope.reason, path)
            await finish(
                refused.code,
                refused.message,
                sentence=functools.partial(explain, refused.code, path, refused.reason),
            )
        return envelope, response

    def _failed(self, path: str, code: str, sentence: Callable[[], str]) -> None:
        endpoint = endpoint_key(path)
        PLATFORM_ERRORS.labels(endpoint, code).inc()
        self.last_error = PlatformFailure(datetime.now(UTC), endpoint, code, sentence)

    def _timestamp(self) -> int:
        return int(time.time() + self._clock_offset_s)

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

    async def _notify(self, outcome: CallOutcome) -> None:
        if self._observer is None:
            return
        try:
            await self._observer(outcome)
        except Exception:
            # The audit log must never break a platform call.
            log.exception("the platform-call observer failed for %s", outcome.endpoint)
