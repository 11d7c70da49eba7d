"""Collect top-20 candidates + features + labels for the 5 training sets
-> $EXPERIMENT_WORK/train.pkl (default /tmp/ltr).
Held-out sets are NOT collected here (final.py does that, once).

Run from the checkout: PYTHONPATH=. .venv/bin/python experiments/ltr-rerank/collect.py"""
import pickle

from ltrlib import FEATURES, TRAIN_SETS, WORK, collect

data, allm = [], []
for name in TRAIN_SETS:
    recs, mism = collect(name)
    data += recs
    allm += [(name, *m) for m in mism]
    n = len(recs)
    top1 = sum(1 for r in recs if r["y"] and r["y"][0])
    in20 = sum(1 for r in recs if any(r["y"]))
    print(f"{name:24s} n={n:3d} top1={top1/n:.3f} in20={in20/n:.3f} ask-mismatch={len(mism)}")
print("rank-1 vs engine.ask mismatches (set, id, recall_sid, ask_sid, recall_right, ask_right):")
for m in allm:
    print("  ", m)
WORK.mkdir(parents=True, exist_ok=True)
with open(WORK / "train.pkl", "wb") as fh:
    pickle.dump({"features": FEATURES, "data": data}, fh)
