"""Time to quality: wall time to nanoGPT's validation loss, its recipe vs ours, in one run.

    python -m bench.time_to_loss [--repeats 3] [--threads 1] [--levers]

Text: the English prose CPython ships as `pydoc_data.topics` (the help() pages, ~465 KB;
offline everywhere, never downloaded), character-level, first 90% train, last 10% val.
Model: nanoGPT's CPU configuration, GPT-2 architecture (4 layers, 4 heads, d_model 128,
context 64) — every recipe trains the same `TinyGPT`, so checkpoints stay 🤗-loadable.

1. The nanoGPT recipe (AdamW lr 1e-3, warmup 100, cosine to 1e-4 over 2,000 steps, beta2 0.99,
   weight decay 0.1, batch 12, clip 1.0, float32) runs 2,000 steps; its final val loss is L.
2. Our recipe runs until its val loss <= L, evaluated every `EVAL_EVERY` steps.
Both are evaluated on the same fixed val windows; evaluation time is EXCLUDED from both wall
times (the clock runs only inside training steps). The two are interleaved and repeated;
"best" and "median" are over repeats, and the ratio is ours / nanoGPT's within each pair.
`--levers` also runs the ladder of recipes, each adding one lever to the previous, once each;
`--step-times` only times steps of AdamW / Muon x float32 / bfloat16, interleaved.
Both run in our trainer (`training.train_steps`), which is 1.05x a plain nanoGPT-style loop
at identical maths (bench.train_throughput): the ratio measures the recipe, not the loop.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from playground import precision
from playground.config import ModelConfig, TrainConfig
from playground.training import evaluate, train_steps

N_LAYERS, N_HEADS, D_MODEL, N_CTX = 4, 4, 128, 64
EVAL_EVERY = 50
VAL_WINDOWS = {"batch_size": 16, "n_batches": 16, "seed": 1234}  # 256 fixed windows of 64 tokens

NANOGPT = TrainConfig(steps=2000, batch_size=12, lr=1e-3, warmup_steps=100, min_lr_ratio=0.1, weight_decay=0.1,
                      beta2=0.99, grad_clip=1.0, optimizer="adamw", precision="float32", seed=0)

# The levers, one at a time: each recipe adds one change to the one before it (`--levers`).
ADAMW_FAST = NANOGPT.replace(lr=3e-3, warmup_steps=20, steps=1000)
MUON = ADAMW_FAST.replace(optimizer="muon", muon_lr=0.02, steps=750)
LADDER: list[tuple[str, TrainConfig]] = [
    ("AdamW retuned for wall time: lr 3e-3, warmup 20, 1,000-step cosine", ADAMW_FAST),
    ("+ Muon (lr 0.02) for the weight matrices, 750-step cosine", MUON),
    ("+ bfloat16 autocast", MUON.replace(precision="bfloat16")),
]
OURS = LADDER[-1][1]


def corpus() -> tuple[torch.Tensor, torch.Tensor, int, dict]:
    """(train ids, val ids, vocab size, description) of CPython's help-topic prose."""
    from pydoc_data import topics

    text = "".join(topics.topics[key] for key in sorted(topics.topics))
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    split = int(0.9 * len(ids))
    about = {"source": f"pydoc_data.topics of Python {platform.python_version()}", "characters": len(text),
             "vocab": len(chars), "train_tokens": split, "val_tokens": len(ids) - split}
    return ids[:split], ids[split:], len(chars), about


class Run:
    """One recipe training in blocks of `EVAL_EVERY` steps, the clock running only inside steps."""

    def __init__(self, model_cfg: ModelConfig, tc: TrainConfig, train_ids, val_ids, target: float | None) -> None:
        self.steps_planned, self.val_ids, self.target = tc.steps, val_ids, target
        self.run = train_steps(model_cfg, tc, train_ids)
        self.seconds, self.curve, self.reached, self.done = 0.0, [], None, False
        self.block_seconds: list[float] = []  # time of each full block of EVAL_EVERY steps

    def advance(self) -> None:
        """Train to the next evaluation point, then evaluate (outside the clock)."""
        t0 = time.perf_counter()
        for stats in self.run:
            if stats.step % EVAL_EVERY == 0 or stats.step == self.steps_planned:
                break
        else:
            self.done = True
            return
        took = time.perf_counter() - t0
        self.seconds += took
        if stats.step % EVAL_EVERY == 0:
            self.block_seconds.append(took)
        val = evaluate(stats.model, self.val_ids, **VAL_WINDOWS)
        self.curve.append((stats.step, round(val, 4), round(self.seconds, 4)))
        if self.target is not None and val <= self.target:
            self.reached = {"step": stats.step, "seconds": round(self.seconds, 4), "val_loss": round(val, 4)}
        if self.reached or stats.step == self.steps_planned:
            self.run.close()
            self.done = True

    def summary(self) -> dict:
        return {"seconds": round(self.seconds, 4), "final_val_loss": self.curve[-1][1], "steps": self.curve[-1][0],
                "reached": self.reached, "step_ms_median": round(1e3 * statistics.median(self.block_seconds)
                                                                / EVAL_EVERY, 2) if self.block_seconds else None}


def time_to_loss(model_cfg: ModelConfig, tc: TrainConfig, train_ids, val_ids, target: float | None) -> dict:
    """Train one recipe alone until val loss <= target (or its last step)."""
    run = Run(model_cfg, tc, train_ids, val_ids, target)
    while not run.done:
        run.advance()
    return {**run.summary(), "curve": run.curve}


def interleaved_pair(model_cfg: ModelConfig, train_ids, val_ids) -> dict:
    """nanoGPT's 2,000 steps and our recipe's schedule, alternating blocks of EVAL_EVERY steps.

    Alternating keeps both under the same machine load (this VM's speed drifts by tens of
    percent from minute to minute). L is known only when nanoGPT finishes, so ours runs its
    whole (short) schedule and its time to L is read from its curve: the training seconds up
    to its first evaluation at or below L.
    """
    nano = Run(model_cfg, NANOGPT, train_ids, val_ids, None)
    ours = Run(model_cfg, OURS, train_ids, val_ids, None)
    while not nano.done or not ours.done:
        for run in (nano, ours):
            if not run.done:
                run.advance()
    target = nano.curve[-1][1]
    hits = [c for c in ours.curve if c[1] <= target]
    ours.target = target
    ours.reached = {"step": hits[0][0], "val_loss": hits[0][1], "seconds": hits[0][2]} if hits else None
    shared = min(len(nano.block_seconds), len(ours.block_seconds))  # blocks run under the same load
    block_ratios = [o / n for o, n in zip(ours.block_seconds[:shared], nano.block_seconds[:shared])]
    return {"nanogpt": nano, "ours": ours, "target_L": target, "block_ratios": block_ratios}


def step_times(model_cfg: ModelConfig, train_ids, rounds: int = 6, steps: int = 10) -> dict:
    """ms per training step of each optimiser x precision, interleaved in short rounds.

    Wall time and this process's CPU time (`time.process_time`): on a machine shared with other
    work the CPU time is the steadier measure of what a step costs.
    """
    variants = {"adamw float32": NANOGPT, "adamw bfloat16": NANOGPT.replace(precision="bfloat16"),
                "muon float32": MUON, "muon bfloat16": MUON.replace(precision="bfloat16")}
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    runs = {name: train_steps(model_cfg, tc.replace(steps=100_000), train_ids) for name, tc in variants.items()}
    for run in runs.values():
        next(run)  # first step: allocations, kernel build
    for _ in range(rounds):
        for name, run in runs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(steps):
                next(run)
            wall[name].append(1e3 * (time.perf_counter() - w0) / steps)
            cpu[name].append(1e3 * (time.process_time() - c0) / steps)
    for run in runs.values():
        run.close()

    def summary(t: list[float], base: list[float]) -> dict:
        return {"best_ms": round(min(t), 2), "median_ms": round(statistics.median(t), 2),
                "vs_adamw_float32_median": round(statistics.median([a / b for a, b in zip(t, base)]), 3)}

    return {name: {"wall": summary(wall[name], wall["adamw float32"]), "cpu": summary(cpu[name], cpu["adamw float32"])}
            for name in variants}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--levers", action="store_true", help="also run the ladder of levers once")
    parser.add_argument("--step-times", action="store_true", help="only time steps of each optimiser x precision")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_ids, val_ids, vocab, about = corpus()
    model_cfg = ModelConfig(n_layers=N_LAYERS, n_heads=N_HEADS, d_model=D_MODEL, n_ctx=N_CTX, d_vocab=vocab)
    if args.step_times:
        print(json.dumps({"cpu": cpu_name(), "threads": args.threads, "precision_auto": precision.status("auto"),
                          "step_ms": step_times(model_cfg, train_ids)}, indent=1))
        return

    pairs = []
    for _ in range(args.repeats):
        pair = interleaved_pair(model_cfg, train_ids, val_ids)
        nano, ours = pair["nanogpt"], pair["ours"]
        ratio = ours.reached["seconds"] / nano.seconds if ours.reached else None
        # per-step speed under the same load, times the steps each needs
        matched = (ours.reached["step"] / nano.steps_planned * statistics.median(pair["block_ratios"])
                   if ours.reached else None)
        pairs.append({"target_L": pair["target_L"], "nanogpt": nano.summary(), "ours": ours.summary(),
                      "ratio": round(ratio, 3) if ratio else None,
                      "load_matched_ratio": round(matched, 3) if matched else None,
                      "step_time_ratio_blocks": {"median": round(statistics.median(pair["block_ratios"]), 3),
                                                 "best": round(min(pair["block_ratios"]), 3),
                                                 "n": len(pair["block_ratios"])},
                      "curves": {"nanogpt": nano.curve, "ours": ours.curve}})
    ratios = [p["ratio"] for p in pairs if p["ratio"] is not None]
    nano_s = [p["nanogpt"]["seconds"] for p in pairs]
    ours_s = [p["ours"]["reached"]["seconds"] for p in pairs if p["ours"]["reached"]]
    result = {
        "cpu": cpu_name(), "threads": args.threads, "torch": torch.__version__,
        "precision_auto": precision.status("auto"), "corpus": about,
        "model": vars(model_cfg), "eval": {"every": EVAL_EVERY, **VAL_WINDOWS, "time": "excluded from both"},
        "nanogpt_recipe": vars(NANOGPT), "our_recipe": vars(OURS),
        "target_L": pairs[0]["target_L"],
        "nanogpt_seconds": {"best": min(nano_s), "median": statistics.median(nano_s)},
        "ours_seconds": {"best": min(ours_s), "median": statistics.median(ours_s)} if ours_s else None,
        "ratio": {"best": min(ratios), "median": statistics.median(ratios)} if ratios else None,
        "reached_in": f"{len(ratios)} of {len(pairs)} repeats",
        "pairs": pairs,
    }
    if args.levers:
        target = statistics.median(p["target_L"] for p in pairs)
        result["levers"] = []
        for name, tc in LADDER:
            r = time_to_loss(model_cfg, tc, train_ids, val_ids, target=target)
            result["levers"].append({"recipe": name, "target_L": target, "reached": r["reached"],
                                     "final_val_loss": r["final_val_loss"], "steps_run": r["steps"],
                                     "seconds": r["seconds"]})
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
