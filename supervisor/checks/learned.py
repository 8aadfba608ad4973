"""The learned stage: calibrated heads over sentence embeddings, fitted when the curricula are compiled.

Labels (one head each):
- `response:<category>` and `user:<category>`: a sentence of the answer (or of the student's message) says what
  a rule of that category forbids. Positives are the rules' must-match examples; negatives are everything else
  the curricula hold (must-not examples, lessons, questions, refusals, other categories' examples) and the
  shipped bank of public data (`models/bank.py`).
- `stance`: the sentence declines, redirects safely, supports or cautions ("I can't help you hack an account",
  "you are not alone, talk to a teacher"). Positives: the curricula's `refusals` and every rule's own refusal
  and help messages. Such a sentence is judged by its stance, not its topic.
- `request`: the student's message asks for something harmful (the rules' `requests` examples and public
  harmful prompts, against ordinary students' questions). `user:<category>` heads say which harm: positives are
  the category's request examples (and, for rules on the student's message, their must-match examples). An
  answer that goes along with a harmful request is judged by the request (`checks/semantic.py`).

Thresholds are calibrated, not hand-set: each head is fitted again with one group of rows held out (a language
of the curricula, or one public source) and scores the rows it never saw; the thresholds are quantiles of
those held-out scores, at error rates fixed in `RATES` before any evaluation. So a threshold says how the head
does on a language or a source it did not train on, which is the situation of every real answer.

Fitting is deterministic and cached on disk by a hash of everything that went into it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models.bank import BANK_DIR, Bank
from ..models.heads import IGNORE, Heads, fit_heads, language_directions
from ..rules.model import Curriculum

STANCE = "stance"
REQUEST = "request"
# Error rates the thresholds are set for, chosen a priori (never fitted to an evaluation set):
#   fire:  a head alone may decide when at most 0.2% of held-out negative sentences reach it;
#   mid:   after a harmful request, an answer sentence needs only this (2% of negatives reach it);
#   gate:  a nearest-example match is confirmed when the head gives at least the score that 90% of held-out
#          positives reach (below it the match is topic without substance);
#   stance: a sentence counts as declining when at most 5% of harmful examples score that high (a harmful
#          sentence misread as declining is still caught when its own head reaches `fire`).
RATES = {"fire": 0.002, "mid": 0.02, "gate_recall": 0.90, "stance": 0.05, "request": 0.05}
# principal directions of all training sentences removed before the heads (mostly language and script)
LANGUAGE_DIRECTIONS = 8
# the heads' network and its fitting (models/heads.py): chosen on the held-out groups of the calibration below, as
# the mean recall at the `fire` rate over all labels (hidden 128: 0.45, 256: 0.49, 512: 0.52, 1024: 0.55; 8, 15
# or 30 epochs within 0.02 of each other at 256). 1024 costs about 60 s of fitting per compile on two cores.
FIT = {"hidden": 1024, "epochs": 15, "batch": 512, "l2": 1e-4, "learning_rate": 0.002}
VERSION = 4  # bump whenever fitting or calibration changes: it is part of the cache key


def label_of(target: str, category: str) -> str:
    return f"{target}:{category}"


@dataclass(frozen=True)
class Thresholds:
    gate: float
    mid: float
    fire: float


@dataclass(frozen=True)
class Learned:
    heads: Heads
    thresholds: Mapping[str, Thresholds]
    report: Mapping[str, dict]       # held-out figures per label, for `bench/detector_quality.py`

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        return self.heads.predict(vectors)

    def column(self, label: str) -> int | None:
        return self.heads.labels.index(label) if label in self.heads.labels else None


@dataclass
class _Rows:
    texts: list[str]
    labels: tuple[str, ...]
    targets: np.ndarray
    groups: list[str]


def curriculum_rows(curricula: Iterable[Curriculum]) -> _Rows:
    """Every distinct text of the curricula with its labels (1 positive, 0 negative)."""
    rules = {}
    for curriculum in curricula:
        for rule in curriculum.rules:
            if "semantic" in rule.kinds:
                rules.setdefault(rule.id, rule)
    found: dict[str, tuple[str, dict[str, int]]] = {}

    def add(text: str, lang: str, label: str | None = None, value: int = 0) -> None:
        _, marks = found.setdefault(text, (lang, {}))
        if label is not None:
            marks[label] = max(marks.get(label, 0), value)

    for rule in rules.values():
        label = label_of(rule.target, rule.category)
        for lang, items in rule.match_examples.items():
            for text in items:
                add(text, lang, label, 1)
                if rule.target == "response":
                    add(text, lang, STANCE, 0)  # a violating answer goes along; it does not decline
                if rule.category == "crisis_support":
                    add(text, lang, REQUEST, 0)  # a student in distress asks for help, not for harm
        for lang, items in rule.no_match_examples.items():
            for text in items:
                add(text, lang, label, 0)
                if rule.target == "user":
                    add(text, lang, REQUEST, 0)  # an ordinary student message that a user rule must let be
        for lang, items in rule.request_examples.items():
            for text in items:  # a student asking for what this rule's answer must not give
                add(text, lang, label_of("user", rule.category), 1)
                add(text, lang, REQUEST, 1)
        for lang, text in rule.messages.items():
            add(text, lang, STANCE, 1)
    for curriculum in curricula:
        # stance is known for refusals (1), lessons and violating answers (0) only: a rule's must-not examples
        # are often refusals or safe redirections themselves, and students' messages are not answers
        for table, label, value in ((curriculum.lessons, STANCE, 0), (curriculum.questions, REQUEST, 0),
                                    (curriculum.tasks, REQUEST, 0), (curriculum.refusals, STANCE, 1)):
            for lang, items in table.items():
                for text in items:
                    add(text, lang, label, value)
        for table in (curriculum.refusal, curriculum.help):
            for lang, text in table.items():
                add(text, lang, STANCE, 1)
    labels = tuple(sorted({label_of(r.target, r.category) for r in rules.values()}
                          | {label_of("user", r.category) for r in rules.values() if r.request_examples}
                          | {STANCE}))
    texts = list(found)
    targets = np.zeros((len(texts), len(labels) + 1), np.float32)  # last column: REQUEST
    targets[:, -1] = IGNORE
    targets[:, labels.index(STANCE)] = IGNORE
    for row, text in enumerate(texts):
        for label, value in found[text][1].items():
            col = len(labels) if label == REQUEST else labels.index(label)
            targets[row, col] = value
    return _Rows(texts, (*labels, REQUEST), targets, [_language_group(found[t][0]) for t in texts])


# Calibration holds out a quarter of the curricula's languages at a time (each group mixes scripts, so no script
# disappears from training altogether) and each public source as a whole. A source that alone holds a label's
# positives (MultiJail: the only harmful requests) is held out with its languages' group instead, or the head
# would be scored by a fit that never saw a positive.
LANGUAGE_GROUPS = (("ja", "th", "km", "ms"), ("vi", "id", "lo", "ta"), ("tl", "my", "zh", "en"))
SOLE_SOURCES = ("multijail",)


def _language_group(lang: str) -> str:
    for number, group in enumerate(LANGUAGE_GROUPS):
        if lang in group:
            return f"lang:{number}"
    return f"lang:{lang}"


def _bank_group(source: str, lang: str) -> str:
    return _language_group(lang) if source in SOLE_SOURCES else f"src:{source}"


def build_learned(curricula: Iterable[Curriculum], embed: Callable, bank: Bank | None,
                  cache_dir: Path | None = None, fit: Mapping | None = None) -> Learned:
    """The heads fitted on the curricula's rows and `bank`, with calibrated thresholds; read from the cache when
    these exact inputs were fitted before. `fit`: the network's settings (models/heads.fit_heads), FIT unless a
    benchmark asks for another, e.g. another seed (bench/seed_noise.py); part of the cache key."""
    fit = dict(FIT if fit is None else fit)
    curricula = list(curricula)
    rows = curriculum_rows(curricula)
    vectors = embed(rows.texts) if rows.texts else np.zeros((0, 1), np.float32)
    labels, targets, groups = rows.labels, rows.targets, list(rows.groups)
    if bank is not None and bank.size and vectors.shape[1] == bank.vectors.shape[1]:
        extra = np.full((bank.size, len(labels)), IGNORE, np.float32)
        for col, label in enumerate(bank.labels):
            if label in labels:
                extra[:, labels.index(label)] = bank.targets[:, col]
        vectors = np.concatenate([vectors, bank.vectors])
        targets = np.concatenate([targets, extra])
        groups += [_bank_group(g, lang) for g, lang in zip(bank.groups.tolist(), bank.langs.tolist(), strict=True)]
    if not (targets == 1).any(axis=0)[labels.index(REQUEST)]:
        labels, targets = labels[:-1], targets[:, :-1]  # no harmful requests to learn from: no request head
    key = _cache_key(rows.texts, targets, bank, fit)
    cached = _load_cached(cache_dir, key)
    if cached is not None:
        return cached
    removed = language_directions(vectors, LANGUAGE_DIRECTIONS) if LANGUAGE_DIRECTIONS else None
    heads = fit_heads(vectors, targets, labels, removed=removed, **fit)
    held_out = _held_out_scores(vectors, targets, labels, np.asarray(groups), fit, removed)
    thresholds, report = _calibrate(held_out, targets, labels, np.asarray(groups))
    learned = Learned(heads, thresholds, report)
    _save_cached(cache_dir, key, learned)
    return learned


def _held_out_scores(vectors, targets, labels, groups: np.ndarray, fit: Mapping, removed=None) -> np.ndarray:
    """Each row scored by heads fitted without its group (its language, or its public source)."""
    out = np.full(targets.shape, np.nan, np.float32)
    for group in sorted(set(groups.tolist())):
        held = groups == group
        if held.all():
            continue
        heads = fit_heads(vectors[~held], targets[~held], labels, removed=removed, **fit)
        out[held] = heads.predict(vectors[held])
    return out


def _quantile(values: np.ndarray, q: float, default: float) -> float:
    values = values[~np.isnan(values)]
    return float(np.quantile(values, q)) if len(values) else default


def _calibrate(scores, targets, labels, groups) -> tuple[dict[str, Thresholds], dict[str, dict]]:
    thresholds, report = {}, {}
    # stance is calibrated against harmful answers (not requests: a student's request is not an answer)
    harmful = ((targets[:, :len(labels)] == 1) & np.array([lab.startswith("response:") for lab in labels])).any(1)
    for col, label in enumerate(labels):
        pos = scores[targets[:, col] == 1, col]
        if label == STANCE:
            neg = scores[harmful, col]
            fire = _quantile(neg, 1 - RATES["stance"], 0.9)
            thresholds[label] = Thresholds(gate=fire, mid=fire, fire=fire)
        else:
            neg = scores[targets[:, col] == 0, col]
            rate = RATES["request"] if label == REQUEST else RATES["fire"]
            fire = max(_quantile(neg, 1 - rate, 0.99), 0.5)
            # a head that gives less than even odds is no evidence for harm, however rare such scores are
            mid = min(max(_quantile(neg, 1 - RATES["mid"], 0.9), 0.5), fire)
            gate = min(_quantile(pos, 1 - RATES["gate_recall"], 0.5), mid)
            thresholds[label] = Thresholds(gate=gate, mid=mid, fire=fire)
        t = thresholds[label]
        report[label] = {
            "positives": int(np.sum(~np.isnan(pos))), "negatives": int(np.sum(~np.isnan(neg))),
            "gate": round(t.gate, 4), "mid": round(t.mid, 4), "fire": round(t.fire, 4),
            "held_out_recall_at_fire": _share(pos, t.fire), "held_out_fpr_at_fire": _share(neg, t.fire),
            "held_out_recall_at_gate": _share(pos, t.gate), "held_out_fpr_at_gate": _share(neg, t.gate),
        }
    return thresholds, report


def _share(values: np.ndarray, threshold: float) -> float | None:
    values = values[~np.isnan(values)]
    return round(float((values >= threshold).mean()), 4) if len(values) else None


def _cache_key(texts: list[str], targets: np.ndarray, bank: Bank | None, fit: Mapping) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([VERSION, RATES, fit, LANGUAGE_DIRECTIONS, bank.digest if bank else None]).encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    digest.update(np.ascontiguousarray(targets).tobytes())
    return digest.hexdigest()[:20]


def _load_cached(cache_dir: Path | None, key: str) -> Learned | None:
    """The heads fitted on exactly these inputs: from the deployment's cache, or shipped with the package for
    the shipped curricula (training/fit_heads.py), so that a first start does not wait for the fitting."""
    for folder in (cache_dir, BANK_DIR):
        if folder is not None and (Path(folder) / f"heads-{key}.npz").is_file():
            return _read_cached(Path(folder) / f"heads-{key}.npz")
    return None


def _read_cached(path: Path) -> Learned | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            heads = Heads(tuple(meta["labels"]), data["mean"], data["scale"], data["hidden_weights"],
                          data["hidden_bias"], data["weights"], data["bias"], data["removed"])
    except (OSError, ValueError, KeyError):
        return None
    thresholds = {k: Thresholds(**v) for k, v in meta["thresholds"].items()}
    return Learned(heads, thresholds, meta["report"])


def _save_cached(cache_dir: Path | None, key: str, learned: Learned) -> None:
    if cache_dir is None:
        return
    meta = {"labels": list(learned.heads.labels), "report": learned.report,
            "thresholds": {k: vars(v) for k, v in learned.thresholds.items()}}
    try:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tmp = Path(cache_dir) / f"heads-{key}.tmp.npz"
        np.savez(tmp, meta=np.array(json.dumps(meta)), mean=learned.heads.mean, scale=learned.heads.scale,
                 hidden_weights=learned.heads.hidden_weights, hidden_bias=learned.heads.hidden_bias,
                 weights=learned.heads.weights, bias=learned.heads.bias,
                 removed=learned.heads.removed if learned.heads.removed is not None else np.zeros((0, 1)))
        tmp.replace(Path(cache_dir) / f"heads-{key}.npz")
    except OSError:
        pass  # a read-only cache only costs the next start the fitting time
