"""The embedded HTTP listener: the platform's pushes, health, metrics, Telegram webhook updates.

The push routes (DESIGN.md, "HTTP listener") check the token, read at most 1 MiB, check the body's
shape without touching the database (bot/relay/push_shapes.py), and answer 200 only once the push
is committed to `push_inbox` (bot/relay/ingest.py, group commits). They never wait on Telegram or
the platform: the relay worker takes the stored pushes from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import __version__
from bot.metrics import PUSH_COMMIT_SECONDS, PUSHES_RECEIVED, PUSHES_REJECTED, render_metrics
from bot.relay.ingest import InboxUnavailable, InboxWriter
from bot.relay.push_shapes import PushKind, PushRejected, RejectReason, check_push
from bot.status import queue_state

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.runtime import Runtime

log = logging.getLogger(__name__)

READY_MAX_LAG_S = 60
READY_TELEGRAM_CACHE_S = 15.0
MAX_BODY_BYTES = 1024 * 1024

_RECEIVED = {kind: PUSHES_RECEIVED.labels(kind.value) for kind in PushKind}
_REJECTED = {reason: PUSHES_REJECTED.labels(reason.value) for reason in RejectReason}
_STORED = b'{"status":"stored"}'
_NOT_STORED = (
    "The push could not be stored just now (the database did not take it), so it was not "
    "accepted: send it again."
)


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes | None:
    """The body, or None as soon as it grows past `limit` (the rest is never read: a chunked
    body has no length to check first). Raises ClientDisconnect if the sender goes away."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> Response:
    _REJECTED[RejectReason.TOO_LARGE].inc()
    # Closing the connection stops the sender from streaming the rest at us.
    return JSONResponse(
        {"error": f"The body is over {MAX_BODY_BYTES // 1024 // 1024} MiB; a push is far smaller."},
        status_code=413,
        headers={"connection": "close"},
    )


def create_listener_app(
    runtime: Runtime,
    application: Application | None = None,
    *,
    push_token: str | None = None,
    inbox: InboxWriter | None = None,
) -> Starlette:
    """The listener. `push_token` defaults to PUSH_TOKEN; `inbox` (started and stopped with the
    app) defaults to a writer on DATABASE_URL."""
    started = time.monotonic()
    if push_token is None and runtime.settings.push_token is not None:
        push_token = runtime.settings.push_token.get_secret_value()
    if not push_token:
        log.warning("PUSH_TOKEN is not set: every push will be answered 404")
    elif "/" in push_token:
        log.warning("PUSH_TOKEN contains '/': no push address can match it, choose another token")
    expected_token = (push_token or "").encode()
    writer = inbox if inbox is not None else InboxWriter(runtime.settings.database_url)

    def token_ok(given: str) -> bool:
        # Constant time: the token is the only protection the pushes have.
        return bool(expected_token) and hmac.compare_digest(
            given.encode("utf-8", "surrogatepass"), expected_token
        )

    async def push(request: Request, address_kind: PushKind | None, suffix: str) -> Response:
        arrived = time.perf_counter()
        if not token_ok(request.path_params["token"]):
            _REJECTED[RejectReason.BAD_TOKEN].inc()
            return PlainTextResponse("Not Found", status_code=404)  # as for any unknown path
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _too_large()
        try:
            raw = await read_capped(request)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read an answer
        if raw is None:
            return _too_large()
        path = f"/push/{{PUSH_TOKEN}}{suffix}"  # the token itself is never stored
        content_type = request.headers.get("content-type")
        try:
            accepted = check_push(raw, address_kind)
        except PushRejected as rejected:
            _REJECTED[rejected.reason].inc()
            log.info("refused a push on %s: %s", path, rejected.message)
            await keep_dead_letter(path, rejected.message, content_type, raw)
            return JSONResponse({"error": rejected.message}, status_code=400)
        except Exception:  # a bug in the check must not lose the body nor answer 500
            log.exception("could not check a push on %s", path)
            await keep_dead_letter(path, "internal error while checking", content_type, raw)
            return JSONResponse({"error": _NOT_STORED}, status_code=503)
        try:
            await writer.store_push(accepted.kind, accepted.text)
        except InboxUnavailable:
            return JSONResponse({"error": _NOT_STORED}, status_code=503)
        _RECEIVED[accepted.kind].inc()
        PUSH_COMMIT_SECONDS.observe(time.perf_counter() - arrived)
        relay = application.bot_data.get("relay") if application is not None else None
        if relay is not None:
            relay.wake()  # a ringing phone is news now, not at the worker's next poll
        return Response(_STORED, media_type="application/json")

    async def keep_dead_letter(
        path: str, reason: str, content_type: str | None, raw: bytes
    ) -> None:
        try:
            await writer.store_dead_letter(
                path=path,
                reason=reason,
                content_type=content_type.replace("\x00", "") if content_type else None,
                body=raw,
            )
        except InboxUnavailable as exc:
            log.warning("could not keep a refused push body: %s", exc)

    async def push_any(request: Request) -> Response:
        return await push(request, None, "")

    async def push_ringing(request: Request) -> Response:
        return await push(request, PushKind.RINGING, "/ringing")

    async def push_calls(request: Request) -> Response:
        return await push(request, PushKind.CALL, "/calls")

    async def metrics(_: Request) -> Response:
        body, content_type = render_metrics()
        return Response(body, headers={"content-type": content_type})

    async def healthz(_: Request) -> Response:
        database_ok = await runtime.database_ok()
        body = {
            "status": "ok" if database_ok else "unavailable",
            "database": "ok" if database_ok else "not answering",
            "version": __version__,
            "uptime_s": int(time.monotonic() - started),
        }
        return JSONResponse(body, status_code=200 if database_ok else 503)

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

    async def readyz(_: Request) -> Response:
        """Ready: Telegram answers, the relay worker and the sender run, relay lag is small."""
        problems: list[str] = []
        if not await telegram_answers():
            problems.append("Telegram does not answer getMe")
        bot_data = application.bot_data if application is not None else {}
        relay, sender = bot_data.get("relay"), bot_data.get("sender")
        if relay is None or not relay.running:
            problems.append("the relay worker is not running")
        elif relay.last_cycle_at is not None and time.monotonic() - relay.last_cycle_at > 60:
            problems.append("the relay worker has not finished a cycle for over 60 s")
        if sender is None or not sender.running:
            problems.append("the sender is not running")
        now = datetime.now(UTC)
        try:
            state = await runtime.database.run(lambda s: queue_state(s, now))
            lag = state.relay_lag_s(now)
        except Exception as exc:
            problems.append(f"the database does not answer ({type(exc).__name__})")
            lag = None
        if lag is not None and lag > READY_MAX_LAG_S:
            problems.append(f"relay lag is {lag:.0f} s (over {READY_MAX_LAG_S} s)")
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
        # Pushes first: they are nearly all the traffic. A trailing slash (as a console address
        # may be typed) reaches the same route rather than a redirect the platform won't follow.
        Route("/push/{token}", push_any, methods=["POST"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/push/{token}/", push_any, methods=["POST"]),
        Route("/push/{token}/ringing", push_ringing, methods=["POST"]),
        Route("/push/{token}/ringing/", push_ringing, methods=["POST"]),
        Route("/push/{token}/calls", push_calls, methods=["POST"]),
        Route("/push/{token}/calls/", push_calls, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if runtime.settings.telegram_mode == "webhook":
        routes.append(Route("/telegram/{secret}", telegram_update, methods=["POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Stops after uvicorn has let the requests in flight finish, so their commits happen.
        await writer.start()
        try:
            yield
        finally:
            await writer.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.router.redirect_slashes = False  # an unknown path is a plain 404, never a redirect
    return app
