"""Second looks at the best candidates: the question's words side by side, and which of
several documents should answer (the one whose title the question names, else the newest)."""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import pairwise

from bot.answer import DocumentInfo
from bot.search.analysis import Analyzer, Concept, Key
from bot.search.candidates import holders_of

PHRASE_RERANK = 20  # the best sentences checked for the question's words side by side
PHRASE_BONUS = 0.1  # at most this much for holding every adjacent pair of the question
LEAD_BONUS = 0.06  # at most this much for naming all of the question in its first concepts
LEAD_CONCEPTS = 3  # how many of a sentence's first concepts say what it is about
TITLE_BONUS = 0.1  # at most this much for a document whose title holds the whole question
RECENCY_BONUS = 0.01  # the newest document's edge over the oldest: a tie-breaker only
_NONE: frozenset[int] = frozenset()


def phrase_bonus(
    direct: dict[int, float],
    query: list[Concept],
    weights: list[float],
    concepts_of: Callable[[int], list[frozenset[Key]]],
) -> dict[int, float]:
    """The best few sentences gain where they hold two of the question's words side by side
    as the question has them ("exit status", "key exchange"): a phrase, not two words
    anywhere in the sentence; and where they name the question's words first."""
    if len(query) < 2 or not direct:
        return direct
    total = sum(weights) or 1.0
    # Which of the question's concepts each key stands for: a sentence's concepts are then
    # matched by a look-up per key, not a set test per (concept, question concept) pair.
    asking: dict[Key, set[int]] = defaultdict(set)
    for i, c in enumerate(query):
        for k in c.keys:
            asking[k].add(i)
    keys = frozenset(asking)
    out = dict(direct)
    for sid in heapq.nlargest(PHRASE_RERANK, direct, key=direct.__getitem__):
        # each of the sentence's concepts, in text order: the question's concepts it is
        matched = [
            _NONE if x.isdisjoint(keys) else set().union(*(asking[k] for k in x & keys))
            for x in concepts_of(sid)
        ]
        pairs = {i for here, after in pairwise(matched) for i in here if i + 1 in after}
        held = sum(weights[i] + weights[i + 1] for i in pairs)
        out[sid] += PHRASE_BONUS * held / (2 * total)
        # A sentence is about what it names first ("The default compression level is -6",
        # '"Source" form shall mean'): one that only mentions the question's words late, in
        # passing, is less likely its answer. One that says nothing besides them ("The Vell
        # bridge reopened.") only repeats the question.
        if all(matched):
            continue
        early = set().union(*matched[:LEAD_CONCEPTS])
        out[sid] += LEAD_BONUS * sum(weights[i] for i in early) / total
    return out


class Library:
    """The documents of the index as a library: their titles' concepts and their order by date."""

    def __init__(self, documents: Iterable[DocumentInfo], analyzer: Analyzer) -> None:
        docs = list(documents)
        self.recency = recency({d.id: d.date for d in docs})
        self._title_postings: dict[Key, set[str]] = defaultdict(set)
        for doc in docs:
            for c in analyzer.concepts(doc.title):
                for k in c.keys:
                    self._title_postings[k].add(doc.id)
        self._many = len(docs) > 1

    def prior(
        self,
        direct: dict[int, float],
        query: list[Concept],
        weights: list[float],
        document_of: Callable[[int], str],
    ) -> dict[int, float]:
        """Where several documents answer alike, the one whose title the question names comes
        first, and else the newest: a library's latest article on a story supersedes older
        ones. One document: nothing to choose."""
        if not self._many:
            return direct
        total = sum(weights) or 1.0
        named: dict[str, float] = defaultdict(float)
        for c, w in zip(query, weights, strict=True):
            for doc in holders_of(c.keys, self._title_postings):
                named[doc] += w / total
        out = {}
        for sid, score in direct.items():
            doc = document_of(sid)
            bonus = TITLE_BONUS * named.get(doc, 0.0) + RECENCY_BONUS * self.recency[doc]
            out[sid] = score + bonus
        return out


_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


def date_key(text: str) -> tuple[int, int, int]:
    """A sortable (year, month, day) from a metadata date as people write it ("December
    2024", "2024-12-08", "8 Dec 2024", "2017-2023"): the latest year it names, its month and
    day where given; (0, 0, 0) when it names no year."""
    years = [int(y) for y in re.findall(r"\b(1[89]\d\d|2\d\d\d)\b", text)]
    if not years:
        return (0, 0, 0)
    iso = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", text)
    if iso:
        return (int(iso[1]), int(iso[2]), int(iso[3]))
    month = next((n for m, n in _MONTHS.items() if re.search(rf"\b{m}[a-z]*\b", text, re.I)), 0)
    day = re.search(r"\b([0-3]?\d)(?:st|nd|rd|th)?\b(?!\d)", re.sub(r"\d{4}", "", text))
    return (max(years), month, int(day[1]) if day and month else 0)


def recency(dates: dict[str, str]) -> dict[str, float]:
    """Each document's place from oldest (0) to newest (1) by its metadata date; undated ones
    count as the oldest."""
    order = sorted(dates, key=lambda d: date_key(dates[d]))
    span = max(1, len(order) - 1)
    out: dict[str, float] = {}
    for i, doc in enumerate(order):
        out[doc] = i / span if date_key(dates[doc]) != (0, 0, 0) else 0.0
    return out
