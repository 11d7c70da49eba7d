"""`python -m bot bench`: the synthetic libraries it measures are deterministic and shaped like
real text (sentence lengths, paragraphs, a Zipf vocabulary, names shared across documents,
dates), and the bench reports every figure on a small one."""

from __future__ import annotations

import json
import random
import re
import statistics
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from bot import bench
from bot.__main__ import main
from bot.ingest import read_document
from bot.search.rerank import date_key
from bot.text import words

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "seeds" / "mint-2024-12-syria-opposition-homs.txt"
SENTENCES = 3000


def _library(folder: Path, sentences: int = SENTENCES, seed: int = 7) -> dict[str, bytes]:
    folder.mkdir()
    bench._synthetic_seeds(folder, sentences, ARTICLE, random.Random(seed))
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_synthetic_library_is_the_same_for_the_same_seed(tmp_path: Path) -> None:
    first = _library(tmp_path / "a")
    assert first == _library(tmp_path / "b")
    assert first != _library(tmp_path / "c", seed=8)
    assert len([n for n in first if n.endswith(".txt")]) == len(
        [n for n in first if n.endswith(".toml")]
    )


def test_synthetic_library_looks_like_real_text(tmp_path: Path) -> None:
    folder = tmp_path / "library"
    folder.mkdir()
    count = bench._synthetic_seeds(folder, SENTENCES, ARTICLE, random.Random(7))
    docs = [read_document(p) for p in sorted(folder.glob("*.txt"))]
    assert len(docs) == count
    # The project's own splitter finds exactly the sentences asked for (no footer dropped,
    # no two sentences run together).
    assert sum(len(d.sentences) for d in docs) == SENTENCES

    # Sentence lengths spread as the real ones do: short and long, not one narrow band.
    lengths = [len(words(s.text)) for d in docs for s in d.sentences]
    assert min(lengths) <= 4 and max(lengths) >= 40
    assert statistics.pstdev(lengths) > 6 and 10 <= statistics.median(lengths) <= 25

    # Paragraphs of 1 to 6 sentences, most of them short.
    per_paragraph = Counter(
        n for d in docs for n in Counter(s.paragraph for s in d.sentences).values()
    )
    assert set(per_paragraph) == {1, 2, 3, 4, 5, 6}
    assert per_paragraph[1] > per_paragraph[3] > per_paragraph[6]

    # Documents of varied size around 200 sentences.
    sizes = [len(d.sentences) for d in docs[:-1]]  # the last one takes what is left
    assert 150 <= statistics.mean(sizes) <= 260 and max(sizes) - min(sizes) > 100

    # A Zipf vocabulary: a few very common words, a long tail of words seen once.
    tokens = Counter(w for d in docs for s in d.sentences for w in words(s.text))
    total = sum(tokens.values())
    top = tokens.most_common(10)
    assert top[0][0] == "the" and 0.03 < top[0][1] / total < 0.08
    assert sum(c for _, c in top) / total > 0.2
    assert sum(1 for c in tokens.values() if c == 1) > len(tokens) / 3

    # Names (capitalised inside a sentence) recur across documents, a few in most of them.
    holders: dict[str, set[str]] = {}
    for d in docs:
        for s in d.sentences:
            for name in re.findall(r"(?<=[a-z0-9,] )[A-Z][a-z]+", s.text):
                holders.setdefault(name, set()).add(d.id)
    shared = sorted((len(ids) for ids in holders.values()), reverse=True)
    assert shared[0] >= len(docs) / 3 and sum(1 for n in shared if n >= 2) >= 20

    # Every document is dated, in the order of its number, so that the library has an order.
    dates = [tomllib.loads(p.read_text())["date"] for p in sorted(folder.glob("*.toml"))]
    assert len(dates) == len(docs) and all(date_key(d) != (0, 0, 0) for d in dates)
    assert dates == sorted(dates) and len(set(dates)) > len(dates) / 2
    assert [d.date for d in docs] == dates and all(d.title for d in docs)


def test_bench_reports_every_figure_on_a_small_library(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "--sizes", "2000", "--json", "--seeds", str(ROOT / "seeds")]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    article, synthetic = results
    assert article["corpus"] == "article"
    assert synthetic["corpus"] == "synthetic 2,000"
    assert synthetic["sentences"] == 2000 + article["sentences"]
    figures = ("build_s", "add_one_s", "build_peak_mb", "load_s", "reload_s", "p50_ms", "p99_ms",
               "peak_rss_mb")
    for key in figures:
        assert synthetic[key] > 0
    assert synthetic["reload_how"] == "patched"  # the reload patched the index, not rebuilt it
    assert synthetic["questions"] == 3 * article["questions"] // 20
