"""What the bot tells admins and chats about its own deliveries: pure functions of data, HTML
escaped by the one renderer.

- `forbidden_notice`: to the admins, once, when Telegram refuses every message in a chat.
- `failure_notice`: to the admins, one message per hour edited as more fail, listing what could
  not be delivered and why.
- `TOPIC_GONE_NOTICE`: to a chat whose notification topic was deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.render import esc

# Why a message failed for good, in words (the reason labels of ccbot_messages_failed; "forbidden"
# has its own notice).
REASON_WORDS = {
    "network": "Telegram could not be reached",
    "timeout": "Telegram did not answer in time",
    "server_error": "Telegram answered with a server error",
    "telegram": "Telegram answered with an error",
    "abandoned": "the sender stopped while sending it",
    "bad_request": "Telegram refused it",
}

TOPIC_GONE_NOTICE = (
    "ℹ️ The forum topic where I posted ringing events, call records and digests is gone (it was "
    "deleted), so I post them here in the main chat from now on. To use another topic, run "
    "/bind inside it."
)


class FailedMessage(Protocol):
    """What a failure notice reads of a failed outbox row."""

    @property
    def chat_id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def error(self) -> str | None: ...


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def chat_words(chat_id: int, title: str | None) -> str:
    """A chat as admins recognise it: its id, and its title when known."""
    return f"<code>{chat_id}</code>" + (f" ({esc(title)})" if title else "")


def forbidden_notice(
    chat_id: int, title: str | None, description: str, routes: int, messages: int
) -> str:
    routes_words = f"switched off its {_plural(routes, 'route')}"
    return (
        f"🚫 I can no longer post in chat {chat_words(chat_id, title)}: Telegram answered "
        f"“{esc(description)}”.\n"
        f"I {routes_words if routes else 'had no routes to switch off there'}, and "
        f"{_plural(messages, 'waiting message')} for it "
        f"{'were' if messages != 1 else 'was'} not sent (kept in the outbox, marked failed).\n"
        f"To resume: add me to the chat again and run /bind there."
    )


def failure_notice(
    failed: Sequence[FailedMessage], titles: dict[int, str | None], since: datetime
) -> str:
    by_chat: dict[int, dict[str, int]] = {}
    reasons: dict[int, str] = {}
    for row in failed:
        kinds = by_chat.setdefault(row.chat_id, {})
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
        reasons[row.chat_id] = row.error or "unknown"
    total = len(failed)
    lines = [
        f"⚠️ <b>{_plural(total, 'message')} could not be delivered</b> since "
        f"{since:%H:%M} UTC. {'They are' if total != 1 else 'It is'} kept in the outbox, "
        f"marked failed (ccbot_messages_failed in /metrics)."
    ]
    for shown, (chat_id, kinds) in enumerate(by_chat.items()):
        if shown == 20:
            lines.append(f"… and {len(by_chat) - 20} more chats.")
            break
        reason, _, description = reasons[chat_id].partition(": ")
        what = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        words = REASON_WORDS.get(reason, reason)
        lines.append(
            f"• chat {chat_words(chat_id, titles.get(chat_id))}: {what} — {esc(words)}"
            + (f": {esc(description)}" if description else "")
        )
    return "\n".join(lines)
