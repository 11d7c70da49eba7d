"""Scoring across documents: each document's questions against that document alone, pooled by
training and held-out group; `--uncurated` leaves the FAQ and aliases out; `fit` refits the
confidence model on the training sets only."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.calibrate import fit_logistic, logistic
from bot.evaluate import evaluate_folder, evaluate_seeds, load_cases, pooled
from bot.search import Settings
from tests.conftest import SEEDS

RIVER = (
    "The Vell river flooded the lower town after three days of rain.\n\n"
    "Volunteers cleaned the market.\n"
)
HILL = "The old fort on Tarn hill was built in 1820.\n\nIts walls are made of grey granite.\n"


def _doc(folder: Path, name: str, text: str, questions: list[dict]) -> None:
    (folder / name).mkdir(parents=True)
    (folder / name / f"{name}.txt").write_text(text, encoding="utf-8")
    (folder / name / "questions.jsonl").write_text(
        "\n".join(json.dumps(q) for q in questions) + "\n", encoding="utf-8"
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    _doc(folder, "river", RIVER, [
        {"id": "r1", "q": "what flooded the lower town", "gold": ["The Vell river flooded"],
         "kind": "factual"},
        {"id": "r2", "q": "who won the cup final", "gold": [], "kind": "oos"},
    ])
    _doc(folder, "hill", HILL, [
        {"id": "h1", "q": "when was the fort on tarn hill built", "gold": ["built in 1820"],
         "kind": "factual"},
    ])
    (folder / "split.toml").write_text('tune = ["river"]\nheld_out = ["hill"]\n')
    return folder


def test_each_document_is_scored_against_itself_alone(docs: Path) -> None:
    reports = evaluate_folder(docs, Settings(threshold=0.0), uncurated=True)
    assert [(d.name, d.group) for d in reports] == [("hill", "held_out"), ("river", "tune")]
    hill = reports[0].report
    assert hill.figures()["top1"] == 1.0
    # The river's questions never see the hill's document, and the pooled figures add them up.
    assert all(e.document == "river" for r in reports[1].report.results for e in r.answer.excerpts)
    assert pooled(reports).figures()["questions"] == 3
    assert pooled(reports, "tune").figures()["questions"] == 2


def test_the_eval_command_prints_per_document_and_pooled_figures(
    docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(docs), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["documents"]) == {"river", "hill"}
    assert set(out["pooled"]) == {"tune", "held_out", "all"}
    assert "calibration_error" in out["pooled"]["all"]


def test_uncurated_leaves_the_faq_and_aliases_out(real_seeds: Path) -> None:
    cases = load_cases(Path(__file__).parent / "data" / "questions.jsonl")[:30]
    raw = Settings(threshold=0.0)
    curated = evaluate_seeds(real_seeds, cases, raw, uncurated=False)
    uncurated = evaluate_seeds(real_seeds, cases, raw, uncurated=True)
    assert any(r.answer.faq for r in curated.results)
    assert not any(r.answer.faq for r in uncurated.results)
    assert (SEEDS / "faq.toml").exists()  # the real seeds are left as they are


def test_logistic_fit_recovers_the_weights_that_made_the_labels() -> None:
    rng = random.Random(7)
    rows = [[rng.random(), rng.random()] for _ in range(3000)]
    truth = (-1.0, 3.0, -2.0)
    labels = [rng.random() < logistic(truth, row) for row in rows]
    weights = fit_logistic(rows, labels, l2=0.0)
    assert weights == pytest.approx(truth, abs=0.35)
