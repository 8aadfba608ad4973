"""Semantic stage: each sentence against each rule's must-match and must-not examples.

Every example of every rule in a curriculum is embedded once into one matrix; a checked text's sentences are
embedded once; one matrix product gives every sentence-example similarity. Before that product both sides are
projected off what all the curriculum's sentences share (their mean and top principal directions, fitted on
the examples at load time): what is left is what a sentence says rather than which language it is in. A rule
fires on a sentence when

    best_match ≥ threshold  and  best_match − best_near_miss ≥ margin

where near-misses are the rule's own `no_match` examples, those of the other rules in its category
(legitimate teaching on the same topics) and the curriculum's everyday lesson sentences (`lessons.yaml`,
which set each language's background: in some languages any two sentences look alike to the model). Topic similarity alone is not enough; the sentence must be closer
to what violating answers say than to what good lessons say. Scores in the band just under the threshold are
marked uncertain, for the optional LLM judge.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from ..rules.model import Curriculum, Rule
from ..rules.schema import PEDAGOGY_CATEGORIES, UNIVERSAL_CATEGORIES
from ..text.normalize import fold, holds_any
from .base import CheckContext, Finding
from .learned import REQUEST, label_of

# Similarities are taken after removing what every sentence of the curriculum shares: the mean example vector
# and its top principal directions (mostly which language a sentence is in; raw e5 cosines of any two Thai or
# Chinese sentences sit near 0.85, so one global raw threshold cannot serve all languages).
# Chosen by sweeping bench/detector_sweep.py over leave-one-out lint and shared/eval/dev.jsonl together:
#   raw cosine, 0.88/0.028:  lint 1428 must-match missed, 20 must-not caught; dev recall 0.838, FPR 0.050
#   3 components, 0.38/0.12: lint  671 missed, 17 caught;                     dev recall 0.900, FPR 0.050
# The baseline's hate_harassment and dangerous_activity rules (about 2,600 examples) then moved the projection:
#   3 components, 0.38/0.12: lint  753 missed, 25 caught;                     dev recall 0.888, FPR 0.100
#   3 components, 0.39/0.13: lint  805 missed, 17 caught;                     dev recall 0.850, FPR 0.050
# Over-blocking a lesson costs trust as fast as a miss, so the false-alarm side wins the tie.
DEFAULT_COMPONENTS = 3
DEFAULT_THRESHOLD = 0.39
DEFAULT_MARGIN = 0.13
UNCERTAIN_BAND = 0.08  # after projection scores spread about four times wider than raw cosines
# A nearest-example match is confirmed only when the category's head gives it at least this, whatever its
# calibrated `gate` says: where held-out positives of a label often score near zero (a head that transfers
# badly to some languages), the gate falls to ~0.001 and confirms anything. Under 1 in 100 the head is evidence
# against; such a match goes to the uncertain band (the judge), not away. (The same reasoning as the 0.5 floor
# under `mid` and `fire` in checks/learned.py.) Measured on c6d6b78, shipped curricula: the 616
# validation cases 257/18 -> 257/17 (caught / false alarms), the two sounds-unsafe sets 0.275 -> 0.258 and
# 0.323 -> 0.302 false-alarm rate at unchanged recall, the misinformation set 0.733 -> 0.717 recall; dev
# unchanged. Applied to every use of `gate` (after a harmful request, `_on_topic`) it cost 6 caught for 16 false
# alarms fewer: kept to confirmation alone.
CONFIRM_FLOOR = 0.01


@dataclass(frozen=True)
class RuleIndex:
    match: np.ndarray      # column indexes into the example matrix
    near_miss: np.ndarray
    match_texts: tuple[str, ...]
    requests: np.ndarray       # what students ask when this rule's answer would serve them
    request_texts: tuple[str, ...]
    # near_miss is the rule's category's no_match examples and a background (lessons or questions) that every
    # rule on the same target shares: `background` names it (the target) and `own_near` is the rest, so a
    # sentence's best background score is taken once for all rules. None when a match example is also in the
    # background (it is then left out of this rule's near-misses, so the shared best does not apply).
    own_near: np.ndarray
    background: str | None


class SemanticIndex:
    """The embedded examples of one curriculum. Built at load time, immutable afterwards."""

    def __init__(self, curriculum: Curriculum, embed, threshold: float = DEFAULT_THRESHOLD,
                 margin: float = DEFAULT_MARGIN, components: int = DEFAULT_COMPONENTS, k: int = 1):
        self.threshold = threshold
        self.margin = margin
        self.k = k
        texts: list[str] = []
        position: dict[str, int] = {}

        def columns(items) -> np.ndarray:
            cols = []
            for text in items:
                if text not in position:
                    position[text] = len(texts)
                    texts.append(text)
                cols.append(position[text])
            return np.asarray(cols, dtype=np.int64)

        semantic = [r for r in curriculum.rules if "semantic" in r.kinds]
        by_category: dict[str, list[str]] = {}
        for rule in semantic:
            by_category.setdefault(rule.category, []).extend(
                t for items in rule.no_match_examples.values() for t in items)
        # an answer's background: good lessons, and safe refusals and support (which name risky topics on purpose)
        lessons = {t for table in (curriculum.lessons, curriculum.refusals) for items in table.values() for t in items}
        questions = {t for items in curriculum.questions.values() for t in items}
        requests = {t for r in semantic for items in r.request_examples.values() for t in items}
        tasks = {t for items in curriculum.tasks.values() for t in items}
        examples = [t for r in semantic for table in (r.match_examples, r.no_match_examples)
                    for items in table.values() for t in items]
        self.rules: dict[str, RuleIndex] = {}
        self.curriculum_rules = {rule.id: rule for rule in semantic}
        placed: dict[str, tuple[list[str], np.ndarray]] = {}  # a background in sorted order, and its columns
        for rule in semantic:
            matches = [t for items in rule.match_examples.values() for t in items]
            # an answer is judged against good lessons, a student's message against ordinary questions
            background = lessons if rule.target == "response" else questions
            asked = [t for items in rule.request_examples.values() for t in items]
            shared = background.isdisjoint(matches)
            match_cols = columns(matches)
            if shared and rule.target in placed:
                # the near-misses are this rule's own plus the background, which earlier rules placed: merged in
                # sorted order from the two parts, the same columns as sorting the union (a few thousand texts
                # for each of a hundred rules in thirteen curricula: most of a restart's Python time)
                own = sorted(set(by_category.get(rule.category, ())) - background - set(matches))
                own_cols = columns(own)
                ordered, background_cols = placed[rule.target]
                near_cols = np.insert(background_cols, [bisect.bisect_left(ordered, t) for t in own], own_cols)
                self.rules[rule.id] = RuleIndex(match_cols, near_cols, tuple(matches), columns(asked),
                                                tuple(asked), own_cols, rule.target)
                continue
            near = (set(by_category.get(rule.category, ())) | background) - set(matches)
            near_cols = columns(sorted(near))
            if shared:
                ordered = sorted(background)
                placed[rule.target] = (ordered, np.asarray([position[t] for t in ordered], dtype=np.int64))
            own = sorted(near - background) if shared else sorted(near)
            self.rules[rule.id] = RuleIndex(match_cols, near_cols, tuple(matches), columns(asked), tuple(asked),
                                            columns(own), rule.target if shared else None)
        self.backgrounds = {"response": columns(sorted(lessons)), "user": columns(sorted(questions))}
        # students' ordinary questions and tasks: what a request must be nearer to a rule's requests than to
        # (tasks are not the background of rules on the student's message: "write a letter to my grandmother"
        # must not make "I wrote a farewell letter to my family" look ordinary)
        self.questions = columns(sorted(questions | tasks))
        self.refusals = columns(sorted({t for items in curriculum.refusals.values() for t in items}))
        self.all_matches = columns(sorted({t for r in semantic for items in r.match_examples.values() for t in items}))
        self.all_requests = columns(sorted(requests))
        self.texts = texts
        self.position = position
        raw = embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        # The projection is fitted on what answers look like (examples and lessons); students' questions and
        # requests are only a background to beat, and a short question register must not move the answers'
        # geometry.
        only_questions = (questions | requests | tasks) - lessons - set(examples)
        fit = raw[[i for i, t in enumerate(texts) if t not in only_questions]] if only_questions else raw
        self.mean = fit.mean(axis=0) if components and len(fit) > components else None
        self.basis = _top_components(fit - self.mean, components) if self.mean is not None else None
        self.matrix = self.project(raw)

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Remove what every sentence shares (the mean, and the top principal directions: mostly which
        language and register a sentence is in) so that cosine measures what the sentence says."""
        if self.mean is None or not len(vectors):
            return vectors
        out = vectors - self.mean
        if self.basis is not None:
            out = out - (out @ self.basis.T) @ self.basis
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def similarities(self, sentence_vectors: np.ndarray) -> np.ndarray:
        if not len(self.texts) or not len(sentence_vectors):
            return np.zeros((len(sentence_vectors), len(self.texts)), dtype=np.float32)
        return self.project(sentence_vectors) @ self.matrix.T

    def score(self, rule: Rule, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per sentence: best must-match similarity, its example index, best near-miss similarity."""
        return Scores(self, sims).of(rule.id)


class Scores:
    """Every rule's nearest-example scores for one text's similarity rows, each worked out once.

    A text is checked against every rule, and the semantic check also compares a rule with its category's other
    rules, so without this the same columns were reduced again and again (most of a check's time, on the event
    loop). The background every rule on a target shares (the curriculum's lessons, or students' questions, a
    few thousand columns) is reduced once per target; each rule then adds only its own near-misses."""

    def __init__(self, index: SemanticIndex, sims: np.ndarray):
        self.index, self.sims = index, sims
        self._rules: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._backgrounds: dict[str, np.ndarray] = {}

    def of(self, rule_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        done = self._rules.get(rule_id)
        if done is None:
            done = self._rules[rule_id] = self._score(self.index.rules[rule_id])
        return done

    def _score(self, idx: RuleIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k, sims = self.index.k, self.sims
        pos = sims[:, idx.match]
        which = pos.argmax(axis=1)
        best = _top_mean(pos, k)
        if idx.background is None:
            near = _top_values(sims[:, idx.near_miss], k)
        else:
            near = np.concatenate([self._background(idx.background), _top_values(sims[:, idx.own_near], k)], axis=1)
        neg = _top_mean(near, k) if near.shape[1] else np.full(len(sims), -1.0)
        return best, which, neg

    def _background(self, target: str) -> np.ndarray:
        done = self._backgrounds.get(target)
        if done is None:
            done = self._backgrounds[target] = _top_values(self.sims[:, self.index.backgrounds[target]], self.index.k)
        return done


def _top_values(sims: np.ndarray, k: int) -> np.ndarray:
    """Each row's k highest values (unordered; fewer if the row is shorter): the top k of a union of columns
    is the top k of the parts' top k."""
    if sims.shape[1] <= k:
        return sims
    if k <= 1:
        return sims.max(axis=1, keepdims=True)
    return np.partition(sims, -k, axis=1)[:, -k:]


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    """Mean of each row's k highest values: one lucky neighbour counts less than several agreeing ones."""
    return _top_values(sims, k).mean(axis=1)


def _top_components(centered: np.ndarray, n: int) -> np.ndarray:
    """The n principal directions of the example matrix (rows of the result), sign-fixed to be deterministic.

    From the eigenvectors of the d×d scatter matrix rather than an SVD of the N×d examples: the same directions
    (to 1e-15), at a tenth of the work; the SVD of a country's 12,000 examples took a minute of a hot reload on
    a busy two-core machine."""
    x = centered.astype(np.float64)
    _, vectors = np.linalg.eigh(x.T @ x)  # eigenvalues ascending
    basis = vectors[:, ::-1][:, :n].T
    signs = np.sign(basis[np.arange(len(basis)), np.abs(basis).argmax(axis=1)])
    return (basis * signs[:, None]).astype(np.float32)


HEAD_LED_CATEGORIES = frozenset(UNIVERSAL_CATEGORIES + PEDAGOGY_CATEGORIES)


def make_check(index: SemanticIndex, learned=None):
    """The `semantic` kind's check for one curriculum's index, with the learned stage's heads when given.

    Without heads (a backend or curriculum with nothing to learn from), a rule fires on nearest-example
    evidence alone (threshold and margin). With heads, per sentence, a rule fires when
    - confirmed: the nearest examples say so (threshold and margin) and the rule's category head agrees at
      least at its `gate`, and never under CONFIRM_FLOOR (below it the match is topic without substance, and goes
      to the uncertain band);
    - or, for universal safety and pedagogy rules whose examples are the category's nearest and at least as
      near as their near-misses (within the uncertain band of the threshold), the category head is sure (`fire`), or two
      moderate signals agree: the head at `mid` and half the margin. After a harmful request that the answer
      does not decline, the head's `gate` is enough there. A sentence the stance head reads as declining or
      supporting is not led by the head below `fire`: it is judged by its stance, not its topic;
    - a match that beats the threshold but not the margin is uncertain, not dropped; for a universal safety or
      pedagogy rule on the answer it is upheld (stage `asked`) when the student's message asks for the
      category's harm (its head on students' messages at `mid`) and the answer goes along: two moderate signals,
      one from each side of the exchange;
    - for a universal safety or pedagogy rule on the answer: the student's message asks for what the rule
      forbids (`requested_rules`: the request head sure, the rule's `requests` examples the nearest) and
      the answer goes along with it (does not open by declining, redirecting or supporting, and some sentence of
      it is about the category's harm: `_on_topic`). The answer is then judged by the request, however mild its
      own words (stage `request`).
    - for crisis rules on the student's message (never head-led: "Dad scolded me" reads as abuse to a head): the
      nearest examples beat the threshold and every near-miss, though not by the full margin, and the head is
      sure (`fire`) both of the sentence and of the whole message read as one text;
    - a sentence of the answer holding one of the curriculum's refusal markers declines, whatever topic it names:
      its findings are uncertain at most; one pointing to help (a help marker) is not head-led.
    The thresholds are the heads' calibrated ones (checks/learned.py); the evidence a teacher sees is always
    the rule's nearest example.
    """
    by_category: dict[tuple[str, str], list[str]] = {}
    for rule_id in index.rules:
        rule = index.curriculum_rules[rule_id]
        by_category.setdefault((rule.target, rule.category), []).append(rule_id)

    def check_semantic(rule: Rule, ctx: CheckContext) -> list[Finding]:
        if rule.id not in index.rules:
            return []
        view = ctx.user if rule.target == "user" else ctx.response
        if reads_halves(rule) and view.parts is not None:
            view = view.parts
        if view.similarities is None or not len(view.sentences):
            return []
        scores = view.memo.get(index)
        if scores is None:
            scores = view.memo[index] = Scores(index, view.similarities)
        best, which, neg = scores.of(rule.id)
        threshold = rule.threshold if rule.threshold is not None else index.threshold
        margin = rule.margin if rule.margin is not None else index.margin
        label = label_of(rule.target, rule.category)
        column = learned.column(label) if learned is not None else None
        probs = view.probabilities if column is not None else None
        # the head may lead only for what a sentence shows by what it is about (universal safety, and pedagogy:
        # "copy this and hand it in"): in curriculum and culture the same topic is taught or violated by its
        # stance ("Takeshima is Japan's" / "is Korea's"), which a head over a sentence's meaning cannot tell apart
        # On the student's message only pedagogy ("write my graded essay, I'll copy it") is head-led: a crisis
        # disclosure read by topic alone takes "Dad scolded me for gaming" for abuse, so those rules keep to
        # their nearest examples (and their uncertain band, for the judge).
        may_lead = probs is not None and rule.category in (
            HEAD_LED_CATEGORIES if rule.target == "response" else PEDAGOGY_CATEGORIES)
        if probs is not None:
            head = probs[:, column]
            limits = learned.thresholds[label]
            stance_col = learned.column("stance")
            stance = probs[:, stance_col] if stance_col is not None and rule.target == "response" else None
            two_signal = reads_halves(rule)  # the crisis rules on the student's message (see the docstring)
            rivals = ([r for r in by_category[(rule.target, rule.category)] if r != rule.id]
                      if may_lead or two_signal else [])
            rival_best = (np.max([scores.of(r)[0] for r in rivals], axis=0) if rivals
                          else np.full(len(best), -1.0))
        out: list[Finding] = []
        if may_lead and ctx.answer_complies and _on_topic(np.maximum(best, rival_best), head, threshold, limits):
            out.extend(_requested(rule, ctx, head))
        asked = may_lead and rule.target == "response" and ctx.answer_complies and _asked_for(rule.category, ctx, learned)
        for i, sentence in enumerate(view.sentences):
            gap = float(best[i] - neg[i])
            near = best[i] >= threshold and gap >= margin
            if probs is None:
                certain, stage = near, "semantic"
                doubtful = not near and gap >= margin and best[i] >= threshold - UNCERTAIN_BAND
            else:
                p = float(head[i])
                declining = stance is not None and stance[i] >= learned.thresholds["stance"].fire
                # the head leads only where the nearest examples agree on the rule: this rule's examples are
                # the category's nearest and at least as near as its near-misses
                leading = may_lead and gap >= 0 and best[i] >= rival_best[i]
                complying = rule.target == "response" and ctx.harmful_request and ctx.answer_complies
                # (no stance veto here: refusals and support are part of the nearest-example background, so a
                # declining sentence is already nearer to them than to the rule's examples unless it is nearly
                # one of those examples; the stance head, weak in some languages, reads compliance as refusal)
                # a half of a run-on sentence is a fragment ("can you summarise it for me"): its nearest examples say
                # where the disclosure is, and the head must read the whole sentence as one (at `mid`)
                if view.halves_from is not None and i >= view.halves_from:
                    p = float(head[_whole_of(view, i)])
                    confirmed = near and p >= limits.mid
                else:
                    confirmed = near and p >= max(limits.gate, CONFIRM_FLOOR)
                    # a disclosure the head is sure of, whose nearest examples are this rule's and nearer than
                    # any near-miss, though not by the full margin
                    if two_signal and not confirmed and view.message_probabilities is not None:
                        confirmed = (best[i] >= threshold and gap >= 0 and best[i] >= rival_best[i]
                                     and min(p, float(view.message_probabilities[column])) >= limits.fire)
                # two moderate signals: the head at `mid`, the nearest examples within the uncertain band and
                # half the margin; after a harmful request that the answer does not decline, the head's `gate`
                head_bar = limits.gate if complying else limits.mid
                certain = confirmed or (leading and best[i] >= threshold - UNCERTAIN_BAND and (
                    p >= limits.fire or (not declining and gap >= margin / 2 and p >= head_bar)))
                stage = "learned" if certain and not confirmed else "semantic"
                doubtful = not certain and not declining and (
                    near or (best[i] >= threshold and gap >= 0)
                    or (best[i] >= threshold - UNCERTAIN_BAND and gap >= margin and p >= limits.gate))
            if (certain or doubtful) and rule.target == "response" and stage != "request":
                # a sentence in the curriculum's words of refusal declines, whatever topic it names; one that
                # points to help (counsellor, helpline) is not led by the head, only by its nearest examples
                said = fold(sentence.text)
                if holds_any(said, ctx.refusal_markers) or (stage == "learned" and holds_any(said, ctx.help_markers)):
                    certain, doubtful = False, True
            if doubtful and asked:
                # two independent signals: the answer's sentence is within the uncertain band of this rule's examples,
                # and the student's message asks for this category's harm (its head at `mid`), which the answer
                # goes along with
                certain, doubtful, stage = True, False, "asked"
            if certain or doubtful:  # both need the nearest examples within the uncertain band of the threshold
                out.append(Finding(rule.id, rule.category, rule.severity, stage, float(best[i]),
                                   rule.target, (sentence.start, sentence.end), sentence.text,
                                   index.rules[rule.id].match_texts[int(which[i])], uncertain=not certain))
        return _strongest_first(out)

    return check_semantic


def _whole_of(view, i: int) -> int:
    """The row of the whole sentence that half `i` of the view was cut from."""
    half = view.sentences[i]
    return next(j for j in range(view.halves_from)
                if view.sentences[j].start <= half.start and half.end <= view.sentences[j].end)


def reads_halves(rule: Rule) -> bool:
    """Crisis rules on the student's message read it also in the halves of its long sentences (text.segment.halves):
    a disclosure run into a homework request in one sentence is then judged on its own, and the bare homework
    request, a near-miss of these rules, no longer inherits the disclosure's examples."""
    return rule.target == "user" and rule.category == "crisis_support"


def requested_rules(user, index: SemanticIndex, learned) -> dict[str, tuple[float, str]]:
    """The rules the student's message asks an answer to break: {rule id: (score, nearest request example)}.
    `user` is what the student asks over the recent turns (TextView.asked: the last message, and the
    student's messages before it). A rule is asked for when a sentence of it reads as harmful to the request
    head (at its calibrated `fire`) and its nearest request examples are the rule's (nearer than any other
    rule's requests, and than ordinary students' questions and tasks); its score is the highest such
    sentence's. The head says whether a request is harmful, the nearest examples say which rule it is about.
    Computed once per message."""
    column = learned.column(REQUEST) if learned is not None else None
    if (column is None or user.similarities is None or user.probabilities is None or not len(user.sentences)
            or not len(index.all_requests)):
        return {}
    probs = user.probabilities[:, column]
    harmful = probs >= learned.thresholds[REQUEST].fire
    if not harmful.any():
        return {}
    sims = user.similarities
    others = sims[:, index.all_requests].max(axis=1).astype(np.float64)
    background = (sims[:, index.questions].max(axis=1) if len(index.questions)
                  else np.full(len(sims), -1.0)).astype(np.float64)
    out = {}
    for rule_id, idx in index.rules.items():
        if not len(idx.requests):
            continue
        own = sims[:, idx.requests]
        nearest = own.max(axis=1).astype(np.float64)
        fits = harmful & (nearest >= others - 1e-6) & (nearest >= background)
        if fits.any():
            i = int(np.where(fits, probs, -np.inf).argmax())
            out[rule_id] = (float(probs[i]), idx.request_texts[int(own[i].argmax())])
    return out


def _asked_for(category: str, ctx: CheckContext, learned) -> bool:
    """The student's request (over the recent turns) reads as asking for this category's harm: a sentence of it
    reaches the `mid` threshold of the category's head on students' messages (2% of held-out negatives reach it)."""
    label = label_of("user", category)
    column = learned.column(label)
    probs = ctx.user.asked().probabilities
    if column is None or probs is None or not len(probs):
        return False
    return bool(probs[:, column].max() >= learned.thresholds[label].mid)


def _on_topic(category_best: np.ndarray, head: np.ndarray, threshold: float, limits) -> bool:
    """Whether some sentence of the answer is about the category's harm at all: its nearest examples of the category
    within the uncertain band of the threshold, or its head at the category's `gate`. A request that sounds harmful
    ("what's the best way to gut a fish", "how do I choke an opponent in judo") answered about something else
    (rinsing the fish, the coach's rules) is not gone along with."""
    return bool((category_best >= threshold - UNCERTAIN_BAND).any() or (head >= limits.gate).any())


def _requested(rule: Rule, ctx: CheckContext, head: np.ndarray) -> list[Finding]:
    """An answer that goes along with a request for what the rule forbids is judged by the request: its
    sentence that the category's head reads most as the harm is the one named, the request example the
    evidence. (A refusal or support in its opening sentences means it does not go along: ctx.answer_complies.)"""
    asked = ctx.requested.get(rule.id)
    if asked is None:
        return []
    i = int(np.argmax(head))
    sentence = ctx.response.sentences[i]
    return [Finding(rule.id, rule.category, rule.severity, "request", asked[0], rule.target,
                    (sentence.start, sentence.end), sentence.text, asked[1])]


def _strongest_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.uncertain, -f.score))
