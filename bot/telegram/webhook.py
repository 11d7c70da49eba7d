"""The webhook's HTTP server (aiohttp), in place of PTB's built-in tornado one.

Why our own: PTB's server reads a whole body before checking the secret, answers 500 with a
CRITICAL traceback for a body that is not JSON (or nested too deep), and takes any size. Here
every request a stranger or a broken proxy can send gets its 4xx and at most one WARNING line:

- 404 off the configured path, 405 (``Allow: POST``) for other methods on it;
- 403 without the right secret header, decided before a byte of the body is read;
- 413 past ``webhook.max_body_bytes`` (by Content-Length up front, else while reading);
- 408 for a body that does not arrive within READ_SECONDS;
- 400 for a body that is not a JSON object or not an Update.

A valid update gets 200 once it is on the Application's update queue, as in PTB's handler.
`WebhookServer.serve` runs the Application around the server the way `run_webhook` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import signal
import sys
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_urldispatcher import _default_expect_handler
from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ExtBot

from bot.config import Config

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
READ_SECONDS = 10.0  # a body slower than this is a stalled client, not Telegram
SHUTDOWN_SECONDS = 5.0  # how long stopping waits for requests in flight
# After a refusal, what the client still sends is discarded (never buffered) for this long
# before the connection closes, so it reads its 4xx rather than a connection reset.
LINGER_SECONDS = 2.0
# Telegram's updates nest about 10 deep (a reply's keyboard's button's field); far deeper JSON
# parses but breaks PTB later: a 400-deep reply chain is a RecursionError in its repr, which
# at DEBUG kills the Application's update fetcher.
MAX_DEPTH = 32
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class WebhookError(Exception):
    """The webhook cannot start (port taken, URL refused by Telegram): told in one line."""


class _TooLarge(Exception):
    pass


def _one_line(exc: BaseException) -> str:
    """An exception as one short line: aiohttp's parse errors span several, and quote the
    offending bytes (which could be a header's value): those are cut off."""
    text = str(exc.message if isinstance(exc, HttpProcessingError) else exc)
    text = re.split(r":\s*b['\"]", text, maxsplit=1)[0]
    return f"{type(exc).__name__}: {' '.join(text.split())[:200]}"


def _deeper_than(data: object, limit: int) -> bool:
    """Whether JSON data nests more than `limit` objects and arrays deep (without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


class _ServerLog(logging.LoggerAdapter):
    """aiohttp's server logger, minus the traceback for what a client causes (malformed HTTP,
    which aiohttp answers with 400 itself; a dropped connection): one WARNING line instead.
    Any other exception is a bug here and keeps its traceback."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if exc is True:
            exc = sys.exc_info()[1]
        if isinstance(exc, HttpProcessingError | ConnectionError):
            kwargs["exc_info"] = None
            level, msg, args = min(level, logging.WARNING), f"{msg}: %s", (*args, _one_line(exc))
        self.logger.log(level, msg, *args, **kwargs)


class _AccessLog(AbstractAccessLogger):
    """One DEBUG line a request, with the path but never the query string (refusals already
    have their WARNING line from the handler)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.rel_url.raw_path[:100]
        self.logger.debug("%s %s: %d in %.3f s", request.method, path, response.status, time)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.DEBUG)


class WebhookServer:
    """Serves one Application's webhook on cfg.webhook_listen:webhook_port/webhook_path."""

    def __init__(self, app: Application, cfg: Config, secret: str) -> None:
        if not secret:
            raise ValueError("a webhook without a secret would take updates from anyone")
        self.app, self.cfg = app, cfg
        self.limit = cfg.webhook_max_body_bytes
        self._secret = secret.encode()
        path = "/" + cfg.webhook_path.strip("/")
        self._paths = {path, path.rstrip("/") + "/"}  # with or without the slash, as PTB
        self._runner: web.AppRunner | None = None
        self._stop = asyncio.Event()
        self.started = asyncio.Event()  # set once updates are being served (for tests)

    # -- requests -------------------------------------------------------------------------

    def _refuse(self, request: web.BaseRequest, status: int, why: str) -> web.Response:
        """The refusal, logged in one line; the connection closes after it (LINGER_SECONDS)."""
        log.warning(
            "webhook: %d for %s %s from %s: %s",
            status, request.method, request.rel_url.raw_path[:100], request.remote, why,
        )
        response = web.Response(status=status, headers={"Allow": "POST"} if status == 405 else None)
        response.force_close()
        return response

    def _check_head(self, request: web.BaseRequest) -> tuple[int, str] | None:
        """The refusal (status, why) a request earns by its line and headers alone."""
        if request.rel_url.raw_path not in self._paths:
            return 404, "not the webhook path"
        if request.method != "POST":
            return 405, "only POST is served"
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return 403, "wrong or missing secret token"
        declared = request.content_length
        if declared is not None and declared > self.limit:
            return 413, f"{declared} bytes declared, limit {self.limit}"
        return None

    async def _expect(self, request: web.Request) -> None:
        """`Expect: 100-continue` invites the body only from a request that will be served;
        the others get their refusal from `_handle` without it."""
        if self._check_head(request) is None:
            await _default_expect_handler(request)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        refusal = self._check_head(request)
        if refusal is not None:
            status, why = refusal
            return self._refuse(request, status, why)
        try:
            async with asyncio.timeout(READ_SECONDS):
                body = await self._read(request)
        except _TooLarge:
            return self._refuse(request, 413, f"body over the limit of {self.limit} bytes")
        except TimeoutError:
            return self._refuse(request, 408, f"body not received within {READ_SECONDS:g} s")
        except (web.RequestPayloadError, HttpProcessingError, ConnectionError) as exc:
            return self._refuse(request, 400, f"body unreadable ({_one_line(exc)})")
        update = self._parse(body)
        if isinstance(update, str):
            return self._refuse(request, 400, update)
        if isinstance(self.app.bot, ExtBot):  # arbitrary callback data, as PTB's handler does
            self.app.bot.insert_callback_data(update)
        await self.app.update_queue.put(update)
        return web.Response()

    async def _read(self, request: web.Request) -> bytes:
        """The body, stopping as soon as it passes the limit (a chunked body declares none)."""
        chunks, size = [], 0
        while chunk := await request.content.readany():
            size += len(chunk)
            if size > self.limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _parse(self, body: bytes) -> Update | str:
        """The Update, or why the body is not one."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            return f"body is not JSON ({type(exc).__name__})"
        if not isinstance(data, dict):
            return f"body is JSON but not an object ({type(data).__name__})"
        if _deeper_than(data, MAX_DEPTH):
            return f"body is nested deeper than {MAX_DEPTH} levels"
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return "body is not an Update (no integer update_id)"
        try:
            return Update.de_json(data, self.app.bot)
        except Exception as exc:  # PTB's classes on arbitrary JSON fail in arbitrary ways
            return f"body is not an Update ({type(exc).__name__})"

    # -- the server -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen. A body limit on aiohttp's own reads too, and no decompression (a gzip bomb
        is just bytes that are not JSON)."""
        web_app = web.Application(client_max_size=self.limit)
        web_app.router.add_route("*", "/{tail:.*}", self._handle, expect_handler=self._expect)
        runner = web.AppRunner(
            web_app,
            logger=_ServerLog(logging.getLogger("aiohttp.server"), {}),
            access_log=logging.getLogger(f"{__name__}.access"),
            access_log_class=_AccessLog,
            auto_decompress=False,
            lingering_time=LINGER_SECONDS,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.cfg.webhook_listen, self.cfg.webhook_port)
        try:
            await site.start()
        except OSError as exc:
            where = f"{self.cfg.webhook_listen}:{self.cfg.webhook_port}"
            raise WebhookError(f"cannot listen on {where}: {exc.strerror or exc}") from exc

    async def close(self) -> None:
        """Stop listening, let requests in flight finish, close the connections."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def stop(self) -> None:
        """Ask `serve` to stop (what SIGINT and SIGTERM do)."""
        self._stop.set()

    async def _set_webhook(self) -> None:
        try:
            await self.app.bot.set_webhook(
                url=self.cfg.webhook_url,
                secret_token=self._secret.decode(),
                allowed_updates=Update.ALL_TYPES,
            )
        except InvalidToken:
            raise
        except TelegramError as exc:
            reason = str(exc).replace(self.app.bot.token, "[token]")
            raise WebhookError(f"setWebhook failed for {self.cfg.webhook_url}: {reason}") from exc

    async def serve(self, *, signals: bool = True) -> None:
        """Run the Application on this server until `stop` (SIGINT, SIGTERM), in the order of
        PTB's run_webhook: initialize, post_init, listen, setWebhook, start; then stop the
        server first (no new updates), app.stop, post_stop, shutdown, post_shutdown."""
        app = self.app
        if signals:
            self._add_signal_handlers()
        try:
            await app.initialize()
            if app.post_init:
                await app.post_init(app)
            if not self._stop.is_set():
                await self.start()
                await self._set_webhook()
                await app.start()
                self.started.set()
                cfg = self.cfg
                log.info(
                    "webhook server started on %s:%s/%s",
                    cfg.webhook_listen, cfg.webhook_port, cfg.webhook_path,
                )
                await self._stop.wait()
        finally:
            try:
                await self.close()
                if app.running:
                    await app.stop()
                    if app.post_stop:
                        await app.post_stop(app)
                await app.shutdown()
                if app.post_shutdown:
                    await app.post_shutdown(app)
            finally:
                if signals:
                    self._remove_signal_handlers()

    def _add_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for sig in STOP_SIGNALS:
                loop.add_signal_handler(sig, self.stop)
        except (NotImplementedError, RuntimeError, ValueError) as exc:  # Windows, a thread
            log.info("stop signals not handled here (%s); Ctrl-C still stops", exc)

    @staticmethod
    def _remove_signal_handlers() -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def run_webhook(app: Application, cfg: Config, secret: str) -> None:
    """`Application.run_webhook` on our server: blocks until SIGINT or SIGTERM. Raises what
    start-up raises (InvalidToken, WebhookError, post_init's errors) after cleaning up."""
    with contextlib.suppress(KeyboardInterrupt):  # where signal handlers are not available
        asyncio.run(WebhookServer(app, cfg, secret).serve())
