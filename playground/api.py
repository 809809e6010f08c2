"""The notebook API: load a model, inspect a text, generate, prepare training data
(training itself: `playground.run`, also exported as `playground.train`).

    from playground import load_model, inspect, generate
    bundle = load_model("stories")
    result = inspect(bundle, "The dog saw the cat.")
    result.cache.pattern(0)          # (H, T, T) attention of layer 0

Every function raises a `ValueError` subclass whose message says what was wrong and what
is allowed; the UI shows that message as is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from . import hub
from .bundle import ModelBundle
from .checkpoint import Checkpoint, load_checkpoint
from .config import ModelConfig, SampleConfig
from .device import resolve as resolve_device
from .errors import PlaygroundError, register
from .hooks import ActivationCache, run_with_cache
from .model import TinyGPT
from .sampling import GenStep, generate_steps
from .tokenizer import Encoding, Tokenizer, TokenView, check_encodable

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "assets" / "checkpoints"
DEFAULT_MODEL = "stories"
DEMO_MODEL = "random (untrained)"
MAX_TEXT_CHARS = 20_000  # longer input is refused; input over the context is truncated
# The page inspects at most this many tokens: GPT-2's full 1,024-token context would keep every
# layer's activations (~5 GB for GPT-2 small) in one session's state.
MAX_VIEW_TOKENS = 256


register(
    {
        "model.no_history": (
            "{name} has no recorded training; these do: {names}",
            "{name} 没有记录的训练过程；有记录的是：{names}",
        ),
        "model.bad_history": ("{name}: {reason}", "{name}：{reason}"),
        "model.no_tokenizer": ("{name}: the checkpoint has no tokenizer.json", "{name}：检查点里没有 tokenizer.json"),
        "model.hub_fallback_failed": (
            "{name} is not a built-in model ({builtins}) nor an existing checkpoint folder / .zip, so it was tried "
            "as a Hugging Face Hub id: {reason}",
            "{name} 不是内置模型（{builtins}），也不是已有的检查点文件夹 / .zip，所以把它当作 Hugging Face Hub 的 id "
            "试了一下：{reason}",
        ),
        "model.unknown_choice": (
            "unknown model {name}; choose one of {choices} or type the id of a GPT-2 model on the Hugging Face "
            "Hub, e.g. {examples}",
            "未知的模型 {name}；请从 {choices} 中选择，或输入 Hugging Face Hub 上某个 GPT-2 模型的 id，例如 {examples}",
        ),
        "model.unknown_or_hub": (
            "unknown model {name}: choose one of {choices}, or type the id of a GPT-2 model on the Hugging Face "
            "Hub. As a Hub id: {reason}",
            "未知的模型 {name}：请从 {choices} 中选择，或输入 Hugging Face Hub 上某个 GPT-2 模型的 id。"
            "作为 Hub id：{reason}",
        ),
        "model.unknown": (
            "no model called {name}: use one of {builtins}, a checkpoint folder / .zip path, or a GPT-2 model id "
            "from the Hugging Face Hub such as 'hf:distilgpt2'",
            "没有名为 {name} 的模型：请使用 {builtins} 之一、一个检查点文件夹 / .zip 路径，或 Hugging Face Hub 上某个 "
            "GPT-2 模型的 id，例如 'hf:distilgpt2'",
        ),
        "text.empty": ("{field} is empty: type at least one character", "{field}是空的：请至少输入一个字符"),
        "text.too_long": (
            "{field} has {n} characters; the limit is {limit}",
            "{field}有 {n} 个字符；上限是 {limit} 个字符",
        ),
        "text.no_tokens": ("{field} produced no tokens", "{field}没有产生任何词元"),
        "train.needs_data": (
            "train needs the TrainingData from prepare_data(...), got {type}",
            "train 需要 prepare_data(...) 返回的 TrainingData，收到的是 {type}",
        ),
    }
)


@dataclass
class Inspection:
    """One forward pass on a text, with everything captured."""

    text: str  # the text that was run (truncated to the context if needed)
    tokens: list[TokenView]
    ids: list[int]
    logits: torch.Tensor  # (T, d_vocab)
    cache: ActivationCache
    top_next: list[tuple[str, float]]  # most likely next tokens after the last position
    truncated_from: int | None = None  # the input's token count, when it was truncated


@dataclass
class Generation:
    prompt: str
    completion: str
    steps: list[GenStep]
    token_texts: list[str]  # display string of each generated token

    @property
    def text(self) -> str:
        return self.prompt + self.completion


def builtin_names() -> list[str]:
    """Names of the shipped GPT checkpoints, the default first (encoder-decoder ones are skipped)."""
    import json

    def is_seq2seq(folder: Path) -> bool:  # a translation model (seq2seq.py), not a GPT for the picker
        try:
            card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
            return card.get("architecture") == "encoder-decoder"
        except (OSError, ValueError, AttributeError):
            return False

    names = sorted(p.name for p in CHECKPOINT_DIR.glob("*") if (p / "config.json").exists() and not is_seq2seq(p))
    return sorted(names, key=lambda n: n != DEFAULT_MODEL)


def history_names() -> list[str]:
    """Shipped checkpoints that recorded their training (history.json), which `load_history` replays."""
    from .history import HISTORY_FILE

    return [name for name in builtin_names() if (CHECKPOINT_DIR / name / HISTORY_FILE).is_file()]


def load_history(name: str):
    """The recorded training of a shipped checkpoint: the probe's attention at each snapshot step
    and the loss curves (a `history.TrainingHistory`), checked against the model's shape."""
    if name not in history_names():
        raise PlaygroundError("model.no_history", name=repr(name), names=", ".join(history_names()) or "—")
    return _load_builtin_history(name)


@functools.lru_cache(maxsize=4)
def _load_builtin_history(name: str):
    """Shipped files don't change while the app runs: parse each (up to a few MB of JSON) once."""
    from .checkpoint import CheckpointError
    from .history import load_history as read_history

    cfg = load_model(name).config
    try:
        return read_history(CHECKPOINT_DIR / name, cfg.n_layers, cfg.n_heads)
    except CheckpointError as err:
        raise PlaygroundError("model.bad_history", name=name, reason=err) from None


def _bundle(name: str, ckpt: Checkpoint) -> ModelBundle:
    if ckpt.tokenizer is None:
        raise PlaygroundError("model.no_tokenizer", name=name)
    return ModelBundle(name, ckpt.model, ckpt.tokenizer, ckpt.meta, ckpt.card)


@functools.lru_cache(maxsize=8)
def _load_builtin(name: str) -> ModelBundle:
    return _bundle(name, load_checkpoint(CHECKPOINT_DIR / name))


def load_model(name_or_path: str | Path, *, local_paths: bool = True, choices: list[str] | None = None) -> ModelBundle:
    """A built-in checkpoint, a checkpoint folder or .zip, or a GPT-2-family model from the Hub:
    the one place a model's name is resolved, for notebooks, the CLI and the web UI.

    What a name means, checked in this order:

    1. "hf:<repo id>" ("hf:gpt2", "hf:openai-community/gpt2"): always the Hugging Face Hub;
    2. a built-in name (`builtin_names()`; shared, cached);
    3. a `Path`, or a string naming an existing file or folder: a checkpoint folder / .zip;
    4. any other string that is a valid Hub repo id ("distilgpt2", "owner/name"): the Hub.

    Hub models (1, 4) are GPT-2-architecture repos with config.json, model.safetensors and
    tokenizer.json, within `config.MODEL_LIMITS`; shared read-only and cached (`playground.hub`).
    Use "hf:" to be explicit: a local folder called "gpt2" would win over rule 4.

    `local_paths=False` (the web UI, whose names are typed by anyone): rule 3 is skipped, so a
    typed name never becomes a local path, and a name that is neither built in nor found on the
    Hub gets the picker's wording (choose one of `choices`, default the built-in names, or type
    a Hub id).
    """
    key = str(name_or_path)
    offered = str(choices if choices is not None else builtin_names())
    explicit_hub = isinstance(name_or_path, str) and key[: len(hub.HUB_PREFIX)].lower() == hub.HUB_PREFIX
    if explicit_hub and local_paths:
        return hub.load_hub_model(key)  # a bad id raises a HubError saying what an id looks like
    if key in builtin_names():
        return _load_builtin(key)
    if local_paths and Path(name_or_path).exists():
        return _bundle(Path(name_or_path).stem, load_checkpoint(name_or_path))
    if not (isinstance(name_or_path, str) and hub.is_hub_name(key)):
        if local_paths:
            raise PlaygroundError("model.unknown", name=repr(key), builtins=str(builtin_names()))
        raise PlaygroundError(
            "model.unknown_choice", name=repr(key[:120]), choices=offered, examples=hub.EXAMPLES
        )
    try:
        return hub.load_hub_model(key)
    except hub.HubModelNotFound as err:  # in the picker most often a typo of a built-in name: say both
        if local_paths:
            raise PlaygroundError(
                "model.hub_fallback_failed", name=repr(key), builtins=", ".join(builtin_names()) or "—", reason=err
            ) from None
        raise PlaygroundError("model.unknown_or_hub", name=repr(key), choices=offered, reason=err) from None
    except hub.HubError as err:
        if local_paths:
            raise PlaygroundError(
                "model.hub_fallback_failed", name=repr(key), builtins=", ".join(builtin_names()) or "—", reason=err
            ) from None
        raise


@functools.lru_cache(maxsize=1)
def demo_model(seed: int = 0) -> ModelBundle:
    """A seeded, untrained model with a character tokenizer: used only when no checkpoint exists."""
    from .corpora import load_corpus

    corpus = load_corpus("stories", seed=seed, size=200_000)
    tokenizer = Tokenizer.train("char", corpus.train)
    torch.manual_seed(seed)
    model = TinyGPT(ModelConfig(n_layers=2, n_heads=4, d_model=64, n_ctx=128, d_vocab=tokenizer.vocab_size))
    model = model.to(resolve_device()).eval()
    return ModelBundle(DEMO_MODEL, model, tokenizer, {"tokenizer_kind": "char"}, None, False)


def check_text(text: str, field: str = "text.the_text") -> str:
    """`text` if it is a non-empty string within MAX_TEXT_CHARS, else a PlaygroundError saying so.
    `field` is the key of what the text is called ("text.the_text", "text.the_prompt")."""
    if isinstance(text, str) and not text:
        raise PlaygroundError("text.empty", field=field)
    if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
        raise PlaygroundError("text.too_long", field=field, n=len(text), limit=MAX_TEXT_CHARS)
    check_encodable(text, field)  # not a str, or a lone surrogate such as "\ud800"
    return text


def inspect(bundle: ModelBundle, text: str, top_k: int = 10, max_tokens: int | None = None) -> Inspection:
    """Tokenize `text`, run the model capturing every activation, and rank the next token.

    Text longer than the model's context (or `max_tokens`, if smaller) is cut to its first tokens."""
    text = check_text(text)
    encoding: Encoding = bundle.tokenizer.encode(text)
    if not encoding.ids:
        raise PlaygroundError("text.no_tokens", field="text.the_text")
    n_ctx, truncated_from = min(bundle.config.n_ctx, max_tokens or bundle.config.n_ctx), None
    tokens = encoding.tokens
    if len(tokens) > n_ctx:
        truncated_from, tokens = len(tokens), tokens[:n_ctx]
        text = text[: tokens[-1].end]
    ids = [t.id for t in tokens]
    logits, cache = run_with_cache(bundle.model, ids)
    logits, cache = logits.cpu(), cache.to("cpu")  # figures and numpy read them: on the CPU once
    probs = logits[0, -1].softmax(-1)
    top = torch.topk(probs, min(top_k, probs.shape[-1]))
    top_next = [(bundle.tokenizer.token_display(int(i)), float(p)) for p, i in zip(top.values, top.indices)]
    return Inspection(text, tokens, ids, logits[0], cache, top_next, truncated_from)


def generate_stream(
    bundle: ModelBundle,
    prompt: str,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    greedy: bool = False,
    with_attention: bool = False,
) -> Iterator[GenStep]:
    """Generated tokens one at a time (see `generate`), as an iterator.

    Not a generator function: the prompt's size and the settings are checked *here*, before
    anything is tokenized, so an oversized prompt is refused at the call (in well under a
    second), not when the first token is asked for."""
    prompt = check_text(prompt, "text.the_prompt")
    cfg = SampleConfig(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_k=top_k or 0,
        top_p=1.0 if top_p is None else top_p,
        greedy=greedy,
        seed=seed,
    )
    ids = bundle.tokenizer.encode_ids(prompt)
    if not ids:
        raise PlaygroundError("text.no_tokens", field="text.the_prompt")
    return generate_steps(bundle.model, ids, cfg, with_attention=with_attention)


def generate(
    bundle: ModelBundle,
    prompt: str,
    max_new_tokens: int = 64,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    greedy: bool = False,
) -> Generation:
    """Continue `prompt`; returns the text and each step's token probabilities.

    temperature > 0 scales the logits; top_k keeps the k likeliest tokens; top_p keeps the
    smallest set whose probability reaches p; greedy always takes the likeliest token;
    the same seed gives the same text.
    """
    steps = list(generate_stream(bundle, prompt, max_new_tokens, temperature, top_k, top_p, seed, greedy))
    ids = [s.token_id for s in steps]
    texts = [bundle.tokenizer.token_display(i) for i in ids]
    return Generation(prompt, bundle.tokenizer.decode(ids), steps, texts)


# --- training data (training runs: run.py) ----------------------------------------------


@dataclass
class TrainingData:
    """A corpus tokenized and split, ready for `training.train_steps`."""

    corpus_name: str
    tokenizer: Tokenizer
    train_ids: torch.Tensor  # (N_train,) int64
    val_ids: torch.Tensor  # (N_val,) int64


def prepare_data(
    corpus: str = "stories",
    tokenizer_kind: str = "bpe",
    vocab_size: int = 512,
    *,
    seed: int = 0,
    size: int | None = None,
    text: str | bytes | None = None,
    check=None,
    tokenizer_chars: int | None = None,
    tokenizer: Tokenizer | None = None,
) -> TrainingData:
    """Load a built-in corpus (or use `text`), train a tokenizer on it, and tokenize both splits.

    Bounded for a shared server: `text` is refused over `corpora.MAX_USER_TEXT_BYTES` before
    any work; `tokenizer_chars` trains the tokenizer on the first that many characters only
    (None: all); `check()` (e.g. `budget.RunBudget.check`) is called between the stages and
    between pieces of the encoding, and may raise to stop (Stop pressed, time limit). With
    `tokenizer` (continuing to train a model that has one), the text is encoded with it and no
    tokenizer is trained (`tokenizer_kind`, `vocab_size` and `tokenizer_chars` are then unused)."""
    from .corpora import load_corpus, user_corpus

    check = check or (lambda: None)
    check()
    data = user_corpus(text) if text is not None else load_corpus(corpus, seed=seed, size=size)
    check()
    if tokenizer is None:
        sample = data.train if tokenizer_chars is None else data.train[:tokenizer_chars]
        tokenizer = Tokenizer.train(tokenizer_kind, sample, vocab_size)
    return encode_data(data, tokenizer, check)


def encode_data(data, tokenizer: Tokenizer, check=None) -> TrainingData:
    """A corpus's splits as id tensors, `check()` called between pieces (see `prepare_data`)."""
    def as_tensor(split: str) -> torch.Tensor:  # (N,) int64
        if check is not None:
            check()
        return torch.tensor(tokenizer.encode_ids(split, check), dtype=torch.long, device="cpu")  # batches move later

    return TrainingData(data.name, tokenizer, as_tensor(data.train), as_tensor(data.val))
