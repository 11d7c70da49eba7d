"""Evidence into the probability of a right answer, and how well a probability means it.

The raw evidence ranks well but its scale means nothing; a confidence of 0.8 should be right
about 80 % of the time. The engine's confidence (bot/search/confidence.py) is a logistic
regression over several pieces of evidence, fitted by `python -m bot fit` (fit_logistic);
Platt scaling (fit_platt) is its one-feature case. The expected calibration error tells how
well a set of probabilities means what it says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def fit_platt(scores: Sequence[float], labels: Sequence[bool], iterations: int = 50) -> tuple[
    float, float
]:
    """(a, b) maximising the likelihood of labels under sigmoid(a * score + b), by Newton steps.

    Platt's smoothed targets keep the fit finite when the two classes separate completely.
    """
    positives = sum(1 for y in labels if y)
    negatives = len(labels) - positives
    hi = (positives + 1) / (positives + 2)
    lo = 1 / (negatives + 2)
    targets = [hi if y else lo for y in labels]
    a, b = 1.0, 0.0
    for _ in range(iterations):
        g_a = g_b = h_aa = h_ab = h_bb = 0.0
        for s, t in zip(scores, targets, strict=True):
            p = sigmoid(a * s + b)
            d = p - t
            w = max(p * (1 - p), 1e-12)
            g_a += d * s
            g_b += d
            h_aa += w * s * s
            h_ab += w * s
            h_bb += w
        h_aa += 1e-9  # keeps the 2x2 system solvable when every score is the same
        h_bb += 1e-9
        det = h_aa * h_bb - h_ab * h_ab
        if abs(det) < 1e-18:
            break
        step_a = (h_bb * g_a - h_ab * g_b) / det
        step_b = (h_aa * g_b - h_ab * g_a) / det
        a, b = a - step_a, b - step_b
        if abs(step_a) < 1e-9 and abs(step_b) < 1e-9:
            break
    return a, b


def expected_calibration_error(
    probabilities: Sequence[float], labels: Sequence[bool], bins: int = 10
) -> float:
    """Average gap between stated confidence and observed accuracy, weighted by bin size."""
    if not probabilities:
        return 0.0
    total = 0.0
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        members = [
            (p, y)
            for p, y in zip(probabilities, labels, strict=True)
            if lo <= p < hi or (k == bins - 1 and p == 1.0)
        ]
        if members:
            confidence = sum(p for p, _ in members) / len(members)
            accuracy = sum(1 for _, y in members if y) / len(members)
            total += len(members) * abs(confidence - accuracy)
    return total / len(probabilities)


def logistic(weights: Sequence[float], features: Sequence[float]) -> float:
    """sigmoid(w0 + w1 x1 + ...): `weights` hold the intercept first."""
    return sigmoid(weights[0] + sum(w * x for w, x in zip(weights[1:], features, strict=True)))


def fit_logistic(
    rows: Sequence[Sequence[float]],
    labels: Sequence[bool],
    l2: float = 1.0,
    iterations: int = 100,
) -> list[float]:
    """Weights (intercept first) of a logistic regression, by Newton steps on the penalised
    likelihood. The L2 penalty (not on the intercept) keeps a handful of features on a few
    hundred questions from fitting noise, and the fit finite when classes separate."""
    k = len(rows[0]) + 1 if rows else 1
    w = [0.0] * k
    xs = [[1.0, *row] for row in rows]
    for _ in range(iterations):
        grad = [l2 * w[j] if j else 0.0 for j in range(k)]
        hess = [[(l2 if i == j and i else 0.0) for j in range(k)] for i in range(k)]
        for x, y in zip(xs, labels, strict=True):
            p = sigmoid(sum(wj * xj for wj, xj in zip(w, x, strict=True)))
            d, s = p - (1.0 if y else 0.0), max(p * (1 - p), 1e-9)
            for i in range(k):
                grad[i] += d * x[i]
                for j in range(i, k):
                    hess[i][j] += s * x[i] * x[j]
        for i in range(k):
            hess[i][i] += 1e-9
            for j in range(i):
                hess[i][j] = hess[j][i]
        step = _solve(hess, grad)
        w = [wj - sj for wj, sj in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-8:
            break
    return w


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting, for the small systems above."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for c in range(n):
        pivot = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[pivot] = m[pivot], m[c]
        if abs(m[c][c]) < 1e-15:
            continue
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for j in range(c, n + 1):
                m[r][j] -= f * m[c][j]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) < 1e-15:
            continue
        x[r] = (m[r][n] - sum(m[r][j] * x[j] for j in range(r + 1, n))) / m[r][r]
    return x
