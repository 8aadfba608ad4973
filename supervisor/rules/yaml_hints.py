"""Plain words for the YAML mistakes officers make: what is probably wrong, and how to fix it.

Two kinds. A syntax error (PyYAML's "mapping values are not allowed in this context") becomes the line, the
column and a hint in terms of what was typed: a ': ' inside a value, a key indented more than the one above,
a tab, an unclosed bracket or quote. A key in the wrong place (a mis-indented `no_match:` reads as an unknown
key of the rule) is looked up in the schema: where that key does belong, relative to where it stands, says
whether it is indented too little (it belongs under a key beside it) or too much (it belongs beside a key
above it), and which line to line it up with.
"""

from __future__ import annotations

from typing import Any

import yaml

from .yaml_lines import LineDict

ANY_KEY, ITEM = "*", "[]"


# --- syntax errors -----------------------------------------------------------------------------------------

def syntax_hint(text: str, exc: yaml.MarkedYAMLError) -> tuple[int | None, int | None, str]:
    """(line, column, message), 1-based, for a YAML syntax error in `text`."""
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return None, None, f"YAML cannot read this file ({exc.problem or exc})"
    lines = text.splitlines()
    line, column = mark.line + 1, mark.column + 1
    here = lines[mark.line] if mark.line < len(lines) else ""
    ctx = exc.context_mark
    ctx_line = ctx.line + 1 if ctx else line
    problem, context = exc.problem or "", exc.context or ""

    if "\t" in here[:len(here) - len(here.lstrip())] or "tab" in problem:
        return line, column, "a tab character: YAML indents with spaces only. Replace the tab with spaces"
    if problem.startswith("duplicate key"):  # ours (yaml_lines): a silent overwrite would hide a mistake
        return line, column, (
            f"{problem}. Keep one of them; if they belong to two different items, the second one is probably "
            "indented like the first item's keys: check where the new item's `- ` is")
    if "mapping values are not allowed" in problem:
        before = here[:mark.column]
        key = _key_of(here)
        if key and ": " in before.strip().removeprefix("- ") + " ":
            return line, column, (
                f"the value of `{key}` contains ': ' (column {column}), which YAML reads as the start of another "
                f"key. Put the whole value in quotes ({key}: \"...\"), or write `{key}: >-` and the text on the "
                "next lines, indented further than the key")
        above = _previous_key_line(lines, mark.line)
        if above is not None:
            return line, column, (
                f"`{key or here.strip()}` is indented more than `{_key_of(lines[above])}` on line {above + 1}, "
                "which already has its value on its own line, so YAML cannot tell where this key belongs. "
                f"Line it up with `{_key_of(lines[above])}` (the same number of spaces), or, if the line above "
                "goes on onto this one, put that value in quotes")
    if "cannot start any token" in problem:
        char = here[mark.column] if mark.column < len(here) else ""
        return line, column, (
            f"a value cannot start with {char!r} in YAML. Put the value in quotes (\"...\")")
    if "flow sequence" in context or "flow mapping" in context:
        closing = "]" if "sequence" in context else "}"
        return line, column, (
            f"the {'list' if closing == ']' else 'mapping'} opened on line {ctx_line} is not closed where YAML "
            f"expected: close it with `{closing}` on the same line, separate items with ', ', and put an item that "
            "contains a comma, a colon or a bracket in quotes")
    if "quoted scalar" in context:  # found at the end of the file: the opening quote is what to point at
        return ctx_line, (ctx.column + 1 if ctx else column), (
            f"the quote opened on line {ctx_line} (column {ctx.column + 1 if ctx else '?'}) is never closed. Add "
            "the closing quote at the end of that text; a quote inside the text is written twice ('') inside "
            "'...', or as \\\" inside \"...\"")
    if "expected ':'" in problem:
        return ctx_line, (ctx.column + 1 if ctx else column), (
            f"line {ctx_line} has no ':' after its key. Write `key: value`; if the line continues the text of the "
            "line above, indent it further than that key or put the text in quotes")
    if "'-' indicator" in problem:
        return line, column, (
            f"line {line} is indented differently from the list items above it (the list starts on line "
            f"{ctx_line}). A rule's keys line up with `id:` after its `- `; a new item starts with `- ` at the "
            "same indentation as the other items")
    if "expected key" in problem or "block end" in problem:
        if here[mark.column:].startswith("-"):
            return line, column, (
                f"a list item (`- ...`) where a key was expected: it is probably indented like the keys of the "
                f"mapping that starts on line {ctx_line}. Indent it further, under the key whose list it is")
        if mark.column > len(here) - len(here.lstrip()):
            return line, column, (
                "more text after a value ended (a closing quote or bracket). Put the whole value in quotes")
        return line, column, (
            f"line {line} is indented differently from the keys above it (the mapping starts on line "
            f"{ctx_line}). Line it up with the keys it belongs with, using spaces only")
    return line, column, (
        f"YAML cannot read this line ({problem or exc}). Check the indentation (spaces only, keys at one level "
        "lined up) and put values containing ': ', ' #' or starting with a special character in quotes")


def _key_of(line: str) -> str:
    stripped = line.strip().removeprefix("- ")
    key, sep, _ = stripped.partition(":")
    return key.strip() if sep else ""


def _previous_key_line(lines: list[str], index: int) -> int | None:
    for i in range(index - 1, -1, -1):
        text = lines[i].strip()
        if text and not text.startswith("#"):
            return i if _key_of(lines[i]) else None
    return None


# --- keys in the wrong place -------------------------------------------------------------------------------

def key_homes(schema: dict[str, Any]) -> dict[str, list[tuple[str, ...]]]:
    """Every key the schema names, with the paths (of the mappings that may hold it) where it belongs; a path
    step is a key, ITEM for a list's items, ANY_KEY for a mapping keyed by anything (a language map)."""
    homes: dict[str, list[tuple[str, ...]]] = {}

    def walk(node: Any, path: tuple[str, ...], depth: int) -> None:
        if not isinstance(node, dict) or depth > 12:
            return
        for key, child in (node.get("properties") or {}).items():
            homes.setdefault(key, []).append(path)
            walk(child, (*path, key), depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], (*path, ITEM), depth + 1)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], (*path, ANY_KEY), depth + 1)

    walk(schema, (), 0)
    return homes


def _matches(pattern: tuple[str, ...], path: list[Any]) -> bool:
    return len(pattern) == len(path) and all(
        p == ANY_KEY and not isinstance(s, int) or p == ITEM and isinstance(s, int) or p == s
        for p, s in zip(pattern, path, strict=True))


def misplaced_key_hint(data: Any, where: list[Any], key: str, schema: dict[str, Any]) -> str | None:
    """What a key the mapping at `where` does not allow probably means, when the schema allows it elsewhere:
    indented too little (its home is under a key beside it) or too much (its home is beside a key above it).
    None when the key is unknown everywhere (a typo, not an indentation)."""
    homes = key_homes(schema).get(key)
    if not homes:
        return None
    here = _at(data, where)
    for home in homes:  # too little: it belongs inside a mapping that is a sibling of it
        if len(home) == len(where) + 1 and _matches(home[:-1], where) and isinstance(here, LineDict) \
                and home[-1] in here and home[-1] != ANY_KEY:
            parent = home[-1]
            inner = here[parent]
            first = next(iter(inner), None) if isinstance(inner, LineDict) else None
            line_up = (f", in line with `{first}:` on line {inner.key_lines[first]}" if first is not None else "")
            return (f"`{key}` belongs under `{parent}:` (line {here.key_lines[parent]}), so it is probably indented "
                    f"too little. Indent `{key}:` further than `{parent}:`{line_up}")
    for home in sorted(homes, key=len, reverse=True):  # too much: it belongs in a mapping above this one
        if len(home) < len(where) and _matches(home, where[:len(home)]):
            holder = _at(data, where[:len(home)])
            beside = where[len(home)]
            if isinstance(holder, LineDict) and beside in holder:
                return (f"`{key}` belongs beside `{beside}:` (line {holder.key_lines[beside]}), not inside it, so it "
                        f"is probably indented too much. Indent `{key}:` exactly as far as `{beside}:`")
    readable = " → ".join("(each item)" if s == ITEM else "(any key)" if s == ANY_KEY else s for s in homes[0])
    return f"`{key}` is not a key here; it belongs under {readable or 'the top level'}. Check its indentation"


def _at(data: Any, path: list[Any]) -> Any:
    node = data
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node
