"""The same training and generation on each device, side by side: speed, and whether they agree.

    python -m bench.device_check                       # the CPU and what `auto` picks (a GPU, MPS)
    python -m bench.device_check --devices cpu cuda --steps 200 --target-loss 2.2

For each device: (1) training tokens/s of a seeded stories-sized model (4 layers, 4 heads,
d_model 128, context 128, batch 32, character tokenizer), timed after warm-up steps, with the
device synchronised before each clock read; (2) time to reach `--target-loss` training loss
(the mean of the last 10 steps), at most `--steps` steps; (3) generation tokens/s of the shipped
`stories` model with the KV cache (greedy, so devices can be compared token for token).
Agreement with the first device: the largest difference of the first 10 training losses (bf16
autocast on a GPU makes this ~1e-2, float32 ~1e-5) and the share of equal greedy tokens.
Prints a markdown table and JSON. `bench/gpu_check.sh` runs this with the tests on a GPU machine.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from playground import api
from playground import device as devices
from playground.checkpoint import load_checkpoint
from playground.config import ModelConfig, SampleConfig, TrainConfig
from playground.sampling import generate_steps
from playground.training import train_steps


def _sync(where: torch.device) -> None:
    if where.type == "cuda":
        torch.cuda.synchronize(where)
    elif where.type == "mps":
        torch.mps.synchronize()


def train_run(where: torch.device, data: api.TrainingData, steps: int, warmup: int, target: float) -> dict:
    cfg = ModelConfig(n_layers=4, n_heads=4, d_model=128, n_ctx=128, d_vocab=data.tokenizer.vocab_size)
    tc = TrainConfig(steps=steps, batch_size=32, lr=3e-3, warmup_steps=20, eval_interval=10**5, seed=0)
    losses, start, timed_from, reached = [], time.perf_counter(), None, None
    for stats in train_steps(cfg, tc, data.train_ids, device=where):
        losses.append(stats.loss)  # .item() inside: the step has finished on the device
        if stats.step == warmup:
            _sync(where)
            timed_from = time.perf_counter()
        recent = losses[-10:]
        if reached is None and len(recent) == 10 and sum(recent) / 10 <= target:
            reached = (stats.step, time.perf_counter() - start)
    _sync(where)
    timed_steps = steps - warmup
    seconds = time.perf_counter() - timed_from
    return {
        "train_tokens_per_s": round(timed_steps * tc.batch_size * cfg.n_ctx / seconds, 1),
        "losses_first_10": losses[:10],
        "final_loss": round(sum(losses[-10:]) / 10, 4),
        "target_loss": target,
        "steps_to_target": reached[0] if reached else None,
        "seconds_to_target": round(reached[1], 2) if reached else None,
    }


def generate_run(where: torch.device, new_tokens: int, repeats: int) -> dict:
    ckpt = load_checkpoint(api.CHECKPOINT_DIR / "stories", device=where)  # its own copy on this device
    model = ckpt.model
    ids = ckpt.tokenizer.encode("Once upon a time, the little dog").ids
    cfg = SampleConfig(max_new_tokens=new_tokens, greedy=True)
    best, tokens = float("inf"), []
    for _ in range(repeats):
        _sync(where)
        t0 = time.perf_counter()
        tokens = [s.token_id for s in generate_steps(model, ids, cfg)]
        best = min(best, time.perf_counter() - t0)
    return {"generate_tokens_per_s": round(new_tokens / best, 1), "greedy_tokens": tokens}


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu and what auto picks")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=5, help="untimed first steps")
    parser.add_argument("--target-loss", type=float, default=2.5)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corpus-size", type=int, default=400_000)
    args = parser.parse_args(argv)
    names = args.devices or list(dict.fromkeys(["cpu", devices.resolve("auto").type]))
    data = api.prepare_data("stories", "char", seed=0, size=args.corpus_size)
    rows = []
    for name in names:
        where = devices.resolve(name)
        row = {"device": devices.describe(where), "torch": torch.__version__,
               "bf16_autocast": not isinstance(devices.autocast(where), type(devices.autocast("cpu")))}
        row.update(train_run(where, data, args.steps, min(args.warmup, args.steps - 1), args.target_loss))
        row.update(generate_run(where, args.new_tokens, args.repeats))
        rows.append(row)
    first = rows[0]
    for row in rows:
        pairs = zip(row["losses_first_10"], first["losses_first_10"])
        row["max_loss_diff_vs_first"] = max(abs(a - b) for a, b in pairs)
        same = sum(a == b for a, b in zip(row["greedy_tokens"], first["greedy_tokens"]))
        row["greedy_agreement_vs_first"] = round(same / max(1, len(first["greedy_tokens"])), 3)
    print("| device | train tok/s | steps / s to loss ≤ target | generate tok/s | loss diff vs first "
          "| greedy agreement |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        reach = f"{r['steps_to_target']} / {r['seconds_to_target']}" if r["steps_to_target"] else "not reached"
        print(f"| {r['device']} | {r['train_tokens_per_s']:,} | {reach} | {r['generate_tokens_per_s']:,} "
              f"| {r['max_loss_diff_vs_first']:.2e} | {r['greedy_agreement_vs_first']:.0%} |")
    print(json.dumps(rows))
    return rows


if __name__ == "__main__":
    main()
