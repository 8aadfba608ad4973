"""Lexical stage: rule phrases found in folded text, exactly (`phrase`) or approximately (`fuzzy`).

Phrases from every language of a rule are tried, because students and models switch languages. In Latin
script a phrase must start and end at word boundaries (`kill` must not fire inside `skill`); scripts without
spaces (Thai, Khmer, Lao, Burmese, Japanese, Chinese) match anywhere.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

from ..rules.model import Rule
from ..text.normalize import fold
from .base import CheckContext, Finding, TextView

DEFAULT_FUZZY_SCORE = 90.0
MIN_FUZZY_CHARS = 5  # shorter phrases are too easy to hit by accident; they match exactly only


def _is_wordy(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_") or ("\u00c0" <= ch <= "\u024f") or ("\u1e00" <= ch <= "\u1eff")


@lru_cache(maxsize=8192)
def _folded_phrase(phrase: str) -> str:
    return fold(phrase)


def _sentence_at(view: TextView, start: int) -> str:
    for s in view.sentences:
        if s.start <= start < s.end:
            return s.text
    return view.text[max(0, start - 40): start + 80]


def _finding(rule: Rule, view: TextView, target: str, fstart: int, fend: int, phrase: str,
             stage_score: float) -> Finding:
    start, end = view.folded.span(fstart, fend)
    return Finding(rule.id, rule.category, rule.severity, "lexical", stage_score, target, (start, end),
                   _sentence_at(view, start), phrase)


def find_exact(folded_text: str, phrase: str) -> list[tuple[int, int]]:
    out = []
    wordy_edges = _is_wordy(phrase[0]), _is_wordy(phrase[-1])
    for m in re.finditer(re.escape(phrase), folded_text):
        s, e = m.span()
        if wordy_edges[0] and s > 0 and _is_wordy(folded_text[s - 1]):
            continue
        if wordy_edges[1] and e < len(folded_text) and _is_wordy(folded_text[e]):
            continue
        out.append((s, e))
    return out


def check_phrase(rule: Rule, ctx: CheckContext) -> list[Finding]:
    view = ctx.user if rule.target == "user" else ctx.response
    for _lang, phrase in rule.all_phrases():
        folded = _folded_phrase(phrase)
        if not folded:
            continue
        hits = find_exact(view.folded.text, folded)
        if hits:
            s, e = hits[0]
            return [_finding(rule, view, rule.target, s, e, phrase, 1.0)]
    return []


def check_fuzzy(rule: Rule, ctx: CheckContext) -> list[Finding]:
    exact = check_phrase(rule, ctx)
    if exact:
        return exact
    view = ctx.user if rule.target == "user" else ctx.response
    cutoff = rule.fuzzy_score or DEFAULT_FUZZY_SCORE
    text = view.folded.text
    best: tuple[float, int, int, str] | None = None
    for _lang, phrase in rule.all_phrases():
        folded = _folded_phrase(phrase)
        if len(folded) < MIN_FUZZY_CHARS:
            continue
        hit = fuzz.partial_ratio_alignment(folded, text, score_cutoff=cutoff)
        if hit is not None and (best is None or hit.score > best[0]):
            best = (hit.score, hit.dest_start, hit.dest_end, phrase)
    if best is None:
        return []
    score, s, e, phrase = best
    return [_finding(rule, view, rule.target, s, e, phrase, score / 100.0)]
