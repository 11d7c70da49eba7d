"""Sentence and FAQ scores, and the one order of sentences an answer quotes them in.

A sentence's score is the share of the question's concept weight that it covers; a FAQ
entry's score looks both ways, question into phrasing and phrasing into question. A sentence
lacking the cue its question type needs (a number for "how many") keeps only CUE_MISS of its
score. rank() merges the two: a sentence scores the better of its own score and that of the best
entry citing it, and an entry that leads the answer puts its cites first.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from rapidfuzz import fuzz

from bot.search.analysis import SPECIFIC, Concept
from bot.search.candidates import SentencePostings
from bot.search.phrasings import PhrasingPostings

CUE_MISS = 0.4  # a sentence lacking what the question type needs keeps this share of its score
LABEL_SHARE = 0.4  # a heading keeps this share: under what its section earns (CONTEXT_MATCH)
SUGGESTIONS = 3  # closest FAQ questions offered
SCORED_AT_LEAST = SUGGESTIONS + 1  # FAQ entries always scored exactly: the suggestions + a lead


class Scorer:
    """Scores the candidates of the index it was given; the numbers to tune come per call."""

    def __init__(
        self,
        sentences: SentencePostings,
        phrasings: PhrasingPostings,
        cites: Mapping[str, list[int]],
    ) -> None:
        self._sentences = sentences
        self._phrasings = phrasings
        self._cites = cites  # sentence ids each FAQ entry cites, best first

    # ------------------------------------------------------------- sentences
    def sentences(
        self, query: list[Concept], weights: list[float], qtypes: frozenset[str], cap: int
    ) -> dict[int, float]:
        """Weighted coverage of the question by each candidate sentence."""
        total = sum(weights) or 1.0
        acc = self._sentences.shortlist(query, weights, cap)
        facts = self._sentences.facts(acc, qtypes)
        # Of two sentences holding as much of the question, the one saying more besides is the
        # answer: the other only repeats what was asked. A heading says nothing of it.
        return {
            sid: covered / total
            * (CUE_MISS if lacks else 1.0)
            * (LABEL_SHARE if label else 1.0)
            + 0.02 * (1 - covered / (covered + weight))
            for (sid, covered), (lacks, label, weight) in zip(acc.items(), facts, strict=True)
        }

    def cue(self, score: float, sid: int, qtypes: frozenset[str]) -> float:
        """The score, cut to CUE_MISS of it when the sentence lacks what the question needs."""
        return score * CUE_MISS if self._sentences.lacks_cue(sid, qtypes) else score

    def lacks_cue(self, sid: int, qtypes: frozenset[str]) -> bool:
        """Whether the sentence lacks what one of the question types needs (a date, a number)."""
        return self._sentences.lacks_cue(sid, qtypes)

    # ------------------------------------------------------------------- FAQ
    def faq(
        self,
        query: list[Concept],
        weights: list[float],
        qtypes: frozenset[str],
        norm: str,
        floor: float = 0.0,
    ) -> list[tuple[float, str]]:
        """Best phrasing per entry: how much of the question it covers, and of it the question.

        The whole-string rapidfuzz ratio only breaks near-ties between entries.

        Entries whose ceiling is below `floor` are left out once SCORED_AT_LEAST entries beat
        that ceiling: `ask` passes the score under which an entry can change nothing.
        """
        total = sum(weights) or 1.0
        found = self._phrasings.candidates(query, weights)
        q_cov, e_cov, groups = found.q_cov, found.e_cov, found.groups
        qs = qtypes & SPECIFIC
        most_added = (0.04 if qs else 0.0) + 0.04  # by the question type, by the ratio
        ceilings = sorted(
            (
                ((0.5 * max(q_cov[i] for i in members) + 0.5 * e_cov[fid]) / total + most_added,
                 fid)
                for fid, members in groups.items()
            ),
            reverse=True,
        )
        best: dict[str, float] = {}
        leaders: list[float] = []  # the best SCORED_AT_LEAST scores so far, a min-heap
        for ceiling, fid in ceilings:
            if ceiling < floor and len(leaders) == SCORED_AT_LEAST and leaders[0] > ceiling:
                break  # neither this entry nor any after it can matter
            score = self._entry_score(groups[fid], q_cov, e_cov[fid], found.t_cov, total, qs, norm)
            if score > 0.0:
                best[fid] = score
                if len(leaders) < SCORED_AT_LEAST:
                    heapq.heappush(leaders, score)
                else:
                    heapq.heappushpop(leaders, score)
        return sorted(((v, k) for k, v in best.items()), reverse=True)

    def _entry_score(
        self,
        members: list[int],
        q_cov: dict[int, float],
        e_cov: float,
        t_cov: dict[int, float],
        total: float,
        qs: frozenset[str],
        norm: str,
    ) -> float:
        """An entry's score: its best phrasing's."""
        phrasings = self._phrasings.phrasings
        scored: list[tuple[float, int]] = []
        for i in members:
            p = phrasings[i]
            # What the question asks must be covered; a phrasing about more than was asked
            # counts somewhat less, so "who is X" does not answer "what nationality is X".
            score = (0.5 * q_cov[i] + 0.5 * e_cov) / total * (0.6 + 0.4 * t_cov[i] / p.weight)
            if qs:
                ts = p.qtypes & SPECIFIC
                if ts:
                    score += 0.04 if qs & ts else -0.1
                elif qs & {"quantity", "duration", "distance", "time"}:
                    score -= 0.05
            scored.append((score, i))
        scored.sort(reverse=True)
        best = 0.0
        for score, i in scored:
            if score + 0.04 <= best:
                break  # the ratio adds at most 0.04: no phrasing from here on can win
            ratio = fuzz.token_sort_ratio(norm, phrasings[i].norm) / 100
            best = max(best, score + 0.04 * ratio)
        return best

    # ------------------------------------------------------------------ rank
    def rank(
        self,
        direct: dict[int, float],
        faqs: list[tuple[float, str]],
        qtypes: frozenset[str],
        direct_weight: float,
        faq_threshold: float,
    ) -> tuple[dict[int, float], list[int], str | None]:
        """Every candidate sentence's final score, the sentences in answer order, the lead FAQ."""
        # Each sentence's FAQ support: the best entry citing it (first cite a shade ahead).
        support: dict[int, tuple[float, str]] = {}
        for score, fid in faqs:
            for rank, sid in enumerate(self._cites[fid]):
                derived = self.cue(score - 0.01 * rank, sid, qtypes)
                if derived > support.get(sid, (0.0, ""))[0]:
                    support[sid] = (derived, fid)
        # A curated phrasing that matches is stronger evidence than shared words in a sentence.
        gamma = direct_weight
        final = {
            sid: max(gamma * direct.get(sid, 0.0), support.get(sid, (0.0, ""))[0])
            for sid in direct.keys() | support.keys()
        }
        ranked = sorted(final, key=lambda sid: (-final[sid], sid))
        lead: str | None = None
        if ranked and ranked[0] in support:
            score, fid = support[ranked[0]]
            if score >= faq_threshold:
                lead = fid
                cites = self._cites[lead]
                ranked = cites + [sid for sid in ranked if sid not in cites]
        return final, ranked, lead
