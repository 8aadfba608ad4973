"""JSON Schema validation that reports `file:line: rule <id>: key: what to fix`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema

from ..errors import Problem
from . import schema
from .yaml_lines import line_of


def schema_problems(path: Path, data: Any, validator: jsonschema.Draft202012Validator) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(str(path), 1, "expected a mapping with `schema_version` first")]
    version = data.get("schema_version")
    if version != schema.SCHEMA_VERSION:
        return [Problem(str(path), line_of(data, ["schema_version"]) or 1,
                        f"schema_version must be {schema.SCHEMA_VERSION} (found {version!r})")]
    problems = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        where = list(err.absolute_path)
        rule_id = rule_id_at(data, where)
        prefix = f"{_ITEM_LISTS[where[0]]} {rule_id}: " if rule_id else ""
        inside = where[2:] if rule_id else where
        key = ".".join(str(p) for p in inside if not isinstance(p, int)) or \
            (f"({_ITEM_LISTS[where[0]]})" if rule_id else "(top level)")
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            # point at the unknown key itself, not at the start of the mapping that holds it
            unknown = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            where = [*where, unknown[0]] if unknown else where
        problems.append(Problem(str(path), line_of(data, where), f"{prefix}{key}: {_humane(err)}"))
    return problems


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
    if err.validator == "propertyNames":
        return f"{err.instance!r} is not a supported language code; use one of {', '.join(schema.LANGUAGES)}"
    if err.validator == "required":
        return err.message.replace("is a required property", "is required")
    if err.validator == "enum":
        return f"{err.instance!r} is not one of: {', '.join(map(str, err.validator_value))}"
    return err.message
