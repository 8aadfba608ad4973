"""Optional LLM judge for the uncertain band: any litellm model, off by default.

It is asked one narrow question per uncertain finding (does this sentence break this rule, yes or no) and its
answer only ever upholds a finding the embedding stage already raised; it never clears a certain finding.
A judge that fails or times out upholds nothing, and the failure is logged: the cheap stages stand alone.
"""

from __future__ import annotations

import asyncio

import structlog

from ..checks.base import Finding
from ..rules.model import Curriculum

log = structlog.get_logger("supervisor.judge")

PROMPT = """You check answers that an AI tutor gave a school student against one school rule.
Rule: {description}
Student's message: {user}
Sentence from the answer: {sentence}
Does this sentence break the rule? Reply with exactly one word: YES or NO."""


class Judge:
    def __init__(self, model: str, api_base: str | None = None, api_key: str | None = None, timeout: float = 10.0):
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = timeout

    async def _ask(self, curriculum: Curriculum, finding: Finding, user: str) -> bool:
        import litellm

        rule = curriculum.rule(finding.rule_id)
        prompt = PROMPT.format(description=rule.description if rule else finding.rule_id,
                               user=user[:1000], sentence=finding.sentence[:1000])
        reply = await litellm.acompletion(model=self.model, api_base=self.api_base, api_key=self.api_key,
                                          messages=[{"role": "user", "content": prompt}], max_tokens=3,
                                          temperature=0, timeout=self.timeout)
        return reply.choices[0].message.content.strip().upper().startswith("YES")

    async def confirm(self, curriculum: Curriculum, findings, response: str, user: str) -> set[str]:
        results = await asyncio.gather(*(self._ask(curriculum, f, user) for f in findings),
                                       return_exceptions=True)
        upheld = set()
        for finding, result in zip(findings, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("judge_failed", rule=finding.rule_id, error=str(result))
            elif result:
                upheld.add(finding.rule_id)
        return upheld
