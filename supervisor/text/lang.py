"""A small language guesser for the languages we serve: by script first, then by function words.

Used to pick the language of refusal and help messages and of rule phrases. It is a hint: a request's
explicit `lang`, then the school's languages, take precedence.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_SCRIPT_LANG = [
    ("\u0e00", "\u0e7f", "th"), ("\u0e80", "\u0eff", "lo"), ("\u1780", "\u17ff", "km"),
    ("\u1000", "\u109f", "my"), ("\u0b80", "\u0bff", "ta"), ("\u3040", "\u30ff", "ja"),
]
# Vietnamese letters and tone marks; none of the other Latin-script languages we serve writes these.
_VI_MARKS = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]")
_WORDS = {
    "en": {"the", "and", "is", "you", "to", "of", "it", "that", "your", "are", "with", "for", "this", "what"},
    "id": {"yang", "dan", "ini", "itu", "dengan", "untuk", "tidak", "kamu", "adalah", "dari", "akan", "bisa",
           "saya", "juga", "karena", "atau", "sudah", "kita"},
    "ms": {"yang", "dan", "ini", "itu", "dengan", "untuk", "tidak", "awak", "anda", "adalah", "dari", "boleh",
           "saya", "juga", "kerana", "atau", "sudah", "kita", "ialah", "daripada", "tak", "nak"},
    "tl": {"ang", "ng", "mga", "sa", "na", "ay", "at", "ko", "mo", "ka", "ito", "hindi", "po", "naman", "kung",
           "para", "siya", "niya", "ba"},
}


def detect(text: str, default: str | None = "en") -> str | None:
    """The language of `text`, or `default` when the text gives no evidence (too short, no known words)."""
    counts: Counter[str] = Counter()
    han = 0
    for ch in text:
        for lo, hi, lang in _SCRIPT_LANG:
            if lo <= ch <= hi:
                counts[lang] += 1
                break
        else:
            if "\u4e00" <= ch <= "\u9fff":
                han += 1
    if counts or han:
        if counts.get("ja"):
            return "ja"  # kana anywhere means Japanese, even when kanji dominate
        lang, n = counts.most_common(1)[0] if counts else ("zh", 0)
        return "zh" if han > n else lang
    lowered = text.lower()
    if len(_VI_MARKS.findall(lowered)) >= 2:
        return "vi"
    words = re.findall(r"[a-z]+", unicodedata.normalize("NFKC", lowered))
    if not words:
        return default
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()}
    # Malay and Indonesian share most function words; the distinct ones decide.
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] > 0 else default
