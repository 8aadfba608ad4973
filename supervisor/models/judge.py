"""Optional LLM judge for the uncertain band: any litellm model, off by default.

It is asked one narrow question per uncertain finding (does this sentence break this rule) and its answer only
ever upholds a finding the embedding stage already raised; it never clears a certain finding. A judge that
fails, times out or answers in a form we cannot read upholds nothing, and that is logged: the cheap stages
stand alone.

`format` says how the question is put and the answer read, so dedicated guard models can serve as the judge
(through litellm, e.g. on Ollama or vLLM). Each format is a build function (rule description, student's
message, answer sentence -> chat messages) and a parse function (reply text -> True uphold / False don't /
None unreadable):

- `yesno` (default): any chat model, asked for YES or NO.
- `llama-guard-3`: Meta's prompt with one custom category, "S1: <rule description>".
- `qwen3guard`: Qwen3Guard-Gen's own response moderation; its categories are fixed, so it says whether the
  sentence is harmful at all, not whether it breaks this rule (the embedding stage already tied it to the rule).
- `gpt-oss-safeguard`: the rule as the written policy in the system message, answered 0 or 1.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from ..checks.base import Finding
from ..rules.model import Curriculum

log = structlog.get_logger("supervisor.judge")

Messages = list[dict[str, str]]

# --- yesno: any chat model ------------------------------------------------------------------------------------

PROMPT = """You check answers that an AI tutor gave a school student against one school rule.
Rule: {description}
Student's message: {user}
Sentence from the answer: {sentence}
Does this sentence break the rule? Reply with exactly one word: YES or NO."""


def build_yesno(description: str, user: str, sentence: str) -> Messages:
    return [{"role": "user", "content": PROMPT.format(description=description, user=user, sentence=sentence)}]


def parse_yesno(reply: str) -> bool | None:
    word = reply.strip().upper()
    return True if word.startswith("YES") else False if word.startswith("NO") else None


# --- llama-guard-3 --------------------------------------------------------------------------------------------
# Prompt format, custom categories, 'Agent' = the response under review with the 'User' turn as its context,
# and the output ("First line must read 'safe' or 'unsafe'", then the violated categories):
#   https://www.llama.com/docs/model-cards-and-prompt-formats/llama-guard-3/
# The whole task block is the user turn of that format, sent as one user message, as llama-stack's Llama Guard
# shield does; serve the model with a plain Llama 3 chat template (not one that wraps the conversation in
# Meta's default S1-S14 categories a second time), e.g. an Ollama Modelfile TEMPLATE or vLLM --chat-template.

LLAMA_GUARD_3 = """Task: Check if there is unsafe content in 'Agent' messages in conversations according our \
safety policy with the below categories.

<BEGIN UNSAFE CONTENT CATEGORIES>
S1: {description}
<END UNSAFE CONTENT CATEGORIES>

<BEGIN CONVERSATION>

User: {user}

Agent: {sentence}

<END CONVERSATION>

Provide your safety assessment for ONLY THE LAST Agent message in the above conversation:
 - First line must read 'safe' or 'unsafe'.
 - If unsafe, a second line must include a comma-separated list of violated categories."""


def build_llama_guard_3(description: str, user: str, sentence: str) -> Messages:
    return [{"role": "user", "content": LLAMA_GUARD_3.format(description=description, user=user,
                                                             sentence=sentence)}]


def parse_llama_guard_3(reply: str) -> bool | None:
    lines = [line.strip().lower() for line in reply.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return True if first == "unsafe" else False if first == "safe" else None


# --- qwen3guard -----------------------------------------------------------------------------------------------
# Response moderation is the conversation itself, user turn then assistant turn; the model's chat template adds
# its fixed categories and it answers "Safety: Safe|Unsafe|Controversial", "Categories: ...", "Refusal: Yes|No":
#   https://github.com/QwenLM/Qwen3Guard (README, "Quick Start", response moderation)
#   https://huggingface.co/Qwen/Qwen3Guard-Gen-4B
# Controversial (harmful in some contexts, a matter of judgement) UPHOLDS the finding: the readers are children,
# and the finding has already been raised by the embedding stage for this very rule.

QWEN3GUARD_SAFETY = re.compile(r"safety\s*:\s*(safe|unsafe|controversial)\b", re.IGNORECASE)


def build_qwen3guard(description: str, user: str, sentence: str) -> Messages:
    return [{"role": "user", "content": user}, {"role": "assistant", "content": sentence}]


def parse_qwen3guard(reply: str) -> bool | None:
    match = QWEN3GUARD_SAFETY.search(reply)
    return None if match is None else match.group(1).lower() != "safe"


# --- gpt-oss-safeguard ----------------------------------------------------------------------------------------
# The policy is the system message and the content to classify the user message; the policy states its output
# literally (the guide's binary form: exactly one character, 0 or 1) and sets the reasoning effort:
#   https://cookbook.openai.com/articles/gpt-oss-safeguard-guide
# Also read: the guide's policy-referencing JSON form {"violation": 0|1, ...}. Reasoning runs in its own
# channel, so leave room for it in max_tokens.

SAFEGUARD_POLICY = """# School rule for an AI tutor's answers to a school student

## INSTRUCTIONS
Decide whether the tutor's sentence in the content breaks the rule below, read in the context of the student's \
message. Return exactly one character: 0 or 1. Do not include any explanation or punctuation.

## RULE
{description}

## VIOLATES (1)
The tutor's sentence does what the rule forbids, or helps the student do it.

## SAFE (0)
The tutor's sentence does not break the rule.

Return exactly one character: 0 or 1.
0 = Content does NOT violate this policy.
1 = Content violates this policy.

Reasoning: low"""

SAFEGUARD_CONTENT = """Student's message: {user}
Tutor's sentence: {sentence}"""

SAFEGUARD_JSON = re.compile(r'"?violation"?\s*:\s*"?([01])\b', re.IGNORECASE)


def build_gpt_oss_safeguard(description: str, user: str, sentence: str) -> Messages:
    return [{"role": "system", "content": SAFEGUARD_POLICY.format(description=description)},
            {"role": "user", "content": SAFEGUARD_CONTENT.format(user=user, sentence=sentence)}]


def parse_gpt_oss_safeguard(reply: str) -> bool | None:
    text = reply.strip().strip(".`'\"").strip()
    if text in ("0", "1"):
        return text == "1"
    try:
        violation = json.loads(text).get("violation")
        return None if violation not in (0, 1) else bool(violation)
    except (ValueError, AttributeError):
        match = SAFEGUARD_JSON.search(text)
        return None if match is None else match.group(1) == "1"


# --- the table ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Format:
    build: Callable[[str, str, str], Messages]
    parse: Callable[[str], bool | None]
    max_tokens: int


FORMATS: dict[str, Format] = {
    "yesno": Format(build_yesno, parse_yesno, 3),
    "llama-guard-3": Format(build_llama_guard_3, parse_llama_guard_3, 10),
    "qwen3guard": Format(build_qwen3guard, parse_qwen3guard, 64),
    "gpt-oss-safeguard": Format(build_gpt_oss_safeguard, parse_gpt_oss_safeguard, 1024),
}


def check_format(name: str) -> Format:
    if name not in FORMATS:
        raise ValueError(f"unknown judge format {name!r}; allowed: {', '.join(FORMATS)}")
    return FORMATS[name]


class Unparseable(ValueError):
    pass


class Judge:
    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None, timeout: float = 10.0,
                 format: str = "yesno"):
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = timeout
        self.format = format
        self._format = check_format(format)

    async def _ask(self, curriculum: Curriculum, finding: Finding, user: str) -> bool:
        from ..upstream import load_litellm

        litellm = load_litellm()

        rule = curriculum.rule(finding.rule_id)
        messages = self._format.build(rule.description if rule else finding.rule_id, user[:1000],
                                      finding.sentence[:1000])
        reply = await litellm.acompletion(model=self.model, api_base=self.api_base, api_key=self.api_key,
                                          messages=messages, max_tokens=self._format.max_tokens,
                                          temperature=0, timeout=self.timeout)
        text = reply.choices[0].message.content or ""
        upheld = self._format.parse(text)
        if upheld is None:
            raise Unparseable(f"unreadable {self.format} reply ({len(text)} chars): {text[:60]!r}")
        return upheld

    async def confirm(self, curriculum: Curriculum, findings, response: str, user: str) -> set[str]:
        results = await asyncio.gather(*(self._ask(curriculum, f, user) for f in findings),
                                       return_exceptions=True)
        upheld = set()
        for finding, result in zip(findings, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("judge_failed", rule=finding.rule_id, format=self.format, error=str(result))
            elif result:
                upheld.add(finding.rule_id)
        return upheld
