"""Training text: built-in corpora generated from a seed (nothing is downloaded), user text,
and the train/val split.

Built-in corpora are generated, not stored, so any amount of fresh validation text exists:
`load_corpus` draws train and val from two independent seed streams, which makes "val loss"
a loss on text the model has never seen. Same (name, seed, size) gives identical text, and a
smaller size gives a prefix of a larger one.
"""

from __future__ import annotations

import hashlib
import random
import string
from dataclasses import dataclass
from pathlib import Path

from playground import story_grammar, translation_grammar

from .errors import PlaygroundError, RangeError, check_choice, check_range, register

MAX_USER_TEXT_BYTES = 5_000_000
MIN_USER_TEXT_CHARS = 200  # less than this is too little to learn anything from
MAX_CORPUS_BYTES = 20_000_000  # generating more would stall a small shared server
MAX_TASK_LEN = 256
VAL_FRACTION = 0.1


class CorpusError(PlaygroundError):
    """Bad corpus request or unusable user text; the message says what is allowed."""


class CorpusRangeError(RangeError, CorpusError):
    """A corpus size, seed or length outside its range."""


register(
    {
        "corpus.name": ("corpus", "语料"),
        "corpus.task": ("task", "任务"),
        "corpus.story_language": ("story language", "故事语言"),
        "corpus.seed": ("seed", "种子 seed"),
        "corpus.size": ("size", "大小 size"),
        "corpus.n_bytes": ("n_bytes", "字节数 n_bytes"),
        "corpus.n": ("n", "行数 n"),
        "corpus.min_len": ("min_len", "最短长度 min_len"),
        "corpus.max_len": ("max_len", "最长长度 max_len"),
        "corpus.val_fraction": ("val_fraction", "验证集比例 val_fraction"),
        "corpus.length_options": (
            "unknown length option(s) {options}; use min_len and max_len",
            "未知的长度选项 {options}；请使用 min_len 和 max_len",
        ),
        "corpus.not_text": ("expected text (str) or bytes, got {type}", "需要文本（str）或字节（bytes），收到 {type}"),
        "corpus.empty": (
            "The text is empty (or only whitespace); paste or upload at least {min_chars} characters of text.",
            "文本是空的（或只有空白）；请粘贴或上传至少 {min_chars} 个字符的文本。",
        ),
        "corpus.too_short": (
            "The text is too short: {n} characters; training needs at least {min_chars} characters.",
            "文本太短：{n} 个字符；训练至少需要 {min_chars} 个字符。",
        ),
        "corpus.not_txt": (
            "Only plain-text .txt files are allowed, got '{name}'",
            "只允许纯文本 .txt 文件，收到 '{name}'",
        ),
        "corpus.no_file": ("No such file: '{name}'", "没有这个文件：'{name}'"),
        "corpus.too_large": (
            "The text is too large: {n} bytes; the limit is {limit} bytes (5 MB).",
            "文本太大：{n} 字节；上限是 {limit} 字节（5 MB）。",
        ),
        "corpus.binary": (
            "This looks like a binary file (it contains NUL bytes), not text; only UTF-8 plain text (.txt) is allowed.",
            "这看起来是一个二进制文件（含有 NUL 字节），不是文本；只允许 UTF-8 纯文本（.txt）。",
        ),
        "corpus.not_utf8": (
            "The text is not valid UTF-8 (byte {byte} at position {position}); save it as UTF-8 plain text and "
            "try again.",
            "文本不是有效的 UTF-8（位置 {position} 的字节 {byte}）；请另存为 UTF-8 纯文本后再试。",
        ),
        "corpus.too_short_to_split": (
            "The text is too short to split into train and val parts",
            "文本太短，无法分成训练和验证两部分",
        ),
        "corpus.blank_part": (
            "The text must have some non-space text in both train and val parts",
            "训练和验证两部分都必须含有非空白的文本",
        ),
    }
)


@dataclass(frozen=True)
class Corpus:
    name: str
    train: str
    val: str
    description: str  # one line, English


CORPUS_NAMES = ("stories", "stories-en", "stories-zh", "copy", "reverse", "sort", "induction")
TASKS = ("copy", "reverse", "sort", "induction")
STORY_LANGS = {"stories": "both", "stories-en": "en", "stories-zh": "zh"}
DEFAULT_SIZES = {"stories": 2_000_000, "stories-en": 1_000_000, "stories-zh": 1_000_000}
DEFAULT_TASK_SIZE = 200_000
# task -> (alphabet, separator, answer function, default (min_len, max_len))
_TASKS = {
    "copy": (string.digits, "=", lambda s: s, (3, 8)),
    "reverse": (string.digits, "=", lambda s: s[::-1], (3, 8)),
    "sort": (string.digits, "=", lambda s: "".join(sorted(s)), (3, 8)),
    # Built by `_induction_block` (answer unused): a random string twice, amid rule text.
    "induction": (string.ascii_lowercase, "", None, (4, 16)),
}
DESCRIPTIONS = {
    "stories": "Animal stories in English and Chinese, alternating story by story",
    "stories-en": "Animal stories in English (he/she, names, colours and counts to track)",
    "stories-zh": "Animal stories in Chinese (他/她, names, colours and counts to track)",
    "copy": "Digit strings copied after '=': 40183=40183",
    "reverse": "Digit strings reversed after '=': 40183=38104",
    "sort": "Digit strings sorted after '=': 40183=01348",
    "induction": "Random letter strings, each seen twice amid rule-following letters (where induction heads "
    "form): ..qhtw[xbfkd]ejqa[xbfkd]rmy..",
}


# --- generated corpora ----------------------------------------------------------------------
def load_corpus(name: str, seed: int = 0, size: int | None = None) -> Corpus:
    """A built-in corpus; `size` is the approximate train size in UTF-8 bytes, val is 10%."""
    check_choice("corpus.name", name, CORPUS_NAMES, error=CorpusError)
    _check_int("seed", seed, 0, 2**63 - 1)
    if size is None:
        size = DEFAULT_SIZES.get(name, DEFAULT_TASK_SIZE)
    _check_int("size", size, 1, MAX_CORPUS_BYTES)
    train_seed, val_seed = _derive_seed(seed, "train"), _derive_seed(seed, "val")
    val_size = max(1, int(size * VAL_FRACTION))
    if name in STORY_LANGS:
        lang = STORY_LANGS[name]
        train, val = stories(lang, size, train_seed), stories(lang, val_size, val_seed)
    else:
        train, val = _task_text(name, size, train_seed), _task_text(name, val_size, val_seed)
    return Corpus(name, train, val, DESCRIPTIONS[name])


def stories(lang: str, n_bytes: int, seed: int) -> str:
    """At least n_bytes of stories separated by blank lines; "both" keeps the languages even."""
    check_choice("corpus.story_language", lang, ("en", "zh", "both"), error=CorpusError)
    _check_int("n_bytes", n_bytes, 1, MAX_CORPUS_BYTES)
    rng = random.Random(seed)
    langs = ("en", "zh") if lang == "both" else (lang,)
    written = dict.fromkeys(langs, 0)
    parts = []
    while sum(written.values()) <= n_bytes:  # the output has one byte less: no final blank line
        current = min(langs, key=written.__getitem__)  # the language that is behind
        text = story_grammar.make_story(rng).render(current)
        parts.append(text)
        written[current] += len(text.encode()) + 2
    return "\n\n".join(parts) + "\n"


def story_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """n aligned (English, Chinese) sentences; each English sentence has one translation."""
    _check_int("n", n, 1, 10_000_000)
    rng = random.Random(seed)
    return [story_grammar.make_pair(rng) for _ in range(n)]


def translation_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """n (English, Chinese) pairs of the translator's broader grammar (`translation_grammar`):
    `story_pairs` frames plus composed noun phrases; never one of its hand-written held-out sentences."""
    _check_int("n", n, 1, 10_000_000)
    rng = random.Random(seed)
    return [translation_grammar.make_translation_pair(rng) for _ in range(n)]


def task_lines(task: str, n: int, seed: int, **lengths: int) -> str:
    """n lines of an algorithmic task; lengths: min_len, max_len of the random string."""
    _check_int("n", n, 1, 10_000_000)
    make = _task_maker(task, seed, **lengths)
    return "".join(make() for _ in range(n))


def _task_text(task: str, n_bytes: int, seed: int) -> str:
    """Task lines up to `n_bytes`. Induction blocks are joined with no newline: a line start
    would give heads a position to count from instead of finding the earlier copy (measured)."""
    make = _task_maker(task, seed)
    lines, total = [], 0
    while total < n_bytes:
        lines.append(make().rstrip("\n") if task == "induction" else make())
        total += len(lines[-1])  # ASCII: characters are bytes
    return "".join(lines)


def _task_maker(task: str, seed: int, **lengths: int):
    """A function returning the next line, e.g. "40183=38104\\n", from a seeded stream."""
    check_choice("corpus.task", task, TASKS, error=CorpusError)
    alphabet, sep, answer, (lo, hi) = _TASKS[task]
    unknown = set(lengths) - {"min_len", "max_len"}
    if unknown:
        raise CorpusError("corpus.length_options", options=", ".join(sorted(unknown)))
    lo, hi = lengths.get("min_len", lo), lengths.get("max_len", hi)
    _check_int("min_len", lo, 1, MAX_TASK_LEN)
    _check_int("max_len", hi, lo, MAX_TASK_LEN)
    rng = random.Random(seed)

    def make() -> str:
        if task == "induction":
            return induction_block(rng, lo, hi)[0] + "\n"
        s = "".join(rng.choices(alphabet, k=rng.randint(lo, hi)))
        return f"{s}{sep}{answer(s)}\n"

    return make


# --- the induction corpus -------------------------------------------------------------------
# Why this shape (all measured on 2-layer models, scores at probe lengths 6-24):
# - strings repeated back to back were learned by layer-0 heads that look back a *fixed*
#   distance (a positional shortcut that is right for one string length only);
# - repeats separated by random letters (distances vary, no shortcut) left the loss at ln 26;
# - here the letters around and between the copies follow a fixed rule (each letter is set by
#   the two before it, 80% of the time). Learning the rule needs a previous-token head, and
#   with that head in place the copies (at distances that vary) are predicted by an induction
#   head in layer 1: "find the earlier copy of this letter and read what came next".
INDUCTION_GAP = (2, 16)  # rule letters before, between and after the two copies
INDUCTION_RULE_P = 0.8
_RULE_RNG = random.Random(12345)  # the rule is fixed: train, val and every seed share it
INDUCTION_RULE = {
    (x, y): _RULE_RNG.choice(string.ascii_lowercase) for x in string.ascii_lowercase for y in string.ascii_lowercase
}


def _rule_letters(rng: random.Random, n: int) -> str:
    """n letters following INDUCTION_RULE (with probability INDUCTION_RULE_P each, else random)."""
    letters = rng.choices(string.ascii_lowercase, k=2)
    while len(letters) < n:
        follows = rng.random() < INDUCTION_RULE_P
        letters.append(INDUCTION_RULE[letters[-2], letters[-1]] if follows else rng.choice(string.ascii_lowercase))
    return "".join(letters[:n])


def induction_block(rng: random.Random, min_len: int, max_len: int) -> tuple[str, str]:
    """(block, string): rule letters, a random string, rule letters, the string again, rule letters."""
    s = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(min_len, max_len)))
    gap = lambda: _rule_letters(rng, rng.randint(*INDUCTION_GAP))  # noqa: E731
    return gap() + s + gap() + s + gap(), s


def _derive_seed(seed: int, stream: str) -> int:
    """Independent 64-bit seeds per stream, so val never shares generator state with train."""
    digest = hashlib.sha256(f"{seed}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    check_range(f"corpus.{name}", value, lo, hi, whole=True, error=CorpusRangeError)


# --- user text ------------------------------------------------------------------------------
def user_corpus(data: str | bytes, name: str = "my text", val_fraction: float = 0.1) -> Corpus:
    """Pasted or uploaded text as a corpus, after checking it is usable UTF-8 text."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")  # one path: lone surrogates fail decoding
    if not isinstance(data, (bytes, bytearray)):
        raise CorpusError("corpus.not_text", type=type(data).__name__)
    _check_size(len(data))
    text = _decode(bytes(data))
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"
    n_chars = len(text) - 1
    if n_chars == 0:
        raise CorpusError("corpus.empty", min_chars=MIN_USER_TEXT_CHARS)
    if n_chars < MIN_USER_TEXT_CHARS:
        raise CorpusError("corpus.too_short", n=n_chars, min_chars=MIN_USER_TEXT_CHARS)
    train, val = split_train_val(text, val_fraction)
    return Corpus(name, train, val, f"Your text '{name}': {len(text):,} characters")


def read_text_file(path: str | Path) -> str:
    """A .txt file as text: size is checked before reading, then decoded as UTF-8."""
    path = Path(path)
    if path.suffix.lower() != ".txt":
        raise CorpusError("corpus.not_txt", name=path.name)
    if not path.is_file():
        raise CorpusError("corpus.no_file", name=path.name)
    _check_size(path.stat().st_size)
    with path.open("rb") as f:
        data = f.read(MAX_USER_TEXT_BYTES + 1)  # the file may have grown since stat()
    _check_size(len(data))
    return _decode(data)


def _check_size(n_bytes: int) -> None:
    if n_bytes > MAX_USER_TEXT_BYTES:
        raise CorpusError("corpus.too_large", n=n_bytes, limit=MAX_USER_TEXT_BYTES)


def _decode(data: bytes) -> str:
    """UTF-8 (a leading BOM is dropped); NUL bytes or invalid UTF-8 are refused."""
    if b"\x00" in data:
        raise CorpusError("corpus.binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CorpusError("corpus.not_utf8", byte=f"0x{data[e.start]:02x}", position=e.start) from None


# --- split ----------------------------------------------------------------------------------
def split_train_val(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """(train, val) cut near len*(1-val_fraction), at a story, line or word boundary if one
    is close; both parts are non-empty."""
    check_range("corpus.val_fraction", val_fraction, 0.01, 0.5, error=CorpusRangeError)
    if len(text.strip()) < 2:
        raise CorpusError("corpus.too_short_to_split")
    cut = round(len(text) * (1 - val_fraction))
    window = max(1, round(len(text) * val_fraction / 2))
    for sep in ("\n\n", "\n", " "):
        at = _nearest_boundary(text, sep, cut, window)
        if at is not None:
            cut = at
            break
    cut = min(max(cut, 1), len(text) - 1)
    train, val = text[:cut], text[cut:]
    if not train.strip() or not val.strip():
        raise CorpusError("corpus.blank_part")
    return train, val


def _nearest_boundary(text: str, sep: str, cut: int, window: int) -> int | None:
    """Index just after the occurrence of sep nearest to cut, within window, or None."""
    lo, hi = max(1, cut - window), min(len(text) - 1, cut + window)
    after = text.find(sep, cut, hi)
    before = text.rfind(sep, lo, cut)
    best = [i + len(sep) for i in (after, before) if i != -1 and 0 < i + len(sep) < len(text)]
    return min(best, key=lambda i: abs(i - cut), default=None)
