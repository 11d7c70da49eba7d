"""One function per handler, and `register` that wires them in one place.

Every text that reaches Telegram comes from bot.render, which escapes it and keeps it within
Telegram's limits; handlers only decide what to answer and where.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import render, report
from bot.answer import Answer, Excerpt
from bot.render import Keyboard, Rendered
from bot.telegram import ops
from bot.telegram.inbox import Job
from bot.telegram.state import BotState

if TYPE_CHECKING:
    from bot.search import Engine

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

INLINE_PAGE = 10
INLINE_MAX = 50  # Telegram shows at most 50 results per query, all pages together
INLINE_CACHE_SECONDS = 10
EXPIRED = "That answer expired, ask again"
THANKS = "Thanks for the feedback"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
EXPECTED_ERRORS = (TimedOut, NetworkError, Forbidden, RetryAfter)

# (command, description) for setMyCommands: all in private chats, only /ask in groups.
COMMANDS = (
    ("start", "What I know, with example questions"),
    ("help", "How to ask, buttons, groups and inline mode"),
    ("faq", "Questions the article answers"),
    ("source", "The documents, newest first: title, publisher, date, size"),
    ("ask", "Ask a question (works in groups)"),
    ("forget", "Delete my questions and votes from the bot's log"),
)
GROUP_COMMANDS = (("ask", "Ask a question about the article"),)
# Shown only to admins (setMyCommands with each admin's chat scope), on top of COMMANDS.
ADMIN_COMMANDS = (
    ("stats", "Admin: questions today, share answered, top unanswered"),
    ("reload", "Admin: rebuild the index from the seeds and swap it in"),
)
MAX_RETRIES = 3  # 429s waited out, by the AIORateLimiter or, without one, by `send` itself
BUSY_UPDATES = 4  # updates in hand at once above which "typing" is shed (see lightly_loaded)
STATS_FLUSH_SECONDS = 2.0

HINT_EDITED = "I only read new messages: send the corrected question as a new message."
HINT_NOT_TEXT = "Send me your question as text, and I'll answer from the article."
HINT_UNKNOWN_COMMAND = "I don't know that command. /help lists what I do."
HINT_ASK = "Ask like this: /ask Who took Homs?"
HINT_MENTION = "Ask me about the article: mention me with a question, or use /ask <question>."
SORRY = "Sorry, something went wrong. Please try again."
FLOOD_NOTICE = (
    "You're sending messages faster than I can answer, so I'll answer only your latest one."
)


Handler = Callable[[Update, Context], Awaitable[None]]


def bot_commands(pairs: tuple[tuple[str, str], ...]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in pairs]


# ----------------------------------------------------------------------------- helpers


def _state(context: Context) -> BotState:
    return context.bot_data["state"]


def markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    """The render layer's plain keyboard as PTB objects."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    b.text,
                    callback_data=b.callback_data,
                    switch_inline_query_current_chat=b.switch_inline_query_current_chat,
                    url=b.url,
                )
                for b in row
            ]
            for row in keyboard
        ]
    )


async def send(
    context: Context | Bot,
    chat_id: int,
    rendered: Rendered,
    reply_to: int | None = None,
    thread_id: int | None = None,
) -> Message:
    """Send a rendered message; as a reply when `reply_to` (still sent if that was deleted),
    in forum topic `thread_id` when the message answered was in one."""
    bot = context if isinstance(context, Bot) else context.bot
    reply = None
    if reply_to is not None:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True)
    for attempt in range(MAX_RETRIES + 1):
        try:
            return await bot.send_message(
                chat_id,
                rendered.html,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(rendered.keyboard),
                link_preview_options=NO_PREVIEW,
                reply_parameters=reply,
                message_thread_id=thread_id,
            )
        except RetryAfter as exc:
            # The AIORateLimiter waits out a 429 itself; without one, the reply must not be lost
            # to flood control either, so wait as told and send again.
            if bot.rate_limiter is not None or attempt == MAX_RETRIES:
                raise
            await asyncio.sleep(_seconds(exc.retry_after))
    raise AssertionError("unreachable")  # the loop returns or raises


def _seconds(value: int | timedelta) -> float:
    """RetryAfter.retry_after is a timedelta with PTB_TIMEDELTA set, else an int."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _thread(message: object) -> int | None:
    """The forum topic of a message, so answers land in the topic the question came from."""
    if isinstance(message, Message) and message.is_topic_message:
        return message.message_thread_id
    return None


async def reply(context: Context, message: Message, rendered: Rendered) -> Message:
    """Answer a message: in groups as a reply to it (so the asker sees it), plainly in private."""
    private = message.chat.type == ChatType.PRIVATE
    reply_to = None if private else message.message_id
    return await send(context, message.chat.id, rendered, reply_to, _thread(message))


def render_fresh(state: BotState, answer: Answer) -> tuple[Rendered, str | None]:
    """Render an answer, keeping it in the cache when it has buttons that refer back to it;
    returns the message and its key. A refused answer is not cached, but has a key too: its
    suggestion buttons carry it, so a tap links the question to the entry (`record_link`)."""
    key = state.cache.put(answer) if answer.answered else state.cache.new_key()
    return render.render_answer(answer, state.engine.documents, key), key


def log_question(
    state: BotState,
    question: str,
    answer: Answer,
    chat_type: str,
    user_id: int | None,
    key: str | None,
) -> None:
    """Hand a question to the question log. `record` only queues the row (a writer thread
    commits it), so this never delays the reply; it runs before the reply is sent, so every
    answered question has its row even when the bot is stopped right after."""
    if state.log is None:
        return
    try:
        state.log.record(
            question=question, answer=answer, chat_type=chat_type, user_id=user_id, answer_key=key
        )
    except RuntimeError as exc:  # the log was closed under a late update: say so, still answer
        log.warning("question not logged: %s", exc)


def _user_id(message: Message) -> int | None:
    return message.from_user.id if message.from_user else None


def lightly_loaded(context: Context) -> bool:
    """Whether only a few people's jobs are running at once (this one included).

    Busy (a burst, or replies held back by Telegram's flood limits), the bot answers first and
    sheds the cosmetic "typing": each one is a Bot API request, which the rate limiter counts
    against the overall rate like a message, so shedding it doubles the answers a burst gets
    per second.
    """
    return _state(context).inbox.running <= BUSY_UPDATES


# ----------------------------------------------------------------------------- per person


def _person(update: Update) -> tuple[int, int]:
    """Whose queue an update joins: its chat and its sender (in a group, each member's own)."""
    chat, user = update.effective_chat, update.effective_user
    return (chat.id if chat else 0, user.id if user else 0)


def enqueue(
    update: Update, context: Context, work: Callable[[], Awaitable[object]], keep: bool = False
) -> None:
    """Hand `work` to the sender's queue (bot.telegram.inbox) and return at once, so that no
    update waiting for its chat's flood limit holds one of PTB's update slots. Its errors reach
    the error handlers as a handler's would."""

    async def run() -> None:
        try:
            await work()
        except Exception as exc:
            await context.application.process_error(update, exc)

    async def drop() -> None:
        await on_dropped(update, context)

    _state(context).inbox.submit(_person(update), Job(run, drop, keep))


def per_person(handler: Handler, keep: bool = False) -> Handler:
    """The handler, run in the sender's queue instead of in PTB's update slot (`enqueue`);
    `keep`: never dropped by a flood's coalescing (what a person must not lose, as /forget)."""

    @functools.wraps(handler)
    async def queued(update: Update, context: Context) -> None:
        enqueue(update, context, lambda: handler(update, context), keep)

    return queued


async def on_dropped(update: Update, context: Context) -> None:
    """An update dropped from a flooding person's queue (the inbox counts it, /stats shows the
    count): a pressed button still gets its query answered, or it would spin."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def notify_flood(app: Application, person: tuple[int, int]) -> None:
    """Tell a flooding person, once in a while, that only their latest message is answered."""
    await send(app.bot, person[0], render.render_text(FLOOD_NOTICE))


async def answer_question(context: Context, message: Message, question: str) -> None:
    """The core of every chat: typing in private chats, ask the engine, log, reply."""
    state = _state(context)
    if message.chat.type == ChatType.PRIVATE and lightly_loaded(context):
        await context.bot.send_chat_action(message.chat.id, ChatAction.TYPING)
    answer = state.engine.ask(question)
    log.debug("answered=%s confidence=%.2f", answer.answered, answer.confidence)
    rendered, key = render_fresh(state, answer)
    log_question(state, question, answer, message.chat.type, _user_id(message), key)
    await reply(context, message, rendered)


async def answer_faq(
    context: Context,
    chat: Chat,
    user_id: int | None,
    faq_id: str,
    reply_to: int | None,
    thread_id: int | None,
    linked_from: str | None = None,
) -> bool:
    """Send a FAQ entry's own answer; False when there is no such entry (any more).

    Logged as the entry's question, so votes on it and the report's FAQ counts see it.
    `linked_from`: the key of the answer whose suggestion button was tapped, so the log links
    that question to this entry (`record_link`).
    """
    state = _state(context)
    answer = state.engine.answer_faq(faq_id)
    if answer is None:
        return False
    rendered, key = render_fresh(state, answer)
    log_question(state, answer.query, answer, chat.type, user_id, key)
    if linked_from:
        record_link(state, user_id, linked_from, faq_id, key)
    await send(context, chat.id, rendered, reply_to, thread_id)
    return True


def record_link(
    state: BotState, user_id: int | None, key: str, faq_id: str, shown_key: str | None
) -> None:
    """The question answered under `key` led the person to FAQ entry `faq_id` (a suggestion
    tapped): `faq suggest` proposes such questions as the entry's phrasings, unless the answer
    the tap sent (`shown_key`) got a 👎."""
    if state.log is None:
        return
    try:
        state.log.record_link(answer_key=key, faq_id=faq_id, user_id=user_id, shown_key=shown_key)
    except RuntimeError as exc:
        log.warning("link not logged: %s", exc)


def record_feedback(state: BotState, user_id: int | None, key: str, helpful: bool) -> None:
    """Where 👍/👎 end up: the question log, which joins the vote to the question by `key`
    (so a vote counts even after the answer fell out of the cache)."""
    log.debug("feedback %s on answer %s", "up" if helpful else "down", key)
    if state.log is None:
        return
    try:
        state.log.record_feedback(answer_key=key, user_id=user_id, vote=1 if helpful else -1)
    except RuntimeError as exc:
        log.warning("vote not logged: %s", exc)


def addressed_question(message: Message, username: str, bot_id: int) -> str | None:
    """The question in a group message meant for the bot, else None (the bot stays silent).

    Meant for the bot: it mentions @username, or it replies to one of the bot's messages.
    """
    text = message.text or ""
    entities = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    if any(
        value[1:].lower() == username.lower()
        if entity.type == MessageEntity.MENTION
        else entity.user is not None and entity.user.id == bot_id
        for entity, value in entities.items()
    ):
        return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text.strip()
    return None


# ----------------------------------------------------------------------------- commands


async def on_start(update: Update, context: Context) -> None:
    """/start, and deep links `t.me/<bot>?start=faq_<id>` that open on one FAQ answer."""
    message = update.effective_message
    state = _state(context)
    payload = context.args[0] if context.args else ""
    if payload.startswith("faq_") and await answer_faq(
        context, message.chat, _user_id(message), payload.removeprefix("faq_"), None, None
    ):
        return
    examples = state.engine.faq_list()[:3]
    await reply(context, message, render.render_start(state.engine.documents, examples))


async def on_help(update: Update, context: Context) -> None:
    """/help: commands, buttons, groups, inline mode."""
    await reply(context, update.effective_message, render.render_help(context.bot.username))


async def on_faq(update: Update, context: Context) -> None:
    """/faq: the first page of prepared questions; ◀ ▶ turn pages in place."""
    faqs = _state(context).engine.faq_list()
    await reply(context, update.effective_message, render.render_faq_page(faqs, 0))


async def on_source(update: Update, context: Context) -> None:
    """/source: what the answers come from, newest first; ◀ ▶ turn pages in place."""
    documents = _state(context).engine.documents
    await reply(context, update.effective_message, render.render_source_page(documents, 0))


async def on_ask(update: Update, context: Context) -> None:
    """/ask <question>, the way to ask in a group (works in private chats too)."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1)
    question = parts[1].strip() if len(parts) > 1 else ""
    if not question:
        await reply(context, message, render.render_text(HINT_ASK))
        return
    await answer_question(context, message, question)


FORGET_SECONDS = 60.0  # how long /forget waits for the log's writer before saying "shortly"
FORGET_LATER = "My log is busy: your questions and votes will be removed from it shortly."
FORGET_UNAVAILABLE = "My question log is not available right now. Please try again later."


def forgotten_text(questions: int, votes: int) -> str:
    """The /forget confirmation, counting what went."""
    vote_word = "vote" if votes == 1 else "votes"
    return f"Done: I removed {questions} of your questions and {votes} {vote_word} from my log."


async def on_forget(update: Update, context: Context) -> None:
    """/forget (private chats): delete the sender's questions and votes from the question log.

    It runs in the sender's queue, after the messages they sent before it, and the log deletes
    after the rows already queued: a question asked a moment before /forget goes too.
    """
    message = update.effective_message
    question_log, user_id = _state(context).log, _user_id(message)
    if question_log is None or user_id is None:
        text = FORGET_UNAVAILABLE
    else:
        try:
            gone = await question_log.aforget(user_id, timeout=FORGET_SECONDS)
        except TimeoutError:  # still queued in the writer: it happens once the log is writable
            text = FORGET_LATER
        except RuntimeError:  # the log was closed under a late update
            text = FORGET_UNAVAILABLE
        else:
            log.info("forget: removed %d rows from the question log", gone.rows)
            text = forgotten_text(gone.questions, gone.votes)
    await reply(context, message, render.render_text(text))


async def on_unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not have, in a private chat (admin commands from anyone else
    land here too, so to them the commands do not exist)."""
    await reply(context, update.effective_message, render.render_text(HINT_UNKNOWN_COMMAND))


def _from_admin(update: Update, state: BotState) -> bool:
    """The sender's user id is in the config's admins, in a private chat. The handlers check it
    again though `register` already filters on it: an admin command must never answer because of
    a wiring mistake."""
    user, chat = update.effective_user, update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    return private and state.is_admin(user.id if user else None)


def admin_only(handler: Handler) -> Handler:
    """To anyone but an admin the command does not exist: the unknown-command hint instead."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: Context) -> None:
        if not _from_admin(update, _state(context)):
            await on_unknown_command(update, context)
            return
        await handler(update, context)

    return guarded


@admin_only
async def on_stats(update: Update, context: Context) -> None:
    """/stats (admins): today's questions, the share answered, the top unanswered ones."""
    state = _state(context)
    question_log = state.log
    path = state.config.log_db

    def read() -> str:
        if question_log is not None:  # so the questions asked a moment ago count too
            question_log.flush(timeout=STATS_FLUSH_SECONDS)
        return report.short_stats(path)

    try:
        text = await asyncio.to_thread(read)
    except report.LogError as exc:
        text = f"Cannot read the question log: {exc}"
    inbox = state.inbox
    text += f"\nDropped in floods since start: {inbox.dropped} (people queued now: {inbox.people})"
    await reply(context, update.effective_message, render.render_text(text))


@admin_only
async def on_reload(update: Update, context: Context) -> None:
    """/reload (admins): rebuild the index from the seeds and swap it in, or say why not."""
    state = _state(context)
    user = update.effective_user
    log.info("reload asked by admin %s", user.id if user else None)
    outcome = await ops.reload_engine(state)
    await reply(context, update.effective_message, render.render_text(outcome.message))


# ----------------------------------------------------------------------------- messages


async def on_private_text(update: Update, context: Context) -> None:
    """Any text in a private chat is a question."""
    message = update.effective_message
    await answer_question(context, message, message.text or "")


async def on_group_text(update: Update, context: Context) -> None:
    """In groups, answer only what is meant for the bot; stay silent on the chatter. Only
    what is meant for the bot joins the sender's queue, so chatter never crowds it out."""
    message = update.effective_message
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is None:
        return
    if not question:
        enqueue(update, context, lambda: reply(context, message, render.render_text(HINT_MENTION)))
        return
    enqueue(update, context, lambda: answer_question(context, message, question))


async def on_private_other(update: Update, context: Context) -> None:
    """A photo, sticker, voice... in a private chat: say what the bot reads."""
    await reply(context, update.effective_message, render.render_text(HINT_NOT_TEXT))


async def on_private_edit(update: Update, context: Context) -> None:
    """An edited message in a private chat: answers are not edited, so ask to resend."""
    await reply(context, update.effective_message, render.render_text(HINT_EDITED))


# ----------------------------------------------------------------------------- buttons
# Each callback handler answers its query exactly once, whatever happens next.


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the pressed button's message is, so the bot's answer goes beside it."""

    chat: Chat
    message_id: int
    thread_id: int | None

    @property
    def chat_id(self) -> int:
        return self.chat.id


def _origin(update: Update) -> Origin | None:
    """The message whose button was pressed, or None when unreachable (an inline message)."""
    message = update.callback_query.message
    if message is None:
        return None
    return Origin(message.chat, message.message_id, _thread(message))


async def on_more(update: Update, context: Context) -> None:
    """"More": the next page of excerpts for a cached answer, as a new message."""
    query = update.callback_query
    parsed = render.parse_callback(query.data or "")
    answer = _state(context).cache.get(parsed.key) if parsed else None
    origin = _origin(update)
    if parsed is None or answer is None or origin is None:
        await query.answer(EXPIRED)
        return
    await query.answer()
    documents = _state(context).engine.documents
    rendered = render.render_answer(answer, documents, parsed.key, parsed.page)
    await send(context, origin.chat_id, rendered, origin.message_id, origin.thread_id)


async def on_context(update: Update, context: Context) -> None:
    """"Context": the whole paragraph around the top excerpt, its sentence in bold."""
    query = update.callback_query
    parsed = render.parse_callback(query.data or "")
    engine = _state(context).engine
    sentence = engine.sentences.get(parsed.sentence_id) if parsed else None
    origin = _origin(update)
    if sentence is None or origin is None:
        await query.answer("That passage is no longer available, ask again")
        return
    await query.answer()
    excerpt = Excerpt(
        sentence.text, sentence.document, sentence.paragraph, sentence.sentence, 1.0, sentence.id
    )
    paragraph = engine.paragraph(sentence.document, sentence.paragraph)
    rendered = render.render_context(sentence.text, paragraph, excerpt, engine.documents)
    await send(context, origin.chat_id, rendered, origin.message_id, origin.thread_id)


async def on_vote(update: Update, context: Context) -> None:
    """👍 / 👎: thank, and hand the vote to `record_feedback`."""
    query = update.callback_query
    parsed = render.parse_callback(query.data or "")
    if parsed is not None:
        record_feedback(_state(context), query.from_user.id, parsed.key, parsed.kind == "up")
    await query.answer(THANKS)


async def on_faq_button(update: Update, context: Context) -> None:
    """A suggested or listed question: send that FAQ entry's answer."""
    query = update.callback_query
    parsed = render.parse_callback(query.data or "")
    origin = _origin(update)
    faq_id = parsed.faq_id if parsed else ""
    if origin is None or _state(context).engine.answer_faq(faq_id) is None:
        await query.answer("That question is no longer in the list")
        return
    await query.answer()
    user_id = query.from_user.id
    await answer_faq(context, origin.chat, user_id, faq_id, origin.message_id, origin.thread_id,
                     linked_from=parsed.key or None)


async def on_faq_page(update: Update, context: Context) -> None:
    """◀ ▶ on the /faq list: show another page in the same message."""
    query = update.callback_query
    parsed = render.parse_callback(query.data or "")
    await query.answer()
    faqs = _state(context).engine.faq_list()
    await turn_page(query, render.render_faq_page(faqs, parsed.page if parsed else 0))


async def on_source_page(update: Update, context: Context) -> None:
    """◀ ▶ on the /source list: show another page of documents in the same message."""
    query = update.callback_query
    parsed = render.parse_callback(query.data or "")
    await query.answer()
    documents = _state(context).engine.documents
    await turn_page(query, render.render_source_page(documents, parsed.page if parsed else 0))


async def turn_page(query: CallbackQuery, rendered: Rendered) -> None:
    """Edit a paged list's message to `rendered`, unless that page is already shown (a double
    tap on a stale keyboard), since Telegram refuses an edit that changes nothing."""
    shown = query.message
    if isinstance(shown, Message) and shown.text == render.visible_text(rendered.html).strip():
        return  # that page is already shown (pressed twice): Telegram would refuse the edit
    try:
        await query.edit_message_text(
            rendered.html,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(rendered.keyboard),
            link_preview_options=NO_PREVIEW,
        )
    except BadRequest as exc:  # pressed twice: the page is already shown
        if "not modified" not in str(exc).lower():
            raise


async def on_unknown_button(update: Update, context: Context) -> None:
    """Buttons from an older version of the bot, or data it never made."""
    await update.callback_query.answer("This button no longer works, ask again")


# ----------------------------------------------------------------------------- inline


@dataclass(frozen=True, slots=True)
class InlineItem:
    """One inline result before rendering; `make` renders it only if its page is asked for."""

    id: str
    make: Callable[[], tuple[str, str, Rendered]]  # (title, description, message)


def inline_items(engine: Engine, text: str, answer: Answer | None) -> list[InlineItem]:
    """Results for an inline query, best first, at most 50: FAQ entries for an empty query;
    else the FAQ answer (if one leads) then each excerpt on its own; else "nothing matches".
    `answer` is the engine's answer to `text` (None for an empty query)."""
    documents = engine.documents

    def faq_item(faq_id: str, question: str) -> InlineItem:
        def make() -> tuple[str, str, Rendered]:
            answer = engine.answer_faq(faq_id)
            if answer is None:
                return question, "", render.render_text(render.NOT_FOUND)
            top = answer.excerpts[0] if answer.excerpts else None
            description = render.citation_text(top, documents) if top else ""
            return question, description, render.render_answer(answer, documents)

        return InlineItem(f"f:{faq_id}", make)

    if answer is None:
        return [faq_item(s.id, s.question) for s in engine.faq_list()[:INLINE_MAX]]
    if not answer.answered:
        no_match = ("Nothing in the article matches", "Try other words, or /faq in the chat",
                    render.render_no_match(text))
        return [InlineItem("none", lambda: no_match)]
    items: list[InlineItem] = []
    if answer.faq is not None:
        faq, top = answer.faq, answer.excerpts[0] if answer.excerpts else None
        description = render.citation_text(top, documents) if top else ""
        rendered = render.render_answer(answer, documents)
        items.append(InlineItem(f"f:{faq.id}", lambda: (faq.question, description, rendered)))
    seen: set[int] = set()
    for excerpt in render.all_excerpts(answer):
        if excerpt.sentence_id in seen or len(items) >= INLINE_MAX:
            continue
        seen.add(excerpt.sentence_id)

        def make(e: Excerpt = excerpt) -> tuple[str, str, Rendered]:
            title = render.shorten(e.text.strip(), 80) or "Excerpt"
            return (title, render.citation_text(e, documents),
                    render.render_excerpt(answer, e, documents))

        items.append(InlineItem(f"s:{excerpt.sentence_id}", make))
    return items


async def on_inline_query(update: Update, context: Context) -> None:
    """`@bot question` in any chat: cited answers to share, ten per page."""
    query = update.inline_query
    try:
        page = max(0, int(query.offset or 0))
    except ValueError:
        page = 0
    state = _state(context)
    engine, text = state.engine, query.query.strip()
    answer = engine.ask(text) if text else None
    user_id = query.from_user.id
    # Logged once: the first page only (later pages are scrolling), and not again when
    # Telegram re-sends the same text for the same person.
    if answer is not None and page == 0 and state.inline_seen.first_time(user_id, text):
        log_question(state, text, answer, "inline", user_id, None)
    items = inline_items(engine, text, answer)
    results = []
    for item in items[page * INLINE_PAGE : (page + 1) * INLINE_PAGE]:
        title, description, rendered = item.make()
        results.append(
            InlineQueryResultArticle(
                item.id,
                render.shorten(" ".join(title.split()), 100) or "Answer",
                InputTextMessageContent(
                    rendered.html, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                ),
                description=description or None,
            )
        )
    more = (page + 1) * INLINE_PAGE < len(items)
    await query.answer(
        results,
        cache_time=INLINE_CACHE_SECONDS,
        is_personal=False,
        next_offset=str(page + 1) if more else "",
    )


# ----------------------------------------------------------------------------- errors


def _describe(update: object) -> str:
    """Where an error happened, without the user's text."""
    if not isinstance(update, Update):
        return "polling" if update is None else type(update).__name__
    kind = next(
        (k for k in ("message", "edited_message", "callback_query", "inline_query",
                     "channel_post") if getattr(update, k, None) is not None),
        "update",
    )
    chat = update.effective_chat
    where = f" in {chat.type} chat {chat.id}" if chat else ""
    return f"update {update.update_id} ({kind}{where})"


async def on_error(update: object, context: Context) -> None:
    """Expected trouble (network, blocked by the user, flood control) is one log line; anything
    else gets a traceback. In a private chat the user hears that something went wrong."""
    error = context.error
    where = _describe(update)
    if isinstance(error, EXPECTED_ERRORS):
        log.warning("%s while handling %s: %s", type(error).__name__, where, error)
    else:
        log.error("unexpected error while handling %s", where, exc_info=error)
    if isinstance(error, Forbidden) or not isinstance(update, Update):
        return
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        try:
            await send(context, chat.id, render.render_text(SORRY))
        except TelegramError as exc:
            log.warning("could not tell chat %s about the error: %s", chat.id, exc)


# ----------------------------------------------------------------------------- wiring


def _state_of(app: Application) -> BotState:
    return app.bot_data["state"]


def register(app: Application) -> None:
    """Every handler, in the order they are tried (first match wins). What sends into a chat
    runs in the sender's queue (`per_person`); what only answers a query runs in PTB's slot."""
    q = per_person
    new = filters.UpdateType.MESSAGE
    private = filters.ChatType.PRIVATE
    private_new = private & new
    for name, callback in (
        ("start", on_start),
        ("help", on_help),
        ("faq", on_faq),
        ("source", on_source),
    ):
        app.add_handler(CommandHandler(name, q(callback), filters=private_new))
    # Private only (in groups no handler matches, so silence); never lost to a flood.
    app.add_handler(CommandHandler("forget", q(on_forget, keep=True), filters=private_new))
    app.add_handler(CommandHandler("ask", q(on_ask), filters=new))
    admins = filters.User(user_id=_state_of(app).config.admins)
    # Not an admin, or not in a private chat: no handler matches, so /stats and /reload get
    # the unknown-command hint in private chats and silence in groups, like any unknown command.
    app.add_handler(CommandHandler("stats", q(on_stats), filters=private_new & admins))
    app.add_handler(CommandHandler("reload", q(on_reload), filters=private_new & admins))
    app.add_handler(MessageHandler(private_new & filters.COMMAND, q(on_unknown_command)))
    app.add_handler(MessageHandler(private_new & filters.TEXT, q(on_private_text)))
    app.add_handler(  # queues only what is meant for the bot, itself
        MessageHandler(filters.ChatType.GROUPS & new & filters.TEXT & ~filters.COMMAND,
                       on_group_text)
    )
    app.add_handler(MessageHandler(private_new, q(on_private_other)))
    app.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, q(on_private_edit))
    )
    app.add_handler(CallbackQueryHandler(q(on_more), pattern=r"^more:"))
    app.add_handler(CallbackQueryHandler(q(on_context), pattern=r"^ctx:"))
    app.add_handler(CallbackQueryHandler(on_vote, pattern=r"^(up|down):"))
    app.add_handler(CallbackQueryHandler(q(on_faq_button), pattern=r"^faq:"))
    app.add_handler(CallbackQueryHandler(q(on_faq_page), pattern=r"^faqpage:"))
    app.add_handler(CallbackQueryHandler(q(on_source_page), pattern=r"^srcpage:"))
    app.add_handler(CallbackQueryHandler(on_unknown_button))
    app.add_handler(InlineQueryHandler(on_inline_query))
    app.add_error_handler(on_error)
