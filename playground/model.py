"""TinyGPT: the GPT-2 architecture, small enough to train on a laptop CPU.

Pre-LayerNorm blocks, learned positions, tanh-GELU MLP, output layer tied to the token
embedding, LayerNorm eps 1e-5 — and Hugging Face GPT-2 parameter names and layouts
(`transformer.h.0.attn.c_attn.weight` is `(d_model, 3 * d_model)`, a "Conv1D"). So a folder we
save is a GPT-2 folder 🤗 transformers loads, and GPT-2-family weights load here.

Attention has two paths with one meaning: a manual `softmax(QKᵀ/√d + mask) V` that feeds
the hook points, and PyTorch's fused `scaled_dot_product_attention`, used when nobody
listens (training, plain generation). Only torch and the standard library are imported.
"""

from __future__ import annotations

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


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads, self.d_head = cfg.n_heads, cfg.d_head
        self.c_attn = Conv1D(cfg.d_model, 3 * cfg.d_model)
        self.c_proj = Conv1D(cfg.d_model, cfg.d_model)
        self.dropout = cfg.dropout
        self.resid_dropout = nn.Dropout(cfg.dropout)
        self.hook_q, self.hook_k, self.hook_v = HookPoint(), HookPoint(), HookPoint()
        self.hook_attn_scores, self.hook_pattern, self.hook_z = HookPoint(), HookPoint(), HookPoint()

    def _listening(self) -> bool:
        return any(
            h.listening
            for h in (self.hook_q, self.hook_k, self.hook_v, self.hook_attn_scores, self.hook_pattern, self.hook_z)
        )

    def forward(self, x: torch.Tensor, layer: int, kv_cache: KVCache | None) -> torch.Tensor:
        B, T, C = x.shape  # x: (B, T, d_model)
        H, D = self.n_heads, self.d_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, d_model)
        q = self.hook_q(q.view(B, T, H, D))  # (B, T, H, D)
        k = self.hook_k(k.view(B, T, H, D))
        v = self.hook_v(v.view(B, T, H, D))
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, H, T, D)
        past = 0
        if kv_cache is not None:
            past = kv_cache.length
            k, v = kv_cache.append(layer, k, v)  # (B, H, past + T, D)
        if self._listening():
            z = self._manual_attention(q, k, v, past)
        else:
            z = self._fused_attention(q, k, v, past)
        z = self.hook_z(z.transpose(1, 2))  # (B, T, H, D)
        return self.resid_dropout(self.c_proj(z.reshape(B, T, C)))

    def _manual_attention(self, q, k, v, past: int) -> torch.Tensor:
        """softmax(QKᵀ/√d + causal mask) V, step by step so each stage can be captured."""
        Tq, Tk = q.shape[2], k.shape[2]
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, H, Tq, Tk)
        query_pos = torch.arange(past, past + Tq, device=q.device).unsqueeze(1)  # (Tq, 1) absolute positions
        future = torch.arange(Tk, device=q.device).unsqueeze(0) > query_pos  # (Tq, Tk) True = not visible
        scores = self.hook_attn_scores(scores.masked_fill(future, float("-inf")))
        pattern = self.hook_pattern(scores.softmax(dim=-1))  # (B, H, Tq, Tk)
        if self.training and self.dropout:
            pattern = F.dropout(pattern, self.dropout)
        return pattern @ v  # (B, H, Tq, D)

    def _fused_attention(self, q, k, v, past: int) -> torch.Tensor:
        Tq, Tk = q.shape[2], k.shape[2]
        p = self.dropout if self.training else 0.0
        if past == 0:
            return F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        if Tq == 1:  # one new token sees everything before it
            return F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        keys, queries = torch.arange(Tk, device=q.device), torch.arange(past, past + Tq, device=q.device)
        visible = keys.unsqueeze(0) <= queries.unsqueeze(1)  # (Tq, Tk)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=visible, dropout_p=p)


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
