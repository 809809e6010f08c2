"""Activation capture: identity `HookPoint`s and a scoped `run_with_cache`.

Hook names follow TransformerLens (`blocks.0.attn.hook_pattern`, ...) so learners can move
on to it. Capture is scoped: hooks live only inside `run_with_cache` and are removed in a
`finally`, so nothing is left on the module, even after an exception.
Only torch and the standard library are imported here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import torch
from torch import nn

from .device import device_of


class HookPoint(nn.Module):
    """Identity module marking a named activation. Has no parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.name = ""  # set by the model once the hook's place is known

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @property
    def listening(self) -> bool:
        """True while someone captures this activation (the model then takes the manual path)."""
        return bool(self._forward_hooks)


class ActivationCache:
    """Captured activations by hook name, with shape-documented accessors.

    Raw entries keep the batch dimension (`cache["blocks.0.attn.hook_q"]` is `(B, T, H, D)`);
    accessors take a `batch` index (default 0) and drop it.
    """

    def __init__(self, store: dict[str, torch.Tensor], n_layers: int) -> None:
        self._store = store
        self.n_layers = n_layers

    def __getitem__(self, name: str) -> torch.Tensor:
        try:
            return self._store[name]
        except KeyError:
            raise KeyError(
                f"{name!r} was not captured; captured: {sorted(self._store)[:8]}..."
            ) from None

    def __contains__(self, name: str) -> bool:
        return name in self._store

    def keys(self) -> list[str]:
        return list(self._store)

    def __len__(self) -> int:
        return len(self._store)

    def to(self, device: torch.device | str) -> ActivationCache:  # the same kind of cache
        """The same activations on `device` (e.g. "cpu" before numpy or a figure reads them)."""
        return type(self)({k: v.to(device) for k, v in self._store.items()}, self.n_layers)

    def _layer(self, layer: int) -> int:
        if not -self.n_layers <= layer < self.n_layers:
            raise IndexError(f"layer must be in 0..{self.n_layers - 1}, got {layer}")
        return layer % self.n_layers

    def _get(self, name: str, batch: int) -> torch.Tensor:
        return self[name][batch]

    def pattern(self, layer: int, batch: int = 0) -> torch.Tensor:
        """Attention weights after softmax: (H, Tq, Tk); rows sum to 1."""
        return self._get(f"blocks.{self._layer(layer)}.attn.hook_pattern", batch)

    def scores(self, layer: int, batch: int = 0) -> torch.Tensor:
        """Scaled, masked scores before softmax, q·k/√d_head: (H, Tq, Tk); masked = -inf."""
        return self._get(f"blocks.{self._layer(layer)}.attn.hook_attn_scores", batch)

    def q(self, layer: int, batch: int = 0) -> torch.Tensor:
        """Queries: (T, H, d_head)."""
        return self._get(f"blocks.{self._layer(layer)}.attn.hook_q", batch)

    def k(self, layer: int, batch: int = 0) -> torch.Tensor:
        """Keys: (T, H, d_head)."""
        return self._get(f"blocks.{self._layer(layer)}.attn.hook_k", batch)

    def v(self, layer: int, batch: int = 0) -> torch.Tensor:
        """Values: (T, H, d_head)."""
        return self._get(f"blocks.{self._layer(layer)}.attn.hook_v", batch)

    def z(self, layer: int, batch: int = 0) -> torch.Tensor:
        """Per-head weighted sum of values: (T, H, d_head)."""
        return self._get(f"blocks.{self._layer(layer)}.attn.hook_z", batch)

    def embed(self, batch: int = 0) -> torch.Tensor:
        """Token embeddings: (T, d_model)."""
        return self._get("hook_embed", batch)

    def pos_embed(self, batch: int = 0) -> torch.Tensor:
        """Position embeddings: (T, d_model)."""
        return self._get("hook_pos_embed", batch)

    def resid(self, layer: int, where: str = "pre", batch: int = 0) -> torch.Tensor:
        """Residual stream (T, d_model) at `where` in {'pre', 'mid', 'post'} of a block."""
        if where not in ("pre", "mid", "post"):
            raise ValueError(f"where must be 'pre', 'mid' or 'post', got {where!r}")
        return self._get(f"blocks.{self._layer(layer)}.hook_resid_{where}", batch)

    def all_patterns(self, batch: int = 0) -> torch.Tensor:
        """Every layer's pattern stacked: (L, H, Tq, Tk)."""
        return torch.stack([self.pattern(i, batch) for i in range(self.n_layers)])


def run_with_cache(
    model: nn.Module,
    *inputs,
    names: Iterable[str] | None = None,
    **kwargs,
) -> tuple[torch.Tensor, ActivationCache]:
    """Run `model(*inputs, **kwargs)` and capture activations by hook name.

    Works for any model with a `hook_points` dict (TinyGPT takes `ids`, the translator
    `src, tgt_in`). Each input is token ids, (T,) or (B, T); a batch dimension is added to 1-D
    ones. Returns the model's output (e.g. logits `(B, T, d_vocab)`) and the cache, of the
    model's `cache_class` (default `ActivationCache`), both on the model's device
    (`cache.to("cpu")` for numpy). `names=None` captures every hook; otherwise only those listed
    (unknown names raise). `kwargs` (e.g. `kv_cache`) go to the model.
    """
    points = model.hook_points
    if names is None:
        wanted = list(points)
    else:
        wanted = list(names)
        unknown = [n for n in wanted if n not in points]
        if unknown:
            raise KeyError(
                f"unknown hook names {unknown}; this model's are e.g. {list(points)[:3]} (all: model.hook_points)"
            )
    inputs = [torch.as_tensor(x, dtype=torch.long, device=device_of(model)) for x in inputs]
    inputs = [x.unsqueeze(0) if x.dim() == 1 else x for x in inputs]  # each (B, T)
    store: dict[str, torch.Tensor] = {}
    handles = []
    # Hooks live on the module, so a forward pass of the same (shared, cached) model in another
    # thread — another user's request — calls them too: keep only this thread's activations.
    owner = threading.get_ident()
    try:
        for name in wanted:
            def save(_module, _inputs, output, name=name):
                if threading.get_ident() == owner:
                    store[name] = output.detach()
            handles.append(points[name].register_forward_hook(save))
        with torch.no_grad():
            out = model(*inputs, **kwargs)
    finally:
        for h in handles:
            h.remove()
    cache_class = getattr(model, "cache_class", ActivationCache)
    return out, cache_class(store, model.cfg.n_layers)
