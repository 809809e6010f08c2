"""Tokenizers side by side, and a BPE a learner trains in a second. No gradio, no torch.

    from playground import tokenizer_lab as lab
    refs = lab.reference_tokenizers()              # {"char": ..., "word": ..., "bpe": ...}
    [lab.stats(text, refs[k].encode(text)) for k in refs]
    mine = lab.train_bpe("stories-zh", 600)        # cached per (corpus, vocab size)
    lab.merge_table(mine, 10)                      # [Merge(rank, left, right, merged), ...]

Reference tokenizers are trained once per process on a modest slice of a built-in corpus, so
the comparison is between *kinds* of tokenizer, not between training texts.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass

from .corpora import CORPUS_NAMES, load_corpus
from .errors import check_choice, check_range
from .tokenizer import BPE_MIN_VOCAB, KINDS, Encoding, Tokenizer, TokenizerError, TokenizerRangeError

LAB_CORPUS_BYTES = 200_000  # big enough to learn from, small enough to train in well under 1 s
REFERENCE_CORPUS = "stories"
# Upper bounds on the vocabulary; "char" ignores its bound (every character seen + 256 bytes).
REFERENCE_VOCAB = {"char": 512, "word": 4096, "bpe": 1024}
BPE_MAX_VOCAB = 4096  # the lab's slider range is BPE_MIN_VOCAB..BPE_MAX_VOCAB
DEFAULT_LAB_VOCAB = 512


@dataclass(frozen=True)
class TextStats:
    """How much text one tokenization covers, and how many tokens it took."""

    n_chars: int
    n_bytes: int
    n_tokens: int

    @property
    def chars_per_token(self) -> float:
        return self.n_chars / self.n_tokens if self.n_tokens else 0.0


@dataclass(frozen=True)
class Merge:
    """One learned BPE merge: `left` + `right` -> `merged` (each as `token_display` shows it)."""

    rank: int  # 1 = learned first
    left: str
    right: str
    merged: str


def stats(text: str, encoding: Encoding) -> TextStats:
    return TextStats(len(text), len(text.encode("utf-8")), len(encoding.ids))


def _check_corpus(corpus: object) -> None:
    check_choice("corpus.name", corpus, CORPUS_NAMES, error=TokenizerError)


@functools.lru_cache(maxsize=4)
def _lab_text(corpus: str) -> str:
    return load_corpus(corpus, seed=0, size=LAB_CORPUS_BYTES).train


@functools.lru_cache(maxsize=2)
def reference_tokenizers(corpus: str = REFERENCE_CORPUS) -> dict[str, Tokenizer]:
    """A character, a word and a byte-level BPE tokenizer trained on the same 200 kB of
    `corpus` (vocabulary bounds in REFERENCE_VOCAB); trained once per process."""
    _check_corpus(corpus)
    text = _lab_text(corpus)
    return {kind: Tokenizer.train(kind, text, REFERENCE_VOCAB[kind]) for kind in KINDS}


def _check_lab_vocab(vocab_size: object) -> int:
    # sliders send floats: 300.0 is accepted as 300
    return check_range(
        "tokenizer.vocab_size_bpe", vocab_size, BPE_MIN_VOCAB, BPE_MAX_VOCAB, whole=True, error=TokenizerRangeError
    )


def train_bpe(corpus: str, vocab_size: int) -> Tokenizer:
    """A byte-level BPE with at most `vocab_size` tokens, trained on 200 kB of a built-in
    corpus. Cached: moving a slider back to a size already tried costs nothing."""
    return train_bpe_timed(corpus, vocab_size)[0]


def train_bpe_timed(corpus: str, vocab_size: int) -> tuple[Tokenizer, float]:
    """`train_bpe` and the seconds its training took (when it was trained, not fetched)."""
    _check_corpus(corpus)
    return _train_bpe(corpus, _check_lab_vocab(vocab_size))


@functools.lru_cache(maxsize=32)
def _train_bpe(corpus: str, vocab_size: int) -> tuple[Tokenizer, float]:
    text = _lab_text(corpus)
    start = time.perf_counter()
    tokenizer = Tokenizer.train("bpe", text, vocab_size)
    return tokenizer, time.perf_counter() - start


def merge_table(tokenizer: Tokenizer, n: int | None = None) -> list[Merge]:
    """The first `n` (default all) merges of a BPE tokenizer in the order they were learned.

    `left`/`right` are exactly `Tokenizer.merges(n)`; `merged` is the display of the token the
    merge made (two halves of a Chinese character join into the character, not "<e7><8b>")."""
    pairs = tokenizer.merges(n)
    if not pairs:
        return []
    raw = json.loads(tokenizer.to_str())["model"]["merges"][: len(pairs)]
    out = []
    for rank, ((left, right), merge) in enumerate(zip(pairs, raw, strict=True), start=1):
        a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
        token_id = tokenizer.hf.token_to_id(a + b)
        merged = tokenizer.token_display(token_id) if token_id is not None else left + right
        out.append(Merge(rank, left, right, merged))
    return out


def n_merges(tokenizer: Tokenizer) -> int:
    return len(tokenizer.merges())
