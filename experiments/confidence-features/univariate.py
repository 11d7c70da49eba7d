"""Univariate AUC of every candidate feature (in-sample, per fold group), for exploration."""
import numpy as np
from cvlib import BASE, DERIVED, auc, load, matrix

rows = [r for r in load() if r["usable"]]
names = list(BASE) + list(rows[0]["feats"]) + list(DERIVED)
y = np.array([r["label"] for r in rows])
docs = np.array([not r["set"].startswith("article") for r in rows])
out = []
for n in names:
    x = matrix(rows, [n])[:, 0]
    out.append((n, auc(x, y), auc(x[docs], y[docs]), auc(x[~docs], y[~docs])))
for n, a, b, c in sorted(out, key=lambda t: -abs(t[1] - .5)):
    print(f"{n:22s} all {a:.3f}  docs {b:.3f}  article {c:.3f}")
