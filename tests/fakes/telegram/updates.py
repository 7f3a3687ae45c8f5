"""What users do, as updates for the bot: commands, texts, documents, button presses, the bot
added to or removed from a group, a group becoming a supergroup.

`build_*` returns the update without queueing it (to post it to a webhook, or to queue it
later); the matching verb (`send_command`, `press_button`, ...) queues it for getUpdates or the
webhook.
"""

from __future__ import annotations

import copy
import mimetypes
import time
from typing import Any

from tests.fakes.telegram.entities import utf16_length
from tests.fakes.telegram.records import ChatMessage, StoredFile
from tests.fakes.telegram.state import MEMBER_STATUSES, BotState, chat_type_for, member_dict


class UserActions:
    """Part of FakeTelegram: the updates a test makes users send."""

    state: BotState

    def enqueue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (or the webhook); privacy mode may withhold it."""
        with self.state.lock:
            return self.state.enqueue(update)

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
        with self.state.lock:
            return self.state.register_file(
                content,
                file_name,
                mime_type=mime_type,
                file_size=file_size,
                kind=kind,
                declare_size=declare_size,
            )

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """From now on every call about `old_chat_id` answers "group chat was upgraded"."""
        with self.state.lock:
            old = self.state.chat(old_chat_id, "group")
            old.migrated_to = new_chat_id
            new = self.state.chat(new_chat_id, "supergroup")
            new.title = new.title or old.title
            new.bot_status = old.bot_status

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
        fields: dict[str, Any] = {"document": self.state.document_dict(stored)}
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
        with self.state.lock:
            chat = self.state.chats.get(chat_id)
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
            query_id = str(next(self.state.callback_ids))
            self.state.callback_queries[query_id] = False
            query = {
                "id": query_id,
                "from": self.state.user(user_id, username, first_name),
                "message": copy.deepcopy(message.data),
                "chat_instance": str(abs(hash(("chat-instance", chat_id)))),
                "data": matching[0]["callback_data"],
            }
            return {"update_id": next(self.state.update_ids), "callback_query": query}

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
        with self.state.lock:
            chat = self.state.chat(chat_id)
            chat.bot_status = new_status
            change = {
                "chat": chat.as_dict(self.state.users),
                "from": self.state.user(by_user_id),
                "date": int(time.time()),
                "old_chat_member": member_dict(self.state.bot_user(), old_status),
                "new_chat_member": member_dict(self.state.bot_user(), new_status),
            }
            return {"update_id": next(self.state.update_ids), "my_chat_member": change}

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
        with self.state.lock:
            old = self.state.service_message(
                old_chat_id, by_user_id, {"migrate_to_chat_id": new_chat_id}
            )
            new = self.state.service_message(
                new_chat_id, by_user_id, {"migrate_from_chat_id": old_chat_id}
            )
            return [
                {"update_id": next(self.state.update_ids), "message": old},
                {"update_id": next(self.state.update_ids), "message": new},
            ]

    def migrate_service_message(
        self, old_chat_id: int, new_chat_id: int, by_user_id: int | None = None
    ) -> list[dict[str, Any]]:
        return [self.enqueue(u) for u in self.build_migration(old_chat_id, new_chat_id, by_user_id)]

    def build_new_chat_members(
        self, chat_id: int, by_user_id: int, member_ids: list[int] | None = None
    ) -> dict[str, Any]:
        """Users (default: the bot) added to a group, as the service message."""
        with self.state.lock:
            ids = member_ids if member_ids is not None else [self.state.bot_id]
            members = [
                self.state.bot_user() if i == self.state.bot_id else self.state.user(i) for i in ids
            ]
            message = self.state.service_message(chat_id, by_user_id, {"new_chat_members": members})
            return {"update_id": next(self.state.update_ids), "message": message}

    def new_chat_members(
        self, chat_id: int, by_user_id: int, member_ids: list[int] | None = None
    ) -> dict[str, Any]:
        return self.enqueue(self.build_new_chat_members(chat_id, by_user_id, member_ids))

    # -- inspection --------------------------------------------------------------------------

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
        with self.state.lock:
            known = self.state.chats.get(chat_id)
            resolved_type = chat_type or (known.type if known else chat_type_for(chat_id))
            if resolved_type == "private" and chat_id != user_id:
                raise ValueError(
                    f"a private chat's id is the user's id: chat {chat_id} != user {user_id}"
                )
            user = self.state.user(user_id, username, first_name)
            chat = self.state.chat(chat_id, resolved_type)
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
            data = self.state.message_data(chat, user, fields, message_thread_id, reply_to)
            chat.messages[data["message_id"]] = ChatMessage(data, from_bot=False, file=file)
            return {"update_id": next(self.state.update_ids), "message": copy.deepcopy(data)}
