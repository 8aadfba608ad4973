"""The review pages' words in every language the supervisor serves. Each user picks one (stored on the user).

One YAML file per language under `locales/` (`key: text`), read on first use, not at import. English is
complete by definition; any other language missing a key falls back to English, and a test keeps every
language complete. Untrusted text never passes through here: these strings are ours and are escaped like any
other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml

LOCALES = Path(__file__).parent / "locales"
# code: the language's own name, as the settings page offers it (the curricula's schema.LANGUAGES, all of them)
UI_LANGUAGES = {
    "en": "English", "id": "Bahasa Indonesia", "ja": "日本語", "km": "ភាសាខ្មែរ", "lo": "ພາສາລາວ",
    "ms": "Bahasa Melayu", "my": "မြန်မာဘာသာ", "pt": "Português", "ta": "தமிழ்", "tet": "Tetun", "th": "ไทย",
    "tl": "Tagalog", "vi": "Tiếng Việt", "zh": "中文",
}
DEFAULT_LANG = "en"
# what browsers send for languages the pages offer under another code: Filipino is written as Tagalog here,
# Tetun Dili (ISO 639-3 `tdt`) as Tetun
_SAME_AS = {"fil": "tl", "zsm": "ms", "tdt": "tet"}


@cache
def table(lang: str) -> dict[str, str]:
    """The language's words as written in its file (empty for an unknown language)."""
    path = LOCALES / f"{lang}.yaml"
    if lang not in UI_LANGUAGES or not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items() if v}


class Translator:
    """`t(key)`: the text in the page's language, else English, else the key itself. `t.lang` names it."""

    def __init__(self, lang: str):
        self.lang = lang if lang in UI_LANGUAGES else DEFAULT_LANG

    def __call__(self, key: str) -> str:
        return table(self.lang).get(key) or table(DEFAULT_LANG).get(key) or key


def translator(lang: str) -> Callable[[str], str]:
    return Translator(lang)


def best_language(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header (for the sign-in page)."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        code = _SAME_AS.get(code, code)
        if code in UI_LANGUAGES:
            return code
    return DEFAULT_LANG


def missing_translations() -> list[str]:
    english = table(DEFAULT_LANG)
    return [f"{key}:{lang}" for lang in UI_LANGUAGES for key in english if key not in table(lang)]


def unknown_keys() -> list[str]:
    """Keys a language file has that English does not: a typo, or a word no page uses any more."""
    english = table(DEFAULT_LANG)
    return [f"{key}:{lang}" for lang in UI_LANGUAGES for key in table(lang) if key not in english]
