"""Fitting and applying the reranker: standardised features, logistic regression (pointwise on
candidates, or pairwise on right-minus-wrong differences). Same objective as
bot.calibrate.fit_logistic (Newton, L2 on all but the intercept); numpy is used when present
(only to make the CV grid quick), bot.calibrate.fit_logistic otherwise."""
from __future__ import annotations

import math

try:
    import numpy as np
except ImportError:  # the project's venv
    np = None


def fit_lr(rows, labels, l2, iterations=100):
    if np is None:
        from bot.calibrate import fit_logistic
        return fit_logistic(rows, labels, l2, iterations)
    X = np.hstack([np.ones((len(rows), 1)), np.asarray(rows, float)])
    y = np.asarray(labels, float)
    k = X.shape[1]
    w = np.zeros(k)
    pen = np.full(k, l2); pen[0] = 0.0
    for _ in range(iterations):
        z = X @ w
        p = 1 / (1 + np.exp(-z))
        s = np.maximum(p * (1 - p), 1e-9)
        grad = X.T @ (p - y) + pen * w
        H = (X * s[:, None]).T @ X + np.diag(pen + 1e-9)
        step = np.linalg.solve(H, grad)
        w = w - step
        if np.max(np.abs(step)) < 1e-8:
            break
    return [float(v) for v in w]


def standardiser(records, cols):
    xs = [[row[j] for j in cols] for r in records for row in r["X"]]
    n = len(xs)
    mu = [sum(x[i] for x in xs) / n for i in range(len(cols))]
    sd = [math.sqrt(sum((x[i] - mu[i]) ** 2 for x in xs) / n) or 1.0 for i in range(len(cols))]
    return mu, sd


def fit(records, cols, l2, mode):
    """records: training questions; cols: feature indices. Returns (weights on raw features, bias)."""
    use = [r for r in records if r["X"] and any(r["y"])]
    mu, sd = standardiser(use, cols)
    z = lambda row: [(row[j] - mu[i]) / sd[i] for i, j in enumerate(cols)]
    rows, labels = [], []
    for r in use:
        Z = [z(row) for row in r["X"]]
        if mode == "point":
            rows += Z; labels += list(r["y"])
        else:
            pos = [Z[i] for i, y in enumerate(r["y"]) if y]
            neg = [Z[i] for i, y in enumerate(r["y"]) if not y and (mode == "pair" or i < 5)]
            for a in pos:
                for b in neg:
                    d = [u - v for u, v in zip(a, b)]
                    rows.append(d); labels.append(True)
                    rows.append([-v for v in d]); labels.append(False)
    w = fit_lr(rows, labels, l2)
    # fold the standardisation into weights on the raw features
    raw = [w[i + 1] / sd[i] for i in range(len(cols))]
    bias = w[0] - sum(w[i + 1] * mu[i] / sd[i] for i in range(len(cols)))
    return raw, bias


def score(model, cols, row):
    raw, bias = model
    return bias + sum(wi * row[j] for wi, j in zip(raw, cols))


def top1(model, cols, rec):
    """(baseline right, reranked right) for one question."""
    if not rec["X"]:
        return False, False
    base = bool(rec["y"][0])
    s = [score(model, cols, row) for row in rec["X"]]
    best = max(range(len(s)), key=lambda i: (s[i], -i))  # ties: the engine's order
    return base, bool(rec["y"][best])
