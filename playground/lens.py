"""Reading the residual stream through the output layer: the logit lens and direct logit attribution.

A GPT's prediction is `ln_final(x) @ W_Eᵀ`, where x, the residual stream after the last block,
is a *sum*: token embedding + position embedding + what every attention block and every MLP
block added. Two questions follow, and this module answers both with the model's own numbers:

* **logit lens** (nostalgebraist, 2020): what would the model predict if it stopped after
  layer ℓ? Put the residual stream after each block through the same final layer norm and
  tied output layer. The last row *is* the model's prediction.
* **direct logit attribution**: how much did each part of the sum push the predicted token's
  logit? LayerNorm is not linear, but with its scale σ frozen at the full residual's value it
  is: logit = Σ_parts (centre(part) / σ) · γ · W_E[token] + β · W_E[token]. The parts then sum
  to the logit exactly (up to float rounding).

Works on any `api.Inspection` (or a text, inspected first), so a page can reuse one forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .errors import check_range, register
from .hooks import ActivationCache

# Most multiply-adds the Model tab spends on a logit lens (all rows × positions × d_vocab × d_model).
LENS_BUDGET_MACS = 1e10

register({
    "lens.field_position": ("the position", "位置"),
    "lens.field_token_id": ("the token id", "词元 id"),
})


@dataclass
class LogitLens:
    """Top token per layer × position, and the final prediction's probability at every layer.

    Rows are residual-stream read-outs: row 0 = the embeddings (before block 0), row ℓ+1 = after
    block ℓ; the last row is the model's own output."""

    tokens: list[str]  # the input tokens read out, displayed
    positions: list[int]  # their positions in the text (every one unless a subset was asked for)
    rows: list[str]  # "embed", "block 0", ..., one name per row
    top_ids: np.ndarray  # (L+1, P) most likely next token read out at each row
    top_tokens: list[list[str]]  # (L+1, P) their display strings
    top_probs: np.ndarray  # (L+1, P) their probabilities
    final_ids: np.ndarray  # (P,) the model's prediction (last row's top token)
    final_tokens: list[str]  # (P,)
    final_probs: np.ndarray  # (L+1, P) probability of the final prediction at each row
    last_probs: torch.Tensor  # (P, d_vocab) the last row's full distribution (= the model's)


@dataclass
class Decomposition:
    """Direct logit attribution of one token's logit at one position."""

    position: int
    token_id: int
    token: str  # display string of the attributed token
    names: list[str]  # "embed", "pos_embed", "L0H0", ..., "L0 attn bias", "L0 MLP", ..., "ln_final bias"
    contributions: np.ndarray  # (n_parts,) each part's share of the logit; sums to `logit`
    logit: float  # the model's logit for `token_id` at `position`
    scale: float  # σ: the final layer norm's frozen scale at this position

    def by_name(self) -> dict[str, float]:
        return dict(zip(self.names, (float(c) for c in self.contributions)))


def residual_rows(cache: ActivationCache) -> torch.Tensor:
    """The residual stream before block 0 and after every block: (L+1, T, d_model)."""
    rows = [cache.resid(0, "pre")] + [cache.resid(layer, "post") for layer in range(cache.n_layers)]
    return torch.stack(rows)


def unembed(model, resid: torch.Tensor) -> torch.Tensor:
    """Final layer norm, then the tied output layer: (..., d_model) -> logits (..., d_vocab)."""
    ln = model.transformer.ln_f
    normed = F.layer_norm(resid, ln.normalized_shape, ln.weight, ln.bias, ln.eps)
    return normed @ model.lm_head.weight.T


def lens_positions(cfg, n_tokens: int, position: int, budget: float | None = None) -> list[int]:
    """The positions a logit lens can read within `budget` multiply-adds: every one for small
    models; for a big vocabulary (GPT-2: 13 rows × 50,257 × 768 ≈ 5·10⁸ per position) the
    latest ones up to and including `position`."""
    per_position = (cfg.n_layers + 1) * cfg.d_vocab * cfg.d_model
    k = max(1, int((LENS_BUDGET_MACS if budget is None else budget) // per_position))
    if k >= n_tokens:
        return list(range(n_tokens))
    end = min(n_tokens, max(position + 1, k))
    return list(range(end - k, end))


def logit_lens(bundle, text_or_inspection, positions=None) -> LogitLens:
    """Read every layer's residual stream out through ln_final and the output layer, at every
    position (or the sorted `positions` given).

    One (T, d_vocab) matrix per row at a time, so GPT-2's 50,257-token vocabulary stays
    ~50 MB per row rather than every row at once."""
    result = _inspection(bundle, text_or_inspection)
    model, tok = bundle.model, bundle.tokenizer
    n = len(result.ids)
    if positions is None:
        positions = list(range(n))
    positions = sorted({check_range("lens.field_position", p, 0, n - 1, whole=True) for p in positions})
    rows = residual_rows(result.cache)[:, positions].to(_device(model))  # (L+1, P, d_model)
    with torch.no_grad():
        final_probs_all = unembed(model, rows[-1]).softmax(-1)  # (T, V)
        final_ids = final_probs_all.argmax(-1)  # (T,)
        top_ids, top_probs, final_probs = [], [], []
        for row in rows[:-1]:
            probs = unembed(model, row).softmax(-1)  # (T, V)
            p, i = probs.max(-1)
            top_ids.append(i)
            top_probs.append(p)
            final_probs.append(probs.gather(-1, final_ids[:, None])[:, 0])
        p, i = final_probs_all.max(-1)
        top_ids.append(i)
        top_probs.append(p)
        final_probs.append(p)
    top_ids_np = torch.stack(top_ids).cpu().numpy()
    return LogitLens(
        tokens=[result.tokens[p].display for p in positions],
        positions=positions,
        rows=["embed"] + [f"block {layer}" for layer in range(result.cache.n_layers)],
        top_ids=top_ids_np,
        top_tokens=[[tok.token_display(int(i)) for i in row] for row in top_ids_np],
        top_probs=torch.stack(top_probs).cpu().numpy(),
        final_ids=final_ids.cpu().numpy(),
        final_tokens=[tok.token_display(int(i)) for i in final_ids.tolist()],
        final_probs=torch.stack(final_probs).cpu().numpy(),
        last_probs=final_probs_all.cpu(),
    )


def residual_parts(model, cache: ActivationCache, position: int) -> tuple[list[str], torch.Tensor]:
    """The pieces whose sum is the final residual stream at `position`: names and (n_parts, d_model).

    Token and position embeddings; per layer each head's output (its z through its rows of the
    output projection), the projection's bias, and the MLP block's output."""
    cfg = model.cfg
    H, D = cfg.n_heads, cfg.d_head
    names = ["embed", "pos_embed"]
    parts = [cache.embed()[position], cache.pos_embed()[position]]  # (d_model,) each
    for layer in range(cfg.n_layers):
        attn = model.transformer.h[layer].attn
        z = cache.z(layer)[position]  # (H, D)
        w_o = attn.c_proj.weight.view(H, D, cfg.d_model)  # (H, D, d_model): head h's rows
        heads = torch.einsum("hd,hdm->hm", z.to(w_o.device), w_o).to(z.device)  # (H, d_model)
        names += [f"L{layer}H{h}" for h in range(H)] + [f"L{layer} attn bias"]
        parts += list(heads) + [attn.c_proj.bias.detach().to(z.device)]
        names.append(f"L{layer} MLP")
        parts.append(cache[f"blocks.{layer}.hook_mlp_out"][0, position])
    return names, torch.stack(parts).detach()


def decompose(bundle, text_or_inspection, position: int = -1, token_id: int | None = None) -> Decomposition:
    """Direct logit attribution of `token_id` (default: the model's top prediction) at `position`.

    logit = Σ_parts centre(part) / σ · γ · w + β · w, with σ the final layer norm's scale on the
    full residual; the parts (and the "ln_final bias" term β · w) sum to the model's logit."""
    result = _inspection(bundle, text_or_inspection)
    model, cache = bundle.model, result.cache
    n = len(result.ids)
    position = check_range("lens.field_position", position, -n, n - 1, whole=True) % n
    logits = result.logits[position]  # (d_vocab,)
    if token_id is None:
        token_id = int(logits.argmax())
    token_id = check_range("lens.field_token_id", token_id, 0, logits.shape[-1] - 1, whole=True)
    names, parts = residual_parts(model, cache, position)  # (n_parts, d_model)
    device = _device(model)
    parts = parts.to(device)
    ln = model.transformer.ln_f
    with torch.no_grad():
        resid = parts.sum(0)  # (d_model,) equals the final residual stream
        sigma = torch.sqrt(resid.var(unbiased=False) + ln.eps)
        w = model.lm_head.weight[token_id]  # (d_model,) the token's row of the tied output layer
        centred = parts - parts.mean(-1, keepdim=True)  # LayerNorm's centring is linear: per part
        contributions = (centred / sigma * ln.weight) @ w  # (n_parts,)
        bias_term = ln.bias @ w
    return Decomposition(
        position=position, token_id=token_id, token=bundle.tokenizer.token_display(token_id),
        names=names + ["ln_final bias"],
        contributions=torch.cat([contributions, bias_term[None]]).cpu().numpy(),
        logit=float(logits[token_id]), scale=float(sigma),
    )


# ---------------------------------------------------------------- shared helpers


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _inspection(bundle, text_or_inspection):
    """An `api.Inspection`: the one given, or `text` inspected (at most MAX_VIEW_TOKENS tokens)."""
    from . import api

    if isinstance(text_or_inspection, api.Inspection):
        return text_or_inspection
    return api.inspect(bundle, text_or_inspection, max_tokens=api.MAX_VIEW_TOKENS)
