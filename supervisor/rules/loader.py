"""Curriculum YAML → frozen Curriculum objects, with every problem reported as `file:line: message`.

Layout: `<root>/_baseline/baseline.yaml` plus rule files, and `<root>/<cc>/country.yaml` plus rule files.
Inheritance is explicit: a country names `extends: baseline`, lists baseline rules it `disable`s by id, and a
country rule may `overrides: <baseline id>` to replace one. Nothing is merged implicitly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

from ..errors import ConfigError, Problem
from ..text.normalize import normalize
from . import schema
from .model import Curriculum, Document, GradeBand, Rewrite, Rule
from .validate import schema_problems as _schema_problems
from .yaml_lines import line_of, load_yaml

BASELINE_DIR = "_baseline"
BASELINE_FILE = "baseline.yaml"
COUNTRY_FILE = "country.yaml"
LESSONS_FILE = "lessons.yaml"
# the questions `supervisor compare` asks upstream models (supervisor/probes.py): not rules, and not part of the
# curriculum's version, since they never decide anything for a student
PROBES_FILE = "probes.yaml"
# lessons: what good answers say (background for rules on the AI's answer); questions: what students ordinarily
# ask (background for rules that read the student's message, such as crisis disclosures)
BACKGROUNDS = ("lessons", "questions", "tasks", "refusals")

_COUNTRY_VALIDATOR = jsonschema.Draft202012Validator(schema.COUNTRY_FILE)
_RULES_VALIDATOR = jsonschema.Draft202012Validator(schema.RULES_FILE)
_LESSONS_VALIDATOR = jsonschema.Draft202012Validator(schema.LESSONS_FILE)


def _texts(table: Any) -> MappingProxyType:
    return MappingProxyType({lang: tuple(items) for lang, items in (table or {}).items()})


def _descriptions(raw: str | dict) -> dict[str, str]:
    """`description:` as {lang: text}: a plain string is the English text."""
    table = {"en": raw} if isinstance(raw, str) else raw
    return {lang: text.strip() for lang, text in table.items()}


def _build_rule(raw: dict, path: Path, line: int, origin: str) -> Rule:
    rewrite = raw.get("rewrite")
    descriptions = _descriptions(raw["description"])
    when = raw.get("when") or {}
    src = raw["source"]
    return Rule(
        id=raw["id"],
        category=raw["category"],
        severity=raw["severity"],
        description=descriptions["en"],
        descriptions=MappingProxyType(descriptions),
        kinds=tuple(raw["kind"]),
        source_document=src["document"],
        source_clause=src.get("clause"),
        file=str(path),
        line=line,
        origin=origin,
        target=raw.get("target", "response"),
        grades=tuple(raw["grades"]) if raw.get("grades") else None,
        phrases=_texts(raw.get("phrases")),
        match_examples=_texts(raw["examples"].get("match")),
        no_match_examples=_texts(raw["examples"].get("no_match")),
        request_examples=_texts(raw["examples"].get("requests")),
        threshold=raw.get("threshold"),
        margin=raw.get("margin"),
        fuzzy_score=raw.get("fuzzy_score"),
        action=raw.get("action"),
        rewrite=Rewrite(
            strategy=rewrite["strategy"],
            guidance=rewrite.get("guidance"),
            replacements=MappingProxyType({k: MappingProxyType(dict(v))
                                           for k, v in (rewrite.get("replacements") or {}).items()}),
        ) if rewrite else None,
        hold=raw.get("hold", "sentence"),
        messages=MappingProxyType(dict(raw.get("messages") or {})),
        overrides=raw.get("overrides"),
        response_lacks=when.get("response_lacks"),
        response_min_chars=when.get("response_min_chars"),
    )


def _rule_problems(rule: Rule, raw: Any, path: Path) -> list[Problem]:
    """Checks JSON Schema cannot express: kinds need their data, near-misses must not contain phrases."""
    out: list[Problem] = []

    def problem(key: list[Any], message: str) -> None:
        out.append(Problem(str(path), line_of(raw, key) or rule.line, f"rule {rule.id}: {message}"))

    lexical = {"phrase", "fuzzy"} & set(rule.kinds)
    if lexical and not rule.phrases:
        problem(["kind"], f"kind {sorted(lexical)} needs `phrases` in at least one language")
    if rule.phrases and not lexical:
        problem(["phrases"], "has `phrases` but its kind has neither `phrase` nor `fuzzy`; add one or remove them")
    if rule.grades and rule.grades[0] > rule.grades[1]:
        problem(["grades"], f"grades {list(rule.grades)}: the first grade is after the last")
    if rule.rewrite and rule.rewrite.strategy == "replace_terms" and not rule.rewrite.replacements:
        problem(["rewrite"], "strategy replace_terms needs `replacements`")
    if rule.rewrite and rule.rewrite.strategy == "regenerate" and not rule.rewrite.guidance:
        problem(["rewrite"], "strategy regenerate needs `guidance` for the model")
    if rule.request_examples and rule.target != "response":
        problem(["examples", "requests"], "`requests` belong to rules on the AI's answer; a rule with "
                "`target: user` lists what students write under `match`")
    if (rule.response_lacks or rule.response_min_chars) and rule.target != "user":
        problem(["when"], "`when` conditions apply only to rules with `target: user`")
    folded = [(lang, normalize(p).text) for lang, p in rule.all_phrases()]
    for lang, examples in (rule.no_match_examples.items() if any(p for _, p in folded) else ()):
        for i, example in enumerate(examples):
            text = normalize(example).text
            hit = next((p for _, p in folded if p and p in text), None)
            if hit:
                problem(["examples", "no_match", lang, i],
                        f"no_match example contains the rule's own phrase {hit!r}, so it contradicts the rule")
    return out


class _FileSet:
    """The files read for one curriculum, hashed in a stable order to give its version."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.paths: list[str] = []

    def add(self, path: Path, root: Path) -> None:
        self.paths.append(str(path))
        self.digest.update(str(path.relative_to(root)).encode())
        self.digest.update(b"\0")
        self.digest.update(path.read_bytes())
        self.digest.update(b"\0")


def _rule_files(folder: Path, main_file: str) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.name not in (main_file, LESSONS_FILE, PROBES_FILE))


def _load_lessons(folder: Path, problems: list[Problem], files: _FileSet,
                  root: Path) -> dict[str, dict[str, list[str]]]:
    """The folder's background sentences: {"lessons": {lang: [...]}, "questions": {lang: [...]}}."""
    path = folder / LESSONS_FILE
    if not path.is_file():
        return {}
    files.add(path, root)
    try:
        data = load_yaml(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return {}
    found = _schema_problems(path, data, _LESSONS_VALIDATOR)
    problems.extend(found)
    if found:
        return {}
    return {key: {lang: list(items) for lang, items in (data.get(key) or {}).items()} for key in BACKGROUNDS}


def _load_rules(folder: Path, main_file: str, origin: str, problems: list[Problem], files: _FileSet,
                root: Path) -> list[Rule]:
    rules: list[Rule] = []
    for path in _rule_files(folder, main_file):
        files.add(path, root)
        try:
            data = load_yaml(path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        found = _schema_problems(path, data, _RULES_VALIDATOR)
        problems.extend(found)
        if found:
            continue
        for i, raw in enumerate(data["rules"]):
            rule = _build_rule(raw, path, line_of(data, ["rules", i]) or 1, origin)
            problems.extend(_rule_problems(rule, raw, path))
            rules.append(rule)
    return rules


def _load_country_file(path: Path, problems: list[Problem]) -> dict | None:
    try:
        data = load_yaml(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None
    found = _schema_problems(path, data, _COUNTRY_VALIDATOR)
    problems.extend(found)
    return None if found else data


def _documents(data: dict) -> dict[str, Document]:
    return {d["id"]: Document(id=d["id"], title=d["title"], issuer=d["issuer"],
                              edition=str(d["edition"]) if d.get("edition") is not None else None,
                              url=d.get("url"), title_en=d.get("title_en"))
            for d in data.get("documents") or []}


def _merge_texts(*tables: Any) -> MappingProxyType:
    out: dict[str, Any] = {}
    for table in tables:
        out.update(table or {})
    return MappingProxyType(out)


def load_curricula(root: Path, countries: Iterable[str] | None = None) -> dict[str, Curriculum]:
    """Load the baseline and every country folder under `root` (or only `countries`).

    Returns {country: Curriculum}, always including "baseline" (used for countries without a curriculum).
    Raises ConfigError listing every problem in every file.
    """
    root = Path(root)
    problems: list[Problem] = []
    base_dir = root / BASELINE_DIR
    if not (base_dir / BASELINE_FILE).is_file():
        raise ConfigError(Problem(str(base_dir / BASELINE_FILE), None,
                                  "the universal baseline is missing; every curriculum extends it"))
    base_files = _FileSet()
    base_files.add(base_dir / BASELINE_FILE, root)
    base_data = _load_country_file(base_dir / BASELINE_FILE, problems)
    base_rules = _load_rules(base_dir, BASELINE_FILE, "baseline", problems, base_files, root)
    base_lessons = _load_lessons(base_dir, problems, base_files, root)

    wanted = set(countries) if countries is not None else None
    country_dirs = sorted(d for d in root.iterdir()
                          if d.is_dir() and not d.name.startswith(("_", ".")) and (wanted is None or d.name in wanted))
    if wanted is not None and (unknown := wanted - {d.name for d in country_dirs}):
        known = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))
        raise ConfigError(Problem(str(root), None, f"unknown country {', '.join(map(repr, sorted(unknown)))}: no "
                                                   f"such folder; known: {', '.join(known)}"))
    loaded: list[tuple[Path, dict, list[Rule], _FileSet]] = []
    for folder in country_dirs:
        path = folder / COUNTRY_FILE
        if not path.is_file():
            problems.append(Problem(str(folder), None, f"country folder has no {COUNTRY_FILE}"))
            continue
        files = _FileSet()
        files.add(path, root)
        data = _load_country_file(path, problems)
        rules = _load_rules(folder, COUNTRY_FILE, folder.name, problems, files, root)
        lessons = _load_lessons(folder, problems, files, root)
        if data is not None:
            if data["country"] != folder.name:
                problems.append(Problem(str(path), line_of(data, ["country"]),
                                        f"country {data['country']!r} does not match its folder {folder.name!r}"))
            if data.get("extends") != "baseline":
                problems.append(Problem(str(path), data.line,
                                        "a country must say `extends: baseline` (inheritance is explicit)"))
            loaded.append((path, data, rules, files, lessons))

    _check_unique_ids(base_rules + [r for _, _, rules, _, _ in loaded for r in rules], problems)
    if base_data is None:
        raise ConfigError(problems)

    base_docs = _documents(base_data)
    _check_sources(base_rules, base_docs, problems)
    result = {"baseline": _assemble("baseline", base_data, base_rules, base_docs, base_files, {}, None,
                                    base_lessons)}
    base_ids = {r.id for r in base_rules}
    for path, data, rules, files, lessons in loaded:
        docs = {**base_docs, **_documents(data)}
        _check_sources(rules, docs, problems)
        disabled = {d["id"]: d["reason"] for d in data.get("disable") or []}
        for i, d in enumerate(data.get("disable") or []):
            if d["id"] not in base_ids:
                problems.append(Problem(str(path), line_of(data, ["disable", i]),
                                        f"disable: {d['id']!r} is not a baseline rule id"))
        for rule in rules:
            if rule.overrides and rule.overrides not in base_ids:
                problems.append(Problem(rule.file, rule.line,
                                        f"rule {rule.id}: overrides {rule.overrides!r}, which is not a baseline rule"))
        replaced = {r.overrides for r in rules if r.overrides}
        inherited = [r for r in base_rules if r.id not in disabled and r.id not in replaced]
        merged_lessons = {key: _merge_lists(base_lessons.get(key, {}), lessons.get(key, {})) for key in BACKGROUNDS}
        result[data["country"]] = _assemble(data["country"], data, inherited + rules, docs, files,
                                            disabled, (base_data, base_files), merged_lessons)
    if problems:
        raise ConfigError(problems)
    return result


def _check_unique_ids(rules: list[Rule], problems: list[Problem]) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            first = seen[rule.id]
            problems.append(Problem(rule.file, rule.line,
                                    f"duplicate rule id {rule.id!r} (first defined at {first.file}:{first.line})"))
        else:
            seen[rule.id] = rule


def _check_sources(rules: list[Rule], docs: dict[str, Document], problems: list[Problem]) -> None:
    for rule in rules:
        if rule.source_document not in docs:
            problems.append(Problem(rule.file, rule.line,
                                    f"rule {rule.id}: source.document {rule.source_document!r} is not listed in "
                                    f"`documents` (known: {', '.join(sorted(docs)) or 'none'})"))


def _merge_lists(base: dict[str, list[str]], own: dict[str, list[str]]) -> dict[str, list[str]]:
    return {lang: base.get(lang, []) + own.get(lang, []) for lang in set(base) | set(own)}


def _merged_markers(base_data: dict, data: dict, key: str) -> dict[str, list[str]]:
    """A country's own markers first, then the baseline's, per language."""
    markers = {lang: list(items) for lang, items in (base_data.get(key) or {}).items()}
    for lang, items in (data.get(key) or {}).items():
        markers[lang] = list(items) + markers.get(lang, [])
    return markers


def _assemble(country: str, data: dict, rules: list[Rule], docs: dict[str, Document], files: _FileSet,
              disabled: dict[str, str], base: tuple[dict, _FileSet] | None,
              background: dict[str, dict[str, list[str]]]) -> Curriculum:
    digest = files.digest.copy()
    all_files = list(files.paths)
    base_msgs: dict = {}
    base_data: dict = {}
    if base is not None:
        base_data, base_files = base
        digest.update(base_files.digest.digest())
        all_files = base_files.paths + all_files
        base_msgs = base_data["messages"]
    msgs = data["messages"]
    return Curriculum(
        country=country,
        name=data["name"],
        languages=tuple(data["languages"]),
        rules=tuple(rules),
        documents=MappingProxyType(docs),
        grade_bands=tuple(GradeBand(level=g["level"], first=g["grades"][0], last=g["grades"][1],
                                    ages=tuple(g["ages"]) if g.get("ages") else None)
                          for g in data.get("grades") or []),
        refusal=_merge_texts(base_msgs.get("refusal"), msgs.get("refusal")),
        help=_merge_texts(base_msgs.get("help"), msgs.get("help")),
        rewritten=_merge_texts(base_msgs.get("rewritten"), msgs.get("rewritten")),
        help_markers=_texts(_merged_markers(base_data, data, "help_markers")),
        refusal_markers=_texts(_merged_markers(base_data, data, "refusal_markers")),
        version=digest.hexdigest()[:12],
        files=tuple(all_files),
        disabled=MappingProxyType(disabled),
        lessons=_texts(background.get("lessons", {})),
        questions=_texts(background.get("questions", {})),
        tasks=_texts(background.get("tasks", {})),
        refusals=_texts(background.get("refusals", {})),
        corrected=_merge_texts(base_msgs.get("corrected"), msgs.get("corrected")),
    )
