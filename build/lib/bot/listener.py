"""The embedded HTTP listener: health, Telegram webhook updates, and (with the relay) pushes."""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import __version__

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


def create_listener_app(runtime: Runtime, application: Application | None = None) -> Starlette:
    started = time.monotonic()

    async def healthz(_: Request) -> Response:
        database_ok = await runtime.database_ok()
        body = {
            "status": "ok" if database_ok else "unavailable",
            "database": "ok" if database_ok else "not answering",
            "version": __version__,
            "uptime_s": int(time.monotonic() - started),
        }
        return JSONResponse(body, status_code=200 if database_ok else 503)

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

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if runtime.settings.telegram_mode == "webhook":
        routes.append(Route("/telegram/{secret}", telegram_update, methods=["POST"]))
    return Starlette(routes=routes)
