"""bot.search.store and bot.search.packed: the analysis is done when the index is built and read
back as it was stored; the engine starts without analysing a single sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.index import build
from bot.search import Engine
from bot.search.analysis import Analyzer, Concept
from bot.search.candidates import SentencePostings
from bot.search.packed import Rows, decode_sequence, encode_sequence
from bot.search.sentences import IndexedSentence
from tests.conftest import MakeSeeds
from tests.test_incremental import HARBOUR, ORCHARD, SCHOOL


def test_inverted_rows_keep_the_order_of_the_items_and_reads_back_from_bytes() -> None:
    rows = Rows.build([[0, 2], [2], [], [1, 2]])
    assert [list(rows.get(i, ())) for i in range(4)] == [[0, 2], [2], [], [1, 2]]
    inverted = rows.inverted(width=4)
    assert {k: list(v) for k, v in inverted.items()} == {0: [0], 1: [3], 2: [0, 1, 3]}
    assert inverted.size(2) == 3 and inverted.size(3) == 0 and inverted.size("p:x") == 0
    assert inverted.get(3) is None and inverted.get("p:x", ()) == ()
    back = Rows.from_bytes(*inverted.to_bytes())
    assert {k: list(v) for k, v in back.items()} == {k: list(v) for k, v in inverted.items()}
    assert [rows.holds(3, k) for k in range(4)] == [False, True, True, False]


def test_a_concept_sequence_decodes_to_what_was_encoded() -> None:
    seq = [frozenset({4}), frozenset({1, 7}), frozenset({0})]
    assert decode_sequence(encode_sequence(seq)) == seq
    assert decode_sequence(encode_sequence([])) == []


def _concept(key: int) -> Concept:
    return Concept(frozenset({key}), key, 0, 0, ("w",))


def test_stored_postings_answer_as_the_ones_built() -> None:
    built = SentencePostings()
    texts = {1: "Two ships sank.", 2: "6. Harbours", 5: "The quay closed on Monday."}
    for sid, keys, label in ((1, {0, 1}, False), (2, {1}, True), (5, {1, 2}, False)):
        built.add(IndexedSentence(sid, "doc", 1, sid, texts[sid], frozenset(keys), label=label,
                                  context=frozenset({3}), concepts=(frozenset(keys),)))
    built.finish()
    stored = SentencePostings.from_blobs(built.to_blobs(), texts.__getitem__)
    query = [_concept(1), _concept(2), _concept(3)]
    for cap in (1, 10):
        assert stored.shortlist(query, [1.0, 2.0, 0.5], cap) == built.shortlist(
            query, [1.0, 2.0, 0.5], cap
        )
    assert stored.sentences[5] == built.sentences[5]
    assert stored.sentences[2].label and not stored.sentences[1].label
    assert list(stored.sentences) == [1, 2, 5]
    assert stored.lacks_cue(1, frozenset({"quantity"})) is False  # "Two"
    assert stored.lacks_cue(5, frozenset({"quantity"})) is True
    assert stored.lacks_cue(5, frozenset({"time"})) is False  # "Monday"


def test_the_engine_starts_without_analysing_a_sentence(
    tmp_path: Path, make_seeds: MakeSeeds, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = make_seeds(
        tmp_path,
        {"kelby-harbour.txt": HARBOUR, "marlow-school.txt": SCHOOL, "pellow-orchard.txt": ORCHARD},
    )
    db = tmp_path / "index.sqlite3"
    build(seeds, db)
    analysed: list[str] = []
    real = Analyzer.concepts

    def counting(self: Analyzer, text: str, query: bool = False, grow: bool = False) -> list:
        analysed.append(text)
        return real(self, text, query, grow)

    monkeypatch.setattr(Analyzer, "concepts", counting)
    engine = Engine(db)
    sentences = {engine.sentences[sid].text for sid in engine.sentences}
    assert len(sentences) > 10
    assert not sentences & set(analysed)  # the titles only
    answer = engine.ask("who closed the north quay")
    assert answer.answered
    assert answer.excerpts[0].text.startswith("The harbour master, Tom Reyes, closed")
    assert answer.excerpts[0].highlights  # the matched words, bold in the reply
