"""What one exchange may cost the supervisor, and what happens past it.

Requests are bounded at the HTTP edge (api/body.py: bytes; api/chat_request.py: the characters of the
student's message that are judged). An answer is bounded here: one longer than `max_judged_chars` is refused,
in the student's language, as a block by the pseudo-rule `policy.answer-length`. It is never judged in part
and released, and never released unchecked; a stream stops reading the upstream at the limit and ends with
the refusal after what was already checked and released.
"""

from __future__ import annotations

from .checks.base import Finding

LENGTH_RULE = "policy.answer-length"


def too_long(length: int, limit: int) -> tuple[Finding, str]:
    """The finding for an answer past the limit, and the reason for the record."""
    reason = (f"the answer passed {limit} characters ({length} read), the most this deployment judges "
              "(SUPERVISOR_MAX_JUDGED_CHARS): refused rather than released unjudged")
    return Finding(rule_id=LENGTH_RULE, category="policy", severity="high", stage="policy", score=1.0,
                   target="response", span=(0, 0), sentence="", evidence=reason), reason
