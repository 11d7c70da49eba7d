"""A document's sentences -> what the engine needs of each, read once when the index is built.

Why at build time: analysing every sentence (tokens, stems, alias phrases) took ~10 s per
100,000 sentences at every start and reload. The index stores the result (bot/search/store.py),
and a document whose text and aliases have not changed is never analysed again.

Beyond a sentence's own concepts, this reads what only its neighbours say: the names it
refers back to ("He added that ..."), whether it is a heading, and the context it takes from
its section's heading and the sentence before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bot.search.analysis import REFERS_BACK, Analyzer, Key, is_label
from bot.search.sentences import IndexedSentence


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
    out: list[IndexedSentence] = []
    words: Counter[str] = Counter()
    names: frozenset[Key] = frozenset()  # who the previous sentence was about
    heading: frozenset[Key] = frozenset()  # the section's heading, context of its prose
    before: tuple[int, frozenset[Key]] = (-1, frozenset())
    for r in rows:
        concepts = analyzer.concepts(r.text, grow=True)
        keys = frozenset(k for c in concepts for k in c.keys)
        if REFERS_BACK.search(r.text):  # "He added that ...": the names carry over
            keys |= names
        names = (keys & analyzer.alias_keys) or names
        label = is_label(r.text, per_paragraph[r.paragraph] == 1)
        context = heading | (before[1] if before[0] == r.paragraph else frozenset())
        if label:
            heading, context = keys, frozenset()
        before = (r.paragraph, keys)
        out.append(
            IndexedSentence(
                r.id, document, r.paragraph, r.sentence, r.text, keys, label=label,
                context=context, concepts=tuple(c.keys for c in concepts),
            )
        )
        words.update(w for c in concepts for w in c.words)
    return Annotated(out, words)
