"""Embed every sentence a start compiles from the shipped curricula, with the default engine, and ship the vectors
with the package (supervisor/models/shipped_vectors.py), so that a first start of `supervisor serve` looks them up
instead of embedding about 16,000 sentences.

    .venv/bin/python training/embed_shipped_curricula.py

Run it after changing the shipped curricula (tests/test_shipped_vectors.py says when too many sentences are
missing). A sentence that is not in the file is embedded at start as before, so an out-of-date file only costs
start-up time, never a wrong vector.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402

from supervisor.models.embedder import build_embedder  # noqa: E402
from supervisor.models.shipped_vectors import save_shipped_vectors, shipped_vectors_path  # noqa: E402
from supervisor.rules.rulebook import compile_rulebook  # noqa: E402
from supervisor.services import rulebook_options  # noqa: E402
from supervisor.settings import Settings, load_settings  # noqa: E402


def embedded_at_start(settings: Settings) -> tuple[str, list[str], np.ndarray]:
    """Every sentence compiling the curricula embeds, with its vector: what a start with an empty cache does, on
    an embedder with no cache file and no shipped vectors. Returns (engine name, texts, vectors)."""
    embedder = build_embedder(settings.embedder_backend, settings.embedder_model, settings.embedder_threads,
                              settings.cache_dir)
    seen: dict[str, np.ndarray] = {}

    def recording(texts: list[str]) -> np.ndarray:
        vectors = embedder.embed(texts)
        seen.update(zip(texts, vectors, strict=True))
        return vectors

    compile_rulebook(settings.curricula_dir, recording, **rulebook_options(settings, embedder))
    texts = list(seen)
    return embedder.name, texts, np.stack([seen[t] for t in texts])


def main() -> None:
    started = time.monotonic()
    name, texts, vectors = embedded_at_start(load_settings().with_overrides(embedder_backend="onnxruntime"))
    path = shipped_vectors_path(name)
    for old in path.parent.glob("vectors-*.npz"):
        old.unlink()
    save_shipped_vectors(path, texts, vectors)
    print(f"wrote {path.relative_to(ROOT)}: {len(texts)} sentences embedded by {name} in "
          f"{time.monotonic() - started:.0f} s ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
