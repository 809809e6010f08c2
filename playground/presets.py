"""The Train tab's presets as data, and the schedule the tab derives from a form.

Kept in the library (not in ui/) so that `bench/induction_live.py` trains the "Watch an induction
head form" preset exactly as the tab does — same corpus, size, schedule and probe — without Gradio.
"""

from __future__ import annotations

from .config import OPTIMIZERS, TrainConfig

DEFAULT_PROBE = "The dog saw the cat. The dog ran to the cat."
INDUCTION_PROBE = "vkbqzmxtwgjdvkbqzmxtwgjd"  # 12 distinct letters said twice: the induction probe
SCORE_POINTS = 100  # a probe said twice gets its induction score measured ~this many times per run

PRESETS: dict[str, dict] = {
    "tiny": dict(corpus="stories-en", tokenizer="char", vocab=512, layers=2, heads=2, d_model=64, n_ctx=64,
                 steps=500, batch=16, lr=3e-3, probe=DEFAULT_PROBE, optimizer=OPTIMIZERS[0]),
    "small": dict(corpus="stories-en", tokenizer="bpe", vocab=512, layers=4, heads=4, d_model=128, n_ctx=128,
                  steps=1000, batch=16, lr=2e-3, probe=DEFAULT_PROBE, optimizer=OPTIMIZERS[0]),
    # "Watch an induction head form": README "Live induction" says why this data, shape and lr.
    "induction": dict(corpus="induction", tokenizer="char", vocab=32, layers=2, heads=2, d_model=128, n_ctx=64,
                      steps=3000, batch=32, lr=3e-3, probe=INDUCTION_PROBE, optimizer="muon"),
}
PRESET_FIELDS = ("corpus", "tokenizer", "vocab", "layers", "heads", "d_model", "n_ctx", "steps", "batch", "lr",
                 "probe", "optimizer")


def tab_train_config(steps: int, batch: int, lr: float, seed: int, optimizer: str = OPTIMIZERS[0]) -> TrainConfig:
    """The Train tab's schedule for a form: short warmup, ~20 evaluations and ~5 samples per run.

    `optimizer` "muon" (the default, faster to a given loss: Muon for the weight matrices, AdamW
    for the rest, bfloat16 where the CPU is fast at it) or "adamw" (the classic float32 AdamW, for
    teaching and comparison)."""
    return TrainConfig(steps=steps, batch_size=batch, lr=lr, warmup_steps=min(50, steps // 10),
                       eval_interval=max(10, steps // 20), sample_interval=max(25, steps // 5), seed=seed,
                       optimizer=optimizer, precision="auto" if optimizer == "muon" else "float32")


def score_every(steps: int) -> int:
    """How often the tab measures the probe's induction score (SCORE_POINTS per run)."""
    return max(1, steps // SCORE_POINTS)
