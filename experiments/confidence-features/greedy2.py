"""From a small core, add features one at a time (pool excludes set-level proxies such as
doc_size_log), scoring by mean of OOF AUC (all) and (docs); print full figures each step."""
import numpy as np
from cvlib import candidates, cv, cv_auc, fmt, load, matrix

rows = load()
pool = [n for n in dict.fromkeys(candidates(rows)) if not n.startswith("doc_size")]
cols = {n: matrix(rows, [n])[:, 0] for n in pool}
X_of = lambda sel: np.column_stack([cols[n] for n in sel])
for l2 in (0.03, 0.3):
    sel = ["evidence", "gap5", "unk_n_n", "q_concepts_n"]
    a = cv_auc(rows, sel, l2, X=X_of(sel)); best = (a[0] + a[1]) / 2
    print(fmt(f"L2 {l2} core", cv(rows, sel, l2)))
    for step in range(6):
        tr = []
        for n in pool:
            if n in sel: continue
            a = cv_auc(rows, sel + [n], l2, X=X_of(sel + [n]))
            tr.append(((a[0] + a[1]) / 2, n))
        tr.sort(reverse=True)
        if tr[0][0] <= best + 0.002: print("  stop", tr[:3]); break
        best = tr[0][0]; sel.append(tr[0][1])
        print(fmt(f"  +{tr[0][1]}", cv(rows, sel, l2)), "| next:", ", ".join(f"{n} {v:.3f}" for v, n in tr[1:4]))
