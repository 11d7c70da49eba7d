"""Final, once: fit each chosen configuration on all training sets (bot/fit.py's way: pooled,
L2, threshold by its rule over article curated / article uncurated / tune docs), then report the
held-out docs POOLED (top-1, in-scope refused, out-of-scope refused, AUC).
Needs $EXPERIMENT_WORK/held.pkl (collect.py held)."""
import sys

import numpy as np
from cvlib import BASE, WORK, auc, choose_threshold, figures, fit, load, matrix, predict

FINAL = {
    "current12": (list(BASE), 0.1),
    "core7": (["evidence", "gap5", "unk_n_n", "q_concepts_n", "same_para5", "faq", "faq_short"], 0.1),
    "12+rare1+para5+unk_n+qlen": (list(BASE) + ["rare1_held", "same_para5", "unk_n_n", "q_concepts_n"], 0.1),
}
train = load()
show_held = len(sys.argv) > 1 and sys.argv[1] == "held"
held = load(WORK / "held.pkl") if show_held else None
for name, (feats, l2) in FINAL.items():
    use = [r for r in train if r["usable"]]
    w = fit(matrix(use, feats), np.array([r["label"] for r in use], float), l2)
    t = choose_threshold(train, predict(w, matrix(train, feats)))
    print(f"{name}: L2 {l2}  THRESHOLD {t}\n  weights: " + ", ".join(
        f"{n} {v:+.3f}" for n, v in zip(["intercept"] + feats, w)))
    top1, ir, ni, orf, no = figures(train, predict(w, matrix(train, feats)), t)
    print(f"  training (in-sample): top1 {top1}/{ni} {top1/ni:.3f}  in-ref {ir} {ir/ni:.3f}  oos-ref {orf}/{no} {orf/no:.3f}")
    if show_held:
        p = predict(w, matrix(held, feats))
        top1, ir, ni, orf, no = figures(held, p, t)
        lab = np.array([r["label"] for r in held]); u = np.array([r["usable"] for r in held])
        a = auc(np.where(u, p, -1), lab)
        print(f"  HELD-OUT pooled: top1 {top1}/{ni} {top1/ni:.3f}  in-scope refused {ir} {ir/ni:.3f}  "
              f"oos refused {orf}/{no} {orf/no:.3f}  AUC {a:.3f}")
