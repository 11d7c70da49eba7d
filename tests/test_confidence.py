"""bot.search.confidence: a close runner-up lowers the evidence, the evidence becomes a
probability that means the same with or without a FAQ, and below the threshold the engine
refuses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.calibrate import logistic
from bot.index import build
from bot.search import Engine, Settings
from bot.search.confidence import (
    FEATURES,
    THRESHOLD,
    WEIGHTS,
    Evidence,
    evidence,
    probability,
    refuses,
)
from tests.conftest import MakeSeeds

FINAL = {1: 0.9, 2: 0.85, 3: 0.5}


def test_a_runner_up_far_behind_takes_nothing_off() -> None:
    assert evidence(FINAL, [1, 3], {1}, margin=0.12) == (0.9, pytest.approx(0.4))


def test_a_runner_up_inside_the_margin_takes_off_half_of_how_far_inside() -> None:
    raw, lead = evidence(FINAL, [1, 2, 3], {1}, margin=0.12)
    assert raw == pytest.approx(0.9 - (0.12 - 0.05) / 2) and lead == pytest.approx(0.05)


def test_a_runner_up_the_answer_itself_quotes_is_no_rival() -> None:
    """The cites of the leading FAQ entry are one answer, however close their scores."""
    assert evidence(FINAL, [1, 2, 3], {1, 2}, margin=0.12)[0] == 0.9


def test_the_evidence_stays_between_0_and_1() -> None:
    assert evidence({1: 1.3}, [1], {1}, margin=0.12)[0] == 1.0
    assert evidence({1: 0.01, 2: 0.01}, [1, 2], {1}, margin=0.12)[0] == 0.0


def _evidence(**kw: float) -> Evidence:
    base = {f.name: 0.0 for f in dataclasses.fields(Evidence)}
    return Evidence(**{**base, **kw})


def test_without_weights_the_raw_evidence_is_the_confidence() -> None:
    assert probability(_evidence(evidence=0.3), None) == 0.3


def test_the_defaults_are_the_fitted_model() -> None:
    assert Settings().calibration == WEIGHTS and len(WEIGHTS) == len(FEATURES) + 1
    assert Settings().threshold == THRESHOLD


def test_more_coverage_means_more_confidence_and_a_mostly_unknown_question_less() -> None:
    low, high = _evidence(coverage=0.3), _evidence(coverage=0.9)
    assert probability(low, WEIGHTS) < probability(high, WEIGHTS)
    # A question mostly about what the document never names is most likely not answered.
    known, unknown = _evidence(coverage=0.6), _evidence(coverage=0.6, unknown=0.9)
    assert probability(unknown, WEIGHTS) < probability(known, WEIGHTS)
    cue, no_cue = _evidence(coverage=0.8), _evidence(coverage=0.8, cue_missing=1.0)
    assert probability(no_cue, WEIGHTS) < probability(cue, WEIGHTS)


def test_one_word_that_hits_a_synonym_group_is_not_confident(engine: Engine) -> None:
    """"quit" once came out at 0.84 through a synonym group of the curated aliases."""
    answer = engine.ask("quit")
    assert answer.confidence < 0.5


def test_the_threshold_itself_is_answered() -> None:
    assert refuses(0.39, 0.4)
    assert not refuses(0.4, 0.4)


@pytest.mark.parametrize(
    "question", ["who took homs", "where is qusayr", "how many children live in homs"]
)
def test_the_engine_states_the_calibrated_evidence_and_refuses_below_the_threshold(
    engine: Engine, question: str
) -> None:
    answer = engine.ask(question)
    assert answer.raw > 0.0 and len(answer.evidence) == len(FEATURES)
    assert answer.confidence == pytest.approx(logistic(WEIGHTS, answer.evidence))
    assert answer.answered is not refuses(answer.confidence, engine.settings.threshold)


def test_a_question_nothing_in_the_document_shares_has_confidence_0(engine: Engine) -> None:
    answer = engine.ask("best pizza recipe")
    assert (answer.answered, answer.confidence, answer.raw) == (False, 0.0, 0.0)


def test_a_runner_up_in_the_best_sentences_paragraph_is_no_rival(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    """Two sentences of one paragraph that match alike are one passage answering, not two
    places the answer might be: the margin is counted to the best sentence elsewhere."""
    text = (
        "The Vell bridge reopened on Monday after repairs. "
        "The Vell bridge carries the old road over the river.\n\n"
        "The harbour of Norwick is busy in summer.\n\n"
        "Fishing boats leave the harbour before dawn.\n"
    )
    raw = Settings(threshold=0.0, calibration=None)
    together = Engine(build(make_seeds(tmp_path, {"river.txt": text}), tmp_path / "a"), raw)
    apart = text.replace("repairs. The Vell", "repairs.\n\nThe Vell")
    other = tmp_path / "apart"
    split = Engine(build(make_seeds(other, {"river.txt": apart}), other / "b"), raw)
    margin = FEATURES.index("margin")
    close = split.ask("vell bridge").evidence[margin]
    assert together.ask("vell bridge").evidence[margin] > close + 0.3


def test_more_weight_held_and_a_rarer_word_held_mean_more_confidence() -> None:
    little, much = _evidence(coverage=0.6, held=0.2), _evidence(coverage=0.6, held=0.8)
    assert probability(little, WEIGHTS) < probability(much, WEIGHTS)
    common, rare = _evidence(coverage=0.6, rarest=0.3), _evidence(coverage=0.6, rarest=1.0)
    assert probability(common, WEIGHTS) < probability(rare, WEIGHTS)


def test_a_faq_that_falls_short_means_less_confidence() -> None:
    # Where a FAQ lists what people ask, a question it does not match is less likely answered.
    assert probability(_evidence(coverage=0.6, faq_short=0.9), WEIGHTS) < probability(
        _evidence(coverage=0.6), WEIGHTS
    )
