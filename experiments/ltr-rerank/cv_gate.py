"""Variant: the reranker may only reorder the candidates within `delta` (absolute score) of the
engine's best; trained on those windows only. Leave-one-set-out CV, plus in-sample top-1."""
from cv import FS, SETS, data, idx
from model import fit, top1

gi = idx["gap"]


def window(r, delta):
    if not r["X"]:
        return r
    keep = [i for i, row in enumerate(r["X"]) if row[gi] <= delta]
    return {**r, "X": [r["X"][i] for i in keep], "y": [r["y"][i] for i in keep]}


def run(cols, l2, mode, delta, insample=False):
    b = rr = w = l = n = 0
    per = []
    for s in SETS:
        tr = [window(r, delta) for r in data if (r["set"] != s or insample)]
        tr = [r for r in tr if len(r["X"]) > 1]
        te = [window(r, delta) for r in data if r["set"] == s]
        m = fit(tr, cols, l2, mode)
        fb = fr = 0
        for r in te:
            bb, rk = top1(m, cols, r)
            fb += bb; fr += rk; w += (rk and not bb); l += (bb and not rk)
        per.append(fr / len(te)); b += fb; rr += fr; n += len(te)
    return b / n, rr / n, w, l, per


if __name__ == "__main__":
    for name in ["all_no_text", "compact"]:
        cols = [idx[f] for f in FS[name]]
        for mode in ("point", "pair"):
            for delta in (0.02, 0.05, 0.1, 9):
                for l2 in (1, 10, 100):
                    b, r, w, l, per = run(cols, l2, mode, delta)
                    _, ri, wi, li, _ = run(cols, l2, mode, delta, insample=True)
                    print(f"{name:11s} {mode:5s} delta={delta:<4} l2={l2:<4} base={b:.3f} cv={r:.3f} W/L={w}/{l} "
                          f"folds[{' '.join(f'{x:.3f}' for x in per)}]  in-sample={ri:.3f} W/L={wi}/{li}", flush=True)
