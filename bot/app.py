"""Wiring: the PTB Application, the HTTP listener, the sender and the scheduler on one loop, the relay
worker beside them (a child process in `ccbot run`: bot/processes.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import uvloop
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, TelegramError
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import HTTPXRequest

from bot.audit import AuditRecorder
from bot.config import Settings
from bot.delivery.pacing import FloodLimits, TelegramRateLimiter
from bot.delivery.sender import Sender
from bot.handlers import register_handlers
from bot.http_server import AsgiServer, bind_socket, start_asgi_server
from bot.laaffic.client import LaafficClient
from bot.laaffic.transport import TransportOptions
from bot.listener import create_listener_app
from bot.logs import register_secret
from bot.processes import (
    PushListenerProcess,
    RelayProcess,
    start_fork_server,
    stop_fork_server,
)
from bot.relay import digest, task_card
from bot.relay.ingest import InboxWriter
from bot.relay.worker import RelayWorker
from bot.replicas import AnotherPoller, ReplicaPresence
from bot.runtime import RelayHandle, Runtime
from bot.tls import client_tls
from bot.updates import OrderedUpdateProcessor
from storage.db import Database, WriteHealth, connect_problem
from storage.migrate import upgrade

if TYPE_CHECKING:  # imported only by `ccbot sandbox`, when it starts the simulator
    from bot.laaffic.simulator.server import RunningServer

log = logging.getLogger(__name__)

# How a developer sees the simulator's calls pop up privately (one log line each).
SANDBOX_SCREEN_POPS = (
    "screen pops: to have the simulated calls pop up in your private chat with the bot, send it",
    "  /start there (your id must be in ADMIN_USER_IDS: your private chat is then a team), then",
    "  /newgroup Sandbox-Team, /addagents Sandbox-Team 2, and /link <the first SIP account",
    "  /agents Sandbox-Team lists> <your user id, from /whoami>; upload a number file and run",
    "  /newtask <upload> agents Sandbox-Team: each ring of that agent pops up, then shows how",
    "  the call ended.",
)

# `docker stop` sends SIGKILL 10 s after SIGTERM: a stop takes at most STOP_GRACE_S, plus
# STOP_STEP_MIN_S for each step left when it runs out, plus the interpreter's exit.
# (5 s, not more: the children and the fork server of `ccbot run` also have to exit in the rest.)
STOP_GRACE_S = 5.0
STOP_STEP_MIN_S = 0.25


class WebhookRefused(Exception):
    """Telegram answered setWebhook with an error: told in one line at start."""


def build_application(runtime: Runtime, flood_limits: FloodLimits | None = None) -> Application:
    settings = runtime.settings
    assert settings.telegram_bot_token is not None
    api = settings.telegram_api_url
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        # Every text the bot sends is HTML without link previews, whichever call sends it.
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # One budget for handler replies and the outbox sender (replies first): bot/delivery/pacing.py
        .rate_limiter(TelegramRateLimiter(flood_limits, reply_retries=3))
        # Updates are handled at once, in order only where it matters (bot/updates.py). Shared
        # state lives in the database, which is what makes a double-tapped Submit create one task
        # even across replicas.
        .concurrent_updates(OrderedUpdateProcessor(64))
        # PTB's own defaults (256 connections, 1 for getUpdates) with our timeouts, and the shared
        # TLS context (bot/tls.py) instead of one built per client.
        .request(
            HTTPXRequest(
                connection_pool_size=256,
                connect_timeout=10,
                read_timeout=30,
                write_timeout=60,
                httpx_kwargs={"verify": client_tls()},
            )
        )
        .get_updates_request(
            HTTPXRequest(
                connection_pool_size=1, read_timeout=30, httpx_kwargs={"verify": client_tls()}
            )
        )
    )
    if settings.telegram_mode == "webhook":
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["runtime"] = runtime
    register_handlers(application)
    application.add_error_handler(_log_unhandled)
    return application


async def _log_unhandled(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last net for an exception outside the handlers' own guard: one logged line with the
    update's chat and user (the handlers' guard answers users; this only keeps it visible)."""
    chat = getattr(getattr(update, "effective_chat", None), "id", None)
    user = getattr(getattr(update, "effective_user", None), "id", None)
    log.error(
        "unhandled error while processing an update (chat %s, user %s)",
        chat,
        user,
        exc_info=context.error,
    )


class BotService:
    """Starts and stops everything `ccbot run` (or `sandbox`) runs; tests drive it directly.

    What `start()` starts is stopped by `stop()` in reverse order, from one AsyncExitStack: each
    part registers its stop as it starts, so a failed start stops exactly what had started.

    `split=True` (what `ccbot run` uses) serves the pushes and runs the relay worker in
    supervised child processes (bot/processes.py), so neither waits for the other's GIL nor for
    the sender's; this process keeps the other routes on a unix socket the push listener
    forwards them to. The default runs everything on this loop, which is what most tests drive."""

    def __init__(
        self,
        settings: Settings,
        *,
        sandbox: bool = False,
        split: bool = False,
        flood_limits: FloodLimits | None = None,  # tests shrink Telegram's windows
        platform_options: TransportOptions | None = None,  # tests shorten the retry waits
    ) -> None:
        self.flood_limits = flood_limits
        self.platform_options: TransportOptions = platform_options or {}
        self.settings = settings
        self.sandbox = sandbox
        self.split = split
        self.push_listener: PushListenerProcess | None = None
        self._relay_process: RelayProcess | None = None
        self._routes_path: str | None = None
        self.runtime: Runtime | None = None
        self.application: Application | None = None
        self._listener: AsgiServer | None = None
        self._simulator: RunningServer | None = None
        self.listen_port: int | None = None
        self._polling_warned_at = 0.0
        # In split mode the push child reports whether the database takes writes (processes.py).
        self._write_health = WriteHealth()
        self._stack = contextlib.AsyncExitStack()
        self._stop_deadline = 0.0
        # Set when a part that cannot be left behind failed while running (the relay process
        # kept dying): `serve` then stops and `ccbot run` exits non-zero.
        self.failed: asyncio.Future[BaseException] | None = None

    # The running parts, as tests and the status commands know them (the Runtime holds them).
    @property
    def presence(self) -> ReplicaPresence | None:
        return self.runtime.presence if self.runtime is not None else None

    @property
    def sender(self) -> Sender | None:
        return self.runtime.sender if self.runtime is not None else None

    @property
    def relay(self) -> RelayHandle | None:
        return self.runtime.relay if self.runtime is not None else None

    @property
    def listener_url(self) -> str:
        host = self.settings.listen_host
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://{host}:{self.listen_port}"

    def _on_stop(self, name: str, step: Callable[[], Awaitable[object]]) -> None:
        """Run `step` when stopping (in reverse order of registration), within the stop grace."""
        self._stack.push_async_callback(self._stop_step, name, step)

    async def start(self) -> None:
        settings = self.settings
        stack = self._stack
        loop = asyncio.get_running_loop()
        self.failed = loop.create_future()
        if self.split:
            self._stack.callback(stop_fork_server)  # after the children (registered before)
            start_fork_server()
        await asyncio.to_thread(upgrade, settings.database_url)
        database = Database(settings.database_url)
        stack.callback(database.dispose)

        sock = bind_socket(settings.listen_host, settings.listen_port)
        stack.callback(sock.close)  # (the listener closes it first when it started)
        self.listen_port = sock.getsockname()[1]

        # The sandbox works without PUSH_TOKEN: its simulator and the listener share a random one
        # (a fixed word would let anyone who reaches the listener push made-up events).
        push_token = settings.push_token.get_secret_value() if settings.push_token else None
        extra_secrets: list[str] = []
        if self.sandbox and not push_token:
            push_token = secrets.token_urlsafe(24)
            register_secret(push_token)
            extra_secrets.append(push_token)
        if self.split:
            await self._spawn_children(sock, push_token, extra_secrets)
        base_url = settings.laaffic_base_url
        api_key = settings.laaffic_api_key or ""
        api_secret = (
            settings.laaffic_api_secret.get_secret_value() if settings.laaffic_api_secret else ""
        )
        app_id = settings.laaffic_app_id or ""
        if self.sandbox:
            from bot.laaffic.simulator.server import (
                config_from_settings,
                describe,
                start_simulator_server,
            )

            config = config_from_settings(
                settings, push_url=f"{self.listener_url}/push/{push_token}"
            )
            self._simulator = await start_simulator_server(config)
            self._on_stop("the simulator", self._simulator.stop)
            base_url = self._simulator.base_url
            api_key, api_secret, app_id = config.api_key, config.api_secret, config.app_id
            # One log line per line of the note: a log line keeps an event's newlines as "\n".
            for line in describe(config, base_url).splitlines():
                log.info("sandbox: %s", line.strip())
            for line in SANDBOX_SCREEN_POPS:
                log.info("sandbox: %s", line)

        options = TransportOptions(observer=AuditRecorder(database))
        options.update(self.platform_options)
        client = LaafficClient(
            base_url, api_key, api_secret, app_id, platform_tz=settings.platform_zone, **options
        )
        runtime = self.runtime = Runtime(
            settings=settings, database=database, client=client, simulator=self._simulator
        )
        stack.callback(runtime.number_checker.close)
        self._on_stop("the platform client", client.aclose)

        presence = ReplicaPresence(database, settings.telegram_mode)
        await presence.start()  # refuses a second poller before Telegram is touched
        runtime.presence = presence
        self._on_stop("the replica heartbeat", presence.stop)

        self.application = application = build_application(runtime, self.flood_limits)
        await application.initialize()
        self._on_stop("the Telegram client", application.shutdown)
        me = application.bot.bot
        runtime.bot_username = me.username
        runtime.can_read_all_group_messages = bool(me.can_read_all_group_messages)
        from bot.handlers import set_command_menus

        await set_command_menus(application.bot)
        await application.start()
        self._on_stop("the updates and jobs in progress", application.stop)
        from bot.jobs import schedule_jobs

        schedule_jobs(application)
        if settings.telegram_mode == "webhook":
            assert settings.telegram_webhook_url and settings.telegram_webhook_secret
            secret = settings.telegram_webhook_secret.get_secret_value()
            try:
                await application.bot.set_webhook(
                    url=f"{settings.telegram_webhook_url.rstrip('/')}/telegram/{secret}",
                    secret_token=secret,
                    allowed_updates=Update.ALL_TYPES,
                )
            except BadRequest as exc:  # answered, so not a network problem (BadRequest is one)
                raise WebhookRefused(
                    f"Telegram refused the webhook ({exc.message}): check TELEGRAM_WEBHOOK_URL "
                    f"(a public https address on port 443, 80, 88 or 8443) and "
                    f"TELEGRAM_WEBHOOK_SECRET, then start again."
                ) from None
        else:
            assert application.updater is not None
            await application.updater.start_polling(
                drop_pending_updates=False,
                allowed_updates=Update.ALL_TYPES,
                poll_interval=0.0,
                error_callback=self._polling_failed,
            )
            self._on_stop("the Telegram updater", application.updater.stop)

        # The relay: stored pushes → typed rows → outbox. The listener wakes it after committing
        # pushes; it wakes the sender after relaying.
        relay: RelayHandle
        if self._relay_process is not None:
            relay = self._relay_process
            await self._relay_process.wait_started()
        else:
            relay = RelayWorker(
                database,
                platform_tz=settings.platform_zone,
                default_zone=settings.default_zone,
                admin_user_ids=settings.admin_user_ids,
            )
            await relay.start()
        runtime.relay = relay
        self._on_stop("the relay worker", relay.stop)
        digest.schedule(application, database, settings.default_zone)
        task_card.schedule(
            application, task_card.TaskCardPoller(database, client, settings.default_zone)
        )

        # The only way relayed messages leave; it shares the application's bot and rate limiter.
        sender = Sender(database, application.bot, admin_user_ids=settings.admin_user_ids)
        await sender.start()
        runtime.sender = sender
        self._on_stop("the sender", sender.stop)
        relay.on_relayed.append(sender.wake)

        if self.split:
            await self._start_push_listener(push_token)
        else:
            # Stopped after the listener (below): the answers in flight get their commits.
            inbox = InboxWriter(settings.database_url)
            await inbox.start()
            runtime.inbox = inbox
            self._on_stop("the inbox writer", inbox.stop)
            listener = create_listener_app(runtime, application, push_token=push_token)
            self._listener = await start_asgi_server(listener, sock=sock)
            self._on_stop("the listener", self._listener.stop)
        log.info(
            "ccbot is running: listener on %s, Telegram %s mode",
            self.listener_url,
            settings.telegram_mode,
        )

    async def _spawn_children(
        self, sock: socket.socket, push_token: str | None, extra_secrets: list[str]
    ) -> None:
        """Start the relay and push listener processes first: their imports take seconds, and
        this process starts its own parts meanwhile. Killed if the start fails; stopped in order
        (the push listener first, the relay after the sender) once it succeeded."""
        directory = tempfile.mkdtemp(prefix="ccbot-")  # mode 0700: this user only
        self._stack.callback(shutil.rmtree, directory, ignore_errors=True)
        self._routes_path = os.path.join(directory, "main.sock")
        relay = RelayProcess(self.settings, extra_secrets=extra_secrets, on_gave_up=self._fail)
        await relay.spawn()
        self._stack.callback(relay.kill)
        self._relay_process = relay

        def wake_relay() -> None:
            relay.wake()

        push = PushListenerProcess(
            self.settings,
            sock,
            self._routes_path,
            push_token=push_token,
            on_stored=wake_relay,
            extra_secrets=extra_secrets,
            on_gave_up=self._fail,
            on_write_change=self._write_health.apply,
        )
        await push.spawn()
        self._stack.callback(push.kill)
        self.push_listener = push

    async def _start_push_listener(self, push_token: str | None) -> None:
        """The other routes on the unix socket the push listener forwards them to; then wait for
        the push listener, which may already be answering pushes."""
        runtime, push = self.runtime, self.push_listener
        assert runtime is not None and push is not None and self._routes_path is not None
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(self._routes_path)
        unix.setblocking(False)
        self._stack.callback(unix.close)
        routes = create_listener_app(
            runtime,
            self.application,
            push_token=push_token,
            pushes=False,
            write_health=self._write_health,
        )
        self._listener = await start_asgi_server(routes, sock=unix)
        self._on_stop("the health and webhook routes", self._listener.stop)
        await push.wait_started()
        self._on_stop("the push listener", push.stop)

    def _fail(self, error: BaseException) -> None:
        if self.failed is not None and not self.failed.done():
            self.failed.set_result(error)

    def _polling_failed(self, error: TelegramError) -> None:
        """A getUpdates that failed (PTB tries again): one line, not PTB's traceback each time;
        another poller on the same token is said plainly and shown on /readyz."""
        now = time.monotonic()
        if isinstance(error, Conflict):
            assert self.runtime is not None
            first = self.runtime.polling_conflict_at is None
            if first or now - self._polling_warned_at > 60:
                log.error(
                    "Telegram refuses getUpdates: another process polls with this bot token (%s), "
                    "so this one receives no updates. Stop the other one, or run every replica "
                    "with TELEGRAM_MODE=webhook.",
                    error.message,
                )
                self._polling_warned_at = now
            self.runtime.polling_conflict_at = now
            return
        log.warning("getUpdates failed (%s: %s); trying again", type(error).__name__, error)

    async def stop(self) -> None:
        """Stop whatever was started, in reverse order; safe after a failed start.

        Within STOP_GRACE_S in all: a step still waiting then (a handler whose reply Telegram
        does not answer, a job on a slow platform call) is cut off, and the next steps still run,
        each given STOP_STEP_MIN_S at least, so the process is gone before Docker's SIGKILL."""
        self._stop_deadline = asyncio.get_running_loop().time() + STOP_GRACE_S
        await self._stack.aclose()

    async def _stop_step(self, name: str, step: Callable[[], Awaitable[object]]) -> None:
        loop = asyncio.get_running_loop()
        application = self.application
        log.debug("stopping %s", name)
        try:
            await asyncio.wait_for(
                step(), timeout=max(self._stop_deadline - loop.time(), STOP_STEP_MIN_S)
            )
        except TimeoutError:
            log.warning(
                "stopping: %s did not finish within the stop grace of %g s; cut off",
                name,
                STOP_GRACE_S,
            )
            if application is not None and step == application.stop:
                # End the handlers still waiting (on Telegram, the platform) now, before
                # the Telegram client they use is shut down under them.
                processor = application.update_processor
                if isinstance(processor, OrderedUpdateProcessor):
                    processor.cancel_running()
                    await asyncio.sleep(0)
        except Exception:
            log.exception("error while stopping %s", name)


async def serve(settings: Settings, *, sandbox: bool = False) -> int:
    """`ccbot run`: until SIGINT/SIGTERM (0), or until a part it cannot run without fails (1)."""
    service = BotService(settings, sandbox=sandbox, split=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        assert service.failed is not None
        stopped = loop.create_task(stop.wait())
        either: list[asyncio.Future[Any]] = [stopped, service.failed]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    finally:
        log.info("stopping")
        await service.stop()
    if service.failed is not None and service.failed.done():
        log.error("ccbot stopped because %s", service.failed.result())
        return 1
    return 0


def startup_problem(exc: BaseException, settings: Settings) -> str | None:
    """One line for the start-up failures a user can fix; None for bugs (shown as tracebacks)."""
    from telegram.error import InvalidToken, NetworkError

    if isinstance(exc, AnotherPoller | WebhookRefused):
        return str(exc)
    if isinstance(exc, InvalidToken):
        return "Telegram refused TELEGRAM_BOT_TOKEN: copy the token again from @BotFather."
    if isinstance(exc, NetworkError):
        return (
            f"could not reach Telegram at {settings.telegram_api_url}: check the network and "
            f"TELEGRAM_API_URL, then start again."
        )
    if isinstance(exc, socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno in (98, 13, 99)  # in use, permission, bad address
    ):
        return (
            f"cannot listen on {settings.listen_host}:{settings.listen_port} ({exc.strerror}): "
            f"choose another LISTEN_PORT or LISTEN_HOST."
        )
    database = connect_problem(exc, settings.database_url)
    if database is not None:
        return f"cannot open the database: {database}."
    return None


def run_bot(settings: Settings, *, sandbox: bool = False) -> int:
    try:
        # uvloop (DESIGN.md): the listener serves the pushes from this same loop.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(serve(settings, sandbox=sandbox))
    except Exception as exc:
        problem = startup_problem(exc, settings)
        if problem is None:
            raise
        log.error("ccbot could not start: %s", problem)
        print(f"ccbot: {problem}", file=sys.stderr)
        return 1
