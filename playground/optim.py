"""The optimisers `train_steps` can use: plain AdamW, or Muon for the weight matrices.

Muon (Keller Jordan, 2024; `torch.optim.Muon`) orthogonalises each matrix's momentum with a
few Newton-Schulz iterations, so every direction of a weight moves at the same rate; the
nanoGPT speedrun credits it with ~1.35-2x fewer steps to the same loss. It is defined for
the 2-D weights of hidden layers only: embeddings (a lookup, and our tied output layer),
biases and LayerNorm gains stay with AdamW, as in the speedrun.

Which weights are "hidden": every 2-D weight of a GPT-2 `Conv1D` (TinyGPT) or an `nn.Linear`
(the translator's q/k/v/o projections and MLPs), except an output head (a module named in
`OUTPUT_HEADS`: it maps to the vocabulary, like an embedding read backwards) and any weight an
`nn.Embedding` owns (TinyGPT's `lm_head` is tied to its token embedding).

Orientation: GPT-2 stores its linear layers as Conv1D, weight `(n_in, n_out)`, the transpose
of `nn.Linear`'s `(n_out, n_in)`. The orthogonalisation does not care, but Muon's step size
does: Keller's rule scales it by sqrt(max(1, n_out / n_in)), and torch reads the two sizes
from `weight.shape` assuming the Linear layout. `muon_groups` puts each shape and layout in
its own group with `lr_scale` correcting the factor, so c_fc (128 -> 512) gets its x2, not
c_proj; an `nn.Linear` is already in torch's layout (scale 1).
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch
from torch import nn

from .config import OPTIMIZERS, TrainConfig  # noqa: F401  (OPTIMIZERS re-exported)
from .model import Conv1D


class CombinedOptimizer:
    """Several optimisers stepped as one: what `train_steps` and `optimizer_step` need."""

    def __init__(self, *optimizers: torch.optim.Optimizer) -> None:
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list[dict]:
        return [g for opt in self.optimizers for g in opt.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()


def make_adamw(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; matrices decay, biases and LayerNorm gains don't (as nanoGPT).

    `fused=True`: one kernel per step instead of a dozen per tensor; measured 5-50x faster
    than the default on this CPU (bench/train_throughput.py), same update to float rounding.
    """
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=True)


def _keller_scale(n_in: int, n_out: int) -> float:
    """Keller Jordan's Muon step-size factor for a layer mapping n_in -> n_out features."""
    return math.sqrt(max(1.0, n_out / n_in))


# Modules that map to the vocabulary: Muon is for hidden layers, so these stay with AdamW.
OUTPUT_HEADS = ("lm_head",)


def _hidden_matrices(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(layout, weight) of every hidden 2-D weight: Conv1D ("conv1d") or nn.Linear ("linear")."""
    embedded = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    found, seen = [], set()
    for name, module in model.named_modules():
        if isinstance(module, Conv1D):
            layout = "conv1d"
        elif isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] not in OUTPUT_HEADS:
            layout = "linear"
        else:
            continue
        weight = module.weight
        if weight.requires_grad and weight.dim() == 2 and id(weight) not in embedded | seen:
            seen.add(id(weight))
            found.append((layout, weight))
    return found


def muon_groups(model: nn.Module, lr: float) -> tuple[list[dict], list[nn.Parameter]]:
    """(Muon param groups, the rest): hidden weights by layout and shape, `lr_scale` fixing
    orientation. Each group's "shape" is (n_in, n_out) whatever the storage.

    torch's "original" adjustment multiplies the step by sqrt(max(1, shape[0] / shape[1]));
    for a Conv1D weight shape[0] is n_in, so we scale by the correct factor over torch's; for
    an nn.Linear weight shape[0] is n_out, torch's factor is already Keller's.
    """
    by_shape: dict[tuple[str, int, int], list[nn.Parameter]] = defaultdict(list)
    for layout, weight in _hidden_matrices(model):
        rows, cols = weight.shape
        n_in, n_out = (rows, cols) if layout == "conv1d" else (cols, rows)
        by_shape[(layout, n_in, n_out)].append(weight)
    groups = []
    for (layout, n_in, n_out), params in sorted(by_shape.items()):
        rows, cols = params[0].shape
        torch_factor = math.sqrt(max(1.0, rows / cols))  # what torch.optim.Muon will apply
        scale = _keller_scale(n_in, n_out) / torch_factor
        groups.append({"params": params, "lr": lr * scale, "lr_scale": scale, "shape": (n_in, n_out),
                       "layout": layout})
    matrices = {id(p) for group in groups for p in group["params"]}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in matrices]
    return groups, rest


def make_muon(model: nn.Module, cfg: TrainConfig) -> CombinedOptimizer:
    """Muon (lr `cfg.muon_lr`) for every hidden weight matrix; AdamW (lr `cfg.lr`) for the rest.

    Embeddings get no weight decay (the speedrun's choice; they are looked up, not multiplied
    through), nor do biases and norms. `lr_scale` of each group is relative to `cfg.lr`, so
    one schedule (`training.lr_at`) drives both optimisers.
    """
    groups, rest = muon_groups(model, cfg.muon_lr)
    for group in groups:
        group["lr_scale"] *= cfg.muon_lr / cfg.lr
    muon = torch.optim.Muon(groups, lr=cfg.muon_lr, weight_decay=cfg.weight_decay, momentum=cfg.muon_momentum,
                            nesterov=True)
    adamw = torch.optim.AdamW([{"params": rest, "weight_decay": 0.0, "lr_scale": 1.0}], lr=cfg.lr,
                              betas=(cfg.beta1, cfg.beta2), fused=True)
    return CombinedOptimizer(muon, adamw)


def set_lr(optimizer: torch.optim.Optimizer | CombinedOptimizer, lr: float) -> None:
    """Set this step's learning rate: each group runs at `lr` times its `lr_scale` (Muon's groups
    at their own rate, corrected for orientation; AdamW's at `lr`)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer | CombinedOptimizer:
    """The optimiser `cfg.optimizer` names ("adamw" or "muon")."""
    if cfg.optimizer == "muon":
        return make_muon(model, cfg)
    return make_adamw(model, cfg)
