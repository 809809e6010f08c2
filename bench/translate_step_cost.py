"""What a training step of the translator costs with each recipe, measured side by side.

    python -m bench.translate_step_cost [--rounds 6] [--steps-per-round 10] [--threads 1]

Why interleaved: this machine is shared, so its speed drifts by tens of percent within minutes.
Each recipe keeps its own running `seq2seq.train_translation` generator (the shipped shape and
data: 30,000 pairs, 2+2 layers, d_model 128, d_mlp 256, batch 64); a round times
`--steps-per-round` steps of each recipe, one after another, so every round compares them under
the same load. Prints JSON: per recipe the median wall and CPU (this thread's) seconds per step,
and per recipe the median over rounds of its cost relative to the first recipe (AdamW float32).
CPU time is the calling thread's: a fair measure with `--threads 1` only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from playground import precision, seq2seq
from playground.config import TrainConfig
from playground.corpora import translation_pairs

RECIPES = {  # name -> TrainConfig changes; the shipped AdamW recipe first (the reference)
    "adamw-float32": dict(optimizer="adamw", precision="float32"),
    "muon-auto": dict(optimizer="muon", precision="auto"),
    "muon-float32": dict(optimizer="muon", precision="float32"),
}


def measure(rounds: int = 6, steps_per_round: int = 10, pairs: int = 30_000) -> dict:
    data_pairs = translation_pairs(pairs, 0)
    src_tok, tgt_tok = seq2seq.build_tokenizers(data_pairs)
    data = seq2seq.encode_pairs(data_pairs, src_tok, tgt_tok)
    cfg = seq2seq.Seq2SeqConfig(d_vocab_src=src_tok.vocab_size, d_vocab_tgt=tgt_tok.vocab_size, n_layers=2,
                                n_heads=4, d_model=128, d_mlp=256)  # fmt: skip
    steps = 1 + rounds * steps_per_round
    base = TrainConfig(steps=steps, batch_size=64, lr=3e-3, warmup_steps=min(40, steps), weight_decay=0.01,
                       beta2=0.98, seed=0)  # fmt: skip
    runs = {name: seq2seq.train_translation(cfg, base.replace(**changes), data, "cpu")
            for name, changes in RECIPES.items()}  # fmt: skip
    for run in runs.values():
        next(run)  # the first step builds the optimiser state and warms the kernels: not timed
    wall = {name: [] for name in runs}
    cpu = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            w0, c0 = time.perf_counter(), time.thread_time()
            for _ in range(steps_per_round):
                next(run)
            wall[name].append((time.perf_counter() - w0) / steps_per_round)
            cpu[name].append((time.thread_time() - c0) / steps_per_round)
    ref = next(iter(RECIPES))

    def ratios(times: dict[str, list[float]], name: str) -> list[float]:  # per round: recipe / reference
        return [a / b for a, b in zip(times[name], times[ref], strict=True)]

    return {
        "threads": torch.get_num_threads(),
        "precision_auto": precision.status("auto"),
        "rounds": rounds,
        "steps_per_round": steps_per_round,
        "seconds_per_step": {name: {"wall_median": round(statistics.median(wall[name]), 4),
                                    "wall_best": round(min(wall[name]), 4),
                                    "cpu_median": round(statistics.median(cpu[name]), 4)} for name in runs},
        "ratio_to_" + ref: {name: {"wall_median": round(statistics.median(ratios(wall, name)), 3),
                                   "wall_range": [round(min(ratios(wall, name)), 3), round(max(ratios(wall, name)), 3)],
                                   "cpu_median": round(statistics.median(ratios(cpu, name)), 3)} for name in runs},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--steps-per-round", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(measure(args.rounds, args.steps_per_round), indent=1))


if __name__ == "__main__":
    main()
