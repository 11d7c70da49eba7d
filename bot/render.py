"""Answer -> Telegram HTML text and a keyboard as plain data.

No `telegram` import: these are pure functions, so the CLI and the tests can use them too.

Why text is built from *runs* (a piece of raw text plus the tag around it) and escaped only at the
end: each piece between two tags is escaped on its own, so a highlight can never cut an entity
such as `&amp;`, and the visible length of a message is the sum of the raw pieces' lengths. That
makes the 4,096-character budget exact rather than a guess made on markup.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.answer import Answer, DocumentInfo, Excerpt, Suggestion
from bot.search.rerank import date_key

MAX_VISIBLE = 4096  # Telegram's limit on a message's text after entity parsing
MAX_ENTITIES = 100  # Telegram's limit on formatting entities in one message
MAX_CALLBACK_BYTES = 64
SHOWN = 3  # excerpts per message; the rest wait behind "More"
FAQ_PER_PAGE = 8
SOURCE_PER_PAGE = 10
ELLIPSIS = "…"
NOT_FOUND = "The article doesn't say."
# Caps on strings shown whole (never shrunk later), so the shrinkable parts always keep room.
TITLE_CAP, PUBLISHER_CAP, DATE_CAP, QUESTION_CAP, BUTTON_CAP = 100, 60, 40, 200, 60
# An inline result's description shows one line on desktop (about 50 characters) and two or
# three on phones: the title is capped so "— ¶12, " and the title fit the first line.
DESCRIPTION_TITLE_CAP = 40


Documents = Mapping[str, DocumentInfo]


# --------------------------------------------------------------------------- keyboards


def check_callback_data(data: str) -> str:
    """Telegram refuses callback data outside 1-64 bytes: fail here, loudly, not in production."""
    size = len(data.encode("utf-8"))
    if not 1 <= size <= MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data must be 1-{MAX_CALLBACK_BYTES} bytes, got {size}")
    return data


@dataclass(frozen=True, slots=True)
class Button:
    """An inline keyboard button with exactly one action, as Telegram requires."""

    text: str
    callback_data: str | None = None
    switch_inline_query_current_chat: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        actions = (self.callback_data, self.switch_inline_query_current_chat, self.url)
        if sum(a is not None for a in actions) != 1:
            raise ValueError("a button needs exactly one action")
        if not self.text.strip():
            raise ValueError("a button needs a text")
        if self.callback_data is not None:
            check_callback_data(self.callback_data)


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready to send: HTML text (parse_mode HTML) and its inline keyboard."""

    html: str
    keyboard: Keyboard = ()


# Callback data formats, built and parsed only here.
def cb_more(key: str, page: int) -> str:
    return check_callback_data(f"more:{key}:{page}")


def cb_context(sentence_id: int) -> str:
    return check_callback_data(f"ctx:{sentence_id}")


def cb_vote(key: str, up: bool) -> str:
    return check_callback_data(f"{'up' if up else 'down'}:{key}")


def cb_faq(faq_id: str, key: str | None = None) -> str:
    """`faq:<id>`, or `faq:<id>:<key>` for a suggestion under an answer: `key` is that answer's,
    so the question log can link the question to the entry the person chose. The key is dropped
    when it would not fit in 64 bytes (the button still answers, unlinked)."""
    if key:
        linked = f"faq:{faq_id}:{key}"
        if len(linked.encode("utf-8")) <= MAX_CALLBACK_BYTES:
            return linked
    return check_callback_data(f"faq:{faq_id}")


def cb_faq_page(page: int) -> str:
    return check_callback_data(f"faqpage:{page}")


def cb_source_page(page: int) -> str:
    return check_callback_data(f"srcpage:{page}")


@dataclass(frozen=True, slots=True)
class Callback:
    """Parsed callback data; `kind` is the prefix, unused fields keep their defaults."""

    kind: str
    key: str = ""
    page: int = 0
    sentence_id: int = 0
    faq_id: str = ""


def parse_callback(data: str) -> Callback | None:
    """The callback a button carries, or None for data this bot never made."""
    kind, _, rest = data.partition(":")
    parts = rest.split(":")
    try:
        if kind == "more" and len(parts) == 2 and parts[0]:
            return Callback(kind, key=parts[0], page=int(parts[1]))
        if kind in ("up", "down") and len(parts) == 1 and parts[0]:
            return Callback(kind, key=parts[0])
        if kind == "ctx" and len(parts) == 1:
            return Callback(kind, sentence_id=int(parts[0]))
        if kind == "faq" and len(parts) == 1 and parts[0]:
            return Callback(kind, faq_id=parts[0])
        if kind == "faq" and len(parts) == 2 and all(parts):
            return Callback(kind, faq_id=parts[0], key=parts[1])
        if kind in ("faqpage", "srcpage") and len(parts) == 1:
            return Callback(kind, page=int(parts[0]))
    except ValueError:
        return None
    return None


# ------------------------------------------------------------------------ text pieces


def clean(text: str) -> str:
    """Text Telegram can carry: lone surrogates (invalid in UTF-8) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def escape(text: str) -> str:
    """Escape one piece of text that sits between tags (quotes need no escaping there)."""
    return html.escape(clean(text), quote=False)


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with "…" when it must be cut."""
    text = clean(text)
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    cut = _word_cut(text, limit - 1)
    return text[:cut].rstrip() + ELLIPSIS


def _word_cut(text: str, room: int) -> int:
    """Where to cut `text` to keep at most `room` characters: at a space when one is not far."""
    space = max(text.rfind(" ", 0, room + 1), text.rfind("\n", 0, room + 1))
    return space if space > room // 2 else room


def _tail_cut(text: str, room: int) -> int:
    """Where to start `text` to keep at most `room` of its last characters, at a space if near."""
    start = len(text) - room
    space = text.find(" ", start)
    return space + 1 if 0 <= space < start + room // 2 else start


@dataclass(slots=True)
class _Run:
    """A piece of raw (unescaped) visible text and the tag around it ("" for none)."""

    text: str
    tag: str = ""


@dataclass(slots=True)
class _Block:
    """One line or paragraph of a message. `shrink`: may be cut to fit ("end" or "around")."""

    runs: list[_Run]
    quote: bool = False
    shrink: str = ""

    @property
    def length(self) -> int:
        return sum(len(r.text) for r in self.runs)


def _plain(text: str, tag: str = "") -> _Block:
    return _Block([_Run(clean(text), tag)])


def _line(*runs: tuple[str, str] | str) -> _Block:
    """A block of fixed runs: plain strings or (text, tag) pairs."""
    out = [_Run(clean(r)) if isinstance(r, str) else _Run(clean(r[0]), r[1]) for r in runs]
    return _Block(out)


def _highlighted(text: str, spans: Iterable[tuple[int, int]], tag: str = "b") -> list[_Run]:
    """Runs of `text` with the spans in `tag`; adjacent spans merge, bad ones are skipped."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end or (merged and start < merged[-1][1]):
            continue
        if merged and start == merged[-1][1]:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    runs, pos = [], 0
    for start, end in merged:
        if start > pos:
            runs.append(_Run(clean(text[pos:start])))
        runs.append(_Run(clean(text[start:end]), tag))
        pos = end
    if pos < len(text):
        runs.append(_Run(clean(text[pos:])))
    return runs


def _cut_end(runs: list[_Run], limit: int) -> list[_Run]:
    """The first `limit` visible characters of runs, cut at a word with "…" when cut."""
    full = "".join(r.text for r in runs)
    if len(full) <= limit:
        return runs
    if limit <= 1:
        return [_Run(ELLIPSIS[:limit])] if limit else []
    keep = len(full[: _word_cut(full, limit - 1)].rstrip())
    out: list[_Run] = []
    for r in runs:
        if keep <= 0:
            break
        out.append(_Run(r.text[:keep], r.tag))
        keep -= len(r.text)
    out.append(_Run(ELLIPSIS))
    return out


def _cut_start(runs: list[_Run], limit: int) -> list[_Run]:
    """The last `limit` visible characters of runs, starting at a word with "…" when cut."""
    full = "".join(r.text for r in runs)
    if len(full) <= limit:
        return runs
    if limit <= 1:
        return [_Run(ELLIPSIS[:limit])] if limit else []
    drop = _tail_cut(full, limit - 1)
    drop += len(full[drop:]) - len(full[drop:].lstrip())
    out = [_Run(ELLIPSIS)]
    for r in runs:
        if drop >= len(r.text):
            drop -= len(r.text)
            continue
        out.append(_Run(r.text[drop:], r.tag))
        drop = 0
    return out


def _cut_around(runs: list[_Run], limit: int) -> list[_Run]:
    """Keep the first tagged run (the sentence in context) whole if possible, and what
    surrounds it as far as the limit allows, on both sides."""
    if sum(len(r.text) for r in runs) <= limit:
        return runs
    mid = next((i for i, r in enumerate(runs) if r.tag), None)
    if mid is None:
        return _cut_end(runs, limit)
    before, middle, after = runs[:mid], runs[mid], runs[mid + 1 :]
    centre = _cut_end([middle], max(0, limit - 2))
    room = limit - sum(len(r.text) for r in centre)
    lb, la = sum(len(r.text) for r in before), sum(len(r.text) for r in after)
    give_before = min(lb, max(room // 2, room - la))
    give_after = min(la, room - give_before)
    return _cut_start(before, give_before) + centre + _cut_end(after, give_after)


def _tag_html(run: _Run) -> str:
    body = escape(run.text)
    return f"<{run.tag}>{body}</{run.tag}>" if run.tag and run.text else body


def _blank(text: str) -> bool:
    """Telegram trims spaces and invisible characters; a message of nothing else is refused."""
    return all(c.isspace() or unicodedata.category(c) in _INVISIBLE for c in text)


_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: characters beyond the BMP (most emoji) count twice."""
    return len(text.encode("utf-16-le")) // 2


def _assemble(blocks: list[_Block], fallback: str = ELLIPSIS) -> str:
    """The HTML of blocks, shrunk to Telegram's limit.

    The limit is applied in UTF-16 code units, which are never fewer than characters: whichever
    of the two Telegram counts, the message fits. Emoji-heavy text just gets a smaller budget.
    """
    limit = MAX_VISIBLE
    for _ in range(8):
        markup, visible = _assemble_within(_copy(blocks), limit, fallback)
        excess = utf16_len(visible) - MAX_VISIBLE
        if excess <= 0:
            return markup
        limit -= excess
    return _assemble_within(_copy(blocks), MAX_VISIBLE // 2, fallback)[0]


def _copy(blocks: list[_Block]) -> list[_Block]:
    """Blocks to shrink, leaving the originals whole for another try."""
    return [_Block([_Run(r.text, r.tag) for r in b.runs], b.quote, b.shrink) for b in blocks]


def _assemble_within(blocks: list[_Block], limit: int, fallback: str) -> tuple[str, str]:
    """Shrink what may shrink until the visible text fits `limit` characters, cap entities,
    emit HTML; returns it with the text it shows. A message that would show nothing shows
    `fallback` (Telegram refuses those)."""
    blocks = [b for b in blocks if b.runs]
    if _blank("".join(r.text for b in blocks for r in b.runs)):
        blocks = [_Block([_Run(fallback)])]
    total = sum(b.length for b in blocks) + max(0, len(blocks) - 1)
    if total > limit:
        flexible = [b for b in blocks if b.shrink]
        fixed = total - sum(b.length for b in flexible)
        room = max(0, limit - fixed)
        # Water-filling: short blocks keep their length, the long ones share the rest evenly.
        for i, b in enumerate(sorted(flexible, key=lambda b: b.length)):
            share = room // (len(flexible) - i)
            cut = _cut_around if b.shrink == "around" else _cut_end
            b.runs = cut(b.runs, min(b.length, share))
            room -= b.length
        # Only many fixed lines (say, a long list of documents) get here: drop lines from the end.
        while len(blocks) > 1 and sum(b.length for b in blocks) + len(blocks) - 1 > limit:
            blocks.pop()
            blocks[-1] = _Block([*blocks[-1].runs, _Run(ELLIPSIS)], blocks[-1].quote)
        if blocks and blocks[0].length > limit:
            blocks[0].runs = _cut_end(blocks[0].runs, limit)
    # Entities: one per tagged run and per quote; tags past the limit are dropped, not the text.
    entities = sum(1 for b in blocks if b.quote)
    for b in blocks:
        for r in b.runs:
            if r.tag and r.text:
                if entities >= MAX_ENTITIES:
                    r.tag = ""
                else:
                    entities += 1
    lines = []
    for b in blocks:
        body = "".join(_tag_html(r) for r in b.runs)
        lines.append(f"<blockquote>{body}</blockquote>" if b.quote else body)
    return "\n".join(lines), "\n".join("".join(r.text for r in b.runs) for b in blocks)


def visible_text(markup: str) -> str:
    """The text Telegram shows for our markup (only our simple tags; for tests and checks)."""
    return html.unescape(_TAG.sub("", markup))


_TAG = re.compile(r"<[^>]*>")


# ------------------------------------------------------------------------- citations


def citation_parts(
    excerpt: Excerpt, documents: Documents, title_cap: int = TITLE_CAP
) -> tuple[str, str, str]:
    """(prefix, title, rest) of a citation, each already capped; the title is shown in italics."""
    doc = documents.get(excerpt.document)
    prefix = f"— ¶{excerpt.paragraph}, "
    if doc is None:
        return prefix, shorten(excerpt.document, title_cap), ""
    rest = ", ".join(
        p for p in (shorten(doc.publisher, PUBLISHER_CAP), shorten(doc.date, DATE_CAP)) if p
    )
    title = shorten(doc.title, TITLE_CAP) if not _blank(doc.title) else excerpt.document
    return prefix, shorten(title, title_cap), f", {rest}" if rest else ""


def citation_text(excerpt: Excerpt, documents: Documents) -> str:
    """The citation as plain text, for inline result descriptions: with many documents the
    title is what tells results apart, so it is shortened to stay in the line clients show."""
    return "".join(citation_parts(excerpt, documents, DESCRIPTION_TITLE_CAP))


def _citation_block(excerpt: Excerpt, documents: Documents) -> _Block:
    prefix, title, rest = citation_parts(excerpt, documents)
    return _line(prefix, (title, "i"), rest)


def _excerpt_blocks(excerpt: Excerpt, documents: Documents) -> list[_Block]:
    quote = _Block(_highlighted(excerpt.text, excerpt.highlights), quote=True, shrink="end")
    if not quote.runs:
        quote.runs = [_Run(ELLIPSIS)]
    return [quote, _citation_block(excerpt, documents)]


# --------------------------------------------------------------------------- answers


def all_excerpts(answer: Answer) -> tuple[Excerpt, ...]:
    """Every excerpt the answer holds, first page first, for paging with "More"."""
    return answer.excerpts + answer.more


def page_count(answer: Answer) -> int:
    return max(1, -(-len(all_excerpts(answer)) // SHOWN))


def render_answer(
    answer: Answer, documents: Documents, key: str | None = None, page: int = 0
) -> Rendered:
    """The cited answer: FAQ answer first, then up to three quoted excerpts with citations.

    `key` names the answer in the bot's cache; without it (inline mode) there is no keyboard.
    Page 0 is the answer itself, later pages are what "More" shows. A refused answer's `key` is
    carried by its suggestion buttons (`cb_faq`), for the question log's links.
    """
    if not answer.answered:
        return render_not_found(answer, key)
    excerpts = all_excerpts(answer)
    pages = page_count(answer)
    page = max(0, min(page, pages - 1))
    shown = excerpts[page * SHOWN : (page + 1) * SHOWN]
    blocks: list[_Block] = []
    if page == 0 and answer.faq:
        blocks.append(_plain(shorten(answer.faq.question, QUESTION_CAP), "b"))
        blocks.append(_Block([_Run(clean(answer.faq.answer))], shrink="end"))
    elif page:
        blocks.append(
            _line(f"More from the article ({page + 1}/{pages}) on ",
                  (shorten(answer.query.strip(), QUESTION_CAP), "i"))
        )
    for i, excerpt in enumerate(shown):
        if blocks or i:
            blocks.append(_Block([_Run("")]))
        blocks += _excerpt_blocks(excerpt, documents)
    if page == 0 and answer.others:
        blocks += [_Block([_Run("")]), _others_block(answer.others)]
    # An unsure answer offers the prepared questions too: the one tapped tells the editor
    # which entry the question meant (the log links them, see faq suggest).
    unsure = page == 0 and key is not None and answer.faq is None and answer.suggestions
    unsure = unsure and answer.confidence < UNSURE
    if unsure:
        blocks += [_Block([_Run("")]), _plain(UNSURE_LINE)]
    keyboard: list[tuple[Button, ...]] = []
    if key is not None:
        row = []
        if page + 1 < pages:
            row.append(Button("More", callback_data=cb_more(key, page + 1)))
        if shown:
            row.append(Button("Context", callback_data=cb_context(shown[0].sentence_id)))
        if row:
            keyboard.append(tuple(row))
        if page == 0:
            keyboard.append(
                (
                    Button("👍", callback_data=cb_vote(key, True)),
                    Button("👎", callback_data=cb_vote(key, False)),
                )
            )
        if unsure:
            keyboard += _suggestion_rows(answer.suggestions, key)
    return Rendered(_assemble(blocks, fallback=NOT_FOUND), tuple(keyboard))


UNSURE = 0.6  # below this confidence an answer offers the closest prepared questions too
UNSURE_LINE = "Not quite it? The article also answers these:"


def render_excerpt(answer: Answer, excerpt: Excerpt, documents: Documents) -> Rendered:
    """One excerpt quoted and cited (an inline result for a single sentence)."""
    one = Answer(answer.query, True, answer.confidence, excerpts=(excerpt,))
    return render_answer(one, documents)


def _button_text(text: str, fallback: str) -> str:
    """One line, capped; buttons cannot be blank, so an empty question shows its id."""
    return shorten(" ".join(text.split()), BUTTON_CAP) or fallback


def _suggestion_rows(
    suggestions: Sequence[Suggestion], key: str | None = None
) -> list[tuple[Button, ...]]:
    return [(Button(_button_text(s.question, s.id), callback_data=cb_faq(s.id, key)),)
            for s in suggestions]


def render_not_found(answer: Answer, key: str | None = None) -> Rendered:
    """A plain statement, and the closest questions the article does answer as buttons (each
    carrying `key`, the refused answer's, when given)."""
    blocks = [_plain(NOT_FOUND)]
    if answer.others:
        blocks.append(_others_block(answer.others))
    if answer.suggestions:
        blocks.append(_plain("It does answer these questions:"))
    return Rendered(_assemble(blocks), tuple(_suggestion_rows(answer.suggestions, key)))


def _others_block(others: Sequence[str]) -> _Block:
    """The further questions of a message: the first is answered, these are offered."""
    more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
    return _line(
        "You also asked ", (shorten(others[0], QUESTION_CAP), "i"),
        f"{more}: send it on its own and I'll answer it too.",
    )


def render_no_match(query: str) -> Rendered:
    """Inline mode's single "nothing matches" result."""
    blocks = [_line("Nothing in the article matches ", (shorten(query.strip(), QUESTION_CAP), "i"))]
    return Rendered(_assemble(blocks))


def render_context(
    sentence: str, paragraph: str | None, excerpt: Excerpt, documents: Documents
) -> Rendered:
    """The whole paragraph around an excerpt, the excerpt's sentence in bold, then the citation."""
    text = paragraph if paragraph is not None else sentence
    at = text.find(sentence) if sentence else -1
    if at >= 0:
        runs = _highlighted(text, [(at, at + len(sentence))])
    else:  # the sentence is not verbatim in the paragraph: show both rather than guess
        runs = [_Run(clean(text)), _Run("\n"), _Run(clean(sentence), "b")]
    blocks = [
        _Block(runs, quote=True, shrink="around"),
        _citation_block(excerpt, documents),
    ]
    return Rendered(_assemble(blocks))


# --------------------------------------------------------------------- other messages


def _document_line(doc: DocumentInfo) -> list[tuple[str, str] | str]:
    rest = ", ".join(p for p in (shorten(doc.publisher, PUBLISHER_CAP),
                                 shorten(doc.date, DATE_CAP)) if p)
    return [(shorten(doc.title, TITLE_CAP), "i"), f" ({rest})" if rest else ""]


def render_start(documents: Documents, examples: Sequence[Suggestion]) -> Rendered:
    """What the bot knows, with example questions taken from the FAQ and an inline-mode button."""
    blocks = [_plain("I answer questions about this article, quoting and citing its sentences:")]
    for doc in documents.values():
        blocks.append(_line("• ", *_document_line(doc)))
    blocks += [
        _Block([_Run("")]),
        _plain("Ask in your own words, for example one of these. /help lists what else I do."),
    ]
    rows = _suggestion_rows(examples[:3])
    rows.append((Button("🔎 Try inline search", switch_inline_query_current_chat=""),))
    return Rendered(_assemble(blocks), tuple(rows))


def render_help(username: str = "") -> Rendered:
    """How to use the bot, command by command."""
    at = f"@{username}" if username else "@this_bot"
    lines = [
        _plain("Ask me anything about the article in a message. I answer with the article's own"
               " sentences, each cited with its paragraph; if the article doesn't say, I tell you"
               " so and suggest questions it does answer."),
        _Block([_Run("")]),
        _line(("Buttons", "b"), ": More shows further excerpts, Context the whole paragraph,"
              " 👍/👎 tell us whether the answer helped."),
        _Block([_Run("")]),
        _line(("Commands", "b")),
        _plain("/start - what I know, with examples"),
        _plain("/faq - questions the article answers"),
        _plain("/source - the documents, newest first: title, publisher, date, size"),
        _plain("/ask <question> - ask (in groups too)"),
        _plain("/forget - delete your questions and votes from my log"),
        _plain("/help - this text"),
        _Block([_Run("")]),
        _line(("Groups", "b"), ": I answer /ask, messages that mention me and replies to my"
              " messages."),
        _line(("Inline", "b"), f": type {at} and a question in any chat to share a cited answer."),
    ]
    return Rendered(_assemble(lines))


def render_faq_page(faqs: Sequence[Suggestion], page: int) -> Rendered:
    """One page of the FAQ questions as buttons, with ◀ ▶ to turn pages."""
    pages = max(1, -(-len(faqs) // FAQ_PER_PAGE))
    page = max(0, min(page, pages - 1))
    if not faqs:
        return Rendered(_assemble([_plain("There are no prepared questions yet: just ask.")]))
    blocks = [_plain(f"Questions the article answers ({page + 1}/{pages}). Tap one:")]
    rows = _suggestion_rows(faqs[page * FAQ_PER_PAGE : (page + 1) * FAQ_PER_PAGE])
    nav = []
    if page > 0:
        nav.append(Button("◀", callback_data=cb_faq_page(page - 1)))
    if page + 1 < pages:
        nav.append(Button("▶", callback_data=cb_faq_page(page + 1)))
    if nav:
        rows.append(tuple(nav))
    return Rendered(_assemble(blocks), tuple(rows))


def render_source(documents: Documents) -> Rendered:
    """Each document with its title, publisher, date and size."""
    if not documents:
        return Rendered(_assemble([_plain("No document is loaded.")]))
    blocks = [_plain("Source" if len(documents) == 1 else "Sources", "b")]
    for doc in documents.values():
        blocks.append(_line(*_document_line(doc)))
        blocks.append(_plain(f"{doc.paragraphs} paragraphs, {doc.sentences} sentences"))
    return Rendered(_assemble(blocks))


def newest_first(documents: Documents) -> list[DocumentInfo]:
    """Documents by metadata date, newest first (as answers prefer them), undated last, ties
    by title, so a page always lists the same documents."""
    def order(doc: DocumentInfo) -> tuple[int, int, int, str, str]:
        year, month, day = date_key(doc.date)  # (0, 0, 0) when undated: after every year
        return (-year, -month, -day, doc.title.casefold(), doc.id)

    return sorted(documents.values(), key=order)


def render_source_page(documents: Documents, page: int) -> Rendered:
    """/source: one document as `render_source` shows it; a library ten documents a page,
    newest first, one line each, with ◀ ▶ to turn pages."""
    if len(documents) <= 1:
        return render_source(documents)
    docs = newest_first(documents)
    pages = -(-len(docs) // SOURCE_PER_PAGE)
    page = max(0, min(page, pages - 1))
    heading = "Sources, newest first" + (f" ({page + 1}/{pages})" if pages > 1 else "")
    blocks = [_plain(heading, "b")]
    for doc in docs[page * SOURCE_PER_PAGE : (page + 1) * SOURCE_PER_PAGE]:
        size = f": {doc.paragraphs} paragraphs, {doc.sentences} sentences"
        blocks.append(_line("• ", *_document_line(doc), size))
    nav = []
    if page > 0:
        nav.append(Button("◀", callback_data=cb_source_page(page - 1)))
    if page + 1 < pages:
        nav.append(Button("▶", callback_data=cb_source_page(page + 1)))
    return Rendered(_assemble(blocks), (tuple(nav),) if nav else ())


def render_text(text: str) -> Rendered:
    """A short plain message (hints, errors), escaped and within the limit like the rest."""
    return Rendered(_assemble([_Block([_Run(clean(text))], shrink="end")]))
