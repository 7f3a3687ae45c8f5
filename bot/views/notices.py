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

from bot.i18n import N_, _, n_
from bot.render import esc

# Why a message failed for good, in words (the reason labels of ccbot_messages_failed; "forbidden"
# has its own notice).
REASON_WORDS = {
    "network": N_("Telegram could not be reached"),
    "timeout": N_("Telegram did not answer in time"),
    "server_error": N_("Telegram answered with a server error"),
    "telegram": N_("Telegram answered with an error"),
    "abandoned": N_("the sender stopped while sending it"),
    "bad_request": N_("Telegram refused it"),
}

TOPIC_GONE_NOTICE = N_(
    "ℹ️ The forum topic where I posted ringing events, call records and digests is gone "
    "(it was deleted), so I post them here in the main chat from now on. To use another "
    "topic, run /bind inside it.",
)


class FailedMessage(Protocol):
    """What a failure notice reads of a failed outbox row."""

    @property
    def chat_id(self) -> int: ...

    @property
    def kind(self) -> str: ...

    @property
    def error(self) -> str | None: ...


def chat_words(chat_id: int, title: str | None) -> str:
    """A chat as admins recognise it: its id, and its title when known."""
    return f"<code>{chat_id}</code>" + (f" ({esc(title)})" if title else "")


def forbidden_notice(
    chat_id: int, title: str | None, description: str, routes: int, messages: int
) -> str:
    routes_words = (
        n_("switched off its {count} route", "switched off its {count} routes", routes)
        if routes
        else _("had no routes to switch off there")
    )
    waiting = n_(
        "{count} waiting message for it was not sent",
        "{count} waiting messages for it were not sent",
        messages,
    )
    return _(
        "🚫 I can no longer post in chat {chat}: Telegram answered “{description}”.\n"
        "I {routes}, and {waiting} (kept in the outbox, marked failed).\n"
        "To resume: add me to the chat again and run /bind there.",
        chat=chat_words(chat_id, title),
        description=esc(description),
        routes=routes_words,
        waiting=waiting,
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
        n_(
            "⚠️ <b>{count} message could not be delivered</b> since {since} UTC. It is kept in "
            "the outbox, marked failed (ccbot_messages_failed in /metrics).",
            "⚠️ <b>{count} messages could not be delivered</b> since {since} UTC. They are kept "
            "in the outbox, marked failed (ccbot_messages_failed in /metrics).",
            total,
            since=f"{since:%H:%M}",
        )
    ]
    for shown, (chat_id, kinds) in enumerate(by_chat.items()):
        if shown == 20:
            lines.append(_("… and {count} more chats.", count=len(by_chat) - 20))
            break
        reason, _sep, description = reasons[chat_id].partition(": ")
        what = ", ".join(f"{count} {kind}" for kind, count in kinds.items())
        words = _(REASON_WORDS[reason]) if reason in REASON_WORDS else reason
        lines.append(
            _(
                "• chat {chat}: {what} — {reason}",
                chat=chat_words(chat_id, titles.get(chat_id)),
                what=what,
                reason=esc(words),
            )
            + (f": {esc(description)}" if description else "")
        )
    return "\n".join(lines)
