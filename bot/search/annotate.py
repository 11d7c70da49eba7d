"""A document's sentences -> what the engine needs of each, read once when the index is built.

Why at build time: analysing every sentence (tokens, stems, alias phrases) took ~10 s per
100,000 sentences at every start and reload. The index stores the result (bot/search/store.py),
and a document whose text and aliases have not changed is never analysed again; one whose words
an alias change touches has only the sentences holding those words analysed again (reread).

Beyond a sentence's own concepts, this reads what only its neighbours say: the names it
refers back to ("He added that ..."), whether it is a heading, and the context it takes from
its section's heading and the sentence before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.search.analysis import REFERS_BACK, Analyzer, Key, is_label
from bot.search.packed import decode_sequence, encode_sequence, view
from bot.search.sentences import LABEL, IndexedSentence, PackedSentence, pack_keys


@dataclass(frozen=True, slots=True)
class Row:
    """A sentence of a document as the index holds it."""

    id: int
    paragraph: int
    sentence: int
    text: str


@dataclass(slots=True)
class Annotated:
    """A document's sentences, analysed, and the words they use (the speller's vocabulary)."""

    sentences: list[IndexedSentence]
    words: Counter[str]


def annotate(analyzer: Analyzer, document: str, rows: Iterable[Row]) -> Annotated:
    """Analyse one document's sentences, in order; the analyzer's key table grows."""
    rows = list(rows)
    per_paragraph = Counter(r.paragraph for r in rows)
    analysed = [analyzer.concepts(r.text, grow=True) for r in rows]
    labels = [is_label(r.text, per_paragraph[r.paragraph] == 1) for r in rows]
    sequences = [tuple(c.keys for c in cs) for cs in analysed]
    out = [
        IndexedSentence(r.id, document, r.paragraph, r.sentence, r.text, keys, label=label,
                        context=context, concepts=seq)
        for r, seq, label, (keys, context) in zip(
            rows, sequences, labels, read_along(rows, sequences, labels, analyzer), strict=True
        )
    ]
    return Annotated(out, Counter(w for cs in analysed for c in cs for w in c.words))


def reread(
    analyzer: Analyzer,
    before: Analyzer,
    rows: list[Row],
    stored: list[PackedSentence],
    again: set[int],
    words: Counter[str],
) -> tuple[list[PackedSentence], Counter[str]]:
    """A stored document read again after an alias change: the sentences in `again` (ids:
    those holding a word whose grouping changed) analysed anew, the others' concepts as
    stored, and what neighbours give each other (names referred back to, context) recomputed
    for all. `before` reads as the previous build did, to take back the words it counted."""
    words = Counter(words)
    sequences: list[tuple[frozenset[Key], ...]] = []
    for r, p in zip(rows, stored, strict=True):
        if r.id in again:
            words.subtract(w for c in before.concepts(r.text) for w in c.words)
            fresh = analyzer.concepts(r.text, grow=True)
            words.update(w for c in fresh for w in c.words)
            sequences.append(tuple(c.keys for c in fresh))
        else:
            sequences.append(tuple(decode_sequence(view(p.sequence))))
    labels = [bool(p.flags & LABEL) for p in stored]
    out = [
        PackedSentence(p.id, p.document, p.paragraph, p.sentence, p.flags,
                       pack_keys(keys), pack_keys(context - keys), pack_keys(encode_sequence(seq),
                                                                             ordered=True))
        for p, seq, (keys, context) in zip(
            stored, sequences, read_along(rows, sequences, labels, analyzer), strict=True
        )
    ]
    return out, Counter({w: n for w, n in words.items() if n > 0})


def read_along(
    rows: list[Row],
    sequences: list[tuple[frozenset[Key], ...]],
    labels: list[bool],
    analyzer: Analyzer,
) -> Iterator[tuple[frozenset[Key], frozenset[Key]]]:
    """Each sentence's keys (its concepts', and the names it refers back to) and context (its
    section's heading, the sentence before it in its paragraph), in document order."""
    names: frozenset[Key] = frozenset()  # who the previous sentence was about
    heading: frozenset[Key] = frozenset()  # the section's heading, context of its prose
    before: tuple[int, frozenset[Key]] = (-1, frozenset())
    for r, seq, label in zip(rows, sequences, labels, strict=True):
        keys = frozenset(k for c in seq for k in c)
        if REFERS_BACK.search(r.text):  # "He added that ...": the names carry over
            keys |= names
        names = (keys & analyzer.alias_keys) or names
        context = heading | (before[1] if before[0] == r.paragraph else frozenset())
        if label:
            heading, context = keys, frozenset()
        before = (r.paragraph, keys)
        yield keys, context
