"""Enforcement: turn a verdict into what the student receives.

- pass / flag: the answer unchanged (flag also queues it for review; the record carries the decision);
- block: the country's refusal message in the student's language, with the help message when the student
  disclosed distress (help is never taken away by a block);
- rewrite: textual strategies (replace terms, remove offending sentences, append a note or help) or
  regenerate (ask the upstream again with the rule's guidance). Whatever the rewrite produced is checked
  again before delivery; if it still breaks a rule, or regeneration gives up after the policy's attempts,
  the answer is blocked instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .checks.base import Finding
from .policy import Policy
from .rules.model import Curriculum, Rule
from .rules.rulebook import Compiled
from .supervision import Supervisor
from .verdict import Verdict

Regenerate = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class Outcome:
    decision: str
    text: str
    verdict: Verdict              # the verdict on the upstream's original answer
    final_verdict: Verdict        # the verdict on what is delivered (the re-check, for rewrites)
    attempts: int = 1


def strategy_of(rule: Rule) -> str:
    if rule.rewrite:
        return rule.rewrite.strategy
    if rule.target == "user":
        return "append_help" if rule.category == "crisis_support" else "append_note"
    return "remove_sentences"


def _rewriting(verdict: Verdict) -> list[Finding]:
    return [f for f in verdict.findings if verdict.actions.get(f.rule_id) == "rewrite"]


def apply_text_rewrites(text: str, findings: list[Finding], curriculum: Curriculum, lang: str) -> str | None:
    """Replace terms, remove offending sentences, append notes and help. None if nothing would be left."""
    text, removed = rewrite_text(text, findings, curriculum)
    if removed and not text:
        return None
    notes = notes_for(findings, curriculum, lang, removed)
    return "\n\n".join([text, *notes]) if notes else text


def rewrite_text(text: str, findings: list[Finding], curriculum: Curriculum) -> tuple[str, bool]:
    """Term replacements and sentence removal (spans index `text`). Returns the new text, stripped, and
    whether anything was removed. Streaming applies this to the part of an answer not yet released."""
    rules = {f.rule_id: curriculum.rule(f.rule_id) for f in findings}
    # 1. term replacements, in every language the rule lists (answers switch languages)
    for rule in rules.values():
        if rule and strategy_of(rule) == "replace_terms":
            for table in rule.rewrite.replacements.values():
                for wrong, right in table.items():
                    text = text.replace(wrong, right)
    # 2. remove offending sentences (spans are on the original text; remove from the end backwards)
    spans = sorted({f.span for f in findings if f.target == "response" and rules.get(f.rule_id)
                    and strategy_of(rules[f.rule_id]) in ("remove_sentences", "regenerate")}, reverse=True)
    for start, end in spans:
        text = text[:start] + text[end:]
    return text.strip(), bool(spans)


def notes_for(findings: list[Finding], curriculum: Curriculum, lang: str, removed: bool) -> list[str]:
    """The notes and help a rewrite appends, each once, in the student's language."""
    notes: list[str] = []
    for rule in {f.rule_id: curriculum.rule(f.rule_id) for f in findings}.values():
        if not rule:
            continue
        strategy = strategy_of(rule)
        if strategy == "append_help":
            notes.append(curriculum.message(curriculum.help, lang))
        elif strategy == "append_note" and rule.messages:
            notes.append(curriculum.message(rule.messages, lang))
    if removed and curriculum.rewritten:
        notes.append(curriculum.message(curriculum.rewritten, lang))
    return [n for n in dict.fromkeys(notes) if n]


def distress(verdict: Verdict, curriculum: Curriculum) -> list[Finding]:
    """Findings on the student's own words that owe them help (a disclosure of distress)."""
    return [f for f in verdict.findings if f.target == "user" and (rule := curriculum.rule(f.rule_id))
            and strategy_of(rule) == "append_help"]


def refusal_for(verdict: Verdict, curriculum: Curriculum) -> str:
    """The refusal in the student's language; a student in distress gets the help message with it, whatever
    else made the answer unfit: a block must never take the help away."""
    refusal = curriculum.message(curriculum.refusal, verdict.lang)
    help_ = notes_for(distress(verdict, curriculum), curriculum, verdict.lang, removed=False)
    return "\n\n".join([refusal, *help_])


def _still_unsafe(verdict: Verdict, curriculum: Curriculum) -> bool:
    """After a rewrite: anything the answer itself still does wrong, or help that is still missing."""
    for f in verdict.findings:
        action = verdict.actions.get(f.rule_id)
        if action == "block":
            return True
        rule = curriculum.rule(f.rule_id)
        if action == "rewrite" and (f.target == "response" or (rule and rule.response_lacks == "help")):
            return True
    return False


async def enforce(verdict: Verdict, text: str, compiled: Compiled, policy: Policy, supervisor: Supervisor, *,
                  messages: list[dict] | None, grade: int | None, mode: str,
                  regenerate: Regenerate | None = None) -> Outcome:
    curriculum = compiled.curriculum
    refusal = refusal_for(verdict, curriculum)
    if verdict.decision in ("pass", "flag"):
        return Outcome(verdict.decision, text, verdict, verdict)
    if verdict.decision == "block":
        return Outcome("block", refusal, verdict, verdict)

    findings = _rewriting(verdict)
    wants_regeneration = [f for f in findings
                          if (rule := curriculum.rule(f.rule_id)) and strategy_of(rule) == "regenerate"]

    async def recheck(candidate: str) -> Verdict:
        return await supervisor.check(compiled, policy, response=candidate, messages=messages, grade=grade,
                                      lang=verdict.lang, mode=mode)

    if wants_regeneration and regenerate is not None:
        guidance = " ".join(dict.fromkeys(
            curriculum.rule(f.rule_id).rewrite.guidance or curriculum.rule(f.rule_id).description
            for f in wants_regeneration))
        attempts = 0
        for attempts in range(1, policy.regenerate_attempts + 1):
            candidate = await regenerate(guidance)
            again = await recheck(candidate)
            if again.decision in ("pass", "flag"):
                return Outcome("rewrite", candidate, verdict, again, attempts + 1)
        return Outcome("block", refusal, verdict, verdict, attempts + 1)

    # Without an upstream to regenerate from (check-only API), regeneration falls back to removal.
    candidate = apply_text_rewrites(text, findings, curriculum, verdict.lang)
    if candidate is None:
        return Outcome("block", refusal, verdict, verdict)
    again = await recheck(candidate)
    if _still_unsafe(again, curriculum):
        return Outcome("block", refusal, verdict, again)
    return Outcome("rewrite", candidate, verdict, again)
