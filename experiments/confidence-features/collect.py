"""Collect, for every question of a set of document sets, the engine's 12 confidence features
and candidate new ones, computed from the arguments Gauge.read receives (captured by wrapping
engine._gauge.read, so Engine.ask runs unchanged), with threshold 0 and no model.

Run from the checkout:
  PYTHONPATH=. .venv/bin/python experiments/confidence-features/collect.py train
  PYTHONPATH=. .venv/bin/python experiments/confidence-features/collect.py held   (once, at the end)
Writes $EXPERIMENT_WORK/{train,held}.pkl (default /tmp/conf): a list of rows (dict), one per
question, with fold, set, id, q, gold?, label (first quote right), usable (has evidence),
base (12), feats.
"""
from __future__ import annotations

import dataclasses
import html
import math
import os
import pickle
import sys
import tempfile
import tomllib
from bisect import bisect_left
from pathlib import Path

from bot.english import english_level
from bot.evaluate import build_engine, load_cases, rank_of
from bot.ingest import seed_files
from bot.message import read_message
from bot.search import Settings
from bot.search.analysis import SPECIFIC
from bot.search.candidates import CONTEXT_MATCH
from bot.search.confidence import FEATURES
from bot.text import STOPWORDS, words

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("EXPERIMENT_WORK", "/tmp/conf"))
DOCS = ROOT / "tests/data/docs"
RAW = dataclasses.replace(Settings(), threshold=0.0, calibration=None)


def _in(rows, x):
    if rows is None:
        return False
    j = bisect_left(rows, x)
    return j < len(rows) and rows[j] == x


def extra_features(eng, text, query, weights, qtypes, direct, final, ranked, group, faqs, lead):
    P = eng._postings
    top = ranked[0]
    known_sent = top in P.sentences
    total = sum(weights) or 1.0
    n = len(query)
    dfs = [P.df(c.keys) for c in query]
    known = [i for i in range(n) if dfs[i]]
    idf_max = P.idf_df(1)
    f = {}
    # ------------------------------------------------ what the best sentence holds, by count
    m = [P.match(c, top) if known_sent else 0.0 for c in query]
    ctx_rows = P.context
    ctx = [
        (not m[i]) and known_sent and any(_in(ctx_rows.get(k), top) for k in c.keys if type(k) is int)
        for i, c in enumerate(query)
    ]
    held_n = sum(1 for x in m if x)
    f["n_share"] = held_n / n
    f["n_share_known"] = (sum(1 for i in known if m[i]) / len(known)) if known else 0.0
    f["n_missing_known"] = sum(1 for i in known if not m[i])
    f["any_missing_known"] = float(f["n_missing_known"] > 0)
    f["all_held"] = float(held_n == n)
    # rarest known concepts (highest idf among df > 0)
    order = sorted(known, key=lambda i: -weights[i])
    f["rare1_held"] = float(bool(order) and m[order[0]] > 0)
    f["rare2_held"] = float(len(order) < 2 or m[order[1]] > 0)
    f["rare12_held"] = f["rare1_held"] * f["rare2_held"]
    unit = weights[order[0]] if order else 1.0
    miss = [weights[i] for i in known if not m[i]]
    f["miss_max"] = (max(miss) / unit) if miss else 0.0  # relative to the rarest known
    f["miss_max_abs"] = (max(miss) / idf_max) if miss else 0.0  # relative to a hapax
    f["miss_known_w"] = sum(miss) / total
    # missing in the whole paragraph too (not held by any sentence of the group/paragraph)
    para = [s for s in group if s in P.sentences] or [top]
    pmiss = [weights[i] for i in known if not any(P.match(query[i], s) for s in para)]
    f["para_miss_w"] = sum(pmiss) / total
    f["para_miss_max"] = (max(pmiss) / unit) if pmiss else 0.0
    # how common is the rarest known concept / the rarest held one
    f["rare_df_log"] = math.log1p(dfs[order[0]]) if order else 0.0
    f["rare_df_share"] = (dfs[order[0]] / P.n) if order else 0.0
    heldk = [i for i in known if m[i]]
    f["rareheld_df_log"] = math.log1p(min(dfs[i] for i in heldk)) if heldk else math.log1p(P.n)
    f["unit_abs"] = unit / idf_max if order else 0.0  # is the rarest known word itself rare?
    # synonym / context only
    syn_w = sum(weights[i] for i in range(n) if 0 < m[i] < 1)
    own_w = sum(weights[i] for i in range(n) if m[i] == 1)
    f["syn_share"] = syn_w / total
    f["syn_only"] = float(syn_w > 0 and own_w == 0)
    f["ctx_cov"] = sum(weights[i] for i in range(n) if ctx[i]) / total
    f["own_cov"] = own_w / total
    # ------------------------------------------------ scores of the list
    sc = [final.get(s, 0.0) for s in ranked[:10]]
    t = sc[0]
    f["top_score"] = t
    f["gap2"] = t - (sc[1] if len(sc) > 1 else 0.0)
    f["gap5"] = t - (sc[4] if len(sc) > 4 else 0.0)
    f["rel2"] = (sc[1] / t) if len(sc) > 1 and t else 0.0
    f["rel5"] = (sc[4] / t) if len(sc) > 4 and t else 0.0
    s10 = sum(sc) or 1.0
    ps = [x / s10 for x in sc if x > 0]
    f["ent10"] = -sum(p * math.log(p) for p in ps) / math.log(10) if ps else 0.0
    f["n_close"] = sum(1 for x in sc[1:] if x >= 0.9 * t) / 9
    f["n_cand_log"] = math.log1p(len(final))
    if known_sent:
        place = P.place_of(top)
        f["same_para5"] = sum(1 for s in ranked[1:5] if s in P.sentences and P.place_of(s) == place) / 4
    else:
        f["same_para5"] = 0.0
    f["direct_top"] = direct.get(top, 0.0)
    f["direct_best"] = max(direct.values(), default=0.0)
    # ------------------------------------------------ the question
    f["q_concepts"] = n
    f["q_concepts_log"] = math.log(n)
    specific = qtypes & SPECIFIC
    f["specific"] = float(bool(specific))
    lacks = eng._scorer.lacks_cue(top, qtypes) if known_sent else True
    f["spec_cue_held"] = float(bool(specific & {"quantity", "duration", "distance", "time", "person"}) and not lacks)
    for ty in ("quantity", "time", "person", "place", "reason"):
        f["qt_" + ty] = float(ty in qtypes)
    lw = text.lower()
    f["what_which"] = float(not qtypes and any(w in ("what", "which", "whats") for w in words(lw)))
    f["yesno"] = float(not qtypes and bool(words(lw)) and words(lw)[0] in (
        "is", "are", "does", "do", "can", "could", "will", "was", "were", "did", "should", "has", "have"))
    # unknown concepts: typos vs real words
    unk = [i for i in range(n) if not dfs[i] and not eng._phrasing_postings.holds(query[i].keys)]
    f["unk_n"] = len(unk)
    f["unk_n_share"] = len(unk) / n
    unk_eng = [i for i in unk if all(english_level(w) == 2 for w in query[i].words)]
    f["unk_english_w"] = sum(weights[i] for i in unk_eng) / total
    f["unk_nonenglish_w"] = sum(weights[i] for i in unk if i not in unk_eng) / total
    f["unk_any"] = float(bool(unk))
    cw = [w for w in words(text) if w not in STOPWORDS and len(w) > 1 and not w.isdigit()]
    f["q_english_share"] = (sum(1 for w in cw if english_level(w) == 2) / len(cw)) if cw else 1.0
    # ------------------------------------------------ the best sentence
    if known_sent:
        pos = P.position(top)
        nconc = len(P.concepts_of(top))
        weight = P.weight[pos]
        covered = sum(weights[i] * (m[i] if m[i] else (CONTEXT_MATCH if ctx[i] else 0.0)) for i in range(n))
        f["sent_conc_log"] = math.log1p(nconc)
        f["says_more"] = 1 - covered / (covered + weight) if covered + weight else 0.0
        f["sent_words_log"] = math.log1p(len(words(P.text_of(top))))
    else:
        f["sent_conc_log"] = f["says_more"] = f["sent_words_log"] = 0.0
    f["lead"] = float(lead is not None)
    f["faq_top"] = faqs[0][0] if faqs else 0.0
    f["doc_size_log"] = math.log(P.n)
    return f


def run_set(fold, setname, seeds, cases, uncurated):
    eng = build_engine(seeds, Path(tempfile.mkdtemp(prefix="conf-")), RAW, uncurated=uncurated)
    real = eng._gauge.read
    box = {}

    def read(query, weights, qtypes, direct, final, ranked, group, faqs, lead, margin, headroom):
        box["x"] = (query, weights, qtypes, direct, final, ranked, group, faqs, lead)
        return real(query, weights, qtypes, direct, final, ranked, group, faqs, lead, margin, headroom)

    eng._gauge.read = read
    rows = []
    for c in cases:
        box.clear()
        a = eng.ask(c.q)
        r = rank_of(a, c.gold)
        usable = len(a.evidence) == len(FEATURES)
        row = dict(fold=fold, set=setname, id=c.id, q=c.q, inscope=bool(c.gold), label=(r == 1),
                   usable=usable, base=tuple(a.evidence) if usable else None, feats=None)
        if usable:
            text = read_message(html.unescape(c.q[:1000])).question
            row["feats"] = extra_features(eng, text, *box["x"])
        rows.append(row)
    return rows


def main(which):
    split = tomllib.loads((DOCS / "split.toml").read_text())
    rows = []
    if which == "train":
        article = seed_files(ROOT / "seeds")
        cases = load_cases(ROOT / "tests/data/questions.jsonl")
        rows += run_set("article", "article_curated", article, cases, False)
        rows += run_set("article", "article_uncurated", article, cases, True)
        names = split["tune"]
    else:
        names = split["held_out"]
    for d in names:
        rows += run_set(d, d, seed_files(DOCS / d), load_cases(DOCS / d / "questions.jsonl"), True)
    WORK.mkdir(parents=True, exist_ok=True)
    with open(WORK / f"{which}.pkl", "wb") as fh:
        pickle.dump(rows, fh)
    print(which, len(rows), "rows;", sum(r["usable"] for r in rows), "usable")


if __name__ == "__main__":
    main(sys.argv[1])
