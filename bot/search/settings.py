"""The engine's tuning in one frozen object: bot/config.py fills it from the [matching] table."""

from __future__ import annotations

from dataclasses import dataclass

from bot.search.confidence import THRESHOLD, WEIGHTS


@dataclass(frozen=True, slots=True)
class Settings:
    threshold: float = THRESHOLD  # confidence below this: "not in the document"
    faq_threshold: float = 0.55  # a FAQ entry must score this to lead the answer
    margin: float = 0.12  # a runner-up closer than this lowers the confidence
    candidate_cap: int = 1000  # postings longer than this only confirm, never gather
    direct_weight: float = 0.8  # a sentence matched only by shared words scores this share
    # Logistic weights of the evidence into the probability of a right answer (confidence.py);
    # None: the raw evidence stands for the probability (what `python -m bot fit` scores).
    calibration: tuple[float, ...] | None = WEIGHTS
