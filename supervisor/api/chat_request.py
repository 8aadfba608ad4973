"""A chat-completions request body, checked field by field: anything malformed is a 400 naming the field and
saying what it must be, before anything is judged, sent upstream or stored.

What a client may state about the student (grade, age, language, class) comes from `X-Supervisor-*` headers
or `metadata`; the sampling parameters that go upstream (upstream.PASSTHROUGH) are checked against the OpenAI
API's own ranges, so a bad value is the client's 400, not the upstream's 502.
"""

from __future__ import annotations

from ..errors import BadRequest, TooLarge
from ..proxy import ChatRequest
from ..rules.schema import LANGUAGES
from ..supervision import content_text

ROLES = ("system", "user", "assistant", "tool", "developer")
# name -> (lowest, highest) for the numeric sampling parameters, as the OpenAI API documents them
_RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "presence_penalty": (-2.0, 2.0),
           "frequency_penalty": (-2.0, 2.0)}
_COUNTS = ("max_tokens", "max_completion_tokens")
_FORMATS = ("text", "json_object", "json_schema")


def whole_number(value, where: str, low: int, high: int, what: str, param: str | None = None) -> int | None:
    """A whole number from `low` to `high` given as a JSON number or a string of digits (headers are strings);
    None when absent. Booleans, fractions and anything else are refused."""
    if value is None or value == "":
        return None
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        number = int(value.strip())
    if number is None or not low <= number <= high:
        raise BadRequest(f"{where} must be {what} from {low} to {high}, got {_shown(value)}", param or where)
    return number


def grade_of(value, where: str) -> int | None:
    return whole_number(value, where, 1, 12, "a grade", "grade")


def age_of(value, where: str) -> int | None:
    return whole_number(value, where, 3, 120, "the student's age in years", "age")


def lang_of(value, where: str) -> str | None:
    """A supported language code; a regional tag counts as its language (en-US is en, zh-Hant is zh)."""
    if value is None or value == "":
        return None
    code = value.split("-")[0].split("_")[0].lower() if isinstance(value, str) else None
    if code not in LANGUAGES:
        raise BadRequest(f"{where} must be one of {', '.join(LANGUAGES)} (or a regional tag such as en-US), "
                         f"got {_shown(value)}", where)
    return code


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_messages(messages, where: str = "messages", required: bool = True) -> list[dict]:
    if messages is None and not required:
        return []
    if not isinstance(messages, list) or (required and not messages):
        raise BadRequest(f"`{where}` must be a {'non-empty ' if required else ''}list of {{role, content}} objects",
                         where)
    for i, m in enumerate(messages):
        at = f"{where}[{i}]"
        if not isinstance(m, dict):
            raise BadRequest(f"{at} must be an object with `role` and `content`, got {_shown(m)}", at)
        if not isinstance(m.get("role"), str) or m["role"] not in ROLES:
            raise BadRequest(f"{at}.role must be one of {', '.join(ROLES)}, got {_shown(m.get('role'))}",
                             f"{at}.role")
        content = m.get("content")
        if isinstance(content, list):
            for j, part in enumerate(content):
                _check_part(part, f"{at}.content[{j}]")
        elif not isinstance(content, (str, type(None))):
            raise BadRequest(f"{at}.content must be a string or a list of parts", f"{at}.content")
        if m.get("name") is not None and not isinstance(m["name"], str):
            raise BadRequest(f"{at}.name must be a string", f"{at}.name")
    return messages


def _check_part(part, at: str) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise BadRequest(f"{at} must be an object with a string `type`, such as {{\"type\": \"text\", \"text\": "
                         f"\"...\"}}, got {_shown(part)}", at)
    if part["type"] == "text" and not isinstance(part.get("text"), str):
        raise BadRequest(f"{at}.text must be a string", f"{at}.text")


def judged_length(text: str, where: str, limit: int) -> None:
    """Text the supervisor must read whole is refused past the deployment's limit, never judged in part."""
    if len(text) > limit:
        raise TooLarge(f"{where} has {len(text)} characters; the supervisor judges at most {limit} "
                       "(SUPERVISOR_MAX_JUDGED_CHARS): send a shorter text", where)


def _sampling(body: dict) -> None:
    for name, (low, high) in _RANGES.items():
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not low <= value <= high):
            raise BadRequest(f"`{name}` must be a number from {low:g} to {high:g}, got {_shown(value)}", name)
    for name in _COUNTS:
        whole_number(body.get(name), name, 1, 1_000_000, "a token count")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or abs(seed) >= 2**63):
        raise BadRequest(f"`seed` must be a whole number, got {_shown(seed)}", "seed")
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and not (
            isinstance(stop, list) and len(stop) <= 4 and all(isinstance(s, str) for s in stop)):
        raise BadRequest("`stop` must be a string or a list of at most 4 strings", "stop")
    bias = body.get("logit_bias")
    if bias is not None and not (isinstance(bias, dict) and all(
            k.isdigit() and isinstance(v, (int, float)) and not isinstance(v, bool) and -100 <= v <= 100
            for k, v in bias.items())):
        raise BadRequest("`logit_bias` must map token ids (strings of digits) to numbers from -100 to 100",
                         "logit_bias")
    _response_format(body.get("response_format"))


def _response_format(value) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or value.get("type") not in _FORMATS:
        raise BadRequest(f"`response_format` must be an object whose `type` is one of {', '.join(_FORMATS)}, "
                         f"got {_shown(value)}", "response_format")
    if value["type"] == "json_schema":
        schema = value.get("json_schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str) or not schema["name"] or \
                not isinstance(schema.get("schema", {}), dict):
            raise BadRequest("`response_format.json_schema` must be an object with a string `name` and an object "
                             "`schema`", "response_format.json_schema")


def parse_chat(body: dict, headers, max_judged_chars: int) -> ChatRequest:
    messages = parse_messages(body.get("messages"))
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("`stream` must be true or false", "stream")
    if body.get("n", 1) != 1:
        raise BadRequest("`n` other than 1 is not supported: each answer is supervised on its own", "n")
    if body.get("tools") or body.get("functions"):
        raise BadRequest("tool calling is not supported through the supervisor", "tools")
    for name in ("model", "user"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise BadRequest(f"`{name}` must be a string", name)
    _sampling(body)
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise BadRequest("`metadata` must be an object", "metadata")
    grade = grade_of(headers.get("x-supervisor-grade"), "X-Supervisor-Grade") or \
        grade_of(metadata.get("grade"), "metadata.grade")
    age = age_of(headers.get("x-supervisor-age"), "X-Supervisor-Age") or age_of(metadata.get("age"), "metadata.age")
    class_id = headers.get("x-supervisor-class") or metadata.get("class")
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, (str, int))):
        raise BadRequest("`metadata.class` must be a string", "metadata.class")
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), None)
    if last_user is not None:
        judged_length(content_text(last_user.get("content")), "the student's last message", max_judged_chars)
    params = {k: v for k, v in body.items() if k not in ("messages", "stream", "model", "user", "metadata")}
    return ChatRequest(messages=messages, stream=stream, model=body.get("model"), params=params, user=body.get("user"),
                       grade=grade, lang=lang_of(metadata.get("lang"), "metadata.lang"), age=age,
                       class_id=str(class_id) if class_id not in (None, "") else None)
