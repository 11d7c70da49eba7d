"""`python -m bot bench`: index build time (full, and adding one document), per-question
latency and peak memory.

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


def _add_document(seeds: Path, db: Path, article: Path, rng: random.Random) -> float:
    """Seconds to add one synthetic document (an article's worth of sentences) to the index
    built from `seeds`: the incremental build an editor's daily article costs. Done on a copy
    of the index, the document taken away again, so the questions after ask the size named."""
    import shutil

    from bot import index

    with tempfile.TemporaryDirectory() as tmp:
        _synthetic_seeds(Path(tmp), SENTENCES_PER_DOC, article, rng)
        added = seeds / "synthetic-added.txt"
        added.write_bytes((Path(tmp) / "synthetic-00000.txt").read_bytes())
        copy = Path(tmp) / db.name
        shutil.copyfile(db, copy)
        t = time.perf_counter()
        index.build(seeds, copy)
        took = time.perf_counter() - t
        added.unlink()
    return took


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
        add = _add_document(seeds, db, article, rng)
        t = time.perf_counter()
        engine = Engine(db, cfg.matching)
        warm_up()
        load = time.perf_counter() - t
        questions = _questions(cfg)
        result = {
            "corpus": f"synthetic {sentences:,}",
            "sentences": len(engine.sentences),
            "build_s": round(build, 3),
            "add_one_s": round(add, 3),
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
        print(f"{'corpus':<18}{'sentences':>10}{'build s':>9}{'add 1 s':>9}{'load s':>8}"
              f"{'p50 ms':>8}{'p99 ms':>8}{'peak MB':>9}")
    add = f"{r['add_one_s']:>9.3f}" if "add_one_s" in r else f"{'-':>9}"
    print(f"{r['corpus']:<18}{r['sentences']:>10,}{r['build_s']:>9.3f}{add}{r['load_s']:>8.2f}"
          f"{r['p50_ms']:>8.3f}{r['p99_ms']:>8.3f}{r['peak_rss_mb']:>9.1f}")
    sys.stdout.flush()


# -- python -m bot bench-report: the editor's report and /stats on a big synthetic log ----------

# Out-of-scope questions people ask a bot about one article: the report's unanswered section.
_OOS_TEMPLATES = (
    "what is the population of {place}", "what is the weather in {place}",
    "is there snow in {place}", "how far is {place} from {other}", "best hotels in {place}",
    "what language do they speak in {country}", "who is the president of {country}",
    "what is the capital of {country}", "how old is {person}", "is {person} still alive",
    "where was {person} born", "what did {person} say about {place}",
    "what is the price of {thing}", "how much does {thing} cost in {country}",
    "who won the {event}", "when is the next {event}", "will {country} join the {event}",
)
_PLACES = (
    "damascus homs aleppo hama idlib latakia deraa raqqa beirut amman baghdad ankara istanbul "
    "cairo tehran moscow paris london berlin tokyo delhi mumbai new york dubai riyadh doha "
    "gaza tel aviv jerusalem kabul karachi"
).split()
_COUNTRIES = (
    "syria lebanon jordan iraq turkey iran russia france germany india china japan egypt israel "
    "qatar saudi arabia ukraine poland spain italy canada brazil"
).split()
_PEOPLE = (
    "assad,putin,erdogan,biden,trump,macron,modi,netanyahu,khamenei,jolani,zelensky,xi,"
    "the pope,elon musk,taylor swift,messi,ronaldo"
).split(",")
_THINGS = "bitcoin,gold,oil,bread,petrol,a flight to beirut,an iphone,rent,the dollar".split(",")
_EVENTS = "world cup election nobel prize champions league eurovision olympics".split()
_FILLERS = ("please ", "hey bot ", "can you tell me ", "quick question: ", "i want to know ")


FREE_FORM = 0.05  # share of unanswered questions on a topic nobody else asks about


def _oos_questions(rng: random.Random, count: int) -> list[str]:
    """Up to `count` distinct out-of-scope questions made from the templates."""
    made: set[str] = set()
    pools = {"place": _PLACES, "other": _PLACES, "country": _COUNTRIES, "person": _PEOPLE,
             "thing": _THINGS, "event": _EVENTS}
    for _ in range(20 * count):  # the templates make some 2,500 questions in all
        if len(made) >= count:
            break
        template = rng.choice(_OOS_TEMPLATES)
        made.add(template.format(**{k: rng.choice(v) for k, v in pools.items()}))
    return sorted(made)


def _variant(question: str, rng: random.Random) -> str:
    """How people type the same question: as is, casual, a typo, a filler, a word short, or
    with a detail of their own (the long tail of wordings asked once)."""
    roll = rng.random()
    if roll < 0.45:
        return question
    if roll < 0.60:
        return question.lower().rstrip("?")
    words_ = question.split()
    if roll < 0.70:
        i = rng.randrange(len(words_))
        w = words_[i]
        if len(w) > 3:
            j = rng.randrange(len(w) - 1)
            words_[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        return " ".join(words_)
    if roll < 0.80:
        return rng.choice(_FILLERS) + question[:1].lower() + question[1:]
    if roll < 0.90 and len(words_) > 3:
        del words_[rng.randrange(1, len(words_))]
        return " ".join(words_)
    detail = rng.choice(("today", "now", "in 2025", "this year", "exactly", "really", "lol"))
    return f"{question} {detail} {rng.randrange(1000)}"


def _free_form(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    """A question on a topic of its own, asked once: the report's hardest case, since it
    groups with nothing and so is compared with every other wording."""
    opener = rng.choice(("what", "who", "how", "why", "when", "where", "is", "can", "does"))
    return " ".join((opener, *rng.choices(vocab, weights, k=rng.randint(3, 8))))


def _zipf_weights(n: int, s: float = 1.0) -> list[float]:
    return [1 / (rank + 1) ** s for rank in range(n)]


def synthetic_log(cfg: Config, path: Path, rows: int, seed: int = 1) -> dict[str, int]:
    """A question log of `rows` questions over a year, the way a busy bot fills one.

    About rows / 20 people, a few asking often and most once or twice; the questions come from
    the FAQ's phrasings and the project's question set (answered) and from out-of-scope
    templates (30% unanswered), popular ones asked again and again in varying wordings, with a
    long tail asked once (FREE_FORM of the unanswered are on topics of their own); a FAQ entry
    leads 40% of the answers; votes (60% 👍) on 5% of them.
    Written with plain SQL in one transaction: the writer thread's per-row work is not what
    this measures. Returns the counts written.
    """
    import tomllib
    from datetime import UTC, datetime, timedelta

    from sqlite_utils import Database

    from bot.questionlog import QuestionLog, new_answer_key

    def iso(at: datetime) -> str:  # the log's own format: UTC, milliseconds
        return at.isoformat(timespec="milliseconds")

    rng = random.Random(seed)
    faq = tomllib.loads((cfg.seeds / "faq.toml").read_text(encoding="utf-8")).get("faq", [])
    faq_ids = [entry["id"] for entry in faq]
    answered_pool = [q for entry in faq for q in (entry["question"], *entry.get("phrasings", []))]
    answered_pool += _questions(cfg)
    rng.shuffle(answered_pool)
    unanswered_pool = _oos_questions(rng, 2000)
    rng.shuffle(unanswered_pool)
    article = next(iter(sorted(cfg.seeds.glob("*.txt"))), None)
    vocab = sorted({w for w in words(article.read_text(encoding="utf-8")) if len(w) > 2}
                   if article else set())
    vocab += ["".join(rng.choice("aeioubcdfghklmnprstvz") for _ in range(rng.randint(4, 9)))
              for _ in range(5000)]
    vocab_w = _zipf_weights(len(vocab), 0.8)
    # Opened once the way the bot opens it: the schema, and the salt the hashes are made with,
    # so `forget` finds these people by their (made-up) user ids 1, 2, 3...
    with QuestionLog(path) as question_log:
        people = [question_log.hash_user(uid) for uid in range(1, max(1, rows // 20) + 1)]
    people_w = _zipf_weights(len(people), 0.6)  # user id 1 asks most
    documents = [p.stem for p in sorted(cfg.seeds.glob("*.txt"))] or ["article"]
    chat_types = rng.choices(("private", "group", "supergroup", "inline"), (70, 10, 5, 15), k=rows)
    askers = rng.choices(people, people_w, k=rows)
    # Drawn all at once: one weighted draw at a time would sum the weights each time.
    is_answered = [rng.random() >= 0.30 for _ in range(rows)]
    answered_q = iter(rng.choices(answered_pool, _zipf_weights(len(answered_pool)), k=rows))
    unanswered_q = iter(rng.choices(unanswered_pool, _zipf_weights(len(unanswered_pool)), k=rows))
    start = datetime.now(UTC) - timedelta(days=365)
    step = 365 * 86400 / max(1, rows)
    questions, votes = [], []
    for i in range(rows):
        at = start + timedelta(seconds=i * step + rng.random() * step)
        answered = is_answered[i]
        base = next(answered_q if answered else unanswered_q)
        if not answered and rng.random() < FREE_FORM:
            base = _free_form(rng, vocab, vocab_w)
        key = new_answer_key() if answered and chat_types[i] != "inline" else None
        sentences = [
            {"document": rng.choice(documents), "paragraph": rng.randint(1, 20),
             "sentence": rng.randint(1, 5)}
            for _ in range(rng.randint(1, 5) if answered else 0)
        ]
        questions.append((
            iso(at), chat_types[i], askers[i], _variant(base, rng), int(answered),
            round(rng.uniform(0.4, 1.0) if answered else rng.uniform(0.0, 0.4), 4),
            rng.choice(faq_ids) if answered and faq_ids and rng.random() < 0.4 else None,
            json.dumps(sentences), key,
        ))
        if key is not None and rng.random() < 0.05:
            vote = 1 if rng.random() < 0.6 else -1
            later = iso(at + timedelta(seconds=rng.randint(5, 600)))
            votes.append((later, key, askers[i], vote))
    db = Database(path)
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO questions (ts, chat_type, user_hash, question, answered, confidence,"
            " faq_id, sentences, answer_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            questions,
        )
        db.conn.executemany(
            "INSERT OR REPLACE INTO feedback (ts, answer_key, user_hash, vote)"
            " VALUES (?, ?, ?, ?)",
            votes,
        )
    db.close()
    return {"questions": rows, "votes": len(votes), "people": len(set(askers))}


def _make_log(cfg: Config, path: str, rows: int, out: mp.Queue) -> None:
    t = time.perf_counter()
    counts = synthetic_log(cfg, Path(path), rows)
    out.put({**counts, "make_s": round(time.perf_counter() - t, 1)})


def _timed(step: Any, runs: int) -> tuple[float, Any]:
    """The fastest of `runs` runs in seconds (the others were disturbed), and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        t = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - t)
    return round(best, 3), result


def _scenario_report(path: str, runs: int, out: mp.Queue) -> None:
    """Time the report, /stats, forget and a first purge on the log at `path` (changed: the
    last two delete rows)."""
    from datetime import UTC, datetime

    from bot import report
    from bot.questionlog import QuestionLog

    log_path = Path(path)
    result: dict[str, Any] = {}
    result["report_text_s"], text = _timed(
        lambda: report.format_text(report.build_report(log_path), log_path), runs
    )
    result["report_json_s"], _ = _timed(
        lambda: report.format_json(report.build_report(log_path)), runs
    )
    result["stats_s"], _ = _timed(
        lambda: report.short_stats(log_path, datetime.now(UTC).date()), runs
    )
    result["report_lines"] = text.count("\n") + 1
    result["report_peak_rss_mb"] = _peak_mb()
    with QuestionLog(log_path) as question_log:  # user id 1 asks most (see synthetic_log)
        result["forget_s"], forgotten = _timed(lambda: question_log.forget(1), 1)
    result["forgotten_rows"] = forgotten.rows
    t = time.perf_counter()
    with QuestionLog(log_path, keep_days=90) as question_log:  # a year's log -> 90 days
        question_log.flush()
        result["purge_rows"] = question_log.purged
    result["purge_s"] = round(time.perf_counter() - t, 3)
    out.put(result)


def run_report_bench(
    cfg: Config, rows: int, as_json: bool = False, keep: Path | None = None, runs: int = 3
) -> int:
    """`python -m bot bench-report`: make a synthetic log of `rows` questions (or reuse the one
    at `keep`), then time the report (text and JSON), /stats, forget and a first purge on it."""
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "questions.sqlite3"
        made: dict[str, Any] = {}
        if keep is not None and keep.exists():
            made = {"reused": str(keep)}
        else:
            made = _run(_make_log, cfg, str(keep or scratch), rows)
        if keep is not None:  # timed on a copy: forget and purge delete rows
            shutil.copyfile(keep, scratch)
        timings = _run(_scenario_report, str(scratch), runs)
    result = {"machine": _machine(), "rows": rows, **made, **timings}
    if as_json:
        print(json.dumps(result, indent=2))
        return 0
    if "make_s" in made:
        print(f"synthetic log: {made['questions']:,} questions, {made['votes']:,} votes, "
              f"{made['people']:,} people (made in {made['make_s']} s)")
    else:
        print(f"synthetic log: {keep}")
    print(f"report (text)      {timings['report_text_s']:>7.2f} s  "
          f"({timings['report_lines']:,} lines)")
    print(f"report --json      {timings['report_json_s']:>7.2f} s")
    print(f"/stats             {timings['stats_s']:>7.2f} s")
    print(f"peak memory        {timings['report_peak_rss_mb']:>7.0f} MB")
    print(f"forget (user 1)    {timings['forget_s']:>7.2f} s  "
          f"({timings['forgotten_rows']:,} rows)")
    print(f"keep_days = 90     {timings['purge_s']:>7.2f} s  "
          f"({timings['purge_rows']:,} rows deleted at open)")
    return 0
