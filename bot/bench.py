"""`python -m bot bench`: index build time, per-question latency and peak memory.

Each scenario runs in its own process so that its peak memory is its own. The synthetic
corpora are made from the bundled article's vocabulary in Zipf-like proportions, spread over
many documents, so that postings are as skewed as in real text.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.text import words

SENTENCES_PER_DOC = 200


def _questions(cfg: Config) -> list[str]:
    """The project's own question set when present, else the FAQ phrasings."""
    own = Path(__file__).resolve().parent.parent / "tests" / "data" / "questions.jsonl"
    if own.exists():
        return [json.loads(line)["q"] for line in own.read_text().splitlines() if line.strip()]
    from bot.search import Engine

    engine = Engine(cfg.db, cfg.matching)
    return [s.question for s in engine.faq_list()]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _latency(engine: Any, questions: list[str], rounds: int) -> dict[str, float]:
    for q in questions[:20]:  # warm caches the way a running bot has them
        engine.ask(q)
    times = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            engine.ask(q)
            times.append((time.perf_counter() - t) * 1000)
    return {
        "questions": len(times),
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(_percentile(times, 99), 3),
        "max_ms": round(max(times), 3),
    }


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _synthetic_seeds(folder: Path, sentences: int, article: Path, rng: random.Random) -> None:
    vocab = [w for w in words(article.read_text(encoding="utf-8")) if len(w) > 2]
    # Invented words widen the vocabulary so that a big corpus is not 40 words repeated.
    vocab += ["".join(rng.choice("aeioubcdfghklmnprstvz") for _ in range(rng.randint(4, 9)))
              for _ in range(20000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    docs = (sentences + SENTENCES_PER_DOC - 1) // SENTENCES_PER_DOC
    left = sentences
    for d in range(docs):
        n = min(SENTENCES_PER_DOC, left)
        left -= n
        paragraphs, para = [], []
        for _ in range(n):
            ws = rng.choices(vocab, weights, k=rng.randint(8, 30))
            para.append(" ".join(ws).capitalize() + ".")
            if len(para) == 5:
                paragraphs.append(" ".join(para))
                para = []
        if para:
            paragraphs.append(" ".join(para))
        (folder / f"synthetic-{d:05d}.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")


def _scenario_article(cfg: Config, out: mp.Queue) -> None:
    from bot import index
    from bot.search import Engine, warm_up

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "index.sqlite3"
        builds = []
        for _ in range(3):
            t = time.perf_counter()
            index.build(cfg.seeds, db)
            builds.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine = Engine(db, cfg.matching)
        warm_up()
        load = time.perf_counter() - t
        result = {
            "corpus": "article",
            "sentences": len(engine.sentences),
            "build_s": round(min(builds), 3),
            "load_s": round(load, 3),
            **_latency(engine, _questions(cfg), rounds=20),
        }
    result["peak_rss_mb"] = _peak_mb()
    out.put(result)


def _scenario_synthetic(cfg: Config, sentences: int, out: mp.Queue) -> None:
    from bot import index
    from bot.search import Engine, warm_up

    rng = random.Random(sentences)
    article = next(p for p in sorted(cfg.seeds.glob("*.txt")))
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        _synthetic_seeds(seeds, sentences, article, rng)
        for name in ("faq.toml", "aliases.toml"):
            src = cfg.seeds / name
            if src.exists():  # FAQ cites point into the article, so it comes along
                (seeds / name).write_bytes(src.read_bytes())
        (seeds / article.name).write_bytes(article.read_bytes())
        db = Path(tmp) / "index.sqlite3"
        t = time.perf_counter()
        index.build(seeds, db)
        build = time.perf_counter() - t
        t = time.perf_counter()
        engine = Engine(db, cfg.matching)
        warm_up()
        load = time.perf_counter() - t
        questions = _questions(cfg)
        result = {
            "corpus": f"synthetic {sentences:,}",
            "sentences": len(engine.sentences),
            "build_s": round(build, 3),
            "load_s": round(load, 3),
            **_latency(engine, questions, rounds=3),
        }
    result["peak_rss_mb"] = _peak_mb()
    out.put(result)


def _run(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    result = q.get()
    p.join()
    return result


def run_bench(cfg: Config, sizes: list[int], as_json: bool = False) -> int:
    results = [_run(_scenario_article, cfg)]
    if not as_json:
        _print_row(results[-1], header=True)
    for n in sizes:
        results.append(_run(_scenario_synthetic, cfg, n))
        if not as_json:
            _print_row(results[-1])
    if as_json:
        print(json.dumps({"machine": _machine(), "results": results}, indent=2))
    return 0


def _machine() -> dict[str, Any]:
    import os
    import platform

    return {"python": platform.python_version(), "cpus": os.cpu_count()}


def _print_row(r: dict[str, Any], header: bool = False) -> None:
    if header:
        print(f"{'corpus':<18}{'sentences':>10}{'build s':>9}{'load s':>8}"
              f"{'p50 ms':>8}{'p99 ms':>8}{'peak MB':>9}")
    print(f"{r['corpus']:<18}{r['sentences']:>10,}{r['build_s']:>9.3f}{r['load_s']:>8.2f}"
          f"{r['p50_ms']:>8.3f}{r['p99_ms']:>8.3f}{r['peak_rss_mb']:>9.1f}")
    sys.stdout.flush()
