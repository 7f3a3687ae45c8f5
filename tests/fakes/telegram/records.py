"""What tests read back from the fake: the calls the bot made, the chats' messages, files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as the bot uploaded it."""

    file_name: str
    content: bytes
    mime_type: str | None


@dataclass(frozen=True)
class StoredFile:
    """A file the fake can serve through getFile and the file download URL."""

    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str | None
    mime_type: str | None
    content: bytes
    file_size: int
    # False: the size is in neither the update nor getFile's answer (both optional in the API).
    declare_size: bool = True


@dataclass(frozen=True)
class BotApiCall:
    """One request the bot made, with what the fake answered; `time` is when it answered."""

    seq: int
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    time: float
    status: int
    result: Any = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """The text or caption as the bot sent it (before parse mode)."""
        return self.params.get("text", self.params.get("caption"))

    @property
    def reply_to_message_id(self) -> int | None:
        reply = self.params.get("reply_parameters")
        if isinstance(reply, dict):
            return reply.get("message_id")
        return self.params.get("reply_to_message_id")

    def summary(self) -> str:
        shown = {
            key: "***" if "secret" in key or "token" in key else _shorten(value)
            for key, value in self.params.items()
        }
        files = {name: f"{f.file_name} ({len(f.content)} bytes)" for name, f in self.files.items()}
        outcome = str(self.status) + (f" {self.description}" if self.description else "")
        extra = f" files={files}" if files else ""
        return f"#{self.seq} {self.method} {shown}{extra} -> {outcome}"


@dataclass
class ChatMessage:
    """A message as it stands in a chat now (edits applied); `data` is the Bot API Message."""

    data: dict[str, Any]
    from_bot: bool
    sent_text: str | None = None  # text or caption as sent, before parse mode
    parse_mode: str | None = None
    edits: int = 0
    file: StoredFile | None = None
    force_reply: dict[str, Any] | None = None  # the ForceReply markup it was sent with

    @property
    def message_id(self) -> int:
        return self.data["message_id"]

    @property
    def chat_id(self) -> int:
        return self.data["chat"]["id"]

    @property
    def text(self) -> str | None:
        """The text or caption as a user sees it (HTML parsed, trimmed)."""
        return self.data.get("text", self.data.get("caption"))

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        return self.data.get("reply_markup")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    @property
    def reply_to_message_id(self) -> int | None:
        reply = self.data.get("reply_to_message")
        return reply["message_id"] if reply else None

    @property
    def message_thread_id(self) -> int | None:
        return self.data.get("message_thread_id")


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt of the fake to POST an update to the bot's webhook."""

    update_id: int
    status_code: int | None
    error: str | None = None


def _shorten(value: Any, limit: int = 120) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= limit else text[:limit] + "…"
    return value
