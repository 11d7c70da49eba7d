"""Reference: the lexical engine's own per-question time (engine.ask), median over the tune docs + article questions.
Run: PYTHONPATH=/work/main /tmp/dense/venv/bin/python /tmp/dense/engine_latency.py"""
import dataclasses, statistics, tempfile, time, tomllib
from pathlib import Path
from bot.evaluate import build_engine, load_cases
from bot.ingest import seed_files
from bot.search import Settings
M = Path(__file__).resolve().parents[2]; D = M / "tests/data/docs"
st = dataclasses.replace(Settings(), threshold=0.0)
sets = [(seed_files(M / "seeds"), load_cases(M / "tests/data/questions.jsonl"))]
sets += [(seed_files(D / d), load_cases(D / d / "questions.jsonl")) for d in tomllib.loads((D / "split.toml").read_text())["tune"]]
lat = []
for seeds, cases in sets:
    eng = build_engine(seeds, Path(tempfile.mkdtemp()), st, uncurated=True)
    for c in cases[:5]: eng.ask(c.q)
    for c in cases:
        t = time.perf_counter(); eng.ask(c.q); lat.append(time.perf_counter() - t)
lat.sort()
print(f"engine.ask median {statistics.median(lat)*1e3:.2f} ms  p90 {lat[int(.9*len(lat))]*1e3:.2f} ms  n={len(lat)}")
