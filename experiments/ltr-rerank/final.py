"""The chosen configuration (by leave-one-set-out CV only): features 'all_no_text', pointwise
logistic regression, L2 = 1, reordering only candidates within 0.05 of the engine's best score.
Fit on all 5 training sets with bot.calibrate.fit_logistic (pure Python), print the weights,
time the per-question cost, and -- only with --held-out -- the pooled held-out top-1, once.
Reads $EXPERIMENT_WORK/train.pkl, writes $EXPERIMENT_WORK/model.json."""
import json
import pickle
import statistics
import sys
import time

from cv import FS
from cv_gate import window
from ltrlib import (
    FEATURES,
    HELD_SETS,
    TRAIN_SETS,
    WORK,
    candidates,
    collect,
    engine_and_cases,
    features,
    max_paragraphs,
    question_text,
)
from model import fit, score, top1

FEATS, L2, MODE, DELTA = FS["all_no_text"], 1.0, "point", 0.05
cols = [FEATURES.index(f) for f in FEATS]
with open(WORK / "train.pkl", "rb") as fh:
    data = pickle.load(fh)["data"]
tr = [r for r in (window(r, DELTA) for r in data) if len(r["X"]) > 1]
model = fit(tr, cols, L2, MODE)
with open(WORK / "model.json", "w") as fh:
    json.dump({"features": FEATS, "weights": model[0], "bias": model[1], "delta": DELTA}, fh, indent=1)
print("weights on raw features (bias %.4f):" % model[1])
for f, w in sorted(zip(FEATS, model[0]), key=lambda t: -abs(t[1])):
    print(f"  {f:20s} {w:+.4f}")
# in-sample check
b = r_ = 0
for r in data:
    bb, rk = top1(model, cols, window(r, DELTA)); b += bb; r_ += rk
print(f"in-sample (5 training sets, n={len(data)}): base {b/len(data):.3f} rerank {r_/len(data):.3f}")

# per-question cost: features for the top 20 + scoring + picking, pure Python, training sets
gi = FEATURES.index("gap")
times = []
for name in TRAIN_SETS:
    eng, cases = engine_and_cases(name)
    mp = max_paragraphs(eng)
    for c in cases:
        cand = candidates(eng, question_text(c.q))
        if not cand or not cand[5]:
            continue
        eng._postings.concepts_of.cache_clear()
        t0 = time.perf_counter()
        X = features(eng, cand, mp, text=False)
        best = max((i for i, row in enumerate(X) if row[gi] <= DELTA),
                   key=lambda i: (score(model, cols, X[i]), -i))
        times.append((time.perf_counter() - t0) * 1e6)
print(f"added cost per question: median {statistics.median(times):.0f} us, "
      f"p90 {sorted(times)[int(0.9*len(times))]:.0f} us (n={len(times)}, concepts_of cache cleared)")

if "--held-out" in sys.argv:
    b = r_ = n = 0; mism = 0
    for name in HELD_SETS:
        recs, mm = collect(name)
        mism += len(mm)
        for r in recs:
            bb, rk = top1(model, cols, window(r, DELTA)); b += bb; r_ += rk; n += 1
    print(f"HELD-OUT pooled (n={n}): baseline top-1 {b/n:.3f}  reranker top-1 {r_/n:.3f}  "
          f"(ask rank-1 mismatches: {mism})")
