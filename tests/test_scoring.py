"""bot.search.scoring: answer cues, the one order of an answer (a leading FAQ entry's cites first),
and FAQ entries left unscored only when they could change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.search import Engine
from bot.search.candidates import SentencePostings
from bot.search.phrasings import PhrasingPostings
from bot.search.scoring import CUE_MISS, Scorer
from bot.search.sentences import IndexedSentence
from tests.conftest import ARTICLE_NAME
from tests.conftest import SEEDS as SEEDS_DIR

SENTENCES = ["The cities fell.", "Three cities fell.", "The army left."]


def _scorer(cites: dict[str, list[int]]) -> Scorer:
    sentences = SentencePostings()
    for sid, text in enumerate(SENTENCES, start=1):
        sentences.add(IndexedSentence(sid, "doc", 1, sid, text, frozenset()))
    sentences.finish()
    phrasings = PhrasingPostings()
    phrasings.finish()
    return Scorer(sentences, phrasings, cites)


# ------------------------------------------------------------------ cues and order


def test_a_sentence_without_the_cue_its_question_needs_keeps_cue_miss_of_its_score() -> None:
    scorer = _scorer({})
    how_many = frozenset({"quantity"})
    assert scorer.cue(0.5, 1, how_many) == 0.5 * CUE_MISS
    assert scorer.cue(0.5, 2, how_many) == 0.5
    assert scorer.cue(0.5, 1, frozenset({"reason"})) == 0.5  # "why" has no cue to hold
    assert scorer.cue(0.5, 1, frozenset({"person"})) == 0.5 * CUE_MISS  # names nobody


def test_a_faq_entry_scoring_the_threshold_leads_with_its_cites_in_their_order() -> None:
    scorer = _scorer({"e": [3, 1]})
    direct = {1: 0.5, 2: 0.9, 3: 0.1}
    final, ranked, lead = scorer.rank(direct, [(0.9, "e")], frozenset(), 0.8, 0.55)
    assert lead == "e"
    assert ranked == [3, 1, 2]
    assert final[3] == 0.9 and final[1] == pytest.approx(0.89)  # later cites a shade behind
    assert final[2] == pytest.approx(0.8 * 0.9)  # shared words alone count direct_weight


def test_a_faq_entry_under_the_threshold_only_supports_its_sentences() -> None:
    scorer = _scorer({"e": [3, 1]})
    final, ranked, lead = scorer.rank({2: 0.9}, [(0.5, "e")], frozenset(), 0.8, 0.55)
    assert lead is None
    assert ranked == [2, 3, 1]
    assert final == pytest.approx({1: 0.49, 2: 0.72, 3: 0.5})


# ------------------------------------------------------------------ cost without change

DATA = Path(__file__).parent / "data"
ARTICLE_WORDS = sorted(
    {w.strip(".,;:'\"()—").lower() for w in (SEEDS_DIR / f"{ARTICLE_NAME}.txt").read_text(
        encoding="utf-8").split()} - {""}
)


def _own_questions() -> list[str]:
    lines = [line for f in ("questions.jsonl", "questions-b.jsonl")
             for line in (DATA / f).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line)["q"] for line in lines]


def _every_entry_scored(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine as it would be without skipping FAQ entries that cannot matter."""
    score_all = engine._score_faq
    monkeypatch.setattr(engine, "_score_faq", lambda q, w, t, n, floor=0.0: score_all(q, w, t, n))


def test_skipping_hopeless_faq_entries_changes_no_answer_to_our_questions(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = _own_questions()
    assert len(questions) >= 200
    quick = [engine.ask(q) for q in questions]
    _every_entry_scored(engine, monkeypatch)
    assert [engine.ask(q) for q in questions] == quick


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(ARTICLE_WORDS), min_size=1, max_size=9))
def test_skipping_hopeless_faq_entries_changes_no_answer_to_word_mixes(
    engine: Engine, words: list[str]
) -> None:
    question = " ".join(words)
    quick = engine.ask(question)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _every_entry_scored(engine, monkeypatch)
        assert engine.ask(question) == quick
