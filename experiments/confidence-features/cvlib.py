"""Leave-one-set-out validation of the confidence model (numpy; same fit as
bot.calibrate.fit_logistic: Newton, L2 on all but the intercept).

Folds: the article (curated + uncurated runs together) and each of the 4 tune docs.
Threshold: bot/fit.py's rule on the training folds' sets (article curated floor 0.83,
article uncurated 0.70, the tune docs pooled 0.70), objective = mean over sets of
top1 + oos_refused - 0.5 * inscope_refused, t in 0.05..0.95, ties to the lowest t.

WORK (EXPERIMENT_WORK, default /tmp/conf) holds collect.py's train.pkl and held.pkl.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from bot.search.confidence import FEATURES as BASE

WORK = Path(os.environ.get("EXPERIMENT_WORK", "/tmp/conf"))
FOLDS = ["article", "openssh-debian-news", "gzip-man1", "apache-license-2", "xz-utils-history"]


def load(path=None):
    with open(WORK / "train.pkl" if path is None else path, "rb") as fh:
        return pickle.load(fh)


def value(row, name):
    """A feature by name: a base one, a collected one, or a derived one."""
    if name in BASE:
        return row["base"][BASE.index(name)]
    f = row["feats"]
    if name in f:
        return f[name]
    b = dict(zip(BASE, row["base"]))
    d = DERIVED[name]
    return d(b, f)


DERIVED = {
    "cov_x_unknown": lambda b, f: b["coverage"] * b["unknown"],
    "single_x_syn": lambda b, f: b["single"] * f["syn_only"],
    "single_x_rareheld": lambda b, f: b["single"] * f["rare1_held"],
    "q_concepts_n": lambda b, f: min(f["q_concepts"], 10) / 10,
    "unk_n_n": lambda b, f: min(f["unk_n"], 4) / 4,
    "n_missing_known_n": lambda b, f: min(f["n_missing_known"], 4) / 4,
    "rare_df_log_n": lambda b, f: f["rare_df_log"] / 5,
    "rareheld_df_log_n": lambda b, f: f["rareheld_df_log"] / 5,
    "sent_conc_log_n": lambda b, f: f["sent_conc_log"] / 4,
    "sent_words_log_n": lambda b, f: f["sent_words_log"] / 4,
    "n_cand_log_n": lambda b, f: f["n_cand_log"] / 6,
    "doc_size_log_n": lambda b, f: f["doc_size_log"] / 8,
    "missmax_x_rare": lambda b, f: f["miss_max"] * f["rare1_held"],
    "nshare_x_known": lambda b, f: f["n_share_known"] * (1 - b["unknown"]),
    "unknown_sq": lambda b, f: b["unknown"] ** 2,
    "evidence_sq": lambda b, f: b["evidence"] ** 2,
    "coverage_sq": lambda b, f: b["coverage"] ** 2,
    "unk_eng_x_cov": lambda b, f: f["unk_english_w"] * (1 - b["coverage"]),
    "miss_abs_x_spec": lambda b, f: f["miss_max_abs"] * f["specific"],
    "cue_x_spec": lambda b, f: f["spec_cue_held"] * b["coverage"],
    "faqshort_x_miss": lambda b, f: b["faq_short"] * f["miss_known_w"],
}


def matrix(rows, names):
    X = np.array([[value(r, n) for n in names] if r["usable"] else [0.0] * len(names)
                  for r in rows], dtype=float)
    return X


def fit(X, y, l2, iters=100):
    n, k = X.shape
    A = np.hstack([np.ones((n, 1)), X])
    w = np.zeros(k + 1)
    pen = np.full(k + 1, l2)
    pen[0] = 0.0
    for _ in range(iters):
        z = A @ w
        p = 1 / (1 + np.exp(-z))
        g = A.T @ (p - y) + pen * w
        s = np.maximum(p * (1 - p), 1e-9)
        H = (A * s[:, None]).T @ A + np.diag(pen) + 1e-9 * np.eye(k + 1)
        step = np.linalg.solve(H, g)
        w = w - step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def predict(w, X):
    return 1 / (1 + np.exp(-(w[0] + X @ w[1:])))


def auc(scores, labels):
    scores = np.asarray(scores); labels = np.asarray(labels, bool)
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    # rank-based with ties
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv)); ranks[order] = np.arange(1, len(allv) + 1)
    # average ties
    vals = allv[order]
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2
        i = j + 1
    return (ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def set_key(row):
    """bot/fit.py's sets: article curated, article uncurated, the tune docs pooled."""
    return row["set"] if row["set"].startswith("article") else "docs"


FLOOR = {"article_curated": 0.83, "article_uncurated": 0.70, "docs": 0.70}


def figures(rows, probs, t):
    ins = [(r, p) for r, p in zip(rows, probs) if r["inscope"]]
    oos = [(r, p) for r, p in zip(rows, probs) if not r["inscope"]]
    dec = lambda r, p: r["usable"] and p >= t
    top1 = sum(1 for r, p in ins if r["label"] and dec(r, p))
    ins_ref = sum(1 for r, p in ins if not dec(r, p))
    oos_ref = sum(1 for r, p in oos if not dec(r, p))
    return top1, ins_ref, len(ins), oos_ref, len(oos)


def objective(rows, probs, t):
    sets = {}
    for r, p in zip(rows, probs):
        sets.setdefault(set_key(r), ([], []))
        sets[set_key(r)][0].append(r); sets[set_key(r)][1].append(p)
    total, safe = 0.0, True
    for k, (rs, ps) in sets.items():
        top1, ir, ni, orf, no = figures(rs, ps, t)
        ni = ni or 1; no_ = no or 1
        total += top1 / ni + orf / no_ - 0.5 * ir / ni
        safe = safe and orf / no_ >= FLOOR[k]
    return safe, total / len(sets)


def choose_threshold(rows, probs):
    return max((t / 100 for t in range(5, 96)), key=lambda t: (*objective(rows, probs, t), -t))


def cv(rows, names, l2, folds=FOLDS):
    """Out-of-fold probabilities and per-fold thresholds; returns a summary dict."""
    X = matrix(rows, names)
    y = np.array([r["label"] for r in rows], float)
    use = np.array([r["usable"] for r in rows])
    fold = np.array([r["fold"] for r in rows])
    oof = np.zeros(len(rows))
    thr = {}
    answered = np.zeros(len(rows), bool)
    for fo in folds:
        tr = (fold != fo) & use
        te = fold == fo
        w = fit(X[tr], y[tr], l2)
        ptr_all = predict(w, X[fold != fo])
        rows_tr = [r for r, m in zip(rows, fold != fo) if m]
        t = choose_threshold(rows_tr, ptr_all)
        thr[fo] = t
        p = predict(w, X[te])
        oof[te] = p
        answered[te] = (p >= t) & use[te]
    labels = y.astype(bool)
    # unusable rows count as refused (and their label is False): include them at score -1
    sc = np.where(use, oof, -1.0)
    a_all = auc(sc, labels)
    ins = np.array([r["inscope"] for r in rows])
    top1 = int((labels & answered & ins).sum())
    ins_ref = int((ins & ~answered).sum())
    oos_ref = int((~ins & ~answered).sum())
    # objective on OOF answers, by bot/fit.py's three sets
    total = 0.0
    per = {}
    for k in FLOOR:
        m = np.array([set_key(r) == k for r in rows])
        ni = (m & ins).sum(); no = (m & ~ins).sum()
        t1 = (labels & answered & ins & m).sum() / ni
        orf = (~ins & ~answered & m).sum() / no
        ir = (ins & ~answered & m).sum() / ni
        per[k] = (t1, ir, orf)
        total += t1 + orf - 0.5 * ir
    docs = np.array([not r["set"].startswith("article") for r in rows])
    a_docs = auc(sc[docs], labels[docs])
    return dict(auc=a_all, auc_docs=a_docs, top1=top1, ins_ref=ins_ref, oos_ref=oos_ref, n_in=int(ins.sum()),
                n_oos=int((~ins).sum()), obj=total / len(FLOOR), thr=thr, per=per, oof=sc)


def fmt(name, s):
    return (f"{name:40s} AUC {s['auc']:.3f} docs {s['auc_docs']:.3f}  top1 {s['top1']:3d}/{s['n_in']}  "
            f"in-ref {s['ins_ref']:3d}  oos-ref {s['oos_ref']:3d}/{s['n_oos']}  obj {s['obj']:.3f}  "
            f"thr {' '.join(f'{v:.2f}' for v in s['thr'].values())}")


def cv_auc(rows, names, l2, folds=FOLDS, X=None):
    """Out-of-fold AUC only (fast, for selection): all rows, and the tune docs' folds."""
    X = matrix(rows, names) if X is None else X
    y = np.array([r["label"] for r in rows], float)
    use = np.array([r["usable"] for r in rows])
    fold = np.array([r["fold"] for r in rows])
    oof = np.full(len(rows), -1.0)
    for fo in folds:
        tr = (fold != fo) & use
        te = (fold == fo) & use
        w = fit(X[tr], y[tr], l2)
        oof[te] = predict(w, X[te])
    docs = fold != "article"
    return auc(oof, y.astype(bool)), auc(oof[docs], y[docs].astype(bool))


def candidates(rows):
    return list(BASE) + [n for n in rows[0 if rows[0]["usable"] else 1]["feats"]] + list(DERIVED)
