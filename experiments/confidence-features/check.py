"""Checks: cvlib.fit reproduces bot.calibrate.fit_logistic on the current 12 features (L2 0.1),
the threshold bot/fit.py's rule picks, the rows per (set, in scope, label), and the
leave-one-set-out figures of the current 12 for L2 0.01..10."""
import collections

import numpy as np
from cvlib import BASE, choose_threshold, cv, fit, fmt, load, matrix, predict

from bot.calibrate import fit_logistic

rows = load()
use = [r for r in rows if r["usable"]]
X = matrix(use, BASE); y = np.array([r["label"] for r in use], float)
print(np.round(fit(X, y, 0.1), 3))
print(np.round(fit_logistic([list(r["base"]) for r in use], [r["label"] for r in use], 0.1), 3))
p = predict(fit(X,y,0.1), matrix(rows, BASE))
print(choose_threshold(rows, p))
print(collections.Counter((r["set"], r["inscope"], r["label"]) for r in rows))
for l2 in (0.01, 0.1, 1, 10):
    print(fmt(f"base12 l2={l2}", cv(rows, list(BASE), l2)))
