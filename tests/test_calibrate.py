"""Platt scaling and the calibration error: the confidence should mean what it says."""

from __future__ import annotations

import random

from bot.calibrate import expected_calibration_error, fit_platt, sigmoid
from bot.search import Engine


def test_fit_recovers_the_parameters_that_generated_the_labels() -> None:
    rng = random.Random(7)
    scores = [rng.random() for _ in range(4000)]
    labels = [rng.random() < sigmoid(8 * s - 4) for s in scores]
    a, b = fit_platt(scores, labels)
    assert abs(a - 8) < 1.0
    assert abs(b + 4) < 0.6


def test_fit_stays_finite_when_the_classes_separate_completely() -> None:
    a, b = fit_platt([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
    assert all(abs(v) < 1e6 for v in (a, b))
    assert sigmoid(a * 0.9 + b) > sigmoid(a * 0.1 + b)


def test_calibration_error_is_zero_when_confidence_matches_accuracy() -> None:
    probs = [0.25] * 4 + [0.75] * 4
    labels = [True, False, False, False, True, True, True, False]
    assert expected_calibration_error(probs, labels) == 0.0


def test_calibration_error_of_overconfidence_is_the_gap() -> None:
    assert abs(expected_calibration_error([0.95] * 10, [True] * 5 + [False] * 5) - 0.45) < 1e-9


def test_engine_confidence_is_calibrated_on_the_own_question_set(engine: Engine) -> None:
    from pathlib import Path

    from bot.evaluate import evaluate, load_cases

    report = evaluate(engine, load_cases(Path(__file__).parent / "data" / "questions.jsonl"))
    assert report.calibration_error() < 0.1
