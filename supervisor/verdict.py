"""The decision: which rules fired on which sentences, and what that means for the student. Pure: no I/O.

`evaluate()` takes text that is already prepared (folded, split, embedded: see `supervision.py`) and the
compiled curriculum, runs the checks each rule's `kind` names, applies grade limits and `when` conditions,
maps each finding to an action through the school's policy, and takes the strictest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .checks.base import CheckContext, Finding
from .policy import ACTION_RANK, Policy
from .rules.model import Curriculum, Rule
from .text.normalize import holds_any

Check = Callable[[Rule, CheckContext], list[Finding]]


@dataclass(frozen=True)
class Verdict:
    decision: str
    findings: tuple[Finding, ...]
    actions: Mapping[str, str]          # rule id -> action it asked for
    curriculum: str                     # country@version
    lang: str
    grade: int | None
    mode: str
    uncertain: tuple[Finding, ...] = field(default=())

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(f.rule_id for f in self.findings))

    def to_dict(self) -> dict:
        return {
            "decision": self.decision,
            "rules": self.rules,
            "findings": [{**f.to_dict(), "action": self.actions.get(f.rule_id)} for f in self.findings],
            "uncertain": [f.to_dict() for f in self.uncertain],
            "curriculum": self.curriculum,
            "lang": self.lang,
            "grade": self.grade,
            "mode": self.mode,
        }


def strictest(actions) -> str:
    return max(actions, key=ACTION_RANK.__getitem__, default="pass")


def _conditions_hold(rule: Rule, ctx: CheckContext) -> bool:
    if rule.response_min_chars and len(ctx.response.text) < rule.response_min_chars:
        return False
    if rule.response_lacks == "help":
        if holds_any(ctx.response.folded.text, ctx.help_markers):
            return False
    return True


def evaluate(ctx: CheckContext, curriculum: Curriculum, checks: Mapping[str, Check], policy: Policy,
             mode: str = "tutor", confirmed: frozenset[str] = frozenset()) -> Verdict:
    """Judge one answer. `confirmed` lists rule ids the LLM judge upheld from the uncertain band."""
    findings: list[Finding] = []
    uncertain: list[Finding] = []
    for rule in curriculum.rules:
        if not rule.applies_to_grade(ctx.grade):
            continue
        if rule.target == "user" and not ctx.user.text:
            continue
        hits: list[Finding] = []
        for kind in rule.kinds:
            hits.extend(checks[kind](rule, ctx))
        if not hits or not _conditions_hold(rule, ctx):
            continue
        certain = [h for h in hits if not h.uncertain or rule.id in confirmed]
        if certain:
            findings.extend(_one_per_sentence(certain))
        else:
            uncertain.append(hits[0])
    actions = {f.rule_id: policy.action_for(curriculum.rule(f.rule_id), mode) for f in findings}
    acting = [f for f in findings if actions[f.rule_id] != "pass"]
    return Verdict(
        decision=strictest(actions[f.rule_id] for f in acting),
        findings=tuple(acting),
        actions={k: v for k, v in actions.items() if v != "pass"},
        curriculum=curriculum.label,
        lang=ctx.lang,
        grade=ctx.grade,
        mode=mode,
        uncertain=tuple(uncertain),
    )


def _one_per_sentence(hits: list[Finding]) -> list[Finding]:
    """A rule that matched a sentence both lexically and semantically is reported once, strongest first."""
    seen: dict[tuple[str, tuple[int, int]], Finding] = {}
    for hit in hits:
        key = (hit.target, hit.span)
        if key not in seen or hit.score > seen[key].score:
            seen[key] = hit
    return sorted(seen.values(), key=lambda f: f.span)
