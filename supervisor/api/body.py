"""Reading a JSON request body so that bad input is a 400 that says what to fix, never a 500.

The body is read up to the deployment's byte limit (413 past it, before parsing anything), parsed without
accepting what JSON does not define (NaN, Infinity) or numbers Python cannot hold (1e999, 5,000-digit
integers), and walked once: nesting deeper than MAX_DEPTH is refused, and so is text with an unpaired UTF-16
surrogate (`"\\ud800"` is valid JSON but not Unicode: it could be neither sent upstream nor stored).
"""

from __future__ import annotations

import json
import math
import re

from starlette.requests import ClientDisconnect, Request

from ..errors import BadRequest, TooLarge

# Deeper than any chat request needs (a content part sits at depth 4); shallow enough to walk without risk.
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


class _NotFinite(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"the number {text[:40]} is too large")
    return value


def _no_constant(name: str):
    raise _NotFinite(f"{name} is not a JSON number")


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refused with a 413 as soon as it passes `max_bytes` (it is never read whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"the request body has {int(declared)} bytes; this deployment accepts at most {max_bytes} "
                       "(SUPERVISOR_MAX_REQUEST_BYTES): send a shorter conversation")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise TooLarge(f"the request body is over {max_bytes} bytes, the most this deployment accepts "
                               "(SUPERVISOR_MAX_REQUEST_BYTES): send a shorter conversation")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise BadRequest("the client went away before the request body was complete") from exc
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int) -> dict:
    raw = await read_body(request, max_bytes)
    try:
        body = json.loads(raw or b"null", parse_float=_finite, parse_constant=_no_constant)
    except _NotFinite as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest(f"the request body is nested too deeply (at most {MAX_DEPTH} levels)") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, and integers with too many digits
        raise BadRequest(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    check_tree(body)
    return body


def check_tree(value, path: str = "", depth: int = 0) -> None:
    """Refuse nesting deeper than MAX_DEPTH and text (keys too) that is not valid Unicode, naming where."""
    if depth > MAX_DEPTH:
        raise BadRequest(f"the request body is nested too deeply at {path or 'the top'} (at most {MAX_DEPTH} "
                         "levels)", path or None)
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise BadRequest(f"`{path or 'body'}` contains an unpaired UTF-16 surrogate (such as \\ud800), "
                             "which is not text: send valid Unicode", path or None)
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                raise BadRequest(f"a key in `{path or 'body'}` contains an unpaired UTF-16 surrogate: send valid "
                                 "Unicode", path or None)
            check_tree(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_tree(item, f"{path}[{i}]", depth + 1)
