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
# Vietnamese letters and tone marks. Portuguese (and Tetum, which borrows its spelling) also writes the acute,
# grave, circumflex and tilde letters; only the rest is Vietnamese alone.
_VI_MARKS = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]")
_VI_ONLY = re.compile(r"[ăđơưảạấầẩẫậắằẳẵặèẻẽẹếềểễệìỉĩịòỏọốồổỗộớờởỡợùủũụứừửữựýỳỷỹỵ]")
_WORDS = {
    "en": {"the", "and", "is", "you", "to", "of", "it", "that", "your", "are", "with", "for", "this", "what"},
    "id": {"yang", "dan", "ini", "itu", "dengan", "untuk", "tidak", "kamu", "adalah", "dari", "akan", "bisa",
           "saya", "juga", "karena", "atau", "sudah", "kita"},
    "ms": {"yang", "dan", "ini", "itu", "dengan", "untuk", "tidak", "awak", "anda", "adalah", "dari", "boleh",
           "saya", "juga", "kerana", "atau", "sudah", "kita", "ialah", "daripada", "tak", "nak"},
    "tl": {"ang", "ng", "mga", "sa", "na", "ay", "at", "ko", "mo", "ka", "ito", "hindi", "po", "naman", "kung",
           "para", "siya", "niya", "ba"},
    # Tetum and Portuguese share many loanwords (eskola/escola, professor) but hardly any function words. Words
    # both use ("o", "no", "a", "se") are in neither list; "ka" and "ba" also count for Tagalog, so Tetum wins
    # on the words only it has (ne'e, mak, iha, hosi, ...).
    "tet": {"ha'u", "ne'e", "ne'ebé", "nebe", "mak", "iha", "hosi", "husi", "atu", "ona", "bele", "la", "lae",
            "tanba", "maibé", "maibe", "ho", "kona", "saida", "oinsá", "oinsa", "hotu", "deit", "mós", "nia",
            "ita", "ami", "sira", "ka", "ba", "ida", "sé", "fó", "halo", "hatene", "to'o", "ó", "de'it"},
    "pt": {"não", "que", "é", "um", "uma", "de", "do", "da", "dos", "das", "em", "na", "com", "por", "como",
           "mais", "mas", "você", "eu", "ele", "ela", "isso", "isto", "este", "esta", "está", "são", "foi", "ao",
           "pelo", "pela", "também", "porque", "quando", "muito", "os", "as", "aos", "nos", "tu", "teu", "tua"},
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
    marks = len(_VI_MARKS.findall(lowered))
    if marks >= 2 and _VI_ONLY.search(lowered):
        return "vi"
    # letters with their accents, and Tetum's glottal-stop apostrophe inside a word (ha'u, ne'e, to'o)
    words = re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)*", unicodedata.normalize("NFKC", lowered).replace("’", "'"))
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()}
    # Malay and Indonesian share most function words; the distinct ones decide.
    best = max(scores, key=lambda k: scores[k]) if words else None
    if best is not None and scores[best] > 0:
        return best
    return "vi" if marks >= 2 else default  # Vietnamese written only with the letters Portuguese shares
