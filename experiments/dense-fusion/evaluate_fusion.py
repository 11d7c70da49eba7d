"""Step 3: top-1 (threshold 0, answerable questions) of the lexical engine, dense alone and
fusions, tuned on the `tune` documents + the bundled article; AUC of best cosine for
right-vs-oos. With --final: the held-out documents, pooled, for the variants fixed in
/tmp/dense/cache/chosen.json (nothing per question is printed for them).

Run: /tmp/dense/venv/bin/python /tmp/dense/evaluate_fusion.py          (tuning; writes chosen.json)
     /tmp/dense/venv/bin/python /tmp/dense/evaluate_fusion.py --final  (held-out, pooled)
"""
from __future__ import annotations

import os

import json
import math
import pickle
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("DENSE_WORK", "/tmp/dense")) / "cache"
MODELS = ("minilm", "m2v256", "m2v64")
K_DENSE = 20  # dense top-K added to the lexical candidates
LAMBDAS = [0.0, 0.02, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0]
ALPHAS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
RRF_W = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5]
RRF_K = 60


class Q:
    """One question of one set with its lexical scores and one model's cosines."""

    def __init__(self, s: dict, i: int, cos: dict[str, np.ndarray]) -> None:
        q = s["questions"][i]
        self.set, self.id, self.kind = s["name"], q["id"], q["kind"]
        self.answerable = bool(q["gold"])
        self.gold = q["gold_sids"]
        self.lex = q["lex"]
        self.engine_top1 = q["engine_top1"]
        self.engine_conf = q["engine_conf"]
        self.sids = s["sids"]
        self.cos = {m: c[i] for m, c in cos.items()}  # row over self.sids
        self._dense_order = {}

    def dense_order(self, m: str) -> list[int]:
        if m not in self._dense_order:
            c = self.cos[m]
            idx = sorted(range(len(self.sids)), key=lambda j: (-c[j], self.sids[j]))
            self._dense_order[m] = [self.sids[j] for j in idx]
        return self._dense_order[m]

    def cos_of(self, m: str) -> dict[int, float]:
        return dict(zip(self.sids, self.cos[m].tolist()))

    # ------------------------------------------------------------ rankers -> top-1 sid
    def top_baseline(self):
        return min(self.lex, key=lambda s: (-self.lex[s], s)) if self.lex else None

    def top_dense(self, m):
        return self.dense_order(m)[0]

    def _cands(self, m, k=K_DENSE):
        return set(self.lex) | set(self.dense_order(m)[:k])

    def top_linear(self, m, lam, k=K_DENSE):
        c = self.cos_of(m)
        sc = {s: self.lex.get(s, 0.0) + lam * c[s] for s in self._cands(m, k)}
        return min(sc, key=lambda s: (-sc[s], s)) if sc else None

    def top_minmax(self, m, alpha, k=K_DENSE):
        c = self.cos_of(m)
        cands = self._cands(m, k)
        lx = {s: self.lex.get(s, 0.0) for s in cands}
        lo, hi = min(lx.values()), max(lx.values())
        clo, chi = min(c[s] for s in cands), max(c[s] for s in cands)
        sc = {s: (1 - alpha) * ((lx[s] - lo) / (hi - lo) if hi > lo else 0.0)
              + alpha * ((c[s] - clo) / (chi - clo) if chi > clo else 0.0) for s in cands}
        return min(sc, key=lambda s: (-sc[s], s))

    def top_rrf(self, m, w, k=K_DENSE):
        lex_rank = {s: r for r, s in enumerate(sorted(self.lex, key=lambda s: (-self.lex[s], s)), 1)}
        den_rank = {s: r for r, s in enumerate(self.dense_order(m), 1)}
        sc = {s: (1 / (RRF_K + lex_rank[s]) if s in lex_rank else 0.0) + w / (RRF_K + den_rank[s])
              for s in self._cands(m, k)}
        return min(sc, key=lambda s: (-sc[s], s))


def load(groups: set[str]) -> dict[str, list[Q]]:
    sets = pickle.load(open(CACHE / "lexical.pkl", "rb"))
    cos = pickle.load(open(CACHE / "cos.pkl", "rb"))
    out = defaultdict(list)
    for s in sets:
        if s["group"] not in groups:
            continue
        cm = {m: cos[(m, s["name"])] for m in MODELS}
        out[s["group"]] += [Q(s, i, cm) for i in range(len(s["questions"]))]
    return out


def hits(qs: list[Q], ranker) -> list[bool]:
    return [ranker(q) in q.gold for q in qs if q.answerable]


def share(h: list[bool]) -> float:
    return sum(h) / len(h)


def sign_test(base: list[bool], new: list[bool]) -> tuple[int, int, float]:
    """Questions gained / lost against the baseline and the two-sided exact sign-test p."""
    won = sum(1 for b, n in zip(base, new) if n and not b)
    lost = sum(1 for b, n in zip(base, new) if b and not n)
    n = won + lost
    if n == 0:
        return 0, 0, 1.0
    p = sum(math.comb(n, i) for i in range(0, min(won, lost) + 1)) / 2 ** n * 2
    return won, lost, min(1.0, p)


def auc(pos: list[float], neg: list[float]) -> float:
    if not pos or not neg:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


VARIANTS = {
    "linear": (LAMBDAS, lambda m, x: (lambda q: q.top_linear(m, x))),
    "minmax": (ALPHAS, lambda m, x: (lambda q: q.top_minmax(m, x))),
    "rrf": (RRF_W, lambda m, x: (lambda q: q.top_rrf(m, x))),
}


def tune() -> None:
    data = load({"tune", "article"})
    T, A = data["tune"], data["article"]
    print(f"answerable: tune {sum(q.answerable for q in T)}  article {sum(q.answerable for q in A)}"
          f"   oos: tune {sum(not q.answerable for q in T)}  article {sum(not q.answerable for q in A)}")
    base_T, base_A = hits(T, Q.top_baseline), hits(A, Q.top_baseline)
    print(f"\n{'variant':34s}{'tune top1':>10s}{'article':>9s}{'both':>7s}  tune +won/-lost (p)   article +/- (p)")

    def row(label, hT, hA):
        w, l, p = sign_test(base_T, hT)
        w2, l2, p2 = sign_test(base_A, hA)
        print(f"{label:34s}{share(hT):>10.3f}{share(hA):>9.3f}{sum(hT) + sum(hA):>7d}"
              f"  +{w}/-{l} (p={p:.2f})".ljust(22) + f"   +{w2}/-{l2} (p={p2:.2f})")

    row("baseline (engine)", base_T, base_A)
    for m in MODELS:
        row(f"{m} alone", hits(T, lambda q: q.top_dense(m)), hits(A, lambda q: q.top_dense(m)))

    chosen = {}
    for m in MODELS:
        for vname, (grid, make) in VARIANTS.items():
            print(f"\n-- {m} {vname} (union of lexical candidates and dense top-{K_DENSE})")
            best = None
            for x in grid:
                r = make(m, x)
                hT, hA = hits(T, r), hits(A, r)
                row(f"{m} {vname} {x}", hT, hA)
                # selection: most hits over tune docs + article; ties -> smaller weight
                key = (sum(hT) + sum(hA), -x)
                if best is None or key > best[0]:
                    best = (key, x, share(hT), share(hA))
            chosen[f"{m}/{vname}"] = {"param": best[1], "tune": best[2], "article": best[3]}
            print(f"   chosen {vname} param {best[1]}: tune {best[2]:.3f} article {best[3]:.3f}")

    # sensitivity to K (dense top-K added), linear fusion at the chosen lambda
    print("\n-- K sensitivity (linear, chosen lambda)")
    for m in MODELS:
        lam = chosen[f"{m}/linear"]["param"]
        for k in (0, 5, 10, 20, 50, 10_000):
            r = lambda q, m=m, lam=lam, k=k: q.top_linear(m, lam, k)
            print(f"  {m} lam={lam} K={k}: tune {share(hits(T, r)):.3f} article {share(hits(A, r)):.3f}")

    # per kind on tune docs (+article), baseline vs chosen linear fusions
    print("\n-- per kind, tune docs + article pooled (n, baseline, minilm-linear, m2v256-linear, m2v64-linear)")
    kinds = sorted({q.kind for q in T + A if q.answerable})
    rankers = [Q.top_baseline] + [
        (lambda q, m=m: q.top_linear(m, chosen[f"{m}/linear"]["param"])) for m in MODELS]
    for kd in kinds:
        qs = [q for q in T + A if q.kind == kd]
        print(f"  {kd:11s} n={sum(q.answerable for q in qs):3d} " +
              " ".join(f"{share(hits(qs, r)):.3f}" for r in rankers))

    # 5. does the best cosine separate right answers from out-of-scope questions?
    print("\n-- AUC: score for 'top-1 right' (answerable) vs 'out of scope'")
    for label, qs in (("tune docs", T), ("article", A)):
        for m in MODELS:
            lam = chosen[f"{m}/linear"]["param"]
            fused = lambda q, m=m, lam=lam: q.top_linear(m, lam)
            for sysname, r in (("engine", Q.top_baseline), (f"{m}-linear", fused)):
                right = [q for q in qs if q.answerable and r(q) in q.gold]
                oos = [q for q in qs if not q.answerable]
                best_cos = lambda q, m=m: float(q.cos[m].max())
                top_cos = lambda q, m=m, r=r: q.cos_of(m)[r(q)] if r(q) is not None else -1.0
                print(f"  {label:9s} sys={sysname:14s} right={len(right):3d} oos={len(oos):2d}  "
                      f"AUC best-cos({m})={auc([best_cos(q) for q in right], [best_cos(q) for q in oos]):.3f}  "
                      f"cos-of-top1={auc([top_cos(q) for q in right], [top_cos(q) for q in oos]):.3f}  "
                      f"engine-confidence={auc([q.engine_conf for q in right], [q.engine_conf for q in oos]):.3f}")
    # does the cosine add to the engine's confidence? average of the two ranks (no fit)
    print("\n-- AUC of rank-average(engine confidence, best cosine), engine's top-1 right vs oos")
    for label, qs in (("tune docs", T), ("article", A)):
        for m in MODELS:
            right = [q for q in qs if q.answerable and q.engine_top1]
            oos = [q for q in qs if not q.answerable]
            pool = right + oos
            rc = _ranks([q.engine_conf for q in pool])
            rb = _ranks([float(q.cos[m].max()) for q in pool])
            comb = [(a + b) / 2 for a, b in zip(rc, rb)]
            print(f"  {label:9s} {m:7s} conf {auc(rc[:len(right)], rc[len(right):]):.3f}  "
                  f"best-cos {auc(rb[:len(right)], rb[len(right):]):.3f}  "
                  f"rank-avg {auc(comb[:len(right)], comb[len(right):]):.3f}")

    (CACHE / "chosen.json").write_text(json.dumps(chosen, indent=1))
    print("\nchosen parameters written to", CACHE / "chosen.json")


def _ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for t in range(i, j + 1):
            r[order[t]] = (i + j) / 2
        i = j + 1
    return r


def final() -> None:
    """Held-out documents, pooled; one figure per variant, parameters from chosen.json."""
    chosen = json.loads((CACHE / "chosen.json").read_text())
    H = load({"held_out"})["held_out"]
    print(f"held-out pooled, answerable questions: {sum(q.answerable for q in H)}")
    base = hits(H, Q.top_baseline)
    print(f"  baseline (engine)                    top-1 {share(base):.3f}")
    for key in sorted(chosen):
        m, v = key.split("/")
        x = chosen[key]["param"]
        h = hits(H, VARIANTS[v][1](m, x))
        w, l, p = sign_test(base, h)
        print(f"  {m:7s} {v:7s} param={x:<6} top-1 {share(h):.3f}   vs baseline +{w}/-{l} (p={p:.2f})")


if __name__ == "__main__":
    final() if "--final" in sys.argv else tune()
