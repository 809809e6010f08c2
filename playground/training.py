"""The training engine: a generator of `StepStats` the CLI, the UI and notebooks consume.

`train_steps` yields after every completed optimiser step, so a caller can stop at any
time (close the generator) and the model is consistent at its last completed step.
Muon + AdamW or plain AdamW (`optim.py`), linear warmup then cosine decay, gradient clipping.
Batches are drawn on the CPU (one seeded generator: the same windows on every device) and
moved to the model's device; the forward pass runs under bfloat16 autocast on a CUDA GPU with
native bf16 (device.autocast) and on CPUs with bfloat16 instructions (`precision.py`;
`TrainConfig.precision`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import device as devices
from .config import ModelConfig, SampleConfig, TrainConfig
from .distributed import SINGLE, World
from .errors import PlaygroundError, register
from .hooks import run_with_cache
from .model import TinyGPT
from .optim import make_optimizer, set_lr
from .precision import autocast, resolve
from .sampling import generate_steps

__all__ = ["make_optimizer"]  # re-exported: callers and benches build the optimiser from here


@dataclass
class StepStats:
    """What happened at one optimiser step (`step` counts from 1)."""

    step: int
    steps: int  # total steps planned
    loss: float
    lr: float
    tokens_per_s: float
    elapsed: float  # seconds since the run started
    eta: float  # estimated seconds to the last step
    grad_norm: float
    val_loss: float | None = None
    sample: str | None = None
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> (L, H, T, T) probe attention
    model: TinyGPT | None = field(default=None, repr=False)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimiser step `step` (0-based): linear warmup, then cosine to min."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * progress))


def init_model(cfg: ModelConfig, seed: int, device: torch.device | str | None = None) -> TinyGPT:
    """A freshly initialised model on `device` (default: the `PLAYGROUND_DEVICE` setting).

    The weights are drawn on the CPU, then moved: the same seed gives the same weights on every
    device."""
    target = devices.resolve() if device is None else device
    torch.manual_seed(seed)
    with torch.device("cpu"):  # the CPU generator draws the weights, whatever the default device
        model = TinyGPT(cfg)
    return model.to(target)


register(
    {
        "train.too_few_tokens": (
            "need at least 3 tokens of text to train on, got {n}",
            "至少需要 3 个词元的文本才能训练，收到 {n} 个",
        ),
    }
)


class BatchSampler:
    """Random (B, T+1) windows of a 1-D token tensor; seeded, so runs repeat exactly.

    Drawn on the CPU whatever the model's device (the caller moves each batch), so a seed gives
    the same windows everywhere."""

    def __init__(self, ids: torch.Tensor, n_ctx: int, batch_size: int, seed: int) -> None:
        ids = torch.as_tensor(ids, dtype=torch.long, device="cpu").flatten()
        self.block = min(n_ctx, len(ids) - 1)
        if self.block < 2:
            raise PlaygroundError("train.too_few_tokens", n=len(ids))
        self.ids = ids
        self.batch_size = batch_size
        self.gen = torch.Generator(device="cpu").manual_seed(seed)
        self.offsets = torch.arange(self.block + 1, device="cpu")  # (T+1,)

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.randint(len(self.ids) - self.block, (self.batch_size,), generator=self.gen, device="cpu")
        windows = self.ids[starts.unsqueeze(1) + self.offsets]  # (B, T+1)
        return windows[:, :-1], windows[:, 1:]

    def __iter__(self) -> BatchSampler:
        return self


@torch.no_grad()
def evaluate(model: TinyGPT, ids, batch_size: int = 16, n_batches: int = 4, seed: int = 1234) -> float:
    """Mean loss on `n_batches` fixed random windows of `ids` (fixed seed: comparable evals)."""
    was_training = model.training
    model.eval()
    sampler = BatchSampler(ids, model.cfg.n_ctx, batch_size, seed)
    where = model.device
    losses = [model.loss(x.to(where), y.to(where)).item() for x, y in (next(sampler) for _ in range(n_batches))]
    model.train(was_training)
    return sum(losses) / len(losses)


def probe_attention(model: TinyGPT, probe_ids: Sequence[int]) -> np.ndarray:
    """Attention of every layer and head on the probe: (L, H, T, T) float32."""
    was_training = model.training
    model.eval()
    names = [f"blocks.{i}.attn.hook_pattern" for i in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, list(probe_ids)[: model.cfg.n_ctx], names=names)
    model.train(was_training)
    return cache.all_patterns().cpu().numpy().astype(np.float32)


def optimizer_step(model: nn.Module, optimizer, x: torch.Tensor, y: torch.Tensor,
                   grad_clip: float, compute_dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """One update on batch `x` -> targets `y`: forward and loss (`model.loss(x, y)`: next-token
    cross-entropy for TinyGPT, target cross-entropy given the source for the translator),
    backward, clip, optimiser step (AdamW, or Muon + AdamW). Returns (loss, gradient norm before
    clipping). bench/step_budget.py times this. `x`, `y` are on the model's device; the forward
    pass runs in bfloat16 autocast on a CUDA GPU with native bf16, and on the CPU when
    `compute_dtype` is bfloat16 (`precision.resolve`: only where the CPU has the instructions).
    The loss comes out float32."""
    with autocast(compute_dtype) if x.device.type == "cpu" else devices.autocast(x.device):
        loss = model.loss(x, y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # grad_clip 0 means no clipping (a max norm of 0 would zero every gradient); the norm is still measured
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or math.inf, foreach=True)
    optimizer.step()
    return loss, grad_norm


def train_steps(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    train_ids,
    val_ids=None,
    probe_text: str | None = None,
    *,
    tokenizer=None,
    model: TinyGPT | None = None,
    snapshot_steps: Sequence[int] = (),
    sample_prompt: str = "\n",
    sample_tokens: int = 48,
    device: torch.device | str | None = None,
    world: World = SINGLE,
) -> Iterator[StepStats]:
    """Train `model` (or a fresh seeded one on `device`, default the PLAYGROUND_DEVICE setting)
    and yield a `StepStats` after every step.

    `train_ids` / `val_ids`: 1-D token ids. `probe_text` (needs `tokenizer`) is snapshotted at
    `snapshot_steps` (0 = before training, shown on the first yield) and the last step.
    Samples (also need `tokenizer`) every `train_cfg.sample_interval` steps.
    Under torchrun pass `world` (distributed.setup()): each of its N ranks trains on its slice of
    a global batch of N × `batch_size`, and `loss` is the global batch's mean (see distributed.py).
    """
    if model is None:
        model = init_model(model_cfg, train_cfg.seed, device)
    torch.manual_seed(train_cfg.seed)
    model.train()
    optimizer = make_optimizer(model, train_cfg)
    compute_dtype, _ = resolve(train_cfg.precision)  # precision.status() says why
    batches = BatchSampler(train_ids, model_cfg.n_ctx, train_cfg.batch_size * world.size, train_cfg.seed)
    runner = world.wrap(model)  # DDP across torchrun ranks; the model itself in one process
    probe_ids = tokenizer.encode(probe_text).ids if (probe_text and tokenizer) else None
    snapshot_at = set(snapshot_steps)
    initial_snapshot = probe_attention(model, probe_ids) if probe_ids and 0 in snapshot_at else None

    start = time.perf_counter()
    tokens_done, train_time = 0, 0.0
    for step in range(train_cfg.steps):
        t0 = time.perf_counter()
        lr = lr_at(step, train_cfg)
        set_lr(optimizer, lr)
        x, y = (world.shard(t).to(model.device, non_blocking=True) for t in next(batches))  # (B, T) each
        loss, grad_norm = optimizer_step(runner, optimizer, x, y, train_cfg.grad_clip, compute_dtype)
        loss = world.mean(loss)  # the global batch's mean loss
        train_time += time.perf_counter() - t0
        tokens_done += x.numel() * world.size

        done = step + 1
        last = done == train_cfg.steps
        stats = StepStats(
            step=done,
            steps=train_cfg.steps,
            loss=loss.item(),
            lr=lr,
            tokens_per_s=tokens_done / train_time,
            elapsed=time.perf_counter() - start,
            eta=train_time / done * (train_cfg.steps - done),
            grad_norm=grad_norm.item(),
            model=model,
        )
        if val_ids is not None and (done % train_cfg.eval_interval == 0 or last):
            stats.val_loss = evaluate(model, val_ids, train_cfg.batch_size * world.size, train_cfg.eval_batches)
        if tokenizer is not None and train_cfg.sample_interval and (
            done % train_cfg.sample_interval == 0 or last
        ):
            stats.sample = sample_text(model, tokenizer, sample_prompt, sample_tokens, seed=train_cfg.seed)
        if step == 0 and initial_snapshot is not None:
            stats.snapshots[0] = initial_snapshot
        if probe_ids and (done in snapshot_at or last):
            stats.snapshots[done] = probe_attention(model, probe_ids)
        yield stats
    model.eval()


def sample_text(model: TinyGPT, tokenizer, prompt: str, n_tokens: int, seed: int = 0) -> str:
    """A short seeded sample (temperature 0.8, top-k 40) to show progress."""
    was_training = model.training
    ids = tokenizer.encode(prompt).ids or [0]
    cfg = SampleConfig(max_new_tokens=n_tokens, temperature=0.8, top_k=40, seed=seed)
    new = [s.token_id for s in generate_steps(model, ids, cfg)]
    model.train(was_training)
    return prompt + tokenizer.decode(new)
