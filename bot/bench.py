"""`python -m bot bench`: index build time (full, and adding one document), start-up time,
per-question latency and peak memory.

Building runs in one process and serving (loading the index, answering) in another, so that
each peak memory is its own: the serving one is what a running bot holds. The synthetic
corpora are shaped after the real documents (the seeds and tests/data/docs) so that the
figures carry over: sentence lengths drawn from the real sentences', paragraphs of 1-6
sentences as the real ones come, a Zipf-Mandelbrot vocabulary of the real words by frequency
then invented rare ones, a pool of people and places (invented, and the real documents' own)
each document draws its cast from by popularity, so that names recur across documents,
documents of varied size around 200 sentences, each dated (a library in date order). The
article is in every corpus, with its metadata, and the questions ask about it.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from pysbd.lang.english import English

from bot.config import Config
from bot.ingest import FOOTER_PATTERNS
from bot.text import normalise, words


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


# -- synthetic corpora that look like real text -----------------------------------------------

SENTENCES_PER_DOC = 200  # the median document; sizes vary around it (see _doc_sizes)
SYNTHETIC_START = date(2011, 1, 1)  # the library's oldest document; one every ~day after
ADDED_DATE = date(2024, 12, 9)  # the document `add 1 s` adds: the newest of all
INVENTED_WORDS = 150_000  # the rare tail a big library has: names of things, jargon, typos
INVENTED_PEOPLE, INVENTED_PLACES = 1500, 600
_CONSONANTS, _VOWELS = "bcdfghklmnprstvz", "aeiou"
_FOOTERS = [re.compile(p) for p in FOOTER_PATTERNS]
_ABBREVIATIONS = {*English.Abbreviation.ABBREVIATIONS, *English.Abbreviation.NUMBER_ABBREVIATIONS,
                  *English.Abbreviation.PREPOSITIVE_ABBREVIATIONS}


def _real_documents(article: Path) -> list[Path]:
    """The real texts the synthetic corpora take their shape from: the article (and the other
    seeds beside it) and the test documents."""
    root = Path(__file__).resolve().parent.parent
    found = {article, *article.parent.glob("*.txt"), *(root / "seeds").glob("*.txt"),
             *(root / "tests" / "data" / "docs").glob("*/*.txt")}
    return sorted(p for p in found if p.exists())


def _invent(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS)
                   + (rng.choice(_CONSONANTS) if rng.random() < 0.3 else "")
                   for _ in range(syllables))


@dataclass(frozen=True)
class Material:
    """What every synthetic document is drawn from, taken from the real documents once."""

    lengths: tuple[int, ...]  # words in each real sentence (3 or more)
    paragraph_sizes: tuple[int, ...]  # sentences in each real paragraph, at most 6
    vocab: tuple[str, ...]  # real words by their frequency, then invented rare ones
    vocab_cum: tuple[float, ...]  # Zipf-Mandelbrot weights, cumulative
    names: tuple[str, ...]  # the people and places of the library: invented and the real ones
    names_cum: tuple[float, ...]
    surnames: dict[str, str]  # a person's name -> the last name used after the first mention


@lru_cache(maxsize=4)
def material(article: Path) -> Material:
    from collections import Counter

    from bot.ingest import read_document

    rng = random.Random(20241208)  # the material is the same for every size and run
    lengths: list[int] = []
    paragraph_sizes: list[int] = []
    counts: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    for path in _real_documents(article):
        doc = read_document(path)
        per_paragraph = Counter(s.paragraph for s in doc.sentences)
        paragraph_sizes += [min(6, n) for n in per_paragraph.values()]
        for s in doc.sentences:
            n = len(words(s.text))
            if n >= 3:
                lengths.append(n)
            tokens = re.findall(r"[^\W\d_]+", s.text)
            counts.update(t.casefold() for t in tokens)
            lower.update(t for t in tokens if t.islower())
            # names: capitalised inside a sentence (not its first word)
            capitalised.update(t for t in tokens[1:] if t[0].isupper() and t[1:].islower())
    # A word never written in lower case is a name: it comes back through the names below.
    real_names = sorted(n for n in capitalised if not lower[n.casefold()] and len(n) > 2)
    name_keys = {n.casefold() for n in real_names}
    real_words = [w for w in counts if w not in name_keys and (len(w) > 1 or w == "a")]
    rng.shuffle(real_words)  # ties in any order but the same one each run
    real_words.sort(key=lambda w: -counts[w])
    seen = set(real_words)
    invented: list[str] = []
    while len(invented) < INVENTED_WORDS:
        w = _invent(rng, rng.choice((2, 2, 3, 3, 3, 4)))
        if w not in seen:
            seen.add(w)
            invented.append(w)
    vocab = real_words + invented
    # Zipf-Mandelbrot in two regimes, as in large English corpora: the real words by rank r
    # weigh 1 / (r + 2.7) ** 1.05 (the head: "the" some 5%), the invented tail falls off
    # faster (** 1.6) from where they end, so that it holds some 15% of the words and about
    # 60,000 distinct words turn up in 100,000 sentences, 140,000 in 1,000,000.
    kink = len(real_words) + 2.7
    vocab_cum = list(accumulate(
        (1 / (r + 2.7) ** 1.05 if r < len(real_words)
         else kink ** 0.55 / (r + 2.7) ** 1.6) for r in range(len(vocab))
    ))
    surnames: dict[str, str] = {}
    people = []
    for _ in range(INVENTED_PEOPLE):
        first, last = _invent(rng, rng.choice((2, 3))), _invent(rng, rng.choice((2, 3, 4)))
        name = f"{first.capitalize()} {last.capitalize()}"
        people.append(name)
        surnames[name] = last.capitalize()
    places = [_invent(rng, rng.choice((2, 3, 4))).capitalize() for _ in range(INVENTED_PLACES)]
    names = people + places + real_names
    rng.shuffle(names)  # popularity (rank) regardless of kind; real names anywhere in it
    names_cum = list(accumulate(1 / (r + 1) for r in range(len(names))))
    return Material(tuple(lengths), tuple(paragraph_sizes), tuple(vocab), tuple(vocab_cum),
                    tuple(names), tuple(names_cum), surnames)


def _doc_sizes(sentences: int, rng: random.Random) -> list[int]:
    """Document sizes around SENTENCES_PER_DOC (log-normal, 30 to 600), adding up to
    `sentences` exactly; the last one takes what is left."""
    sizes, left = [], sentences
    while left > 0:
        n = max(30, min(600, round(rng.lognormvariate(math.log(SENTENCES_PER_DOC) - 0.1, 0.45))))
        n = min(n, left)
        sizes.append(n)
        left -= n
    return sizes


def _document_text(m: Material, n: int, rng: random.Random) -> tuple[str, str]:
    """A document of `n` sentences and its title: paragraphs of 1-6 sentences, sentence lengths
    of the real sentences, words from the Zipf vocabulary, a cast of names that recur."""
    cast = list(dict.fromkeys(rng.choices(m.names, cum_weights=m.names_cum,
                                          k=rng.randint(3, 12))))
    cast_cum = list(accumulate(1 / (i + 1) for i in range(len(cast))))
    lengths = rng.choices(m.lengths, k=n)
    drawn = iter(rng.choices(m.vocab, cum_weights=m.vocab_cum, k=sum(lengths)))
    mentioned: set[str] = set()
    sentences = []
    for length in lengths:
        ws = [next(drawn) for _ in range(length)]
        for _ in range(rng.choices((0, 1, 2), (45, 40, 15))[0]):
            name = rng.choices(cast, cum_weights=cast_cum)[0]
            if name in mentioned and name in m.surnames and rng.random() < 0.6:
                name = m.surnames[name]
            mentioned.add(name)
            ws[rng.randrange(length)] = name
        if rng.random() < 0.12:  # a year or a count
            ws[rng.randrange(1, length)] = str(rng.choice((rng.randint(1990, 2024),
                                                         rng.randint(2, 500))))
        if length > 8 and rng.random() < 0.4:
            i = rng.randrange(2, length - 2)
            ws[i] += ","
        if ws[-1].casefold() in _ABBREVIATIONS:  # "... the rev. Next" would not end there
            ws.insert(rng.randrange(length - 1), ws.pop())
        first = ws[0]
        ws[0] = first[:1].upper() + first[1:]
        sentences.append(" ".join(ws) + ".")
    paragraphs, i = [], 0
    while i < n:
        k = rng.choice(m.paragraph_sizes)
        paragraphs.append(" ".join(sentences[i : i + k]))
        i += k
    # The ingester drops trailing paragraphs that read like a footer ("Related ..."): end on one
    # that does not, so that the document has all its sentences.
    keep = next((i for i in range(len(paragraphs) - 1, -1, -1)
                 if not any(p.search(normalise(paragraphs[i])) for p in _FOOTERS)), None)
    if keep is not None:
        paragraphs.append(paragraphs.pop(keep))
    title_words = rng.choices(m.vocab[:3000], cum_weights=m.vocab_cum[:3000],
                              k=rng.randint(3, 7))
    title = " ".join([cast[0], *title_words])
    return "\n\n".join(paragraphs) + "\n", title


def _write_document(folder: Path, doc_id: str, n: int, when: date, m: Material,
                    rng: random.Random) -> None:
    text, title = _document_text(m, n, rng)
    (folder / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    meta = (f"title = {json.dumps(title)}\npublisher = \"Synthetic {rng.randint(1, 20)}\"\n"
            f"date = \"{when.isoformat()}\"\nlanguage = \"en\"\n")
    (folder / f"{doc_id}.toml").write_text(meta, encoding="utf-8")


def _synthetic_seeds(folder: Path, sentences: int, article: Path, rng: random.Random) -> int:
    """Write a synthetic library of `sentences` sentences into `folder` (documents
    synthetic-00000.txt... with their metadata, dated 0-2 days apart (a day on average) from
    SYNTHETIC_START on); returns the number of documents."""
    m = material(article)
    sizes = _doc_sizes(sentences, rng)
    when = SYNTHETIC_START
    for d, n in enumerate(sizes):
        _write_document(folder, f"synthetic-{d:05d}", n, when, m, rng)
        when += timedelta(days=rng.choice((0, 1, 1, 1, 2)))
    return len(sizes)


def _add_document(seeds: Path, db: Path, article: Path, rng: random.Random) -> float:
    """Seconds to add one synthetic document (an article's worth of sentences) to the index
    built from `seeds`: the incremental build an editor's daily article costs. Done on a copy
    of the index, the document taken away again, so the questions after ask the size named."""
    import shutil

    from bot import index

    with tempfile.TemporaryDirectory() as tmp:
        # the newest document of the library, dated after the article
        _write_document(seeds, "synthetic-added", SENTENCES_PER_DOC, ADDED_DATE,
                        material(article), rng)
        copy = Path(tmp) / db.name
        shutil.copyfile(db, copy)
        t = time.perf_counter()
        index.build(seeds, copy)
        took = time.perf_counter() - t
        for suffix in (".txt", ".toml"):
            (seeds / f"synthetic-added{suffix}").unlink()
    return took


def _scenario_reload(cfg: Config, seeds: str, db: str, out: mp.Queue) -> None:
    """Seconds from adding one article to a running bot's library to the new engine answering:
    what /reload and SIGHUP do (bot/telegram/ops.py: the index brought up to date, the engine
    loaded from it), in a process that started on the library and answered first, as a bot
    has. On a copy of the index, the article taken away again after."""
    import shutil

    from bot.loader import load_engine
    from bot.search import Engine

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "index.sqlite3"
        shutil.copyfile(db, copy)
        running = Engine(copy, cfg.matching)
        questions = _questions(cfg)
        for q in questions[:20]:
            running.ask(q)
        folder = Path(seeds)
        article = next(p for p in sorted(cfg.seeds.glob("*.txt")))
        _write_document(folder, "synthetic-added", SENTENCES_PER_DOC, ADDED_DATE,
                        material(article), random.Random(2))
        try:
            t = time.perf_counter()
            loaded = load_engine(replace(cfg, seeds=folder, db=copy))
            loaded.engine.ask(questions[0])
            took = time.perf_counter() - t
        finally:
            for suffix in (".txt", ".toml"):
                (folder / f"synthetic-added{suffix}").unlink()
        how = _how(copy)
        loaded.engine.close()
        running.close()
    out.put({"reload_s": round(took, 3), "reload_how": how})


def _how(db: Path) -> str:
    """How the last build of an index went: "patched" in place, or "built" whole."""
    from bot import index

    return str(index.last_build(db).get("how", "built"))


def _scenario_article(cfg: Config, folder: str, out: mp.Queue) -> None:
    """Build the bundled seeds' index three times (the best counts) into `folder`."""
    from bot import index

    db = Path(folder) / "index.sqlite3"
    builds = []
    for _ in range(3):
        t = time.perf_counter()
        index.build(cfg.seeds, db, force=True)
        builds.append(time.perf_counter() - t)
    out.put({"corpus": "article", "build_s": round(min(builds), 3),
             "build_peak_mb": _peak_mb(), "db": str(db)})


def _scenario_synthetic(cfg: Config, sentences: int, folder: str, out: mp.Queue) -> None:
    """Build a synthetic library of `sentences` (with the article and its FAQ) into `folder`,
    then time adding one article to it."""
    from bot import index

    rng = random.Random(sentences)
    article = next(p for p in sorted(cfg.seeds.glob("*.txt")))
    seeds = Path(folder) / "seeds"
    seeds.mkdir()
    _synthetic_seeds(seeds, sentences, article, rng)
    for name in ("faq.toml", "aliases.toml"):
        src = cfg.seeds / name
        if src.exists():  # FAQ cites point into the article, so it comes along
            (seeds / name).write_bytes(src.read_bytes())
    for src in (article, article.with_suffix(".toml")):  # with its title and date
        if src.exists():
            (seeds / src.name).write_bytes(src.read_bytes())
    db = Path(folder) / "index.sqlite3"
    t = time.perf_counter()
    index.build(seeds, db)
    build = time.perf_counter() - t
    out.put({"corpus": f"synthetic {sentences:,}", "build_s": round(build, 3),
             "build_peak_mb": _peak_mb(), "db": str(db)})


def _scenario_add(cfg: Config, folder: str, out: mp.Queue) -> None:
    """Time adding one article to the library built in `folder`, in a process of its own as
    `python -m bot index` is (not in the one that just built 100,000 sentences, whose heap
    slows everything after it)."""
    article = next(p for p in sorted(cfg.seeds.glob("*.txt")))
    root = Path(folder)
    add = _add_document(root / "seeds", root / "index.sqlite3", article, random.Random(1))
    out.put({"add_one_s": round(add, 3)})


def _scenario_serve(cfg: Config, db: str, rounds: int, out: mp.Queue) -> None:
    """Start an engine on a built index and answer: what a bot's process holds and does.
    A process of its own, so that its peak memory is the serving one, not the build's."""
    from bot.search import Engine, warm_up

    t = time.perf_counter()
    engine = Engine(Path(db), cfg.matching)
    warm_up()
    load = time.perf_counter() - t
    result = {
        "sentences": len(engine.sentences),
        "load_s": round(load, 3),
        **_latency(engine, _questions(cfg), rounds=rounds),
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


def _measure(cfg: Config, size: int | None) -> dict[str, Any]:
    """Build (one process), then load and answer (another) on the article or a library."""
    with tempfile.TemporaryDirectory() as tmp:
        if size is None:
            built = _run(_scenario_article, cfg, tmp)
        else:
            built = _run(_scenario_synthetic, cfg, size, tmp)
        db = built.pop("db")
        if size is not None:
            built |= _run(_scenario_add, cfg, tmp)
        served = _run(_scenario_serve, cfg, db, 20 if size is None else 3)
        if size is not None:
            served |= _run(_scenario_reload, cfg, str(Path(tmp) / "seeds"), db)
    return {**built, **served}


def run_bench(cfg: Config, sizes: list[int], as_json: bool = False) -> int:
    results = []
    for n in [None, *sizes]:
        results.append(_measure(cfg, n))
        if not as_json:
            _print_row(results[-1], header=n is None)
    if as_json:
        print(json.dumps({"machine": _machine(), "results": results}, indent=2))
    return 0


def _machine() -> dict[str, Any]:
    import os
    import platform

    return {"python": platform.python_version(), "cpus": os.cpu_count()}


def _print_row(r: dict[str, Any], header: bool = False) -> None:
    if header:
        print(f"{'corpus':<20}{'sentences':>10}{'build s':>9}{'add 1 s':>9}{'build MB':>9}"
              f"{'load s':>8}{'reload s':>9}{'p50 ms':>8}{'p99 ms':>8}{'serve MB':>9}")
    add = f"{r['add_one_s']:>9.3f}" if "add_one_s" in r else f"{'-':>9}"
    reload = f"{r['reload_s']:>9.3f}" if "reload_s" in r else f"{'-':>9}"
    print(f"{r['corpus']:<20}{r['sentences']:>10,}{r['build_s']:>9.3f}{add}"
          f"{r['build_peak_mb']:>9.1f}{r['load_s']:>8.3f}{reload}{r['p50_ms']:>8.3f}"
          f"{r['p99_ms']:>8.3f}{r['peak_rss_mb']:>9.1f}")
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
