"""Tests of the fake Bot API server itself, with httpx and with a real PTB ``Bot``/``Application``.

The fake is only useful if it rejects what Telegram rejects and accepts what Telegram accepts,
so each rule gets a test through PTB (which must turn the answer into the right exception).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("PTB_TIMEDELTA", "1")  # before PTB is used: avoids a deprecation warning
# `tests.fakes` needs the repository root on sys.path; `python -m pytest` adds it, bare `pytest`
# (tests/ has no __init__.py) does not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncio
import contextlib
import datetime as dt
import html
import logging
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputFile,
    InputTextMessageContent,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
)

from tests.fakes.bot_api import (
    DEFAULT_GROUP_ID,
    DEFAULT_USER_ID,
    ApiError,
    FakeBotApi,
    check_message_text,
    fake_bot_api_fixture,  # noqa: F401  (registers the fake_bot_api fixture)
)
from tests.fakes.telegram_html import HtmlParseError, parse_html

logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs URLs, token included

CHAT = DEFAULT_USER_ID


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _article(result_id: str, text: str = "hello", parse_mode: str | None = None) -> Any:
    return InlineQueryResultArticle(
        result_id, f"title {result_id}", InputTextMessageContent(text, parse_mode=parse_mode)
    )


def _keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("press", callback_data=data)]])


# ------------------------------------------------------------------------------------------
# The HTML parser
# ------------------------------------------------------------------------------------------


def test_parse_html_gives_visible_text_and_utf16_entities() -> None:
    parsed = parse_html(
        '😀 <b>bold</b> &lt;x&gt; &amp; &quot;q&quot; &#65;&#x42; <a href="u">l</a>'
    )
    assert parsed.text == '😀 bold <x> & "q" AB l'
    bold, link = parsed.entities
    assert bold == {"type": "bold", "offset": 3, "length": 4}  # the emoji is 2 UTF-16 units
    assert link["type"] == "text_link" and link["url"] == "u"
    assert parsed.entity_count == 2


def test_parse_html_supports_every_documented_tag() -> None:
    markup = (
        "<b>b</b><strong>b</strong><i>i</i><em>i</em><u>u</u><ins>u</ins><s>s</s>"
        '<strike>s</strike><del>s</del><span class="tg-spoiler">p</span><tg-spoiler>p</tg-spoiler>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>'
        "<blockquote expandable>e</blockquote>"
    )
    parsed = parse_html(markup)
    kinds = [e["type"] for e in parsed.entities]
    assert kinds.count("bold") == 2 and kinds.count("strikethrough") == 3
    assert {"spoiler", "custom_emoji", "code", "pre", "blockquote", "expandable_blockquote"} <= set(
        kinds
    )
    pre = next(e for e in parsed.entities if e["type"] == "pre")
    assert pre["language"] == "python"


@pytest.mark.parametrize(
    ("markup", "fragment"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("é<br/>", 'Unsupported start tag "br/" at byte offset 2'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("Tom & Jerry", 'Character "&" at byte offset 4'),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<code><b>x</b></code>", 'Tag "b" is not allowed inside "code"'),
        ("<pre><i>x</i></pre>", 'Tag "i" is not allowed inside "pre"'),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "Blockquotes can't be nested"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier"),
    ],
)
def test_parse_html_rejects_what_telegram_rejects(markup: str, fragment: str) -> None:
    with pytest.raises(HtmlParseError, match=re.escape(fragment)):
        parse_html(markup)


@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.text(), st.text(min_size=4090, max_size=4100)))
def test_escaped_text_in_bold_is_accepted_iff_telegram_would(text: str) -> None:
    markup = f"<b>{html.escape(text)}</b>"
    if text.strip() and len(text) <= 4096:
        parsed = check_message_text(markup, "HTML")
        assert parsed.text == text
        assert parsed.entity_count == 1
    else:
        with pytest.raises(ApiError) as err:
            check_message_text(markup, "HTML")
        assert err.value.status == 400


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(st.sampled_from([*"<>&;/#x1ab \"='", "<b>", "</b>", "&amp;", "<pre>", "<code>"])).map(
        "".join
    )
)
def test_parse_html_never_fails_except_with_a_parse_error(markup: str) -> None:
    with contextlib.suppress(HtmlParseError):
        parse_html(markup)


# ------------------------------------------------------------------------------------------
# Basic protocol, through PTB and httpx
# ------------------------------------------------------------------------------------------


async def test_get_me_through_ptb(fake: FakeBotApi, bot: Bot) -> None:
    assert bot.username == "docs_test_bot"
    assert bot.bot.is_bot and bot.bot.first_name
    assert [c.method for c in fake.calls()] == ["getMe"]


async def test_fixture_from_module_is_usable(fake_bot_api: FakeBotApi) -> None:
    async with Bot(fake_bot_api.token, base_url=fake_bot_api.base_url) as client:
        assert client.username == "docs_test_bot"


async def test_wrong_token_is_invalid_token(fake: FakeBotApi) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=fake.base_url):
            pass
    assert fake.errors[-1].status == 401


async def test_unknown_method_is_400_not_404(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)method not found"):
        await bot.do_api_request("sendMessag", api_kwargs={"chat_id": CHAT, "text": "x"})
    async with httpx.AsyncClient() as client:
        response = await client.post(fake.url("noSuchMethod"))
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: method not found",
    }


async def test_unknown_parameter_is_rejected(fake: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unknown parameter"):
        await bot.send_message(CHAT, "hi", api_kwargs={"parse_mod": "HTML"})
    assert 'unknown parameter "parse_mod"' in (fake.errors[-1].description or "")


async def test_missing_and_mistyped_parameters_are_rejected(fake: FakeBotApi) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.post(fake.url("sendMessage"), data={"text": "hi"})
        mistyped = await client.post(
            fake.url("sendMessage"),
            data={"chat_id": CHAT, "text": "hi", "disable_notification": "maybe"},
        )
        bad_json = await client.post(
            fake.url("sendMessage"), data={"chat_id": CHAT, "text": "hi", "reply_markup": "{"}
        )
        bad_field = await client.post(
            fake.url("sendMessage"),
            json={
                "chat_id": CHAT,
                "text": "hi",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callbak_data": "x"}]]},
            },
        )
    assert missing.status_code == 400 and '"chat_id" is required' in missing.json()["description"]
    assert mistyped.status_code == 400 and "Boolean" in mistyped.json()["description"]
    assert bad_json.status_code == 400 and "can't parse" in bad_json.json()["description"]
    assert bad_field.status_code == 400
    assert 'unknown field "callbak_data"' in bad_field.json()["description"]
    assert len(fake.errors) == 4


async def test_json_form_and_multipart_bodies_are_accepted(fake: FakeBotApi, bot: Bot) -> None:
    async with httpx.AsyncClient() as client:
        as_json = await client.post(fake.url("sendMessage"), json={"chat_id": CHAT, "text": "j"})
        as_form = await client.post(fake.url("sendMessage"), data={"chat_id": CHAT, "text": "f"})
        upload = await client.post(
            fake.url("sendDocument"),
            data={"chat_id": str(CHAT), "caption": "<b>doc</b>", "parse_mode": "HTML"},
            files={"document": ("a.txt", b"hello", "text/plain")},
        )
    assert as_json.json()["result"]["text"] == "j"
    assert as_form.json()["result"]["text"] == "f"
    assert upload.status_code == 200 and upload.json()["result"]["caption"] == "doc"
    [call] = fake.calls("sendDocument")
    assert call.files["document"].data == b"hello" and call.params["chat_id"] == CHAT
    sent = await bot.send_document(CHAT, InputFile(b"abc", filename="b.txt"))
    assert sent.document is not None
    assert fake.calls("sendDocument")[-1].files["document"].filename == "b.txt"
    fake.assert_no_errors()


async def test_methods_not_modelled_are_validated_and_answered(fake: FakeBotApi, bot: Bot) -> None:
    chat = await bot.get_chat(CHAT)
    assert chat.id == CHAT and chat.type == "private"
    assert await bot.set_my_description("A bot that answers from a document.")
    assert (await bot.get_my_description()).description.startswith("A bot")
    assert await bot.pin_chat_message(CHAT, 1)
    assert await bot.close() and await bot.log_out()
    with pytest.raises(BadRequest, match=r"(?i)must be integer"):
        await bot.pin_chat_message(CHAT, "first")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Messages and Telegram's content rules
# ------------------------------------------------------------------------------------------


async def test_valid_html_message_is_recorded_as_visible_text(fake: FakeBotApi, bot: Bot) -> None:
    message = await bot.send_message(
        CHAT, "<b>Answer</b>: 1 &lt; 2 &amp; 3", parse_mode=ParseMode.HTML
    )
    assert message.text == "Answer: 1 < 2 & 3"
    assert message.entities[0].type == "bold" and message.entities[0].length == 6
    assert message.from_user is not None and message.from_user.username == "docs_test_bot"
    assert fake.sent_texts(CHAT) == ["Answer: 1 < 2 & 3"]
    [call] = fake.calls("sendMessage")
    assert call.ok and call.params["chat_id"] == CHAT and call.result["message_id"] == 1
    fake.assert_no_errors()


async def test_message_ids_increment_per_chat(bot: Bot) -> None:
    first = await bot.send_message(CHAT, "a")
    second = await bot.send_message(CHAT, "b")
    other = await bot.send_message(DEFAULT_GROUP_ID, "c")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert other.chat.type == "group"


async def test_limit_counts_visible_text_not_markup(fake: FakeBotApi, bot: Bot) -> None:
    accepted = await bot.send_message(CHAT, f"<b>{'a' * 4096}</b>", parse_mode=ParseMode.HTML)
    assert len(accepted.text) == 4096
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(CHAT, f"<b>{'a' * 4097}</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="empty"):
        await bot.send_message(CHAT, "<b> </b>\n", parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    "text",
    [
        "<p>paragraph</p>",
        "1 < 2",
        "Tom & Jerry",
        "a&nbsp;b",
        "<b>unclosed",
        "<b><i>crossing</b></i>",
        "<code><b>x</b></code>",
        "<blockquote><blockquote>x</blockquote></blockquote>",
    ],
)
async def test_malformed_html_is_a_bad_request(fake: FakeBotApi, bot: Bot, text: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert fake.errors[-1].status == 400
    assert fake.sent_messages() == []


@pytest.mark.parametrize(
    "text", ["plain", "😀 emoji", "a<b>&\"'", "x" * 4096, " padded ", "line\nbreak"]
)
async def test_escaped_text_round_trips_through_the_server(bot: Bot, text: str) -> None:
    message = await bot.send_message(CHAT, f"<b>{html.escape(text)}</b>", parse_mode="HTML")
    assert message.text == text.strip()  # Telegram trims the stored text


async def test_callback_data_limit_is_64_bytes_not_chars(fake: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(CHAT, "ok", reply_markup=_keyboard("é" * 32))  # 64 bytes
    await bot.send_message(CHAT, "ok", reply_markup=_keyboard("a" * 64))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "too long", reply_markup=_keyboard("é" * 33))  # 66 bytes
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "empty", reply_markup=_keyboard(""))


async def test_buttons_need_exactly_one_action_and_valid_urls(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unallowed"):
        await bot.send_message(
            CHAT, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("t")]])
        )
    with pytest.raises(BadRequest, match=r"(?i)url"):
        await bot.send_message(
            CHAT, "x", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("t", url="a b")]])
        )
    url_button = InlineKeyboardButton("docs", url="https://example.org/a?b=1")
    inline_button = InlineKeyboardButton("try", switch_inline_query_current_chat="q")
    await bot.send_message(
        CHAT, "ok", reply_markup=InlineKeyboardMarkup([[url_button, inline_button]])
    )


async def test_reply_parameters_quote_the_replied_message(fake: FakeBotApi, bot: Bot) -> None:
    pushed = fake.push_message("what is X?")
    asked = pushed["message"]
    reply = await bot.send_message(
        CHAT, "X is Y", reply_parameters=ReplyParameters(asked["message_id"])
    )
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "what is X?"
    with pytest.raises(BadRequest, match="replied not found"):
        await bot.send_message(CHAT, "x", reply_parameters=ReplyParameters(999))


async def test_legacy_reply_to_message_id_is_still_accepted(fake: FakeBotApi) -> None:
    asked = fake.push_message("question")["message"]
    async with httpx.AsyncClient() as client:
        response = await client.post(
            fake.url("sendMessage"),
            data={"chat_id": CHAT, "text": "answer", "reply_to_message_id": asked["message_id"]},
        )
    assert response.json()["result"]["reply_to_message"]["text"] == "question"


async def test_at_most_100_entities(bot: Bot) -> None:
    await bot.send_message(CHAT, "<b>a</b> " * 100, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)too many entities"):
        await bot.send_message(CHAT, "<b>a</b> " * 101, parse_mode=ParseMode.HTML)


async def test_edit_message_text_rules(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "one", reply_markup=_keyboard("k"))
    edited = await bot.edit_message_text("<i>two</i>", CHAT, sent.message_id, parse_mode="HTML")
    assert isinstance(edited, object) and fake.message(CHAT, sent.message_id)["text"] == "two"
    assert "reply_markup" not in fake.message(CHAT, sent.message_id)  # omitted = removed
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("<i>two</i>", CHAT, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("x", CHAT, 999)
    user_message = fake.push_message("mine")["message"]
    with pytest.raises(BadRequest, match="can't be edited"):
        await bot.edit_message_text("x", CHAT, user_message["message_id"])
    assert [m["text"] for m in fake.edited_messages(CHAT)] == ["two"]


async def test_set_my_commands_is_validated_and_recorded(fake: FakeBotApi, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "What I do"), BotCommand("help", "Help")])
    assert [c["command"] for c in fake.registered_commands()] == ["start", "help"]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    for bad in (BotCommand("Start", "x"), BotCommand("a" * 33, "x"), BotCommand("ok", "")):
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND"):
            await bot.set_my_commands([bad])
    with pytest.raises(BadRequest, match=r"(?i)TOO_MUCH"):
        await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])


async def test_chat_action_and_webhook_settings(fake: FakeBotApi, bot: Bot) -> None:
    assert await bot.send_chat_action(CHAT, "typing")
    with pytest.raises(BadRequest, match="action"):
        await bot.send_chat_action(CHAT, "dancing")
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook("https://example.org/hook", secret_token="bad secret!")
    assert await bot.set_webhook("https://example.org/hook", secret_token="Ab_9-x")
    assert fake.webhook is not None and fake.webhook["secret_token"] == "Ab_9-x"
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert fake.webhook is None and await bot.get_updates() == ()


# ------------------------------------------------------------------------------------------
# Inline and callback queries
# ------------------------------------------------------------------------------------------


async def test_inline_answer_limits(fake: FakeBotApi, bot: Bot) -> None:
    query_id = fake.push_inline_query("x")["inline_query"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)RESULTS_TOO_MUCH"):
        await bot.answer_inline_query(query_id, [_article(str(i)) for i in range(51)])
    with pytest.raises(BadRequest, match=r"(?i)RESULT_ID_DUPLICATE"):
        await bot.answer_inline_query(query_id, [_article("1"), _article("1")])
    with pytest.raises(BadRequest, match=r"(?i)RESULT_ID_INVALID"):
        await bot.answer_inline_query(query_id, [_article("é" * 33)])
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.answer_inline_query(query_id, [_article("1", "<b>x", ParseMode.HTML)])
    with pytest.raises(BadRequest, match=r"(?i)NEXT_OFFSET_INVALID"):
        await bot.answer_inline_query(query_id, [_article("1")], next_offset="9" * 65)
    assert fake.unanswered_inline_queries() == [query_id]
    assert await bot.answer_inline_query(query_id, [_article(str(i)) for i in range(50)])
    assert len(fake.inline_answers[query_id]["results"]) == 50
    with pytest.raises(BadRequest, match=r"(?i)QUERY_ID_INVALID"):
        await bot.answer_inline_query(query_id, [_article("1")])
    with pytest.raises(BadRequest, match=r"(?i)QUERY_ID_INVALID"):
        await bot.answer_inline_query("12345", [_article("1")])


async def test_inline_result_fields_are_checked_against_the_spec(fake: FakeBotApi) -> None:
    query_id = fake.push_inline_query("x")["inline_query"]["id"]
    async with httpx.AsyncClient() as client:
        no_content = await client.post(
            fake.url("answerInlineQuery"),
            json={
                "inline_query_id": query_id,
                "results": [{"type": "article", "id": "1", "title": "t"}],
            },
        )
        bad_type = await client.post(
            fake.url("answerInlineQuery"),
            json={"inline_query_id": query_id, "results": [{"type": "articel", "id": "1"}]},
        )
    assert no_content.status_code == 400
    assert "input_message_content" in no_content.json()["description"]
    assert bad_type.status_code == 400 and "articel" in bad_type.json()["description"]


async def test_callback_query_is_answered_once(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "pick", reply_markup=_keyboard("pick:1"))
    update = fake.push_callback_query("pick:1", message=fake.sent_messages()[-1])
    query = update["callback_query"]
    assert query["message"]["message_id"] == sent.message_id
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query["id"], text="x" * 201)
    assert await bot.answer_callback_query(query["id"], text="x" * 200)
    with pytest.raises(BadRequest, match=r"(?i)QUERY_ID_INVALID"):
        await bot.answer_callback_query(query["id"])
    assert fake.unanswered_callback_queries() == []
    with pytest.raises(ValueError, match="no button"):
        fake.push_callback_query("not-on-the-message", message=sent.to_dict())


# ------------------------------------------------------------------------------------------
# Updates
# ------------------------------------------------------------------------------------------


async def test_get_updates_returns_pushed_updates_and_honours_offset(
    fake: FakeBotApi, bot: Bot
) -> None:
    fake.push_message("/start deep", chat_type="private")
    fake.push_message("hi @docs_test_bot", chat_type="group", user_id=7)
    fake.push_photo(caption="a photo")
    updates = await bot.get_updates()
    assert len(updates) == 3
    start = updates[0].message
    assert start is not None and start.text == "/start deep"
    assert start.entities[0].type == "bot_command" and start.entities[0].length == 6
    group = updates[1].message
    assert group is not None and group.chat.type == "group" and group.entities[0].type == "mention"
    photo = updates[2].message
    assert photo is not None and photo.text is None and photo.photo
    again = await bot.get_updates(offset=updates[1].update_id, limit=1)
    assert [u.update_id for u in again] == [updates[1].update_id]
    assert len(fake.pending_updates) == 2
    assert await bot.get_updates(offset=updates[2].update_id + 1) == ()


async def test_long_poll_returns_early_on_push(fake: FakeBotApi, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for("getUpdates")
    fake.push_message("hello")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert time.monotonic() - started < 5


async def test_long_poll_waits_for_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3


async def test_allowed_updates_filters_kinds(fake: FakeBotApi, bot: Bot) -> None:
    fake.push_message("text")
    fake.push_inline_query("q")
    fake.push_channel_post("news")
    updates = await bot.get_updates(allowed_updates=["inline_query"])
    assert [u.inline_query.query for u in updates if u.inline_query] == ["q"]
    assert len(updates) == 1


async def test_update_builders_make_realistic_updates(fake: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(DEFAULT_GROUP_ID, "answer")
    fake.push_message("thanks", chat_type="group", reply_to=fake.sent_messages()[-1])
    original = fake.push_message("tpyo")["message"]
    fake.push_edited_message("typo", message=original)
    fake.push_channel_post("post")
    updates = [Update.de_json(u, bot) for u in fake.pending_updates]
    reply, _, edit, post = updates
    assert reply.message.reply_to_message.message_id == sent.message_id
    assert reply.message.chat.id == DEFAULT_GROUP_ID
    assert edit.edited_message.text == "typo" and edit.edited_message.edit_date is not None
    assert post.channel_post.sender_chat.type == "channel" and post.channel_post.from_user is None
    ids = [u.update_id for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 4


# ------------------------------------------------------------------------------------------
# Recording and waiting
# ------------------------------------------------------------------------------------------


async def test_wait_for_returns_matching_calls_and_explains_timeouts(
    fake: FakeBotApi, bot: Bot
) -> None:
    async def send_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(CHAT, "first")
        await bot.send_message(CHAT, "second")

    task = asyncio.create_task(send_later())
    calls = await fake.wait_for(
        "sendMessage", predicate=lambda c: c.params.get("text") == "second", timeout=5
    )
    await task
    assert [c.params["text"] for c in calls] == ["second"] and calls[0].ok
    with pytest.raises(AssertionError, match=r"(?s)expected 3 sendMessage.*got 2.*first"):
        await fake.wait_for("sendMessage", count=3, timeout=0.2)
    messages = await fake.wait_for_messages(2, chat_id=CHAT)
    assert [m["text"] for m in messages] == ["first", "second"]


async def test_errors_are_recorded_and_assertable(fake: FakeBotApi, bot: Bot) -> None:
    fake.assert_no_errors()
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "<x>", parse_mode="HTML")
    with pytest.raises(AssertionError, match="Unsupported start tag"):
        fake.assert_no_errors()


# ------------------------------------------------------------------------------------------
# Fault injection and flood limits
# ------------------------------------------------------------------------------------------


async def test_injected_429_is_retry_after(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as err:
        await bot.send_message(CHAT, "x")
    assert err.value.retry_after == dt.timedelta(seconds=7)
    await bot.send_message(CHAT, "x")  # only the next one failed
    assert fake.errors[-1].injected
    fake.assert_no_errors()  # injected faults are not the bot's fault


async def test_injected_403_and_server_errors(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(CHAT, "x")
    for status in (500, 502):
        fake.fail_next("*", status=status)
        with pytest.raises(NetworkError):
            await bot.send_message(CHAT, "x")
    fake.fail_next("sendMessage", status=429, count=2)
    for _ in range(2):
        with pytest.raises(RetryAfter):
            await bot.send_message(CHAT, "x")
    assert (await bot.send_message(CHAT, "fine")).text == "fine"


async def test_dropped_connection_and_delay(fake: FakeBotApi, bot: Bot) -> None:
    fake.fail_next("sendMessage", drop=True)
    with pytest.raises(NetworkError):
        await bot.send_message(CHAT, "x")
    assert fake.calls("sendMessage")[-1].dropped
    fake.fail_next("sendMessage", delay=1.0)
    with pytest.raises(TimedOut):
        await bot.send_message(CHAT, "slow", read_timeout=0.2)
    await fake.wait_for("sendMessage", predicate=lambda c: c.ok, timeout=3)
    assert fake.sent_texts() == ["slow"]  # Telegram may deliver what timed out for the client


async def test_flood_limits_per_private_chat() -> None:
    now = [1000.0]
    async with (
        FakeBotApi(flood_limits=True, clock=lambda: now[0]) as fake,
        Bot(fake.token, base_url=fake.base_url) as bot,
    ):
        for i in range(3):
            await bot.send_message(CHAT, f"burst {i}")
        with pytest.raises(RetryAfter) as err:
            await bot.send_message(CHAT, "too fast")
        assert err.value.retry_after == dt.timedelta(seconds=1)
        await bot.send_message(CHAT + 1, "another chat is fine")
        now[0] += 1.0
        await bot.send_message(CHAT, "after a second")
        assert len(fake.flood_429s) == 1 and fake.flood_429s[0].status == 429


async def test_flood_limits_per_group_and_overall() -> None:
    now = [1000.0]
    async with (
        FakeBotApi(flood_limits=True, clock=lambda: now[0]) as fake,
        Bot(fake.token, base_url=fake.base_url) as bot,
    ):
        for i in range(20):
            await bot.send_message(DEFAULT_GROUP_ID, f"g{i}")
            now[0] += 0.5
        with pytest.raises(RetryAfter) as err:
            await bot.send_message(DEFAULT_GROUP_ID, "21st in a minute")
        assert dt.timedelta(seconds=1) <= err.value.retry_after <= dt.timedelta(seconds=60)
        now[0] += 60
        for i in range(30):
            await bot.send_message(5000 + i, "one each")
        with pytest.raises(RetryAfter):
            await bot.send_message(6000, "31st in a second")
        assert await bot.send_chat_action(6000, "typing")  # not a message: not counted
        assert len(fake.flood_429s) == 2


# ------------------------------------------------------------------------------------------
# A real PTB Application against the fake
# ------------------------------------------------------------------------------------------


def _build_app(fake: FakeBotApi, errors: list[BaseException]) -> Application:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(
            f"Hello <b>{html.escape(update.effective_user.first_name)}</b>",
            reply_markup=_keyboard("more"),
        )

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text("More <i>text</i>", parse_mode="HTML")

    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        await update.inline_query.answer([_article("1", "<b>hit</b>", ParseMode.HTML)])

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        errors.append(context.error or RuntimeError("unknown"))

    app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more, pattern="^more$"))
    app.add_handler(InlineQueryHandler(inline))
    app.add_error_handler(on_error)
    return app


async def test_ptb_application_polls_and_replies(fake: FakeBotApi) -> None:
    errors: list[BaseException] = []
    app = _build_app(fake, errors)
    async with app:
        await app.updater.start_polling(timeout=1, poll_interval=0)
        await app.start()
        try:
            fake.push_message("/start", first_name="Zoë <3")
            [reply] = await fake.wait_for_messages(1, chat_id=CHAT)
            assert reply["text"] == "Hello Zoë <3"
            fake.push_callback_query("more", message=reply)
            await fake.wait_for("editMessageText", predicate=lambda c: c.ok)
            fake.push_inline_query("anything")
            await fake.wait_for("answerInlineQuery", predicate=lambda c: c.ok)
        finally:
            await app.updater.stop()
            await app.stop()
    assert errors == []
    fake.assert_no_errors()
    assert fake.unanswered_callback_queries() == [] and fake.unanswered_inline_queries() == []
    assert fake.message(CHAT, reply["message_id"])["text"] == "More text"
    assert [c.method for c in fake.calls()][:2] == ["getMe", "deleteWebhook"]
    assert fake.pending_updates == []  # the shutdown getUpdates confirmed everything


async def test_ptb_webhook_receives_posted_updates(fake: FakeBotApi) -> None:
    errors: list[BaseException] = []
    app = _build_app(fake, errors)
    port = _free_port()
    hook = f"http://127.0.0.1:{port}/hook"
    async with app:
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="hook", webhook_url=hook, secret_token="s3"
        )
        await app.start()
        try:
            assert fake.webhook is not None and fake.webhook["url"] == hook
            update = fake.push_message("/start")
            assert await fake.post_update_to_webhook(update, secret_token="wrong") == 403
            assert await fake.post_update_to_webhook(update, secret_token=None) == 403
            assert await fake.post_update_to_webhook(update) == 200
            await fake.wait_for_messages(1)
        finally:
            await app.updater.stop()
            await app.stop()
    assert errors == []
    fake.assert_no_errors()
