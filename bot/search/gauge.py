"""What an answer's confidence is read from (confidence.Evidence), gathered from the index.

The engine ranks; this reads, for the answer it chose, how much of the question the best
sentence holds, what of the question the index never names, and how the FAQ matched, so that
confidence.probability can weigh it. Nothing here changes which sentences are quoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

from bot.search.analysis import Concept
from bot.search.candidates import SentencePostings
from bot.search.confidence import HELD_RARE, Evidence, evidence
from bot.search.phrasings import PhrasingPostings


class Gauge:
    """Reads the evidence of one answer from the index it was given."""

    def __init__(
        self,
        postings: SentencePostings,
        phrasings: PhrasingPostings,
        faq_documents: Set[str],
    ) -> None:
        self._postings = postings
        self._phrasings = phrasings
        # The documents a FAQ entry cites: someone listed what people ask about them.
        self._faq_documents = faq_documents

    def read(
        self,
        query: list[Concept],
        weights: list[float],
        qtypes: frozenset[str],
        direct: Mapping[int, float],
        final: Mapping[int, float],
        ranked: Sequence[int],
        group: Set[int],
        faqs: list[tuple[float, str]],
        lead: str | None,
        margin: float,
        headroom: float,
    ) -> Evidence:
        """The evidence of the answer quoting `ranked` (best first) on `group` (the lead FAQ
        entry's cites or the best sentence's paragraph); `headroom` is how far the best
        sentence stands above the relevance floor, the most its lead can count for."""
        raw, lead_by = evidence(final, ranked, group, margin)
        top = ranked[0]
        return Evidence(
            evidence=raw,
            coverage=min(1.0, direct.get(top, 0.0)),
            faq=next((score for score, fid in faqs if fid == lead), 0.0) if lead else 0.0,
            unknown=self.unknown_share(query, weights),
            cue_missing=1.0 if self._postings.lacks_cue(top, qtypes) else 0.0,
            margin=min(lead_by, headroom, 1.0),
            single=1.0 if len(query) == 1 else 0.0,
            faq_short=self.faq_short(faqs, top),
            **self.held(query, weights, top),
        )

    def unknown_share(self, query: list[Concept], weights: list[float]) -> float:
        """The share of the question's weight in concepts neither a sentence nor a FAQ
        phrasing holds: what the question asks about and the index never mentions."""
        total = sum(weights) or 1.0
        missing = sum(
            w
            for c, w in zip(query, weights, strict=True)
            if not self._postings.df(c.keys) and not self._phrasings.holds(c.keys)
        )
        return missing / total

    def faq_short(self, faqs: list[tuple[float, str]], sid: int) -> float:
        """How far the best FAQ entry falls short of the question, where the answer's document
        has FAQ entries (0 where it has none: a library may curate only some documents)."""
        known = sid in self._postings.sentences
        if not known or self._postings.document_of(sid) not in self._faq_documents:
            return 0.0
        # A score can pass 1 by the bonuses of a matching question type and wording.
        return 1.0 - (faqs[0][0] if faqs else 0.0)

    def held(self, query: list[Concept], weights: list[float], sid: int) -> dict[str, float]:
        """What of the question the sentence holds, counted in the question's rarest concept
        that the documents have (so that neither the corpus's size nor the question's length
        sets the scale): the weight of all it holds (a synonym counting in part; HELD_RARE such
        concepts make 1), and that of the rarest concept it holds."""
        known = [w for c, w in zip(query, weights, strict=True) if self._postings.df(c.keys)]
        if not known or sid not in self._postings.sentences:
            return {"held": 0.0, "rarest": 0.0}
        unit = max(known)
        got, rarest = 0.0, 0.0
        for c, w in zip(query, weights, strict=True):
            share = self._postings.match(c, sid)
            if share:
                got += w * share
                rarest = max(rarest, w)
        return {"held": min(1.0, got / (unit * HELD_RARE)), "rarest": min(1.0, rarest / unit)}
