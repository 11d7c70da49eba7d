"""bot.telegram.transport.AiohttpRequest: PTB's calls over aiohttp, errors mapped as PTB maps
httpx's (so polling backs off and recovers the same), and never the token in an error."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut

from bot.config import Config
from bot.search import Engine
from bot.telegram.app import build_application, post_init, post_shutdown, post_stop
from bot.telegram.transport import AiohttpRequest, tls_context
from tests.fakes.bot_api import DEFAULT_TOKEN, FakeBotApi

CHAT = 1001
SECRET_HALF = DEFAULT_TOKEN.partition(":")[2]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def ours(fake: FakeBotApi, **timeouts: float) -> Bot:
    return Bot(fake.token, base_url=fake.base_url, request=AiohttpRequest(4, **timeouts))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


async def test_a_message_with_html_and_buttons_arrives_whole(fake: FakeBotApi) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="m:1")]])
    async with ours(fake) as bot:
        sent = await bot.send_message(
            CHAT, "<b>Homs</b> &amp; «Damascus»", parse_mode="HTML", reply_markup=keyboard
        )
    assert sent.text == "Homs & «Damascus»"
    [call] = fake.calls("sendMessage")
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "m:1"
    fake.assert_no_errors()


async def test_a_file_goes_out_as_multipart(fake: FakeBotApi) -> None:
    async with ours(fake) as bot:
        sent = await bot.send_document(
            CHAT, InputFile(b"report", filename="r.csv"), caption="<i>weekly</i>",
            parse_mode="HTML",
        )
    assert sent.caption == "weekly"
    [call] = fake.calls("sendDocument")
    upload = call.files["document"]
    assert (upload.filename, upload.data) == ("r.csv", b"report")
    fake.assert_no_errors()


async def test_a_refused_connection_is_a_network_error_without_the_token() -> None:
    bot = Bot(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/bot",
              request=AiohttpRequest(1))
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.get_me()
    finally:
        await bot.request.shutdown()
    assert not isinstance(caught.value, TimedOut)
    assert SECRET_HALF not in str(caught.value)


async def test_a_dropped_connection_is_a_network_error(fake: FakeBotApi) -> None:
    async with ours(fake) as bot:
        fake.fail_next("sendMessage", drop=True)
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(CHAT, "hello")
        assert SECRET_HALF not in str(caught.value)
        assert (await bot.send_message(CHAT, "again")).text == "again"  # and it recovers


async def test_a_slow_answer_times_out(fake: FakeBotApi) -> None:
    async with ours(fake, read_timeout=0.3) as bot:
        fake.fail_next("sendMessage", delay=2.0)
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "hello")
        # A call's own timeout beats the default, as with PTB's transport.
        fake.fail_next("sendMessage", delay=0.5)
        assert (await bot.send_message(CHAT, "patient", read_timeout=3)).text == "patient"


async def test_a_refused_token_leaves_no_session_open(engine: Engine, tmp_path: Path) -> None:
    async with FakeBotApi() as fake:
        cfg = Config(token="123:refused", base_url=fake.base_url, log_db=tmp_path / "q.db")
        app = build_application(cfg, engine)
        with pytest.raises(InvalidToken):
            await app.initialize()
    assert app.transports and all(t._session is None or t._session.closed
                                  for t in app.transports)


async def test_calls_before_initialize_say_so() -> None:
    with pytest.raises(RuntimeError, match="not initialized"):
        await AiohttpRequest().do_request("http://127.0.0.1:9/bot1:a/getMe", "POST")


async def test_the_proxy_in_the_environment_is_used(
    fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    bot = ours(fake)
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError):  # it went to the (dead) proxy, not to the fake
            await bot.get_me()
    finally:
        await bot.request.shutdown()
    assert not fake.calls("getMe")


def test_certificates_are_checked_against_certifis_roots() -> None:
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 100  # certifi's bundle, not an empty store


async def test_no_proxy_in_the_environment_is_honoured(
    fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    async with ours(fake) as bot:
        assert (await bot.get_me()).username


# ------------------------------------------------------------------ HTML error pages


def _logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Every record at WARNING or above, from any logger (PTB's own included)."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_html_502_is_a_short_network_error_and_nothing_logged(
    fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="telegram")
    async with ours(fake) as bot:
        fake.fail_next("sendMessage", 502, html=True)
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(CHAT, "hello")
        assert (await bot.send_message(CHAT, "again")).text == "again"
    message = str(caught.value)
    assert message.startswith("Bad Gateway (502)") and "non-JSON" in message
    assert "<html" not in message and "\n" not in message and len(message) < 120
    assert not isinstance(caught.value, TimedOut)
    assert _logged(caplog) == []  # PTB logged no "Can not load invalid JSON data" traceback


async def test_a_json_5xx_is_still_telegrams_own_error(fake: FakeBotApi) -> None:
    async with ours(fake) as bot:
        fake.fail_next("sendMessage", 502, description="Bad Gateway: upstream restarting")
        with pytest.raises(NetworkError, match="upstream restarting"):
            await bot.send_message(CHAT, "hello")


async def test_html_where_json_belongs_in_a_success_stays_loud(
    fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Not an outage but a broken server or proxy: PTB's ERROR with traceback is kept."""
    async with ours(fake) as bot:
        fake.fail_next("getMe", 200, html=True)
        with pytest.raises(TelegramError, match="Invalid server response"):
            await bot.get_me()
    assert any(r.levelno == logging.ERROR and r.exc_info for r in _logged(caplog))


async def test_the_bot_logs_an_html_502_in_one_line_and_answers_after(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real Application, polling as `run_polling` polls: a poll and a reply each meet
    Telegram's HTML 502; each is one log line, with no traceback, and the next question is
    answered."""
    caplog.set_level(logging.INFO)
    async with FakeBotApi() as fake:
        cfg = Config(token=fake.token, base_url=fake.base_url, log_db=tmp_path / "q.sqlite3")
        app = build_application(cfg, engine, rate_limiter=False)
        async with app:
            await post_init(app)
            try:
                fake.fail_next("getUpdates", 502, html=True)
                await app.updater.start_polling(
                    timeout=1, poll_interval=0, allowed_updates=Update.ALL_TYPES,
                    # as run_polling does: a failed poll goes to the bot's error handler
                    error_callback=lambda exc: app.create_task(app.process_error(None, exc)),
                )
                await app.start()
                await fake.wait_for("getUpdates", predicate=lambda c: c.status == 502)
                fake.fail_next("sendMessage", 502, html=True)
                fake.push_message("who took homs?")
                await fake.wait_for("sendMessage", predicate=lambda c: c.status == 502)
                await fake.wait_for("sendMessage", predicate=lambda c: c.ok)  # the apology
                fake.push_message("who took homs?")
                [*_, reply] = await fake.wait_for("sendMessage", 2, predicate=lambda c: c.ok)
                assert "Hayat Tahrir al-Sham" in reply.params["text"]
                await app.updater.stop()
                await app.stop()
                await post_stop(app)
            finally:
                await post_shutdown(app)
        fake.assert_no_errors()
    records = _logged(caplog)
    assert len(records) == 2, [r.getMessage() for r in records]  # the poll, the reply
    for record in records:
        assert record.exc_info is None and record.levelno == logging.WARNING
        line = record.getMessage()
        assert "NetworkError" in line and "Bad Gateway (502)" in line
        assert "\n" not in line and "<html" not in line
    assert "Traceback" not in caplog.text
