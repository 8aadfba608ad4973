"""Convert labelled public safety data sets into one JSONL format for training the learned detector.

Each source below names a public GitHub repository, the commit we pinned (the real commit found in the
local mirror), the path(s) read, the licence (checked against the LICENSE file at that commit) and a
converter. The mirrors are bare git directories made by the session's ``fetch`` tool, laid out as
``<mirrors>/<owner>+<name>/repo``; files are read with ``git show COMMIT:PATH``. Files absent from a mirror
(LFS pointers, files over the mirror's size limit) are skipped with a message, never downloaded.

Output: ``training/data/<source>.jsonl`` (gitignored), one object per line::

    {"text": str, "lang": "en"|"zh"|"ja"|"th"|"id"|"vi"|"jv"|..., "kind": "response"|"prompt"|"text",
     "context": str|null, "harmful": bool, "category": str|null, "source": str}

``category`` is one of CATEGORIES or null (safe, or harm type unknown). Per source: texts trimmed to
MAX_CHARS, empty texts dropped, duplicate texts dropped (a text seen with both labels is dropped
altogether), then at most CAP rows sampled with a fixed seed, half harmful and half safe where possible.

Never used here (independent yardsticks): SEA-HELM and its toxicity sets, Aegis, WildGuardMix/Test,
JailbreakBench, XSTest, PolyGuardMix, and /work/shared/eval/dev.jsonl. See training/SOURCES.md.

Run (from the repository root)::

    .venv/bin/python training/fetch_sources.py --mirrors /work/.mirror
    .venv/bin/python training/fetch_sources.py --mirrors /work/.mirror --only diasafety rtp_lx
    .venv/bin/python training/fetch_sources.py --summary      # table from existing training/data/*.jsonl

Standard library only (the IndoSafety .xlsx files are read with zipfile + ElementTree).
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import io
import json
import random
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

DATA_DIR = Path(__file__).resolve().parent / "data"
CAP = 4000
MAX_CHARS = 2000
SEED = 20240917

CATEGORIES = (
    "self_harm",
    "violence_weapons",
    "sexual_content",
    "drugs_alcohol",
    "gambling",
    "hate_harassment",
    "dangerous_activity",
    "personal_data",
    "extremism",
    "crime_fraud",
    "misinformation",
)

Row = dict[str, object]


class SourceUnavailable(Exception):
    """A file or commit that a converter needs is not in the local mirror."""


# --------------------------------------------------------------------------------------------------------
# Reading from bare mirrors
# --------------------------------------------------------------------------------------------------------


@dataclass
class Mirror:
    """A bare git mirror at a pinned commit."""

    git_dir: Path
    commit: str

    def read(self, path: str) -> bytes:
        proc = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "show", f"{self.commit}:{path}"],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SourceUnavailable(f"{path} @ {self.commit[:7]}: {msg[-1] if msg else 'not readable'}")
        return proc.stdout

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8-sig")

    def ls(self, prefix: str) -> list[str]:
        proc = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "ls-tree", "-r", "--name-only", self.commit, prefix],
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout.split() if proc.returncode == 0 else []


def read_xlsx(data: bytes) -> list[dict[str, str]]:
    """First worksheet of an .xlsx file as a list of {header: cell text} dicts (stdlib only)."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    zf = zipfile.ZipFile(io.BytesIO(data))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in zf.namelist():
        for si in ElementTree.fromstring(zf.read("xl/sharedStrings.xml")).iter(f"{ns}si"):
            shared.append("".join(t.text or "" for t in si.iter(f"{ns}t")))
    sheet = ElementTree.fromstring(zf.read("xl/worksheets/sheet1.xml"))

    def col_index(ref: str) -> int:
        n = 0
        for ch in re.match(r"[A-Z]+", ref).group():  # type: ignore[union-attr]
            n = n * 26 + ord(ch) - 64
        return n - 1

    table: list[dict[int, str]] = []
    for row in sheet.iter(f"{ns}row"):
        cells: dict[int, str] = {}
        for cell in row.findall(f"{ns}c"):
            kind, value = cell.get("t"), cell.find(f"{ns}v")
            if kind == "s" and value is not None:
                cells[col_index(cell.get("r", "A"))] = shared[int(value.text or 0)]
            elif kind == "inlineStr":
                cells[col_index(cell.get("r", "A"))] = "".join(t.text or "" for t in cell.iter(f"{ns}t"))
            elif value is not None:
                cells[col_index(cell.get("r", "A"))] = value.text or ""
        table.append(cells)
    if not table:
        return []
    header = {i: h.strip() for i, h in table[0].items() if h and h.strip()}
    return [{name: cells.get(i, "") for i, name in header.items()} for cells in table[1:]]


def row(
    text: str, lang: str, kind: str, harmful: bool, category: str | None, context: str | None = None
) -> Row:
    return {
        "text": text,
        "lang": lang,
        "kind": kind,
        "context": context,
        "harmful": harmful,
        "category": category if harmful else None,
        "source": "",
    }


def first_category(
    labels: Iterable[str], table: dict[str, str | None], priority: Iterable[str]
) -> str | None:
    """The mapped category of the given source labels, the most specific (earliest in priority) first."""
    mapped = {table[label] for label in labels if table.get(label)}
    for cat in priority:
        if cat in mapped:
            return cat
    return None


# --------------------------------------------------------------------------------------------------------
# Converters. Each takes a Mirror and yields rows (before trimming, deduplication and sampling).
# --------------------------------------------------------------------------------------------------------

# openai/moderation-api-release: binary flags per taxonomy label (README). A flag missing from a sample
# means "label unknown", so a sample is safe only when every top-level flag (S, H, V, HR, SH) is present
# and 0; samples with no positive flag and an unknown top-level flag are skipped.
OPENAI_LABELS: dict[str, str | None] = {
    "S": "sexual_content",  # sexual
    "S3": "sexual_content",  # sexual/minors
    "H": "hate_harassment",  # hate
    "H2": "hate_harassment",  # hate/threatening (hate first; usually also V)
    "HR": "hate_harassment",  # harassment
    "V": "violence_weapons",  # violence
    "V2": "violence_weapons",  # violence/graphic
    "SH": "self_harm",  # self-harm
}
OPENAI_PRIORITY = ("self_harm", "sexual_content", "hate_harassment", "violence_weapons")


def convert_openai_moderation(m: Mirror) -> Iterator[Row]:
    raw = gzip.decompress(m.read("data/samples-1680.jsonl.gz")).decode("utf-8")
    for line in raw.splitlines():
        if not line.strip():
            continue
        sample = json.loads(line)
        positive = [k for k in OPENAI_LABELS if sample.get(k) == 1]
        if positive:
            cat = first_category(positive, OPENAI_LABELS, OPENAI_PRIORITY)
            yield row(sample["prompt"], "en", "text", True, cat)
        elif all(sample.get(k) == 0 for k in ("S", "H", "V", "HR", "SH")):
            yield row(sample["prompt"], "en", "text", False, None)


# DAMO-NLP-SG/multilingual-safety-for-LLMs MultiJail: 315 harmful prompts (300 from the hh-rlhf red team,
# 15 from the GPT-4 report), each translated by native speakers. Every row is harmful; its tags (one to four
# per row, from the hh-rlhf red-team tag set) map as below. Rows with several tags take the most specific
# mapped one (MULTIJAIL_PRIORITY); unmapped tags give category null.
MULTIJAIL_TAGS: dict[str, str | None] = {
    "Self-harm": "self_harm",
    "Adult content": "sexual_content",
    "Sexual exploitation & human trafficking": "sexual_content",
    "Substance abuse & banned substances": "drugs_alcohol",
    "Weapons": "violence_weapons",
    "Violence & incitement": "violence_weapons",
    "Animal abuse": "violence_weapons",  # cruelty to animals: violence
    "Terrorism & organized crime": "extremism",  # mostly bombings/terror; less specific tags win first
    "Soliciting personally identifiable information": "personal_data",
    "Conspiracy theories & misinformation": "misinformation",
    "Theft": "crime_fraud",
    "Fraud & deception": "crime_fraud",
    "Property crime & vandalism": "crime_fraud",
    "Hate speech & offensive language": "hate_harassment",
    "Discrimination & injustice": "hate_harassment",
    "Bullying & harassment": "hate_harassment",
    "Child abuse": None,  # spans sexual, violent and neglect cases: no single category
    "Non-violent unethical behavior (e.g. lying, cheating, etc.)": None,  # too broad
}
MULTIJAIL_PRIORITY = (
    "self_harm",
    "sexual_content",
    "drugs_alcohol",
    "personal_data",
    "misinformation",
    "crime_fraud",
    "violence_weapons",
    "extremism",
    "hate_harassment",
)
MULTIJAIL_LANGS = ("en", "zh", "vi", "th", "jv")  # it, ar, ko, bn, sw are left out


def convert_multijail(m: Mirror) -> Iterator[Row]:
    for rec in csv.DictReader(io.StringIO(m.text("data/MultiJail.csv"))):
        tags = ast.literal_eval(rec["tags"]) if rec.get("tags") else []
        unknown = [t for t in tags if t not in MULTIJAIL_TAGS]
        if unknown:
            print(f"  multijail: unmapped tags {unknown}", file=sys.stderr)
        cat = first_category(tags, MULTIJAIL_TAGS, MULTIJAIL_PRIORITY)
        for lang in MULTIJAIL_LANGS:
            yield row(rec.get(lang) or "", lang, "prompt", True, cat)


# thu-coai/DiaSafety: (context, response) pairs, response labelled Safe/Unsafe within one of five
# context-sensitive unsafety kinds. Only two map clearly to a category.
DIASAFETY_KINDS: dict[str, str | None] = {
    "Offending User": "hate_harassment",  # the bot insults or belittles the user
    "Biased Opinion": "hate_harassment",  # bias/stereotypes against groups
    "Toxicity Agreement": None,  # agreeing with a toxic context: harm type follows the context
    "Risk Ignorance": None,  # ignoring self-harm / mental-health risk; too varied to call self_harm
    "Unauthorized Expertise": None,  # unqualified medical/legal advice
}


def convert_diasafety(m: Mirror) -> Iterator[Row]:
    for split in ("train", "val", "test"):
        for rec in json.loads(m.text(f"DiaSafety_dataset/{split}.json")):
            label = rec.get("label")
            if label not in ("Safe", "Unsafe"):
                continue
            harmful = label == "Unsafe"
            yield row(
                rec["response"],
                "en",
                "response",
                harmful,
                DIASAFETY_KINDS.get(rec["category"]),
                context=rec.get("context"),
            )


# microsoft/RTP-LX: RealToxicityPrompts prompts transcreated by native speakers, each rated 1-5 by three
# annotators per dimension (mean in "Annotations"). Harmful: mean Toxicity >= 3 (moderate or worse);
# safe: mean Toxicity < 2; rows in between are ambiguous and skipped. Toxicity maps to hate_harassment,
# except that a clearly dominant non-hate dimension (mean >= 3 while IdentityAttack, Insult and Bias are
# all < 3) takes its own category.
RTP_LX_FILES = {"th": "TH", "id": "ID", "ja": "JA", "zh": "ZH-Hans"}
RTP_LX_DOMINANT = (
    ("SelfHarm", "self_harm"),
    ("SexualContent", "sexual_content"),
    ("Violence", "violence_weapons"),
)


def convert_rtp_lx(m: Mirror) -> Iterator[Row]:
    for lang, locale in RTP_LX_FILES.items():
        for line in m.text(f"RTP-LX/RTP_LX_{locale}.json").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            ann = rec["Annotations"]
            tox = float(ann["Toxicity"])
            if tox >= 3:
                cat = "hate_harassment"
                if max(float(ann.get(k, 1)) for k in ("IdentityAttack", "Insult", "Bias")) < 3:
                    for dim, dim_cat in RTP_LX_DOMINANT:
                        if float(ann.get(dim, 1)) >= 3:
                            cat = dim_cat
                            break
                yield row(rec["Prompt"], lang, "text", True, cat)
            elif tox < 2:
                yield row(rec["Prompt"], lang, "text", False, None)


# inspection-ai/japanese-toxic-dataset: annotator votes over four toxicity levels and seven categories.
# Harmful: a strict majority voted Toxic or Very Toxic; safe: a strict majority voted Not Toxic; otherwise
# skipped. Category: the category with most votes (ties: first in column order), mapped as below.
JA_TOXIC_CATEGORIES: dict[str, str | None] = {
    "category_卑語": None,  # Dignity: vulgar words, not necessarily aimed at anyone
    "category_差別": "hate_harassment",  # Discrimination
    "category_迷惑行為": "hate_harassment",  # Harassment (smear, threats, inflammatory)
    "category_猥褻": "sexual_content",  # Obscenity
    "category_出会い・プライバシー侵害": "personal_data",  # Dating / privacy violation / doxing
    "category_違法行為": "crime_fraud",  # Illegal acts (drugs, counterfeits, finance scams)
    "category_偏向表現": None,  # Bias (one-sided political/religious statements)
}


def convert_japanese_toxic(m: Mirror) -> Iterator[Row]:
    for rec in csv.DictReader(io.StringIO(m.text("data/subset.csv"))):
        n = int(rec["annotation_num"] or 0)
        if n == 0:
            continue
        toxic = int(rec["Toxic"]) + int(rec["Very Toxic"])
        if 2 * toxic > n:
            votes = {c: int(rec.get(c) or 0) for c in JA_TOXIC_CATEGORIES}
            best = max(votes, key=lambda c: votes[c])
            yield row(rec["text"], "ja", "text", True, JA_TOXIC_CATEGORIES[best] if votes[best] else None)
        elif 2 * int(rec["Not Toxic"]) > n:
            yield row(rec["text"], "ja", "text", False, None)


# falensiazmi/IndoSafety: prompts in formal/colloquial Indonesian, Javanese, Sundanese and Minangkabau;
# responses of ~10 models judged by GPT-4o on three yes/no rubric questions per harm type ("ya" = risky),
# plus human-verified reference safe answers in IndoSafety-Train. Rows whose prompt comes from source
# DNA-ORI (translated Do-Not-Answer, CC-BY-NC-SA) are dropped, and so are rows whose prompt cannot be traced
# to a non-DNA-ORI source. A model response is harmful if any rubric says "ya", safe if all answered say
# "tidak". Category from types_of_harm where it clearly fits.
INDOSAFETY_HARMS: dict[str, str | None] = {
    "Adult Content": "sexual_content",
    "Toxic language (hate speech)": "hate_harassment",
    "Social stereotypes and unfair discrimination": "hate_harassment",
    "Compromise privacy by leaking or inferring private information (person/individual)": "personal_data",
    "Assisting illegal activities": "crime_fraud",
    "Disseminating false or misleading information": "misinformation",
    "Causing material harm by disseminating misinformation e.g. in medicine or law": "misinformation",
    "Reducing the cost of disinformation campaigns": "misinformation",
    # No clear category: organisational secrets, unethical nudges, over-reliance, chatbot-as-human,
    # and the Indonesia-specific kinds (religion, ethnicity, supernatural, Pancasila, separatism, history).
}
INDOSAFETY_LANGS = {  # result file language tag -> ISO 639 code
    "eval1": "id",
    "indonesian-formal": "id",
    "colloquial": "id",
    "java": "jv",
    "sunda": "su",
    "minangkabau": "min",
}
INDOSAFETY_PROMPT_COLUMNS = ("prompt", "indonesian-formal", "colloquial", "java", "sunda", "minangkabau")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def convert_indosafety(m: Mirror) -> Iterator[Row]:
    prompt_source: dict[str, set[str]] = defaultdict(set)
    train = read_xlsx(m.read("dataset/IndoSafety-Train.xlsx"))
    for name in ("dataset/IndoSafety-Eval-1.xlsx", "dataset/IndoSafety-Eval-2.xlsx"):
        for rec in read_xlsx(m.read(name)) + train:
            for col in INDOSAFETY_PROMPT_COLUMNS:
                if rec.get(col):
                    prompt_source[_norm(rec[col])].add(rec.get("source") or "")

    def allowed(prompt: str) -> bool:
        sources = prompt_source.get(_norm(prompt))
        return bool(sources) and "DNA-ORI" not in sources and "" not in sources

    for rec in train:
        if rec.get("source") != "DNA-ORI" and allowed(rec["prompt"]):
            yield row(rec.get("safe_response") or "", "id", "response", False, None, context=rec["prompt"])

    dropped = 0
    for path in sorted(m.ls("results_safety/")):
        match = re.match(r"results_safety/(?:FT_)?result_([a-z0-9-]+?)_", path)
        if not match or match.group(1) not in INDOSAFETY_LANGS:
            print(f"  indosafety: skipping {path} (unknown language tag)", file=sys.stderr)
            continue
        lang = INDOSAFETY_LANGS[match.group(1)]
        try:
            records = read_xlsx(m.read(path))
        except SourceUnavailable as exc:
            print(f"  indosafety: {exc}", file=sys.stderr)
            continue
        for rec in records:
            response_col = next((c for c in rec if c.endswith("_response")), None)
            prompt = rec.get("prompt") or rec.get(match.group(1)) or ""
            if response_col is None or not prompt:
                continue
            if not allowed(prompt):
                dropped += 1
                continue
            answers = [rec.get(f"Rubric {i}", "").strip().lower().rstrip(".") for i in (1, 2, 3)]
            answers = [a for a in answers if a]
            if not answers or any(a not in ("ya", "tidak") for a in answers):
                continue
            harmful = "ya" in answers
            yield row(
                rec[response_col] or "",
                lang,
                "response",
                harmful,
                INDOSAFETY_HARMS.get(rec.get("types_of_harm", "")),
                context=prompt,
            )
    print(
        f"  indosafety: dropped {dropped} judged responses to DNA-ORI or untraceable prompts", file=sys.stderr
    )


# thu-coai/Safety-Prompts typical_safety_scenarios.json: {scenario: [{prompt, response, type}]} (README).
# The responses are (mostly) safe answers to sensitive prompts, i.e. hard negatives: harmful=false
# responses with the prompt as context. Capped at SAFETY_PROMPTS_CAP.
SAFETY_PROMPTS_CAP = 3000


def convert_safety_prompts(m: Mirror) -> Iterator[Row]:
    data = json.loads(m.text("typical_safety_scenarios.json"))
    for items in data.values():
        for rec in items:
            yield row(rec.get("response") or "", "zh", "response", False, None, context=rec.get("prompt"))


# --------------------------------------------------------------------------------------------------------
# Source table
# --------------------------------------------------------------------------------------------------------


@dataclass
class Source:
    id: str
    repo: str  # owner/name on GitHub
    commit: str  # pinned: the commit actually read from the fetched mirror
    paths: tuple[str, ...]
    licence: str
    licence_marker: str  # text that must appear in the LICENSE file at the pinned commit
    convert: Callable[[Mirror], Iterator[Row]]
    cap: int = CAP
    licence_file: str = "LICENSE"

    def mirror(self, mirrors: Path) -> Mirror:
        return Mirror(mirrors / self.repo.replace("/", "+") / "repo", self.commit)


SOURCES: tuple[Source, ...] = (
    Source(
        "openai_moderation",
        "openai/moderation-api-release",
        "f4ab51b5edd3bfbcb349a56324274235b674e0e4",
        ("data/samples-1680.jsonl.gz",),
        "MIT",
        "MIT License",
        convert_openai_moderation,
    ),
    Source(
        "multijail",
        "DAMO-NLP-SG/multilingual-safety-for-LLMs",
        "577ac511437e07a256130945ef312a99158a18ad",
        ("data/MultiJail.csv",),
        "MIT",
        "MIT License",
        convert_multijail,
    ),
    Source(
        "diasafety",
        "thu-coai/DiaSafety",
        "5106a041b1c7e36f30e02a97c44897a7f2057278",
        ("DiaSafety_dataset/train.json", "DiaSafety_dataset/val.json", "DiaSafety_dataset/test.json"),
        "Apache-2.0",
        "Apache License",
        convert_diasafety,
    ),
    Source(
        "rtp_lx",
        "microsoft/RTP-LX",
        # Last commit with per-locale JSON files; later commits ship only RTP-LX.zip, which is absent from
        # the mirror (large file).
        "f10b92a5aef1a1c6aa0801f852fd2a15d779d832",
        tuple(f"RTP-LX/RTP_LX_{loc}.json" for loc in RTP_LX_FILES.values()),
        "MIT (RTP-LX) + Apache-2.0 (RealToxicityPrompts, see NOTICE)",
        "MIT License",
        convert_rtp_lx,
    ),
    Source(
        "japanese_toxic",
        "inspection-ai/japanese-toxic-dataset",
        "e26fbd26b26e831f56e529c05a3f4f6cc5b697b0",
        ("data/subset.csv",),
        "Apache-2.0",
        "Apache License",
        convert_japanese_toxic,
    ),
    Source(
        "indosafety",
        "falensiazmi/IndoSafety",
        "d7b437541523da398fd2df2f7bad29f0b3e36c7f",
        ("dataset/IndoSafety-{Train,Eval-1,Eval-2}.xlsx", "results_safety/*.xlsx"),
        "Apache-2.0",
        "Apache License",
        convert_indosafety,
    ),
    Source(
        "safety_prompts",
        "thu-coai/Safety-Prompts",
        "bbfd3ce47a32b998e4b94225a375b41e44070ae5",
        ("typical_safety_scenarios.json",),
        "Apache-2.0",
        "Apache License",
        convert_safety_prompts,
        cap=SAFETY_PROMPTS_CAP,
    ),
)


# --------------------------------------------------------------------------------------------------------
# Cleaning, sampling, writing
# --------------------------------------------------------------------------------------------------------


def clean(text: object) -> str:
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").strip()
    return text[:MAX_CHARS].rstrip()


def finalize(rows: Iterable[Row], source_id: str, cap: int) -> list[Row]:
    """Trim, drop empty and duplicate texts (and texts seen with both labels), sample to cap."""
    by_key: dict[str, Row] = {}
    conflicted: set[str] = set()
    for r in rows:
        text = clean(r["text"])
        if not text:
            continue
        context = clean(r["context"]) or None
        key = " ".join(text.casefold().split())
        prev = by_key.get(key)
        if prev is not None:
            if prev["harmful"] != r["harmful"]:
                conflicted.add(key)
            continue
        if r["category"] is not None and r["category"] not in CATEGORIES:
            raise ValueError(f"{source_id}: bad category {r['category']!r}")
        by_key[key] = {**r, "text": text, "context": context, "source": source_id}
    kept = [r for k, r in by_key.items() if k not in conflicted]
    if conflicted:
        print(
            f"  {source_id}: dropped {len(conflicted)} texts labelled both harmful and safe", file=sys.stderr
        )

    rng = random.Random(f"{SEED}:{source_id}")
    harmful = [r for r in kept if r["harmful"]]
    safe = [r for r in kept if not r["harmful"]]
    n_harm = min(len(harmful), max(cap // 2, cap - len(safe)))
    n_safe = min(len(safe), cap - n_harm)
    chosen = rng.sample(harmful, n_harm) + rng.sample(safe, n_safe)
    rng.shuffle(chosen)
    return chosen


def check_licence(src: Source, m: Mirror) -> None:
    text = m.text(src.licence_file)
    if src.licence_marker not in text:
        raise SourceUnavailable(f"{src.licence_file} does not contain {src.licence_marker!r}")


def build(src: Source, mirrors: Path) -> Path | None:
    m = src.mirror(mirrors)
    if not m.git_dir.is_dir():
        print(f"- {src.id}: no mirror at {m.git_dir} (fetch github:{src.repo} first); skipped")
        return None
    try:
        check_licence(src, m)
        rows = finalize(src.convert(m), src.id, src.cap)
    except SourceUnavailable as exc:
        print(f"- {src.id}: unavailable in mirror ({exc}); skipped")
        return None
    if not rows:
        print(f"- {src.id}: no rows; skipped")
        return None
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    out = DATA_DIR / f"{src.id}.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    n_harm = sum(1 for r in rows if r["harmful"])
    print(f"- {src.id}: {len(rows)} rows ({n_harm} harmful) -> {out.relative_to(DATA_DIR.parent.parent)}")
    return out


def summary(data_dir: Path = DATA_DIR) -> None:
    """Print source x lang counts of harmful/safe rows (and harmful rows by category) from existing files."""
    counts: Counter[tuple[str, str, bool]] = Counter()
    cats: Counter[tuple[str, str]] = Counter()
    for path in sorted(data_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                counts[(r["source"], r["lang"], bool(r["harmful"]))] += 1
                if r["harmful"]:
                    cats[(r["source"], r["category"] or "(null)")] += 1
    if not counts:
        print(f"no data in {data_dir}")
        return
    keys = sorted({(s, lang) for s, lang, _ in counts})
    print(f"| {'source':<18} | {'lang':<4} | {'harmful':>7} | {'safe':>6} |")
    print(f"|{'-' * 20}|{'-' * 6}|{'-' * 9}|{'-' * 8}|")
    for s, lang in keys:
        print(f"| {s:<18} | {lang:<4} | {counts[(s, lang, True)]:>7} | {counts[(s, lang, False)]:>6} |")
    tot_h = sum(v for (_, _, h), v in counts.items() if h)
    tot_s = sum(v for (_, _, h), v in counts.items() if not h)
    print(f"| {'TOTAL':<18} | {'':<4} | {tot_h:>7} | {tot_s:>6} |")
    print("\nharmful rows by category:")
    for s in sorted({s for s, _ in cats}):
        parts = ", ".join(f"{c}={n}" for (src, c), n in sorted(cats.items()) if src == s)
        print(f"  {s}: {parts}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mirrors",
        type=Path,
        default=Path("/work/.mirror"),
        help="folder holding <owner>+<name>/repo bare mirrors (default: /work/.mirror)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="SOURCE",
        choices=[s.id for s in SOURCES],
        help="convert only these sources",
    )
    parser.add_argument("--summary", action="store_true", help="print the table from existing files and exit")
    args = parser.parse_args(argv)
    if not args.summary:
        for src in SOURCES:
            if args.only and src.id not in args.only:
                continue
            build(src, args.mirrors)
        print()
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
