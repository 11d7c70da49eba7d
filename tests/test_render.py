"""Unit tests of bot.render: escaping, bold spans, citations, the 4,096 budget, keyboards.

Every rendered text is checked with the fake Bot API's own rules (tests/fakes), which refuse
what Telegram refuses: malformed HTML, more than 4,096 visible characters, over 100 entities.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import render
from bot.answer import Answer, Excerpt, FaqHit, Suggestion
from bot.render import (
    ELLIPSIS,
    FAQ_PER_PAGE,
    MAX_VISIBLE,
    NOT_FOUND,
    Button,
    Rendered,
    parse_callback,
    render_answer,
    render_context,
    visible_text,
)
from bot.search import DocumentInfo, Engine
from bot.telegram.state import AnswerCache
from tests.fakes.bot_api import check_inline_keyboard, check_message_text
from tests.fakes.telegram_html import ParsedHtml, parse_html

DOC = DocumentInfo("doc", "Syrian opposition takes Homs", "Mint", "December 2024", 21, 34)
DOCS = {"doc": DOC}


def valid(rendered: Rendered | str) -> ParsedHtml:
    """What Telegram would show; fails the test where Telegram would refuse the message."""
    markup = rendered.html if isinstance(rendered, Rendered) else rendered
    parsed = check_message_text(markup, "HTML")
    assert render.utf16_len(parsed.text) <= MAX_VISIBLE  # so characters fit too
    assert visible_text(markup) == parsed.text
    if isinstance(rendered, Rendered):
        check_keyboard(rendered)
    return parsed


def check_keyboard(rendered: Rendered) -> None:
    rows = [
        [{k: v for k, v in (("text", b.text), ("callback_data", b.callback_data),
                            ("switch_inline_query_current_chat",
                             b.switch_inline_query_current_chat),
                            ("url", b.url)) if v is not None} for b in row]
        for row in rendered.keyboard
    ]
    check_inline_keyboard({"inline_keyboard": rows})
    for row in rendered.keyboard:
        for b in row:
            if b.callback_data is not None:
                assert len(b.callback_data.encode()) <= 64


def excerpt(text: str, spans: tuple[tuple[int, int], ...] = (), **kw: object) -> Excerpt:
    fields: dict = {"document": "doc", "paragraph": 3, "sentence": 1, "score": 0.9,
                    "sentence_id": 7, "highlights": spans}
    fields.update(kw)
    return Excerpt(text, **fields)


def answer(*excerpts: Excerpt, faq: FaqHit | None = None, more: tuple = (),
           query: str = "q") -> Answer:
    return Answer(query, True, 0.9, faq, tuple(excerpts), (), tuple(more))


def bold(parsed: ParsedHtml) -> list[str]:
    """The visible texts of bold entities (offsets are UTF-16, as Telegram's)."""
    units = parsed.text.encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in parsed.entities
        if e["type"] == "bold"
    ]


# --------------------------------------------------------------------------------- answers


def test_answer_quotes_bolds_matches_and_cites() -> None:
    text = "Homs is very close to Damascus, nearly 100 kilometres away."
    r = render_answer(answer(excerpt(text, ((0, 4), (22, 30)))), DOCS, key="k1")
    assert r.html == (
        "<blockquote><b>Homs</b> is very close to <b>Damascus</b>, nearly 100 kilometres"
        " away.</blockquote>\n"
        "— ¶3, <i>Syrian opposition takes Homs</i>, Mint, December 2024"
    )
    parsed = valid(r)
    assert bold(parsed) == ["Homs", "Damascus"]
    assert {e["type"] for e in parsed.entities} == {"blockquote", "bold", "italic"}


def test_further_questions_of_a_message_are_offered_escaped() -> None:
    """"who took homs? and <b>where</b> is assad": the first is answered, the next offered."""
    base = answer(excerpt("Homs fell."))
    asked = Answer(base.query, True, 0.9, excerpts=base.excerpts,
                   others=("<b>where</b> is assad?", "why?"))
    parsed = valid(render_answer(asked, DOCS, key="k1"))
    assert parsed.text.endswith(
        "You also asked <b>where</b> is assad? (and 1 more): send it on its own and I'll "
        "answer it too."
    )
    refused = Answer("q", False, 0.1, others=("where is assad?",))
    assert "You also asked where is assad?" in valid(render.render_not_found(refused)).text


def test_faq_answer_leads_then_at_most_three_excerpts() -> None:
    faq = FaqHit("homs_who", "Who took Homs?", "HTS took Homs.")
    xs = [excerpt(f"Sentence number {i}.", sentence_id=i) for i in range(1, 6)]
    r = render_answer(answer(*xs, faq=faq), DOCS, key="k1")
    shown = valid(r).text
    assert shown.startswith("Who took Homs?\nHTS took Homs.\n")
    assert [f"Sentence number {i}." in shown for i in range(1, 6)] == [True] * 3 + [False] * 2
    assert shown.count("— ¶3, Syrian opposition takes Homs, Mint, December 2024") == 3
    texts = [[b.text for b in row] for row in r.keyboard]
    assert texts == [["More", "Context"], ["👍", "👎"]]
    assert r.keyboard[0][0].callback_data == "more:k1:1"
    assert r.keyboard[0][1].callback_data == "ctx:1"
    assert r.keyboard[1][0].callback_data == "up:k1" and r.keyboard[1][1].callback_data == "down:k1"


def test_more_pages_walk_excerpts_and_more() -> None:
    xs = [excerpt(f"First {i}.", sentence_id=i) for i in range(1, 6)]
    extra = [excerpt(f"Later {i}.", sentence_id=i) for i in range(6, 9)]
    a = answer(*xs, more=tuple(extra), query="where <is> homs")
    page1 = render_answer(a, DOCS, key="k", page=1)
    shown = valid(page1).text
    assert shown.startswith("More from the article (2/3) on where <is> homs")
    assert "First 4." in shown and "First 5." in shown and "Later 6." in shown
    assert page1.keyboard[0][0].callback_data == "more:k:2"
    last = render_answer(a, DOCS, key="k", page=2)
    assert [b.text for row in last.keyboard for b in row] == ["Context"]
    assert "Later 8." in valid(last).text
    # an out-of-range page shows the last one rather than nothing
    assert render_answer(a, DOCS, key="k", page=99).html == last.html


def test_no_keyboard_without_a_key() -> None:
    assert render_answer(answer(excerpt("x")), DOCS).keyboard == ()


def test_unknown_document_is_still_cited() -> None:
    parsed = valid(render_answer(answer(excerpt("Text.", document="other&doc")), DOCS))
    assert parsed.text.endswith("— ¶3, other&doc")


@pytest.mark.parametrize(
    ("text", "span", "marked"),
    [
        ("<b>bold?</b> & &amp; x < y > z", (3, 8), "bold?"),
        ("AT&T and &amp; both", (2, 3), "&"),  # a highlight of a bare "&"
        ("a &amp; b", (2, 7), "&amp;"),  # a highlight over text that looks like an entity
        ("&lt;tag&gt;", (0, 4), "&lt;"),
    ],
)
def test_document_markup_is_escaped_and_highlights_never_cut_entities(
    text: str, span: tuple[int, int], marked: str
) -> None:
    parsed = valid(render_answer(answer(excerpt(text, (span,))), DOCS))
    assert parsed.text.startswith(text)
    assert bold(parsed) == [marked]


def test_rtl_emoji_and_zero_width_text_survive() -> None:
    text = "مرحبا بالعالم 👋🏽 zero\u200bwidth \u202ereversed\u202c 家族👨‍👩‍👧"
    start = text.index("👋🏽")
    end = start + len("👋🏽")
    parsed = valid(render_answer(answer(excerpt(text, ((start, end), (0, 5)))), DOCS))
    assert parsed.text.startswith(text)
    assert bold(parsed) == ["مرحبا", "👋🏽"]


def test_adjacent_spans_merge_and_bad_spans_are_ignored() -> None:
    text = "Hayat Tahrir al-Sham"
    spans = ((0, 5), (5, 12), (10, 14), (-3, 0), (30, 40), (16, 16))
    parsed = valid(render_answer(answer(excerpt(text, spans)), DOCS))
    assert bold(parsed) == ["Hayat Tahrir"]


def test_user_question_is_escaped_on_more_pages() -> None:
    xs = [excerpt(f"S{i}.", sentence_id=i) for i in range(1, 5)]
    r = render_answer(answer(*xs, query="<script>&amp;"), DOCS, key="k", page=1)
    assert "&lt;script&gt;&amp;amp;" in r.html
    assert "<script>&amp;" in valid(r).text


def test_lone_surrogates_become_replacement_characters() -> None:
    parsed = valid(render_answer(answer(excerpt("bad \ud800 text", ((0, 3),))), DOCS))
    assert parsed.text.startswith("bad \ufffd text")


# --------------------------------------------------------------------------------- budget


def test_huge_excerpts_and_faq_answer_fit_4096_and_keep_every_citation() -> None:
    words = " ".join(f"word{i}" for i in range(3000))  # ~27,000 characters
    faq = FaqHit("f", "Q?", "Answer " * 2000)
    xs = [excerpt(words, ((0, 5), (6, 11)), sentence_id=i) for i in range(3)]
    parsed = valid(render_answer(answer(*xs, faq=faq), DOCS, key="k"))
    assert len(parsed.text) <= MAX_VISIBLE
    assert len(parsed.text) > MAX_VISIBLE - 200  # the room is used, not wasted
    assert parsed.text.count("— ¶3, Syrian opposition takes Homs, Mint, December 2024") == 3
    for line in parsed.text.split("\n"):
        if line.endswith(ELLIPSIS):
            kept = line.removesuffix(ELLIPSIS)
            assert kept and (words.startswith(kept + " ") or "Answer" in kept)
    assert bold(parsed) == ["Q?"] + ["word0", "word1"] * 3


def test_emoji_count_twice_so_the_message_fits_however_telegram_counts() -> None:
    text = "😀 Homs " * 2000
    parsed = valid(render_answer(answer(*(excerpt(text, ((0, 2),)) for _ in range(3))), DOCS))
    assert render.utf16_len(parsed.text) <= MAX_VISIBLE < render.utf16_len(text)
    assert render.utf16_len(parsed.text) > MAX_VISIBLE - 100
    assert parsed.text.count("December 2024") == 3


def test_a_word_longer_than_the_budget_is_cut_hard() -> None:
    parsed = valid(render_answer(answer(excerpt("x" * 10_000, ((0, 9000),))), DOCS))
    assert len(parsed.text) <= MAX_VISIBLE and ELLIPSIS in parsed.text
    assert parsed.text.endswith("December 2024")


def test_huge_metadata_is_capped() -> None:
    doc = DocumentInfo("doc", "T" * 5000, "P " * 3000, "D" * 900, 1, 1)
    parsed = valid(render_answer(answer(excerpt("Short.")), {"doc": doc}))
    assert "Short." in parsed.text


def test_entities_stay_within_100() -> None:
    text = " ".join("ab" for _ in range(400))
    spans = tuple((i * 3, i * 3 + 2) for i in range(400))
    parsed = valid(render_answer(answer(*(excerpt(text, spans) for _ in range(3))), DOCS))
    assert parsed.entity_count <= 100
    assert parsed.text.count("ab") >= 3 * 300  # tags dropped past the limit, not the words


def test_context_bolds_the_sentence_in_its_paragraph() -> None:
    sentence = "Homs is strategically important."
    paragraph = f"Before it. {sentence} After <it> & more."
    x = excerpt(sentence, paragraph=2)
    parsed = valid(render_context(sentence, paragraph, x, DOCS))
    assert parsed.text == paragraph + "\n— ¶2, Syrian opposition takes Homs, Mint, December 2024"
    assert bold(parsed) == [sentence]


def test_context_of_a_huge_paragraph_keeps_the_sentence_and_both_sides() -> None:
    sentence = "The key sentence is here."
    before = " ".join(f"b{i}" for i in range(5000))
    after = " ".join(f"a{i}" for i in range(5000))
    paragraph = f"{before} {sentence} {after}"
    parsed = valid(render_context(sentence, paragraph, excerpt(sentence), DOCS))
    assert bold(parsed) == [sentence]
    assert parsed.text.startswith(ELLIPSIS) and parsed.text.count(ELLIPSIS) == 2
    assert " a0 a1 " in parsed.text and "b4999 " in parsed.text
    assert parsed.text.endswith("Mint, December 2024")
    assert len(parsed.text) > MAX_VISIBLE - 100


def test_context_with_a_huge_sentence_and_a_missing_paragraph() -> None:
    sentence = "word " * 3000
    parsed = valid(render_context(sentence, sentence * 2, excerpt(sentence), DOCS))
    assert parsed.text.endswith("December 2024")
    parsed = valid(render_context("Alone.", None, excerpt("Alone."), DOCS))
    assert bold(parsed) == ["Alone."]
    parsed = valid(render_context("Not in it.", "Other text.", excerpt("Not in it."), DOCS))
    assert "Other text." in parsed.text and bold(parsed) == ["Not in it."]


def test_shorten_cuts_at_a_word_boundary() -> None:
    assert render.shorten("alpha beta gamma", 12) == "alpha beta…"
    assert render.shorten("alpha beta", 20) == "alpha beta"
    assert render.shorten("abcdefghij", 5) == "abcd…"
    assert render.shorten("abc", 1) == "…"


# --------------------------------------------------------------------------- other texts


def test_not_found_is_a_statement_with_suggestion_buttons() -> None:
    sugg = (Suggestion("homs_who", "Who took <Homs>?"), Suggestion("a" * 40, "Long? " * 40))
    r = render.render_not_found(Answer("what?", False, 0.1, suggestions=sugg))
    parsed = valid(r)
    assert parsed.text.startswith(NOT_FOUND)
    assert [row[0].callback_data for row in r.keyboard] == ["faq:homs_who", "faq:" + "a" * 40]
    assert r.keyboard[0][0].text == "Who took <Homs>?"
    assert len(r.keyboard[1][0].text) <= render.BUTTON_CAP
    assert valid(render.render_not_found(Answer("q", False, 0.0))).text == NOT_FOUND


def test_faq_pages_have_eight_questions_and_arrows() -> None:
    faqs = [Suggestion(f"id_{i}", f"Question {i}?") for i in range(20)]
    first, middle, last = (render.render_faq_page(faqs, p) for p in (0, 1, 2))
    for r in (first, middle, last):
        valid(r)
    assert len(first.keyboard) == FAQ_PER_PAGE + 1
    assert [b.text for b in first.keyboard[-1]] == ["▶"]
    assert [b.callback_data for b in middle.keyboard[-1]] == ["faqpage:0", "faqpage:2"]
    assert [b.text for b in last.keyboard[-1]] == ["◀"] and len(last.keyboard) == 4 + 1
    ids = [row[0].callback_data for r in (first, middle, last) for row in r.keyboard[:-1]]
    assert ids == [f"faq:id_{i}" for i in range(20)]
    assert render.render_faq_page(faqs, 99).html == last.html
    assert valid(render.render_faq_page([], 0)).text


def test_start_help_source_texts() -> None:
    faqs = [Suggestion(f"id_{i}", f"Question {i}?") for i in range(5)]
    start = render.render_start(DOCS, faqs)
    text = valid(start).text
    assert "Syrian opposition takes Homs (Mint, December 2024)" in text
    assert [row[0].callback_data for row in start.keyboard[:3]] == ["faq:id_0", "faq:id_1",
                                                                      "faq:id_2"]
    assert start.keyboard[3][0].switch_inline_query_current_chat == ""
    help_text = valid(render.render_help("docs_bot")).text
    for command in ("/start", "/faq", "/source", "/ask <question>", "/help", "@docs_bot"):
        assert command in help_text
    source = valid(render.render_source(DOCS)).text
    assert "Syrian opposition takes Homs (Mint, December 2024)" in source
    assert "21 paragraphs, 34 sentences" in source
    many = {str(i): DocumentInfo(str(i), "T" * 100, "P", "D", 1, 1) for i in range(100)}
    assert valid(render.render_source(many)).text
    assert valid(render.render_text("<&>" * 3000)).text.endswith(ELLIPSIS)


# ------------------------------------------------------------------------ callback data


def test_callback_data_fits_64_bytes_and_parses_back() -> None:
    cache = AnswerCache()
    key = cache.put(answer(excerpt("x")))
    longest_faq = "a" * 40
    datas = [
        render.cb_more(key, 999),
        render.cb_context(2**63 - 1),
        render.cb_vote(key, True),
        render.cb_vote(key, False),
        render.cb_faq(longest_faq),
        render.cb_faq_page(10**6),
    ]
    assert all(len(d.encode()) <= 64 for d in datas)
    parsed = [parse_callback(d) for d in datas]
    assert parsed[0] == render.Callback("more", key=key, page=999)
    assert parsed[1] == render.Callback("ctx", sentence_id=2**63 - 1)
    assert parsed[2].kind == "up" and parsed[3].kind == "down" and parsed[3].key == key
    assert parsed[4].faq_id == longest_faq and parsed[5].page == 10**6
    for bad in ("", "more:k", "more::1", "more:k:x", "ctx:x", "faq:", "nope:1", "up:"):
        assert parse_callback(bad) is None


def test_buttons_refuse_long_data_and_need_one_action() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        Button("x", callback_data="é" * 33)  # 66 bytes, 33 characters
    with pytest.raises(ValueError):
        render.cb_faq("a" * 61)
    with pytest.raises(ValueError):
        Button("x")
    with pytest.raises(ValueError):
        Button("x", callback_data="a", url="https://t.me")
    assert Button("x", switch_inline_query_current_chat="").switch_inline_query_current_chat == ""


def test_answer_cache_is_a_bounded_lru() -> None:
    cache = AnswerCache(size=3)
    a = answer(excerpt("x"))
    keys = [cache.put(a) for _ in range(3)]
    assert all(len(k) == 8 and ":" not in k for k in keys)
    assert cache.get(keys[0]) is a  # now the most recent
    k4 = cache.put(a)
    assert len(cache) == 3
    assert cache.get(keys[1]) is None  # the least recently used fell out
    assert cache.get(keys[0]) is a and cache.get(k4) is a


# ----------------------------------------------------------------------------- property

texts = st.one_of(
    st.text(max_size=60),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=12), st.integers(1, 900)),
    st.sampled_from(["<b>", "</b>", "&amp;", "&", "<", ">", "\u200b", "\u202e", "👨‍👩‍👧", "&#0;"]),
)
spans = st.lists(st.tuples(st.integers(-3, 3000), st.integers(-3, 3000)), max_size=40)


@st.composite
def answers(draw: st.DrawFn) -> tuple[Answer, dict]:
    docs = {
        draw(st.sampled_from(["doc", "d2"])): DocumentInfo(
            "doc", draw(texts), draw(texts), draw(texts), 1, 1
        )
    }
    excerpts = tuple(
        Excerpt(draw(texts), draw(st.sampled_from(["doc", "d2", "<x&>"])),
                draw(st.integers(0, 10**6)), 1, 0.5, draw(st.integers(0, 10**9)),
                tuple(draw(spans)))
        for _ in range(draw(st.integers(0, 6)))
    )
    faq = draw(st.none() | st.builds(FaqHit, st.text(alphabet="abc_", min_size=1, max_size=40),
                                     texts, texts))
    suggestions = tuple(
        Suggestion(draw(st.text(alphabet="xyz019_", min_size=1, max_size=40)), draw(texts))
        for _ in range(draw(st.integers(0, 3)))
    )
    a = Answer(draw(texts), draw(st.booleans()), 0.5, faq, excerpts, suggestions,
               more=excerpts[::-1])
    return a, docs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers(), st.integers(0, 4))
def test_any_answer_renders_to_html_telegram_accepts(drawn: tuple[Answer, dict], page: int) -> None:
    a, docs = drawn
    r = render_answer(a, docs, key="Ab3_-xYz", page=page)
    parsed = valid(r)
    assert parsed.text.strip()
    if a.answered:
        shown = min(page, render.page_count(a) - 1) * render.SHOWN
        expected = len(render.all_excerpts(a)[shown : shown + render.SHOWN])
        assert parsed.text.count("— ¶") >= expected  # no citation is ever dropped


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.integers(0, 50), st.integers(0, 50), texts)
def test_any_context_renders_to_html_telegram_accepts(
    paragraph: str, start: int, length: int, title: str
) -> None:
    sentence = paragraph[start : start + length]
    docs = {"doc": DocumentInfo("doc", title, "P", "D", 1, 1)}
    parsed = valid(render_context(sentence, paragraph, excerpt(sentence), docs))
    assert "— ¶3" in parsed.text
    parse_html(render.render_no_match(paragraph).html)


# ------------------------------------------------- property: user text through the engine
# The strategies above feed made-up answers to the renderer; these feed made-up *questions* to
# the real engine and render whatever it answers, the way the bot does.

html_like = st.lists(
    st.sampled_from(["<b>", "</b>", "<i>", "<a href='x'>", "</a>", "<pre>", "<code>", "<br/>",
                     "&amp;", "&lt;", "&", "<", ">", "&#x1F600;", "&nbsp;", "<!--", "-->",
                     "<script>", "Homs", "Damascus", "who took", "?", " ", "\n", "\u202e"]),
    max_size=200,
).map("".join)
any_unicode = st.text(alphabet=st.characters(exclude_categories=()), max_size=300)
very_long = st.builds(
    lambda piece, n: (piece * n)[:10_000],
    st.one_of(html_like, st.text(min_size=1, max_size=40)),
    st.integers(1, 10_000),
)
user_text = st.one_of(st.text(max_size=300), any_unicode, html_like, very_long)


def accepted(markup: str) -> str:
    """The visible text of a message Telegram accepts: parses, 1 to 4,096 characters."""
    parsed = parse_html(markup)
    assert parsed.text.strip() and render.utf16_len(parsed.text) <= MAX_VISIBLE
    check_message_text(markup, "HTML")
    return parsed.text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=user_text, page=st.integers(0, 3))
def test_any_user_text_gets_an_answer_telegram_accepts(
    engine: Engine, question: str, page: int
) -> None:
    answer = engine.ask(question)
    rendered = render_answer(answer, engine.documents, key="Ab3_-xYz", page=page)
    accepted(rendered.html)
    check_keyboard(rendered)
    accepted(render.render_no_match(question).html)
    accepted(render.render_text(question).html)
    if answer.answered:
        for excerpt in render.all_excerpts(answer)[:3]:
            accepted(render.render_excerpt(answer, excerpt, engine.documents).html)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=user_text.map(lambda q: q[:256]))
def test_any_inline_query_gets_results_telegram_accepts(engine: Engine, query: str) -> None:
    from bot.telegram.handlers import inline_items

    text = query.strip()
    answer = engine.ask(text) if text else None
    items = inline_items(engine, text, answer)
    assert 1 <= len(items) <= 50 and len({i.id for i in items}) == len(items)
    for item in items[:10]:
        assert 1 <= len(item.id.encode()) <= 64
        title, _, rendered = item.make()
        assert title.strip()
        accepted(rendered.html)


def test_suggestion_buttons_carry_the_refused_answers_key_when_it_fits() -> None:
    sugg = (Suggestion("homs_who", "Who took Homs?"),)
    refused = Answer("what?", False, 0.1, suggestions=sugg)
    r = render.render_answer(refused, DOCS, "AbCd-_12")
    assert [row[0].callback_data for row in r.keyboard] == ["faq:homs_who:AbCd-_12"]
    assert parse_callback("faq:homs_who:AbCd-_12") == render.Callback(
        "faq", key="AbCd-_12", faq_id="homs_who"
    )
    assert parse_callback("faq:homs_who") == render.Callback("faq", faq_id="homs_who")
    assert render.cb_faq("a" * 40, "AbCd-_12") == f"faq:{'a' * 40}:AbCd-_12"  # 53 bytes
    assert render.cb_faq("a" * 55, "AbCd-_12") == f"faq:{'a' * 55}"  # the key would not fit
    for bad in ("faq::k", "faq:id:", "faq:a:b:c"):
        assert parse_callback(bad) is None


def test_an_unsure_answer_offers_the_prepared_questions_with_its_key() -> None:
    suggestions = (Suggestion("homs", "Who took Homs?"),)
    unsure = Answer("q", True, 0.45, excerpts=(excerpt("Homs fell."),), suggestions=suggestions)
    rendered = render_answer(unsure, DOCS, key="k1")
    parsed = valid(rendered)
    assert parsed.text.endswith(render.UNSURE_LINE)
    assert rendered.keyboard[-1][0].callback_data == "faq:homs:k1"
    sure = Answer("q", True, 0.9, excerpts=(excerpt("Homs fell."),), suggestions=suggestions)
    assert all(not b.callback_data.startswith("faq:")
               for row in render_answer(sure, DOCS, key="k1").keyboard for b in row
               if b.callback_data)


# ------------------------------------------------------------------------ many documents


def library(dates: list[str]) -> dict[str, DocumentInfo]:
    """Documents titled by their place in `dates` (ids the other way round, so a tie broken by
    id would show), with sizes that tell them apart."""
    return {f"d{99 - i}": DocumentInfo(f"d{99 - i}", f"Story {i:02d}", "Gazette", date, i + 1,
                                       2 * i + 1) for i, date in enumerate(dates)}


def listed(rendered: Rendered) -> list[str]:
    """The titles a /source page lists, in order."""
    return re.findall(r"• (Story \d\d) \(", valid(rendered).text)


def test_source_pages_list_ten_documents_newest_first_undated_last() -> None:
    # Dates as people write them, shuffled; two undated; two alike (ties go by title).
    dates = ["March 2021", "2024-12-08", "", "8 Jan 2023", "2019", "December 2024",
             "2022-06-30", "1 Feb 2020", "no date given", "2023", "2023", "July 2018",
             "2024-01-15", "5 May 2017", "2016-11-02", "September 2015", "2014", "2013-03-03",
             "April 2012", "2011-11-11", "June 2010", "2009-09-09", "30 Nov 2024"]
    docs = library(dates)
    pages = [render.render_source_page(docs, p) for p in range(3)]
    expected = ["Story 01", "Story 05", "Story 22", "Story 12", "Story 03", "Story 09",
                "Story 10", "Story 06", "Story 00", "Story 07", "Story 04", "Story 11",
                "Story 13", "Story 14", "Story 15", "Story 16", "Story 17", "Story 18",
                "Story 19", "Story 20", "Story 21", "Story 02", "Story 08"]
    assert [listed(p) for p in pages] == [expected[:10], expected[10:20], expected[20:]]
    first = valid(pages[0]).text
    assert first.startswith("Sources, newest first (1/3)")
    assert "• Story 01 (Gazette, 2024-12-08): 2 paragraphs, 3 sentences" in first
    assert "Story 02 (Gazette): 3 paragraphs, 5 sentences" in valid(pages[2]).text
    assert [[b.text for b in row] for p in pages for row in p.keyboard] == [
        ["▶"], ["◀", "▶"], ["◀"]]
    assert [b.callback_data for b in pages[1].keyboard[0]] == ["srcpage:0", "srcpage:2"]
    for p in pages:
        [nav] = p.keyboard
        for b in nav:
            parsed = parse_callback(b.callback_data)
            assert parsed == render.Callback("srcpage", page=parsed.page)
    assert render.render_source_page(docs, 99).html == pages[2].html
    assert render.render_source_page(docs, -1).html == pages[0].html
    assert parse_callback(render.cb_source_page(10**6)) == render.Callback("srcpage", page=10**6)
    for bad in ("srcpage:", "srcpage:x", "srcpage:1:2"):
        assert parse_callback(bad) is None


def test_source_page_of_one_document_is_the_plain_source_and_ten_fit_one_page() -> None:
    one = render.render_source_page(DOCS, 0)
    assert one == render.render_source(DOCS) and one.keyboard == ()
    assert valid(render.render_source_page({}, 0)).text == "No document is loaded."
    ten = render.render_source_page(library([f"{2000 + i}" for i in range(10)]), 0)
    assert valid(ten).text.startswith("Sources, newest first\n") and ten.keyboard == ()
    assert listed(ten) == [f"Story {i:02d}" for i in range(9, -1, -1)]


def test_a_source_page_of_huge_metadata_fits_telegram() -> None:
    huge = {str(i): DocumentInfo(str(i), "👨‍👩‍👧 <b>&" * 40, "P&" * 200, f"{2000 + i} " + "x" * 90,
                                 10**9, 10**9) for i in range(25)}
    for page in range(3):
        rendered = render.render_source_page(huge, page)
        text = valid(rendered).text
        assert text.count("• ") == (10 if page < 2 else 5)
        assert rendered.keyboard  # the arrows survive however long the lines are


def test_inline_descriptions_name_the_document_with_a_short_title() -> None:
    long_title = "Council votes to repair the old lighthouse on the northern cape before winter"
    docs = {"a": DocumentInfo("a", long_title, "Town Gazette", "2024-03-05", 2, 2),
            "b": DocumentInfo("b", "Canal reopens", "Harbour News", "May 2023", 1, 1)}
    a = render.citation_text(excerpt("x", document="a", paragraph=12), docs)
    b = render.citation_text(excerpt("x", document="b"), docs)
    assert a.startswith("— ¶12, Council votes to repair the old") and ELLIPSIS in a
    assert len(a.partition(", ")[2].partition(ELLIPSIS)[0]) < render.DESCRIPTION_TITLE_CAP
    assert a.endswith(", Town Gazette, 2024-03-05")
    assert b == "— ¶3, Canal reopens, Harbour News, May 2023"
    # the message itself still cites the whole title
    whole = valid(render.render_excerpt(answer(excerpt("x", document="a")), excerpt(
        "x", document="a"), docs)).text
    assert long_title in whole
