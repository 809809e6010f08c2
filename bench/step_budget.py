"""Where a training step's time goes, and what a given MFU would leave for everything else.

    python -m bench.step_budget [--repeats 200] [--rounds 3]

On nanoGPT's CPU configuration (bench/train_throughput.py) this times, in one run: a whole
training step of our trainer; the same step's matrix products alone (every Linear's forward,
input-gradient and weight-gradient product, at the real shapes); attention forward+backward;
GELU forward+backward (our kernel and PyTorch's); layer norms; clipping + AdamW; and the fixed
cost of a step (the same 4-layer model at width 16 on 4 tokens: autograd, dispatch, optimiser
bookkeeping). Each figure is the median of `--repeats` calls, best of `--rounds` interleaved
rounds (this VM's speed drifts). Prints JSON, including the step time a target MFU needs and
how much of it the matrix products already use.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from bench.train_throughput import BATCH, CFG, flops_per_token, matmul_peak_flops
from playground import kernels
from playground.config import ModelConfig, TrainConfig
from playground.training import init_model, make_optimizer, optimizer_step

TOKENS = BATCH * CFG.n_ctx  # rows of every activation matrix (768)


def _median_seconds(fn, repeats: int) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _training_step(cfg: ModelConfig, batch: int):
    """One step as training.train_steps runs it (training.optimizer_step), and its clip + AdamW alone."""
    model = init_model(cfg, 0).train()
    optimizer = make_optimizer(model, TrainConfig(optimizer="adamw", precision="float32"))  # issue 3's recipe
    x = torch.randint(0, cfg.d_vocab, (batch, cfg.n_ctx), generator=torch.Generator().manual_seed(0))
    y = torch.roll(x, -1, 1)

    def step() -> None:
        optimizer_step(model, optimizer, x, y, grad_clip=1.0)

    def optimizer_only() -> None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
        optimizer.step()

    step()  # gradients exist for optimizer_only
    return step, optimizer_only


def _matmuls():
    """Every matrix product of one step at its real shape: y = x W, dx = dy Wᵀ, dW = xᵀ dy."""
    d, layers = CFG.d_model, CFG.n_layers
    shapes = [(d, 3 * d), (d, d), (d, 4 * d), (4 * d, d)] * layers + [(d, CFG.d_vocab)]  # (n_in, n_out)
    operands = [(torch.randn(TOKENS, i), torch.randn(i, o) * 0.02, torch.randn(TOKENS, o)) for i, o in shapes]
    flops = sum(3 * 2 * TOKENS * i * o for i, o in shapes)

    def run() -> None:
        for x, w, dy in operands:
            x @ w
            dy @ w.t()
            x.t() @ dy

    return run, flops


def _attention():
    B, H, T, D = BATCH, CFG.n_heads, CFG.n_ctx, CFG.d_head
    q, k, v = (torch.randn(B, H, T, D, requires_grad=True) for _ in range(3))
    dz = torch.randn(B, H, T, D)

    def run() -> None:
        for _ in range(CFG.n_layers):
            F.scaled_dot_product_attention(q, k, v, is_causal=True).backward(dz)

    return run


def _gelu(use_kernel: bool):
    x = torch.randn(TOKENS, 4 * CFG.d_model, requires_grad=True)
    dy = torch.randn(TOKENS, 4 * CFG.d_model)

    def run() -> None:
        for _ in range(CFG.n_layers):
            if use_kernel:
                kernels.gelu_tanh(x).backward(dy)
            else:
                F.gelu(x, approximate="tanh").backward(dy)

    return run


def _layer_norms():
    norm = torch.nn.LayerNorm(CFG.d_model)
    x = torch.randn(BATCH, CFG.n_ctx, CFG.d_model, requires_grad=True)
    dy = torch.randn_like(x)

    def run() -> None:
        for _ in range(2 * CFG.n_layers + 1):
            norm(x).backward(dy)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    step, optimizer_only = _training_step(CFG, BATCH)
    tiny_cfg = ModelConfig(n_layers=CFG.n_layers, n_heads=CFG.n_heads, d_model=16, n_ctx=4, d_vocab=CFG.d_vocab)
    tiny_step, _ = _training_step(tiny_cfg, 1)
    matmuls, matmul_flops = _matmuls()
    parts = {
        "step": step,
        "matmuls": matmuls,
        "attention": _attention(),
        "gelu_kernel": _gelu(True),
        "gelu_pytorch": _gelu(False),
        "layer_norms": _layer_norms(),
        "clip_and_adamw": optimizer_only,
        "fixed_cost_tiny_step": tiny_step,
    }
    best = {name: float("inf") for name in parts}
    peak = 0.0
    for _ in range(args.rounds):
        for name, fn in parts.items():
            best[name] = min(best[name], _median_seconds(fn, args.repeats))
        peak = max(peak, matmul_peak_flops())

    step_flops = flops_per_token(CFG) * TOKENS
    ms = {name: round(seconds * 1e3, 2) for name, seconds in best.items()}
    gelu = "gelu_kernel" if kernels.status().startswith("on") else "gelu_pytorch"
    named = ms["matmuls"] + ms["attention"] + ms[gelu] + ms["layer_norms"] + ms["clip_and_adamw"]
    result = {
        "config": {"n_layers": CFG.n_layers, "n_heads": CFG.n_heads, "d_model": CFG.d_model, "n_ctx": CFG.n_ctx,
                   "batch": BATCH},
        "threads": torch.get_num_threads(),
        "kernels": kernels.status(),
        "matmul_peak_gflops": round(peak / 1e9, 1),
        "ms": ms,
        "matmul_gflops_at_model_shapes": round(matmul_flops / best["matmuls"] / 1e9, 1),
        "step_mfu": round(step_flops / best["step"] / peak, 3),
        "mfu_if_only_matmuls_took_time": round(step_flops / best["matmuls"] / peak, 3),
        "named_parts_ms": round(named, 2),
        "unnamed_rest_ms": round(ms["step"] - named, 2),
        "step_ms_for_mfu": {f"{m:.2f}": round(step_flops / (m * peak) * 1e3, 2) for m in (0.4, 0.5, 0.6)},
    }
    result["ms_left_after_matmuls_at_0.60"] = round(result["step_ms_for_mfu"]["0.60"] - ms["matmuls"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
