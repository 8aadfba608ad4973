"""JSON Schema validation that reports `file:line: rule <id>: key: what to fix`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from ..errors import Problem
from . import schema
from .yaml_hints import misplaced_key_hint
from .yaml_lines import line_of


def schema_problems(path: Path, data: Any, validator: jsonschema.Draft202012Validator) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(str(path), 1, "expected a mapping with `schema_version` first")]
    version = data.get("schema_version")
    if version != schema.SCHEMA_VERSION:
        return [Problem(str(path), line_of(data, ["schema_version"]) or 1,
                        f"schema_version must be {schema.SCHEMA_VERSION} (found {version!r})")]
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    # first the keys in the wrong place: what else goes wrong around them (their value's shape inside a language
    # map, the key missing where it belongs) follows from that one mistake and would only bury it
    hints: dict[int, tuple[list[Any], str]] = {}
    for i, err in enumerate(errors):
        stray = _stray_key(err)
        if stray is not None:
            where = list(err.absolute_path)
            hint = misplaced_key_hint(data, where, stray, validator.schema)
            if hint:
                hints[i] = ([*where, stray], hint)
    misplaced = [where for where, _ in hints.values()]
    problems = []
    for i, err in enumerate(errors):
        where = list(err.absolute_path)
        if i not in hints and _follows_from(err, where, misplaced):
            continue
        rule_id = rule_id_at(data, where)
        prefix = f"{_ITEM_LISTS[where[0]]} {rule_id}: " if rule_id else ""
        inside = where[2:] if rule_id else where
        key = ".".join(str(p) for p in inside if not isinstance(p, int)) or \
            (f"({_ITEM_LISTS[where[0]]})" if rule_id else "(top level)")
        message = _humane(err)
        if i in hints:
            where, hint = hints[i]
            message = f"unknown key {where[-1]!r} here: {hint}"
        elif (stray := _stray_key(err)) is not None:
            where = [*where, stray]  # point at the unknown key itself, not at the mapping that holds it
        problems.append(Problem(str(path), line_of(data, where), f"{prefix}{key}: {message}"))
    return problems


def _stray_key(err: jsonschema.ValidationError) -> str | None:
    """The key a mapping does not allow (the first, when several): unknown here, or not a language code."""
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        unknown = sorted(set(err.instance) - set(err.schema.get("properties", {})), key=str)
        return unknown[0] if unknown else None
    if "propertyNames" in err.relative_schema_path and isinstance(err.instance, str):
        return err.instance
    return None


def _follows_from(err: jsonschema.ValidationError, where: list[Any], misplaced: list[list[Any]]) -> bool:
    """Whether `err` is a consequence of a misplaced key: inside it, or the same key reported missing where it
    belongs (the mapping that should hold it holds it further in)."""
    if any(where[:len(m)] == m for m in misplaced):
        return True
    if err.validator == "required":
        missing = set(err.validator_value) - set(err.instance) if isinstance(err.instance, dict) else set()
        return any(m[-1] in missing and m[:len(where)] == where for m in misplaced)
    return False


# Top-level lists whose items carry an `id` that a problem is named by: rules, and the probes of probes.yaml.
_ITEM_LISTS = {"rules": "rule", "probes": "probe"}


def rule_id_at(data: Any, where: list[Any]) -> str | None:
    if len(where) >= 2 and where[0] in _ITEM_LISTS and isinstance(where[1], int):
        rules = data.get(where[0]) or []
        if where[1] < len(rules) and isinstance(rules[where[1]], dict):
            return rules[where[1]].get("id")
    return None


def _humane(err: jsonschema.ValidationError) -> str:
    """Turn jsonschema's messages into what an officer should fix."""
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = sorted(err.schema.get("properties", {}))
        unknown = sorted(set(err.instance) - set(allowed))
        if allowed:
            return f"unknown key {', '.join(map(repr, unknown))}; allowed keys: {', '.join(allowed)}"
        return f"unknown key {', '.join(map(repr, unknown))}"
    if "propertyNames" in err.relative_schema_path:
        return f"{err.instance!r} is not a supported language code; use one of {', '.join(schema.LANGUAGES)}"
    if err.validator == "required":
        return err.message.replace("is a required property", "is required")
    if err.validator == "enum":
        return f"{err.instance!r} is not one of: {', '.join(map(str, err.validator_value))}"
    return err.message
