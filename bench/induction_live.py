"""Live induction: how soon does the Train tab's "Watch an induction head form" preset form one?

    python -m bench.induction_live [--seeds 0 1 2 3 4] [--preset induction] [--full]

For each seed, exactly what the Train tab does with the preset (presets.py: same corpus, size,
tokenizer, model, schedule and probe; one torch thread; a TrainingRun with the tab's 5-minute /
3,000-step limits), and records when the probe's best layer-1 induction score — the tab's live
line, measured every `score_every(steps)` steps on the model at that step — first reaches 0.3:
the step and the seconds since Start (data preparation included, as the tab counts it). A seed
that never reaches it within the limits counts as not formed. Without --full a run stops 5 score
points after it formed (the rest of the run is not what is measured). Prints JSON: one row per
seed and the distribution (formed count, median / best / worst seconds and steps). The machine's
load average is printed too: on a shared machine seconds stretch with it, steps do not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch

from playground import api
from playground.config import ModelConfig
from playground.presets import PRESETS, score_every, tab_train_config
from playground.run import StopConditions, TrainingRun

THRESHOLD = 0.3  # the tab's INDUCTION_THRESHOLD
TAB_MAX_SECONDS = 300.0  # the tab's default limits (PLAYGROUND_MAX_TRAIN_SECONDS / _MAX_STEPS)
TAB_MAX_STEPS = 3000


def time_to_score(preset: dict, seed: int, full: bool = False) -> dict:
    """One seed of the preset, as the tab runs it; when its induction score first passed 0.3."""
    start = time.perf_counter()  # the tab's clock starts at Start: preparation counts
    data = api.prepare_data(preset["corpus"], preset["tokenizer"], preset["vocab"], seed=seed)
    prepared = time.perf_counter() - start
    model_cfg = ModelConfig(n_layers=preset["layers"], n_heads=preset["heads"], d_model=preset["d_model"],
                            n_ctx=preset["n_ctx"], d_vocab=data.tokenizer.vocab_size)
    steps = min(preset["steps"], TAB_MAX_STEPS)
    train_cfg = tab_train_config(steps, preset["batch"], preset["lr"], seed, preset["optimizer"])
    run = TrainingRun(data, model_cfg, train_cfg,
                      probe=preset["probe"], score_every=score_every(steps),
                      stop=StopConditions(max_seconds=TAB_MAX_SECONDS - prepared), threads=1)
    formed, seen = None, 0
    for _ in run:
        line_steps, line = run.recorder.score_steps, run.recorder.scores
        for step, score in zip(line_steps[seen:], line[seen:]):
            if formed is None and score >= THRESHOLD:
                formed = {"step": step, "seconds": round(time.perf_counter() - start, 1)}
        seen = len(line)
        if formed and not full and len(line_steps) >= 5 and line_steps[-5] >= formed["step"]:
            run.stop()
    return {
        "seed": seed,
        "formed": formed is not None,
        "step": formed and formed["step"],
        "seconds": formed and formed["seconds"],
        "prepare_seconds": round(prepared, 1),
        "steps_run": run.last.step,
        "stopped_because": run.reason,
        "final_score": round(run.recorder.scores[-1], 3),
        "steps_per_s": round(run.last.step / max(1e-9, run.last.elapsed), 1),
    }


def summary(rows: list[dict]) -> dict:
    formed = [r for r in rows if r["formed"]]
    out = {"seeds": len(rows), "formed": len(formed), "threshold": THRESHOLD}
    for key in ("seconds", "step"):
        values = sorted(r[key] for r in formed)
        if values:
            out[key] = {"median": statistics.median(values), "best": values[0], "worst": values[-1]}
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="induction", choices=sorted(PRESETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--full", action="store_true", help="train every step of each run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    preset = PRESETS[args.preset]
    rows = []
    for seed in args.seeds:
        rows.append(time_to_score(preset, seed, args.full))
        print(json.dumps(rows[-1]), flush=True)
    result = {"preset": {"name": args.preset, **preset}, "torch_threads": 1, "load_average": os.getloadavg(),
              "runs": rows, "summary": summary(rows)}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
