"""What every check receives and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..text.normalize import Folded
from ..text.segment import Sentence


@dataclass(frozen=True)
class Finding:
    """One rule that fired, with its evidence. `span` indexes the text named by `target`."""

    rule_id: str
    category: str
    severity: str
    stage: str            # lexical | semantic (nearest examples, head-confirmed) | learned (head-led) | request
                          # (an answer going along with a request for it) | judge
    score: float
    target: str           # response | user
    span: tuple[int, int]
    sentence: str
    evidence: str         # the phrase matched, or the nearest must-match example
    uncertain: bool = False

    def to_dict(self) -> dict:
        return {"rule": self.rule_id, "category": self.category, "severity": self.severity,
                "stage": self.stage, "score": round(float(self.score), 4), "target": self.target,
                "span": list(self.span), "sentence": self.sentence, "evidence": self.evidence}


@dataclass
class TextView:
    """One text under check (the answer or the student's message), prepared once for every rule."""

    text: str
    folded: Folded
    sentences: list[Sentence]
    # cosine of each sentence (rows) against every example in the semantic index (columns)
    similarities: np.ndarray | None = None
    # each sentence's probability for every learned head (columns: `Learned.heads.labels`), if heads exist
    probabilities: np.ndarray | None = None
    # what checks work out from the rows once and share (semantic.Scores, per index)
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    # the student's message read sentence by sentence and in the halves of its long sentences (text.segment.halves),
    # for the rules that read it so (semantic.reads_halves); None where nobody prepared them
    parts: TextView | None = field(default=None, repr=False, compare=False)
    # in such a view, where the halves begin (the rows before are whole sentences)
    halves_from: int | None = None
    # in such a view, the heads' probabilities for the whole message read as one text: "Dad scolded me." alone
    # reads as a disclosure, followed by "how do I stop staying up late?" it does not
    message_probabilities: np.ndarray | None = None
    # the student's request read over the recent turns: this message's sentences, then those of the student's
    # messages before it (supervision.EARLIER_TURNS); None when there were none. Read by the request stage only.
    request: TextView | None = field(default=None, repr=False, compare=False)

    def asked(self) -> TextView:
        """What the student asks: over the recent turns where `request` is set, else this message alone."""
        return self.request if self.request is not None else self


@dataclass
class CheckContext:
    response: TextView
    user: TextView
    lang: str
    grade: int | None
    help_markers: tuple[str, ...] = field(default=())
    # the curriculum's words of refusal ("I can't help with", "não posso"): a sentence holding one declines
    refusal_markers: tuple[str, ...] = field(default=())
    # the student's message asks for something harmful (request head), and the answer does not open by declining
    harmful_request: bool = False
    answer_declines: bool = False
    # the rules whose requests the student's message makes: {rule id: (score, nearest request example)}
    requested: Mapping[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def answer_complies(self) -> bool:
        """The answer says something and does not open by declining, redirecting or supporting."""
        return not self.answer_declines and bool(self.response.sentences)
