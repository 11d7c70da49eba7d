"""bot.search.candidates: postings gather the candidates, common concepts only confirm them, the
shortlist stays short, and a synonym earns SYNONYM_MATCH of a concept's weight."""

from __future__ import annotations

import pytest

from bot.search.analysis import Concept, Key
from bot.search.candidates import (
    SHORTLIST,
    SYNONYM_MATCH,
    SentencePostings,
    coverage,
    holders,
    match,
)
from bot.search.sentences import IndexedSentence


def _concept(exact: Key, *synonyms: Key) -> Concept:
    return Concept(frozenset({exact, *synonyms}), exact, 0, 0, (str(exact),))


def _postings(*keys: set[Key]) -> SentencePostings:
    """Sentence i (from 1) holds keys[i - 1]."""
    p = SentencePostings()
    for sid, ks in enumerate(keys, start=1):
        p.add(IndexedSentence(sid, "doc", 1, sid, f"sentence {sid}", frozenset(ks)))
    p.finish()
    return p


def test_a_synonym_earns_a_share_of_the_weight_and_the_own_word_all_of_it() -> None:
    postings = {1: [10, 11], 2: [11, 12]}
    c = _concept(1, 2)
    assert holders(c, postings) == ({10, 11}, {12})
    assert coverage([c], [2.0], postings) == {10: 2.0, 11: 2.0, 12: 2.0 * SYNONYM_MATCH}
    assert match(c, frozenset({1})) == 1.0
    assert match(c, frozenset({2})) == SYNONYM_MATCH
    assert match(c, frozenset({3})) == 0.0


def test_a_word_the_documents_lack_weighs_as_much_as_their_rarest() -> None:
    p = _postings({1}, {1, 2}, {1})
    assert p.idf(_concept("p:zebra")) == p.idf(_concept(2)) > p.idf(_concept(1))
    assert p.sentences[2].weight == pytest.approx(p.idf(_concept(1)) + p.idf(_concept(2)))


def test_a_common_concept_confirms_candidates_but_gathers_none() -> None:
    p = _postings({10, 20}, {10}, {10}, {10}, {10})
    assert p.shortlist([_concept(10), _concept(20)], [1.0, 2.0], cap=3) == {1: 3.0}


def test_only_common_concepts_gather_from_the_rarest_of_them() -> None:
    p = _postings({10, 11}, {10, 11}, {10, 11}, {10, 11}, {10})
    found = p.shortlist([_concept(10), _concept(11)], [1.0, 2.0], cap=3)
    assert found == {1: 3.0, 2: 3.0, 3: 3.0}  # gathered by 11 (the first `cap` of it), 10 adds


def test_the_shortlist_keeps_the_best_partial_matches_and_no_more() -> None:
    p = _postings(*({1, 2} if i < 50 else {1} for i in range(400)))
    found = p.shortlist([_concept(1), _concept(2)], [1.0, 1.0], cap=1000)
    assert len(found) == SHORTLIST
    assert all(found[sid] == 2.0 for sid in range(1, 51))
