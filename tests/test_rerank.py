"""Second looks at the best candidates: phrases, and which of several documents answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.index import build
from bot.search import Engine, Settings
from bot.search.analysis import Concept
from bot.search.rerank import date_key, phrase_bonus, recency
from tests.conftest import MakeSeeds


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("December 2024", (2024, 12, 0)),
        ("2024-12-08", (2024, 12, 8)),
        ("8 Dec 2024", (2024, 12, 8)),
        ("2017-2023", (2023, 0, 0)),
        ("", (0, 0, 0)),
    ],
)
def test_dates_as_people_write_them_sort(text: str, key: tuple[int, int, int]) -> None:
    assert date_key(text) == key


def test_recency_runs_from_the_oldest_to_the_newest_undated_last() -> None:
    assert recency({"a": "December 2024", "b": "March 2026", "c": ""}) == {
        "c": 0.0, "a": 0.5, "b": 1.0,
    }


def _library(make_seeds: MakeSeeds, tmp_path: Path) -> Engine:
    same = "The Vell bridge reopened on Monday after repairs.\n"
    seeds = make_seeds(tmp_path, {
        "old.txt": same, "old.toml": 'title = "Flood news"\ndate = "March 2023"\n',
        "new.txt": same, "new.toml": 'title = "Bridge report"\ndate = "June 2025"\n',
    })
    return Engine(build(seeds, tmp_path / "i.sqlite3"), Settings(threshold=0.0))


def test_where_documents_answer_alike_the_newest_comes_first(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    answer = _library(make_seeds, tmp_path).ask("when did the vell bridge reopen")
    assert [e.document for e in answer.excerpts[:2]] == ["new", "old"]


def test_a_question_naming_a_title_favours_that_document(
    make_seeds: MakeSeeds, tmp_path: Path
) -> None:
    answer = _library(make_seeds, tmp_path).ask("when did the vell bridge reopen, says flood news")
    assert answer.excerpts[0].document == "old"


def test_a_sentence_naming_the_question_first_ranks_above_one_naming_it_in_passing() -> None:
    level, default = Concept(frozenset({1}), 1, 0, 0, ("level",)), Concept(
        frozenset({2}), 2, 0, 0, ("default",))
    first = [frozenset({2}), frozenset({1}), frozenset({5}), frozenset({6})]  # "default level is 6"
    late = [frozenset({7}), frozenset({8}), frozenset({9}), frozenset({2}), frozenset({1})]
    echo = [frozenset({2}), frozenset({1})]  # says nothing besides the question
    seqs = {1: first, 2: late, 3: echo}
    out = phrase_bonus({1: 0.5, 2: 0.5, 3: 0.5}, [default, level], [1.0, 1.0], seqs.__getitem__)
    assert out[1] > out[2]
    assert out[3] < out[1]  # the echo gains the phrase, not the lead
