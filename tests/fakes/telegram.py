"""A fake Telegram Bot API server speaking real HTTP, for end-to-end tests of the bot.

The real python-telegram-bot `Application` talks to it exactly as it talks to api.telegram.org:
`ApplicationBuilder().token(fake.token).base_url(f"{fake.url}/bot").base_file_url(f"{fake.url}/file/bot")`.
The server (Starlette on uvicorn) runs in a background thread with its own event loop; all state sits
behind one lock so a test, in its own loop, can inject updates and read what the bot sent.

What it imitates from the real API, because tests should fail where production would:
- responses `{"ok": true, "result": ...}` and errors with the real HTTP status, description and
  `parameters` (`retry_after`, `migrate_to_chat_id`);
- HTML parse mode is parsed like Telegram does (unsupported or unclosed tags, a bare `<`, are
  "can't parse entities" errors), texts are measured after parsing and trimmed; a
  `tg://user?id=` link to a user the bot knows becomes a `text_mention`;
- command menus are kept per scope (the scope is checked) and `menu_for(chat, user)` resolves
  which list a member sees the way Telegram does; a selective `ForceReply` targets only the
  sender of the message it replies to and the users it mentions (`force_reply_targets`);
- "message is not modified", "message to edit not found", "message to be replied not found",
  invalid `callback_data`, answering an unknown or already answered callback query;
- sends to a migrated group answer "group chat was upgraded" with `migrate_to_chat_id`; sends to a
  chat the bot left or was kicked from (or a private chat that blocked it) answer 403;
- getFile refuses files over 20 MB ("file is too big") unless the fake plays a local Bot API
  server (`download_limit=None`); `file_size` is optional in documents and getFile answers, as in
  the real API (`declare_size=False` leaves it out); downloads are streamed and counted
  (`served_bytes`), so a test can see that the bot stopped reading;
- privacy mode: with `can_read_all_group_messages=False` (the default, like a fresh bot) a bot that
  is not a group admin only receives commands, replies to its own messages, mentions and service
  messages from groups. Other group messages are kept in `withheld_updates`, not delivered;
- getUpdates confirms by offset, long-polls (capped at `long_poll_cap` seconds so shutdowns are
  fast), honours `allowed_updates`, and answers 409 while a webhook is set; with a webhook set, the
  fake POSTs pending updates to it (with the secret token header), like Telegram does.

Opt-in, for the outbox sender's tests (self-contained, see "flood limits and stalls" below):
- `flood_limits=True` (or a `FloodRules`): Telegram's flood limits are enforced with 429 and
  `retry_after`: per chat at most 3 messages in any 3 s (one a second, short bursts), per group
  at most 20 new messages in any 60 s, overall at most 30 messages in any 1 s. Sends and edits
  count when they succeed; `flood_refusals` lists the 429s given;
- `stall_next(method, seconds)`: the answer comes only after `seconds`, and a request whose
  client gave up meanwhile is not carried out (a network failure before Telegram took it);
- `remove_message(chat_id, message_id)`: someone deleted the bot's message (edits of it then
  answer "message to edit not found"); `delete_topic(chat_id, thread_id)`: someone deleted a
  forum topic (sends into it answer "message thread not found");
- `fail_matching(method, fragment, ...)`: calls whose text or caption contains `fragment` get
  an error (one part of a message sent in several).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hmac
import itertools
import json
import mimetypes
import re
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_TOKEN = "123456:TEST-fake-token-abcdefghijklmnopqrstuv"
BOT_USERNAME = "ccbot_test_bot"
BOT_FIRST_NAME = "ccbot test"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files, as the real Bot API does
DOWNLOAD_CHUNK = 64 * 1024  # the file server streams downloads in pieces of this size
MAX_CALLBACK_ANSWER_LENGTH = 200

MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
# The real API leaves these out unless asked for by name in allowed_updates.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
# Form values are strings; these stay strings, every other one is decoded as JSON when it parses
# (numbers, booleans, reply_markup, scope, ...). Keeps a message text like "123" a string.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "file_id",
        "url",
        "secret_token",
        "action",
        "language_code",
        "ip_address",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "emoji",
        "custom_title",
        "document",
        "photo",
    }
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


# ----------------------------------------------------------------------------------------------
# What tests read back


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
    """One request the bot made, with what the fake answered."""

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


# ----------------------------------------------------------------------------------------------
# Telegram's HTML parse mode


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message is the real API's wording."""


_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, index: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, index)
    if not match:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        if name not in _NAMED_ENTITIES:
            return None  # Telegram keeps an unknown entity as literal text
        return _NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        decoded = _decode_entity(value, i) if value[i] == "&" else None
        if decoded:
            out.append(decoded[0])
            i = decoded[1]
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _parse_attributes(text: str, i: int, tag: str, offset: int) -> tuple[dict[str, str], int]:
    """Attributes of a start tag from just after its name; returns them and the index after `>`."""
    attributes: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[i] == ">":
            return attributes, i + 1
        start = i
        while i < n and (text[i].isascii() and (text[i].isalnum() or text[i] in "-_")):
            i += 1
        name = text[start:i].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {offset}'
            )
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] != "=":
            attributes[name] = ""  # e.g. <blockquote expandable>
            continue
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end == -1:
                raise EntityParseError(f"Unclosed start tag at byte offset {offset}")
            value, i = text[i + 1 : end], end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            value = text[start:i]
        attributes[name] = _unescape(value)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Text and entities the way Telegram parses `parse_mode=HTML`, raising EntityParseError."""
    out: list[str] = []
    position = 0  # in UTF-16 code units, as entity offsets are
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i)
            if decoded:
                out.append(decoded[0])
                position += utf16_length(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            out.append(char)
            position += utf16_length(char)
            i += 1
            continue
        offset = len(text[:i].encode())
        if text.startswith("</", i):
            end = text.find(">", i)
            if end == -1:
                raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
            open_name, start, attributes = stack.pop()
            if name != open_name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            entity = _entity_for(open_name, start, position - start, attributes, stack)
            if entity:
                entities.append(entity)
            i = end + 1
            continue
        j = i + 1
        while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "-"):
            j += 1
        name = text[i + 1 : j].lower()
        if name not in _ENTITY_TYPES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attributes, i = _parse_attributes(text, j, name, offset)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            )
        if name == "tg-emoji" and not attributes.get("emoji-id"):
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        stack.append((name, position, attributes))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return _trimmed("".join(out), entities)


def _entity_for(
    name: str, offset: int, length: int, attributes: dict[str, str], stack: list
) -> dict[str, Any] | None:
    if length <= 0:
        return None
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[name], "offset": offset, "length": length}
    if name == "a":
        if not attributes.get("href"):
            return None
        entity["url"] = attributes["href"]
    elif name == "code" and stack and stack[-1][0] == "pre":
        language = attributes.get("class", "")
        if language.startswith("language-"):
            stack[-1][2]["language"] = language.removeprefix("language-")
            return None  # folded into the enclosing pre entity
    elif name == "pre" and attributes.get("language"):
        entity["language"] = attributes["language"]
    elif name == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attributes["emoji-id"]
    return entity


def _trimmed(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace of a message and moves entities along."""
    stripped = text.strip()
    lead = utf16_length(text[: len(text) - len(text.lstrip())])
    total = utf16_length(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept


# ----------------------------------------------------------------------------------------------
# Requests


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad_request(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


def _decode_value(name: str, raw: str) -> Any:
    if name in STRING_PARAMS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _content_type_params(header: str) -> tuple[str, dict[str, str]]:
    kind, *rest = header.split(";")
    params = {}
    for item in rest:
        key, _, value = item.strip().partition("=")
        params[key.lower()] = value.strip().strip('"')
    return kind.strip().lower(), params


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for section in body.split(b"--" + boundary.encode())[1:]:
        if section.startswith(b"--"):
            break
        section = section.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = section.partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        _, disposition = _content_type_params(headers.get("content-disposition", ""))
        name = unquote(disposition.get("name", ""))
        if "filename" in disposition:
            files[name] = UploadedFile(
                file_name=unquote(disposition["filename"]),
                content=content,
                mime_type=headers.get("content-type"),
            )
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


async def _read_params(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    raw: dict[str, str] = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    body = await request.body()
    kind, options = _content_type_params(request.headers.get("content-type", ""))
    if body and kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise _bad_request("the request body must be a JSON object")
        return {**{k: _decode_value(k, v) for k, v in raw.items()}, **data}, files
    if body and kind == "multipart/form-data":
        fields, files = _parse_multipart(body, options.get("boundary", ""))
        raw.update(fields)
    elif body:
        raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {key: _decode_value(key, value) for key, value in raw.items()}, files


def _shorten(value: Any, limit: int = 120) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= limit else text[:limit] + "…"
    return value


# ----------------------------------------------------------------------------------------------
# The fake


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    is_forum: bool = False
    next_message_id: int = 1
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    bot_status: str = "member"
    migrated_to: int | None = None
    deleted_topics: set[int] = field(default_factory=set)

    def as_dict(self, users: dict[int, dict[str, Any]]) -> dict[str, Any]:
        if self.type == "private":
            user = users.get(self.id, {"first_name": f"User {self.id}"})
            chat = {"id": self.id, "type": "private", "first_name": user["first_name"]}
            if user.get("username"):
                chat["username"] = user["username"]
            return chat
        chat = {"id": self.id, "type": self.type, "title": self.title or f"Group {self.id}"}
        if self.is_forum:
            chat["is_forum"] = True
        return chat


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    parameters: dict[str, Any] | None
    times: int | None
    chat_id: int | str | None


@dataclass(frozen=True)
class FloodRules:
    """Telegram's flood limits as the fake enforces them (`scaled()` shrinks the time spans)."""

    chat_messages: int = 3  # per chat, sends and edits
    chat_window: float = 3.0
    group_messages: int = 20  # per group (negative chat id), new messages only
    group_window: float = 60.0
    overall_messages: int = 30  # every chat together, sends and edits
    overall_window: float = 1.0

    def scaled(self, factor: float) -> FloodRules:
        return FloodRules(
            chat_messages=self.chat_messages,
            chat_window=self.chat_window * factor,
            group_messages=self.group_messages,
            group_window=self.group_window * factor,
            overall_messages=self.overall_messages,
            overall_window=self.overall_window * factor,
        )


FLOOD_NEW_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
FLOOD_EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})


@dataclass
class _Stall:
    method: str
    seconds: float
    times: int | None
    chat_id: int | str | None


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


class FakeTelegram:
    """A Bot API server for one bot; start() it, point the bot at `url`, stop() it."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = BOT_USERNAME,
        can_read_all_group_messages: bool = False,
        can_join_groups: bool = True,
        long_poll_cap: float = 1.0,
        download_limit: int | None = MAX_DOWNLOAD_SIZE,
        flood_limits: bool | FloodRules = False,
    ) -> None:
        """download_limit=None plays a local Bot API server (`--local`), which has no 20 MB cap."""
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.can_read_all_group_messages = can_read_all_group_messages
        self.can_join_groups = can_join_groups
        self.long_poll_cap = long_poll_cap
        self.download_limit = download_limit
        if flood_limits is True:
            flood_limits = FloodRules()
        self.flood_rules: FloodRules | None = flood_limits or None
        self._flood_chat: dict[int, deque[tuple[float, bool]]] = {}
        self._flood_overall: deque[float] = deque()
        self._flood_refusals: list[BotApiCall] = []
        self._stalls: list[_Stall] = []
        self._matching: list[tuple[str, str, _ApiError, list[int | None]]] = []
        self.url = ""
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._update_ids = itertools.count(700_000_001)
        self._file_numbers = itertools.count(1)
        self._callback_ids = itertools.count(4_200_000_000_000_001)
        self._calls: list[BotApiCall] = []
        self._pending: list[dict[str, Any]] = []
        self._delivered: set[int] = set()  # update ids getUpdates or the webhook handed over
        self._withheld: list[dict[str, Any]] = []
        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._member_status: dict[tuple[int | None, int], str] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._served: dict[str, int] = {}  # file_id -> bytes the download route sent
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._failures: list[_Failure] = []
        self._allowed_updates: list[str] | None = None
        self._webhook: _Webhook | None = None
        self._deliveries: list[WebhookDelivery] = []
        self.server_errors: list[str] = []
        self._stopping = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stop_requested: asyncio.Event | None = None
        self._methods: dict[str, Callable[[dict[str, Any], dict[str, UploadedFile]], Any]] = {
            "getMe": self._get_me,
            "logOut": lambda p, f: True,
            "close": lambda p, f: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "sendChatAction": self._send_chat_action,
            "leaveChat": self._leave_chat,
        }
        self._method_names = {name.lower(): name for name in [*self._methods, "getUpdates"]}

    def __repr__(self) -> str:  # no token: it is a secret in real deployments
        return f"<FakeTelegram {self.url or 'not started'}>"

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def start(self) -> FakeTelegram:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets with that proto, and
        # without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._handle_api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._handle_download, methods=["GET"]),
            ]
        )
        # log_config/log_level None: uvicorn must not reconfigure logging the bot's tests inspect.
        config = uvicorn.Config(
            app, log_config=None, log_level=None, access_log=False, lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._run_server, args=(sock,), name="fake-telegram", daemon=True
        )
        self._thread.start()
        if not self._started.wait(timeout=10) or not self._server.started:
            raise RuntimeError(f"the fake Telegram server did not start: {self.server_errors}")
        return self

    def _run_server(self, sock: socket.socket) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve(sock))
        except BaseException:
            self.server_errors.append(traceback.format_exc())
        finally:
            self._loop.close()
            sock.close()
            self._started.set()  # start() must not wait out its timeout when startup failed

    async def _serve(self, sock: socket.socket) -> None:
        server = self._server
        assert server is not None
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        self._stop_requested = asyncio.Event()
        await server.startup(sockets=[sock])
        self._started.set()
        delivery = asyncio.create_task(self._deliver_to_webhook())
        try:
            await self._stop_requested.wait()
        finally:
            self._stopping = True
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)
            await self._close_connections(server)

    @staticmethod
    async def _close_connections(server: uvicorn.Server) -> None:
        # uvicorn's own main loop and shutdown wait in 0.1 s steps; a fake runs per test, so stop
        # the same way (close listeners, end connections, finish requests) without the waits.
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + 2
        while server.server_state.connections or server.server_state.tasks:
            if time.monotonic() > deadline:
                for task in server.server_state.tasks:
                    task.cancel()
                break
            await asyncio.sleep(0.005)
        for listener in server.servers:
            await listener.wait_closed()

    def stop(self) -> None:
        self._stopping = True  # ends long polls at once
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stop_requested is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop may have just closed
                self._loop.call_soon_threadsafe(self._stop_requested.set)
        thread.join(timeout=10)
        if thread.is_alive():
            raise RuntimeError("the fake Telegram server did not stop within 10 s")

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- configuration -----------------------------------------------------------------------

    def set_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        is_forum: bool | None = None,
    ) -> None:
        """Declare a chat (type, title, forum) before updates or sends mention it."""
        with self._lock:
            chat = self._chat(chat_id, chat_type)
            if chat_type:
                chat.type = chat_type
            if title is not None:
                chat.title = title
            if is_forum is not None:
                chat.is_forum = is_forum

    def set_member_status(self, chat_id: int | None, user_id: int, status: str) -> None:
        """getChatMember's answer for `user_id` in `chat_id` (None: in every chat); default member.

        For the bot's own id this is the bot's status in the chat (admins see all group messages).
        """
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {MEMBER_STATUSES}, not {status!r}")
        with self._lock:
            if user_id == self.bot_id and chat_id is not None:
                self._chat(chat_id).bot_status = status
            else:
                self._member_status[(chat_id, user_id)] = status

    def fail_next(
        self,
        method: str,
        error_code: int = 400,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int | None = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) with an error.

        times=None fails every call until clear_failures(). A 429 gets retry_after (default 1).
        """
        canonical = self._method_names.get(method.lower())
        if canonical is None:
            raise ValueError(
                f"the fake does not implement {method!r}; known: {sorted(self._method_names.values())}"
            )
        if error_code == 429 and retry_after is None:
            retry_after = 1
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            description = {
                400: "Bad Request: chat not found",
                403: "Forbidden: bot was blocked by the user",
                409: "Conflict: terminated by other getUpdates request",
                429: f"Too Many Requests: retry after {retry_after}",
                502: "Bad Gateway",
            }.get(error_code, f"Error {error_code}")
        with self._lock:
            self._failures.append(
                _Failure(canonical, error_code, description, parameters or None, times, chat_id)
            )

    def stall_next(
        self,
        method: str,
        seconds: float,
        *,
        times: int | None = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) only after
        `seconds`; a call whose client gave up meanwhile is not carried out."""
        canonical = self._method_names.get(method.lower())
        if canonical is None:
            raise ValueError(f"the fake does not implement {method!r}")
        with self._lock:
            self._stalls.append(_Stall(canonical, seconds, times, chat_id))

    def fail_matching(
        self,
        method: str,
        fragment: str,
        error_code: int = 502,
        description: str = "Bad Gateway",
        *,
        times: int | None = None,
    ) -> None:
        """Answer calls of `method` whose text or caption contains `fragment` with an error
        (`times` of them; None: until clear_failures())."""
        canonical = self._method_names.get(method.lower())
        if canonical is None:
            raise ValueError(f"the fake does not implement {method!r}")
        with self._lock:
            self._matching.append(
                (canonical, fragment, _ApiError(error_code, description), [times])
            )

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Someone deleted a forum topic: sends into it answer "message thread not found"."""
        with self._lock:
            self._chat(chat_id).deleted_topics.add(thread_id)

    def remove_message(self, chat_id: int, message_id: int) -> None:
        """Someone deleted a message of the chat (the bot's edits of it then fail)."""
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None or message_id not in chat.messages:
                raise ValueError(f"chat {chat_id} has no message {message_id}")
            del chat.messages[message_id]

    @property
    def flood_refusals(self) -> list[BotApiCall]:
        """The calls the flood limits refused with 429 (injected failures are not in it)."""
        with self._lock:
            return list(self._flood_refusals)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._matching.clear()

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """From now on every call about `old_chat_id` answers "group chat was upgraded"."""
        with self._lock:
            old = self._chat(old_chat_id, "group")
            old.migrated_to = new_chat_id
            new = self._chat(new_chat_id, "supergroup")
            new.title = new.title or old.title
            new.bot_status = old.bot_status

    def register_file(
        self,
        content: bytes,
        file_name: str | None = None,
        *,
        mime_type: str | None = None,
        file_size: int | None = None,
        kind: str = "documents",
        declare_size: bool = True,
    ) -> StoredFile:
        """Make `content` downloadable through getFile; file_size may claim more than the bytes,
        declare_size=False keeps the size out of the update and of getFile's answer."""
        with self._lock:
            number = next(self._file_numbers)
            suffix = ""
            if file_name and "." in file_name:
                suffix = "." + file_name.rsplit(".", 1)[1]
            elif kind == "photos":
                suffix = ".jpg"
            stored = StoredFile(
                file_id=f"BQACAgIAAxkBAAIfake{number:06d}{kind[:3]}",
                file_unique_id=f"AgADfake{number:06d}",
                file_path=f"{kind}/file_{number}{suffix}",
                file_name=file_name,
                mime_type=mime_type,
                content=content,
                file_size=len(content) if file_size is None else file_size,
                declare_size=declare_size,
            )
            self._files[stored.file_id] = stored
            self._files_by_path[stored.file_path] = stored
            return stored

    # -- updates from users ------------------------------------------------------------------

    def enqueue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (or the webhook); privacy mode may withhold it."""
        with self._lock:
            update.setdefault("update_id", next(self._update_ids))
            if self._privacy_hides(update):
                self._withheld.append(update)
            else:
                self._pending.append(update)
        return update

    def build_command(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        chat_type: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        message_thread_id: int | None = None,
        reply_to: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """A message update with a command ("/newgroup Team One", "/start@ccbot_test_bot")."""
        if not text.startswith("/") or len(text) < 2 or text[1].isspace():
            raise ValueError(f"a command starts with '/' and a name, got {text!r}")
        command = text.split(maxsplit=1)[0]
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]
        return self._user_message_update(
            chat_id,
            user_id,
            {"text": text, "entities": entities},
            chat_type=chat_type,
            username=username,
            first_name=first_name,
            message_thread_id=message_thread_id,
            reply_to_message_id=reply_to_message_id or reply_to,
        )

    def send_command(self, chat_id: int, user_id: int, text: str, **options: Any) -> dict[str, Any]:
        """build_command, then enqueue; options as build_command."""
        return self.enqueue(self.build_command(chat_id, user_id, text, **options))

    def build_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to_message_id: int | None = None,
        reply_to: int | None = None,
        chat_type: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A plain text message update (no entities)."""
        return self._user_message_update(
            chat_id,
            user_id,
            {"text": text},
            chat_type=chat_type,
            username=username,
            first_name=first_name,
            message_thread_id=message_thread_id,
            reply_to_message_id=reply_to_message_id or reply_to,
        )

    def send_text(self, chat_id: int, user_id: int, text: str, **options: Any) -> dict[str, Any]:
        return self.enqueue(self.build_text(chat_id, user_id, text, **options))

    def build_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        reply_to_message_id: int | None = None,
        reply_to: int | None = None,
        file_size: int | None = None,
        declare_size: bool = True,
        chat_type: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A document message; the file becomes downloadable. file_size may fake a big file;
        declare_size=False sends the document without its size, as some clients do."""
        mime_type = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        stored = self.register_file(
            content, file_name, mime_type=mime_type, file_size=file_size, declare_size=declare_size
        )
        fields: dict[str, Any] = {"document": self._document_dict(stored)}
        if caption is not None:
            fields["caption"] = caption
            if caption.startswith("/") and len(caption) > 1:
                command = caption.split(maxsplit=1)[0]
                fields["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
                ]
        return self._user_message_update(
            chat_id,
            user_id,
            fields,
            chat_type=chat_type,
            username=username,
            first_name=first_name,
            message_thread_id=message_thread_id,
            reply_to_message_id=reply_to_message_id or reply_to,
            file=stored,
        )

    def send_document(
        self, chat_id: int, user_id: int, file_name: str, content: bytes, **options: Any
    ) -> dict[str, Any]:
        return self.enqueue(self.build_document(chat_id, user_id, file_name, content, **options))

    def build_button_press(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        callback_data: str | None = None,
        *,
        button_text: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """A callback_query for a button on a message the bot sent (by data or by its label)."""
        with self._lock:
            chat = self._chats.get(chat_id)
            message = chat.messages.get(message_id) if chat else None
            if message is None or not message.from_bot:
                known = [m.message_id for m in chat.messages.values() if m.from_bot] if chat else []
                raise AssertionError(
                    f"the bot has no message {message_id} in chat {chat_id} (its messages: {known})"
                )
            buttons = [b for b in message.buttons if "callback_data" in b]
            if not buttons:
                raise AssertionError(
                    f"message {message_id} in chat {chat_id} has no callback buttons; text: {message.text!r}"
                )
            if button_text is not None:
                matching = [b for b in buttons if b["text"] == button_text]
            else:
                matching = [b for b in buttons if b["callback_data"] == callback_data]
            if not matching:
                labels = [(b["text"], b["callback_data"]) for b in buttons]
                wanted = button_text if button_text is not None else callback_data
                raise AssertionError(
                    f"message {message_id} in chat {chat_id} has no button {wanted!r}; "
                    f"buttons (text, callback_data): {labels}"
                )
            query_id = str(next(self._callback_ids))
            self._callback_queries[query_id] = False
            query = {
                "id": query_id,
                "from": self._user(user_id, username, first_name),
                "message": copy.deepcopy(message.data),
                "chat_instance": str(abs(hash(("chat-instance", chat_id)))),
                "data": matching[0]["callback_data"],
            }
            return {"update_id": next(self._update_ids), "callback_query": query}

    def press_button(
        self,
        chat_id: int,
        user_id: int,
        message_id: int,
        callback_data: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        return self.enqueue(
            self.build_button_press(chat_id, user_id, message_id, callback_data, **options)
        )

    def build_my_chat_member(
        self, chat_id: int, old_status: str, new_status: str, by_user_id: int
    ) -> dict[str, Any]:
        """The bot's own membership changed (added, promoted, kicked; in private: blocked)."""
        for status in (old_status, new_status):
            if status not in MEMBER_STATUSES:
                raise ValueError(f"status must be one of {MEMBER_STATUSES}, not {status!r}")
        with self._lock:
            chat = self._chat(chat_id)
            chat.bot_status = new_status
            change = {
                "chat": chat.as_dict(self._users),
                "from": self._user(by_user_id),
                "date": int(time.time()),
                "old_chat_member": _member_dict(self._bot_user(), old_status),
                "new_chat_member": _member_dict(self._bot_user(), new_status),
            }
            return {"update_id": next(self._update_ids), "my_chat_member": change}

    def my_chat_member(
        self, chat_id: int, old_status: str, new_status: str, by_user_id: int
    ) -> dict[str, Any]:
        return self.enqueue(self.build_my_chat_member(chat_id, old_status, new_status, by_user_id))

    def build_migration(
        self, old_chat_id: int, new_chat_id: int, by_user_id: int | None = None
    ) -> list[dict[str, Any]]:
        """The two service messages of a group becoming a supergroup; also does migrate_chat."""
        by_user_id = by_user_id or 1
        self.migrate_chat(old_chat_id, new_chat_id)
        with self._lock:
            old = self._service_message(
                old_chat_id, by_user_id, {"migrate_to_chat_id": new_chat_id}
            )
            new = self._service_message(
                new_chat_id, by_user_id, {"migrate_from_chat_id": old_chat_id}
            )
            return [
                {"update_id": next(self._update_ids), "message": old},
                {"update_id": next(self._update_ids), "message": new},
            ]

    def migrate_service_message(
        self, old_chat_id: int, new_chat_id: int, by_user_id: int | None = None
    ) -> list[dict[str, Any]]:
        return [self.enqueue(u) for u in self.build_migration(old_chat_id, new_chat_id, by_user_id)]

    def build_new_chat_members(
        self, chat_id: int, by_user_id: int, member_ids: list[int] | None = None
    ) -> dict[str, Any]:
        """Users (default: the bot) added to a group, as the service message."""
        with self._lock:
            ids = member_ids if member_ids is not None else [self.bot_id]
            members = [self._bot_user() if i == self.bot_id else self._user(i) for i in ids]
            message = self._service_message(chat_id, by_user_id, {"new_chat_members": members})
            return {"update_id": next(self._update_ids), "message": message}

    def new_chat_members(
        self, chat_id: int, by_user_id: int, member_ids: list[int] | None = None
    ) -> dict[str, Any]:
        return self.enqueue(self.build_new_chat_members(chat_id, by_user_id, member_ids))

    # -- inspection --------------------------------------------------------------------------

    @property
    def calls(self) -> list[BotApiCall]:
        """Every request, getUpdates included."""
        with self._lock:
            return list(self._calls)

    @property
    def sent(self) -> list[BotApiCall]:
        """Every request except getUpdates polling."""
        with self._lock:
            return [call for call in self._calls if call.method != "getUpdates"]

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
        return [call for call in self.sent if call.method not in self._methods]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._pending)

    @property
    def delivered_update_ids(self) -> set[int]:
        """Ids of the updates the bot has fetched (getUpdates) or accepted (webhook)."""
        with self._lock:
            return set(self._delivered)

    @property
    def withheld_updates(self) -> list[dict[str, Any]]:
        """Group messages privacy mode kept from the bot."""
        with self._lock:
            return copy.deepcopy(self._withheld)

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def webhook_url(self) -> str | None:
        with self._lock:
            return self._webhook.url if self._webhook else None

    def mark(self) -> int:
        """A position in the call log, for wait_for(..., since=fake.mark())."""
        with self._lock:
            return self._calls[-1].seq if self._calls else 0

    def messages(self, chat_id: int, *, include_user_messages: bool = False) -> list[ChatMessage]:
        """The chat's current messages (edits applied, deletions gone), oldest first."""
        with self._lock:
            chat = self._chats.get(chat_id)
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
        with self._lock:
            return copy.deepcopy(self._commands.get(_scope_key(scope, language_code), []))

    def menu_for(self, chat_id: int, user_id: int, language_code: str = "") -> list[str]:
        """The command names the member sees in the chat's menu, resolved like Telegram does.

        Private chats: chat scope, all_private_chats, default. Groups: chat_member,
        chat_administrators (admins), chat, all_chat_administrators (admins), all_group_chats,
        default. The first scope with a list wins (per language, then without one).
        """
        with self._lock:
            chat_type = self._chats[chat_id].type if chat_id in self._chats else _chat_type_for(
                chat_id
            )
            status = self._member_status.get(
                (chat_id, user_id), self._member_status.get((None, user_id), "member")
            )
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
                    found = self._commands.get(_scope_key(scope, language))
                    if found:
                        return [c["command"] for c in found]
            return []

    def force_reply_targets(self, chat_id: int, message_id: int) -> frozenset[int] | None:
        """Who a bot message's ForceReply opens the reply field for: None means everyone, an
        empty set nobody (a selective ForceReply that neither replies to nor mentions anyone).

        Bot API: with `selective`, the targets are the users @mentioned in the text (or by a
        text_mention) and, when the message replies to one in the same chat, its sender.
        """
        with self._lock:
            message = self._chats[chat_id].messages[message_id]
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
            for user_id, user in self._users.items():
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
            await asyncio.sleep(0.01)

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
            await asyncio.sleep(0.01)

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
        with self._lock:
            if self._pending:
                lines.append(
                    f"updates still pending (not fetched by the bot): {len(self._pending)}"
                )
            if self._withheld:
                lines.append(
                    f"updates withheld by privacy mode (bot not admin, can_read_all_group_messages"
                    f"=False): {[u['update_id'] for u in self._withheld]}"
                )
        if self.server_errors:
            lines.append(f"fake server errors: {self.server_errors[-1]}")
        return "\n".join(lines)

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_api(self, request: Request) -> Response:
        name = request.path_params["method"]
        method = self._method_names.get(name.lower(), name)
        if not hmac.compare_digest(request.path_params["token"].encode(), self.token.encode()):
            return self._record_error(method, {}, {}, _ApiError(401, "Unauthorized"))
        try:
            params, files = await _read_params(request)
        except _ApiError as error:
            return self._record_error(method, {}, {}, error)
        except ValueError as exc:
            return self._record_error(method, {}, {}, _bad_request(f"can't parse request: {exc}"))
        try:
            if method == "getUpdates":
                return await self._long_poll(request, params)
            if not await self._stall(request, method, params):
                return self._record_error(
                    method, params, files, _ApiError(499, "the client went away before the answer")
                )
            with self._lock:
                if method not in self._methods:
                    raise _ApiError(404, "Not Found: method not found")
                self._check_chat(method, params)
                self._injected_failure(method, params)
                self._matching_failure(method, params)
                self._flood_check(method, params)
                result = self._methods[method](params, files)
                self._flood_count(method, params)
                return self._record_ok(method, params, files, result)
        except _ApiError as error:
            return self._record_error(method, params, files, error)
        except Exception as exc:  # a bug in the fake: make it loud, not a silent bot error
            self.server_errors.append(f"{method}: {traceback.format_exc()}")
            return self._record_error(
                method,
                params,
                files,
                _ApiError(500, f"Internal Server Error: fake failed: {exc!r}"),
            )

    def _record_ok(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile], result: Any
    ) -> Response:
        with self._lock:
            self._calls.append(
                BotApiCall(
                    next(self._seq), method, params, files, time.time(), 200, copy.deepcopy(result)
                )
            )
        return JSONResponse({"ok": True, "result": result})

    def _record_error(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile], error: _ApiError
    ) -> Response:
        with self._lock:
            self._calls.append(
                BotApiCall(
                    next(self._seq),
                    method,
                    params,
                    files,
                    time.time(),
                    error.code,
                    None,
                    error.description,
                )
            )
        body: dict[str, Any] = {
            "ok": False,
            "error_code": error.code,
            "description": error.description,
        }
        if error.parameters:
            body["parameters"] = error.parameters
        return JSONResponse(body, status_code=error.code)

    async def _handle_download(self, request: Request) -> Response:
        if not hmac.compare_digest(request.path_params["token"].encode(), self.token.encode()):
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        with self._lock:
            stored = self._files_by_path.get(unquote(request.path_params["file_path"]))
        if stored is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return StreamingResponse(self._stream(stored), media_type="application/octet-stream")

    async def _stream(self, stored: StoredFile) -> Any:
        """The file in pieces, counting what was sent: a client that stops reading stops it."""
        content = stored.content
        for start in range(0, len(content), DOWNLOAD_CHUNK):
            piece = content[start : start + DOWNLOAD_CHUNK]
            with self._lock:
                self._served[stored.file_id] = self._served.get(stored.file_id, 0) + len(piece)
            yield piece
            await asyncio.sleep(0)  # lets the server notice a client that hung up, as a real one does

    def served_bytes(self, file_id: str) -> int:
        """How many bytes of the file the download route has handed to the connection."""
        with self._lock:
            return self._served.get(file_id, 0)

    async def _long_poll(self, request: Request, params: dict[str, Any]) -> Response:
        with self._lock:
            if self._webhook is not None:
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            self._injected_failure("getUpdates", params)
            if params.get("allowed_updates") is not None:
                self._allowed_updates = params["allowed_updates"]
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        wait = min(float(params.get("timeout") or 0), self.long_poll_cap)
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                self._confirm(offset)
                allowed = self._allowed_types(self._allowed_updates)
                # Updates of types the bot did not ask for are dropped, as Telegram never queues them.
                self._pending = [u for u in self._pending if _update_type(u) in allowed]
                batch = copy.deepcopy(self._pending[:limit])
                self._delivered.update(u["update_id"] for u in batch)
            if batch or time.monotonic() >= deadline or self._stopping:
                break
            if await request.is_disconnected():
                break
            await asyncio.sleep(0.01)
        return self._record_ok("getUpdates", params, {}, batch)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _allowed_types(self, allowed_updates: list[str] | None) -> set[str] | _Everything:
        if allowed_updates:
            return set(allowed_updates)
        return _Everything(exclude=OPT_IN_UPDATE_TYPES)

    async def _deliver_to_webhook(self) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while not self._stopping:
                with self._lock:
                    hook = copy.copy(self._webhook)
                    update = None
                    if hook is not None:
                        allowed = self._allowed_types(hook.allowed_updates)
                        self._pending = [u for u in self._pending if _update_type(u) in allowed]
                        update = copy.deepcopy(self._pending[0]) if self._pending else None
                if hook is None or update is None:
                    await asyncio.sleep(0.01)
                    continue
                headers = {}
                if hook.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
                try:
                    response = await client.post(hook.url, json=update, headers=headers)
                    status, error = response.status_code, None
                    if not 200 <= status < 300:
                        error = (
                            f"Wrong response from the webhook: {status} {response.reason_phrase}"
                        )
                except httpx.HTTPError as exc:
                    status, error = None, f"Connection failed: {exc!r}"
                with self._lock:
                    self._deliveries.append(WebhookDelivery(update["update_id"], status, error))
                    if error is None:
                        self._delivered.add(update["update_id"])
                        self._pending = [
                            u for u in self._pending if u["update_id"] != update["update_id"]
                        ]
                    elif self._webhook is not None:
                        self._webhook.last_error_date = int(time.time())
                        self._webhook.last_error_message = error
                if error is not None:
                    await asyncio.sleep(0.1)

    # -- checks shared by methods (called with the lock held) ---------------------------------

    def _check_chat(self, method: str, params: dict[str, Any]) -> None:
        if "chat_id" not in params:
            return
        chat_id = params["chat_id"]
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _bad_request("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            return
        if chat.migrated_to is not None:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.bot_status == "kicked":
            if chat.type == "private":
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            raise _ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if chat.bot_status == "left" and chat.type != "private":
            raise _ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")

    def _injected_failure(self, method: str, params: dict[str, Any]) -> None:
        for failure in self._failures:
            if failure.method != method:
                continue
            if failure.chat_id is not None and params.get("chat_id") != failure.chat_id:
                continue
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
            raise _ApiError(failure.error_code, failure.description, failure.parameters)

    # -- flood limits and stalls ------------------------------------------------------------

    async def _stall(self, request: Request, method: str, params: dict[str, Any]) -> bool:
        """Wait out an injected stall; False when the client went away meanwhile."""
        with self._lock:
            stall = next(
                (
                    s
                    for s in self._stalls
                    if s.method == method and s.chat_id in (None, params.get("chat_id"))
                ),
                None,
            )
            if stall is None:
                return True
            if stall.times is not None:
                stall.times -= 1
                if stall.times <= 0:
                    self._stalls.remove(stall)
        deadline = time.monotonic() + stall.seconds
        while time.monotonic() < deadline and not self._stopping:
            if await request.is_disconnected():
                return False
            await asyncio.sleep(0.01)
        return not await request.is_disconnected()

    def _matching_failure(self, method: str, params: dict[str, Any]) -> None:
        text = str(params.get("text", params.get("caption")) or "")
        for entry in list(self._matching):
            name, fragment, error, left = entry
            if name != method or fragment not in text:
                continue
            if left[0] is not None:
                left[0] -= 1
                if left[0] <= 0:
                    self._matching.remove(entry)
            raise error

    def _flood_check(self, method: str, params: dict[str, Any]) -> None:
        rules = self.flood_rules
        is_new = method in FLOOD_NEW_METHODS
        if rules is None or not (is_new or method in FLOOD_EDIT_METHODS):
            return
        now = time.time()
        waits = [
            _window_wait(self._flood_overall, rules.overall_messages, rules.overall_window, now)
        ]
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            times = self._flood_chat.get(chat_id, deque())
            waits.append(
                _window_wait([t for t, _ in times], rules.chat_messages, rules.chat_window, now)
            )
            if is_new and chat_id < 0:
                new_times = [t for t, new in times if new]
                waits.append(_window_wait(new_times, rules.group_messages, rules.group_window, now))
        wait = max(waits)
        if wait > 0:
            retry_after = max(1, int(wait + 0.999))
            error = _ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
            self._flood_refusals.append(
                BotApiCall(0, method, params, {}, now, 429, None, error.description)
            )
            raise error

    def _flood_count(self, method: str, params: dict[str, Any]) -> None:
        rules = self.flood_rules
        is_new = method in FLOOD_NEW_METHODS
        if rules is None or not (is_new or method in FLOOD_EDIT_METHODS):
            return
        now = time.time()
        self._flood_overall.append(now)
        while self._flood_overall and self._flood_overall[0] <= now - rules.overall_window:
            self._flood_overall.popleft()
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            times = self._flood_chat.setdefault(chat_id, deque())
            times.append((now, is_new))
            horizon = now - max(rules.chat_window, rules.group_window)
            while times and times[0][0] <= horizon:
                times.popleft()

    def _target_chat(self, params: dict[str, Any]) -> _Chat:
        if "chat_id" not in params:
            raise _bad_request("chat_id is empty")
        return self._chat(params["chat_id"])

    def _bot_message(self, params: dict[str, Any], action: str) -> ChatMessage:
        if "inline_message_id" in params:
            raise _bad_request("the fake does not support inline messages")
        chat = self._target_chat(params)
        message = chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None:
            raise _bad_request(f"message to {action} not found")
        if not message.from_bot and action == "edit":
            raise _bad_request("message can't be edited")
        return message

    def _formatted(
        self, text: Any, parse_mode: Any, *, limit: int, caption: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        if not isinstance(text, str):
            text = str(text)
        if parse_mode in (None, ""):
            plain, entities = _trimmed(text, [])
        elif str(parse_mode).lower() == "html":
            try:
                plain, entities = parse_html(text)
            except EntityParseError as exc:
                raise _bad_request(f"can't parse entities: {exc}") from None
        elif str(parse_mode).lower() in ("markdown", "markdownv2"):
            plain, entities = _trimmed(text, [])  # not parsed by the fake; the project uses HTML
        else:
            raise _bad_request("unsupported parse_mode")
        if len(plain) > limit:
            raise _bad_request("message caption is too long" if caption else "message is too long")
        if not plain and not caption:
            raise _bad_request("message text is empty")
        return plain, self._mentions(entities)

    def _mentions(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`tg://user?id=N` links become text_mention entities of a user the bot has seen, as on
        Telegram; a link to a user it never saw is dropped."""
        out = []
        for entity in entities:
            match = re.fullmatch(r"tg://user\?id=(\d+)", entity.get("url", ""))
            if entity["type"] == "text_link" and match:
                user_id = int(match.group(1))
                if user_id not in self._users:
                    continue
                entity = {k: v for k, v in entity.items() if k != "url"}
                entity.update(type="text_mention", user=self._user(user_id))
            out.append(entity)
        return out

    def _inline_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise _bad_request("can't parse reply keyboard markup JSON object")
            placeholder = markup.get("input_field_placeholder")
            if placeholder is not None and not 1 <= len(str(placeholder)) <= 64:
                raise _bad_request("input field placeholder must be 1-64 characters")
            return None  # reply keyboards are not part of the returned Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if not BUTTON_ACTIONS & button.keys():
                raise _bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise _bad_request("BUTTON_DATA_INVALID")
        return {"inline_keyboard": rows}

    def _reply_target(self, chat: _Chat, params: dict[str, Any]) -> ChatMessage | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
            if reply.get("chat_id") not in (None, chat.id):
                chat = self._chat(reply["chat_id"])
        else:
            message_id = params.get("reply_to_message_id")
        if message_id is None:
            return None
        target = chat.messages.get(message_id)
        if target is None and not allow_missing:
            raise _bad_request("message to be replied not found")
        return target

    # -- methods (called with the lock held) --------------------------------------------------

    def _get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            **self._bot_user(),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if not url:
            self._webhook = None
            return True
        if not url.startswith(("http://", "https://")):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook = _Webhook(url, secret, params.get("allowed_updates"))
        return True

    def _delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _get_webhook_info(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        info: dict[str, Any] = {
            "url": self._webhook.url if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook:
            info["max_connections"] = 40
            if self._webhook.allowed_updates:
                info["allowed_updates"] = self._webhook.allowed_updates
            if self._webhook.last_error_date:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        return info

    def _set_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(command.get("command", ""))
            ):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("command description must be non-empty")
        key = _scope_key(_checked_scope(params.get("scope")), params.get("language_code") or "")
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _get_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        key = _scope_key(_checked_scope(params.get("scope")), params.get("language_code") or "")
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        key = _scope_key(_checked_scope(params.get("scope")), params.get("language_code") or "")
        self._commands.pop(key, None)
        return True

    def _send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        if params.get("text") in (None, ""):
            raise _bad_request("message text is empty")
        plain, entities = self._formatted(
            params["text"], params.get("parse_mode"), limit=MAX_TEXT_LENGTH, caption=False
        )
        fields: dict[str, Any] = {"text": plain}
        if entities:
            fields["entities"] = entities
        message = self._new_bot_message(chat, params, fields, sent_text=params["text"])
        return copy.deepcopy(message.data)

    def _send_document(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        stored = self._uploaded_or_known(params, files, "document", "documents")
        fields: dict[str, Any] = {"document": self._document_dict(stored)}
        return self._send_with_caption(chat, params, fields, stored)

    def _send_photo(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        stored = self._uploaded_or_known(params, files, "photo", "photos")
        size = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": 1280,
            "height": 720,
            "file_size": stored.file_size,
        }
        return self._send_with_caption(chat, params, {"photo": [size]}, stored)

    def _send_with_caption(
        self, chat: _Chat, params: dict[str, Any], fields: dict[str, Any], stored: StoredFile
    ) -> Any:
        caption = params.get("caption")
        if caption:
            plain, entities = self._formatted(
                caption, params.get("parse_mode"), limit=MAX_CAPTION_LENGTH, caption=True
            )
            if plain:
                fields["caption"] = plain
            if entities:
                fields["caption_entities"] = entities
        message = self._new_bot_message(chat, params, fields, sent_text=caption, file=stored)
        return copy.deepcopy(message.data)

    def _uploaded_or_known(
        self, params: dict[str, Any], files: dict[str, UploadedFile], field_name: str, kind: str
    ) -> StoredFile:
        upload = files.get(field_name)
        reference = params.get(field_name)
        if upload is None and isinstance(reference, str) and reference.startswith("attach://"):
            upload = files.get(reference.removeprefix("attach://"))
        if upload is not None:
            if not upload.content:
                raise _bad_request("file must be non-empty")
            return self.register_file(
                upload.content, upload.file_name, mime_type=upload.mime_type, kind=kind
            )
        if isinstance(reference, str) and reference in self._files:
            return self._files[reference]
        if reference:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        raise _bad_request(f"there is no {field_name} in the request")

    def _edit_message_text(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._bot_message(params, "edit")
        if "text" not in message.data:
            raise _bad_request("there is no text in the message to edit")
        if params.get("text") in (None, ""):
            raise _bad_request("message text is empty")
        plain, entities = self._formatted(
            params["text"], params.get("parse_mode"), limit=MAX_TEXT_LENGTH, caption=False
        )
        return self._apply_edit(
            message, params, {"text": plain, "entities": entities}, params["text"]
        )

    def _edit_message_caption(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._bot_message(params, "edit")
        if "text" in message.data:
            raise _bad_request("there is no caption in the message to edit")
        plain, entities = self._formatted(
            params.get("caption") or "",
            params.get("parse_mode"),
            limit=MAX_CAPTION_LENGTH,
            caption=True,
        )
        return self._apply_edit(
            message, params, {"caption": plain, "caption_entities": entities}, params.get("caption")
        )

    def _edit_message_reply_markup(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        message = self._bot_message(params, "edit")
        return self._apply_edit(message, params, {}, None)

    def _apply_edit(
        self,
        message: ChatMessage,
        params: dict[str, Any],
        content: dict[str, Any],
        sent_text: str | None,
    ) -> Any:
        # Without reply_markup an edit removes the inline keyboard, as on Telegram.
        markup = self._inline_markup(params)
        unchanged = markup == message.data.get("reply_markup") and all(
            (message.data.get(key) or None) == (value or None) for key, value in content.items()
        )
        if unchanged:
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        for key, value in content.items():
            if value:
                message.data[key] = value
            else:
                message.data.pop(key, None)
        if markup is None:
            message.data.pop("reply_markup", None)
        else:
            message.data["reply_markup"] = markup
        if sent_text is not None:
            message.sent_text = sent_text
            message.parse_mode = params.get("parse_mode")
        message.data["edit_date"] = int(time.time())
        message.edits += 1
        return copy.deepcopy(message.data)

    def _delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._bot_message(params, "delete")
        del self._chats[message.chat_id].messages[message.message_id]
        return True

    def _answer_callback_query(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if self._callback_queries.get(query_id, True):
            raise _bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        return True

    def _get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _bad_request("invalid file_id")
        size = max(stored.file_size, len(stored.content))
        if self.download_limit is not None and size > self.download_limit:
            raise _bad_request("file is too big")
        result = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }
        if not stored.declare_size:
            del result["file_size"]
        return result

    def _get_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise _bad_request("chat not found")
        return {
            **chat.as_dict(self._users),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _bad_request("invalid user_id specified")
        return self._member(chat, user_id)

    def _get_chat_administrators(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat = self._target_chat(params)
        user_ids = {self.bot_id, *self._users, *(u for (_, u) in self._member_status)}
        members = [self._member(chat, user_id) for user_id in sorted(user_ids)]
        return [m for m in members if m["status"] in ("creator", "administrator")]

    def _send_chat_action(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self._target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    def _leave_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._target_chat(params)
        if chat.type == "private":
            raise _bad_request("chat member status can't be changed in private chats")
        chat.bot_status = "left"
        return True

    # -- state helpers (called with the lock held) --------------------------------------------

    def _chat(self, chat_id: int, chat_type: str | None = None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat(id=chat_id, type=chat_type or _chat_type_for(chat_id))
            self._chats[chat_id] = chat
        return chat

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.bot_username,
        }

    def _user(
        self, user_id: int, username: str | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        known = self._users.setdefault(user_id, {"first_name": f"User {user_id}"})
        if first_name:
            known["first_name"] = first_name
        if username:
            known["username"] = username
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": known["first_name"],
            "language_code": "en",
        }
        if known.get("username"):
            user["username"] = known["username"]
        return user

    def _member(self, chat: _Chat, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return _member_dict(self._bot_user(), chat.bot_status)
        status = self._member_status.get(
            (chat.id, user_id), self._member_status.get((None, user_id), "member")
        )
        return _member_dict(self._user(user_id), status)

    def _document_dict(self, stored: StoredFile) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
        }
        if stored.declare_size:
            document["file_size"] = stored.file_size
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _new_bot_message(
        self,
        chat: _Chat,
        params: dict[str, Any],
        fields: dict[str, Any],
        *,
        sent_text: str | None,
        file: StoredFile | None = None,
    ) -> ChatMessage:
        if chat.is_forum and params.get("message_thread_id") in chat.deleted_topics:
            raise _bad_request("Bad Request: message thread not found")
        reply_to = self._reply_target(chat, params)
        markup = self._inline_markup(params)
        data = self._message_data(
            chat, self._bot_user(), fields, params.get("message_thread_id"), reply_to
        )
        if markup is not None:
            data["reply_markup"] = markup
        raw_markup = params.get("reply_markup")
        force_reply = (
            dict(raw_markup)
            if isinstance(raw_markup, dict) and raw_markup.get("force_reply")
            else None
        )
        message = ChatMessage(
            data,
            from_bot=True,
            sent_text=sent_text,
            parse_mode=params.get("parse_mode"),
            file=file,
            force_reply=force_reply,
        )
        chat.messages[message.message_id] = message
        return message

    def _message_data(
        self,
        chat: _Chat,
        sender: dict[str, Any],
        fields: dict[str, Any],
        thread_id: int | None,
        reply_to: ChatMessage | None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": chat.as_dict(self._users),
            "date": int(time.time()),
        }
        chat.next_message_id += 1
        if thread_id is not None and chat.is_forum:
            data["message_thread_id"] = thread_id
            data["is_topic_message"] = True
        if reply_to is not None:
            nested = copy.deepcopy(reply_to.data)
            nested.pop("reply_to_message", None)  # Telegram does not nest replies further
            data["reply_to_message"] = nested
        data.update(fields)
        return data

    def _user_message_update(
        self,
        chat_id: int,
        user_id: int,
        fields: dict[str, Any],
        *,
        chat_type: str | None,
        username: str | None,
        first_name: str | None,
        message_thread_id: int | None,
        reply_to_message_id: int | None,
        file: StoredFile | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            known = self._chats.get(chat_id)
            resolved_type = chat_type or (known.type if known else _chat_type_for(chat_id))
            if resolved_type == "private" and chat_id != user_id:
                raise ValueError(
                    f"a private chat's id is the user's id: chat {chat_id} != user {user_id}"
                )
            user = self._user(user_id, username, first_name)
            chat = self._chat(chat_id, resolved_type)
            chat.type = resolved_type
            if message_thread_id is not None:
                if resolved_type != "supergroup":
                    raise ValueError("forum topics (message_thread_id) exist only in supergroups")
                chat.is_forum = True
            reply_to = None
            if reply_to_message_id is not None:
                reply_to = chat.messages.get(reply_to_message_id)
                if reply_to is None:
                    raise ValueError(
                        f"chat {chat_id} has no message {reply_to_message_id} to reply to"
                    )
            data = self._message_data(chat, user, fields, message_thread_id, reply_to)
            chat.messages[data["message_id"]] = ChatMessage(data, from_bot=False, file=file)
            return {"update_id": next(self._update_ids), "message": copy.deepcopy(data)}

    def _service_message(
        self, chat_id: int, by_user_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        chat = self._chat(chat_id)
        data = self._message_data(chat, self._user(by_user_id), fields, None, None)
        chat.messages[data["message_id"]] = ChatMessage(data, from_bot=False)
        return copy.deepcopy(data)

    def _privacy_hides(self, update: dict[str, Any]) -> bool:
        message = update.get("message")
        if not message or self.can_read_all_group_messages:
            return False
        chat = self._chats.get(message["chat"]["id"])
        if message["chat"]["type"] not in ("group", "supergroup"):
            return False
        if chat is not None and chat.bot_status in ("administrator", "creator"):
            return False
        if not ({"text", "caption"} & message.keys()):
            return False  # service messages reach every bot
        text = message.get("text") or message.get("caption") or ""
        first = text.split(maxsplit=1)[0] if text.strip() else ""
        if first.startswith("/") and len(first) > 1:
            _, _, addressee = first.partition("@")
            return bool(addressee) and addressee.lower() != self.bot_username.lower()
        if f"@{self.bot_username}".lower() in text.lower():
            return False
        reply = message.get("reply_to_message")
        return not (reply and reply.get("from", {}).get("id") == self.bot_id)


class _Everything:
    """Every update type except the opt-in ones."""

    def __init__(self, exclude: frozenset[str]) -> None:
        self.exclude = exclude

    def __contains__(self, item: object) -> bool:
        return item not in self.exclude


def _window_wait(times: Any, cap: int, window: float, now: float) -> float:
    """Seconds until fewer than `cap` of `times` lie in the last `window` (0: now)."""
    recent = sorted(t for t in times if t > now - window)
    if len(recent) < cap:
        return 0.0
    return recent[len(recent) - cap] + window - now


def _update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


_SCOPE_FIELDS = {
    "default": (),
    "all_private_chats": (),
    "all_group_chats": (),
    "all_chat_administrators": (),
    "chat": ("chat_id",),
    "chat_administrators": ("chat_id",),
    "chat_member": ("chat_id", "user_id"),
}


def _checked_scope(scope: Any) -> Any:
    """A BotCommandScope as the real API checks it: a known type with its required fields."""
    if scope is None:
        return None
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_FIELDS:
        raise _bad_request("can't parse BotCommandScope JSON object")
    missing = [name for name in _SCOPE_FIELDS[scope["type"]] if name not in scope]
    if missing:
        raise _bad_request(f"can't parse BotCommandScope JSON object: {missing[0]} is empty")
    return scope


def _scope_key(scope: Any, language_code: str) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


def _chat_type_for(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _member_dict(user: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
        )
    elif status == "restricted":
        member.update(
            is_member=True,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_send_messages=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_manage_topics=False,
            until_date=0,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_edit_tag=False,
        )
    elif status == "kicked":
        member["until_date"] = 0
    return member


# ----------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def fake_telegram_factory() -> Iterator[Callable[..., FakeTelegram]]:
    """Start fakes with options (FakeTelegram's keyword arguments); all stop at teardown."""
    started: list[FakeTelegram] = []

    def start(**options: Any) -> FakeTelegram:
        fake = FakeTelegram(**options).start()
        started.append(fake)
        return fake

    yield start
    errors = []
    for fake in started:
        fake.stop()
        errors += fake.server_errors
    if errors:
        raise AssertionError("the fake Telegram server itself failed:\n" + "\n".join(errors))


@pytest.fixture
def fake_telegram(fake_telegram_factory: Callable[..., FakeTelegram]) -> FakeTelegram:
    """A running fake Bot API; point the bot at fake.url with fake.token."""
    return fake_telegram_factory()
