"""Generation speed with the KV cache vs recomputing the whole context, in one run; and (with
--train-ui) training tokens/s through the web UI vs the CLI's loop. Prints JSON.

    python -m bench.generate_speed [--new-tokens 32] [--repeats 3] [--threads 1]
    python -m bench.generate_speed --train-ui [--steps 300] [--repeats 2]

Generation model: a *randomly initialised* stories-sized config (4 layers, 4 heads, d_model 192,
vocab 2048) with n_ctx 512, so 256 prompt tokens + the new tokens fit without sliding. Speed
does not depend on the weights. Both decoders are greedy on the same prompt, and the script
checks they produce the same tokens (same maths, different cost).

Train UI vs CLI: the tiny preset of the Train tab, once through the running app (/train over
HTTP with gradio_client: throttled plots, snapshots, samples and all) and once through the loop
`python -m playground train` runs, alternately, same torch threads. tokens/s is the trainer's
own figure (tokens ÷ time inside optimiser steps); wall tokens/s divides by the whole run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time

import torch

from playground.config import ModelConfig, SampleConfig, TrainConfig
from playground.model import parameter_count
from playground.sampling import generate_steps, generate_without_cache
from playground.training import init_model, train_steps

GEN_CFG = ModelConfig(n_layers=4, n_heads=4, d_model=192, n_ctx=512, d_vocab=2048)


def _best_rate(fn, n_tokens: int, repeats: int) -> tuple[float, list[int]]:
    best, out = float("inf"), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return n_tokens / best, out


def bench_generate(new_tokens: int, repeats: int) -> dict:
    model = init_model(GEN_CFG, seed=0).eval()
    gen = torch.Generator().manual_seed(1)
    cfg = SampleConfig(max_new_tokens=new_tokens, greedy=True, seed=0)
    results = {}
    for context in (64, 256):
        prompt = torch.randint(GEN_CFG.d_vocab, (context,), generator=gen).tolist()
        cached, ids_cached = _best_rate(lambda p=prompt: [s.token_id for s in generate_steps(model, p, cfg)],
                                        new_tokens, repeats)
        full, ids_full = _best_rate(lambda p=prompt: generate_without_cache(model, p, cfg), new_tokens, repeats)
        results[str(context)] = {
            "kv_cache_tokens_per_s": round(cached, 1),
            "recompute_tokens_per_s": round(full, 1),
            "speedup": round(cached / full, 2),
            "same_tokens": ids_cached == ids_full,
        }
    return {
        "model": "random init, " + ", ".join(f"{k}={v}" for k, v in vars(GEN_CFG).items() if k != "dropout"),
        "n_params": parameter_count(GEN_CFG),
        "new_tokens": new_tokens,
        "decoding": "greedy",
        "context_tokens": results,
        "target": "speedup >= 3 at 256 context tokens",
        "target_met": results["256"]["speedup"] >= 3,
    }


# ---------------------------------------------------------------- train: UI vs CLI


def _cli_run(preset: dict, steps: int) -> dict:
    """What `python -m playground train` does per step (cli._train), minus the progress bar."""
    from playground.ui.train_tab import _builtin_data

    data = _builtin_data(preset["corpus"], preset["tokenizer"], preset["vocab"], 0)
    model_cfg = ModelConfig(n_layers=preset["layers"], n_heads=preset["heads"], d_model=preset["d_model"],
                            n_ctx=preset["n_ctx"], d_vocab=data.tokenizer.vocab_size)
    train_cfg = TrainConfig(steps=steps, batch_size=preset["batch"], lr=preset["lr"], warmup_steps=min(50, steps),
                            eval_interval=100, seed=0)
    t0 = time.perf_counter()
    *_, last = train_steps(model_cfg, train_cfg, data.train_ids, data.val_ids)
    wall = time.perf_counter() - t0
    tokens = steps * preset["batch"] * min(preset["n_ctx"], len(data.train_ids) - 1)
    return {"tokens_per_s": last.tokens_per_s, "wall_tokens_per_s": tokens / wall}


def _ui_run(client, preset: dict, steps: int) -> dict:
    args = {k: preset[k] for k in ("corpus", "tokenizer", "vocab", "layers", "heads", "d_model", "n_ctx", "batch",
                                   "lr")}
    t0 = time.perf_counter()
    job = client.submit(**args, steps=steps, seed=0, api_name="/train")
    n_updates = sum(1 for _ in job)  # stream every update, as a browser would receive them
    status = job.outputs()[-1][0]
    wall = time.perf_counter() - t0
    tps = float(re.search(r"([\d,]+) tokens/s", status).group(1).replace(",", ""))
    elapsed = float(re.search(r"(\d+) s elapsed", status).group(1))
    tokens = steps * preset["batch"] * preset["n_ctx"]
    return {"tokens_per_s": tps, "wall_tokens_per_s": tokens / max(elapsed, 1e-9), "request_seconds": wall,
            "updates": n_updates}


def bench_train_ui(steps: int, repeats: int) -> dict:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    from playground.ui import build_app, launch_kwargs, train_tab

    preset = train_tab.PRESETS["tiny"]
    demo = build_app()
    demo.queue(default_concurrency_limit=2)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_kwargs())
    client = Client(url, verbose=False)
    torch.set_num_threads(train_tab.TRAIN_THREADS)
    try:
        _cli_run(preset, 20)  # warm up: corpus, tokenizer, kernels
        ui, cli = [], []
        for _ in range(repeats):
            cli.append(_cli_run(preset, steps))
            ui.append(_ui_run(client, preset, steps))
    finally:
        client.close()
        demo.close()
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    return {
        "config": {**preset, "steps": steps, "torch_threads": train_tab.TRAIN_THREADS},
        "cli_tokens_per_s": round(med(cli, "tokens_per_s")),
        "ui_tokens_per_s": round(med(ui, "tokens_per_s")),
        "ui_vs_cli": round(med(ui, "tokens_per_s") / med(cli, "tokens_per_s"), 3),
        "cli_wall_tokens_per_s": round(med(cli, "wall_tokens_per_s")),
        "ui_wall_tokens_per_s": round(med(ui, "wall_tokens_per_s")),
        "ui_vs_cli_wall": round(med(ui, "wall_tokens_per_s") / med(cli, "wall_tokens_per_s"), 3),
        "ui_updates_per_run": [r["updates"] for r in ui],
        "repeats": repeats,
        "target": "ui_vs_cli >= 0.9",
        "target_met": med(ui, "tokens_per_s") / med(cli, "tokens_per_s") >= 0.9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for generation")
    parser.add_argument("--train-ui", action="store_true", help="measure UI training vs the CLI loop instead")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run (--train-ui)")
    args = parser.parse_args()
    if args.train_ui:
        result = bench_train_ui(args.steps, args.repeats)
    else:
        torch.set_num_threads(args.threads)
        result = {"torch_threads": torch.get_num_threads(), **bench_generate(args.new_tokens, args.repeats)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
