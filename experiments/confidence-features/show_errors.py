"""OOF errors of a configuration on the training folds (for understanding only)."""
from cvlib import BASE, cv, load

rows = load()
names = list(BASE); l2 = 0.1
s = cv(rows, names, l2)
for r, p in zip(rows, s["oof"]):
    if r["set"] == "article_curated": continue
    t = s["thr"][r["fold"]]
    ans = p >= t
    kind = None
    if not r["inscope"] and ans: kind = "OOS-ANSWERED"
    elif r["inscope"] and r["label"] and not ans: kind = "RIGHT-REFUSED"
    if kind and r["usable"]:
        f = r["feats"]; b = dict(zip(BASE, r["base"]))
        print(f"{kind:13s} {r['set'][:10]:10s} p={p:.2f} t={t:.2f} ev={b['evidence']:.2f} cov={b['coverage']:.2f} unk={b['unknown']:.2f} gap5={f['gap5']:.2f} nq={f['q_concepts']} nsh={f['n_share']:.2f} r1={f['rare1_held']:.0f} mm={f['miss_max']:.2f} sp5={f['same_para5']:.2f} | {r['q']}")
