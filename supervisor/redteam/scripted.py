"""The scripted upstream: an OpenAI-compatible server that answers each case with its scripted answer.

It stands in for a compromised model offline: an attack case gets its `scripted_answer`, a benign case its
`response`. Asked to regenerate (the supervisor's rewrite path appends the old answer and a system message),
it repeats the same answer, the worst case of a model that ignores the guidance. Conversations are matched by
their exact messages, then by the student's last message, so an unknown conversation is an error, not a guess.
"""

from __future__ import annotations

import json

from ..demo.fake_openai import create_fake_openai
from ..errors import BadRequest
from ..supervision import last_user_message
from .cases import Case

MODEL = "scripted"
UNKNOWN = "[scripted upstream] no case in the red-team files sends this conversation."


def _key(messages: list[dict]) -> str:
    return json.dumps([[m.get("role"), m.get("content")] for m in messages], ensure_ascii=False)


class ScriptedResponder:
    def __init__(self, cases: list[Case]):
        self.by_messages: dict[str, str] = {}
        self.by_last: dict[str, str | None] = {}
        for case in cases:
            key = _key(case.messages)
            if self.by_messages.get(key, case.scripted_answer) != case.scripted_answer:
                raise BadRequest(f"case {case.id}: another case sends exactly the same messages with a different "
                                 "scripted answer; change one of the conversations")
            self.by_messages[key] = case.scripted_answer
            last = last_user_message(case.messages)
            # an ambiguous last message is kept as None: only an exact conversation match may answer it
            self.by_last[last] = case.scripted_answer if self.by_last.get(last, case.scripted_answer) == \
                case.scripted_answer else None

    def __call__(self, messages: list[dict]) -> str:
        if len(messages) >= 2 and messages[-1].get("role") == "system" and messages[-2].get("role") == "assistant":
            messages = messages[:-2]  # a regeneration request: the stubborn model says the same again
        answer = self.by_messages.get(_key(messages)) or self.by_last.get(last_user_message(messages))
        return answer or UNKNOWN


def create_scripted_upstream(cases: list[Case]):
    return create_fake_openai(ScriptedResponder(cases), model=MODEL, chunk_chars=8)
