"""When a streamed answer is held whole instead of released sentence by sentence.

Some answers must not start reaching a student until all of them is checked: a harmless-looking opening
("I understand how you feel...") can lead into self-harm methods or sexual content, and a student who
discloses distress should get one whole, checked answer. A rule is *held* when it says `hold: full` or its
category is in the school policy's `hold_full_categories` (default: self_harm, sexual_content,
crisis_support); a policy with `hold: full` holds every answer.

Holding starts
1. before the first word, when the policy holds everything;
2. before the first word, when the student's message certainly triggers a user-target rule that is held or
   whose action is `block` (the answer may have to be replaced whole), or reads like the must-match
   examples of a held answer rule (a question about methods of self-harm), or asks for what a held answer
   rule forbids (its `requests` examples, `checks/semantic.requested_rules`). Only certain hits count here:
   short messages sit in the uncertain band of user rules far too often ("くわしく教えて" does), and a
   hold costs every such student the whole answer's wait;
3. before the first word, when the student's message is ON a topic that a rule regenerating answers judges by
   stance (policy `hold_topic_categories`: a territory, a contested event; the message as near to the rule's
   examples, either side, as the semantic threshold): a wrong first sentence would already be read when the
   rest breaks the rule, and the regenerated answer would have to contradict it. Held, the whole answer is
   regenerated instead;
4. mid-stream, from the first sentence on which a held rule scores at all (certain or uncertain band)
   without yet asking for a rewrite or block: that sentence and everything after it wait for the end.
A held answer is judged whole at the end and released at once, or replaced, per the decision.
"""

from __future__ import annotations

import asyncio

import numpy as np

from .checks.base import CheckContext
from .checks.semantic import requested_rules
from .enforce import strategy_of
from .policy import Policy
from .rules.model import Rule
from .rules.rulebook import Compiled
from .supervision import Supervisor, last_user_message


def is_held(rule: Rule | None, policy: Policy) -> bool:
    if rule is None:
        return False
    return policy.hold == "full" or rule.hold == "full" or rule.category in policy.hold_full_categories


def _held_from_the_start(rule: Rule, policy: Policy, mode: str) -> bool:
    if rule.target == "user":
        return is_held(rule, policy) or policy.action_for(rule, mode) == "block"
    return is_held(rule, policy)


async def hold_from_start(supervisor: Supervisor, compiled: Compiled, policy: Policy, messages: list[dict],
                          grade: int | None, mode: str) -> str | None:
    """Why the answer to these messages is held whole from its first word (`policy` or a rule id), or None.

    Conditions on the answer (`when`) are ignored: the answer does not exist yet, and holding only costs
    time to first token, never safety."""
    if policy.hold == "full":
        return "policy"
    user_text = last_user_message(messages)
    if not user_text.strip():
        return None
    view = await asyncio.to_thread(supervisor.view, compiled, user_text)
    # the student's message stands in for both texts: user rules read it as such, answer rules as an answer
    ctx = CheckContext(response=view, user=view, lang="", grade=grade,
                       requested=requested_rules(view, compiled.index, compiled.learned))
    for rule in compiled.curriculum.rules:
        if not rule.applies_to_grade(grade) or not _held_from_the_start(rule, policy, mode):
            continue
        if any(not hit.uncertain for kind in rule.kinds for hit in compiled.checks[kind](rule, ctx)):
            return rule.id
    for rule in compiled.curriculum.rules:
        if (rule.target == "response" and rule.category in policy.hold_topic_categories
                and rule.applies_to_grade(grade) and strategy_of(rule) == "regenerate"
                and policy.action_for(rule, mode) in ("rewrite", "block") and _on_topic(view, compiled, rule)):
            return rule.id
    return None


def _on_topic(view, compiled: Compiled, rule: Rule) -> bool:
    """The message is about what the rule judges: as near to one of its examples, breaking it or not (the
    topic, whatever the stance), as the semantic threshold."""
    index = compiled.index
    if view.similarities is None or not len(view.sentences) or rule.id not in index.rules:
        return False
    own = [index.position[t] for table in (rule.match_examples, rule.no_match_examples)
           for items in table.values() for t in items if t in index.position]
    return bool(own) and float(view.similarities[:, np.asarray(own)].max()) >= index.threshold
