"""The article's section-5 experiment, runnable, with one toggle per problem in its listing.

The article trains an encoder-decoder `torch.nn.Transformer` on random token ids and prints a
loss curve that falls from 4.4453 to 0.5931 in 10 epochs. Its listing does not run as printed.
`run_lab(LabFixes())` runs it with only the *minimal* fixes that make it run:

- the undefined maximum sequence length is `MAX_LEN` (= the sequence length, 10) and the
  undefined `vocab_size` in the loop is `VOCAB` (10,000);
- the learned positional parameter (1, MAX_LEN, d_model) is sliced on the token axis
  (`pos[:, :T]`), not on its size-1 first axis.

Everything else is as the article describes it: vocab 10,000, d_model 512, 8 heads,
`nn.Transformer(d_model, nhead, num_layers)` with num_layers = 2 in the third positional slot,
which is `num_encoder_layers` — so the decoder keeps PyTorch's default of **6** layers; default
dropout 0.1 and feed-forward 2048; embedding and output weights uniform(−0.1, 0.1), output bias
zero, positional parameter zeros; inputs and targets random ids of shape (32, 10) drawn
independently; cross-entropy; Adam lr 0.001; 10 epochs of one batch, the same batch each epoch.

Each field of `LabFixes` repairs one listed problem (all False = the article's code, all True =
a correct sequence-to-sequence setup). A run is deterministic per seed: the seed fixes weights,
data and the dropout masks (runs are serialised by a lock, because dropout draws from torch's
global generator). Another thread that reseeds or draws from torch's global generator during a
run (e.g. a training run started at the same moment) would change its dropout masks.

Notebook use::

    from playground.article_lab import LabFixes, run_lab
    article = run_lab(LabFixes())            # the article's setting
    fixed = run_lab(LabFixes.all())          # every fix on
    article.losses, fixed.losses             # tuples of 10 floats, one per epoch
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from dataclasses import dataclass, fields

import torch
from torch import nn

from .errors import PlaygroundError, check_range, register

VOCAB = 10_000
D_MODEL = 512
N_HEADS = 8
N_LAYERS = 2  # the article's num_layers, passed where nn.Transformer expects num_encoder_layers
DEFAULT_DECODER_LAYERS = 6  # nn.Transformer's default num_decoder_layers
BATCH, SEQ = 32, 10
MAX_LEN = SEQ  # the listing's undefined maximum sequence length
LR = 1e-3
EPOCHS = 10
MAX_EPOCHS = 50
INIT_RANGE = 0.1
BOS = VOCAB  # start-of-sequence id for shifted targets: one extra embedding row, never predicted
ARTICLE_LOSSES = (4.4453, 2.8815, 2.1947, 1.7452, 1.4405, 1.1776, 0.9697, 0.8209, 0.6929, 0.5931)
FRESH_LOSS = math.log(VOCAB)  # ≈ 9.21: cross-entropy of a uniform guess over 10,000 ids

_LOCK = threading.Lock()
LOCK_TIMEOUT = 300  # seconds to wait for another run (one at a time: dropout uses the global RNG)


@dataclass(frozen=True)
class LabFixes:
    """One switch per problem in the article's listing; False = as the article wrote it."""

    batch_first: bool = False  # nn.Transformer(batch_first=True) for the (batch, seq) tensors
    causal_mask: bool = False  # a causal mask on the decoder's self-attention
    shift_targets: bool = False  # decoder input = [BOS] + targets[:-1] (teacher forcing)
    source_positions: bool = False  # add positions to the source too, not only the target
    decoder_layers_2: bool = False  # num_decoder_layers=2 as the article probably meant (else 6)

    @classmethod
    def all(cls) -> LabFixes:
        """Every fix on: a correct next-token sequence-to-sequence setup."""
        return cls(**{f.name: True for f in fields(cls)})

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass
class LabResult:
    """A finished run. Every number here was measured in that run.

    losses: training loss after each epoch's forward pass (before its update), as the article
        prints; `losses[0]` is the loss of the freshly initialised model.
    train_accuracy: share of the 320 target ids the trained model predicts (argmax) on the batch.
    copy_accuracy: the same on the batch's target ids shuffled to other places, with new random
        sources (eval mode). A model that memorised (source, position) -> target scores ≈ 0
        here; one that copies what its decoder reads scores high.
    cross_example_change: how much example 0's logits move (max |Δ|, eval mode) when the other
        31 examples are replaced. 0 when attention mixes tokens of one sequence only; > 0 when
        it mixes across the batch (the batch-first problem).
    future_change: max |Δ| of the logits at positions 0..8 when only the last decoder input
        changes: 0 when no position can see a later one (causal mask over the tokens).
    source_order_change: max |Δ| of the logits when every source sequence is reversed: ~0
        (float noise) when the model cannot tell source word order.
    attention_axis / attention_length: what the model's attention runs over ("tokens" of one
        sequence, length 10, or "examples" of the batch, length 32).
    """

    fixes: LabFixes
    seed: int
    epochs: int
    losses: tuple[float, ...]
    train_accuracy: float
    copy_accuracy: float
    cross_example_change: float
    future_change: float
    source_order_change: float
    attention_axis: str
    attention_length: int
    decoder_layers: int
    n_params: int
    seconds: float


class ArticleModel(nn.Module):
    """The article's TransformerModel, with its two crash fixes and the toggled fixes."""

    def __init__(self, fixes: LabFixes):
        super().__init__()
        self.fixes = fixes
        self.embedding = nn.Embedding(VOCAB + 1, D_MODEL)  # + BOS row, used only with shifted targets
        self.pos_encoder = nn.Parameter(torch.zeros(1, MAX_LEN, D_MODEL))
        decoder_layers = N_LAYERS if fixes.decoder_layers_2 else DEFAULT_DECODER_LAYERS
        with warnings.catch_warnings():  # "enable_nested_tensor is True, but ...": a speed note only
            warnings.filterwarnings("ignore", message="enable_nested_tensor")
            self.transformer = nn.Transformer(D_MODEL, N_HEADS, N_LAYERS, num_decoder_layers=decoder_layers,
                                              batch_first=fixes.batch_first)
        self.fc_out = nn.Linear(D_MODEL, VOCAB)
        nn.init.uniform_(self.embedding.weight, -INIT_RANGE, INIT_RANGE)
        nn.init.uniform_(self.fc_out.weight, -INIT_RANGE, INIT_RANGE)
        nn.init.zeros_(self.fc_out.bias)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """src, tgt_in (B, T) ids, batch first as the article's data -> logits (B, T, VOCAB)."""
        t = tgt_in.size(1)
        pos = self.pos_encoder[:, :t]  # (1, T, d): the fixed slicing, on the token axis
        s = self.embedding(src)  # (B, T, d)
        if self.fixes.source_positions:
            s = s + self.pos_encoder[:, : src.size(1)]
        y = self.embedding(tgt_in) + pos  # (B, T, d)
        # Without batch_first the module reads dim 0 (the 32 examples) as the sequence.
        mask = None
        if self.fixes.causal_mask:
            mask = nn.Transformer.generate_square_subsequent_mask(y.size(1 if self.fixes.batch_first else 0))
        out = self.transformer(s, y, tgt_mask=mask, tgt_is_causal=self.fixes.causal_mask)
        return self.fc_out(out)


def decoder_input(targets: torch.Tensor, fixes: LabFixes) -> torch.Tensor:
    """What the decoder reads: the targets themselves (article), or [BOS] + targets[:, :-1]."""
    if not fixes.shift_targets:
        return targets
    bos = torch.full_like(targets[:, :1], BOS)
    return torch.cat([bos, targets[:, :-1]], dim=1)


def make_batch(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets, each (32, 10) random ids in 0..9999, drawn independently."""
    src = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    tgt = torch.randint(0, VOCAB, (BATCH, SEQ), generator=gen)
    return src, tgt


def build_model(fixes: LabFixes, seed: int = 0) -> ArticleModel:
    """The initialised model for `seed` (weights only depend on the seed and the fixes)."""
    torch.manual_seed(seed)
    return ArticleModel(fixes)


register(
    {
        "lab.seed": ("seed", "种子"),
        "lab.epochs": ("epochs", "轮数"),
        "lab.not_fixes": ("fixes must be a LabFixes, got {type}", "fixes 必须是 LabFixes，收到的是 {type}"),
        "lab.busy": (
            "another article-lab run has been busy for over {seconds} s; try later",
            "另一个文章实验已经运行超过 {seconds} 秒；请稍后再试",
        ),
    }
)


def _check(fixes, seed, epochs) -> tuple[int, int]:
    """The seed and epoch count as ints, or a PlaygroundError saying what is allowed."""
    if not isinstance(fixes, LabFixes):
        raise PlaygroundError("lab.not_fixes", type=type(fixes).__name__)
    return (check_range("lab.seed", seed, 0, 2**31 - 1, whole=True),
            check_range("lab.epochs", epochs, 1, MAX_EPOCHS, whole=True))


@torch.no_grad()
def _accuracy(model: ArticleModel, src, tgt, fixes) -> float:
    logits = model(src, decoder_input(tgt, fixes))
    return float((logits.argmax(-1) == tgt).float().mean())


@dataclass
class LabEpoch:
    """One finished epoch of a run (`epoch` counts from 1)."""

    epoch: int
    epochs: int
    loss: float
    elapsed: float


def lab_steps(fixes: LabFixes, seed: int = 0, epochs: int = EPOCHS):
    """Train the article's model, yielding a `LabEpoch` after every epoch, then return the
    `LabResult` (a generator's return value: `result = yield from lab_steps(...)`).

    The UI consumes this to draw the curve as it grows; `run_lab` runs it to the end."""
    seed, epochs = _check(fixes, seed, epochs)
    if not _LOCK.acquire(timeout=LOCK_TIMEOUT):
        raise PlaygroundError("lab.busy", seconds=LOCK_TIMEOUT)
    try:
        started = time.perf_counter()
        gen = torch.Generator().manual_seed(seed)
        src, tgt = make_batch(gen)
        model = build_model(fixes, seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        criterion = nn.CrossEntropyLoss()
        tgt_in = decoder_input(tgt, fixes)
        losses: list[float] = []
        for epoch in range(1, epochs + 1):
            model.train()  # dropout 0.1 as nn.Transformer's default; its masks follow the seed
            optimizer.zero_grad()
            logits = model(src, tgt_in)  # (B, T, VOCAB)
            loss = criterion(logits.reshape(-1, VOCAB), tgt.reshape(-1))
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            yield LabEpoch(epoch, epochs, losses[-1], time.perf_counter() - started)
        model.eval()
        train_acc = _accuracy(model, src, tgt, fixes)
        # Copy probe: the same 320 target ids shuffled to new places, with new random sources.
        # Memorising (source, position) -> target cannot predict these; copying the decoder's
        # input can.
        fresh_src, _ = make_batch(gen)
        shuffled = tgt.reshape(-1)[torch.randperm(tgt.numel(), generator=gen)].reshape(tgt.shape)
        copy_acc = _accuracy(model, fresh_src, shuffled, fixes)
        with torch.no_grad():  # replace examples 1..31 and see whether example 0's output moves
            base = model(src, tgt_in)[0]
            other_src, other_tgt = src.clone(), tgt.clone()
            other_src[1:], other_tgt[1:] = fresh_src[1:], shuffled[1:]
            moved = model(other_src, decoder_input(other_tgt, fixes))[0]
            change = float((moved - base).abs().max())
            # Future leak: change only the last decoder input of every example; do the earlier
            # positions' outputs move? (They may not under a causal mask over the tokens.)
            late_in = tgt_in.clone()
            late_in[:, -1] = (late_in[:, -1] + 1) % VOCAB
            future = float((model(src, late_in)[:, :-1] - model(src, tgt_in)[:, :-1]).abs().max())
            # Source order: reverse every source sequence; does the output notice?
            order = float((model(src.flip(1), tgt_in) - model(src, tgt_in)).abs().max())
        n_params = sum(p.numel() for p in model.parameters())
        seconds = time.perf_counter() - started
    finally:
        _LOCK.release()
    return LabResult(
        fixes=fixes, seed=seed, epochs=epochs, losses=tuple(losses), train_accuracy=train_acc,
        copy_accuracy=copy_acc, cross_example_change=change, future_change=future,
        source_order_change=order,
        attention_axis="tokens" if fixes.batch_first else "examples",
        attention_length=SEQ if fixes.batch_first else BATCH,
        decoder_layers=N_LAYERS if fixes.decoder_layers_2 else DEFAULT_DECODER_LAYERS,
        n_params=n_params, seconds=seconds,
    )


def run_lab(fixes: LabFixes, seed: int = 0, epochs: int = EPOCHS) -> LabResult:
    """Train the article's model for `epochs` epochs (one batch each, the same batch) and measure.

    Deterministic: the same fixes, seed and epochs give identical losses."""
    steps = lab_steps(fixes, seed, epochs)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
