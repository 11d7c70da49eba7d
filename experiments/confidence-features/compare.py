"""Per-fold OOF AUC and a paired bootstrap (by question) of the AUC difference vs current12."""
import numpy as np
from configs import CONFIGS
from cvlib import FOLDS, auc, cv, load

rows = load()
y = np.array([r["label"] for r in rows]); fold = np.array([r["fold"] for r in rows])
sets = np.array([r["set"] for r in rows])
PICK = [("current12", 0.1), ("12+gap5+qlen+para5+unk_any", 1.0), ("12+rare1+para5+unk_n", 0.01),
        ("12+rare1+para5+unk_n", 0.1), ("S6b ev2,gap5,qlen,para5,unk_any,margin", 0.1),
        ("S5 ev,gap5,unknown,qlen,para5", 0.01), ("S4 ev,gap5,unk_n,qlen", 0.01)]
oofs = {}
for name, l2 in PICK:
    oofs[(name, l2)] = cv(rows, CONFIGS[name], l2)["oof"]
groups = ["article_curated", "article_uncurated"] + FOLDS[1:]
print("per-set OOF AUC:", "  ".join(g[:12] for g in groups))
for k, o in oofs.items():
    print(f"{k[0][:30]:30s} {k[1]:5}", "  ".join(f"{auc(o[sets==g], y[sets==g]):.3f}       " for g in groups))
rng = np.random.default_rng(0)
base = oofs[PICK[0]]
docs = fold != "article"
B = 1000
idx_all = [rng.integers(0, len(rows), len(rows)) for _ in range(B)]
for k, o in list(oofs.items())[1:]:
    for label, m in (("all", np.ones(len(rows), bool)), ("docs", docs)):
        ii = np.where(m)[0]
        d = []
        for b in range(300):
            s = rng.choice(ii, len(ii))
            d.append(auc(o[s], y[s]) - auc(base[s], y[s]))
        d = np.array(d)
        print(f"{k[0][:30]:30s} {k[1]:5} {label:4s} dAUC {auc(o[m], y[m]) - auc(base[m], y[m]):+.3f}  95% [{np.percentile(d, 2.5):+.3f}, {np.percentile(d, 97.5):+.3f}]")
