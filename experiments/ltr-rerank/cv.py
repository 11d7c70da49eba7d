"""Leave-one-set-out CV over the 5 training sets (4 tune docs + the article set).
Run with a venv that has numpy (fast) or the project's venv (pure Python, slow).
Reads $EXPERIMENT_WORK/train.pkl (collect.py). Usage: cv.py [feature set names, comma-separated]"""
import pickle
import sys

from ltrlib import WORK
from model import fit, top1

with open(WORK / "train.pkl", "rb") as fh:
    D = pickle.load(fh)
F, data = D["features"], D["data"]
SETS = ["openssh-debian-news", "gzip-man1", "apache-license-2", "xz-utils-history", "ARTICLE"]
idx = {f: i for i, f in enumerate(F)}
FS = {
    "score_only": ["rel_score", "gap", "inv_rank", "is_top"],
    "all": F,
    "all_no_text": [f for f in F if f != "refers_back"],
    "no_rank": [f for f in F if f not in ("is_top", "inv_rank")],
    "compact": ["rel_score", "gap", "cov_exact", "cov_syn", "cov_ctx", "rarest_own", "phrase", "lead",
                "label", "lacks_cue", "novel_share", "says_more", "first_in_para", "prev_rel",
                "next_rel", "why_ctx", "why_prev_rel"],
}
L2S = [0.3, 1, 3, 10, 30, 100]


def cv(cols, l2, mode, detail=False):
    per = {}
    tot_b = tot_r = wins = losses = n = 0
    for s in SETS:
        tr = [r for r in data if r["set"] != s]
        te = [r for r in data if r["set"] == s]
        m = fit(tr, cols, l2, mode)
        b = rr = 0
        for r in te:
            bb, rk = top1(m, cols, r)
            b += bb; rr += rk; wins += (rk and not bb); losses += (bb and not rk)
        per[s] = (len(te), b, rr)
        tot_b += b; tot_r += rr; n += len(te)
    return per, tot_b, tot_r, n, wins, losses


if __name__ == "__main__":
    fsets = sys.argv[1].split(",") if len(sys.argv) > 1 else list(FS)
    for name in fsets:
        cols = [idx[f] for f in FS[name]]
        for mode in ("point", "pair", "pair5"):
            for l2 in L2S:
                per, b, r, n, w, l = cv(cols, l2, mode)
                folds = " ".join(f"{per[s][2]/per[s][0]:.3f}" for s in SETS)
                print(f"{name:12s} {mode:5s} l2={l2:<5} base={b/n:.3f} rerank={r/n:.3f} "
                      f"W/L={w}/{l}  folds[{folds}]", flush=True)
