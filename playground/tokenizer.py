"""Tokenizers a learner can look inside: character, word and byte-level BPE.

All three are plain Hugging Face `tokenizers` objects saved as a standard `tokenizer.json`, so a
checkpoint folder stays loadable by 🤗 transformers. The kind is read back from the JSON's
structure (model and pre-tokenizer types), so a GPT-2 `tokenizer.json` from the Hub loads as
"bpe" with no extra metadata.

`encode` returns one `TokenView` per token with its exact input bytes, character span and a
readable label; byte-level internals such as "Ġ" or a half of a UTF-8 character never reach
the screen as mojibake.
"""

from __future__ import annotations

import json
import operator
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, pairwise
from pathlib import Path

import tokenizers
from tokenizers import Regex, decoders, models, pre_tokenizers, trainers

from playground.config import MODEL_LIMITS

from .errors import PlaygroundError, RangeError, check_choice, check_range, register

KINDS = ("char", "word", "bpe")

# The model's embedding table bounds the vocabulary (ModelConfig.d_vocab).
VOCAB_LIMITS = MODEL_LIMITS["d_vocab"]
# Byte-level BPE starts from the 256 byte tokens; fewer would leave some bytes unencodable.
BPE_MIN_VOCAB = 257
UNK = "[UNK]"
# Words: one token per Han character (Chinese has no spaces between words), a run of other
# word characters, or a single punctuation/symbol character. Whitespace is dropped.
WORD_PATTERN = r"\p{Han}|[^\W\p{Han}]+|[^\w\s]"
# Texts longer than this are encoded/trained in pieces, in parallel.
CHUNK_CHARS = 1 << 16
# BPE pre-tokenization cuts runs of non-space characters into pieces of at most this many
# characters before GPT-2's byte-level rules. Text without spaces (Chinese, Japanese, a long
# URL) is otherwise one "word" per line, and the 🤗 BPE trainer's cost grows with the square of
# a word's length: 100,000 random CJK characters took ~27 s with one word, ~1 s with these
# pieces (measured, see README). Ordinary words are shorter and unaffected.
BPE_MAX_RUN = 32
ENCODE_BATCH = 8  # pieces encoded between two `check()` calls in encode_ids (~0.1-1 s of work)
BPE_RUN_PATTERN = rf"\S{{{BPE_MAX_RUN}}}"


class TokenizerError(PlaygroundError):
    """Bad tokenizer input or file; the message says what is wrong and what is allowed."""


class TokenizerRangeError(RangeError, TokenizerError):
    """A vocabulary size, id or count outside its range."""


register(
    {
        "text.the_text": ("the text", "文本"),
        "text.the_prompt": ("the prompt", "提示"),
        "tokenizer.kind": ("tokenizer kind", "分词器类型"),
        "tokenizer.vocab_size": ("vocab_size", "词表大小 vocab_size"),
        "tokenizer.vocab_size_bpe": (
            "vocab_size of a byte-level BPE (256 byte tokens + at least one merge)",
            "字节级 BPE 的词表大小 vocab_size（256 个字节词元 + 至少一次合并）",
        ),
        "tokenizer.token_id": ("token id", "词元 id"),
        "tokenizer.n_merges": ("n", "合并数 n"),
        "text.not_text": ("{field} must be text (str), got {type}", "{field}必须是文本（str），收到的是 {type}"),
        "text.lone_surrogate": (
            "{field} contains a lone surrogate (U+{codepoint} at position {position}), which is not valid "
            "Unicode text; remove it",
            "{field}含有无效的 Unicode 字符：位置 {position} 的孤立代理项 U+{codepoint}；请删除它",
        ),
        "tokenizer.char_vocab_too_small": (
            "the training text has {n} distinct characters; a char tokenizer needs vocab_size >= {compact} "
            "(alphabet + [UNK]), or >= {full} to spell unseen characters as bytes; got {got}",
            "训练文本有 {n} 个不同的字符；字符分词器的词表大小 vocab_size 至少要 {compact}（字母表 + [UNK]），"
            "或至少 {full} 才能把没见过的字符拼成字节；收到 {got}",
        ),
        "tokenizer.bpe_missing_bytes": (
            "byte-level BPE tokenizer.json lacks {n} of the 256 byte tokens (e.g. {example}), so some text could "
            "not be encoded",
            "字节级 BPE 的 tokenizer.json 缺少 256 个字节词元中的 {n} 个（例如 {example}），有些文本将无法编码",
        ),
        "tokenizer.char_needs_unk": (
            "char tokenizer.json without byte tokens must define an unk_token in its vocab",
            "没有字节词元的字符分词器 tokenizer.json 必须在词表中定义 unk_token",
        ),
        "tokenizer.sentencepiece": (
            "tokenizer.json is a BPE with byte fallback and merges (SentencePiece style); supported are char, "
            "word (WordLevel) and bpe (byte-level BPE as GPT-2)",
            "tokenizer.json 是带字节回退和合并规则的 BPE（SentencePiece 风格）；支持的是 char、"
            "word（WordLevel）和 bpe（GPT-2 那样的字节级 BPE）",
        ),
        "tokenizer.char_missing_bytes": (
            "char tokenizer.json lacks {n} of the 256 byte tokens (e.g. {example}), so unseen characters could "
            "not be encoded",
            "字符分词器 tokenizer.json 缺少 256 个字节词元中的 {n} 个（例如 {example}），没见过的字符将无法编码",
        ),
        "tokenizer.unsupported": (
            "unsupported tokenizer.json (model {model}, pre-tokenizer {pre}); supported are char (BPE without "
            "merges, byte_fallback, no pre-tokenizer), word (WordLevel) and bpe (BPE with a ByteLevel "
            "pre-tokenizer, as GPT-2)",
            "不支持的 tokenizer.json（模型 {model}，预分词器 {pre}）；支持的是 char（没有合并规则、带 byte_fallback、"
            "没有预分词器的 BPE）、word（WordLevel）和 bpe（带 ByteLevel 预分词器的 BPE，如 GPT-2）",
        ),
        "tokenizer.empty_training_text": (
            "training text is empty; give some text with words in it",
            "训练文本是空的；请给出含有词语的文本",
        ),
        "tokenizer.not_json": (
            "tokenizer.json is not valid JSON: {detail}",
            "tokenizer.json 不是有效的 JSON：{detail}",
        ),
        "tokenizer.not_tokenizer_json": (
            "not a tokenizer.json: expected a JSON object with a 'model' entry (the Hugging Face tokenizers format)",
            "不是 tokenizer.json：需要一个含有 'model' 项的 JSON 对象（Hugging Face tokenizers 格式）",
        ),
        "tokenizer.invalid": ("invalid tokenizer.json: {detail}", "无效的 tokenizer.json：{detail}"),
        "tokenizer.unreadable": ("cannot read tokenizer file {path}: {detail}", "无法读取分词器文件 {path}：{detail}"),
        "tokenizer.vocab_json_shape": (
            "vocab.json must be a JSON object mapping token strings to integer ids",
            "vocab.json 必须是一个把词元字符串映射到整数 id 的 JSON 对象",
        ),
        "tokenizer.vocab_json_ids": (
            "vocab.json must give every token a different id >= 0",
            "vocab.json 必须给每个词元一个不同的、不小于 0 的 id",
        ),
        "tokenizer.not_bpe": (
            "vocab.json and merges.txt do not form a BPE: {detail}",
            "vocab.json 和 merges.txt 不能组成一个 BPE：{detail}",
        ),
        "tokenizer.not_ids": (
            "decode expects a flat sequence of integer token ids",
            "decode 需要一个扁平的整数词元 id 序列",
        ),
    }
)


@dataclass(frozen=True)
class TokenView:
    """One token of an encoded text, ready to show.

    `text` is `input[start:end]`. A character belongs to the token holding its first UTF-8
    byte, so a token made only of continuation bytes has `text == ""` and `start == end`.
    """

    id: int
    text: str
    display: str
    start: int
    end: int
    bytes: bytes


@dataclass(frozen=True)
class Encoding:
    """Token ids of a text and, position by position, their views."""

    ids: list[int]
    tokens: list[TokenView]

    def __len__(self) -> int:
        return len(self.ids)


# GPT-2 stores each byte as a printable character (space -> "Ġ", newline -> "Ċ", ...).
def _byte_level_table() -> list[str]:
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table, extra = [], 0
    for b in range(256):
        if b in printable:
            table.append(chr(b))
        else:
            table.append(chr(256 + extra))
            extra += 1
    return table


_BYTE_LEVEL_CHARS = _byte_level_table()
_BYTE_OF_CHAR = {c: b for b, c in enumerate(_BYTE_LEVEL_CHARS)}
_BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]  # the byte-fallback tokens of "char"
_BYTE_OF_TOKEN = {t: b for b, t in enumerate(_BYTE_TOKENS)}

_VISIBLE = {" ": "·", "\n": "↵", "\t": "→"}
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
# Continuation bytes (0b10xxxxxx) -> 0, every other byte starts a character -> 1.
_STARTS_CHAR = bytes(0 if 0x80 <= b < 0xC0 else 1 for b in range(256))
_SPLIT_POINT = re.compile(r"\n(?=\S)")


def _readable_char(ch: str) -> str:
    if ch in _VISIBLE:
        return _VISIBLE[ch]
    if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        return ch.encode("unicode_escape").decode("ascii")  # "\x07", "\r", "\u200d", ...
    return ch


def readable(data: bytes) -> str:
    """Label for a byte string: valid UTF-8 shown as text (whitespace and control characters
    made visible), bytes that are only part of a character shown as "<e7 8b>"."""
    out, partial = [], []
    for ch in data.decode("utf-8", "surrogateescape"):
        if "\udc80" <= ch <= "\udcff":  # surrogateescape's stand-in for an undecodable byte
            partial.append(f"{ord(ch) - 0xDC00:02x}")
            continue
        if partial:
            out.append(f"<{' '.join(partial)}>")
            partial = []
        out.append(_readable_char(ch))
    if partial:
        out.append(f"<{' '.join(partial)}>")
    return "".join(out)


def _chunks(text: str, size: int) -> list[str]:
    """Cut `text` into pieces of about `size` characters that encode exactly like the whole.

    A cut goes just before a newline that is followed by a visible character: no pre-token of
    the char, word or GPT-2 byte-level schemes spans that point, so ids are unchanged. Text with
    no such newline for 4 × `size` characters is cut hard at `size` (a piece's cost must stay
    bounded; only tokens at those rare cuts can differ from one whole-text encode)."""
    pieces, start = [], 0
    while len(text) - start > size:
        match = _SPLIT_POINT.search(text, start + size, start + 4 * size)
        cut = match.start() if match is not None else start + size
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return pieces


def check_encodable(text: object, field: str = "text.the_text") -> None:
    """A TokenizerError unless `text` is a str that is valid Unicode (a lone surrogate such as
    "\\ud800" has no UTF-8 form: the tokenizer would fail with a TypeError). `field` is the
    key of what the text is called ("the text", "the prompt")."""
    if not isinstance(text, str):
        raise TokenizerError("text.not_text", field=field, type=type(text).__name__)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise TokenizerError(
            "text.lone_surrogate", field=field, codepoint=f"{ord(text[err.start]):04X}", position=err.start
        ) from None


def _check_kind(kind: object) -> None:
    check_choice("tokenizer.kind", kind, KINDS, error=TokenizerError)


def _check_vocab_size(kind: str, vocab_size: object) -> int:
    field, low = (
        ("tokenizer.vocab_size_bpe", BPE_MIN_VOCAB) if kind == "bpe" else ("tokenizer.vocab_size", VOCAB_LIMITS[0])
    )
    return check_range(field, vocab_size, low, VOCAB_LIMITS[1], whole=True, error=TokenizerRangeError)


def _train_char(text: str, vocab_size: int) -> tokenizers.Tokenizer:
    """A BPE model with no merges is a character lookup; the 256 byte tokens catch the rest.

    Compact variant: when `vocab_size` is below the alphabet + 256 byte tokens, the byte tokens
    are left out and unseen characters become [UNK]. Algorithmic tasks need this: 257 never-used
    rows in the tied embedding stopped a 2-layer model from forming induction heads (measured).
    """
    alphabet = sorted(set(text))
    if len(alphabet) + 256 <= vocab_size:
        vocab = {tok: i for i, tok in enumerate(alphabet + _BYTE_TOKENS)}
        hf = tokenizers.Tokenizer(models.BPE(vocab, [], byte_fallback=True))
        hf.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
        return hf
    if len(alphabet) + 1 > vocab_size:
        raise TokenizerError(
            "tokenizer.char_vocab_too_small",
            n=len(alphabet),
            compact=len(alphabet) + 1,
            full=len(alphabet) + 256,
            got=vocab_size,
        )
    vocab = {tok: i for i, tok in enumerate([*alphabet, UNK])}
    hf = tokenizers.Tokenizer(models.BPE(vocab, [], unk_token=UNK, byte_fallback=False))
    hf.add_special_tokens([UNK])
    hf.decoder = decoders.Fuse()
    return hf


def _train_word(text: str, vocab_size: int) -> tokenizers.Tokenizer:
    hf = tokenizers.Tokenizer(models.WordLevel(unk_token=UNK))
    hf.pre_tokenizer = pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="removed", invert=True)
    trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, special_tokens=[UNK], show_progress=False)
    hf.train_from_iterator(_chunks(text, CHUNK_CHARS), trainer)
    return hf


def _train_bpe(text: str, vocab_size: int) -> tokenizers.Tokenizer:
    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence([  # runs cut to BPE_MAX_RUN characters: near-linear training
        pre_tokenizers.Split(Regex(BPE_RUN_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator(_chunks(text, CHUNK_CHARS), trainer)
    return hf


_TRAINERS = {"char": _train_char, "word": _train_word, "bpe": _train_bpe}


def _is_cut_byte_level(pre: dict) -> bool:
    """A Sequence pre-tokenizer of Splits followed by one ByteLevel (what `_train_bpe` writes)."""
    steps = pre.get("pretokenizers") or []
    return (bool(steps) and isinstance(steps[-1], dict) and steps[-1].get("type") == "ByteLevel"
            and all(isinstance(step, dict) and step.get("type") == "Split" for step in steps[:-1]))


def _detect_kind(spec: dict) -> str:
    """Which of KINDS a parsed tokenizer.json is, checking it can encode what that kind must."""
    model = spec.get("model") or {}
    model_type = model.get("type")
    pre = spec.get("pre_tokenizer") or {}
    pre_type = pre.get("type")
    if pre_type == "Sequence" and _is_cut_byte_level(pre):
        pre_type = "ByteLevel"  # our BPE: long runs cut, then GPT-2's byte-level rules
    vocab = model.get("vocab") or {}
    if model_type == "WordLevel":
        return "word"
    if model_type == "BPE" and pre_type == "ByteLevel":
        missing = [c for c in _BYTE_LEVEL_CHARS if c not in vocab]
        if missing:
            raise TokenizerError("tokenizer.bpe_missing_bytes", n=len(missing), example=repr(missing[0]))
        return "bpe"
    if model_type == "BPE" and pre_type is None and not model.get("byte_fallback") and not model.get("merges"):
        if model.get("unk_token") not in vocab:
            raise TokenizerError("tokenizer.char_needs_unk")
        return "char"
    if model_type == "BPE" and pre_type is None and model.get("byte_fallback"):
        if model.get("merges"):
            raise TokenizerError("tokenizer.sentencepiece")
        missing = [t for t in _BYTE_TOKENS if t not in vocab]
        if missing:
            raise TokenizerError("tokenizer.char_missing_bytes", n=len(missing), example=missing[0])
        return "char"
    raise TokenizerError("tokenizer.unsupported", model=str(model_type), pre=str(pre_type))


class Tokenizer:
    """A char, word or byte-level BPE tokenizer wrapping `hf` (a `tokenizers.Tokenizer`).

    - "char": one token per Unicode character seen in training; any other character is
      spelled with byte tokens `<0xXX>` (one per UTF-8 byte). Lossless on any text. With a
      vocab_size below alphabet + 256 it is *compact*: no byte tokens, unseen characters -> [UNK].
    - "bpe": GPT-2 style byte-level BPE; lossless on any text.
    - "word": words are runs of letters/digits/underscore, each Han character, and each
      single punctuation or symbol character; whitespace only separates them. Decoding is
      lossy in two ways:
        * a word not in the vocabulary encodes to `[UNK]` and decodes as the literal text
          "[UNK]" (its TokenView still has the original `text`, `start`, `end` and `bytes`);
        * whitespace is not kept: decode joins tokens with one space, so "Hi,\\n  you!"
          decodes to "Hi , you !" and "狗叫" to "狗 叫".

    Encodings are exact: truncation and padding are switched off on `hf`.
    """

    def __init__(self, hf: tokenizers.Tokenizer):
        self.hf = hf
        self.kind = _detect_kind(json.loads(hf.to_str()))
        hf.no_truncation()
        hf.no_padding()
        self._added = {i: t.content for i, t in hf.get_added_tokens_decoder().items()}
        self._bytes: dict[int, bytes] = {}
        self._display: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"Tokenizer(kind={self.kind!r}, vocab_size={self.vocab_size})"

    # ----- building, loading, saving -----

    @classmethod
    def train(cls, kind: str, text: str, vocab_size: int = 512) -> Tokenizer:
        """Train a tokenizer of `kind` on `text`.

        `vocab_size` is an upper bound: a small text may yield fewer tokens. "bpe" needs at
        least 257. "char" checks the range but otherwise ignores it: its vocabulary is every
        distinct character of `text` plus the 256 byte tokens.
        """
        _check_kind(kind)
        vocab_size = _check_vocab_size(kind, vocab_size)
        if not isinstance(text, str) or not text.strip():
            raise TokenizerError("tokenizer.empty_training_text")
        return cls(_TRAINERS[kind](text, vocab_size))

    @classmethod
    def from_str(cls, json_str: str) -> Tokenizer:
        try:
            spec = json.loads(json_str)
        except (json.JSONDecodeError, TypeError) as err:
            raise TokenizerError("tokenizer.not_json", detail=str(err)) from None
        if not isinstance(spec, dict) or not isinstance(spec.get("model"), dict):
            raise TokenizerError("tokenizer.not_tokenizer_json")
        try:
            hf = tokenizers.Tokenizer.from_str(json_str)
        except Exception as err:  # the Rust parser raises plain Exception
            raise TokenizerError("tokenizer.invalid", detail=str(err)) from None
        return cls(hf)

    @classmethod
    def from_file(cls, path) -> Tokenizer:
        """Load a tokenizer.json; `path` may also be a folder containing one."""
        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        try:
            json_str = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise TokenizerError("tokenizer.unreadable", path=str(path), detail=str(err)) from None
        return cls.from_str(json_str)

    @classmethod
    def from_gpt2_vocab(cls, vocab: dict[str, int], merges: list[tuple[str, str]]) -> Tokenizer:
        """GPT-2's byte-level BPE from its older files: vocab.json (token -> id) and the merges of
        merges.txt, for Hub repos without a tokenizer.json. Builds what GPT-2's tokenizer.json
        holds (ByteLevel pre-tokenizer without prefix space, ByteLevel decoder), with
        "<|endoftext|>" as a special token when the vocabulary has it."""
        if not isinstance(vocab, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in vocab.items()
        ):
            raise TokenizerError("tokenizer.vocab_json_shape")
        if len(set(vocab.values())) != len(vocab) or min(vocab.values(), default=0) < 0:
            raise TokenizerError("tokenizer.vocab_json_ids")
        try:
            hf = tokenizers.Tokenizer(models.BPE(vocab, [tuple(m) for m in merges]))
        except Exception as err:  # the Rust side raises plain Exception (e.g. a merge of unknown tokens)
            raise TokenizerError("tokenizer.not_bpe", detail=str(err)) from None
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        if "<|endoftext|>" in vocab:
            hf.add_special_tokens([tokenizers.AddedToken("<|endoftext|>", special=True)])
        return cls(hf)

    def to_str(self) -> str:
        return self.hf.to_str()

    def save(self, path) -> None:
        self.hf.save(str(path))

    # ----- vocabulary -----

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size(with_added_tokens=True)

    def _check_id(self, token_id: int) -> None:
        check_range("tokenizer.token_id", token_id, 0, self.vocab_size - 1, whole=True, error=TokenizerRangeError)

    def token_bytes(self, token_id: int) -> bytes:
        """The UTF-8 bytes a vocabulary entry stands for ("[UNK]" for the word kind's unknown)."""
        if token_id in self._bytes:
            return self._bytes[token_id]
        self._check_id(token_id)
        token = self._added.get(token_id)
        if token is not None:
            data = token.encode()
        else:
            token = self.hf.id_to_token(token_id)
            if self.kind == "bpe":
                data = bytes(_BYTE_OF_CHAR[c] for c in token)
            elif self.kind == "char" and token in _BYTE_OF_TOKEN:
                data = bytes([_BYTE_OF_TOKEN[token]])
            else:
                data = token.encode()
        self._bytes[token_id] = data
        return data

    def token_display(self, token_id: int) -> str:
        """Readable label for a vocabulary entry, e.g. "·the", "↵", "狗" or "<e7 8b>"."""
        if token_id not in self._display:
            self._display[token_id] = readable(self.token_bytes(token_id))
        return self._display[token_id]

    @cached_property
    def _merge_pairs(self) -> list[tuple[str, str]]:
        merges = json.loads(self.hf.to_str())["model"].get("merges") or []
        # Older files store a merge as "a b", newer ones as ["a", "b"].
        return [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in merges]

    def merges(self, n: int | None = None) -> list[tuple[str, str]]:
        """The first `n` (default all) BPE merges in the order they were learned, each side
        shown like `token_display`. Char and word tokenizers have none."""
        if self.kind != "bpe":
            return []
        if n is not None:
            n = check_range("tokenizer.n_merges", n, 0, None, whole=True, error=TokenizerRangeError)
        pairs = self._merge_pairs[:n]
        return [tuple(readable(bytes(_BYTE_OF_CHAR[c] for c in side)) for side in p) for p in pairs]

    # ----- encoding, decoding -----

    def encode(self, text: str) -> Encoding:
        check_encodable(text)
        enc = self.hf.encode(text, add_special_tokens=False)
        ids = enc.ids
        pieces = [self.token_bytes(i) for i in ids]
        data = text.encode()
        if self.kind != "word" and b"".join(pieces) == data:
            spans = _char_spans(text, data, pieces)
        else:  # word tokens skip whitespace and may be [UNK]: report the input each one covers
            spans = enc.offsets
            pieces = [text[s:e].encode() for s, e in spans]
        tokens = [
            TokenView(i, text[s:e], self.token_display(i), s, e, p)
            for i, (s, e), p in zip(ids, spans, pieces, strict=True)
        ]
        return Encoding(ids, tokens)

    def encode_ids(self, text: str, check=None) -> list[int]:
        """Just the ids, for long corpora: multi-MB texts are encoded in parallel pieces
        (the same ids as one `encode` call, see `_chunks`). `check()`, if given, is called
        between batches of pieces and may raise to stop (a Stop button, a time limit)."""
        check_encodable(text)
        if len(text) <= CHUNK_CHARS:
            return self.hf.encode(text, add_special_tokens=False).ids
        pieces, ids = _chunks(text, CHUNK_CHARS), []
        for at in range(0, len(pieces), ENCODE_BATCH):
            if check is not None:
                check()
            for enc in self.hf.encode_batch_fast(pieces[at : at + ENCODE_BATCH], add_special_tokens=False):
                ids.extend(enc.ids)
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text for token ids (a list, or a 1-D tensor/ndarray). Partial UTF-8 becomes "�"."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        try:
            ids = [operator.index(i) for i in ids]
        except TypeError:
            raise TokenizerError("tokenizer.not_ids") from None
        if ids:
            self._check_id(min(ids))
            self._check_id(max(ids))
        return self.hf.decode(ids, skip_special_tokens=False)


def _char_spans(text: str, data: bytes, pieces: list[bytes]) -> list[tuple[int, int]]:
    """Character spans of tokens whose bytes concatenate to `data` (the UTF-8 of `text`)."""
    bounds = list(accumulate(map(len, pieces), initial=0))
    if len(data) != len(text):  # not ASCII: map byte offsets to character offsets
        chars_before = list(accumulate(data.translate(_STARTS_CHAR), initial=0))
        bounds = [chars_before[b] for b in bounds]
    return list(pairwise(bounds))
