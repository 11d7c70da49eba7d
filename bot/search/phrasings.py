"""FAQ phrasings by key: which phrasings and entries hold a question's concepts, and how much.

How much of a phrasing a question covers is summed from postings, so the cost follows the
question's words, not the number of phrasings (thousands, most sharing a word or two with any
question).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bot.search.analysis import Concept, Key
from bot.search.candidates import SYNONYM_MATCH, coverage


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
