"""Evidence -> the probability that the first quote answers the question; refusing below a
threshold.

The probability must mean the same for a document nobody curated as for one with a FAQ, so it
is read from evidence every document has, not from the FAQ alone:
- `evidence`: the best sentence's final score less a penalty for a close runner-up outside the
  answer (the lead FAQ entry's cites, or the best sentence's paragraph; the FAQ-backed score
  where an entry leads);
- `coverage`: the share of the question's weight the best sentence holds in its own words;
- `faq`: how well the leading FAQ entry matched (0 without one);
- `unknown`: the share of the question's weight in words the index has never seen: a question
  about something the document never names is most likely one it does not answer
  (`mostly_unknown` grows from half the question's weight on);
- `cue_missing`: the question asks a when/how many/how far/who the best sentence has no date,
  number, distance or name for;
- `margin`: how far the best sentence leads the runner-up outside the answer;
- `single`: the question is one concept ("quit"), which says little about what is wanted;
- `faq_short`: where the best sentence's document has FAQ entries (citing it), how far the best
  entry falls short of matching the question (0 for a document without): where someone listed
  what people ask about a document, a question none of it matches well is less likely one the
  document answers (a little below 0 for an entry matching beyond its full score);
- `held`: how much of the question the best sentence holds in absolute terms, not as a share:
  the weight (idf) of what it holds, counted in the question's rarest concept the documents
  have (HELD_RARE of them make 1). One common word held of a question that also names a rare
  one the document has is little evidence; the rare one and more besides is much;
- `rarest`: the rarest of the question's concepts the best sentence holds, against the rarest
  the documents have: the question's most specific known word in the sentence (1), or only
  its common ones (less).

A logistic regression over these (bot/calibrate.py) gives the probability. Refit it whenever
scoring changes: `python -m bot fit` scores the training sets (tests/data/questions.jsonl on the
article with and without its FAQ, and the documents `tests/data/docs/split.toml` marks for
tuning, uncurated) with no threshold, fits the weights and picks the threshold (bot/fit.py
says by what rule); it prints both, for WEIGHTS and THRESHOLD below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from bot.calibrate import logistic

FEATURES = (
    "evidence", "coverage", "faq", "unknown", "mostly_unknown", "cue_missing", "margin", "single",
    "known_covered", "faq_short", "held", "rarest",
)
HELD_RARE = 3.0  # `held` reaches 1 at this many times the weight of the rarest concept
# Fitted by `python -m bot fit` (intercept first, then one weight per feature in FEATURES).
WEIGHTS: tuple[float, ...] = (
    -3.931, 2.245, 1.483, 1.681, 2.173, -2.269, -2.008, 7.24, 1.609, -0.502, -1.778, 1.745, 0.4,
)
THRESHOLD = 0.36


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the probability is read from (see the module's docstring), each in 0..1."""

    evidence: float
    coverage: float
    faq: float
    unknown: float
    cue_missing: float
    margin: float
    single: float
    faq_short: float = 0.0
    held: float = 0.0
    rarest: float = 0.0

    @property
    def known_covered(self) -> float:
        """The coverage of what the index could hold at all (the rest is `unknown`)."""
        return min(1.0, self.coverage / max(1.0 - self.unknown, 0.05))

    @property
    def mostly_unknown(self) -> float:
        return max(0.0, self.unknown - 0.5) * 2

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FEATURES)


def evidence(
    final: Mapping[int, float], ranked: Sequence[int], group: Set[int], margin: float
) -> tuple[float, float]:
    """The raw score of an answer that quotes `ranked` (best first) and stands on `group` (the
    lead FAQ entry's cites, or the best sentence alone), and its lead over the runner-up: a
    runner-up outside the group closer than `margin` takes off half of what it is inside it."""
    top = final[ranked[0]]
    runner = next((final[s] for s in ranked if s not in group), 0.0)
    penalty = max(0.0, margin - (top - runner)) * 0.5
    return max(0.0, min(1.0, top - penalty)), max(0.0, top - runner)


def probability(e: Evidence, weights: Sequence[float] | None) -> float:
    """The probability of a right answer; without weights, the raw evidence itself."""
    if weights is None:
        return e.evidence
    return logistic(weights, e.vector())


def refuses(confidence: float, threshold: float) -> bool:
    """Whether to say "not in the document" rather than quote a likely wrong sentence."""
    return confidence < threshold
