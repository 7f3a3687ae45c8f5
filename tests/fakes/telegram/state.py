"""What the fake Bot API knows: chats and their messages, users and their statuses, files,
command menus, the updates waiting for the bot, and the log of calls.

The server thread and the test's own loop both use it, so one re-entrant lock guards it all:
every method here expects `lock` to be held by its caller (the public methods of FakeTelegram
take it).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.errors import bad_request
from tests.fakes.telegram.records import (
    BotApiCall,
    ChatMessage,
    StoredFile,
    UploadedFile,
    WebhookDelivery,
)

BOT_FIRST_NAME = "ccbot test"
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
# The real API leaves these out unless asked for by name in allowed_updates.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class Chat:
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
class WebhookConfig:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


class BotState:
    def __init__(self, *, bot_id: int, bot_username: str) -> None:
        self.lock = threading.RLock()
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.can_read_all_group_messages = False
        self._seq = itertools.count(1)
        self.update_ids = itertools.count(700_000_001)
        self._file_numbers = itertools.count(1)
        self.callback_ids = itertools.count(4_200_000_000_000_001)
        self.calls: list[BotApiCall] = []
        self.pending: list[dict[str, Any]] = []
        self.delivered: set[int] = set()  # update ids getUpdates or the webhook handed over
        self.withheld: list[dict[str, Any]] = []
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.member_status: dict[tuple[int | None, int], str] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.served: dict[str, int] = {}  # file_id -> bytes the download route sent
        self.callback_queries: dict[str, bool] = {}  # id -> answered
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.allowed_updates: list[str] | None = None
        self.webhook: WebhookConfig | None = None
        self.deliveries: list[WebhookDelivery] = []

    # -- the call log --------------------------------------------------------------------------

    def record_call(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        status: int,
        result: Any = None,
        description: str | None = None,
    ) -> BotApiCall:
        call = BotApiCall(
            next(self._seq), method, params, files, time.time(), status, result, description
        )
        self.calls.append(call)
        return call

    # -- chats, users, members -----------------------------------------------------------------

    def chat(self, chat_id: int, chat_type: str | None = None) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = Chat(id=chat_id, type=chat_type or chat_type_for(chat_id))
            self.chats[chat_id] = chat
        return chat

    def target_chat(self, params: dict[str, Any]) -> Chat:
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        return self.chat(params["chat_id"])

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.bot_username,
        }

    def user(
        self, user_id: int, username: str | None = None, first_name: str | None = None
    ) -> dict[str, Any]:
        """The user as updates carry it; `set_language(user_id, "zh-hans")` changes the
        `language_code` their app sends."""
        known = self.users.setdefault(user_id, {"first_name": f"User {user_id}"})
        if first_name:
            known["first_name"] = first_name
        if username:
            known["username"] = username
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": known["first_name"],
            "language_code": known.get("language_code", "en"),
        }
        if known.get("username"):
            user["username"] = known["username"]
        return user

    def set_language(self, user_id: int, language_code: str) -> None:
        self.users.setdefault(user_id, {"first_name": f"User {user_id}"})["language_code"] = (
            language_code
        )

    def status_of(self, chat_id: int, user_id: int) -> str:
        return self.member_status.get(
            (chat_id, user_id), self.member_status.get((None, user_id), "member")
        )

    def member(self, chat: Chat, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return member_dict(self.bot_user(), chat.bot_status)
        return member_dict(self.user(user_id), self.status_of(chat.id, user_id))

    # -- files ---------------------------------------------------------------------------------

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
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def document_dict(stored: StoredFile) -> dict[str, Any]:
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

    # -- messages ------------------------------------------------------------------------------

    def message_data(
        self,
        chat: Chat,
        sender: dict[str, Any],
        fields: dict[str, Any],
        thread_id: int | None,
        reply_to: ChatMessage | None,
    ) -> dict[str, Any]:
        """A new Message of the chat (takes the chat's next message id)."""
        data: dict[str, Any] = {
            "message_id": chat.next_message_id,
            "from": sender,
            "chat": chat.as_dict(self.users),
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

    def service_message(
        self, chat_id: int, by_user_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        chat = self.chat(chat_id)
        data = self.message_data(chat, self.user(by_user_id), fields, None, None)
        chat.messages[data["message_id"]] = ChatMessage(data, from_bot=False)
        return copy.deepcopy(data)

    # -- updates -------------------------------------------------------------------------------

    def enqueue(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self.update_ids))
        if self.privacy_hides(update):
            self.withheld.append(update)
        else:
            self.pending.append(update)
        return update

    def privacy_hides(self, update: dict[str, Any]) -> bool:
        """Privacy mode: a bot that is not a group admin (and may not read all group messages)
        gets only commands, replies to itself, mentions and service messages from groups."""
        message = update.get("message")
        if not message or self.can_read_all_group_messages:
            return False
        chat = self.chats.get(message["chat"]["id"])
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

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: updates before it were seen and are forgotten."""
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def drop_unwanted(self, allowed_updates: list[str] | None) -> None:
        """Updates of types the bot did not ask for are dropped, as Telegram never queues them."""
        allowed = allowed_types(allowed_updates)
        self.pending = [u for u in self.pending if update_type(u) in allowed]


class Everything:
    """Every update type except the opt-in ones."""

    def __init__(self, exclude: frozenset[str]) -> None:
        self.exclude = exclude

    def __contains__(self, item: object) -> bool:
        return item not in self.exclude


def allowed_types(allowed_updates: list[str] | None) -> set[str] | Everything:
    if allowed_updates:
        return set(allowed_updates)
    return Everything(exclude=OPT_IN_UPDATE_TYPES)


def update_type(update: dict[str, Any]) -> str:
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


def checked_scope(scope: Any) -> Any:
    """A BotCommandScope as the real API checks it: a known type with its required fields."""
    if scope is None:
        return None
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_FIELDS:
        raise bad_request("can't parse BotCommandScope JSON object")
    missing = [name for name in _SCOPE_FIELDS[scope["type"]] if name not in scope]
    if missing:
        raise bad_request(f"can't parse BotCommandScope JSON object: {missing[0]} is empty")
    return scope


def scope_key(scope: Any, language_code: str) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code


def chat_type_for(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def member_dict(user: dict[str, Any], status: str) -> dict[str, Any]:
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
