"""Postings merged after a change hold what postings built afresh from the same sentences hold."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search.candidates import SentencePostings
from bot.search.merge import merged
from bot.search.sentences import PackedSentence, pack_keys


def _sentence(sid: int, document: str, keys: set[int], context: set[int]) -> PackedSentence:
    return PackedSentence(sid, document, 1 + sid % 3, 1 + sid % 5, sid % 7, pack_keys(keys),
                          pack_keys(context - keys), pack_keys(sorted(keys), ordered=True))


def _built(sentences: list[PackedSentence]) -> SentencePostings:
    p = SentencePostings()
    for s in sorted(sentences, key=lambda s: s.id):
        p.add_packed(s)
    p.finish()
    return p


def _held(p: SentencePostings) -> dict[str, Any]:
    """Everything the engine reads, by sentence id and key; empty rows left out (a merged
    table may keep a key no sentence holds any more)."""
    return {
        "postings": {k: list(p.postings[k]) for k in p.postings},
        "context": {k: list(p.context[k]) for k in p.context},
        "columns": [
            (sid, p.document_of(sid), p.paragraph[i], p.number[i], p.flags[i],
             list(p.keys[i]) if i in p.keys else [], round(p.weight[i], 9),
             p.concepts_of(sid))
            for i, sid in enumerate(p.ids)
        ],
        "n": p.n,
        "documents": sorted(p.documents),
    }


keys = st.sets(st.integers(0, 30), max_size=6)
sentence = st.tuples(st.sampled_from("abcd"), keys, keys)


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(sentence, min_size=1, max_size=40),
    gone=st.sets(st.integers(1, 40)),
    again=st.sets(st.integers(1, 40)),
    added=st.lists(sentence, max_size=15),
    reread=st.lists(st.tuples(keys, keys), min_size=40, max_size=40),
)
def test_merged_postings_equal_postings_built_from_the_sentences_after_the_change(
    before: list[tuple[str, set[int], set[int]]],
    gone: set[int],
    again: set[int],
    added: list[tuple[str, set[int], set[int]]],
    reread: list[tuple[set[int], set[int]]],
) -> None:
    old = [_sentence(i, d, k, c) for i, (d, k, c) in enumerate(before, start=1)]
    ids = {s.id for s in old}
    gone &= ids
    again = (again & ids) - gone  # re-read: gone and come again under the same id
    come = [_sentence(s.id, s.document, *reread[s.id - 1]) for s in old if s.id in again]
    come += [_sentence(100 + i, d, k, c) for i, (d, k, c) in enumerate(added)]
    after = [s for s in old if s.id not in gone | again] + come
    stored = {s.id: (s.keys, s.context) for s in old if s.id in gone | again}
    assert _held(merged(_built(old), stored, come)) == _held(_built(after))


def test_a_change_touching_no_key_copies_the_other_postings_as_they_were() -> None:
    old = _built([_sentence(1, "a", {1, 2}, set()), _sentence(2, "a", {3}, {1}),
                  _sentence(3, "b", {4}, set())])
    new = merged(old, {3: (pack_keys({4}), b"")}, [_sentence(4, "c", {5}, set())])
    assert list(new.postings[1]) == [1] and list(new.context[1]) == [2]
    assert 4 not in new.postings and list(new.postings[5]) == [4]
    assert new.documents == ["a", "c"]  # b has no sentence left
