"""The whole path from a token to the next-token probabilities, for one position, with real vectors.

GPT-2's pipeline, as the model computes it (`model.py`):

    token id → token embedding + position embedding = residual stream x
    each block:  x += attention(ln_1(x))   (heads → concatenated → output projection)
                 x += MLP(ln_2(x))         (d_model → d_mlp → GELU → d_model)
    ln_final(x) → × W_Eᵀ (the token-embedding matrix, tied) → logits → softmax → probabilities

`anatomy` returns every stage's vector at one position, read from one forward pass with
every hook captured (the layer-norm outputs inside blocks have no hook: they are recomputed
with the block's own LayerNorm). `qkv_provenance` shows where one head's q, k and v come from:
ln_1(x) times that head's slices of W_Q, W_K, W_V, plus their biases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .errors import check_range, register
from .lens import _inspection

register({
    "anatomy.field_layer": ("the layer", "层"),
    "anatomy.field_head": ("the head", "头"),
    "anatomy.field_temperature": ("the temperature", "温度"),
})


@dataclass
class Stage:
    """One stage of the pipeline at one position."""

    key: str  # "embed", "pos_embed", "x0", "L0.ln_1", "L0.heads", "L0.attn_out", "L0.x_mid", ...
    layer: int | None  # the block it belongs to, None outside the blocks
    kind: str  # "stream" (the residual stream), "added" (a block's addition to it) or "inside"
    vector: np.ndarray  # (n,) float32
    shape: str  # e.g. "d_model = 192"

    @property
    def norm(self) -> float:
        return float(np.linalg.norm(self.vector))


@dataclass
class Anatomy:
    position: int
    token: str  # the token at `position`, displayed
    stages: list[Stage]
    logits: torch.Tensor  # (d_vocab,) the model's logits at `position`

    def stage(self, key: str) -> Stage:
        return next(s for s in self.stages if s.key == key)

    def added_norms(self) -> np.ndarray:
        """(L, 2): the norm of what each block's attention (col 0) and MLP (col 1) added."""
        n_layers = sum(1 for s in self.stages if s.key.endswith(".attn_out"))
        return np.array([[self.stage(f"L{i}.attn_out").norm, self.stage(f"L{i}.mlp_out").norm]
                         for i in range(n_layers)])

    def stream_norms(self) -> list[tuple[str, float]]:
        """The residual stream's norm after each step (x0, then mid / post of every block)."""
        return [(s.key, s.norm) for s in self.stages if s.kind == "stream"]


@dataclass
class QKVProvenance:
    """q, k, v of one head at one token, rebuilt from the layer-normed input and the weights."""

    layer: int
    head: int
    position: int
    x: np.ndarray  # (d_model,) the residual stream entering the block
    x_ln: np.ndarray  # (d_model,) ln_1(x)
    weights: dict[str, np.ndarray]  # "q"/"k"/"v" -> (d_model, d_head) the head's slice of W_Q/W_K/W_V
    biases: dict[str, np.ndarray]  # "q"/"k"/"v" -> (d_head,)
    computed: dict[str, np.ndarray]  # "q"/"k"/"v" -> (d_head,) x_ln @ W + b
    hooked: dict[str, np.ndarray]  # "q"/"k"/"v" -> (d_head,) what the model's hook captured

    @property
    def max_difference(self) -> float:
        return max(float(np.abs(self.computed[n] - self.hooked[n]).max()) for n in "qkv")


def _layer_norm(ln: torch.nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x, ln.normalized_shape, ln.weight, ln.bias, ln.eps)


def anatomy(bundle, text_or_inspection, position: int = -1) -> Anatomy:
    """Every stage's vector at `position` (default: the last token)."""
    result = _inspection(bundle, text_or_inspection)
    model, cache, cfg = bundle.model, result.cache, bundle.model.cfg
    n = len(result.ids)
    position = check_range("lens.field_position", position, -n, n - 1, whole=True) % n
    d, m = f"d_model = {cfg.d_model}", f"d_mlp = {cfg.d_mlp}"
    stages: list[Stage] = []

    def add(key, layer, kind, tensor, shape):
        stages.append(Stage(key, layer, kind, tensor.detach().float().cpu().numpy().astype(np.float32), shape))

    with torch.no_grad():
        add("embed", None, "inside", cache.embed()[position], d)
        add("pos_embed", None, "inside", cache.pos_embed()[position], d)
        add("x0", None, "stream", cache.resid(0, "pre")[position], d)
        for i, block in enumerate(model.transformer.h):
            x = cache.resid(i, "pre")[position]
            add(f"L{i}.ln_1", i, "inside", _layer_norm(block.ln_1, x), d)
            add(f"L{i}.heads", i, "inside", cache.z(i)[position].reshape(-1),
                f"{cfg.n_heads} heads × d_head {cfg.d_head} = {cfg.d_model}")
            add(f"L{i}.attn_out", i, "added", cache[f"blocks.{i}.hook_attn_out"][0, position], d)
            x_mid = cache.resid(i, "mid")[position]
            add(f"L{i}.x_mid", i, "stream", x_mid, d)
            add(f"L{i}.ln_2", i, "inside", _layer_norm(block.ln_2, x_mid), d)
            add(f"L{i}.mlp_hidden", i, "inside", cache[f"blocks.{i}.mlp.hook_post"][0, position], m)
            add(f"L{i}.mlp_out", i, "added", cache[f"blocks.{i}.hook_mlp_out"][0, position], d)
            add(f"L{i}.x_post", i, "stream", cache.resid(i, "post")[position], d)
        add("ln_final", None, "inside", cache["ln_final.hook_normalized"][0, position], d)
    return Anatomy(position, result.tokens[position].display, stages, result.logits[position].detach().cpu())


def temperature_probs(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / temperature): the logits are divided by the temperature."""
    temperature = check_range("anatomy.field_temperature", temperature, 0.05, 5.0)
    return (logits.float() / temperature).softmax(-1)


def qkv_provenance(bundle, text_or_inspection, layer: int, head: int, position: int = -1) -> QKVProvenance:
    """q, k, v of `head` in `layer` at `position`: ln_1(x) @ W_{Q,K,V}[:, head's slice] + b."""
    result = _inspection(bundle, text_or_inspection)
    model, cache, cfg = bundle.model, result.cache, bundle.model.cfg
    layer = check_range("anatomy.field_layer", layer, 0, cfg.n_layers - 1, whole=True)
    head = check_range("anatomy.field_head", head, 0, cfg.n_heads - 1, whole=True)
    n = len(result.ids)
    position = check_range("lens.field_position", position, -n, n - 1, whole=True) % n
    block, C, D = model.transformer.h[layer], cfg.d_model, cfg.d_head
    with torch.no_grad():
        x = cache.resid(layer, "pre")[position]  # (d_model,)
        x_ln = _layer_norm(block.ln_1, x)
        weight, bias = block.attn.c_attn.weight, block.attn.c_attn.bias  # (d_model, 3 d_model), (3 d_model,)
        cols = {name: slice(j * C + head * D, j * C + (head + 1) * D) for j, name in enumerate("qkv")}
        weights = {name: weight[:, c] for name, c in cols.items()}  # (d_model, d_head)
        biases = {name: bias[c] for name, c in cols.items()}  # (d_head,)
        computed = {name: x_ln @ weights[name] + biases[name] for name in "qkv"}
        hooked = {"q": cache.q(layer)[position, head], "k": cache.k(layer)[position, head],
                  "v": cache.v(layer)[position, head]}

    def as_np(values: dict) -> dict[str, np.ndarray]:
        return {k: v.detach().float().cpu().numpy() for k, v in values.items()}

    return QKVProvenance(layer, head, position, x.cpu().numpy(), x_ln.cpu().numpy(), as_np(weights), as_np(biases),
                         as_np(computed), as_np(hooked))

