"""The fake Bot API server: Starlette on uvicorn in a background thread with its own event loop,
the HTTP routes (`/bot{token}/{method}`, `/file/bot{token}/{path}`), getUpdates' long poll, and
what a test configures (chats, members, injected errors and stalls)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hmac
import socket
import threading
import time
import traceback
from typing import Any
from urllib.parse import unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.telegram.errors import DEFAULT_DESCRIPTIONS, ApiError, bad_request
from tests.fakes.telegram.faults import Failure, Faults, HeldCall, Stall
from tests.fakes.telegram.flood import FloodGate, FloodRules
from tests.fakes.telegram.inspection import Inspection
from tests.fakes.telegram.methods import MAX_DOWNLOAD_SIZE, BotApiMethods
from tests.fakes.telegram.params import read_params
from tests.fakes.telegram.records import BotApiCall, StoredFile, UploadedFile
from tests.fakes.telegram.state import MEMBER_STATUSES, BotState
from tests.fakes.telegram.updates import UserActions
from tests.fakes.telegram.webhook import post_updates

DEFAULT_TOKEN = "123456:TEST-fake-token-abcdefghijklmnopqrstuv"
BOT_USERNAME = "ccbot_test_bot"
DOWNLOAD_CHUNK = 64 * 1024  # the file server streams downloads in pieces of this size
POLL_STEP = 0.01  # how often a long poll or a stalled answer looks again


class FakeTelegram(UserActions, Inspection):
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
        self.state = BotState(bot_id=self.bot_id, bot_username=bot_username)
        self.state.can_read_all_group_messages = can_read_all_group_messages
        self.methods = BotApiMethods(
            self.state, can_join_groups=can_join_groups, download_limit=download_limit
        )
        self.long_poll_cap = long_poll_cap
        if flood_limits is True:
            flood_limits = FloodRules()
        self.flood_rules: FloodRules | None = flood_limits or None
        self._flood = FloodGate(self.flood_rules) if self.flood_rules else None
        self._faults = Faults()
        self._method_names = {name.lower(): name for name in [*self.methods.table, "getUpdates"]}
        self.url = ""
        self.server_errors: list[str] = []
        self._stopping = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._stop_requested: asyncio.Event | None = None

    def __repr__(self) -> str:  # no token: it is a secret in real deployments
        return f"<FakeTelegram {self.url or 'not started'}>"

    @property
    def bot_username(self) -> str:
        return self.state.bot_username

    @property
    def can_read_all_group_messages(self) -> bool:
        return self.state.can_read_all_group_messages

    @property
    def can_join_groups(self) -> bool:
        return self.methods.can_join_groups

    @property
    def download_limit(self) -> int | None:
        return self.methods.download_limit

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
        delivery = asyncio.create_task(post_updates(self.state, lambda: self._stopping))
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
        self._stopping = True  # ends long polls and stalls at once
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
        with self.state.lock:
            chat = self.state.chat(chat_id, chat_type)
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
        with self.state.lock:
            if user_id == self.bot_id and chat_id is not None:
                self.state.chat(chat_id).bot_status = status
            else:
                self.state.member_status[(chat_id, user_id)] = status

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """Someone deleted a forum topic: sends into it answer "message thread not found"."""
        with self.state.lock:
            self.state.chat(chat_id).deleted_topics.add(thread_id)

    def remove_message(self, chat_id: int, message_id: int) -> None:
        """Someone deleted a message of the chat (the bot's edits of it then fail)."""
        with self.state.lock:
            chat = self.state.chats.get(chat_id)
            if chat is None or message_id not in chat.messages:
                raise ValueError(f"chat {chat_id} has no message {message_id}")
            del chat.messages[message_id]

    # -- injected errors and stalls ------------------------------------------------------------

    def _canonical(self, method: str) -> str:
        canonical = self._method_names.get(method.lower())
        if canonical is None:
            raise ValueError(
                f"the fake does not implement {method!r}; known: {sorted(self._method_names.values())}"
            )
        return canonical

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
        canonical = self._canonical(method)
        if error_code == 429 and retry_after is None:
            retry_after = 1
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        error = ApiError(error_code, description, parameters or None)
        with self.state.lock:
            self._faults.failures.append(Failure(canonical, error, times, chat_id))

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
        canonical = self._canonical(method)
        error = ApiError(error_code, description)
        with self.state.lock:
            self._faults.matching.append(Failure(canonical, error, times, fragment=fragment))

    def clear_failures(self) -> None:
        with self.state.lock:
            self._faults.clear_failures()

    def stall_next(
        self,
        method: str,
        seconds: float | None,
        *,
        times: int | None = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id`, if given) only after
        `seconds` (None: when the test calls release_held()); a call whose client gave up
        meanwhile is not carried out (a network failure before Telegram took it).

        `held_calls` lists the calls waiting meanwhile: wait on it to know that the bot's
        request has reached the fake."""
        canonical = self._canonical(method)
        with self.state.lock:
            self._faults.stalls.append(Stall(canonical, seconds, times, chat_id))

    @property
    def stalls_pending(self) -> int:
        """How many stall_next calls have not yet met the call they are waiting for."""
        with self.state.lock:
            return len(self._faults.stalls)

    @property
    def held_calls(self) -> list[HeldCall]:
        """The requests a stall holds unanswered right now, oldest first."""
        with self.state.lock:
            return list(self._faults.held)

    def release_held(self) -> None:
        """Let every held request go on now (stalls with seconds=None wait for this)."""
        with self.state.lock:
            for held in self._faults.held:
                held.released = True

    @property
    def flood_refusals(self) -> list[BotApiCall]:
        """The calls the flood limits refused with 429 (injected failures are not in it)."""
        with self.state.lock:
            return list(self._flood.refusals) if self._flood else []

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_api(self, request: Request) -> Response:
        name = request.path_params["method"]
        method = self._method_names.get(name.lower(), name)
        if not hmac.compare_digest(request.path_params["token"].encode(), self.token.encode()):
            return self._record_error(method, {}, {}, ApiError(401, "Unauthorized"))
        try:
            params, files = await read_params(request)
        except ApiError as error:
            return self._record_error(method, {}, {}, error)
        except ValueError as exc:
            return self._record_error(method, {}, {}, bad_request(f"can't parse request: {exc}"))
        try:
            if method == "getUpdates":
                return await self._long_poll(request, params)
            if not await self._stall(request, method, params):
                return self._record_error(
                    method, params, files, ApiError(499, "the client went away before the answer")
                )
            with self.state.lock:
                if method not in self.methods.table:
                    raise ApiError(404, "Not Found: method not found")
                self.methods.check_chat(params)
                self._faults.raise_injected(method, params)
                self._faults.raise_matching(method, params)
                if self._flood:
                    self._flood.check(method, params)
                result = self.methods.table[method](params, files)
                if self._flood:
                    self._flood.count(method, params)
                return self._record_ok(method, params, files, result)
        except ApiError as error:
            return self._record_error(method, params, files, error)
        except Exception as exc:  # a bug in the fake: make it loud, not a silent bot error
            self.server_errors.append(f"{method}: {traceback.format_exc()}")
            return self._record_error(
                method,
                params,
                files,
                ApiError(500, f"Internal Server Error: fake failed: {exc!r}"),
            )

    def _record_ok(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile], result: Any
    ) -> Response:
        with self.state.lock:
            self.state.record_call(method, params, files, 200, copy.deepcopy(result))
        return JSONResponse({"ok": True, "result": result})

    def _record_error(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile], error: ApiError
    ) -> Response:
        with self.state.lock:
            self.state.record_call(method, params, files, error.code, None, error.description)
        body: dict[str, Any] = {
            "ok": False,
            "error_code": error.code,
            "description": error.description,
        }
        if error.parameters:
            body["parameters"] = error.parameters
        return JSONResponse(body, status_code=error.code)

    async def _stall(self, request: Request, method: str, params: dict[str, Any]) -> bool:
        """Wait out an injected stall; False when the client went away meanwhile."""
        with self.state.lock:
            held = self._faults.take_stall(method, params)
        if held is None:
            return True
        try:
            deadline = None if held.seconds is None else time.monotonic() + held.seconds
            while not held.released and not self._stopping:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if await request.is_disconnected():
                    return False
                await asyncio.sleep(POLL_STEP)
            return not await request.is_disconnected()
        finally:
            with self.state.lock:
                self._faults.held.remove(held)

    async def _long_poll(self, request: Request, params: dict[str, Any]) -> Response:
        with self.state.lock:
            if self.state.webhook is not None:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            self._faults.raise_injected("getUpdates", params)
            if params.get("allowed_updates") is not None:
                self.state.allowed_updates = params["allowed_updates"]
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        wait = min(float(params.get("timeout") or 0), self.long_poll_cap)
        deadline = time.monotonic() + wait
        while True:
            with self.state.lock:
                self.state.confirm(offset)
                self.state.drop_unwanted(self.state.allowed_updates)
                batch = copy.deepcopy(self.state.pending[:limit])
                self.state.delivered.update(u["update_id"] for u in batch)
            if batch or time.monotonic() >= deadline or self._stopping:
                break
            if await request.is_disconnected():
                break
            await asyncio.sleep(POLL_STEP)
        return self._record_ok("getUpdates", params, {}, batch)

    async def _handle_download(self, request: Request) -> Response:
        if not hmac.compare_digest(request.path_params["token"].encode(), self.token.encode()):
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        with self.state.lock:
            stored = self.state.files_by_path.get(unquote(request.path_params["file_path"]))
        if stored is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return StreamingResponse(self._stream(stored), media_type="application/octet-stream")

    async def _stream(self, stored: StoredFile) -> Any:
        """The file in pieces, counting what was sent: a client that stops reading stops it."""
        content = stored.content
        for start in range(0, len(content), DOWNLOAD_CHUNK):
            piece = content[start : start + DOWNLOAD_CHUNK]
            with self.state.lock:
                served = self.state.served
                served[stored.file_id] = served.get(stored.file_id, 0) + len(piece)
            yield piece
            # Lets the server notice a client that hung up, as a real one does.
            await asyncio.sleep(0)

    def served_bytes(self, file_id: str) -> int:
        """How many bytes of the file the download route has handed to the connection."""
        with self.state.lock:
            return self.state.served.get(file_id, 0)
