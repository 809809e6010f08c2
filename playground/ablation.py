"""Ablation: switch off chosen attention heads and MLP blocks and see what the model loses.

A head is switched off by replacing its output z (before the output projection) and an MLP
block by replacing its output, through forward hooks on the model's HookPoints:

* zero — replace with zeros (the head adds only its share of the projection bias);
* mean — replace with its average over this text's positions on the unablated run, which
  keeps the typical size of the stream but removes what depends on the token.

Hooks are installed for one forward pass and act only in the thread that installed them: the
shared model may serve another user's request at the same time, which must stay untouched.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .errors import PlaygroundError, register
from .hooks import run_with_cache

MODES = ("zero", "mean")
MAX_TOKEN_CHARS = 64  # held_out_loss reads at most this many characters per token it needs

register({
    "ablate.mode": ("the ablation mode must be one of {allowed} (got {got})",
                    "消融方式必须是 {allowed} 之一（收到 {got}）"),
    "ablate.head_format": ("a head is given as (layer, head), e.g. (0, 1) (got {got})",
                           "注意力头要写成（层, 头），例如 (0, 1)（收到 {got}）"),
    "ablate.no_such_head": ("head ({layer}, {head}) does not exist: layers 0 to {last_layer}, heads 0 to {last_head}",
                            "头（{layer}, {head}）不存在：层为 0 到 {last_layer}，头为 0 到 {last_head}"),
    "ablate.mlp_format": ("an MLP block is given by its layer number (got {got})",
                          "MLP 模块要用它的层号表示（收到 {got}）"),
    "ablate.field_window": ("the window", "窗口长度"),
    "ablate.field_max_windows": ("the number of windows", "窗口数"),
    "ablate.text_too_short": ("the text has {got} tokens; at least {need} are needed for one window",
                              "文本只有 {got} 个词元；一个窗口至少需要 {need} 个"),
    "ablate.no_such_mlp": ("MLP block {layer} does not exist: layers 0 to {last_layer}",
                           "MLP 模块 {layer} 不存在：层为 0 到 {last_layer}"),
})


@dataclass
class Ablation:
    """Next-token probabilities, per-position losses and attention, before and after."""

    heads: list[tuple[int, int]]  # (layer, head) switched off
    mlps: list[int]  # layers whose MLP block was switched off
    mode: str  # "zero" or "mean"
    tokens: list[str]  # the input tokens, displayed
    losses_before: np.ndarray  # (T-1,) cross-entropy of predicting token i+1 at position i
    losses_after: np.ndarray  # (T-1,)
    probs_before: torch.Tensor  # (d_vocab,) next-token distribution after the last token
    probs_after: torch.Tensor  # (d_vocab,)
    patterns_before: np.ndarray  # (L, H, T, T)
    patterns_after: np.ndarray  # (L, H, T, T)

    @property
    def loss_before(self) -> float:
        return float(self.losses_before.mean()) if self.losses_before.size else float("nan")

    @property
    def loss_after(self) -> float:
        return float(self.losses_after.mean()) if self.losses_after.size else float("nan")

    def loss_on(self, positions) -> tuple[float, float]:
        """Mean loss (before, after) over the predictions made at `positions` (0..T-2)."""
        idx = np.asarray([p for p in positions if 0 <= p < self.losses_before.size], dtype=int)
        if not idx.size:
            return float("nan"), float("nan")
        return float(self.losses_before[idx].mean()), float(self.losses_after[idx].mean())


def check_targets(cfg, heads, mlps, mode: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Validated, de-duplicated (heads, mlps); a PlaygroundError names what is allowed."""
    if mode not in MODES:
        raise PlaygroundError("ablate.mode", allowed=", ".join(MODES), got=repr(mode)[:40])
    clean_heads = []
    for item in heads or ():
        try:
            layer, head = (_whole(v) for v in item)
        except (TypeError, ValueError):
            raise PlaygroundError("ablate.head_format", got=repr(item)[:40]) from None
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            raise PlaygroundError("ablate.no_such_head", layer=layer, head=head, last_layer=cfg.n_layers - 1,
                                  last_head=cfg.n_heads - 1)
        clean_heads.append((layer, head))
    clean_mlps = []
    for item in mlps or ():
        try:
            layer = _whole(item)
        except (TypeError, ValueError):
            raise PlaygroundError("ablate.mlp_format", got=repr(item)[:40]) from None
        if not 0 <= layer < cfg.n_layers:
            raise PlaygroundError("ablate.no_such_mlp", layer=layer, last_layer=cfg.n_layers - 1)
        clean_mlps.append(layer)
    return sorted(set(clean_heads)), sorted(set(clean_mlps))


def _whole(value) -> int:
    """An int from an int (or a whole float / numeric string); anything else is a ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


@contextmanager
def ablation_hooks(model, heads, mlps, mode: str, clean_cache=None):
    """Install the replacing hooks for the `with` body (this thread only); always removed after.

    mode "mean" needs `clean_cache` (an ActivationCache of the unablated run with hook_z and
    hook_mlp_out) for the averages."""
    owner = threading.get_ident()
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)
    handles = []

    def replace(output: torch.Tensor, index, mean: torch.Tensor | None) -> torch.Tensor:
        output = output.clone()
        if mean is None:
            output[index] = 0.0
        else:
            output[index] = mean.to(output.dtype)
        return output

    try:
        for layer, chosen in by_layer.items():
            mean = None
            if mode == "mean":
                mean = clean_cache[f"blocks.{layer}.attn.hook_z"][:, :, chosen].mean(1, keepdim=True)  # (B, 1, h, D)

            def on_z(_m, _i, out, chosen=chosen, mean=mean):  # out: (B, T, H, D)
                if threading.get_ident() != owner:
                    return None
                return replace(out, (slice(None), slice(None), chosen), mean)
            handles.append(model.hook_points[f"blocks.{layer}.attn.hook_z"].register_forward_hook(on_z))
        for layer in mlps:
            mean = None
            if mode == "mean":
                mean = clean_cache[f"blocks.{layer}.hook_mlp_out"].mean(1, keepdim=True)  # (B, 1, d_model)

            def on_mlp(_m, _i, out, mean=mean):  # out: (B, T, d_model)
                if threading.get_ident() != owner:
                    return None
                return replace(out, (slice(None),), mean)
            handles.append(model.hook_points[f"blocks.{layer}.hook_mlp_out"].register_forward_hook(on_mlp))
        yield
    finally:
        for h in handles:
            h.remove()


def position_losses(logits: torch.Tensor, ids: list[int]) -> np.ndarray:
    """(T-1,) cross-entropy of each next token: logits (T, d_vocab) at i predict ids[i+1]."""
    if len(ids) < 2:
        return np.zeros(0, dtype=np.float32)
    targets = torch.as_tensor(ids[1:], device=logits.device)
    return F.cross_entropy(logits[:-1].float(), targets, reduction="none").cpu().numpy()


def ablate(bundle, text_or_inspection, heads=(), mlps=(), mode: str = "zero") -> Ablation:
    """Run the text with `heads` [(layer, head), ...] and `mlps` [layer, ...] switched off.

    "Before" is the unablated run (the inspection's, when one is given); "after" is one more
    forward pass with the hooks."""
    from .lens import _inspection

    model = bundle.model
    heads, mlps = check_targets(model.cfg, heads, mlps, mode)
    before = _inspection(bundle, text_or_inspection)
    names = [f"blocks.{i}.attn.hook_pattern" for i in range(model.cfg.n_layers)]
    with ablation_hooks(model, heads, mlps, mode, before.cache):
        logits, cache = run_with_cache(model, before.ids, names=names)
    logits = logits[0]  # (T, d_vocab)
    return Ablation(
        heads=heads, mlps=mlps, mode=mode, tokens=[t.display for t in before.tokens],
        losses_before=position_losses(before.logits, before.ids),
        losses_after=position_losses(logits, before.ids),
        probs_before=before.logits[-1].softmax(-1).cpu(), probs_after=logits[-1].softmax(-1).cpu(),
        patterns_before=before.cache.all_patterns().cpu().numpy(),
        patterns_after=cache.all_patterns().cpu().numpy(),
    )


def held_out_loss(bundle, text: str, heads=(), mlps=(), window: int | None = None, max_windows: int = 400) -> float:
    """Mean next-token loss on `text` cut into windows of the model's context (or `window`),
    with `heads` and `mlps` zero-ablated — e.g. a corpus' validation text, to ask how much of the
    model's loss a circuit accounts for. At most `max_windows` windows (bounded time)."""
    from .errors import check_range

    model = bundle.model
    heads, mlps = check_targets(model.cfg, heads, mlps, "zero")
    n = check_range("ablate.field_window", window or model.cfg.n_ctx, 2, model.cfg.n_ctx, whole=True)
    max_windows = check_range("ablate.field_max_windows", max_windows, 1, 10_000, whole=True)
    need = max_windows * n + 1  # tokens; no token spans more than MAX_TOKEN_CHARS characters, so cut first
    ids = torch.as_tensor(bundle.tokenizer.encode(text[: need * MAX_TOKEN_CHARS]).ids[:need], dtype=torch.long)
    count = (ids.numel() - 1) // n
    if count < 1:
        raise PlaygroundError("ablate.text_too_short", need=n + 1, got=ids.numel())
    device = next(model.parameters()).device
    x = ids[: count * n].view(count, n).to(device)  # (W, n)
    y = ids[1: count * n + 1].view(count, n).to(device)  # (W, n) each window shifted by one
    with ablation_hooks(model, heads, mlps, "zero"), torch.no_grad():
        logits = model(x)  # (W, n, d_vocab)
    return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1)))
