"""The vectors shipped for the shipped curricula (supervisor/models/shipped_vectors.py): a first start looks the
shipped sentences up instead of embedding them. They must cover what a start embeds, be the default engine's
own vectors for exactly those texts, and never stand in for a text they were not made from."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PROJECT_ROOT
from supervisor.checks.learned import curriculum_rows
from supervisor.models.embedder import CachedEmbedder, HashingEmbedder, OnnxE5Embedder
from supervisor.models.onnx_engine import NAMES
from supervisor.models.shipped_vectors import load_shipped_vectors, save_shipped_vectors, shipped_vectors_path
from supervisor.rules.rulebook import compile_rulebook

ENGINE = NAMES["four_bit"]  # the default engine; the only one vectors are shipped for
REBUILD = ".venv/bin/python training/embed_shipped_curricula.py"


@pytest.fixture(scope="module")
def shipped():
    loaded = load_shipped_vectors(ENGINE)
    assert loaded is not None, f"no {shipped_vectors_path(ENGINE).name}: run {REBUILD}"
    return loaded


def sentences_a_start_embeds() -> set[str]:
    """What compiling the shipped curricula embeds: every index's texts and the heads' training rows."""
    seen: set[str] = set()
    hashing = HashingEmbedder()

    def recording(texts: list[str]) -> np.ndarray:
        seen.update(texts)
        return hashing.embed(texts)

    rulebook = compile_rulebook(PROJECT_ROOT / "curricula", recording, learn=False)
    seen.update(curriculum_rows([c.curriculum for c in rulebook.compiled.values()]).texts)
    return seen


def test_the_shipped_vectors_cover_the_shipped_curricula(shipped):
    rows, _ = shipped
    needed = sentences_a_start_embeds()
    missing = needed - rows.keys()
    # a few edited sentences only cost a first start a few seconds; many mean the file is out of date
    assert len(missing) <= 0.02 * len(needed), (
        f"{len(missing)} of {len(needed)} sentences the shipped curricula compile are not in the shipped vectors "
        f"(e.g. {sorted(missing)[:3]}): a first start embeds them (about 4 ms each); run {REBUILD}")


def test_the_shipped_vectors_are_the_engines_own(shipped, cache_dir):
    rows, vectors = shipped
    texts = sorted(rows)[::max(1, len(rows) // 120)]  # every script: the texts sort by their first letter
    fresh = OnnxE5Embedder(cache_dir).embed(texts)
    cosines = np.sum(fresh * vectors[[rows[t] for t in texts]], axis=1)
    # float16 storage moves a cosine by about 1e-6; another CPU's rounding by about 1e-5
    assert cosines.min() >= 0.9995, texts[int(cosines.argmin())]


class Counting:
    """A backend that records what it is asked to embed."""

    name = space = "counting"
    dim = 8

    def __init__(self):
        self.asked: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        return HashingEmbedder(self.dim).embed(texts)


def test_a_start_embeds_only_what_is_not_shipped_and_never_a_near_text(tmp_path):
    known = ["Plants make food from light.", "ภาษาไทย", "日本語の文"]
    made = np.random.default_rng(0).normal(size=(len(known), Counting.dim)).astype(np.float32)
    made /= np.linalg.norm(made, axis=1, keepdims=True)
    save_shipped_vectors(shipped_vectors_path("counting", tmp_path), known, made)
    backend = Counting()
    embedder = CachedEmbedder(backend)
    assert embedder.use_shipped(tmp_path) == 3
    out = embedder.embed(["日本語の文", "Plants make food from light. ", "Plants make food from light."])
    assert backend.asked == ["Plants make food from light. "]  # one space more is another text
    assert np.allclose(out[0], made[2], atol=1e-3) and np.allclose(out[2], made[0], atol=1e-3)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    embedder.save(tmp_path)  # the cache file holds what was embedded, not the shipped rows
    again = CachedEmbedder(Counting())
    assert again.load(tmp_path) == 1
    embedder.forget()  # what the speed benchmarks do: curriculum sentences become new text again
    embedder.embed(["日本語の文", "Plants make food from light. "])
    assert backend.asked == ["Plants make food from light. ", "日本語の文", "Plants make food from light. "]


def test_another_engine_finds_no_shipped_vectors(tmp_path):
    save_shipped_vectors(shipped_vectors_path("counting", tmp_path), ["a"], np.ones((1, Counting.dim)))
    assert CachedEmbedder(HashingEmbedder()).use_shipped(tmp_path) == 0
