"""`python -m bot fit`: refit the confidence model and its threshold on the training sets.

The training sets are the ones the engine is tuned on, never the sets its figures are reported
on: `tests/data/questions.jsonl` on the bundled article, curated and uncurated (so the
probability means the same with and without a FAQ), and the documents that
`tests/data/docs/split.toml` lists under `tune`, uncurated. Every question is answered with no
threshold and no model, so each carries its evidence (bot/search/confidence.py); the label is
whether the first quote is right (an out-of-scope question's never is).
"""

from __future__ import annotations

import dataclasses
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.calibrate import expected_calibration_error, fit_logistic, logistic
from bot.evaluate import Result, build_engine, evaluate, load_cases
from bot.ingest import seed_files
from bot.search import Settings
from bot.search.confidence import FEATURES

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_SET = ROOT / "tests" / "data" / "questions.jsonl"
DOCS = ROOT / "tests" / "data" / "docs"
REFUSAL_COST = 0.5
# The share of out-of-scope questions each training set must refuse: the project's bars (0.83
# with a curated FAQ, tests/test_quality.py; 0.70 on documents alone). The bot never guesses.
MIN_OOS_CURATED, MIN_OOS_UNCURATED = 0.83, 0.70
L2 = 0.1  # a light penalty: a handful of weights on some 500 questions


@dataclass(frozen=True, slots=True)
class Fitted:
    weights: tuple[float, ...]
    threshold: float
    questions: int
    top1: float  # on the training sets, with the model and threshold applied
    oos_refused: float
    calibration_error: float


def training_results(seeds: Path, settings: Settings) -> list[list[Result]]:
    """Every training question answered with no threshold and no model, set by set: the
    article curated, the article uncurated, the training documents (uncurated)."""
    raw = dataclasses.replace(settings, threshold=0.0, calibration=None)
    results: list[list[Result]] = []
    with tempfile.TemporaryDirectory(prefix="docbot-fit-") as tmp:
        article = seed_files(seeds)
        cases = load_cases(ARTICLE_SET)
        for uncurated in (False, True):
            engine = build_engine(article, Path(tmp) / f"a{uncurated}", raw, uncurated=uncurated)
            results.append(evaluate(engine, cases).results)
        split = tomllib.loads((DOCS / "split.toml").read_text(encoding="utf-8"))
        docs: list[Result] = []
        for name in split["tune"]:
            engine = build_engine(seed_files(DOCS / name), Path(tmp) / name, raw, uncurated=True)
            docs += evaluate(engine, load_cases(DOCS / name / "questions.jsonl")).results
        results.append(docs)
    return results


def fit(sets: list[list[Result]], floors: Sequence[float] | None = None) -> Fitted:
    """The weights, fitted on every set pooled, and the threshold that maximises `objective`
    averaged over the sets (so that each counts alike: curated, the same article uncurated,
    and other documents)."""
    mins = floors or [MIN_OOS_CURATED] + [MIN_OOS_UNCURATED] * (len(sets) - 1)
    pooled = [r for results in sets for r in results]
    usable = [r for r in pooled if len(r.answer.evidence) == len(FEATURES)]
    labels = [r.rank == 1 for r in usable]
    weights = tuple(
        round(w, 3) for w in fit_logistic([list(r.answer.evidence) for r in usable], labels, L2)
    )

    def decided(r: Result, threshold: float) -> bool:
        """Whether the question is answered at this threshold."""
        ok = len(r.answer.evidence) == len(FEATURES)
        return ok and logistic(weights, r.answer.evidence) >= threshold

    def figures(results: list[Result], threshold: float) -> tuple[float, float, float]:
        ins = [r for r in results if r.case.gold]
        oos = [r for r in results if not r.case.gold]
        top1 = sum(1 for r in ins if r.rank == 1 and decided(r, threshold)) / (len(ins) or 1)
        refused = sum(1 for r in oos if not decided(r, threshold)) / (len(oos) or 1)
        wrongly = sum(1 for r in ins if not decided(r, threshold)) / (len(ins) or 1)
        return top1, refused, wrongly

    def objective(threshold: float) -> tuple[bool, float]:
        """First, that every set refuses at least its floor of what it does not answer
        (the bot never guesses); then right first quotes and right refusals, less half the
        answerable ones refused: a refusal costs even where the first quote would be wrong,
        as the next may be right."""
        total, safe = 0.0, True
        for results, floor in zip(sets, mins, strict=True):
            top1, refused, wrongly = figures(results, threshold)
            total += top1 + refused - REFUSAL_COST * wrongly
            safe = safe and refused >= floor
        return safe, total / len(sets)

    threshold = max((t / 100 for t in range(5, 96)), key=lambda t: (*objective(t), -t))
    top1, oos, _ = figures(pooled, threshold)
    probs = [logistic(weights, r.answer.evidence) for r in usable]
    ece = expected_calibration_error(probs, labels)
    return Fitted(weights, threshold, len(pooled), top1, oos, ece)


def format_fitted(f: Fitted) -> str:
    names = ", ".join(("intercept", *FEATURES))
    return "\n".join(
        [
            f"fitted on {f.questions} training questions ({names}):",
            f"WEIGHTS = {f.weights}",
            f"THRESHOLD = {f.threshold}",
            f"training: top-1 {f.top1:.3f}  out-of-scope refused {f.oos_refused:.3f}  "
            f"calibration error {f.calibration_error:.3f}",
        ]
    )
