"""Training sets only: baseline misses whose right sentence is in the top 5 (for feature ideas)."""
from ltrlib import TRAIN_SETS, candidates, engine_and_cases, is_right, normalise, question_text

for name in TRAIN_SETS:
    eng, cases = engine_and_cases(name)
    for c in cases:
        if not c.gold: continue
        golds = [normalise(x) for x in c.gold]
        cand = candidates(eng, question_text(c.q))
        if not cand or not cand[5]: continue
        d, ranked = cand[4], cand[5]
        y = [is_right(eng, s, golds) for s in ranked]
        if y[0] or not any(y[:5]): continue
        r = y.index(True)
        print(f"[{name}] {c.id} {c.kind}: {c.q}")
        for i in range(r + 1):
            s = eng.sentences[ranked[i]]
            print(f"   {i+1}{'*' if y[i] else ' '} {d[ranked[i]]:.3f} p{s.paragraph}.{s.sentence} {s.text[:150]}")
