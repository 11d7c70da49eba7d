"""Step 1: build one engine per document set and dump, per question, the engine's lexical score
of every candidate sentence (reproducing Engine.ask for an uncurated index), the ids of the
sentences holding a gold piece, and the engine's own answer (top-1 sid, confidence).

Run: HF_HUB_OFFLINE=1 PYTHONPATH=/work/main /tmp/dense/venv/bin/python /tmp/dense/prep.py
Writes /tmp/dense/cache/lexical.pkl. Checks that the reproduced top-1 equals engine.ask's.
"""
from __future__ import annotations

import os

import dataclasses
import html
import pickle
import tempfile
import tomllib
from pathlib import Path

from bot.evaluate import build_engine, load_cases, rank_of
from bot.ingest import seed_files
from bot.message import read_message
from bot.search import Settings
from bot.search.analysis import question_types
from bot.search.engine import MAX_QUERY_CHARS
from bot.search.rerank import phrase_bonus
from bot.text import normalise

MAIN = Path(__file__).resolve().parents[2]
DOCS = MAIN / "tests/data/docs"
OUT = Path(os.environ.get("DENSE_WORK", "/tmp/dense")) / "cache"


def lexical(eng, question: str):
    """Engine.ask's sentence scores (uncurated: no FAQ, so final = direct_weight * direct)."""
    text = read_message(html.unescape(question[:MAX_QUERY_CHARS])).question
    query = eng.concepts(text, query=True)
    if not query:
        return text, {}
    weights = [eng._postings.idf(c) for c in query]
    qtypes = question_types(normalise(text))
    direct = eng._scorer.sentences(query, weights, qtypes, eng.settings.candidate_cap)
    direct = phrase_bonus(direct, query, weights, eng._postings.concepts_of)
    direct = eng._library.prior(direct, query, weights, eng._postings.document_of)
    g = eng.settings.direct_weight
    return text, {sid: g * s for sid, s in direct.items()}


def dump_set(name: str, group: str, seeds: list[Path], cases) -> dict:
    st = dataclasses.replace(Settings(), threshold=0.0)
    eng = build_engine(seeds, Path(tempfile.mkdtemp(prefix="dense-")), st, uncurated=True)
    sids = sorted(eng.sentences)
    texts = [eng.sentences[s].text for s in sids]
    norms = {s: normalise(eng.sentences[s].text) for s in sids}
    qs, mismatch = [], 0
    for c in cases:
        ans = eng.ask(c.q)
        r = rank_of(ans, c.gold)
        asked, lex = lexical(eng, c.q)
        golds = [normalise(g) for g in c.gold]
        gold_sids = {s for s in sids if any(g in norms[s] for g in golds)}
        top = min(lex, key=lambda s: (-lex[s], s)) if lex else None
        eng_top = ans.excerpts[0].sentence_id if ans.answered and ans.excerpts else None
        # the hit as the project scores it, and as reproduced from the scores
        if (r == 1) != (top in gold_sids and bool(c.gold)) or (eng_top != top):
            mismatch += 1
        qs.append(dict(id=c.id, q=c.q, asked=asked, kind=c.kind, gold=c.gold,
                       gold_sids=gold_sids, lex=lex, engine_top1=(r == 1),
                       engine_conf=ans.confidence if ans.answered else 0.0))
    print(f"{name:28s} {group:9s} sentences {len(sids):4d} questions {len(cases):3d} "
          f"reproduction mismatches {mismatch}")
    return dict(name=name, group=group, sids=sids, texts=texts, questions=qs)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    split = tomllib.loads((DOCS / "split.toml").read_text())
    sets = []
    # the bundled article, uncurated (build_engine drops faq.toml / aliases.toml)
    sets.append(dump_set("article", "article", seed_files(MAIN / "seeds"),
                         load_cases(MAIN / "tests/data/questions.jsonl")))
    for group in ("tune", "held_out"):
        for d in split[group]:
            sets.append(dump_set(d, group, seed_files(DOCS / d),
                                 load_cases(DOCS / d / "questions.jsonl")))
    with open(OUT / "lexical.pkl", "wb") as f:
        pickle.dump(sets, f)


if __name__ == "__main__":
    main()
