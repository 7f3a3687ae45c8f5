"""The embedded HTTP listener: the platform's pushes, health, metrics, Telegram webhook updates.

The push addresses (DESIGN.md, "HTTP listener") check the token, read at most 1 MiB, check the
body's shape without touching the database (bot/relay/push_shapes.py), and answer 200 only once
the push is committed to `push_inbox` (bot/relay/ingest.py, group commits). They never wait on
Telegram or the platform: the relay worker takes the stored pushes from there.

Pushes are nearly all of the listener's traffic and every one of them costs a commit, so
`/push/...` is served by a small plain-ASGI endpoint in front of the Starlette app (which serves
everything else): Starlette's routing, middleware and request/response objects would cost about
as much CPU per push as storing it (bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import __version__
from bot.health import WriteNotices, WriteWatch, record_write_state
from bot.health import problem as write_problem
from bot.metrics import PUSH_COMMIT_SECONDS, PUSHES_RATE_LIMITED, PUSHES_REJECTED, render_metrics
from bot.relay.ingest import InboxUnavailable, InboxWriter
from bot.relay.push_shapes import PushKind, PushRejected, RejectReason, check_push
from bot.status import QueueState, oldest_unsent
from storage.db import WriteHealth

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.runtime import Runtime

log = logging.getLogger(__name__)

READY_MAX_LAG_S = 60
READY_TELEGRAM_CACHE_S = 15.0
READY_QUEUE_CACHE_S = 5.0
# How long a getUpdates refused for another poller keeps /readyz at 503 (PTB retries within it).
READY_CONFLICT_S = 60.0
MAX_BODY_BYTES = 1024 * 1024

_REJECTED = {reason: PUSHES_REJECTED.labels(reason.value) for reason in RejectReason}
_ADDRESS_KINDS: dict[str, PushKind | None] = {
    "": None,
    "ringing": PushKind.RINGING,
    "calls": PushKind.CALL,
}
_NOT_STORED = (
    "The push could not be stored just now (the database did not take it), so it was not "
    "accepted: send it again."
)
_TOO_LARGE = f"The body is over {MAX_BODY_BYTES // 1024 // 1024} MiB; a push is far smaller."
_JSON = (b"content-type", b"application/json")
_STORED = b'{"status":"stored"}'
_STORED_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [_JSON, (b"content-length", str(len(_STORED)).encode())],
}
_STORED_BODY = {"type": "http.response.body", "body": _STORED}


class _Disconnected(Exception):
    """The sender went away before its body was complete."""


async def read_capped(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The request body, or None as soon as it grows past `limit` (the rest is never read: a
    chunked body has no length to check first)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _answer(
    send: Send, status: int, body: bytes, content_type: bytes, extra: list[Any] | None = None
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, status: int, message: str, extra: list[Any] | None = None) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    await _answer(send, status, body, b"application/json", extra)


# Wrong push tokens one client address may send before it is answered 429 (DESIGN.md: the token
# is the pushes' only protection, so it must not be guessable at full speed).
WRONG_TOKENS_PER_WINDOW = 20
WRONG_TOKEN_WINDOW_S = 60.0
WRONG_TOKEN_BLOCK_S = 300.0
WRONG_TOKEN_ADDRESSES = 10_000  # addresses remembered at most (the least recently seen go first)


@dataclass
class _Guesses:
    window_start: float
    count: int = 0
    blocked_until: float = 0.0


class WrongTokenLimiter:
    """Counts wrong push tokens per client address: past `limit` in `window_s`, the address is
    answered 429 for `block_s` (to wrong tokens only: the right token is never slowed, so a
    platform behind the same address as a guesser, or a proxy that all requests come through,
    still gets its pushes in). An IPv6 client counts by its /64, which one host usually owns
    whole. Memory is bounded: at most `max_addresses` are remembered, the least recently seen
    forgotten first, so a flood of addresses costs a fixed amount."""

    def __init__(
        self,
        *,
        limit: int = WRONG_TOKENS_PER_WINDOW,
        window_s: float = WRONG_TOKEN_WINDOW_S,
        block_s: float = WRONG_TOKEN_BLOCK_S,
        max_addresses: int = WRONG_TOKEN_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.block_s = block_s
        self.max_addresses = max_addresses
        self._clock = clock
        self._seen: OrderedDict[str, _Guesses] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def wrong_token(self, client: str | None) -> float:
        """Count one wrong token from `client`; the seconds it must wait (0: not limited)."""
        now = self._clock()
        key = _client_key(client)
        guesses = self._seen.get(key)
        if guesses is not None and guesses.blocked_until > now:
            self._seen.move_to_end(key)
            return guesses.blocked_until - now
        if guesses is None or now - guesses.window_start >= self.window_s:
            guesses = self._seen[key] = _Guesses(window_start=now)
        guesses.count += 1
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_addresses:
            self._seen.popitem(last=False)
        if guesses.count > self.limit:
            guesses.blocked_until = now + self.block_s
            return self.block_s
        return 0.0


def _client_key(client: str | None) -> str:
    if not client:
        return ""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class PushEndpoint:
    """`POST /push/{token}`, `/push/{token}/ringing`, `/push/{token}/calls` (a trailing slash
    too, as a console address may be typed: a redirect is not something the platform follows)."""

    def __init__(
        self,
        push_token: str | None,
        writer: InboxWriter,
        on_stored: Callable[[], None] | None = None,
        wrong_tokens: WrongTokenLimiter | None = None,
    ) -> None:
        self._token = (push_token or "").encode()
        self._writer = writer
        # Wakes the relay worker: a ringing phone is news now, not at the worker's next poll.
        self._on_stored = on_stored
        # The endpoint's own state (the listener may run in a process of its own).
        self.wrong_tokens = wrong_tokens if wrong_tokens is not None else WrongTokenLimiter()

    def token_ok(self, given: str) -> bool:
        # Constant time: the token is the only protection the pushes have.
        return bool(self._token) and hmac.compare_digest(
            given.encode("utf-8", "surrogatepass"), self._token
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.perf_counter()
        token, _, tail = scope["path"][len("/push/") :].partition("/")
        if tail.endswith("/"):
            tail = tail[:-1]
        if tail not in _ADDRESS_KINDS or not token:
            await _answer(send, 404, b"Not Found", b"text/plain; charset=utf-8")
            return
        if scope["method"] != "POST":
            await _answer(
                send,
                405,
                b"Method Not Allowed",
                b"text/plain; charset=utf-8",
                [(b"allow", b"POST")],
            )
            return
        if not self.token_ok(token):
            client = scope.get("client")
            wait = self.wrong_tokens.wrong_token(client[0] if client else None)
            if wait > 0:
                PUSHES_RATE_LIMITED.inc()
                await _answer(
                    send,
                    429,
                    b"Too Many Requests",
                    b"text/plain; charset=utf-8",
                    [(b"retry-after", str(math.ceil(wait)).encode())],
                )
                return
            _REJECTED[RejectReason.BAD_TOKEN].inc()
            await _answer(send, 404, b"Not Found", b"text/plain; charset=utf-8")  # as any path
            return
        declared = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"content-type":
                content_type = value.decode("latin-1").replace("\x00", "")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await self._too_large(send)
            return
        try:
            raw = await read_capped(receive)
        except _Disconnected:
            return  # nobody is left to read an answer
        if raw is None:
            await self._too_large(send)
            return
        address = f"/push/{{PUSH_TOKEN}}{'/' + tail if tail else ''}"  # never the token itself
        try:
            accepted = check_push(raw, _ADDRESS_KINDS[tail])
        except PushRejected as rejected:
            _REJECTED[rejected.reason].inc()
            log.info("refused a push on %s: %s", address, rejected.message)
            await self._keep_dead_letter(address, rejected.message, content_type, raw)
            await _error(send, 400, rejected.message)
            return
        except Exception:  # a bug in the check must not lose the body nor answer 500
            log.exception("could not check a push on %s", address)
            await self._keep_dead_letter(
                address, "internal error while checking", content_type, raw
            )
            await _error(send, 503, _NOT_STORED)
            return
        try:
            await self._writer.store_push(accepted.kind, accepted.text)
        except InboxUnavailable:
            PUSHES_REJECTED.labels(self._writer.write_health.push_refusal_label()).inc()
            await _error(send, 503, _NOT_STORED)
            return
        PUSH_COMMIT_SECONDS.observe(time.perf_counter() - arrived)
        if self._on_stored is not None:
            self._on_stored()
        await send(_STORED_START)
        await send(_STORED_BODY)

    async def _too_large(self, send: Send) -> None:
        _REJECTED[RejectReason.TOO_LARGE].inc()
        # Closing the connection stops the sender from streaming the rest at us.
        await _error(send, 413, _TOO_LARGE, [(b"connection", b"close")])

    async def _keep_dead_letter(
        self, address: str, reason: str, content_type: str | None, raw: bytes
    ) -> None:
        try:
            await self._writer.store_dead_letter(
                path=address, reason=reason, content_type=content_type, body=raw
            )
        except InboxUnavailable as exc:
            log.warning("could not keep a refused push body: %s", exc)


class ListenerApp:
    """`/push/...` to the push endpoint, everything else (and the lifespan) to `app` (Starlette;
    in the push listener process of `ccbot run`, the forwarder to the main process)."""

    def __init__(self, pushes: PushEndpoint | None, app: ASGIApp) -> None:
        self.pushes = pushes
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.pushes is not None and scope["type"] == "http" and scope["path"].startswith("/push/"):
            try:
                await self.pushes(scope, receive, send)
            except Exception:  # never reached by any input we know of; the sender may retry
                log.exception("the push endpoint failed")
                with contextlib.suppress(Exception):
                    await _error(send, 503, _NOT_STORED)
            return
        await self.app(scope, receive, send)


def create_listener_app(
    runtime: Runtime,
    application: Application | None = None,
    *,
    push_token: str | None = None,
    inbox: InboxWriter | None = None,
    wrong_tokens: WrongTokenLimiter | None = None,
    pushes: bool = True,
    write_health: WriteHealth | None = None,
) -> ListenerApp:
    """The listener. `push_token` defaults to PUSH_TOKEN; `inbox` (started and stopped with the
    app) defaults to the runtime's writer (started by its owner), else a new one on DATABASE_URL;
    `wrong_tokens` to the default limits. `pushes=False`: the other routes only (`ccbot run`
    serves pushes from a child process: bot/processes.py), and `write_health` the database's
    write health as that child reports it (else the writer's own)."""
    started = time.monotonic()
    if push_token is None and runtime.settings.push_token is not None:
        push_token = runtime.settings.push_token.get_secret_value()
    if not push_token:
        log.warning("PUSH_TOKEN is not set: every push will be answered 404")
    elif "/" in push_token:
        log.warning("PUSH_TOKEN contains '/': no push address can match it, choose another token")
    # The runtime's writer is started and stopped by its owner (bot/app.py); one given here or
    # made here starts and stops with the app.
    own_writer = pushes and (inbox is not None or runtime.inbox is None)
    writer = inbox or runtime.inbox or InboxWriter(runtime.settings.database_url)

    def wake_relay() -> None:
        if runtime.relay is not None:
            runtime.relay.wake()

    async def metrics(_: Request) -> Response:
        body, content_type = render_metrics()
        return Response(body, headers={"content-type": content_type})

    health = write_health or writer.write_health
    runtime.write_health = health  # for /status
    writes = WriteWatch(health, runtime.database)
    health.listeners.append(record_write_state)
    notices: WriteNotices | None = None
    if application is not None:
        notices = WriteNotices(
            application.bot, runtime.database, runtime.settings.admin_user_ids
        )
        health.listeners.append(notices)

    async def healthz(_: Request) -> Response:
        """Live: the database answers and takes writes (a full disk is a 503 too)."""
        database_ok = await runtime.database_ok()
        health = await writes.current()
        if not database_ok:
            database = "not answering"
        elif health.refused:
            database = write_problem(health) or "refuses writes"
        else:
            database = "ok"
        healthy = database == "ok"
        body = {
            "status": "ok" if healthy else "unavailable",
            "database": database,
            "writes": health.reason.value if health.reason is not None else "ok",
            "version": __version__,
            "uptime_s": int(time.monotonic() - started),
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    telegram_seen: dict[str, float] = {}

    async def telegram_answers() -> bool:
        """getMe at most every READY_TELEGRAM_CACHE_S; a probe must not flood Telegram."""
        now = time.monotonic()
        if now - telegram_seen.get("at", -1e9) < READY_TELEGRAM_CACHE_S:
            return telegram_seen["ok"] == 1.0
        ok = False
        if application is not None:
            try:
                await asyncio.wait_for(application.bot.get_me(), timeout=5)
                ok = True
            except Exception as exc:
                log.info("readyz: Telegram does not answer: %s", exc)
        telegram_seen.update(at=now, ok=1.0 if ok else 0.0)
        return ok

    queue_seen: dict[str, Any] = {}
    queue_lock = asyncio.Lock()

    async def oldest_waiting() -> tuple[datetime | None, str | None]:
        """(When the oldest unsent message was queued, or the database's failure) read at most
        every READY_QUEUE_CACHE_S, however many probes come at once: a load balancer probing
        every second must not load the database. The lag itself is measured at each probe."""
        async with queue_lock:
            now = time.monotonic()
            if now - queue_seen.get("at", -1e9) < READY_QUEUE_CACHE_S:
                return queue_seen["oldest"], queue_seen["error"]
            oldest, error = None, None
            try:
                oldest = await runtime.database.run(oldest_unsent)
            except Exception as exc:
                error = type(exc).__name__
            queue_seen.update(at=now, oldest=oldest, error=error)
            return oldest, error

    async def readyz(_: Request) -> Response:
        """Ready: Telegram answers, the relay worker and the sender run, relay lag is small."""
        problems: list[str] = []
        if not await telegram_answers():
            problems.append("Telegram does not answer getMe")
        conflict_at = runtime.polling_conflict_at
        if conflict_at is not None and time.monotonic() - conflict_at < READY_CONFLICT_S:
            problems.append(
                "Telegram refuses getUpdates: another process polls with this bot token"
            )
        relay, sender = runtime.relay, runtime.sender
        if relay is None or not relay.running:
            problems.append("the relay worker is not running")
        elif relay.last_cycle_at is not None and time.monotonic() - relay.last_cycle_at > 60:
            problems.append("the relay worker has not finished a cycle for over 60 s")
        if sender is None or not sender.running:
            problems.append("the sender is not running")
        oldest, error = await oldest_waiting()
        lag: float | None = None
        if error is not None:
            problems.append(f"the database does not answer ({error})")
        else:
            lag = QueueState(oldest_unsent=oldest).relay_lag_s(datetime.now(UTC))
        if lag is not None and lag > READY_MAX_LAG_S:
            problems.append(f"relay lag is {lag:.0f} s (over {READY_MAX_LAG_S} s)")
        refused = write_problem(await writes.current())
        if refused is not None:
            problems.append(refused)
        body = {
            "status": "ready" if not problems else "not ready",
            "problems": problems,
            "relay_lag_s": None if lag is None else round(lag, 1),
            "version": __version__,
        }
        return JSONResponse(body, status_code=503 if problems else 200)

    async def telegram_update(request: Request) -> Response:
        secret = runtime.settings.telegram_webhook_secret
        expected = secret.get_secret_value() if secret else ""
        given_path = request.path_params["secret"]
        given_header = request.headers.get("x-telegram-bot-api-secret-token", "")
        if (
            application is None
            or not expected
            or not hmac.compare_digest(given_path, expected)
            or not hmac.compare_digest(given_header, expected)
        ):
            return Response(status_code=404)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response(status_code=413)
        try:
            data = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        from telegram import Update

        await application.update_queue.put(Update.de_json(data, application.bot))
        return Response(status_code=200)

    routes = [
        Route("/readyz", readyz, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if runtime.settings.telegram_mode == "webhook":
        routes.append(Route("/telegram/{secret}", telegram_update, methods=["POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Stops after uvicorn has let the requests in flight finish, so their commits happen.
        if not own_writer:
            yield
            return
        await writer.start()
        try:
            yield
        finally:
            await writer.stop()
            if notices is not None:
                await notices.flush()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.router.redirect_slashes = False  # an unknown path is a plain 404, never a redirect
    return ListenerApp(
        PushEndpoint(push_token, writer, wake_relay, wrong_tokens) if pushes else None, app
    )
