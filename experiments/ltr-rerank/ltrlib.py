"""Shared pieces of the reranking experiment: engines, the engine's top-20, features, labels.

Pure Python (runs in the project's venv). Candidate order reproduces the engine's own ranking
(collect() checks the rank-1 sentence against engine.ask's).

ROOT is the checkout this file sits in; WORK (EXPERIMENT_WORK, default /tmp/ltr) is where the
collected pickles and the fitted model go.
"""
from __future__ import annotations

import dataclasses
import html
import math
import os
import tempfile
from bisect import bisect_left
from pathlib import Path

from bot.evaluate import build_engine, load_cases
from bot.ingest import seed_files
from bot.message import read_message
from bot.search import Settings
from bot.search.analysis import _CUE_BITS, REFERS_BACK, question_types
from bot.search.candidates import SYNONYM_MATCH
from bot.search.rerank import LEAD_CONCEPTS, phrase_bonus
from bot.text import normalise

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("EXPERIMENT_WORK", "/tmp/ltr"))
DOCS = ROOT / "tests/data/docs"
K = 20
ST = dataclasses.replace(Settings(), threshold=0.0)
# The split of tests/data/docs/split.toml at the time (tune / held_out), plus the bundled article.
TRAIN_SETS = ["openssh-debian-news", "gzip-man1", "apache-license-2", "xz-utils-history", "ARTICLE"]
HELD_SETS = ["charsets-man7", "postgresql-debian-readme", "nodejs-governance", "gittutorial-man7"]


def engine_and_cases(name):
    if name == "ARTICLE":
        seeds, qfile = ROOT / "seeds", ROOT / "tests/data/questions.jsonl"
    else:
        seeds, qfile = DOCS / name, DOCS / name / "questions.jsonl"
    eng = build_engine(seed_files(seeds), Path(tempfile.mkdtemp(prefix="ltr-")), ST, uncurated=True)
    return eng, load_cases(qfile)


def question_text(q):
    return read_message(html.unescape(q)).question


def candidates(eng, text, k=K):
    """The engine's sentence scores (as Engine.ask computes them, uncurated), and its top k."""
    q = eng.concepts(text, query=True)
    if not q:
        return None
    P = eng._postings
    w = [P.idf(x) for x in q]
    qt = question_types(normalise(text))
    d0 = eng._scorer.sentences(q, w, qt, 1000)
    d1 = phrase_bonus(d0, q, w, P.concepts_of)
    d = eng._library.prior(d1, q, w, P.document_of)
    ranked = sorted(d, key=lambda s: (-d[s], s))[:k]
    return q, w, qt, d0, d, ranked


def _in(arr, x):
    if arr is None:
        return False
    j = bisect_left(arr, x)
    return j < len(arr) and arr[j] == x


_QBIT = _CUE_BITS["quantity"]; _TBIT = _CUE_BITS["time"]; _PBIT = _CUE_BITS["person"]

# name, needs the sentence's text?
FEATURES = [
    "rel_score", "gap", "inv_rank", "is_top",
    "cov_exact", "cov_syn", "cov_ctx", "missing", "held_n_share", "rarest_own", "rarest_ctx",
    "phrase", "lead", "label", "lacks_cue",
    "log_nconc", "novel_share", "novel_n_log", "says_more",
    "first_in_para", "sent_idx_log", "para_pos",
    "refers_back",  # text
    "prev_rel", "next_rel", "para_in_top",
    "cue_num_nonspec", "cue_time_nonspec", "cue_person_nonspec",
    "rel_novel", "rel_cov_own",
    "why_ctx", "why_prev_rel", "spec_has_cue",
]
NEEDS_TEXT = {"refers_back"}


def features(eng, cand, maxpara, text=True):
    """One feature row per candidate of `cand` (from candidates())."""
    q, w, qt, d0, d, ranked = cand
    P = eng._postings
    total = sum(w) or 1.0
    top = d[ranked[0]] or 1e-9
    qkeys = frozenset(k for c in q for k in c.keys)
    rarest = max(range(len(q)), key=lambda i: w[i])
    spec = bool(qt)
    # phrase / lead components (as rerank.phrase_bonus computes them)
    asking = {}
    for i, c in enumerate(q):
        for kk in c.keys:
            asking.setdefault(kk, set()).add(i)
    ctx_rows = P.context
    rows = []
    places = {sid: P.place_of(sid) for sid in ranked}
    para_count = {}
    for sid in ranked:
        para_count[places[sid]] = para_count.get(places[sid], 0) + 1
    for r, sid in enumerate(ranked, 1):
        pos = P._pos[sid]
        own = syn = ctx = 0.0
        nheld = 0
        rown = rctx = 0.0
        for i, c in enumerate(q):
            m = P.match(c, sid)
            if m == 1.0:
                own += w[i]; nheld += 1
            elif m:
                syn += w[i]; nheld += 1
            elif any(_in(ctx_rows.get(kk), sid) for kk in c.keys if type(kk) is int):
                ctx += w[i]
                if i == rarest: rctx = 1.0
            if m and i == rarest: rown = 1.0
        conc = P.concepts_of(sid)
        matched = [set().union(*(asking[kk] for kk in x & qkeys)) if not x.isdisjoint(qkeys) else set()
                   for x in conc]
        pairs = {i for a, b in zip(matched, matched[1:]) for i in a if i + 1 in b}
        phrase = sum(w[i] + w[i + 1] for i in pairs) / (2 * total) if len(q) >= 2 else 0.0
        lead = 0.0
        if len(q) >= 2 and not all(matched) and r <= 20:
            early = set().union(*matched[:LEAD_CONCEPTS]) if matched else set()
            lead = sum(w[i] for i in early) / total
        nconc = len(conc)
        novel = sum(1 for m in matched if not m)
        flags = P.flags[pos]
        cues = flags >> 1
        label = float(flags & 1)
        lacks = 1.0 if P.lacks_cue(sid, qt) else 0.0
        covered = own + syn * SYNONYM_MATCH + ctx * 0.5
        weight = P.weight[pos]
        says_more = 1 - covered / (covered + weight) if covered + weight else 0.0
        s_no = P.number[pos]
        para = P.paragraph[pos]
        doc = P.doc[pos]
        rb = (1.0 if REFERS_BACK.search(P.text_of(sid)) else 0.0) if text else 0.0

        def nb(x):
            if x in d and P.position(x) >= 0 and P.place_of(x) == places[sid]:
                return d[x] / top
            return 0.0
        rows.append({
            "rel_score": d[sid] / top, "gap": top - d[sid], "inv_rank": 1.0 / r, "is_top": float(r == 1),
            "cov_exact": own / total, "cov_syn": syn / total, "cov_ctx": ctx / total,
            "missing": 1 - (own + syn + ctx) / total, "held_n_share": nheld / len(q),
            "rarest_own": rown, "rarest_ctx": rctx,
            "phrase": phrase, "lead": lead, "label": label, "lacks_cue": lacks,
            "log_nconc": math.log1p(nconc), "novel_share": novel / nconc if nconc else 0.0,
            "novel_n_log": math.log1p(novel), "says_more": says_more,
            "first_in_para": float(s_no == 0), "sent_idx_log": math.log1p(s_no),
            "para_pos": para / max(1, maxpara.get(doc, 1)),
            "refers_back": rb,
            "prev_rel": nb(sid - 1), "next_rel": nb(sid + 1), "para_in_top": para_count[places[sid]] - 1,
            "cue_num_nonspec": float(not spec and bool(cues & _QBIT)),
            "cue_time_nonspec": float(not spec and bool(cues & _TBIT)),
            "cue_person_nonspec": float(not spec and bool(cues & _PBIT)),
            "why_ctx": float("reason" in qt) * ctx / total,
            "why_prev_rel": float("reason" in qt) * nb(sid - 1),
            "spec_has_cue": float(bool(qt & {"quantity", "duration", "distance", "time", "person"}) and not lacks),
        })
    # relative to the best of the list
    mx_nov = max(x["novel_share"] for x in rows)
    mx_cov = max(x["cov_exact"] + x["cov_syn"] for x in rows)
    for x in rows:
        x["rel_novel"] = x["novel_share"] - mx_nov
        x["rel_cov_own"] = x["cov_exact"] + x["cov_syn"] - mx_cov
    return [[x[f] for f in FEATURES] for x in rows]


def max_paragraphs(eng):
    P = eng._postings
    out = {}
    for i in range(len(P.ids)):
        out[P.doc[i]] = max(out.get(P.doc[i], 0), P.paragraph[i])
    return out


def is_right(eng, sid, golds):
    t = normalise(eng.sentences[sid].text)
    return any(g in t for g in golds)


def collect(name, check_ask=True):
    """Per answerable question: (id, feature rows, labels, baseline rank-1 sid, ask's sid)."""
    eng, cases = engine_and_cases(name)
    maxpara = max_paragraphs(eng)
    out, mism = [], []
    for c in cases:
        if not c.gold:
            continue
        golds = [normalise(x) for x in c.gold]
        text = question_text(c.q)
        cand = candidates(eng, text)
        if cand is None or not cand[5]:
            out.append({"id": c.id, "set": name, "X": [], "y": [], "n_right_any": 0})
            continue
        ranked = cand[5]
        X = features(eng, cand, maxpara)
        y = [is_right(eng, s, golds) for s in ranked]
        rec = {"id": c.id, "set": name, "X": X, "y": y}
        if check_ask:
            a = eng.ask(c.q)
            ask_sid = a.excerpts[0].sentence_id if a.excerpts else None
            if ask_sid != ranked[0]:
                mism.append((c.id, ranked[0], ask_sid, y[0], is_right(eng, ask_sid, golds) if ask_sid is not None else None))
        out.append(rec)
    return out, mism
