"""bot.search.Engine: whatever arrives, an Answer comes back, every quote is verbatim and none
is shown twice.

Checks on the real article use only its sentences; anything that hangs on curated data (FAQ
entries, aliases) uses small seed folders written here, since the real ones are being edited.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import weakref
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Answer
from bot.index import build
from bot.ingest import Document, read_document
from bot.search import MAX_EXCERPTS, MAX_QUERY_CHARS, Engine, Settings
from tests.conftest import ARTICLE_NAME, ROOT, MakeSeeds

JSON_KEYS = {"query", "answered", "confidence", "faq", "excerpts", "suggestions"}

NORWICK = """The United States sent two cargo planes of food aid to Norwick on Monday.

The Vell river flooded the lower town after three days of rain.

Volunteers told reporters about the clean-up in the market square.
"""
NORWICK_ALIASES = (
    '[[alias]]\nterms = ["United States", "US", "America"]\n'
    '[[synonym]]\nterms = ["flooded", "inundated", "swamped"]\n'
)
NORWICK_FAQ = """[[faq]]
id = "norwick_aid"
question = "What aid did Norwick get?"
phrasings = ["what help was sent to norwick"]
answer = "Two cargo planes of food."
cites = ["two cargo planes of food aid", "Volunteers told reporters"]
"""


@pytest.fixture(scope="module")
def article(article_path: Path) -> Document:
    return read_document(article_path)


@pytest.fixture(scope="module")
def verbatim(article: Document, article_path: Path) -> dict[tuple[int, int], str]:
    """(paragraph, sentence) -> the slice of the source file, the only text we may quote."""
    source = article_path.read_text(encoding="utf-8")
    return {(s.paragraph, s.number): source[s.start : s.end] for s in article.sentences}


@pytest.fixture(scope="module")
def norwick(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A tiny document with one alias group and one FAQ entry of our own."""
    root = tmp_path_factory.mktemp("norwick")
    seeds = root / "seeds"
    seeds.mkdir()
    (seeds / "norwick.txt").write_text(NORWICK, encoding="utf-8")
    (seeds / "aliases.toml").write_text(NORWICK_ALIASES, encoding="utf-8")
    (seeds / "faq.toml").write_text(NORWICK_FAQ, encoding="utf-8")
    return Engine(build(seeds, root / "index.sqlite3"))


def check_answer(answer: Answer, question: str, engine: Engine) -> None:
    """The invariants every answer keeps, whatever the question."""
    assert isinstance(answer, Answer)
    assert answer.query == question
    assert 0.0 <= answer.confidence <= 1.0
    assert len(answer.excerpts) <= MAX_EXCERPTS
    if answer.answered:
        assert answer.excerpts
        assert answer.confidence >= engine.settings.threshold
    else:
        assert answer.excerpts == ()
        assert answer.faq is None
        assert len(answer.suggestions) <= 3
    for e in answer.excerpts:
        assert 0.0 <= e.score <= 1.0
        assert all(0 <= s < end <= len(e.text) for s, end in e.highlights)
    data = answer.to_json()
    assert set(data) == JSON_KEYS
    json.dumps(data, ensure_ascii=False)


def _positions(answer: Answer) -> list[tuple[str, int, int]]:
    return [(e.document, e.paragraph, e.sentence) for e in answer.excerpts]


# ------------------------------------------------------------------ odd input

ODD_INPUTS = {
    "empty": "",
    "whitespace": " \t\n \u00a0 ",
    "stopwords": "what is the",
    "emoji": "\U0001f914\U0001f914",
    "5000-chars": ("who took Homs and why " * 250)[:5000],
    "5000-letters": "x" * 5000,
    "html": "<b>&amp;",
    "arabic": "\u0645\u0646 \u0633\u064a\u0637\u0631 \u0639\u0644\u0649 \u062d\u0645\u0635\u061f",
    "hebrew": "\u05de\u05d9 \u05db\u05d1\u05e9 \u05d0\u05ea \u05d7\u05d5\u05de\u05e1?",
    "rtl-marks": "\u202bwho took Homs\u202c",
    "zero-width": "\u200b\u200c\u200d\ufeff",
    "zero-width-in-words": "who\u200b took\u200b Homs\u2060",
    "control": "\x00\x07\x1b[31mred",
    "lone-letters": "a b c d e",
}
NOT_ANSWERED = ["empty", "whitespace", "stopwords", "emoji", "zero-width", "lone-letters"]


@pytest.mark.parametrize("question", list(ODD_INPUTS.values()), ids=list(ODD_INPUTS))
def test_odd_input_gets_an_answer_object_without_an_exception(
    engine: Engine, question: str
) -> None:
    check_answer(engine.ask(question), question, engine)


@pytest.mark.parametrize("name", NOT_ANSWERED)
def test_input_without_content_words_is_not_answered(engine: Engine, name: str) -> None:
    answer = engine.ask(ODD_INPUTS[name])
    assert answer.answered is False
    assert answer.excerpts == ()
    assert answer.confidence == 0.0


# ------------------------------------------------------------------ ordinary questions

QUESTIONS = [
    "who took homs",
    "How far is Homs from Damascus?",
    "what did trump say about syria",
    "where is qusayr",
    "did the UN evacuate its staff?",
    "who is geir pedersen",
    "what happened to the statues of hafez al-assad",
    "what is the weather in paris",
    "best pizza recipe",
    "chemcial weapons",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_excerpt_is_a_verbatim_sentence_of_the_article(
    engine: Engine, verbatim: dict[tuple[int, int], str], question: str
) -> None:
    answer = engine.ask(question)
    check_answer(answer, question, engine)
    for e in answer.excerpts:
        assert e.document == ARTICLE_NAME
        assert e.text == verbatim[(e.paragraph, e.sentence)]


def test_an_answered_question_quotes_the_sentence_that_answers_it(engine: Engine) -> None:
    answer = engine.ask("How far is Homs from Damascus?")
    assert answer.answered
    assert any("nearly a 100 kilometres away" in e.text for e in answer.excerpts[:3])


def test_a_question_off_the_topic_is_not_answered(engine: Engine) -> None:
    for question in ("what is the weather in paris", "best pizza recipe"):
        assert engine.ask(question).answered is False


def test_a_long_message_is_judged_on_its_first_thousand_characters(engine: Engine) -> None:
    """What follows the first MAX_QUERY_CHARS cannot change the answer (nor slow it down)."""
    start = "who took homs?".ljust(MAX_QUERY_CHARS)
    answer = engine.ask(start + "best pizza recipe with pineapple " * 100)
    assert answer.answered
    assert _positions(answer) == _positions(engine.ask("who took homs?"))


def test_the_json_form_holds_exactly_the_documented_keys(engine: Engine) -> None:
    data = engine.ask("who took homs").to_json()
    assert set(data) == JSON_KEYS
    assert data["excerpts"]
    for e in data["excerpts"]:
        assert set(e) == {"text", "document", "paragraph", "sentence", "score"}
    for s in data["suggestions"]:
        assert set(s) == {"id", "question"}


# ------------------------------------------------------------------ invisible characters


def test_a_zero_width_space_inside_a_word_does_not_change_the_answer(engine: Engine) -> None:
    """Copied text often carries invisible characters; the question is still the same."""
    plain = engine.ask("who took homs")
    assert plain.answered
    hidden = engine.ask("who took ho\u200bms")
    assert hidden.answered
    assert _positions(hidden) == _positions(plain)


# ------------------------------------------------------------------ tmp seeds: FAQ and aliases


def test_a_faq_answer_leads_with_the_sentences_the_entry_cites(norwick: Engine) -> None:
    answer = norwick.ask("What aid did Norwick get?")
    assert answer.answered
    assert answer.faq is not None and answer.faq.id == "norwick_aid"
    assert answer.faq.answer == "Two cargo planes of food."
    cited = {(1, 1), (3, 1)}
    assert {(e.paragraph, e.sentence) for e in answer.excerpts[: len(cited)]} == cited


def test_a_faq_phrasing_reaches_the_same_entry(norwick: Engine) -> None:
    answer = norwick.ask("what help was sent to Norwick")
    assert answer.faq is not None and answer.faq.id == "norwick_aid"


def test_a_faq_answer_does_not_suggest_its_own_entry(norwick: Engine) -> None:
    answer = norwick.ask("What aid did Norwick get?")
    assert "norwick_aid" not in {s.id for s in answer.suggestions}


def test_us_in_capitals_matches_the_united_states(norwick: Engine) -> None:
    for question in ("US", "the US", "America"):
        answer = norwick.ask(question)
        assert answer.answered, question
        assert answer.excerpts[0].text.startswith("The United States sent")


def test_one_word_alone_does_not_stand_for_its_synonyms(norwick: Engine) -> None:
    """"quit" alone once led to an answer through a synonym group ("cut off"): a word of like
    meaning is evidence inside a question, not in place of one."""
    assert not norwick.ask("swamped").answered
    answer = norwick.ask("was the lower town swamped")
    assert answer.answered and answer.excerpts[0].text.startswith("The Vell river flooded")


def test_lowercase_us_is_the_pronoun_not_the_country(norwick: Engine) -> None:
    assert norwick.ask("us").answered is False
    answer = norwick.ask("tell us about the flood")
    assert answer.answered
    assert answer.excerpts[0].text.startswith("The Vell river flooded")
    assert not any("United States" in e.text for e in answer.excerpts)


def test_a_question_typed_in_capitals_reads_us_as_the_pronoun(norwick: Engine) -> None:
    """With every letter a capital, "US" says nothing about the country: answer as in lowercase."""
    shouted = norwick.ask("TELL US ABOUT THE FLOOD")
    assert shouted.answered
    assert _positions(shouted) == _positions(norwick.ask("tell us about the flood"))


def test_a_not_answered_question_offers_at_most_three_suggestions(
    tmp_path: Path, make_seeds: MakeSeeds
) -> None:
    entries = "".join(
        f'[[faq]]\nid = "q{i}"\nquestion = "What about the river {w}?"\n'
        f'answer = "See the article."\ncites = ["{c}"]\n\n'
        for i, (w, c) in enumerate(
            [
                ("rain", "three days of rain"),
                ("town", "lower town"),
                ("square", "market square"),
                ("planes", "cargo planes"),
                ("aid", "food aid"),
            ]
        )
    )
    seeds = make_seeds(tmp_path, {"norwick.txt": NORWICK, "faq.toml": entries})
    engine = Engine(build(seeds, tmp_path / "index.sqlite3"))
    answer = engine.ask("river pelicans migrating south")
    assert answer.answered is False
    assert answer.excerpts == ()
    assert 1 <= len(answer.suggestions) <= 3
    assert {s.id for s in answer.suggestions} <= {f"q{i}" for i in range(5)}


# ------------------------------------------------------------------ property


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.text(max_size=6000))
def test_any_text_gets_an_answer_whose_json_has_exactly_the_documented_keys(
    engine: Engine, text: str
) -> None:
    answer = engine.ask(text)
    check_answer(answer, text, engine)
    data = json.loads(json.dumps(answer.to_json(), ensure_ascii=False))
    assert set(data) == JSON_KEYS
    assert data["query"] == text


_VOCAB = (
    "who what where when how many far Homs homs Damascus HTS US us Hezbollah hezbolah chemical "
    "weapons Trump Assad al-Assad\u2019s kilometres 24 hours UN the is of ? \u2014 \u201c \u201d"
)
_PIECES = st.one_of(st.sampled_from([*_VOCAB.split(), "\u200b"]), st.text(max_size=8))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=40).map(" ".join))
def test_questions_mixing_article_words_and_noise_keep_every_invariant(
    engine: Engine, verbatim: dict[tuple[int, int], str], text: str
) -> None:
    """Random text rarely reaches the scoring code; article words do."""
    answer = engine.ask(text)
    check_answer(answer, text, engine)
    for e in answer.excerpts:
        assert e.text == verbatim[(e.paragraph, e.sentence)]


def test_html_entities_typed_or_pasted_read_as_characters(engine: Engine) -> None:
    """"&amp;" is what a pasted "&" looks like; it must not count as an unknown word "amp"."""
    plain = engine.ask("who took homs")
    pasted = engine.ask("who took homs &amp; &#39;")
    assert pasted.answered
    assert pasted.excerpts[0].text == plain.excerpts[0].text


def test_a_half_typed_last_word_is_completed_as_in_inline_search(engine: Engine) -> None:
    """Inline queries arrive as people type: "hezbo" should already find Hezbollah."""
    typed = engine.ask("is hezbollah pulling out of dam")
    assert typed.answered
    assert "Damascus" in typed.excerpts[0].text
    assert engine.ask("hezbo").answered


# ------------------------------------------------------------------ each sentence once

QUESTION_FILES = {
    "own": ROOT / "tests" / "data" / "questions.jsonl",
    "own-b": ROOT / "tests" / "data" / "questions-b.jsonl",
    "dev": ROOT.parent / "shared" / "eval" / "dev-questions.jsonl",
}


def _sentence_ids(answer: Answer) -> list[int]:
    return [e.sentence_id for e in (*answer.excerpts, *answer.more)]


@pytest.mark.parametrize("name", list(QUESTION_FILES))
def test_no_answer_to_the_question_sets_shows_a_sentence_twice(engine: Engine, name: str) -> None:
    path = QUESTION_FILES[name]
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for question in (json.loads(ln)["q"] for ln in lines):
        ids = _sentence_ids(engine.ask(question))
        assert len(ids) == len(set(ids)), question


def test_no_faq_answer_shows_a_sentence_twice(engine: Engine) -> None:
    for entry in engine.faq_list():
        answer = engine.answer_faq(entry.id)
        assert answer is not None
        ids = _sentence_ids(answer)
        assert len(ids) == len(set(ids)), entry.id


def test_an_index_citing_one_sentence_twice_still_shows_it_once(tmp_path: Path) -> None:
    """The build refuses such cites now; an index built before it did is still read safely."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "norwick.txt").write_text(NORWICK, encoding="utf-8")
    (seeds / "faq.toml").write_text(NORWICK_FAQ, encoding="utf-8")
    db = build(seeds, tmp_path / "index.sqlite3")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "insert into faq_cites (faq, rank, sentence_id, quote) "
            "select faq, 2, sentence_id, quote from faq_cites where rank = 0"
        )
    engine = Engine(db)
    asked = engine.ask("What aid did Norwick get?")
    assert asked.faq is not None and asked.faq.id == "norwick_aid"
    shown = engine.answer_faq("norwick_aid")
    assert shown is not None
    for answer in (asked, shown):
        ids = _sentence_ids(answer)
        assert ids[:2] == [1, 3]  # the cites, in their order
        assert len(ids) == len(set(ids))


# ------------------------------------------------------------------ lifetime


def test_a_replaced_engine_is_freed_with_its_caches(real_seeds: Path, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite3"
    build(real_seeds, db)
    old = Engine(db)
    old.ask("who took homs?")  # fills the caches, which must not keep it alive
    gone = weakref.ref(old)
    del old
    gc.collect()
    assert gone() is None


def test_a_chat_message_is_answered_from_its_question_part(engine: Engine) -> None:
    """A greeting and a worry around the question change nothing; a second question is kept
    to offer, not matched."""
    plain = engine.ask("who took homs?")
    chatty = engine.ask("hi!! my cousin lives there and i'm scared — who took homs?? 😟")
    assert chatty.excerpts == plain.excerpts and chatty.answered
    two = engine.ask("who took homs? and what did lavrov say")
    assert two.excerpts == plain.excerpts and two.others == ("what did lavrov say",)


def test_a_heading_is_not_the_answer_while_its_section_says_something(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    """A numbered heading names the topic; the sentence of its section that says something
    about it is the answer, and the heading's words count for that section's prose."""
    seeds = make_seeds(tmp_path, {"terms.txt": (
        "Terms for the software.\n\n"
        "6. Trademarks. This licence does not grant permission to use the trade names.\n\n"
        "7. Disclaimer of Warranty. The software is provided as is, without conditions.\n"
    )})
    db = build(seeds, tmp_path / "i.sqlite3")
    answer = Engine(db, Settings(threshold=0.0)).ask("what does it say about trademarks")
    assert answer.excerpts[0].text.startswith("This licence does not grant")
    warranty = Engine(db, Settings(threshold=0.0)).ask("is there any warranty")
    assert warranty.excerpts[0].text.startswith("The software is provided as is")


def test_a_sentence_that_only_repeats_the_question_ranks_below_the_one_with_the_fact(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    text = (
        "The Vell bridge reopened.\n\n"
        "Engineers say the Vell bridge reopened after the flood because its piers were rebuilt "
        "with steel from the northern mills.\n"
    )
    first = _first_excerpt(make_seeds, tmp_path, text, "why was the vell bridge reopened")
    assert first.startswith("Engineers say")


def _first_excerpt(make_seeds: MakeSeeds, tmp_path: Path, text: str, question: str) -> str:
    """The first excerpt's text for a question on a one-document library, no threshold."""
    seeds = make_seeds(tmp_path, {"doc.txt": text})
    engine = Engine(build(seeds, tmp_path / "i.sqlite3"), Settings(threshold=0.0))
    return engine.ask(question).excerpts[0].text


def test_a_who_question_is_answered_by_the_sentence_that_names_someone(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    """A sentence holding more of the question but naming nobody is no answer to "who"."""
    text = (
        "Permission is granted to copy this manual provided the copyright notice is kept.\n\n"
        "Copyright 2022 Free Software Foundation, Inc.\n\n"
        "This manual describes the program.\n\n"
        "The manual is also kept online.\n"
    )
    first = _first_excerpt(make_seeds, tmp_path, text, "who holds the copyright on this manual")
    assert first.startswith("Copyright 2022")
