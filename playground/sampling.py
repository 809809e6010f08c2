"""Text generation with temperature, top-k, top-p (nucleus) and greedy decoding.

`generate_steps` yields one `GenStep` per new token — the token, its probability and the
distribution it was drawn from — so the UI can stream text and explain every choice.
It uses the model's KV cache: each new token costs one position's work, not the whole context.
The model runs on its own device; each step's distribution (one `(d_vocab,)` row) comes to the
CPU, where the seeded draw happens — so a seed gives the same text on a CPU, a GPU or a Mac,
and the reported probabilities are read there anyway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from .config import SampleConfig
from .errors import PlaygroundError, register
from .hooks import run_with_cache
from .model import KVCache, TinyGPT

TOP_N = 10  # how many alternatives each step reports

register({"generate.empty_prompt": ("the prompt must contain at least one token", "提示必须至少包含一个词元")})
register({
    "generate.not_finite": (
        "the model's next-token scores are not numbers at new token {step} (its weights overflow in "
        "the forward pass), so nothing can be drawn; use a model whose weights are of ordinary size",
        "模型在第 {step} 个新词元处的下一词元分数不是数字（它的权重在前向计算中溢出），"
        "无法抽取；请使用权重大小正常的模型",
    ),
})


@dataclass(frozen=True)
class GenStep:
    """One generated token and the distribution it was drawn from."""

    index: int  # 0 for the first new token
    token_id: int
    prob: float  # probability of the chosen token under the sampling distribution
    model_prob: float  # its probability under the raw model (temperature 1, no filtering)
    top_ids: tuple[int, ...]  # the TOP_N most likely tokens of the sampling distribution
    top_probs: tuple[float, ...]
    attention: object = None  # (L, H, Tk) float32 ndarray of the new token's attention, if asked


def filter_logits(logits: torch.Tensor, cfg: SampleConfig) -> torch.Tensor:
    """Apply temperature, top-k and top-p to logits `(V,)`; removed tokens get -inf."""
    logits = logits / cfg.temperature
    if cfg.top_k and cfg.top_k < logits.shape[-1]:
        kth = torch.topk(logits, cfg.top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if cfg.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        # drop a token when the tokens before it already reach top_p (the first always stays)
        drop_sorted = (cumulative - sorted_logits.softmax(-1)) >= cfg.top_p
        logits = logits.masked_fill(torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted), float("-inf"))
    return logits


def _context_window(model: TinyGPT, ids: list[int]) -> list[int]:
    """When the context is full, keep its second half: the cache is rebuilt from there."""
    n_ctx = model.cfg.n_ctx
    return ids[-(n_ctx // 2):] if len(ids) >= n_ctx else ids


@torch.no_grad()
def generate_steps(
    model: TinyGPT,
    prompt_ids: list[int],
    cfg: SampleConfig,
    *,
    with_attention: bool = False,
) -> Iterator[GenStep]:
    """Yield `cfg.max_new_tokens` tokens continuing `prompt_ids` (non-empty list of ids)."""
    if not prompt_ids:
        raise PlaygroundError("generate.empty_prompt")
    model.eval()
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed if cfg.seed is not None else torch.seed() % 2**31)
    ids = list(prompt_ids)[-model.cfg.n_ctx:]
    cache, pending = KVCache(model.cfg), ids
    names = [f"blocks.{i}.attn.hook_pattern" for i in range(model.cfg.n_layers)]
    for index in range(cfg.max_new_tokens):
        if cache.length + len(pending) > model.cfg.n_ctx:  # slide: rebuild from recent tokens
            cache, pending = KVCache(model.cfg), _context_window(model, ids)
        x = torch.tensor([pending], device=model.device)  # (1, T)
        attention = None
        if with_attention:
            logits, act = run_with_cache(model, x, names=names, kv_cache=cache)
            attention = torch.stack([act[n][0, :, -1] for n in names]).cpu().numpy()  # (L, H, Tk)
        else:
            logits = model(x, kv_cache=cache)
        last = logits[0, -1].float().cpu()  # (d_vocab,) the distribution is drawn on the CPU
        if not torch.isfinite(last).all():  # weights that overflow: multinomial would crash on NaN
            raise PlaygroundError("generate.not_finite", step=index)
        probs = filter_logits(last, cfg).softmax(-1)
        if cfg.greedy:
            token = int(torch.argmax(last))
        else:
            token = int(torch.multinomial(probs, 1, generator=gen))
        top = torch.topk(probs, min(TOP_N, probs.shape[-1]))
        yield GenStep(
            index=index,
            token_id=token,
            prob=float(probs[token]),
            model_prob=float(last.softmax(-1)[token]),
            top_ids=tuple(top.indices.tolist()),
            top_probs=tuple(top.values.tolist()),
            attention=attention,
        )
        ids.append(token)
        pending = [token]


def generate_without_cache(model: TinyGPT, prompt_ids: list[int], cfg: SampleConfig) -> list[int]:
    """Reference decoder that recomputes the whole context every step (for tests and bench)."""
    model.eval()
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed if cfg.seed is not None else 0)
    ids = list(prompt_ids)
    with torch.no_grad():
        for _ in range(cfg.max_new_tokens):
            window = ids[-model.cfg.n_ctx:]
            last = model(torch.tensor([window], device=model.device))[0, -1].float().cpu()
            probs = filter_logits(last, cfg).softmax(-1)
            token = int(torch.argmax(last)) if cfg.greedy else int(torch.multinomial(probs, 1, generator=gen))
            ids.append(token)
    return ids[len(prompt_ids):]
