"""More configurations x L2 (full leave-one-set-out protocol, as configs.py), and an ablation
of the current 12 at L2 0.1."""
from cvlib import BASE, cv, fmt, load

rows = load()
C = {
 "core+faq2": ["evidence", "gap5", "unk_n_n", "q_concepts_n", "same_para5", "faq", "faq_short"],
 "core+faq2+rare1": ["evidence", "gap5", "unk_n_n", "q_concepts_n", "same_para5", "faq", "faq_short", "rare1_held"],
 "core+faq2+margin+cue": ["evidence", "gap5", "unk_n_n", "q_concepts_n", "same_para5", "faq", "faq_short", "margin", "cue_missing"],
 "12+gap5+qlen+para5+unk_n": list(BASE) + ["gap5", "q_concepts_n", "same_para5", "unk_n_n"],
 "12+rare1+para5+unk_n+qlen": list(BASE) + ["rare1_held", "same_para5", "unk_n_n", "q_concepts_n"],
 "12+para5+unk_n": list(BASE) + ["same_para5", "unk_n_n"],
 "12+rare1+unk_n": list(BASE) + ["rare1_held", "unk_n_n"],
 "12+rare1+para5": list(BASE) + ["rare1_held", "same_para5"],
 "12+rare1": list(BASE) + ["rare1_held"],
 "12+para5": list(BASE) + ["same_para5"],
 "12+unk_n": list(BASE) + ["unk_n_n"],
}
for name, f in C.items():
    for l2 in (0.01, 0.1, 1.0):
        print(fmt(f"{name[:30]} L2={l2}", cv(rows, f, l2)), flush=True)
print("-- ablation of the current 12 (L2 0.1)")
for d in BASE:
    print(fmt(f"12 - {d}", cv(rows, [x for x in BASE if x != d], 0.1)))
