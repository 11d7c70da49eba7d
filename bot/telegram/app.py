"""The PTB Application, wired in one place, and `run` for `python -m bot run`."""

from __future__ import annotations

import logging
import secrets
import sys
from typing import TYPE_CHECKING, Any

from telegram import BotCommandScopeAllGroupChats, BotCommandScopeDefault, Update
from telegram.error import InvalidToken
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.config import Config, ConfigError, check_token
from bot.telegram import handlers
from bot.telegram.state import BotState

if TYPE_CHECKING:
    from bot.search import Engine

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # AIORateLimiter waits out a 429 this many times before giving up


def file_url(base_url: str) -> str:
    """The file endpoint beside the API endpoint: https://host/bot -> https://host/file/bot."""
    if base_url.endswith("/bot"):
        return base_url.removesuffix("/bot") + "/file/bot"
    return base_url


async def post_init(app: Application) -> None:
    """Register the command menus: every command in private chats, /ask in groups."""
    await app.bot.set_my_commands(
        handlers.bot_commands(handlers.COMMANDS), scope=BotCommandScopeDefault()
    )
    await app.bot.set_my_commands(
        handlers.bot_commands(handlers.GROUP_COMMANDS), scope=BotCommandScopeAllGroupChats()
    )


def build_application(cfg: Config, engine: Engine, *, rate_limiter: bool = True) -> Application:
    """The Application with every handler. `rate_limiter=False` is for tests that flood a chat
    on purpose or want a 429 to surface at once."""
    builder = (
        ApplicationBuilder()
        .token(cfg.token)
        .base_url(cfg.base_url)
        .base_file_url(file_url(cfg.base_url))
        .concurrent_updates(True)
        .post_init(post_init)
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=MAX_RETRIES))
    app = builder.build()
    app.bot_data["state"] = BotState(engine)
    handlers.register(app)
    return app


class TokenFilter(logging.Filter):
    """Replaces the bot token with "[token]" in every record (message, arguments, traceback),
    and drops PTB's traceback for a refused token, which `run` reports in one line instead.

    Why on the handlers: a filter on a logger sees only that logger's own records, while the
    handlers see every record that propagates to them, PTB's and httpx's included.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def _scrub(self, value: Any) -> Any:
        return value.replace(self.token, "[token]") if isinstance(value, str) else value

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InvalidToken):
            return False
        if not self.token:
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


def configure_logging(token: str, level: str = "INFO") -> TokenFilter:
    """Quiet the loggers that print request URLs (token included) and scrub the token
    everywhere else; returns the filter so a caller can remove it."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    token_filter = TokenFilter(token)
    for handler in root.handlers:
        handler.addFilter(token_filter)
    return token_filter


def _load_engine(cfg: Config) -> Engine:
    from bot import index
    from bot.search import Engine, warm_up

    status = index.ensure(cfg.seeds, cfg.db)
    if status.warning:
        log.warning("%s", status.warning)
    engine = Engine(cfg.db, cfg.matching)
    warm_up()  # the spelling dictionary, so the first misspelt question is not the slow one
    return engine


def run(cfg: Config, webhook: bool = False) -> int:
    """Run the bot until stopped. Exit code 2 for a missing, malformed or refused token or a
    webhook set-up without a URL; the message is one line on stderr, never the token."""
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
    configure_logging(token, cfg.log_level)
    engine = _load_engine(cfg)
    app = build_application(cfg, engine)
    try:
        if use_webhook:
            # Without a configured secret, a fresh random one per start still keeps out anyone
            # but Telegram: setWebhook hands it over each time the bot starts.
            secret = cfg.webhook_secret or secrets.token_urlsafe(32)
            log.info("webhook on %s:%s/%s", cfg.webhook_listen, cfg.webhook_port, cfg.webhook_path)
            app.run_webhook(
                listen=cfg.webhook_listen,
                port=cfg.webhook_port,
                url_path=cfg.webhook_path,
                webhook_url=cfg.webhook_url,
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            log.info("polling for updates")
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        print("error: Telegram refused the token (revoked, or from another bot?)", file=sys.stderr)
        return 2
    return 0
