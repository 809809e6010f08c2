"""TinyGPT: the GPT-2 architecture, small enough to train on a laptop CPU.

Pre-LayerNorm blocks, learned positions, tanh-GELU MLP, output layer tied to the token
embedding, LayerNorm eps 1e-5 — and Hugging Face GPT-2 parameter names and layouts
(`transformer.h.0.attn.c_attn.weight` is `(d_model, 3 * d_model)`, a "Conv1D"). So a folder we
save is a GPT-2 folder 🤗 transformers loads, and GPT-2-family weights load here.

`MultiHeadAttention` is the project's one attention (the translator in seq2seq.py uses it
too); it has two paths with one meaning, a manual one that feeds the hook points and PyTorch's
fused kernel when nobody listens.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .hooks import HookPoint
from .kernels import gelu_tanh


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight stored `(n_in, n_out)`, y = x @ W + b."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(shape)


class KVCache:
    """Keys and values of tokens already seen, so each new token costs one position's work.

    Allocated per layer as `(B, H, n_ctx, d_head)` on the first `append`, with the device and
    dtype of the keys it receives — so it follows the model wherever it runs. `length` is the
    number of filled slots.
    """

    def __init__(self, cfg: ModelConfig, batch: int = 1) -> None:
        self.shape = (batch, cfg.n_heads, cfg.n_ctx, cfg.d_head)
        self.k: list[torch.Tensor | None] = [None] * cfg.n_layers
        self.v: list[torch.Tensor | None] = [None] * cfg.n_layers
        self.length = 0
        self.n_ctx = cfg.n_ctx

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this step's k, v `(B, H, T, D)`; return all keys/values so far."""
        if self.k[layer] is None:
            self.k[layer], self.v[layer] = k.new_zeros(self.shape), v.new_zeros(self.shape)
        end = self.length + k.shape[2]
        self.k[layer][:, :, self.length:end] = k
        self.v[layer][:, :, self.length:end] = v
        return self.k[layer][:, :, :end], self.v[layer][:, :, :end]


def visible_keys(
    Tq: int, Tk: int, past: int, causal: bool, key_pad: torch.Tensor | None, device=None
) -> torch.Tensor | None:
    """Which keys each query may see (True = may look), or None when every query sees every key.

    `causal`: query t (absolute position past + t) sees keys 0..past + t, never later ones.
    `key_pad` (B, Tk), True = padding: never seen. Shape (Tq, Tk), or (B, 1, Tq, Tk) with padding.
    """
    visible = None
    if causal and not (Tq == 1 and past + 1 == Tk):  # one newest token sees everything anyway
        query_pos = torch.arange(past, past + Tq, device=device).unsqueeze(1)  # (Tq, 1) absolute positions
        visible = torch.arange(Tk, device=device).unsqueeze(0) <= query_pos  # (Tq, Tk)
    if key_pad is not None:
        not_pad = ~key_pad[:, None, None, :]  # (B, 1, 1, Tk)
        visible = not_pad if visible is None else not_pad & visible
    return visible


class MultiHeadAttention(nn.Module):
    """softmax(QKᵀ/√d_head + mask) V over H heads, with a hook point at every stage.

    The project's one attention: TinyGPT's causal self-attention and the translator's encoder
    self-, decoder masked self- and cross-attention (seq2seq.py) all call `attend`. Subclasses
    own the projections, because their layouts belong to each checkpoint format (GPT-2's fused
    Conv1D `c_attn`; the translator's separate q/k/v projections, since cross-attention takes
    queries and keys from different sequences).

    Two paths with one meaning: a manual `softmax(QKᵀ/√d + mask) V` that feeds the hook points,
    and PyTorch's fused `scaled_dot_product_attention`, used when nobody listens (training,
    plain generation and decoding).
    """

    def __init__(self, n_heads: int, d_head: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_heads, self.d_head, self.dropout = n_heads, d_head, dropout
        self.hook_q, self.hook_k, self.hook_v = HookPoint(), HookPoint(), HookPoint()
        self.hook_attn_scores, self.hook_pattern, self.hook_z = HookPoint(), HookPoint(), HookPoint()

    def _listening(self) -> bool:
        return any(
            h.listening
            for h in (self.hook_q, self.hook_k, self.hook_v, self.hook_attn_scores, self.hook_pattern, self.hook_z)
        )

    def attend(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        *,
        causal: bool,
        key_pad: torch.Tensor | None = None,
        kv_cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """Projected q (B, Tq, d_model) and k, v (B, Tk, d_model) -> z (B, Tq, d_model), the heads'
        weighted values side by side, before the output projection. `kv_cache` prepends the keys
        and values of earlier tokens (its `layer` slot); see `visible_keys` for `causal`, `key_pad`."""
        B, Tq, C = q.shape
        Tk = k.shape[1]
        H, D = self.n_heads, self.d_head
        q = self.hook_q(q.view(B, Tq, H, D))  # (B, Tq, H, D)
        k = self.hook_k(k.view(B, Tk, H, D))  # (B, Tk, H, D)
        v = self.hook_v(v.view(B, Tk, H, D))
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        past = 0
        if kv_cache is not None:
            past = kv_cache.length
            k, v = kv_cache.append(layer, k, v)  # (B, H, past + Tk, D)
        p = self.dropout if self.training else 0.0
        if self._listening():
            z = self._manual_attention(q, k, v, visible_keys(Tq, k.shape[2], past, causal, key_pad, q.device))
        elif causal and past == 0 and key_pad is None:  # the kernel's own causal mask: no mask tensor
            z = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            visible = visible_keys(Tq, k.shape[2], past, causal, key_pad, q.device)
            z = F.scaled_dot_product_attention(q, k, v, attn_mask=visible, dropout_p=p)
        z = self.hook_z(z.transpose(1, 2))  # (B, Tq, H, D)
        return z.reshape(B, Tq, C)

    def _manual_attention(self, q, k, v, visible: torch.Tensor | None) -> torch.Tensor:
        """softmax(QKᵀ/√d + mask) V, step by step so each stage can be captured."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, H, Tq, Tk)
        if visible is not None:
            scores = scores.masked_fill(~visible, float("-inf"))
        scores = self.hook_attn_scores(scores)
        pattern = self.hook_pattern(scores.softmax(dim=-1))  # (B, H, Tq, Tk), rows sum to 1
        if self.training and self.dropout:
            pattern = F.dropout(pattern, self.dropout)
        return pattern @ v  # (B, H, Tq, D)


class Attention(MultiHeadAttention):
    """GPT-2's causal self-attention: one fused Conv1D `c_attn` makes q, k and v."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg.n_heads, cfg.d_head, cfg.dropout)
        self.c_attn = Conv1D(cfg.d_model, 3 * cfg.d_model)
        self.c_proj = Conv1D(cfg.d_model, cfg.d_model)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, layer: int, kv_cache: KVCache | None) -> torch.Tensor:
        q, k, v = self.c_attn(x).split(x.shape[-1], dim=2)  # x: (B, T, d_model); each (B, T, d_model)
        z = self.attend(q, k, v, causal=True, kv_cache=kv_cache, layer=layer)  # (B, T, d_model)
        return self.resid_dropout(self.c_proj(z))


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.c_fc = Conv1D(cfg.d_model, cfg.d_mlp)
        self.c_proj = Conv1D(cfg.d_mlp, cfg.d_model)
        self.dropout = nn.Dropout(cfg.dropout)
        self.hook_post = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.hook_post(gelu_tanh(self.c_fc(x)))  # (B, T, d_mlp)
        return self.dropout(self.c_proj(h))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps)
        self.mlp = MLP(cfg)
        self.hook_resid_pre, self.hook_attn_out, self.hook_resid_mid = HookPoint(), HookPoint(), HookPoint()
        self.hook_mlp_out, self.hook_resid_post = HookPoint(), HookPoint()

    def forward(self, x: torch.Tensor, layer: int, kv_cache: KVCache | None) -> torch.Tensor:
        x = self.hook_resid_pre(x)  # (B, T, d_model)
        x = self.hook_resid_mid(x + self.hook_attn_out(self.attn(self.ln_1(x), layer, kv_cache)))
        return self.hook_resid_post(x + self.hook_mlp_out(self.mlp(self.ln_2(x))))


class FinalNorm(nn.LayerNorm):
    """`ln_f` with a hook on its output (TransformerLens: ln_final.hook_normalized)."""

    def __init__(self, d_model: int, eps: float) -> None:
        super().__init__(d_model, eps=eps)
        self.hook_normalized = HookPoint()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hook_normalized(super().forward(x))


class TinyGPT(nn.Module):
    """GPT-2 language model. `forward(ids (B, T)) -> logits (B, T, d_vocab)`."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(cfg.d_vocab, cfg.d_model),
                wpe=nn.Embedding(cfg.n_ctx, cfg.d_model),
                drop=nn.Dropout(cfg.dropout),
                h=nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers)),
                ln_f=FinalNorm(cfg.d_model, cfg.layer_norm_eps),
            )
        )
        self.lm_head = nn.Linear(cfg.d_model, cfg.d_vocab, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # tied, as in GPT-2
        self.hook_embed, self.hook_pos_embed = HookPoint(), HookPoint()
        self.hook_points = self._name_hook_points()
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layers))

    def _name_hook_points(self) -> dict[str, HookPoint]:
        """Map TransformerLens hook names to our HookPoints (module paths are GPT-2's)."""
        points = {"hook_embed": self.hook_embed, "hook_pos_embed": self.hook_pos_embed}
        for i, block in enumerate(self.transformer.h):
            b = f"blocks.{i}"
            points[f"{b}.hook_resid_pre"] = block.hook_resid_pre
            for n in ("q", "k", "v", "attn_scores", "pattern", "z"):
                points[f"{b}.attn.hook_{n}"] = getattr(block.attn, f"hook_{n}")
            points[f"{b}.hook_attn_out"] = block.hook_attn_out
            points[f"{b}.hook_resid_mid"] = block.hook_resid_mid
            points[f"{b}.mlp.hook_post"] = block.mlp.hook_post
            points[f"{b}.hook_mlp_out"] = block.hook_mlp_out
            points[f"{b}.hook_resid_post"] = block.hook_resid_post
        points["ln_final.hook_normalized"] = self.transformer.ln_f.hook_normalized
        for name, point in points.items():
            point.name = name
        return points

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, Conv1D)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, ids: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        B, T = ids.shape  # ids: (B, T) token ids
        start = kv_cache.length if kv_cache is not None else 0
        if start + T > self.cfg.n_ctx:
            raise ValueError(
                f"sequence of {start + T} tokens is longer than the model's context of {self.cfg.n_ctx}"
            )
        pos = torch.arange(start, start + T, device=ids.device)  # (T,)
        tok_emb = self.hook_embed(self.transformer.wte(ids))  # (B, T, d_model)
        pos_emb = self.hook_pos_embed(self.transformer.wpe(pos).expand(B, T, -1))  # (B, T, d_model)
        x = self.transformer.drop(tok_emb + pos_emb)
        for i, block in enumerate(self.transformer.h):
            x = block(x, i, kv_cache)
        if kv_cache is not None:
            kv_cache.length += T
        return self.lm_head(self.transformer.ln_f(x))  # (B, T, d_vocab)

    def loss(self, ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy; `targets` (B, T) are `ids` shifted left by one."""
        logits = self(ids)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _apply(self, fn, recurse=True):
        """Keep the output layer tied after `.to(...)`: a move that must make new Parameters
        (to or from `meta`) would otherwise give lm_head its own copy of the embedding."""
        super()._apply(fn, recurse)
        self.lm_head.weight = self.transformer.wte.weight
        return self

    @property
    def device(self) -> torch.device:
        """Where the weights live; inputs and caches made for this model go there too."""
        return self.transformer.wte.weight.device


# ---------------------------------------------------------------- the architecture, read off the model
# Shapes, parameter counts and hook names come from a TinyGPT built on the `meta` device (the
# modules without numbers: no memory, no random draws), so the architecture is stated once, in
# the classes above, and a new feature changes it here and in config.py only. These live here,
# not in config.py, because config.py is what model.py is built from (config -> model, never back).


class _NoRandomInit(torch.overrides.TorchFunctionMode):
    """Skips `normal_` while a skeleton is built: on `meta` tensors it draws nothing anyway, and
    torch 2.13 has no meta kernel for it — its Python fallback imports torch._dynamo (~5 s)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") == "normal_":  # torch.nn.init.normal_ or Tensor.normal_
            return args[0] if args else kwargs["tensor"]
        return func(*args, **(kwargs or {}))


@functools.lru_cache(maxsize=32)
def skeleton(cfg: ModelConfig) -> TinyGPT:
    """TinyGPT with this config on the `meta` device: every module and shape, no weights."""
    with torch.device("meta"), _NoRandomInit():
        return TinyGPT(cfg)


def weight_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every stored tensor under its GPT-2 name, with its GPT-2 layout (`c_attn`, `c_proj` and
    `c_fc` are Conv1Ds, stored (n_in, n_out)). The tied `lm_head.weight` is not listed: it is
    `transformer.wte.weight`."""
    return {name: tuple(t.shape) for name, t in skeleton(cfg).state_dict().items() if name != "lm_head.weight"}


def parameter_count(cfg: ModelConfig) -> int:
    """Parameters of a TinyGPT with this config (the tied output layer counted once)."""
    return skeleton(cfg).n_params()


def hook_names(n_layers: int) -> list[str]:
    """Every hook name of a TinyGPT with `n_layers` blocks, in forward order."""
    return list(skeleton(ModelConfig(n_layers=n_layers, n_heads=1, d_model=4, n_ctx=2, d_vocab=2)).hook_points)

