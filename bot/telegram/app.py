"""The PTB Application, wired in one place, and `run` for `python -m bot run`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import signal
import sqlite3
import sys
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken
from telegram.ext import Application, ApplicationBuilder

from bot.config import Config, ConfigError, check_token
from bot.loader import IndexUnusable, load_engine
from bot.questionlog import QuestionLog
from bot.telegram import handlers, ops
from bot.telegram.flood import FloodLimiter
from bot.telegram.inbox import Inbox
from bot.telegram.state import BotState
from bot.telegram.transport import AiohttpRequest
from bot.telegram.webhook import WebhookError, run_webhook

if TYPE_CHECKING:
    from bot.search import Engine

log = logging.getLogger(__name__)

# Updates handled at once, and HTTP connections to the Bot API. 16 connections carry about 160
# requests a second at Telegram's ~0.1 s round trip, well past its 30 messages a second; more
# updates than connections keep the engine busy while replies are on the wire.
CONCURRENT_UPDATES = 32
CONNECTION_POOL = 16
LOG_CLOSE_SECONDS = 30.0  # how long shutdown waits for the question log to commit its rows
ANSWER_ON_STOP_SECONDS = 10.0  # how long a stopping bot goes on answering what it was given


def file_url(base_url: str) -> str:
    """The file endpoint beside the API endpoint: https://host/bot -> https://host/file/bot."""
    if base_url.endswith("/bot"):
        return base_url.removesuffix("/bot") + "/file/bot"
    return base_url


class LogUnavailable(Exception):
    """The question log cannot be opened (its folder is a file, the disk is read-only...)."""


def _state(app: Application) -> BotState:
    return app.bot_data["state"]


async def _open_log(cfg: Config) -> QuestionLog:
    """Open the question log; opening creates the file and its schema, so it runs off the loop."""
    try:
        return await asyncio.to_thread(
            QuestionLog, cfg.log_db, cfg.store_questions, cfg.log_salt or None, cfg.log_keep_days
        )
    except (OSError, sqlite3.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise LogUnavailable(f"cannot open the question log {cfg.log_db}: {reason}") from exc


async def post_init(app: Application) -> None:
    """Open the question log, register the command menus (every command in private chats, /ask
    in groups, the admin commands in each admin's own chat only) and install SIGHUP -> reload."""
    state = _state(app)
    cfg = state.config
    if state.log is None:
        state.log = await _open_log(cfg)
        log.info("question log: %s", cfg.log_db)
    await app.bot.set_my_commands(
        handlers.bot_commands(handlers.COMMANDS), scope=BotCommandScopeDefault()
    )
    await app.bot.set_my_commands(
        handlers.bot_commands(handlers.GROUP_COMMANDS), scope=BotCommandScopeAllGroupChats()
    )
    admin_commands = handlers.bot_commands(handlers.COMMANDS + handlers.ADMIN_COMMANDS)
    for admin in cfg.admins:
        try:
            await app.bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(admin))
        except (BadRequest, Forbidden) as exc:  # an admin who never opened a chat with the bot
            log.warning("admin %s: commands menu not set (%s); /stats still works", admin, exc)
    _install_sighup(app)


async def post_stop(app: Application) -> None:
    """Answer what the people's queues still hold, for at most ANSWER_ON_STOP_SECONDS, then
    drop the rest (logged): a flood in hand must not keep a stopping bot alive."""
    await _state(app).inbox.aclose(ANSWER_ON_STOP_SECONDS)


async def post_shutdown(app: Application) -> None:
    """Remove the SIGHUP handler and close the question log, waiting until every row queued
    is committed: run_polling and run_webhook call this after the last update was handled."""
    _remove_sighup()
    state = _state(app)
    question_log, state.log = state.log, None
    if question_log is not None:
        await question_log.aclose(timeout=LOG_CLOSE_SECONDS)
        written, lost = question_log.written, question_log.dropped
        log.info("question log closed: %d rows written, %d lost", written, lost)


def _install_sighup(app: Application) -> None:
    """SIGHUP reloads the index like /reload, where the platform has the signal and the loop
    supports signal handlers (the main thread's loop on POSIX)."""
    if not hasattr(signal, "SIGHUP"):
        return
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, _on_sighup, app)
    except (NotImplementedError, RuntimeError, ValueError) as exc:
        log.info("SIGHUP reload not available here: %s", exc)


def _remove_sighup() -> None:
    if not hasattr(signal, "SIGHUP"):
        return
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


def _on_sighup(app: Application) -> None:
    log.info("SIGHUP: reloading the index")
    app.create_task(ops.reload_engine(_state(app)), name="sighup-reload")


class BotApplication(Application):
    """The Application, closing its HTTP sessions when start-up fails (a refused token, say):
    PTB shuts down only what initialised, and an aiohttp session left open is an error at exit.
    """

    def __init__(self, transports: tuple[AiohttpRequest, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transports = transports

    async def initialize(self) -> None:
        try:
            await super().initialize()
        except BaseException:
            for transport in self.transports:
                await transport.shutdown()
            raise


def build_application(
    cfg: Config, engine: Engine, *, rate_limiter: bool = True, seeds_hash: str | None = None
) -> Application:
    """The Application with every handler. `rate_limiter=False` is for tests and the load test,
    which flood on purpose or want a 429 to reach the bot's own handling. `seeds_hash` is the
    index the engine came from, so a reload knows when there is nothing new."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter in timedeltas, without a warning
    calls, polls = AiohttpRequest(CONNECTION_POOL), AiohttpRequest(1)
    builder = (
        ApplicationBuilder()
        .token(cfg.token)
        .base_url(cfg.base_url)
        .base_file_url(file_url(cfg.base_url))
        .concurrent_updates(CONCURRENT_UPDATES)
        .request(calls)
        .get_updates_request(polls)
        .application_class(BotApplication, {"transports": (calls, polls)})
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if rate_limiter:
        builder = builder.rate_limiter(FloodLimiter(cfg.requests_per_second, handlers.MAX_RETRIES))
    app = builder.build()
    inbox = Inbox(
        per_minute=cfg.questions_per_minute, notify=functools.partial(handlers.notify_flood, app)
    )
    app.bot_data["state"] = BotState(engine, config=cfg, seeds_hash=seeds_hash, inbox=inbox)
    handlers.register(app)
    return app


MIN_SECRET = 8  # shorter "secrets" are not scrubbed: they would mangle ordinary words


class TokenFilter(logging.Filter):
    """Replaces the bot token with "[token]" in every record (message, arguments, traceback),
    and drops PTB's traceback for a refused token, which `run` reports in one line instead.

    The token's secret half (after the colon) is scrubbed on its own too, so an encoded colon
    cannot let it through; other `secrets` (the webhook's, which PTB logs with setWebhook's
    parameters at DEBUG) become "[secret]".

    Why on the handlers: a filter on a logger sees only that logger's own records, while the
    handlers see every record that propagates to them, PTB's and httpx's included.
    """

    def __init__(self, token: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.token = token
        half = token.partition(":")[2]
        pairs = [(token, "[token]"), (half, "[token]")]
        pairs += [(secret, "[secret]") for secret in secrets]
        self._pairs = [(value, label) for value, label in pairs if len(value) >= MIN_SECRET]

    def _scrub(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        for secret, label in self._pairs:
            value = value.replace(secret, label)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            return False
        if not self._pairs:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep its parts, scrubbed one by one
            message = str(record.msg)
        record.msg, record.args = self._scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = self._scrub(record.exc_text)
        record.stack_info = self._scrub(record.stack_info)
        return True


def configure_logging(
    token: str, level: str = "INFO", secrets: tuple[str, ...] = ()
) -> TokenFilter:
    """Scrub the token from every record and, unless DEBUG was asked for, quiet the loggers
    that print each request URL (token included); returns the filter so a caller can remove it.

    At DEBUG httpx and httpcore (PTB's default transport, still used when a Bot is made without
    ours) speak too: that is what DEBUG is for, and the filter scrubs them.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    token_filter = TokenFilter(token, secrets)
    for handler in root.handlers:
        handler.addFilter(token_filter)
    return token_filter


def run(cfg: Config, webhook: bool = False) -> int:
    """Run the bot until stopped (SIGINT, SIGTERM: exit code 0 once the log is closed).

    Exit code 2, with one line on stderr and never the token, for a missing, malformed or
    refused token, a webhook set-up without a URL, a webhook port in use or a URL Telegram
    refuses, an index that can be neither read nor rebuilt, or a question log that cannot be
    opened. Broken seeds end the same way in main.
    """
    from bot.search import warm_up

    try:
        token = check_token(cfg.token)
        use_webhook = webhook or cfg.mode == "webhook"
        if use_webhook and not cfg.webhook_url:
            raise ConfigError(
                "webhook mode needs webhook.url (or BOT_WEBHOOK_URL): the public HTTPS URL"
            )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Without a configured secret, a fresh random one per start still keeps out anyone but
    # Telegram: setWebhook hands it over each time the bot starts.
    secret = cfg.webhook_secret or secrets.token_urlsafe(32)
    configure_logging(token, cfg.log_level, secrets=(secret,) if use_webhook else ())
    try:
        loaded = load_engine(cfg)
    except IndexUnusable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if loaded.warning:
        log.warning("%s", loaded.warning)
    warm_up()  # the spelling dictionary, so the first misspelt question is not the slow one
    app = build_application(cfg, loaded.engine, seeds_hash=loaded.seeds_hash)
    try:
        if use_webhook:
            log.info("webhook on %s:%s/%s", cfg.webhook_listen, cfg.webhook_port, cfg.webhook_path)
            run_webhook(app, cfg, secret)  # our own server: see bot/telegram/webhook.py
        else:
            log.info("polling for updates")
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        print("error: Telegram refused the token (revoked, or from another bot?)", file=sys.stderr)
        return 2
    except (LogUnavailable, WebhookError) as exc:  # raised by post_init, the server
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
