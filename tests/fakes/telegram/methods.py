"""The Bot API methods the fake implements, with the real API's checks and error wording.

Each method takes the request's parameters and uploaded files and returns the `result` of the
answer, or raises ApiError. They run with the state's lock held (the server takes it).
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.telegram.entities import EntityParseError, parse_html, trimmed
from tests.fakes.telegram.errors import NOT_MODIFIED, QUERY_TOO_OLD, ApiError, bad_request
from tests.fakes.telegram.records import ChatMessage, StoredFile, UploadedFile
from tests.fakes.telegram.state import (
    BotState,
    Chat,
    WebhookConfig,
    checked_scope,
    scope_key,
)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024  # getFile refuses bigger files, as the real Bot API does
MAX_CALLBACK_ANSWER_LENGTH = 200
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

Method = Callable[[dict[str, Any], dict[str, UploadedFile]], Any]


class BotApiMethods:
    def __init__(
        self, state: BotState, *, can_join_groups: bool, download_limit: int | None
    ) -> None:
        self.state = state
        self.can_join_groups = can_join_groups
        self.download_limit = download_limit
        self.table: dict[str, Method] = {
            "getMe": self.get_me,
            "logOut": lambda p, f: True,
            "close": lambda p, f: True,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatAdministrators": self.get_chat_administrators,
            "sendChatAction": self.send_chat_action,
            "leaveChat": self.leave_chat,
        }

    # -- checks shared by methods ------------------------------------------------------------

    def check_chat(self, params: dict[str, Any]) -> None:
        """What every call about a chat meets first: a migrated group, a bot kicked or gone."""
        if "chat_id" not in params:
            return
        chat_id = params["chat_id"]
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request("chat not found")
        chat = self.state.chats.get(chat_id)
        if chat is None:
            return
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.bot_status == "kicked":
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if chat.bot_status == "left" and chat.type != "private":
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")

    def _bot_message(self, params: dict[str, Any], action: str) -> ChatMessage:
        if "inline_message_id" in params:
            raise bad_request("the fake does not support inline messages")
        chat = self.state.target_chat(params)
        message = chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None:
            raise bad_request(f"message to {action} not found")
        if not message.from_bot and action == "edit":
            raise bad_request("message can't be edited")
        return message

    def _formatted(
        self, text: Any, parse_mode: Any, *, limit: int, caption: bool
    ) -> tuple[str, list[dict[str, Any]]]:
        if not isinstance(text, str):
            text = str(text)
        if parse_mode in (None, ""):
            plain, entities = trimmed(text, [])
        elif str(parse_mode).lower() == "html":
            try:
                plain, entities = parse_html(text)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif str(parse_mode).lower() in ("markdown", "markdownv2"):
            plain, entities = trimmed(text, [])  # not parsed by the fake; the project uses HTML
        else:
            raise bad_request("unsupported parse_mode")
        if len(plain) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        if not plain and not caption:
            raise bad_request("message text is empty")
        return plain, self._mentions(entities)

    def _mentions(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`tg://user?id=N` links become text_mention entities of a user the bot has seen, as on
        Telegram; a link to a user it never saw is dropped."""
        out = []
        for entity in entities:
            match = re.fullmatch(r"tg://user\?id=(\d+)", entity.get("url", ""))
            if entity["type"] == "text_link" and match:
                user_id = int(match.group(1))
                if user_id not in self.state.users:
                    continue
                entity = {k: v for k, v in entity.items() if k != "url"}
                entity.update(type="text_mention", user=self.state.user(user_id))
            out.append(entity)
        return out

    def _inline_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise bad_request("can't parse reply keyboard markup JSON object")
            placeholder = markup.get("input_field_placeholder")
            if placeholder is not None and not 1 <= len(str(placeholder)) <= 64:
                raise bad_request("input field placeholder must be 1-64 characters")
            return None  # reply keyboards are not part of the returned Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if not BUTTON_ACTIONS & button.keys():
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        return {"inline_keyboard": rows}

    def _reply_target(self, chat: Chat, params: dict[str, Any]) -> ChatMessage | None:
        reply = params.get("reply_parameters")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
            if reply.get("chat_id") not in (None, chat.id):
                chat = self.state.chat(reply["chat_id"])
        else:
            message_id = params.get("reply_to_message_id")
        if message_id is None:
            return None
        target = chat.messages.get(message_id)
        if target is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return target

    # -- the Bot API methods ----------------------------------------------------------------

    def get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            **self.state.bot_user(),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": self.state.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.state.pending.clear()
        if not url:
            self.state.webhook = None
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.state.webhook = WebhookConfig(url, secret, params.get("allowed_updates"))
        return True

    def delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self.state.webhook = None
        if params.get("drop_pending_updates"):
            self.state.pending.clear()
        return True

    def get_webhook_info(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        info: dict[str, Any] = {
            "url": self.state.webhook.url if self.state.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.state.pending),
        }
        if self.state.webhook:
            info["max_connections"] = 40
            if self.state.webhook.allowed_updates:
                info["allowed_updates"] = self.state.webhook.allowed_updates
            if self.state.webhook.last_error_date:
                info["last_error_date"] = self.state.webhook.last_error_date
                info["last_error_message"] = self.state.webhook.last_error_message
        return info

    def set_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(
                r"[a-z0-9_]{1,32}", str(command.get("command", ""))
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be non-empty")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            # Telegram takes a two-letter ISO 639-1 code or nothing (all languages).
            raise bad_request("LANGUAGE_CODE_INVALID")
        key = scope_key(checked_scope(params.get("scope")), language)
        self.state.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def get_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        key = scope_key(checked_scope(params.get("scope")), params.get("language_code") or "")
        return copy.deepcopy(self.state.commands.get(key, []))

    def delete_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        key = scope_key(checked_scope(params.get("scope")), params.get("language_code") or "")
        self.state.commands.pop(key, None)
        return True

    def send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self.state.target_chat(params)
        if params.get("text") in (None, ""):
            raise bad_request("message text is empty")
        plain, entities = self._formatted(
            params["text"], params.get("parse_mode"), limit=MAX_TEXT_LENGTH, caption=False
        )
        fields: dict[str, Any] = {"text": plain}
        if entities:
            fields["entities"] = entities
        message = self._new_bot_message(chat, params, fields, sent_text=params["text"])
        return copy.deepcopy(message.data)

    def send_document(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self.state.target_chat(params)
        stored = self._uploaded_or_known(params, files, "document", "documents")
        fields: dict[str, Any] = {"document": self.state.document_dict(stored)}
        return self._send_with_caption(chat, params, fields, stored)

    def send_photo(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self.state.target_chat(params)
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
        self, chat: Chat, params: dict[str, Any], fields: dict[str, Any], stored: StoredFile
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
                raise bad_request("file must be non-empty")
            return self.state.register_file(
                upload.content, upload.file_name, mime_type=upload.mime_type, kind=kind
            )
        if isinstance(reference, str) and reference in self.state.files:
            return self.state.files[reference]
        if reference:
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {field_name} in the request")

    def edit_message_text(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._bot_message(params, "edit")
        if "text" not in message.data:
            raise bad_request("there is no text in the message to edit")
        if params.get("text") in (None, ""):
            raise bad_request("message text is empty")
        plain, entities = self._formatted(
            params["text"], params.get("parse_mode"), limit=MAX_TEXT_LENGTH, caption=False
        )
        return self._apply_edit(
            message, params, {"text": plain, "entities": entities}, params["text"]
        )

    def edit_message_caption(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._bot_message(params, "edit")
        if "text" in message.data:
            raise bad_request("there is no caption in the message to edit")
        plain, entities = self._formatted(
            params.get("caption") or "",
            params.get("parse_mode"),
            limit=MAX_CAPTION_LENGTH,
            caption=True,
        )
        return self._apply_edit(
            message, params, {"caption": plain, "caption_entities": entities}, params.get("caption")
        )

    def edit_message_reply_markup(
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
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
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

    def delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        message = self._bot_message(params, "delete")
        del self.state.chats[message.chat_id].messages[message.message_id]
        return True

    def answer_callback_query(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if self.state.callback_queries.get(query_id, True):
            raise bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self.state.callback_queries[query_id] = True
        return True

    def get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        stored = self.state.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        size = max(stored.file_size, len(stored.content))
        if self.download_limit is not None and size > self.download_limit:
            raise bad_request("file is too big")
        result = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }
        if not stored.declare_size:
            del result["file_size"]
        return result

    def get_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self.state.chats.get(params.get("chat_id"))  # type: ignore[arg-type]
        if chat is None:
            raise bad_request("chat not found")
        return {
            **chat.as_dict(self.state.users),
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

    def get_chat_member(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self.state.target_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        return self.state.member(chat, user_id)

    def get_chat_administrators(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat = self.state.target_chat(params)
        user_ids = {
            self.state.bot_id,
            *self.state.users,
            *(u for (_, u) in self.state.member_status),
        }
        members = [self.state.member(chat, user_id) for user_id in sorted(user_ids)]
        return [m for m in members if m["status"] in ("creator", "administrator")]

    def send_chat_action(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self.state.target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def leave_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self.state.target_chat(params)
        if chat.type == "private":
            raise bad_request("chat member status can't be changed in private chats")
        chat.bot_status = "left"
        return True

    # -- state helpers (called with the lock held) --------------------------------------------

    def _new_bot_message(
        self,
        chat: Chat,
        params: dict[str, Any],
        fields: dict[str, Any],
        *,
        sent_text: str | None,
        file: StoredFile | None = None,
    ) -> ChatMessage:
        if chat.is_forum and params.get("message_thread_id") in chat.deleted_topics:
            raise bad_request("message thread not found")
        reply_to = self._reply_target(chat, params)
        markup = self._inline_markup(params)
        data = self.state.message_data(
            chat, self.state.bot_user(), fields, params.get("message_thread_id"), reply_to
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
