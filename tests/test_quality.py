"""The quality bar of the engine issue, held on the project's own question set.

tests/data/questions.jsonl was written apart from the FAQ and the aliases (and never from the
development set), so it measures how the matching generalises rather than what was curated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluate import Report, evaluate, format_report, load_cases
from bot.search import Engine

QUESTIONS = Path(__file__).parent / "data" / "questions.jsonl"


@pytest.fixture(scope="module")
def report(engine: Engine) -> Report:
    return evaluate(engine, load_cases(QUESTIONS))


def test_own_question_set_is_large_and_covers_every_kind() -> None:
    cases = load_cases(QUESTIONS)
    kinds = {c.kind for c in cases}
    assert len(cases) >= 80
    assert kinds >= {"factual", "paraphrase", "typo", "alias", "keyword", "yesno", "oos"}


def test_own_question_set_meets_the_quality_bar(report: Report) -> None:
    figures = report.figures()
    detail = format_report(report)
    assert figures["top1"] >= 0.92, detail
    assert figures["top3"] >= 0.97, detail
    assert figures["oos_refused"] >= 0.83, detail
    assert figures["in_scope_refused"] <= 0.05, detail


def test_every_gold_piece_is_verbatim_in_the_article(article_path: Path) -> None:
    """A gold piece that is not in the article would make a question unanswerable by design."""
    from bot.text import normalise

    text = normalise(article_path.read_text(encoding="utf-8"))
    for case in load_cases(QUESTIONS):
        for gold in case.gold:
            assert normalise(gold) in text, (case.id, gold)
