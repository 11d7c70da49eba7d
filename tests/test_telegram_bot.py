"""End-to-end tests: the real PTB Application, built by bot.telegram.app, against the fake Bot API.

The engine is built from the real seeds once per session. Each test starts the bot the way
`run_polling` would (initialize, post_init, polling, start) but inside the test's own event loop,
and at the end checks that the fake rejected nothing, that every callback and inline query was
answered, and that no handler raised.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["PTB_TIMEDELTA"] = "1"  # before PTB is used: avoids a deprecation warning
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import contextlib
import logging
import re
import shutil
import signal
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from telegram import Update
from telegram.error import Forbidden
from telegram.ext import Application, ContextTypes

from bot import config as configuration
from bot import index
from bot.__main__ import main
from bot.config import Config
from bot.loader import Loaded, load_engine
from bot.render import NOT_FOUND, render_answer, render_faq_page, visible_text
from bot.report import short_stats
from bot.search import Engine, Settings, warm_up
from bot.telegram import app as app_module
from bot.telegram import handlers
from bot.telegram.app import (
    build_application,
    configure_logging,
    file_url,
    post_init,
    post_shutdown,
    post_stop,
)
from bot.telegram.state import BotState
from bot.telegram.webhook import WebhookServer
from tests.fakes.bot_api import (
    DEFAULT_GROUP_ID,
    DEFAULT_SUPERGROUP_ID,
    DEFAULT_TOKEN,
    DEFAULT_USER_ID,
    Call,
    FakeBotApi,
)

ROOT = Path(__file__).resolve().parents[1]
CHAT = DEFAULT_USER_ID
GROUP = DEFAULT_GROUP_ID
BOT = "docs_test_bot"
ANSWERED = "Where is Bashar al-Assad?"  # a FAQ-led answer with more than one page
# The engine keeps improving, so the questions it cannot answer are picked from candidates.
NOT_ANSWERED_CANDIDATES = (
    "What is the population of Damascus?",
    "How old is Assad?",
    "Is there snow in Homs?",
    "What did Trump eat for breakfast?",
    "Who is the president of France?",
)
NO_MATCH_CANDIDATES = ("xyzzy plugh", "qwertyuiop asdfghjkl", "zzzz")

logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of seeds/, which may be edited while the tests run."""
    return Path(shutil.copytree(ROOT / "seeds", tmp_path_factory.mktemp("bot-seeds") / "seeds"))


@pytest.fixture(scope="session")
def engine(seeds: Path, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The engine on the real seeds, as `run` builds it (index.ensure, then warm_up)."""
    db = tmp_path_factory.mktemp("index") / "index.sqlite3"
    status = index.ensure(seeds, db)
    assert not status.warning
    warm_up()
    built = Engine(db, Settings())
    # The questions these tests rely on, checked here so an engine change fails loudly once.
    assert built.ask(ANSWERED).answered and built.ask(ANSWERED).faq is not None
    assert len(built.ask(ANSWERED).excerpts + built.ask(ANSWERED).more) > 3
    return built


@pytest.fixture(scope="session")
def not_answered(engine: Engine) -> str:
    """A question the article does not answer, for which the engine suggests FAQ entries."""
    for question in NOT_ANSWERED_CANDIDATES:
        answer = engine.ask(question)
        if not answer.answered and answer.suggestions:
            return question
    raise AssertionError("the engine answers every out-of-scope candidate question")


@pytest.fixture(scope="session")
def no_match(engine: Engine) -> str:
    question = next((q for q in NO_MATCH_CANDIDATES if not engine.ask(q).answered), None)
    assert question is not None, "the engine answers every nonsense candidate"
    return question


def bold(message: dict[str, Any]) -> list[str]:
    """Texts of a sent message's bold entities (offsets are UTF-16 as in Telegram)."""
    units = message["text"].encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.get("entities", [])
        if e["type"] == "bold"
    ]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


def read_rows(path: Path, table: str = "questions") -> list[dict[str, Any]]:
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
    finally:
        conn.close()


async def wait_replies(fake: FakeBotApi, count: int, timeout: float = 30) -> list[Call]:
    """The successful sendMessage calls once there are `count`; cheaper than the fake's
    wait_for_messages (which copies every sent message each time a request arrives) when a
    test sends hundreds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        replies = [c for c in fake.calls("sendMessage") if c.ok]
        if len(replies) >= count or loop.time() > deadline:
            assert len(replies) >= count, f"{len(replies)} of {count} replies in {timeout}s"
            return replies
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Harness:
    """The running bot and the fake it talks to, with the steps a user takes."""

    fake: FakeBotApi
    app: Application
    engine: Engine
    errors: list[BaseException] = field(default_factory=list)

    async def collect(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.errors.append(context.error or RuntimeError("no error"))

    async def say(
        self, text: str, chat_id: int = CHAT, timeout: float = 5.0, **kw: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send a message; returns (what the user sent, the bot's reply)."""
        before = len(self.fake.sent_messages(chat_id))
        chat_type = kw.pop("chat_type", "private" if chat_id > 0 else "group")
        pushed = self.fake.push_message(text, chat_id=chat_id, chat_type=chat_type, **kw)
        sent = await self.fake.wait_for_messages(before + 1, chat_id, timeout=timeout)
        return pushed["message"], sent[before]

    async def press(
        self, data: str, message: dict[str, Any], expect_message: bool = True, **kw: Any
    ) -> tuple[Call, dict[str, Any] | None]:
        """Press a button; returns the answerCallbackQuery call and the new message, if any."""
        chat_id = message["chat"]["id"]
        before = len(self.fake.sent_messages(chat_id))
        update = self.fake.push_callback_query(data, message=message, **kw)
        qid = update["callback_query"]["id"]
        [answer] = await self.fake.wait_for(
            "answerCallbackQuery", predicate=lambda c: c.ok and c.params["callback_query_id"] == qid
        )
        if not expect_message:
            return answer, None
        sent = await self.fake.wait_for_messages(before + 1, chat_id)
        return answer, sent[before]

    async def inline(self, query: str, offset: str = "") -> dict[str, Any]:
        """Type `@bot query`; returns the answerInlineQuery parameters."""
        qid = self.fake.push_inline_query(query, offset=offset)["inline_query"]["id"]
        [call] = await self.fake.wait_for(
            "answerInlineQuery", predicate=lambda c: c.ok and c.params["inline_query_id"] == qid
        )
        return call.params

    async def assert_silent(self, push: Callable[[], dict[str, Any]]) -> None:
        """Push an update and check the bot sent nothing for it once it was fetched."""
        before = len(self.fake.calls("sendMessage"))
        update_id = push()["update_id"]
        for _ in range(100):
            if all(u["update_id"] != update_id for u in self.fake.pending_updates):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert len(self.fake.calls("sendMessage")) == before

    async def wait_errors(self, count: int = 1) -> list[BaseException]:
        """The errors handlers raised, once `count` reached the error handlers."""
        for _ in range(250):
            if len(self.errors) >= count:
                break
            await asyncio.sleep(0.02)
        errors, self.errors = list(self.errors), []
        return errors

    @property
    def state(self) -> BotState:
        return self.app.bot_data["state"]

    def log_rows(self, table: str = "questions") -> list[dict[str, Any]]:
        """The question log's rows, once everything recorded so far is committed."""
        if self.state.log is not None:
            assert self.state.log.flush(timeout=10)
        return read_rows(self.state.config.log_db, table)

    def user_hash(self, user_id: int) -> str | None:
        assert self.state.log is not None
        return self.state.log.hash_user(user_id)

    def check(self) -> None:
        assert self.errors == [], self.errors
        self.fake.assert_no_errors()
        assert self.fake.unanswered_callback_queries() == []
        assert self.fake.unanswered_inline_queries() == []


@contextlib.asynccontextmanager
async def running(
    fake: FakeBotApi,
    engine: Engine,
    log_db: Path,
    *,
    rate_limiter: bool = True,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """The bot polling the fake, as `run_polling` would run it (post_init, polling, start; then
    stop and post_shutdown, which closes the question log) but in the test's own loop.
    `settings` are Config fields (admins, seeds, db...)."""
    cfg = Config(token=fake.token, base_url=fake.base_url, log_db=log_db, **settings)
    app = build_application(cfg, engine, rate_limiter=rate_limiter)
    harness = Harness(fake, app, engine)
    app.add_error_handler(harness.collect)
    async with app:
        await post_init(app)  # run_polling would call it; here the parts start by hand
        try:
            await app.updater.start_polling(
                timeout=1, poll_interval=0, allowed_updates=Update.ALL_TYPES
            )
            await app.start()
            try:
                yield harness
            finally:
                await app.updater.stop()
                await app.stop()
                await post_stop(app)
        finally:
            await post_shutdown(app)


@pytest_asyncio.fixture
async def bot(engine: Engine, tmp_path: Path) -> AsyncIterator[Harness]:
    async with FakeBotApi() as fake, running(fake, engine, tmp_path / "q.sqlite3") as harness:
        yield harness
    harness.check()


# ------------------------------------------------------------------------ private chats


async def test_private_question_is_quoted_bolded_and_cited(bot: Harness) -> None:
    expected = bot.engine.ask(ANSWERED)
    _, reply = await bot.say(ANSWERED)
    methods = [c.method for c in bot.fake.calls() if c.method in ("sendChatAction", "sendMessage")]
    assert methods == ["sendChatAction", "sendMessage"]
    assert bot.fake.calls("sendChatAction")[0].params["action"] == "typing"
    call = bot.fake.calls("sendMessage")[0]
    assert call.params["parse_mode"] == "HTML"
    # the same answer as the engine gives (the key only appears in the buttons)
    assert call.params["text"] == render_answer(expected, bot.engine.documents, "key").html
    kinds = {e["type"] for e in reply["entities"]}
    assert {"blockquote", "bold", "italic"} <= kinds
    doc = bot.engine.documents[expected.excerpts[0].document]
    assert f"— ¶{expected.excerpts[0].paragraph}, {doc.title}, {doc.publisher}, {doc.date}" in (
        reply["text"]
    )
    assert reply["text"].startswith(expected.faq.question)
    assert [b["text"] for b in buttons(reply)] == ["More", "Context", "👍", "👎"]
    assert "reply_to_message" not in reply  # private chats need no quoting
    assert len(bot.engine.ask(ANSWERED).excerpts) == len(expected.excerpts)


async def test_not_found_offers_suggestions_and_pressing_one_answers_it(
    bot: Harness, not_answered: str
) -> None:
    expected = bot.engine.ask(not_answered)
    _, reply = await bot.say(not_answered)
    assert reply["text"].startswith(NOT_FOUND)
    datas = [b["callback_data"] for b in buttons(reply)]
    # Each carries the refused answer's key, so the log can link the question to the entry.
    key = datas[0].split(":")[2]
    assert datas == [f"faq:{s.id}:{key}" for s in expected.suggestions]
    assert [b["text"] for b in buttons(reply)] == [s.question for s in expected.suggestions]
    answer, sent = await bot.press(datas[0], reply)
    assert "text" not in answer.params or not answer.params["text"]
    faq_answer = bot.engine.answer_faq(expected.suggestions[0].id)
    assert sent["text"].startswith(faq_answer.faq.question)
    assert bot.fake.calls("sendMessage")[-1].params["text"] == render_answer(
        faq_answer, bot.engine.documents, "k"
    ).html


async def test_more_context_and_votes(bot: Harness) -> None:
    expected = bot.engine.ask(ANSWERED)
    _, reply = await bot.say(ANSWERED)
    data = {b["text"]: b["callback_data"] for b in buttons(reply)}

    _, more = await bot.press(data["More"], reply)
    assert more["text"].startswith("More from the article (2/")
    assert more["reply_to_message"]["message_id"] == reply["message_id"]
    assert expected.excerpts[3].text in more["text"]

    _, context = await bot.press(data["Context"], reply)
    sentence = bot.engine.sentences[int(data["Context"].split(":")[1])]
    assert bold(context) == [sentence.text]
    assert bot.engine.paragraph(sentence.document, sentence.paragraph) in context["text"]
    assert f"— ¶{sentence.paragraph}, " in context["text"]

    key = data["👍"].split(":")[1]
    up, _ = await bot.press(data["👍"], reply, expect_message=False)
    [vote] = bot.log_rows("feedback")
    assert (vote["answer_key"], vote["user_hash"], vote["vote"]) == (key, bot.user_hash(CHAT), 1)
    down, _ = await bot.press(data["👎"], reply, expect_message=False)
    assert up.params["text"] == down.params["text"] == "Thanks for the feedback"
    [vote] = bot.log_rows("feedback")  # the same person's later vote replaced the earlier one
    assert (vote["answer_key"], vote["user_hash"], vote["vote"]) == (key, bot.user_hash(CHAT), -1)
    [asked] = [r for r in bot.log_rows() if r["answer_key"] == key]
    assert asked["question"] == ANSWERED and asked["user_hash"] == bot.user_hash(CHAT)

    gone, _ = await bot.press("more:gone0000:1", reply, expect_message=False, check_button=False)
    assert gone.params["text"] == "That answer expired, ask again"
    old, _ = await bot.press("vote:zzz", reply, expect_message=False, check_button=False)
    assert old.params["text"]
    assert len(bot.fake.calls("answerCallbackQuery")) == 6  # one answer per press


async def test_start_lists_documents_examples_and_inline_button(bot: Harness) -> None:
    _, reply = await bot.say("/start")
    doc = next(iter(bot.engine.documents.values()))
    assert doc.title in reply["text"]
    faqs = bot.engine.faq_list()
    assert [b.get("callback_data") for b in buttons(reply)[:3]] == [f"faq:{s.id}" for s in faqs[:3]]
    assert buttons(reply)[3]["switch_inline_query_current_chat"] == ""
    assert [c["command"] for c in bot.fake.registered_commands()] == [
        "start", "help", "faq", "source", "ask", "forget"
    ]
    assert [c["command"] for c in bot.fake.registered_commands({"type": "all_group_chats"})] == [
        "ask"
    ]
    _, answered = await bot.press(buttons(reply)[0]["callback_data"], reply)
    assert answered["text"].startswith(faqs[0].question)


async def test_start_deep_link_answers_that_faq(bot: Harness) -> None:
    faq = bot.engine.faq_list()[5]
    _, reply = await bot.say(f"/start faq_{faq.id}")
    assert reply["text"].startswith(faq.question)
    assert bot.fake.calls("sendMessage")[-1].params["text"] == render_answer(
        bot.engine.answer_faq(faq.id), bot.engine.documents, "k"
    ).html
    _, fallback = await bot.say("/start faq_no_such_entry")
    assert fallback["text"].startswith("I answer questions about")


async def test_help_source_and_unknown_command(bot: Harness) -> None:
    _, help_reply = await bot.say("/help")
    for part in ("/start", "/faq", "/source", "/ask <question>", f"@{BOT}"):
        assert part in help_reply["text"]
    _, source = await bot.say("/source")
    for doc in bot.engine.documents.values():
        assert f"{doc.title} ({doc.publisher}, {doc.date})" in source["text"]
        assert f"{doc.paragraphs} paragraphs, {doc.sentences} sentences" in source["text"]
    _, unknown = await bot.say("/nonsense")
    assert unknown["text"] == handlers.HINT_UNKNOWN_COMMAND


async def test_faq_pages_turn_in_place(bot: Harness) -> None:
    faqs = bot.engine.faq_list()
    _, listing = await bot.say("/faq")
    assert len(buttons(listing)) == 8 + 1
    assert [b["text"] for b in buttons(listing)[:8]] == [s.question for s in faqs[:8]]
    assert buttons(listing)[-1]["text"] == "▶"
    await bot.press("faqpage:1", listing, expect_message=False)
    await bot.fake.wait_for("editMessageText", predicate=lambda c: c.ok)
    page2 = bot.fake.message(CHAT, listing["message_id"])
    assert [b["text"] for b in buttons(page2)[-2:]] == ["◀", "▶"]
    assert buttons(page2)[0]["text"] == faqs[8].question
    # the same page pressed again (a double tap on a stale keyboard): no edit, no error
    await bot.press("faqpage:1", page2, expect_message=False, check_button=False)
    last = (len(faqs) - 1) // 8
    await bot.press(f"faqpage:{last}", page2, expect_message=False, check_button=False)
    await bot.fake.wait_for("editMessageText", count=2, predicate=lambda c: c.ok)
    final = bot.fake.message(CHAT, listing["message_id"])
    assert buttons(final)[-1]["text"] == "◀"
    assert final["text"] == visible_text(render_faq_page(faqs, last).html)
    _, answered = await bot.press(buttons(final)[0]["callback_data"], final)
    assert answered["text"].startswith(faqs[last * 8].question)
    assert len(bot.fake.calls("editMessageText")) == 2


async def test_ask_command_in_private(bot: Harness) -> None:
    _, reply = await bot.say(f"/ask {ANSWERED}")
    assert reply["text"].startswith(bot.engine.ask(ANSWERED).faq.question)
    _, hint = await bot.say("/ask")
    assert hint["text"] == handlers.HINT_ASK


async def test_edited_photo_and_channel_messages(bot: Harness) -> None:
    before = len(bot.fake.sent_messages(CHAT))
    bot.fake.push_edited_message("edited question")
    [*_, hint] = await bot.fake.wait_for_messages(before + 1, CHAT)
    assert hint["text"] == handlers.HINT_EDITED
    bot.fake.push_photo(caption="what is this?")
    [*_, hint] = await bot.fake.wait_for_messages(before + 2, CHAT)
    assert hint["text"] == handlers.HINT_NOT_TEXT
    await bot.assert_silent(lambda: bot.fake.push_channel_post(f"@{BOT} {ANSWERED}"))
    await bot.assert_silent(lambda: bot.fake.push_edited_message(ANSWERED, chat_type="group"))
    await bot.assert_silent(lambda: bot.fake.push_photo(chat_type="group"))


@pytest.mark.parametrize(
    "text",
    [
        ("Homs " * 820)[:4096],
        "<b>&amp; Homs</b> & <i>Damascus</i> &lt;",
        "أين حمص؟ \u200f Homs\u200b\u200d \u202eDamascus\u202c 👨‍👩‍👧 far?",
        "\u200b",
    ],
    ids=["4096-chars", "markup", "rtl-zero-width", "zero-width-only"],
)
async def test_awkward_messages_are_answered(bot: Harness, text: str) -> None:
    _, reply = await bot.say(text)
    assert reply["text"]
    assert len(bot.fake.calls("sendMessage")) == 1


# ------------------------------------------------------------------------------- inline


async def test_inline_query_pages_results(bot: Harness) -> None:
    expected = bot.engine.ask(ANSWERED)
    first = await bot.inline(ANSWERED)
    assert first["cache_time"] == 10 and first["is_personal"] is False
    results, offset, pages = list(first["results"]), first.get("next_offset", ""), 1
    assert len(results) == 10 and offset == "1"
    while offset:
        page = await bot.inline(ANSWERED, offset=offset)
        assert len(page["results"]) <= 10
        results += page["results"]
        offset, pages = page.get("next_offset", ""), pages + 1
    ids = [r["id"] for r in results]
    assert len(ids) == len(set(ids)) <= 50 and pages >= 2
    assert all(1 <= len(i.encode()) <= 64 for i in ids)
    assert ids[0] == f"f:{expected.faq.id}"
    assert results[0]["title"] == expected.faq.question
    content = results[0]["input_message_content"]
    assert content["message_text"] == render_answer(expected, bot.engine.documents).html
    assert content["parse_mode"] == "HTML"
    excerpts = {e.sentence_id for e in expected.excerpts + expected.more}
    assert {int(i[2:]) for i in ids[1:]} == excerpts
    assert all(r["description"].startswith("— ¶") for r in results)


async def test_inline_empty_query_lists_faq_entries(bot: Harness) -> None:
    faqs = bot.engine.faq_list()
    ids, offset = [], ""
    for _ in range(10):
        page = await bot.inline("", offset=offset)
        ids += [r["id"] for r in page["results"]]
        assert [r["title"] for r in page["results"]] == [
            s.question for s in faqs[len(ids) - len(page["results"]) : len(ids)]
        ]
        offset = page.get("next_offset", "")
        if not offset:
            break
    assert ids == [f"f:{s.id}" for s in faqs[:50]]


async def test_inline_no_match_is_one_result(bot: Harness, no_match: str) -> None:
    params = await bot.inline(no_match)
    [result] = params["results"]
    assert result["id"] == "none" and "Nothing in the article matches" in result["title"]
    assert no_match in result["input_message_content"]["message_text"]
    assert not params.get("next_offset")
    assert (await bot.inline(no_match, offset="5"))["results"] == []
    assert (await bot.inline(ANSWERED, offset="junk"))["results"]


# ------------------------------------------------------------------------------- groups


async def test_group_answers_only_what_is_meant_for_it(bot: Harness) -> None:
    await bot.assert_silent(lambda: bot.fake.push_message(ANSWERED, chat_type="group"))
    await bot.assert_silent(lambda: bot.fake.push_message("/start", chat_type="group"))
    await bot.assert_silent(lambda: bot.fake.push_message("/help@" + BOT, chat_type="group"))
    await bot.assert_silent(lambda: bot.fake.push_message("@someone_else hi", chat_type="group"))

    asked, reply = await bot.say(f"@{BOT} {ANSWERED}", chat_id=GROUP)
    assert reply["reply_to_message"]["message_id"] == asked["message_id"]
    assert reply["text"].startswith(bot.engine.ask(ANSWERED).faq.question)
    assert not bot.fake.calls("sendChatAction")  # typing is for private chats

    follow, reply2 = await bot.say("When was Homs captured?", chat_id=GROUP, reply_to=reply)
    assert reply2["reply_to_message"]["message_id"] == follow["message_id"]
    assert reply2["text"]

    other = bot.fake.push_message("hello all", chat_type="group", user_id=2002)["message"]
    await bot.assert_silent(
        lambda: bot.fake.push_message("hi back", chat_type="group", reply_to=other)
    )

    asked, reply3 = await bot.say(f"/ask {ANSWERED}", chat_id=GROUP)
    assert reply3["reply_to_message"]["message_id"] == asked["message_id"]
    asked, reply4 = await bot.say(f"/ask@{BOT} {ANSWERED}", chat_id=GROUP, chat_type="supergroup")
    assert reply4["reply_to_message"]["message_id"] == asked["message_id"]
    _, hint = await bot.say(f"@{BOT}", chat_id=GROUP)
    assert hint["text"] == handlers.HINT_MENTION

    _, more = await bot.press(buttons(reply)[0]["callback_data"], reply)
    assert more["chat"]["id"] == GROUP and more["text"].startswith("More from the article")


async def test_answers_in_a_forum_topic_stay_in_that_topic(bot: Harness) -> None:
    forum = {"id": DEFAULT_SUPERGROUP_ID, "type": "supergroup", "title": "Forum", "is_forum": True}
    user = {"id": CHAT, "is_bot": False, "first_name": "Alice"}
    question = f"/ask {ANSWERED}"
    bot.fake.push_update({"message": {
        "message_id": 77, "from": user, "chat": forum, "date": int(time.time()),
        "message_thread_id": 5, "is_topic_message": True, "text": question,
        "entities": [{"type": "bot_command", "offset": 0, "length": 4}],
    }})
    [reply] = await bot.fake.wait_for_messages(1, DEFAULT_SUPERGROUP_ID)
    assert reply["message_thread_id"] == 5
    assert bot.fake.calls("sendMessage")[-1].params["reply_parameters"]["message_id"] == 77


# --------------------------------------------------------------------- errors and limits


async def test_429_is_waited_out_and_the_reply_arrives(bot: Harness) -> None:
    bot.fake.fail_next("sendMessage", 429, retry_after=1)
    _, reply = await bot.say(ANSWERED, timeout=10)
    calls = bot.fake.calls("sendMessage")
    assert calls[0].status == 429 and calls[-1].ok and len(calls) == 2
    assert reply["text"]
    assert calls[-1].time - calls[0].time >= 1.0  # retry_after honoured


async def test_429_is_waited_out_by_the_bot_itself_without_a_rate_limiter(
    engine: Engine, tmp_path: Path
) -> None:
    async with FakeBotApi() as fake, running(
        fake, engine, tmp_path / "q.sqlite3", rate_limiter=False
    ) as bot:
        fake.fail_next("sendMessage", 429, retry_after=2)
        _, reply = await bot.say(ANSWERED, timeout=10)
        calls = fake.calls("sendMessage")
        assert calls[0].status == 429 and calls[-1].ok and len(calls) == 2
        assert calls[-1].time - calls[0].time >= 2.0
        assert reply["text"].startswith(engine.ask(ANSWERED).faq.question)
    bot.check()


async def test_polling_survives_5xx_and_dropped_connections_then_answers(bot: Harness) -> None:
    bot.fake.fail_next("getUpdates", 502)
    bot.fake.fail_next("getUpdates", drop=True)
    failed = await bot.fake.wait_for(
        "getUpdates", count=2, timeout=15, predicate=lambda c: c.injected
    )
    assert [c.status for c in failed] == [502, None] and failed[1].dropped
    _, reply = await bot.say(ANSWERED, timeout=15)  # polling went on: later messages answered
    assert reply["text"].startswith(bot.engine.ask(ANSWERED).faq.question)
    assert bot.errors == []  # polling errors are the updater's to retry, not a handler's


async def test_403_is_one_log_line_and_not_fatal(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.fake.fail_next("sendMessage", 403)
    with caplog.at_level(logging.WARNING, logger="bot"):
        bot.fake.push_message(ANSWERED)
        await bot.fake.wait_for("sendMessage", predicate=lambda c: c.status == 403)
        errors = await bot.wait_errors()
    assert [type(e) for e in errors] == [Forbidden]
    records = [r for r in caplog.records if r.name.startswith("bot")]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING and records[0].exc_info is None
    assert "Forbidden" in records[0].getMessage() and "\n" not in records[0].getMessage()
    _, reply = await bot.say(ANSWERED)  # still serving, and no apology went to a blocked user
    assert reply["text"].startswith(bot.engine.ask(ANSWERED).faq.question)
    assert len(bot.fake.sent_messages(CHAT)) == 1


async def test_unexpected_error_is_logged_with_traceback_and_user_told(
    bot: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(question: str) -> None:
        raise RuntimeError("engine broke")

    monkeypatch.setattr(bot.engine, "ask", boom)
    with caplog.at_level(logging.ERROR, logger="bot"):
        _, reply = await bot.say("anything")
        errors = await bot.wait_errors()
    assert reply["text"] == handlers.SORRY
    assert [str(e) for e in errors] == ["engine broke"]
    [record] = [r for r in caplog.records if r.name.startswith("bot")]
    assert record.exc_info is not None


async def test_webhook_checks_the_secret(engine: Engine, tmp_path: Path) -> None:
    """On the bot's own webhook server, run as `run` runs it (post_init to post_shutdown); what
    else it refuses is in test_webhook.py."""
    port, secret = free_port(), "s3cret-Token_x"
    async with FakeBotApi() as fake:
        cfg = Config(
            token=fake.token,
            base_url=fake.base_url,
            log_db=tmp_path / "q.sqlite3",
            webhook_port=port,
            webhook_url=f"http://127.0.0.1:{port}/telegram",
        )
        app = build_application(cfg, engine)
        harness = Harness(fake, app, engine)
        app.add_error_handler(harness.collect)
        server = WebhookServer(app, cfg, secret)
        serving = asyncio.create_task(server.serve(signals=False))
        try:
            await asyncio.wait_for(server.started.wait(), 30)
            assert fake.webhook is not None and fake.webhook["secret_token"] == secret
            good = fake.push_message(ANSWERED)
            assert await fake.post_update_to_webhook(good) == 200
            [reply] = await fake.wait_for_messages(1, CHAT)
            assert reply["text"].startswith(engine.ask(ANSWERED).faq.question)
            assert len(harness.log_rows()) == 1
            # Questions, so a handler that ran would both reply and log them.
            for i, secret_token in enumerate(("wrong", None, secret[:-1], secret + "x")):
                bad = fake.push_message(f"{ANSWERED} {i}", user_id=CHAT + 1 + i)
                status = await fake.post_update_to_webhook(bad, secret_token=secret_token)
                assert status == 403
            await asyncio.sleep(0.3)
            assert len(fake.sent_messages()) == 1
            assert len(fake.calls("sendChatAction")) == 1  # no handler even started
            assert [r["question"] for r in harness.log_rows()] == [ANSWERED]
        finally:
            server.stop()  # as SIGTERM: server, app.stop, post_stop, shutdown, post_shutdown
            await asyncio.wait_for(serving, 30)
    assert [r["question"] for r in read_rows(tmp_path / "q.sqlite3")] == [ANSWERED]
    harness.check()


# ------------------------------------------------------------------- question log


async def test_private_group_and_inline_questions_are_logged_with_their_keys(
    bot: Harness, not_answered: str
) -> None:
    _, reply = await bot.say(ANSWERED)
    key = buttons(reply)[0]["callback_data"].split(":")[1]
    _, refused = await bot.say(not_answered, chat_id=CHAT + 1, user_id=CHAT + 1)
    await bot.say(f"@{BOT} {ANSWERED}", chat_id=GROUP)
    await bot.inline("who took homs")
    await bot.inline("who took homs", offset="1")  # the next page: scrolling, not asking
    await bot.inline("who took homs")  # Telegram asking again for the same person
    await bot.inline("")  # the FAQ list: nothing asked
    await bot.inline("who took hama")
    _, faq_reply = await bot.press(buttons(refused)[0]["callback_data"], refused)
    rows = bot.log_rows()
    seen = [(r["chat_type"], r["question"], r["answered"], r["answer_key"]) for r in rows]
    faq_key = buttons(faq_reply)[-1]["callback_data"].split(":")[1]
    suggested = bot.engine.ask(not_answered).suggestions[0]
    assert seen == [
        ("private", ANSWERED, 1, key),
        ("private", not_answered, 0, buttons(refused)[0]["callback_data"].split(":")[2]),
        ("group", ANSWERED, 1, rows[2]["answer_key"]),
        ("inline", "who took homs", rows[3]["answered"], None),
        ("inline", "who took hama", rows[4]["answered"], None),
        ("private", suggested.question, 1, faq_key),
    ]
    assert rows[2]["answer_key"] != key
    assert rows[0]["user_hash"] == bot.user_hash(CHAT) != rows[1]["user_hash"]
    assert rows[0]["faq_id"] == bot.engine.ask(ANSWERED).faq.id
    assert rows[-1]["faq_id"] == suggested.id
    assert all(str(CHAT) not in str(r["user_hash"]) for r in rows)


async def test_a_busy_bot_answers_first_and_sheds_typing(engine: Engine, tmp_path: Path) -> None:
    users = [60_000 + i for i in range(60)]
    async with FakeBotApi() as fake, running(
        fake, engine, tmp_path / "q.sqlite3", rate_limiter=False
    ) as bot:
        for user in users:  # one burst: all 60 arrive in one getUpdates
            fake.push_message(ANSWERED, user_id=user)
        await wait_replies(fake, len(users))
        calls = [c for c in fake.calls() if c.method in ("sendChatAction", "sendMessage")]
    bot.check()
    typed = [c.params["chat_id"] for c in calls if c.method == "sendChatAction"]
    # The first few, while the bot was still lightly loaded, got "typing"; the rest none.
    assert 1 <= len(typed) <= handlers.BUSY_UPDATES < len(users)
    for chat in typed:  # and "typing" never came after the answer it announced
        order = [c.method for c in calls if c.params["chat_id"] == chat]
        assert order == ["sendChatAction", "sendMessage"]


async def test_a_user_firing_a_few_questions_gets_every_answer_without_a_429(
    engine: Engine, tmp_path: Path
) -> None:
    async with FakeBotApi(flood_limits=True) as fake, running(
        fake, engine, tmp_path / "q.sqlite3"
    ) as bot:
        # Faster than Telegram lets a bot answer one chat, but not a flood: one running and
        # three waiting are all answered.
        for _ in range(4):
            fake.push_message(ANSWERED, user_id=CHAT)
        await wait_replies(fake, 4, timeout=30)
        await asyncio.sleep(1.5)
        assert len(fake.sent_messages(CHAT)) == 4  # and nothing else (no flood notice)
    bot.check()
    assert fake.flood_429s == []


async def _latency(fake: FakeBotApi, question: str, user: int) -> float:
    """Seconds from asking to the answer's arrival, for one person who asks once."""
    loop = asyncio.get_running_loop()
    asked = loop.time()
    fake.push_message(question, user_id=user)
    await fake.wait_for_messages(1, user, timeout=30)
    return loop.time() - asked


async def test_one_person_flooding_stalls_nobody_else(engine: Engine, tmp_path: Path) -> None:
    """200 messages in 5 s from one person: two others asking meanwhile are answered within 2 s
    each, the flooder gets a handful of replies, the last one answering their last message,
    and Telegram's flood limits are never hit."""
    flooder, second, third = CHAT, CHAT + 1, CHAT + 2
    chatter = ["Who took Homs?", "How far is Homs from Damascus?", NO_MATCH_CANDIDATES[0]]
    async with FakeBotApi(flood_limits=True) as fake, running(
        fake, engine, tmp_path / "q.sqlite3"
    ) as bot:
        others: list[asyncio.Task[float]] = []
        for i in range(200):
            question = ANSWERED if i == 199 else chatter[i % len(chatter)]
            fake.push_message(question, user_id=flooder)
            if i in (40, 160):  # 1 s and 4 s into the flood
                user = second if i == 40 else third
                others.append(asyncio.create_task(_latency(fake, "Who took Homs?", user)))
            await asyncio.sleep(0.025)
        latencies = await asyncio.gather(*others)
        faq_question = engine.ask(ANSWERED).faq.question
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while not fake.sent_messages(flooder)[-1]["text"].startswith(faq_question):
            assert loop.time() < deadline, "the flood's last message was never answered"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # nothing more comes
        replies = fake.sent_messages(flooder)
        dropped = bot.state.inbox.dropped
    bot.check()
    assert max(latencies) < 2.0, latencies
    assert len(replies) <= 8, [r["text"][:40] for r in replies]
    assert replies[-1]["text"].startswith(faq_question)
    notices = [r for r in replies if r["text"] == handlers.FLOOD_NOTICE]
    assert len(notices) == 1
    assert dropped >= 200 - len(replies)
    assert fake.flood_429s == []


async def test_stop_during_a_flood_is_prompt(engine: Engine, tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    async with FakeBotApi(flood_limits=True) as fake:
        async with running(fake, engine, tmp_path / "q.sqlite3") as bot:
            for i in range(60):  # 60 people, 10 questions each, all at once
                for _ in range(10):
                    fake.push_message(ANSWERED, user_id=70_000 + i)
            await fake.wait_for_messages(1, 70_000, timeout=10)
            stopping = loop.time()
        stopped = loop.time() - stopping
    assert stopped < app_module.ANSWER_ON_STOP_SECONDS + 3
    bot.check()


async def test_a_thousand_concurrent_updates_get_a_thousand_replies_and_rows(
    engine: Engine, tmp_path: Path
) -> None:
    users = [50_000 + i for i in range(250)]
    async with FakeBotApi() as fake, running(
        fake, engine, tmp_path / "q.sqlite3", rate_limiter=False
    ) as bot:
        questions = [ANSWERED, "Who took Homs?", "How far is Homs from Damascus?", "xyzzy"]
        for i in range(1000):
            fake.push_message(questions[i % 4], user_id=users[i % len(users)])
        sent = await wait_replies(fake, 1000, timeout=90)
        rows = bot.log_rows()
        per_user = {bot.user_hash(u): 0 for u in users}
    bot.check()
    assert len(sent) == 1000 == len(fake.calls("sendMessage"))
    assert {c.params["chat_id"] for c in sent} == set(users)
    assert len(rows) == 1000 == len(read_rows(tmp_path / "q.sqlite3"))
    for row in rows:
        per_user[row["user_hash"]] += 1
    assert set(per_user.values()) == {4}
    keys = [r["answer_key"] for r in rows if r["answer_key"]]
    assert len(keys) == len(set(keys)) == 1000  # every question has its own key (refused too)


# --------------------------------------------------------------- admin commands

ADMIN = 4242


@pytest.fixture
def own_seeds(seeds: Path, tmp_path: Path) -> tuple[Path, Path, Loaded]:
    """A private copy of the seeds, its index and the engine on it, for tests that edit seeds."""
    folder = Path(shutil.copytree(seeds, tmp_path / "seeds"))
    db = tmp_path / "index.sqlite3"
    return folder, db, load_engine(Config(seeds=folder, db=db))


@contextlib.asynccontextmanager
async def admin_bot(
    fake: FakeBotApi, tmp_path: Path, own: tuple[Path, Path, Loaded] | None = None,
    engine: Engine | None = None,
) -> AsyncIterator[Harness]:
    """The bot with ADMIN as its admin, on `own` seeds (reloadable) or a shared engine."""
    settings: dict[str, Any] = {"admins": (ADMIN,)}
    if own is not None:
        folder, db, loaded = own
        settings.update(seeds=folder, db=db)
        engine = loaded.engine
    assert engine is not None
    async with running(fake, engine, tmp_path / "q.sqlite3", **settings) as harness:
        if own is not None:
            harness.state.seeds_hash = own[2].seeds_hash
        yield harness


async def test_admin_commands_are_registered_only_in_each_admins_chat(
    engine: Engine, tmp_path: Path
) -> None:
    async with FakeBotApi() as fake, admin_bot(fake, tmp_path, engine=engine) as bot:
        public = [c["command"] for c in fake.registered_commands()]
        admin = [c["command"] for c in fake.registered_commands({"type": "chat", "chat_id": ADMIN})]
    bot.check()
    assert "stats" not in public and "reload" not in public
    assert admin == [*public, "stats", "reload"]
    groups = [c["command"] for c in fake.registered_commands({"type": "all_group_chats"})]
    assert groups == ["ask"]


async def test_stats_answers_an_admin_with_the_short_stats_escaped(
    engine: Engine, tmp_path: Path
) -> None:
    odd = "<b>xyzzy</b> & plugh?"
    async with FakeBotApi() as fake, admin_bot(fake, tmp_path, engine=engine) as bot:
        assert not engine.ask(odd).answered
        await bot.say(ANSWERED)
        await bot.say(odd, chat_id=CHAT + 7, user_id=CHAT + 7)
        _, stats = await bot.say("/stats", chat_id=ADMIN, user_id=ADMIN)
        expected = short_stats(tmp_path / "q.sqlite3")
    bot.check()
    assert stats["text"].startswith(expected.strip())
    assert stats["text"].endswith("Dropped in floods since start: 0 (people queued now: 3)")
    assert "Questions today: 2 (total 2)" in stats["text"] and odd in stats["text"]
    assert "entities" not in stats  # the question's markup was shown, not applied


async def test_admin_commands_do_not_exist_for_anyone_else(
    own_seeds: tuple[Path, Path, Loaded], tmp_path: Path
) -> None:
    async with FakeBotApi() as fake, admin_bot(fake, tmp_path, own_seeds) as bot:
        before = bot.state.engine
        for command in ("/stats", "/reload", f"/stats@{BOT}"):
            _, reply = await bot.say(command)
            assert reply["text"] == handlers.HINT_UNKNOWN_COMMAND
        # In groups, as for any unknown command: silence, for everyone, admins included (the
        # stats would be shown to the whole group, and an anonymous admin has no user id).
        for user in (CHAT, ADMIN):
            for command in ("/stats", "/reload", f"/stats@{BOT}"):
                await bot.assert_silent(
                    lambda c=command, u=user: fake.push_message(c, chat_type="group", user_id=u)
                )
        assert bot.state.engine is before
        assert fake.sent_texts(ADMIN) == []
    bot.check()


async def test_reload_swaps_in_the_rebuilt_index_without_dropping_an_update(
    own_seeds: tuple[Path, Path, Loaded], tmp_path: Path
) -> None:
    folder, _, loaded = own_seeds
    question = "How many people came to the zebra parade in Qwertyville?"
    assert not loaded.engine.ask(question).answered
    (folder / "zebra.txt").write_text(
        "Zebra parade\n\nThe zebra parade in Qwertyville drew 4,000 people on Sunday.\n",
        encoding="utf-8",
    )
    async with FakeBotApi() as fake, admin_bot(fake, tmp_path, own_seeds) as bot:
        for i in range(40):  # a steady stream of questions around the reload
            fake.push_message(ANSWERED, user_id=60_000 + i)
            if i == 10:
                fake.push_message("/reload", user_id=ADMIN)
            await asyncio.sleep(0.01)
        [done] = await fake.wait_for_messages(1, ADMIN, timeout=30)
        new = bot.state.engine
        assert new is not loaded.engine
        sentences = sum(d.sentences for d in new.documents.values())
        assert sentences > sum(d.sentences for d in loaded.engine.documents.values())
        assert done["text"] == (
            f"Reloaded: 2 documents, {sentences} sentences, {len(new.faq_list())} FAQ entries."
        )
        await wait_replies(fake, 41)
        _, answer = await bot.say(question)
        assert "4,000 people" in answer["text"]
        _, again = await bot.say("/reload", chat_id=ADMIN, user_id=ADMIN)
        assert again["text"].startswith("The seeds are unchanged")
    bot.check()


async def test_reload_with_a_broken_seed_keeps_the_old_engine_and_says_where(
    own_seeds: tuple[Path, Path, Loaded], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder, _, loaded = own_seeds
    (folder / "broken.faq.toml").write_text(
        '\n[[faq]]\nid = "broken"\nquestion = "Is <b>this</b> here?"\nphrasings = ["x y"]\n'
        'answer = "No."\ncites = ["<b>no such</b> & sentence"]\n',
        encoding="utf-8",
    )
    async with FakeBotApi() as fake, admin_bot(fake, tmp_path, own_seeds) as bot:
        with caplog.at_level(logging.WARNING, logger="bot"):
            _, reply = await bot.say("/reload", chat_id=ADMIN, user_id=ADMIN)
        assert reply["text"].startswith("Reload failed; still answering from the previous")
        assert re.search(r"broken\.faq\.toml:\d+: FAQ entry 'broken'", reply["text"])
        assert "<b>no such</b> & sentence" in reply["text"]  # shown, escaped, not markup
        assert bot.state.engine is loaded.engine
        _, answer = await bot.say(ANSWERED)
        assert answer["text"].startswith(loaded.engine.ask(ANSWERED).faq.question)
    bot.check()
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert any("reload failed" in m and "broken.faq.toml" in m for m in logged)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
async def test_sighup_reloads_like_the_command(
    own_seeds: tuple[Path, Path, Loaded], tmp_path: Path
) -> None:
    folder, _, loaded = own_seeds
    (folder / "zebra.txt").write_text("The zebra parade drew 4,000 people.\n", encoding="utf-8")
    async with FakeBotApi() as fake, admin_bot(fake, tmp_path, own_seeds) as bot:
        # Without the bot's handler SIGHUP would end pytest itself: check it is in place first.
        assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(200):
            if bot.state.engine is not loaded.engine:
                break
            await asyncio.sleep(0.05)
        assert bot.state.engine is not loaded.engine
        assert len(bot.state.engine.documents) == 2
        _, answer = await bot.say("How many people came to the zebra parade?")
        assert "4,000 people" in answer["text"]
    bot.check()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # post_shutdown removed it


# ------------------------------------------------------------------------ start-up, logs


@pytest.mark.parametrize(
    ("config", "env", "says"),
    [
        ("", {}, "no Telegram token"),
        ("", {"BOT_TOKEN": "12345:short"}, "malformed"),
        ('[telegram]\ntoken = "not a token"\n', {}, "malformed"),
        ("[webhook]\nport = 70000\n", {"BOT_TOKEN": DEFAULT_TOKEN}, "webhook.port"),
        ('[telegram]\nmode = "pigeon"\n', {"BOT_TOKEN": DEFAULT_TOKEN}, "telegram.mode"),
        ('[telegram]\nmode = "webhook"\n', {"BOT_TOKEN": DEFAULT_TOKEN}, "webhook.url"),
        ("[telegram]\nnope = 1\n", {"BOT_TOKEN": DEFAULT_TOKEN}, "unknown key"),
    ],
    ids=["no-token", "malformed-env", "malformed-file", "port", "mode", "no-url", "unknown"],
)
def test_startup_errors_exit_2_with_one_line(
    config: str,
    env: dict[str, str],
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("BOT_TOKEN", "BOT_MODE", "BOT_WEBHOOK_URL", "BOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "bot.toml"
    path.write_text(config)
    assert main(["run", "--config", str(path)]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], out.err
    assert "Traceback" not in out.err and out.out == ""
    assert DEFAULT_TOKEN not in out.err and "12345:short" not in out.err
    assert not (tmp_path / "data").exists()  # failed before touching the index


def test_webhook_flag_without_url_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_TOKEN", DEFAULT_TOKEN)
    monkeypatch.delenv("BOT_WEBHOOK_URL", raising=False)
    path = tmp_path / "bot.toml"
    path.write_text("")
    assert main(["run", "--webhook", "--config", str(path)]) == 2
    assert capsys.readouterr().err.startswith("error: webhook mode needs webhook.url")


def test_token_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    token = DEFAULT_TOKEN
    caplog.set_level(logging.DEBUG)
    token_filter = configure_logging(token)
    try:
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("httpcore").level == logging.WARNING
        logging.getLogger("telegram.ext").debug("POST %s/getMe", f"https://x/bot{token}")
        logging.getLogger("bot").info(f"inline {token} text")
        logging.getLogger("httpx").warning("HTTP Request: %s", f"/bot{token}/getUpdates")
        try:
            raise ValueError(f"bad url /bot{token}/sendMessage")
        except ValueError:
            logging.getLogger("bot").exception("failed with %s", token)
    finally:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(token_filter)
    assert len(caplog.records) == 4
    assert token not in caplog.text and caplog.text.count("[token]") >= 5
    assert all(token not in r.getMessage() for r in caplog.records)


def test_file_url_sits_beside_the_api_url() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"


async def _run_bot(
    fake: FakeBotApi, seeds: Path, tmp_path: Path, token: str, level: str = "INFO"
) -> asyncio.subprocess.Process:
    """`python -m bot run` in a child process (run_polling owns its loop, so not in ours),
    with its index and question log in `tmp_path`."""
    config = tmp_path / "bot.toml"
    config.write_text(
        f'[index]\nseeds = "{seeds}"\ndb = "{tmp_path / "index.sqlite3"}"\n'
        f'[telegram]\nbase_url = "{fake.base_url}"\n'
        f'[log]\nlevel = "{level}"\npath = "{tmp_path / "questions.sqlite3"}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config),
        cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE,
    )


async def test_run_polls_answers_and_stops_cleanly(seeds: Path, tmp_path: Path) -> None:
    async with FakeBotApi() as fake:
        proc = await _run_bot(fake, seeds, tmp_path, fake.token, "DEBUG")
        try:
            fake.push_message(ANSWERED)
            [reply] = await fake.wait_for_messages(1, CHAT, timeout=30)
            assert reply["entities"] and buttons(reply)
            assert len(fake.registered_commands()) == len(handlers.COMMANDS)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0
        assert fake.token not in err.decode() and "[token]" in err.decode()
        fake.assert_no_errors()
    assert [r["question"] for r in read_rows(tmp_path / "questions.sqlite3")] == [ANSWERED]


async def test_run_with_a_refused_token_exits_2_in_one_line(seeds: Path, tmp_path: Path) -> None:
    refused = "999999999:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    async with FakeBotApi() as fake:
        proc = await _run_bot(fake, seeds, tmp_path, refused, "WARNING")
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert err.decode().strip().splitlines() == [
        "error: Telegram refused the token (revoked, or from another bot?)"
    ]


def test_config_example_documents_every_key_with_its_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("BOT_TOKEN", "BOT_MODE", "BOT_WEBHOOK_URL", "BOT_WEBHOOK_LISTEN",
                 "BOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert configuration.load(ROOT / "config.example.toml") is not None
    lines, keys, section = [], set(), ""
    for line in example.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        match = re.fullmatch(r"#(\w+) = .*", line)
        if match:
            keys.add((section, match.group(1)))
            line = line[1:]
        lines.append(line)
    documented = {(s, k) for s, fields in configuration._SCHEMA.items() for k in fields}
    assert keys == documented
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    cfg, default = configuration.load(path), Config()
    for name in ("token", "base_url", "mode", "webhook_listen", "webhook_port", "webhook_path",
                 "webhook_url", "webhook_secret", "admins", "requests_per_second", "log_level",
                 "store_questions"):
        assert getattr(cfg, name) == getattr(default, name), f"{name}: update the example"
    # The engine's tuning moves while it is being improved: the example only has to be valid.
    assert isinstance(cfg.matching, Settings)
    assert cfg.seeds == tmp_path / default.seeds and cfg.db == tmp_path / default.db
    assert cfg.log_db == tmp_path / default.log_db


# ------------------------------------------------------------------------ /forget


async def test_forget_removes_that_persons_questions_and_votes_from_the_report(
    bot: Harness, not_answered: str
) -> None:
    from bot.report import build_report

    alice, bob = CHAT, CHAT + 1
    _, mine = await bot.say(ANSWERED)
    down = next(b["callback_data"] for b in buttons(mine) if b["text"] == "👎")
    await bot.press(down, mine, expect_message=False)
    await bot.say(not_answered)
    _, theirs = await bot.say(ANSWERED, chat_id=bob, user_id=bob)
    down = next(b["callback_data"] for b in buttons(theirs) if b["text"] == "👎")
    await bot.press(down, theirs, expect_message=False, user_id=bob)
    # In a group, alice votes on bob's answer: her vote goes, his question stays.
    _, group_answer = await bot.say(f"@{BOT} {ANSWERED}", chat_id=GROUP, user_id=bob)
    up = next(b["callback_data"] for b in buttons(group_answer) if b["text"] == "👍")
    await bot.press(up, group_answer, expect_message=False, user_id=alice)
    bot.log_rows()  # flushed
    path = bot.state.config.log_db
    before = build_report(path)
    assert before.total == 4 and [d["count"] for d in before.disliked] == [2]
    assert not_answered in [g["question"] for g in before.unanswered]

    # A question and /forget back to back: the question, still queued, is forgotten too.
    sent = len(bot.fake.sent_messages(alice))
    bot.fake.push_message("who took homs")
    bot.fake.push_message("/forget")
    replies = await bot.fake.wait_for_messages(sent + 2, alice)
    assert replies[-1]["text"] == "Done: I removed 3 of your questions and 2 votes from my log."

    questions, votes = bot.log_rows(), bot.log_rows("feedback")
    alice_hash, bob_hash = bot.user_hash(alice), bot.user_hash(bob)
    assert all(alice_hash not in (r["user_hash"], None) for r in questions + votes)
    assert [(r["chat_type"], r["question"]) for r in questions] == [
        ("private", ANSWERED), ("group", ANSWERED)
    ]
    assert {r["user_hash"] for r in questions} == {bob_hash}
    assert [(r["user_hash"], r["vote"]) for r in votes] == [(bob_hash, -1)]
    after = build_report(path)
    assert after.total == 2 and [d["count"] for d in after.disliked] == [1]
    assert not_answered not in str(after.to_json())
    assert "who took homs" not in str(after.to_json())


async def test_forget_is_listed_in_help_and_the_menu_and_silent_in_groups(bot: Harness) -> None:
    _, help_reply = await bot.say("/help")
    assert "/forget" in help_reply["text"]
    menus = [c.params for c in bot.fake.calls("setMyCommands")]
    private_menu = next(m for m in menus if m.get("scope", {}).get("type", "default") == "default")
    assert "forget" in [c["command"] for c in private_menu["commands"]]
    await bot.assert_silent(lambda: bot.fake.push_message("/forget", chat_id=GROUP,
                                                          chat_type="group"))
    _, nothing = await bot.say("/forget", chat_id=CHAT + 5, user_id=CHAT + 5)
    assert nothing["text"] == "Done: I removed 0 of your questions and 0 votes from my log."


# ------------------------------------------------------------------- the editor's loop


async def test_a_tapped_suggestion_becomes_a_phrasing_that_then_answers_the_question(
    bot: Harness, not_answered: str, seeds: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Refused, the person taps a suggested FAQ entry; `faq suggest` proposes the question as a
    phrasing of that entry, `faq apply` merges it, and the rebuilt index answers it from there."""
    import json

    from bot.faqapply import apply

    _, refused = await bot.say(not_answered)
    data = buttons(refused)[0]["callback_data"]
    _, faq_id, key = data.split(":")
    _, shown = await bot.press(data, refused)
    shown_key = buttons(shown)[-1]["callback_data"].split(":")[1]
    [link] = bot.log_rows("links")
    assert (link["answer_key"], link["faq_id"], link["kind"], link["shown_key"]) == (
        key, faq_id, "button", shown_key
    )
    assert link["user_hash"] == bot.user_hash(CHAT)
    assert bot.engine.ask(not_answered).faq is None

    copy = Path(shutil.copytree(seeds, tmp_path / "seeds"))  # the session's snapshot stays
    db = tmp_path / "index.sqlite3"
    code = main(["faq", "suggest", "--json", "--min-count", "1", "--seeds", str(copy),
                 "--db", str(db), "--log", str(bot.state.config.log_db)])
    assert code == 0
    proposals = json.loads(capsys.readouterr().out)
    assert [(p["faq_id"], p["phrasing"], p["count"], p["sources"])
            for p in proposals["phrasings"]] == [(faq_id, not_answered, 1, ["button"])]

    proposal = tmp_path / "proposals.toml"
    assert main(["faq", "suggest", "--min-count", "1", "--seeds", str(copy), "--db", str(db),
                 "--log", str(bot.state.config.log_db), "--out", str(proposal)]) == 0
    assert apply(copy, proposal) == 0
    rebuilt = tmp_path / "rebuilt.sqlite3"
    index.build(copy, rebuilt)
    answer = Engine(rebuilt, Settings()).ask(not_answered)
    assert answer.answered and answer.faq is not None and answer.faq.id == faq_id


# ------------------------------------------------------------------------- a library

# Twelve small documents, one a month apart but written as people write dates; the sentence
# shared by all of them answers from every document at once.
TOPICS = ("lighthouse", "orchard", "bridge", "harbour", "library", "railway", "vineyard",
          "observatory", "museum", "market", "glacier", "canal")
DATES = ("2023-01-05", "February 2023", "3 Mar 2023", "2023-04-05", "May 2023", "2023-06-05",
         "7 Jul 2023", "2023-08-05", "September 2023", "2023-10-05", "11 Nov 2023", "2023-12-05")
SHARED_QUESTION = "What needed new foundations?"


def library_title(topic: str) -> str:
    """Longer than an inline description shows whole, so shortening is exercised."""
    return f"Council repairs the {topic} after a long winter of storms and floods"


@pytest.fixture
def library_engine(tmp_path: Path, make_seeds: Callable[[Path, dict[str, str]], Path]) -> Engine:
    files: dict[str, str] = {}
    for i, (topic, date) in enumerate(zip(TOPICS, DATES, strict=True)):
        files[f"town-{i:02d}.txt"] = (
            f"The town council voted to repair the old {topic} in spring.\n\n"
            f"Engineers said the {topic} needed new foundations and a new roof.\n")
        files[f"town-{i:02d}.toml"] = (
            f'title = "{library_title(topic)}"\npublisher = "Town Gazette"\ndate = "{date}"\n')
    folder = make_seeds(tmp_path / "library", files)
    db = tmp_path / "library" / "index.sqlite3"
    assert not index.ensure(folder, db).warning
    return Engine(db, Settings())


async def test_source_pages_through_a_library_newest_first_in_place(
    library_engine: Engine, tmp_path: Path
) -> None:
    async with FakeBotApi() as fake, running(fake, library_engine, tmp_path / "q.sqlite3") as bot:
        _, listing = await bot.say("/source")
        newest = [library_title(t) for t in reversed(TOPICS)]
        lines = listing["text"].splitlines()
        assert lines[0] == "Sources, newest first (1/2)"
        assert [line.partition(" (")[0] for line in lines[1:]] == [f"• {t}" for t in newest[:10]]
        assert f"• {newest[0]} (Town Gazette, 2023-12-05): 2 paragraphs, 2 sentences" in lines
        assert [b["text"] for b in buttons(listing)] == ["▶"]
        await bot.press("srcpage:1", listing, expect_message=False)
        await bot.fake.wait_for("editMessageText", predicate=lambda c: c.ok)
        page2 = bot.fake.message(CHAT, listing["message_id"])
        assert page2["text"].splitlines()[0] == "Sources, newest first (2/2)"
        assert [line.partition(" (")[0] for line in page2["text"].splitlines()[1:]] == [
            f"• {t}" for t in newest[10:]]
        assert f"• {newest[-1]} (Town Gazette, 2023-01-05)" in page2["text"]
        assert [b["text"] for b in buttons(page2)] == ["◀"]
        await bot.press("srcpage:0", page2, expect_message=False)
        await bot.fake.wait_for("editMessageText", count=2, predicate=lambda c: c.ok)
        back = bot.fake.message(CHAT, listing["message_id"])
        assert back["text"] == listing["text"] and buttons(back) == buttons(listing)
        # a stale ◀ pressed again: no edit, no error; then ▶ turns the page once more
        await bot.press("srcpage:0", page2, expect_message=False, check_button=False)
        await bot.press("srcpage:1", back, expect_message=False)
        await bot.fake.wait_for("editMessageText", count=3, predicate=lambda c: c.ok)
        assert len(bot.fake.calls("editMessageText")) == 3
        assert bot.fake.message(CHAT, listing["message_id"])["text"] == page2["text"]
        assert len(bot.fake.sent_messages(CHAT)) == 1  # every page in the one reply
    bot.check()


async def test_inline_results_name_their_documents(library_engine: Engine, tmp_path: Path) -> None:
    titles = {f"town-{i:02d}": library_title(t) for i, t in enumerate(TOPICS)}
    async with FakeBotApi() as fake, running(fake, library_engine, tmp_path / "q.sqlite3") as bot:
        expected = library_engine.ask(SHARED_QUESTION)
        document_of = {e.sentence_id: e.document for e in expected.excerpts + expected.more}
        assert len(set(document_of.values())) > 10
        params = await bot.inline(SHARED_QUESTION)
        results = params["results"] + (await bot.inline(SHARED_QUESTION, offset="1"))["results"]
        assert len(results) == len(document_of)
        for result in results:
            doc = document_of[int(result["id"].removeprefix("s:"))]
            topic = TOPICS[int(doc.removeprefix("town-"))]
            description = result["description"]
            assert description.startswith("— ¶")
            # the title, shortened so it stays in the line the client shows, and only its own
            assert f"Council repairs the {topic} after" in description
            assert len(description.partition(", ")[2].partition(", Town")[0]) <= 40
            assert titles[doc] in result["input_message_content"]["message_text"]
            assert topic in result["title"]
        # where every document answers alike, the newest leads
        assert "Council repairs the canal" in results[0]["description"]
        [only] = {document_of[int(r["id"][2:])] for r in results[:1]}
        assert only == "town-11"
    bot.check()
