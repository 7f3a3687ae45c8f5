"""Webhook mode: while a webhook is set, the fake POSTs pending updates to it one by one, with the
secret token header, like Telegram does; a failed delivery is kept and retried, and shows in
getWebhookInfo's last error."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable

import httpx

from tests.fakes.telegram.records import WebhookDelivery
from tests.fakes.telegram.state import BotState

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
IDLE_POLL = 0.01  # how often an idle poster looks for a webhook and updates
RETRY_PAUSE = 0.1  # after a failed delivery


async def post_updates(state: BotState, stopping: Callable[[], bool]) -> None:
    """Runs in the server's loop until `stopping()`; every attempt goes to state.deliveries."""
    async with httpx.AsyncClient(timeout=5) as client:
        while not stopping():
            with state.lock:
                hook = copy.copy(state.webhook)
                update = None
                if hook is not None:
                    state.drop_unwanted(hook.allowed_updates)
                    update = copy.deepcopy(state.pending[0]) if state.pending else None
            if hook is None or update is None:
                await asyncio.sleep(IDLE_POLL)
                continue
            headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
            try:
                response = await client.post(hook.url, json=update, headers=headers)
                status, error = response.status_code, None
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason_phrase}"
            except httpx.HTTPError as exc:
                status, error = None, f"Connection failed: {exc!r}"
            with state.lock:
                state.deliveries.append(WebhookDelivery(update["update_id"], status, error))
                if error is None:
                    state.delivered.add(update["update_id"])
                    state.pending = [
                        u for u in state.pending if u["update_id"] != update["update_id"]
                    ]
                elif state.webhook is not None:
                    state.webhook.last_error_date = int(time.time())
                    state.webhook.last_error_message = error
            if error is not None:
                await asyncio.sleep(RETRY_PAUSE)
