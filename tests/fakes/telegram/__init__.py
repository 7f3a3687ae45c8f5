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
- `stall_next(method, seconds)`: the answer comes only after `seconds` (None: when the test
  calls `release_held()`), and a request whose client gave up meanwhile is not carried out (a
  network failure before Telegram took it); `held_calls` lists the requests held right now, so
  a test can wait for the bot's request to have reached "Telegram" instead of guessing a time;
- `remove_message(chat_id, message_id)`: someone deleted the bot's message (edits of it then
  answer "message to edit not found"); `delete_topic(chat_id, thread_id)`: someone deleted a
  forum topic (sends into it answer "message thread not found");
- `fail_matching(method, fragment, ...)`: calls whose text or caption contains `fragment` get
  an error (one part of a message sent in several).

The package, one concern a module: `server` (FakeTelegram: HTTP routes, long poll, what a test
configures), `state` (chats, users, files, updates, the call log, behind one lock), `methods`
(the Bot API methods and their checks), `entities` (HTML parse mode), `params` (request
parameters; multipart through python-multipart), `flood` (flood limits), `faults` (injected
errors and stalls), `webhook` (posting updates to a webhook), `updates` (what users do),
`inspection` (what tests read back), `records` (the dataclasses tests get), `fixtures`.
"""

from tests.fakes.telegram.entities import EntityParseError, parse_html, utf16_length
from tests.fakes.telegram.errors import NOT_MODIFIED, QUERY_TOO_OLD
from tests.fakes.telegram.faults import HeldCall
from tests.fakes.telegram.fixtures import fake_telegram, fake_telegram_factory
from tests.fakes.telegram.flood import FLOOD_EDIT_METHODS, FLOOD_NEW_METHODS, FloodRules
from tests.fakes.telegram.methods import (
    BUTTON_ACTIONS,
    CHAT_ACTIONS,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_DOWNLOAD_SIZE,
    MAX_TEXT_LENGTH,
)
from tests.fakes.telegram.params import STRING_PARAMS
from tests.fakes.telegram.records import (
    BotApiCall,
    ChatMessage,
    StoredFile,
    UploadedFile,
    WebhookDelivery,
)
from tests.fakes.telegram.server import (
    BOT_USERNAME,
    DEFAULT_TOKEN,
    DOWNLOAD_CHUNK,
    FakeTelegram,
)
from tests.fakes.telegram.state import BOT_FIRST_NAME, MEMBER_STATUSES, OPT_IN_UPDATE_TYPES

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_USERNAME",
    "BUTTON_ACTIONS",
    "CHAT_ACTIONS",
    "DEFAULT_TOKEN",
    "DOWNLOAD_CHUNK",
    "FLOOD_EDIT_METHODS",
    "FLOOD_NEW_METHODS",
    "MAX_CALLBACK_ANSWER_LENGTH",
    "MAX_CAPTION_LENGTH",
    "MAX_DOWNLOAD_SIZE",
    "MAX_TEXT_LENGTH",
    "MEMBER_STATUSES",
    "NOT_MODIFIED",
    "OPT_IN_UPDATE_TYPES",
    "QUERY_TOO_OLD",
    "STRING_PARAMS",
    "BotApiCall",
    "ChatMessage",
    "EntityParseError",
    "FakeTelegram",
    "FloodRules",
    "HeldCall",
    "StoredFile",
    "UploadedFile",
    "WebhookDelivery",
    "fake_telegram",
    "fake_telegram_factory",
    "parse_html",
    "utf16_length",
]
