"""Full leave-one-set-out protocol (AUC, thresholded OOF figures, objective) for a few
configurations x L2."""
from cvlib import BASE, cv, fmt, load

CONFIGS = {
    "current12": list(BASE),
    "12+gap5+qlen+para5+unk_any": list(BASE) + ["gap5", "q_concepts_n", "same_para5", "unk_any"],
    "12+rare1+para5+unk_n": list(BASE) + ["rare1_held", "same_para5", "unk_n_n"],
    "S6 ev,gap5,unk_n,qlen,para5,margin": ["evidence", "gap5", "unk_n_n", "q_concepts_n", "same_para5", "margin"],
    "S6b ev2,gap5,qlen,para5,unk_any,margin": ["evidence_sq", "gap5", "q_concepts_n", "same_para5", "unk_any", "margin"],
    "S8 S6+cue_missing+known_covered": ["evidence", "gap5", "unk_n_n", "q_concepts_n", "same_para5", "margin", "cue_missing", "known_covered"],
    "S5 ev,gap5,unknown,qlen,para5": ["evidence", "gap5", "unknown", "q_concepts_n", "same_para5"],
    "S4 ev,gap5,unk_n,qlen": ["evidence", "gap5", "unk_n_n", "q_concepts_n"],
}
if __name__ == "__main__":
    rows = load()
    for name, feats in CONFIGS.items():
        for l2 in (0.01, 0.1, 1.0, 10.0):
            print(fmt(f"{name[:30]} L2={l2}", cv(rows, feats, l2)), flush=True)
