"""JSON Lines case files (evaluation sets, red-team attacks): one object per line, errors as file:line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .errors import BadRequest


def read_objects(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line; a bad line is a BadRequest naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"{path}:{number}: not valid JSON: {exc}") from exc
        if not isinstance(item, dict):
            raise BadRequest(f"{path}:{number}: each line must be one JSON object")
        yield number, item
