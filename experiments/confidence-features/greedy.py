"""Greedy forward selection by out-of-fold AUC (leave-one-set-out), per L2; and ablation of the
current 12. Usage: greedy.py [start=empty|base] [criterion=all|docs]"""
import sys

import numpy as np
from cvlib import BASE, candidates, cv_auc, load, matrix

rows = load()
start = sys.argv[1] if len(sys.argv) > 1 else "empty"
crit = 0 if (len(sys.argv) < 3 or sys.argv[2] == "all") else 1
names = [n for n in dict.fromkeys(candidates(rows))]
cols = {n: matrix(rows, [n])[:, 0] for n in names}
def X_of(sel): return np.column_stack([cols[n] for n in sel]) if sel else np.zeros((len(rows), 0))
for l2 in (0.01, 0.1, 1.0, 10.0):
    sel = list(BASE) if start == "base" else []
    best = cv_auc(rows, sel, l2, X=X_of(sel)) if sel else (0.5, 0.5)
    print(f"== L2 {l2}  start {start}: {best[0]:.3f} / docs {best[1]:.3f}")
    for step in range(10):
        trials = []
        for n in names:
            if n in sel: continue
            a = cv_auc(rows, sel + [n], l2, X=X_of(sel + [n]))
            trials.append((a[crit], a, n))
        trials.sort(reverse=True)
        sc, a, n = trials[0]
        if sc <= best[crit] + 0.001:
            print("   stop; best next:", n, f"{a[0]:.3f}/{a[1]:.3f}")
            break
        sel.append(n); best = a
        print(f"  +{n:22s} AUC {a[0]:.3f} docs {a[1]:.3f}   (runners: {', '.join(f'{t[2]} {t[0]:.3f}' for t in trials[1:4])})")
