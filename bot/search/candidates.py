"""Postings and the shortlist: which sentences and FAQ phrasings hold a question's concepts.

The cost of answering follows the question's words, never the size of the corpus: a concept's
postings gather the candidate sentences, postings longer than candidate_cap only confirm them,
and at most SHORTLIST sentences go on to be scored. Each concept weighs its BM25 idf, a word the
documents do not have weighing as much as their rarest.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from bot.search.analysis import Concept, Key

SHORTLIST = 300  # candidates kept for the finer scoring
SYNONYM_MATCH = 0.85  # share of a concept's weight earned through a synonym, not its own words
CONTEXT_MATCH = 0.5  # share earned by a sentence whose heading or previous sentence holds it

_T = TypeVar("_T")


def coverage(
    query: list[Concept], weights: list[float], postings: Mapping[Key, Iterable[_T]]
) -> dict[_T, float]:
    """Per item of the postings: the question's weight it holds, a concept counting whole
    where the item has its own word and SYNONYM_MATCH of it where only a synonym."""
    acc: dict[_T, float] = defaultdict(float)
    for c, w in zip(query, weights, strict=True):
        whole, part = holders(c, postings)
        for item in whole:
            acc[item] += w
        for item in part:
            acc[item] += w * SYNONYM_MATCH
    return acc


def holders_of(keys: Iterable[Key], postings: Mapping[Key, Iterable[_T]]) -> set[_T]:
    """The items holding any of the keys."""
    out: set[_T] = set()
    for k in keys:
        out.update(postings.get(k, ()))
    return out


def holders(c: Concept, postings: Mapping[Key, Iterable[_T]]) -> tuple[set[_T], set[_T]]:
    """The items holding the concept's own word, and those holding only a synonym of it."""
    whole = set(postings.get(c.exact, ()))
    part: set[_T] = set()
    for k in c.keys:
        if k != c.exact:
            part.update(postings.get(k, ()))
    return whole, part - whole


def match(c: Concept, keys: frozenset[Key]) -> float:
    """How much of a concept a text with these keys holds: whole, through a synonym, or not."""
    if c.exact in keys:
        return 1.0
    return SYNONYM_MATCH if c.keys & keys else 0.0


@dataclass(slots=True)
class IndexedSentence:
    id: int
    document: str
    paragraph: int
    sentence: int
    text: str
    keys: frozenset[Key]
    weight: float = 0.0  # idf mass of all its concepts
    label: bool = False  # a heading or label (analysis.is_label): ranked below prose
    # What the sentence is about without naming it: its section's heading and the sentence
    # before it in its paragraph ("Disable CheckHostIP by default. The reason is ...").
    context: frozenset[Key] = frozenset()


class SentencePostings:
    """The sentences by id, the sentences holding each key, and the idf that follows from them."""

    def __init__(self) -> None:
        self.sentences: dict[int, IndexedSentence] = {}
        self.postings: dict[Key, list[int]] = defaultdict(list)
        self.context: dict[Key, list[int]] = defaultdict(list)
        self.n = 1
        # A cache per index (not on the class, which would keep every engine alive).
        self.df = lru_cache(maxsize=65536)(self.df)

    def add(self, sentence: IndexedSentence) -> None:
        """One sentence, in id order."""
        self.sentences[sentence.id] = sentence
        for k in sentence.keys:
            self.postings[k].append(sentence.id)
        for k in sentence.context - sentence.keys:
            self.context[k].append(sentence.id)

    def finish(self) -> None:
        """Once every sentence is in: the corpus size, and each sentence's idf mass."""
        self.n = max(1, len(self.sentences))
        for sent in self.sentences.values():
            sent.weight = sum(self.idf_df(len(self.postings[k])) for k in sent.keys)

    def idf(self, concept: Concept) -> float:
        return self.idf_df(self.df(concept.keys))

    def idf_df(self, df: int) -> float:
        if df == 0:  # unknown to the documents: as telling as the rarest word they have
            df = 1
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def df(self, keys: frozenset[Key]) -> int:
        """Sentences holding any of the keys; cached, a union is costly for common ones."""
        if len(keys) == 1:
            return len(self.postings.get(next(iter(keys)), ()))
        seen: set[int] = set()
        for k in keys:
            seen.update(self.postings.get(k, ()))
        return len(seen)

    def shortlist(self, query: list[Concept], weights: list[float], cap: int) -> dict[int, float]:
        """The question's weight each candidate sentence covers, for at most SHORTLIST of them.

        Concepts held by more than `cap` sentences gather nothing while rarer ones do: they
        only add to the candidates the rare ones found.
        """
        acc: dict[int, float] = defaultdict(float)
        common: list[tuple[Concept, float]] = []
        for c, w in zip(query, weights, strict=True):
            exact, other = holders(c, self.postings)
            if len(exact) + len(other) > cap:
                common.append((c, w))
                continue
            for sid in exact:
                acc[sid] += w
            for sid in other:
                acc[sid] += w * SYNONYM_MATCH
            # Held only by the sentence's context: part of the credit.
            for sid in holders_of(c.keys, self.context) - exact - other:
                acc[sid] += w * CONTEXT_MATCH
        if not acc and common:  # only common words: gather from the rarest of them
            c, w = min(common, key=lambda cw: self.df(cw[0].keys))
            common.remove((c, w))
            for k in c.keys:
                for sid in self.postings.get(k, ())[:cap]:
                    acc[sid] = max(acc.get(sid, 0.0), w * match(c, self.sentences[sid].keys))
        if len(acc) > SHORTLIST:  # common words and cues only reorder the best partial matches
            acc = dict(heapq.nlargest(SHORTLIST, acc.items(), key=lambda kv: kv[1]))
        for c, w in common:
            for sid in acc:
                acc[sid] += w * match(c, self.sentences[sid].keys)
        return acc


@dataclass(frozen=True, slots=True)
class Phrasing:
    """A FAQ question or phrasing, analysed once at load."""

    faq: str
    concepts: list[Concept]
    keys: frozenset[Key]
    weights: list[float]
    weight: float
    qtypes: frozenset[str]
    norm: str


@dataclass(frozen=True, slots=True)
class FaqCandidates:
    """The FAQ phrasings sharing a concept with a question, and how much they share.

    q_cov: the question's weight each phrasing holds; e_cov: the same for each entry, all its
    phrasings together; t_cov: each phrasing's own weight the question holds; groups: the
    phrasings holding any of the question, by entry.
    """

    q_cov: dict[int, float]
    e_cov: dict[str, float]
    t_cov: dict[int, float]
    groups: dict[str, list[int]]


class PhrasingPostings:
    """The FAQ phrasings holding each key, the entries holding it, and each phrasing concept's.

    How much of a phrasing a question covers is then summed from postings, so the cost follows
    the question's words, not the number of phrasings (thousands, most sharing a word or two
    with any question).
    """

    def __init__(self) -> None:
        self.phrasings: list[Phrasing] = []
        self._postings: dict[Key, list[int]] = defaultdict(list)
        self._faq_of: list[str] = []  # the entry of each phrasing
        self._entry_postings: dict[Key, list[str]] = defaultdict(list)
        # Every concept of every phrasing, numbered, and the keys that hold it whole or in part:
        # how much of a phrasing a question covers is then summed from these postings.
        self._part_owner: list[int] = []
        self._part_weight: list[float] = []
        self._part_whole: dict[Key, list[int]] = defaultdict(list)
        self._part_synonym: dict[Key, list[int]] = defaultdict(list)

    def add(self, phrasing: Phrasing) -> None:
        for k in phrasing.keys:
            self._postings[k].append(len(self.phrasings))
        self.phrasings.append(phrasing)

    def finish(self) -> None:
        """Once every phrasing is in: the entry postings and the numbered phrasing concepts."""
        entry_keys: dict[str, set[Key]] = defaultdict(set)
        for ph in self.phrasings:
            entry_keys[ph.faq] |= ph.keys
        self._faq_of = [ph.faq for ph in self.phrasings]
        for fid, keys in entry_keys.items():
            for k in keys:
                self._entry_postings[k].append(fid)
        for i, ph in enumerate(self.phrasings):
            for c, w in zip(ph.concepts, ph.weights, strict=True):
                g = len(self._part_owner)
                self._part_owner.append(i)
                self._part_weight.append(w)
                self._part_whole[c.exact].append(g)
                for k in c.keys - {c.exact}:
                    self._part_synonym[k].append(g)

    def holds(self, keys: frozenset[Key]) -> bool:
        """Whether any phrasing holds one of the keys."""
        return any(k in self._postings for k in keys)

    def candidates(self, query: list[Concept], weights: list[float]) -> FaqCandidates:
        """Coverage both ways of every phrasing sharing a concept with the question."""
        all_q = frozenset(k for c in query for k in c.keys)
        q_cov = coverage(query, weights, self._postings)
        # Half the credit comes from the entry as a whole (all its phrasings): people's
        # extra words are often in a sibling phrasing.
        e_cov = coverage(query, weights, self._entry_postings)
        whole: set[int] = set()
        part: set[int] = set()
        for k in all_q:
            whole.update(self._part_whole.get(k, ()))
            part.update(self._part_synonym.get(k, ()))
        part -= whole
        t_cov: dict[int, float] = defaultdict(float)
        for g in whole:
            t_cov[self._part_owner[g]] += self._part_weight[g]
        for g in part:
            t_cov[self._part_owner[g]] += SYNONYM_MATCH * self._part_weight[g]
        groups: dict[str, list[int]] = defaultdict(list)
        for i in q_cov:
            groups[self._faq_of[i]].append(i)
        return FaqCandidates(q_cov, e_cov, t_cov, groups)
