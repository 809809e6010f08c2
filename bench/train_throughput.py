"""Training throughput and MFU: our trainer vs a plain nanoGPT-style trainer, in one run.

    python -m bench.train_throughput [--steps 40] [--repeats 5]

Configuration: nanoGPT's CPU example (4 layers, 4 heads, d_model 128, n_ctx 64, batch 12,
vocab 65). MFU = model FLOPs/s ÷ float32 matmul FLOP/s, the matmul peak measured in this same
run. Both trainers start from the same weights and see the same batches, and the script
checks their loss curves agree (identical maths). Our trainer runs twice: with the fused
C kernels (playground/kernels.py) and with PyTorch's own, to show what the kernels buy.
"best" figures use each trainer's fastest repeat, "median" its middle one. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from playground import kernels
from playground.config import ModelConfig, TrainConfig
from playground.model import parameter_count
from playground.training import init_model, train_steps

CFG = ModelConfig(n_layers=4, n_heads=4, d_model=128, n_ctx=64, d_vocab=65)
BATCH = 12


# --- a plain nanoGPT-style model and loop (nanoGPT's model.py / train.py, trimmed) -----------
class NanoAttention(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(c.d_model, 3 * c.d_model)
        self.c_proj = nn.Linear(c.d_model, c.d_model)
        self.n_head = c.n_heads

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class NanoBlock(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.d_model)
        self.attn = NanoAttention(c)
        self.ln_2 = nn.LayerNorm(c.d_model)
        self.c_fc = nn.Linear(c.d_model, 4 * c.d_model)
        self.gelu = nn.GELU(approximate="tanh")  # GPT-2's GELU (nanoGPT uses the erf one)
        self.c_proj = nn.Linear(4 * c.d_model, c.d_model)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(self.gelu(self.c_fc(self.ln_2(x))))


class NanoGPT(nn.Module):
    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(c.d_vocab, c.d_model)
        self.wpe = nn.Embedding(c.n_ctx, c.d_model)
        self.h = nn.ModuleList(NanoBlock(c) for _ in range(c.n_layers))
        self.ln_f = nn.LayerNorm(c.d_model)
        self.lm_head = nn.Linear(c.d_model, c.d_vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, targets):
        pos = torch.arange(idx.size(1), dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

    def load_from_tinygpt(self, sd: dict[str, torch.Tensor]) -> None:
        """Same starting weights as our model (our Conv1D weights are nn.Linear's transposed)."""
        mine = {}
        for k, v in sd.items():
            k = k.removeprefix("transformer.").replace("mlp.", "")
            mine[k] = v.t() if k.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")) else v
        self.load_state_dict(mine)


def nano_train(model: NanoGPT, batches, tc: TrainConfig) -> tuple[list[float], float]:
    """nanoGPT's loop: AdamW (decay groups, foreach), warmup+cosine, clip 1.0."""
    from playground.training import lr_at

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": tc.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=tc.lr, betas=(tc.beta1, tc.beta2),
    )
    losses, t0 = [], time.perf_counter()
    for step, (x, y) in enumerate(batches):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, tc)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses, time.perf_counter() - t0


def matmul_peak_flops(n: int = 1024, repeats: int = 20) -> float:
    """Best float32 matmul FLOP/s of this machine, measured now (the MFU denominator)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def flops_per_token(c: ModelConfig) -> float:
    """nanoGPT's estimate (PaLM appendix B): 6N + 12·L·H·d_head·T, N counting all parameters."""
    return 6 * parameter_count(c) + 12 * c.n_layers * c.n_heads * c.d_head * c.n_ctx


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    data = torch.from_numpy(rng.integers(0, CFG.d_vocab, 200_000)).long()
    # issue 3 compares identical maths: plain float32 AdamW on both sides
    tc = TrainConfig(steps=args.steps, batch_size=BATCH, lr=1e-3, warmup_steps=10, seed=0, optimizer="adamw",
                     precision="float32")
    # both trainers see exactly these batches (taken from our sampler)
    from playground.training import BatchSampler

    sampler = BatchSampler(data, CFG.n_ctx, BATCH, tc.seed)
    batches = [tuple(t.contiguous() for t in next(sampler)) for _ in range(args.steps)]

    def run_ours() -> tuple[list[float], float]:
        t0 = time.perf_counter()
        losses = [s.loss for s in train_steps(CFG, tc, data)]
        return losses, time.perf_counter() - t0

    def run_ours_without_kernels() -> tuple[list[float], float]:
        with kernels.disabled():
            return run_ours()

    def run_nano() -> tuple[list[float], float]:
        nano = NanoGPT(CFG)
        nano.load_from_tinygpt(init_model(CFG, tc.seed).state_dict())
        return nano_train(nano, batches, tc)

    trainers = {"ours": run_ours, "ours_without_kernels": run_ours_without_kernels, "nanogpt_style": run_nano}
    seconds = {name: [] for name in trainers}
    losses = {}
    peak = matmul_peak_flops()
    # Interleaved repeats: this VM's speed drifts by tens of percent over minutes, so each
    # round runs every trainer back to back and the figures compare the same moments.
    for _ in range(args.repeats):
        for name, run in trainers.items():
            losses[name], secs = run()
            seconds[name].append(secs)
        peak = max(peak, matmul_peak_flops())

    tokens = args.steps * BATCH * CFG.n_ctx
    flops = flops_per_token(CFG) * tokens

    def figures(name: str) -> dict:
        best, median = min(seconds[name]), statistics.median(seconds[name])
        return {
            "tokens_per_s": round(tokens / best),
            "mfu": round(flops / best / peak, 3),
            "median_tokens_per_s": round(tokens / median),
            "median_mfu": round(flops / median / peak, 3),
        }

    nano_best, nano_median = min(seconds["nanogpt_style"]), statistics.median(seconds["nanogpt_style"])
    result = {
        "config": {"n_layers": 4, "n_heads": 4, "d_model": 128, "n_ctx": 64, "batch": BATCH, "steps": args.steps},
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "kernels": kernels.status(),
        "matmul_peak_gflops": round(peak / 1e9, 1),
        **{name: figures(name) for name in trainers},
        "speedup_vs_nanogpt_style": {
            name: {"best": round(nano_best / min(seconds[name]), 3),
                   "median": round(nano_median / statistics.median(seconds[name]), 3)}
            for name in ("ours", "ours_without_kernels")
        },
        "max_loss_difference": {
            name: float(np.max(np.abs(np.array(losses[name]) - np.array(losses["nanogpt_style"]))))
            for name in ("ours", "ours_without_kernels")
        },
        "final_loss": {name: losses[name][-1] for name in trainers},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
