"""What a test reads back from the fake: the calls the bot made, the chats as users see them,
command menus, updates, and waits for a call or a condition (polling, with a timeout report that
shows the last calls)."""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.telegram.methods import BotApiMethods
from tests.fakes.telegram.records import BotApiCall, ChatMessage, WebhookDelivery
from tests.fakes.telegram.state import BotState, chat_type_for, scope_key

WAIT_POLL = 0.01  # how often the waits look again


class Inspection:
    """Part of FakeTelegram: what tests read back."""

    state: BotState
    methods: BotApiMethods
    server_errors: list[str]

    @property
    def calls(self) -> list[BotApiCall]:
        """Every request, getUpdates included."""
        with self.state.lock:
            return list(self.state.calls)

    @property
    def sent(self) -> list[BotApiCall]:
        """Every request except getUpdates polling."""
        with self.state.lock:
            return [call for call in self.state.calls if call.method != "getUpdates"]

    def calls_of(self, method: str, chat_id: int | None = None) -> list[BotApiCall]:
        return [
            call
            for call in self.sent
            if call.method.lower() == method.lower()
            and (chat_id is None or call.chat_id == chat_id)
        ]

    @property
    def unsupported_calls(self) -> list[BotApiCall]:
        """Calls of methods this fake does not implement (answered 404)."""
        return [call for call in self.sent if call.method not in self.methods.table]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return copy.deepcopy(self.state.pending)

    @property
    def delivered_update_ids(self) -> set[int]:
        """Ids of the updates the bot has fetched (getUpdates) or accepted (webhook)."""
        with self.state.lock:
            return set(self.state.delivered)

    @property
    def withheld_updates(self) -> list[dict[str, Any]]:
        """Group messages privacy mode kept from the bot."""
        with self.state.lock:
            return copy.deepcopy(self.state.withheld)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self.state.lock:
            return list(self.state.deliveries)

    @property
    def webhook_url(self) -> str | None:
        with self.state.lock:
            return self.state.webhook.url if self.state.webhook else None

    def mark(self) -> int:
        """A position in the call log, for wait_for(..., since=fake.mark())."""
        with self.state.lock:
            return self.state.calls[-1].seq if self.state.calls else 0

    def messages(self, chat_id: int, *, include_user_messages: bool = False) -> list[ChatMessage]:
        """The chat's current messages (edits applied, deletions gone), oldest first."""
        with self.state.lock:
            chat = self.state.chats.get(chat_id)
            if chat is None:
                return []
            return [
                copy.deepcopy(m)
                for m in chat.messages.values()
                if m.from_bot or include_user_messages
            ]

    def last_text(self, chat_id: int) -> str | None:
        """What a user sees of the bot's latest message in the chat (text or caption)."""
        messages = self.messages(chat_id)
        return messages[-1].text if messages else None

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        """The command list the bot set for a scope (default scope when None)."""
        with self.state.lock:
            return copy.deepcopy(self.state.commands.get(scope_key(scope, language_code), []))

    def menu_for(self, chat_id: int, user_id: int, language_code: str = "") -> list[str]:
        """The command names the member sees in the chat's menu, resolved like Telegram does.

        Private chats: chat scope, all_private_chats, default. Groups: chat_member,
        chat_administrators (admins), chat, all_chat_administrators (admins), all_group_chats,
        default. The first scope with a list wins (per language, then without one).
        """
        with self.state.lock:
            chat = self.state.chats.get(chat_id)
            chat_type = chat.type if chat else chat_type_for(chat_id)
            status = self.state.status_of(chat_id, user_id)
            is_admin = status in ("administrator", "creator")
            if chat_type == "private":
                scopes: list[dict[str, Any]] = [
                    {"type": "chat", "chat_id": chat_id},
                    {"type": "all_private_chats"},
                ]
            else:
                scopes = [{"type": "chat_member", "chat_id": chat_id, "user_id": user_id}]
                if is_admin:
                    scopes.append({"type": "chat_administrators", "chat_id": chat_id})
                scopes.append({"type": "chat", "chat_id": chat_id})
                if is_admin:
                    scopes.append({"type": "all_chat_administrators"})
                scopes.append({"type": "all_group_chats"})
            scopes.append({"type": "default"})
            for scope in scopes:
                for language in dict.fromkeys((language_code, "")):
                    found = self.state.commands.get(scope_key(scope, language))
                    if found:
                        return [c["command"] for c in found]
            return []

    def force_reply_targets(self, chat_id: int, message_id: int) -> frozenset[int] | None:
        """Who a bot message's ForceReply opens the reply field for: None means everyone, an
        empty set nobody (a selective ForceReply that neither replies to nor mentions anyone).

        Bot API: with `selective`, the targets are the users @mentioned in the text (or by a
        text_mention) and, when the message replies to one in the same chat, its sender.
        """
        with self.state.lock:
            message = self.state.chats[chat_id].messages[message_id]
            markup = message.force_reply
            if markup is None:
                raise AssertionError(f"message {message_id} in chat {chat_id} has no ForceReply")
            if not markup.get("selective"):
                return None
            targets: set[int] = set()
            text = message.text or ""
            for entity in message.data.get("entities", []):
                if entity["type"] == "text_mention":
                    targets.add(entity["user"]["id"])
            for user_id, user in self.state.users.items():
                username = user.get("username")
                if username and re.search(rf"@{re.escape(username)}\b", text, re.IGNORECASE):
                    targets.add(user_id)
            reply = message.data.get("reply_to_message")
            if reply and reply.get("from") and not reply["from"].get("is_bot"):
                targets.add(reply["from"]["id"])
            return frozenset(targets)

    async def wait_for(
        self,
        predicate: Callable[[BotApiCall], bool],
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> BotApiCall:
        """The first call after `since` (a mark()) matching `predicate`, polling until `timeout`."""
        deadline = time.monotonic() + timeout
        problem: str | None = None
        while True:
            for call in self.calls:
                if call.seq <= since:
                    continue
                try:
                    if predicate(call):
                        return call
                except (KeyError, TypeError, AttributeError, IndexError) as exc:
                    problem = f"{call.summary()}: predicate raised {exc!r}"
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(timeout, problem))
            await asyncio.sleep(WAIT_POLL)

    async def wait_for_text(
        self, chat_id: int, fragment: str, timeout: float = 5.0, *, since: int = 0
    ) -> BotApiCall:
        """The first successful send or edit to `chat_id` whose text or caption has `fragment`."""
        methods = {
            "sendMessage",
            "editMessageText",
            "editMessageCaption",
            "sendDocument",
            "sendPhoto",
        }
        return await self.wait_for(
            lambda c: (
                c.ok and c.method in methods and c.chat_id == chat_id and fragment in (c.text or "")
            ),
            timeout,
            since=since,
        )

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 5.0, *, what: str = "the condition"
    ) -> None:
        """Poll `condition` (e.g. about webhook_deliveries or pending_updates) until it holds."""
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_report(timeout, None, what=what))
            await asyncio.sleep(WAIT_POLL)

    def _timeout_report(
        self,
        timeout: float,
        problem: str | None,
        *,
        what: str = "a Bot API call matching the predicate",
    ) -> str:
        lines = [
            f"timed out after {timeout} s waiting for {what}. Last calls (getUpdates left out):"
        ]
        lines += ["  " + call.summary() for call in self.sent[-25:]] or ["  (none)"]
        if problem:
            lines.append(f"last predicate error: {problem}")
        with self.state.lock:
            if self.state.pending:
                lines.append(
                    f"updates still pending (not fetched by the bot): {len(self.state.pending)}"
                )
            if self.state.withheld:
                lines.append(
                    f"updates withheld by privacy mode (bot not admin, can_read_all_group_messages"
                    f"=False): {[u['update_id'] for u in self.state.withheld]}"
                )
        if self.server_errors:
            lines.append(f"fake server errors: {self.server_errors[-1]}")
        return "\n".join(lines)
