"""The webhook server (bot/telegram/webhook.py) against what strangers and broken proxies send.

The real Application (build_application) talks to the fake Bot API; the server listens on
127.0.0.1 and is spoken to in raw HTTP, so a test can lie about Content-Length, stream a
chunked body or stall mid-body. Every refusal must be a 4xx with at most one log line, never a
traceback, and never run a handler.
"""

from __future__ import annotations

import os

os.environ["PTB_TIMEDELTA"] = "1"  # before PTB is used: avoids a deprecation warning

import asyncio
import contextlib
import json
import logging
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram import Update
from telegram.ext import Application, ContextTypes

from bot import config as configuration
from bot.config import Config, ConfigError
from bot.search import Engine
from bot.telegram import webhook
from bot.telegram.app import build_application
from bot.telegram.webhook import SECRET_HEADER, WebhookError, WebhookServer
from tests.fakes.bot_api import DEFAULT_TOKEN, DEFAULT_USER_ID, FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-Token_x"
LIMIT = Config().webhook_max_body_bytes  # the default, 1 MiB
QUESTION = "who took homs?"
PROMPTLY = 3.0  # seconds: a refusal that waited for a body it was promised would time out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(
    body: bytes = b"",
    *,
    method: str = "POST",
    path: str = "/telegram",
    secret: str | None = SECRET,
    length: int | None = None,
    chunked: bool = False,
    last_chunk: bool = True,
) -> bytes:
    """One raw HTTP/1.1 request. `length` is the Content-Length to claim (default: the truth);
    `chunked` sends the body in 16 KiB chunks, `last_chunk=False` without the closing one."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        parts = [body[i : i + 16384] for i in range(0, len(body), 16384)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts)
        payload += b"0\r\n\r\n" if last_chunk else b""
    else:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + payload


async def exchange(port: int, data: bytes, timeout: float = PROMPTLY) -> tuple[int, dict[str, str]]:
    """Send raw bytes, keep the connection open (as a client still sending would) and return
    the response's status and headers, failing if none comes within `timeout`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        with contextlib.suppress(ConnectionError):  # the server may hang up on a long body
            writer.write(data)
            await writer.drain()
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


def update_body(update_id: int = 1, text: str = QUESTION, pad_to: int = 0) -> bytes:
    """A message update as Telegram sends it, padded with spaces to `pad_to` bytes."""
    body = json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": DEFAULT_USER_ID, "type": "private", "first_name": "Ann"},
                "from": {"id": DEFAULT_USER_ID, "is_bot": False, "first_name": "Ann"},
                "text": text,
            },
        }
    ).encode()
    return body + b" " * max(0, pad_to - len(body))


def nested_update(depth: int, update_id: int = 1) -> bytes:
    """A valid message update whose JSON nests `depth` levels deep (in an unknown field)."""
    data = json.loads(update_body(update_id))
    inner: list[Any] = []
    data["message"]["x"] = inner  # update, message, x: three levels
    for _ in range(depth - 3):
        inner.append([])
        inner = inner[0]
    return json.dumps(data).encode()


@dataclass
class Hook:
    """The bot served by WebhookServer, the fake behind it, and the log of this test."""

    fake: FakeBotApi
    app: Application
    server: WebhookServer
    port: int
    caplog: pytest.LogCaptureFixture
    errors: list[BaseException] = field(default_factory=list)

    async def collect(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.errors.append(context.error or RuntimeError("no error"))

    async def refused(self, data: bytes, status: int, why: str) -> dict[str, str]:
        """Send `data`, expect `status` promptly, one quiet log line and no handler run."""
        self.caplog.clear()
        got, headers = await exchange(self.port, data)
        assert got == status, f"{why}: {got}, not {status}"
        await asyncio.sleep(0.05)  # anything the request set off would have logged by now
        assert_quiet(self.caplog, why)
        return headers

    def replies(self) -> int:
        return len(self.fake.calls("sendMessage"))


def assert_quiet(caplog: pytest.LogCaptureFixture, why: str = "") -> None:
    """No traceback at any level, and at most one line at INFO and above."""
    for record in caplog.records:
        assert not record.exc_info and not record.exc_text, f"{why}: traceback {record}"
        assert "Traceback" not in record.getMessage() and "\n" not in record.getMessage(), why
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(loud) <= 1, f"{why}: {[r.getMessage() for r in loud]}"
    for record in loud:
        assert record.levelno <= logging.WARNING, f"{why}: {record.getMessage()}"
        assert SECRET not in record.getMessage(), why


def hook_config(fake: FakeBotApi, tmp_path: Path, port: int, **settings: Any) -> Config:
    return Config(
        token=fake.token,
        base_url=fake.base_url,
        log_db=tmp_path / "q.sqlite3",
        webhook_port=port,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        **settings,
    )


@pytest_asyncio.fixture
async def hook(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Hook]:
    caplog.set_level(logging.DEBUG)
    async with FakeBotApi() as fake:
        port = free_port()
        app = build_application(hook_config(fake, tmp_path, port), engine, rate_limiter=False)
        server = WebhookServer(app, hook_config(fake, tmp_path, port), SECRET)
        harness = Hook(fake, app, server, port, caplog)
        app.add_error_handler(harness.collect)
        task = asyncio.create_task(server.serve(signals=False))
        started = asyncio.create_task(server.started.wait())
        await asyncio.wait({task, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if task.done():
            task.result()  # start-up failed: show why
        assert server.started.is_set(), "the webhook server did not start within 30 s"
        try:
            yield harness
        finally:
            server.stop()
            await asyncio.wait_for(task, 30)
    assert harness.errors == []
    fake.assert_no_errors()


# ------------------------------------------------------------------------- accepted


async def test_a_valid_update_is_queued_and_answered(hook: Hook) -> None:
    assert hook.fake.webhook is not None
    assert hook.fake.webhook["url"] == f"http://127.0.0.1:{hook.port}/telegram"
    assert hook.fake.webhook["secret_token"] == SECRET
    assert hook.fake.webhook["allowed_updates"] == list(Update.ALL_TYPES)
    hook.caplog.clear()
    assert await hook.fake.post_update_to_webhook(hook.fake.push_message(QUESTION)) == 200
    [reply] = await hook.fake.wait_for_messages(1, DEFAULT_USER_ID)
    assert reply["text"]
    assert not [r for r in hook.caplog.records if r.levelno >= logging.WARNING]
    accepted = [
        # Raw too: with a trailing slash on the path, bodies exactly at the limit (declared or
        # chunked), and as deep as MAX_DEPTH allows (Telegram's own nest about 10 deep).
        http(update_body(2, pad_to=LIMIT), path="/telegram/"),
        http(update_body(3, pad_to=LIMIT), chunked=True),
        http(nested_update(webhook.MAX_DEPTH, update_id=4)),
    ]
    for count, data in enumerate(accepted, start=2):
        status, _ = await exchange(hook.port, data)
        assert status == 200
        await hook.fake.wait_for_messages(count, DEFAULT_USER_ID)


# ------------------------------------------------------------------------- refused


async def test_wrong_or_missing_secret_is_403_before_the_body_is_read(hook: Hook) -> None:
    # A huge Content-Length and a few bytes: waiting for the body would time out.
    for secret in ("wrong", None, "", SECRET[:-1], SECRET + "x", SECRET.upper(), "s3cret-Tökén"):
        await hook.refused(http(b"{}", secret=secret, length=10**9), 403, f"secret {secret!r}")
    # A whole, valid update with a wrong secret: refused, no handler ran.
    for secret in ("wrong", None):
        update = hook.fake.push_message(QUESTION)
        assert await hook.fake.post_update_to_webhook(update, secret_token=secret) == 403
    await asyncio.sleep(0.3)
    assert hook.replies() == 0 and not hook.fake.calls("sendChatAction")


NOT_UPDATES: list[tuple[str, bytes]] = [
    ("empty body", b""),
    ("not JSON", b"hello"),
    ("truncated JSON", b'{"update_id": 1, "message": {'),
    ("not UTF-8", b'{"update_id": 1, "x": "\xff\xfe"}'),
    ("an array", b"[1, 2]"),
    ("a number", b"42"),
    ("a string", b'"update"'),
    ("null", b"null"),
    ("true", b"true"),
    ("100000 nested lists", b"[" * 100_000 + b"]" * 100_000),
    ("nested lists in an update", b'{"update_id": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("a 10000-digit number", b'{"update_id": ' + b"9" * 10_000 + b"}"),
    ("no update_id", b'{"foo": 1}'),
    ("a string update_id", b'{"update_id": "x"}'),
    ("a boolean update_id", b'{"update_id": true}'),
    ("a float update_id", b'{"update_id": 1.5}'),
    ("a message that is a string", b'{"update_id": 1, "message": "hi"}'),
    ("a message without fields", b'{"update_id": 1, "message": {}}'),
    ("a message with a bad chat", b'{"update_id": 1, "message": {"message_id": 1, '
     b'"date": 0, "chat": 5}}'),
]


async def test_a_body_that_is_not_an_update_is_400_in_one_line(hook: Hook) -> None:
    for why, body in NOT_UPDATES:
        await hook.refused(http(body), 400, why)
        await hook.refused(http(body, chunked=True), 400, f"{why} (chunked)")
    # A reply chain too deep for PTB's repr (Telegram nests replies one level only).
    message: dict[str, Any] = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}
    for _ in range(400):
        message = {**message, "reply_to_message": message}
    deep = json.dumps({"update_id": 1, "message": message}).encode()
    assert len(deep) < LIMIT
    await hook.refused(http(deep), 400, "a reply chain nested 400 deep")
    await hook.refused(http(nested_update(webhook.MAX_DEPTH + 1)), 400, "one level too deep")
    await asyncio.sleep(0.2)
    assert hook.replies() == 0


async def test_a_body_over_the_limit_is_413_without_reading_it(hook: Hook) -> None:
    await hook.refused(http(b"{}", length=LIMIT + 1), 413, "Content-Length over the limit")
    await hook.refused(http(b"{}", length=10**12), 413, "Content-Length of a terabyte")
    await hook.refused(http(update_body(pad_to=LIMIT + 1)), 413, "a whole body over the limit")
    # Chunked, no length declared: stopped at the limit, without waiting for the last chunk.
    body = update_body(pad_to=LIMIT + 1)
    await hook.refused(http(body, chunked=True, last_chunk=False), 413, "chunked past the limit")
    await hook.refused(http(body * 10, chunked=True), 413, "chunked, ten times the limit")
    assert hook.replies() == 0


async def test_only_post_on_the_path_is_served(hook: Hook) -> None:
    for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"):
        headers = await hook.refused(http(method=method), 405, method)
        assert headers.get("allow") == "POST", method
    for path in ("/", "/other", "/telegramx", "/telegram/x", "/TELEGRAM", "/%74elegram"):
        await hook.refused(http(update_body(), path=path), 404, f"POST {path}")
    # Off the path even the wrong secret and a huge body are not read: 404 first.
    await hook.refused(http(b"{}", path="/x", secret=None, length=10**9), 404, "junk off path")
    assert hook.replies() == 0


async def test_100_continue_invites_only_a_body_that_will_be_read(hook: Hook) -> None:
    def expecting(body: bytes, secret: str | None) -> bytes:
        head, _, _ = http(body, secret=secret).partition(b"\r\n\r\n")
        return head + b"\r\nExpect: 100-continue\r\n\r\n"

    # A wrong secret or too long a body: the refusal at once, never "100 Continue".
    await hook.refused(expecting(b"{}", "wrong"), 403, "Expect with a wrong secret")
    await hook.refused(expecting(b"x" * (LIMIT + 1), SECRET), 413, "Expect, too long")
    # The right secret: 100, then the body, then 200.
    body = update_body()
    reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
    try:
        writer.write(expecting(body, SECRET))
        async with asyncio.timeout(PROMPTLY):
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 100 ")
            writer.write(body)
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200 ")
    finally:
        writer.close()
    await hook.fake.wait_for_messages(1, DEFAULT_USER_ID)


async def test_malformed_http_is_400_in_one_line(hook: Hook) -> None:
    garbage = [
        ("a TLS hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64),
        ("a bad Content-Length", b"POST /telegram HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
        ("two Content-Lengths", b"POST /telegram HTTP/1.1\r\nContent-Length: 2\r\n"
         b"Content-Length: 3\r\n\r\n{}"),
        ("a header line too long", b"POST /telegram HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"),
        ("no Host header", b"POST /telegram HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"),
        ("a bad chunk size", http(b"{}", chunked=True).replace(b"\r\n2\r\n", b"\r\nzz\r\n")),
    ]
    for why, data in garbage:
        await hook.refused(data, 400, why)
    assert hook.replies() == 0


async def test_a_stalled_body_is_408_and_counts_as_one_line(
    hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "READ_SECONDS", 0.3)
    await hook.refused(http(b"{", length=100), 408, "stalled body")
    # A broken chunk after a good one, in a later packet: aiohttp's parser stops feeding the
    # body (it does not fail it), so the handler sees a stalled body.
    hook.caplog.clear()
    reader, writer = await asyncio.open_connection("127.0.0.1", hook.port)
    try:
        writer.write(http(b"", chunked=True, last_chunk=False) + b"2\r\n{ \r\n")
        await asyncio.sleep(0.1)
        writer.write(b"zz\r\nxx\r\n0\r\n\r\n")
        async with asyncio.timeout(PROMPTLY):
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 408 ")
    finally:
        writer.close()
    await asyncio.sleep(0.1)
    assert_quiet(hook.caplog, "a bad chunk mid-body")
    # A client that hangs up mid-body: nobody to answer, one line all the same.
    hook.caplog.clear()
    _, writer = await asyncio.open_connection("127.0.0.1", hook.port)
    writer.write(http(b"{", length=100))
    await asyncio.sleep(0.1)
    writer.close()
    await asyncio.sleep(0.2)
    assert_quiet(hook.caplog, "hung up mid-body")
    assert [r.levelno for r in hook.caplog.records if r.name == "bot.telegram.webhook"] == [
        logging.WARNING
    ]


# ------------------------------------------------------------------------- lifecycle


async def test_stop_is_prompt_with_idle_and_stalled_connections(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhook, "SHUTDOWN_SECONDS", 0.5)
    async with FakeBotApi() as fake:
        port = free_port()
        cfg = hook_config(fake, tmp_path, port)
        app = build_application(cfg, engine, rate_limiter=False)
        server = WebhookServer(app, cfg, SECRET)
        task = asyncio.create_task(server.serve(signals=False))
        await asyncio.wait_for(server.started.wait(), 30)
        assert await fake.post_update_to_webhook(fake.push_message(QUESTION)) == 200
        await fake.wait_for_messages(1, DEFAULT_USER_ID)
        idle = await asyncio.open_connection("127.0.0.1", port)  # a keep-alive, idle
        stalled = await asyncio.open_connection("127.0.0.1", port)  # mid-body, forever
        stalled[1].write(http(b"{", length=100))
        await asyncio.sleep(0.1)
        began = time.monotonic()
        server.stop()  # what SIGTERM does
        await asyncio.wait_for(task, 10)
        assert time.monotonic() - began < 3.0
        assert not app.running and app.bot_data["state"].log is None  # post_shutdown ran
        for _, writer in (idle, stalled):
            writer.close()
        with pytest.raises(OSError):  # no longer listening
            await asyncio.open_connection("127.0.0.1", port)
    rows = sqlite3.connect(tmp_path / "q.sqlite3").execute("SELECT question FROM questions")
    assert [r[0] for r in rows] == [QUESTION]


async def test_a_port_in_use_is_a_one_line_webhook_error(
    engine: Engine, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = Config(token=DEFAULT_TOKEN, base_url="http://127.0.0.1:9/bot", webhook_port=port)
        server = WebhookServer(build_application(cfg, engine), cfg, SECRET)
        with pytest.raises(WebhookError, match=f"cannot listen on 127.0.0.1:{port}"):
            await server.start()
        await server.close()


async def run_bot(
    fake: FakeBotApi, seeds: Path, tmp_path: Path, port: int, token: str
) -> asyncio.subprocess.Process:
    """`python -m bot run --webhook` in a child process (it owns its loop and its signal
    handlers), with its index and question log in `tmp_path`."""
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[index]\nseeds = "{seeds}"\ndb = "{tmp_path / "index.sqlite3"}"\n'
        f'[telegram]\nbase_url = "{fake.base_url}"\n'
        f'[webhook]\nport = {port}\nurl = "http://127.0.0.1:{port}/telegram"\n'
        f"max_body_bytes = 4096\n"
        f'[log]\npath = "{tmp_path / "questions.sqlite3"}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--webhook", "--config", str(config),
        cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE,
    )


async def test_run_webhook_answers_and_exits_0_on_sigterm(
    real_seeds: Path, tmp_path: Path
) -> None:
    """bot/telegram/app.py's run on our server, stopped the way Docker stops it."""
    async with FakeBotApi() as fake:
        port = free_port()
        proc = await run_bot(fake, real_seeds, tmp_path, port, fake.token)
        secret = "never set"
        try:
            for _ in range(600):
                if fake.webhook is not None or proc.returncode is not None:
                    break
                await asyncio.sleep(0.1)
            assert fake.webhook is not None, "the bot never called setWebhook"
            secret = fake.webhook["secret_token"]  # a random one: none was configured
            assert secret and len(secret) >= 32
            # The server listens before setWebhook is called: updates can come at once.
            assert await fake.post_update_to_webhook(fake.push_message(QUESTION)) == 200
            await fake.wait_for_messages(1, DEFAULT_USER_ID, timeout=30)
            status, _ = await exchange(port, http(b"x" * 5000, secret=secret))
            assert status == 413
            status, _ = await exchange(port, http(b"[[[", secret=secret))
            assert status == 400
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        text = err.decode()
        assert proc.returncode == 0, text
        assert "Traceback" not in text and fake.token not in text and secret not in text
        assert text.count("WARNING") == 2, text  # one line per refused request
        fake.assert_no_errors()
    rows = sqlite3.connect(tmp_path / "questions.sqlite3").execute("SELECT question FROM questions")
    assert [r[0] for r in rows] == [QUESTION]


@pytest.mark.parametrize(
    ("strict_url", "token", "says"),
    [
        (False, "999999999:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Telegram refused the token"),
        (True, DEFAULT_TOKEN, "setWebhook failed for http://127.0.0.1:"),
    ],
    ids=["refused-token", "refused-url"],
)
async def test_run_webhook_start_up_failures_exit_2_in_one_line(
    real_seeds: Path, tmp_path: Path, strict_url: bool, token: str, says: str
) -> None:
    async with FakeBotApi(strict_webhook_url=strict_url) as fake:  # strict: HTTPS only
        proc = await run_bot(fake, real_seeds, tmp_path, free_port(), token)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [line for line in err.decode().splitlines() if " INFO " not in line]
    assert proc.returncode == 2 and len(lines) == 1, err.decode()
    assert lines[0].startswith("error: ") and says in lines[0], lines
    assert token not in err.decode() and "Traceback" not in err.decode()


# ------------------------------------------------------------------------- config


def test_max_body_bytes_is_configured_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Config().webhook_max_body_bytes == 1048576
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert "\n#max_body_bytes = 1048576\n" in example
    path = tmp_path / "bot.toml"
    path.write_text("[webhook]\nmax_body_bytes = 4096\n")
    assert configuration.load(path).webhook_max_body_bytes == 4096
    for bad, says in (("0", "positive"), ("-1", "positive"), ('"1MB"', "wrong type"),
                      ("1.5", "wrong type"), ("true", "wrong type")):
        path.write_text(f"[webhook]\nmax_body_bytes = {bad}\n")
        with pytest.raises(ConfigError, match=f"webhook.max_body_bytes.*{says}"):
            configuration.load(path)
