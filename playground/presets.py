"""The Train tab's presets as data, and the schedule the tab derives from a form.

Kept in the library (not in ui/) so that `bench/induction_live.py` trains the "Watch an induction
head form" preset exactly as the tab does — same corpus, size, schedule and probe — without Gradio.
"""

from __future__ import annotations

from .config import TrainConfig

DEFAULT_PROBE = "The dog saw the cat. The dog ran to the cat."
INDUCTION_PROBE = "vkbqzmxtwgjdvkbqzmxtwgjd"  # 12 distinct letters said twice: the induction probe
SCORE_POINTS = 100  # a probe said twice gets its induction score measured ~this many times per run

PRESETS: dict[str, dict] = {
    "tiny": dict(corpus="stories-en", tokenizer="char", vocab=512, layers=2, heads=2, d_model=64, n_ctx=64,
                 steps=500, batch=16, lr=3e-3, probe=DEFAULT_PROBE),
    "small": dict(corpus="stories-en", tokenizer="bpe", vocab=512, layers=4, heads=4, d_model=128, n_ctx=128,
                  steps=1000, batch=16, lr=2e-3, probe=DEFAULT_PROBE),
    # "Watch an induction head form": README "Live induction" says why this data, shape and lr.
    "induction": dict(corpus="induction", tokenizer="char", vocab=32, layers=2, heads=2, d_model=64, n_ctx=64,
                      steps=3000, batch=32, lr=1e-2, probe=INDUCTION_PROBE),
}
PRESET_FIELDS = ("corpus", "tokenizer", "vocab", "layers", "heads", "d_model", "n_ctx", "steps", "batch", "lr",
                 "probe")


def tab_train_config(steps: int, batch: int, lr: float, seed: int) -> TrainConfig:
    """The Train tab's schedule for a form: short warmup, ~20 evaluations and ~5 samples per run.

    Float32 AdamW, not TrainConfig's Muon + bfloat16-where-fast defaults: the presets (the
    live-induction one and its seed table in the README) were measured with it; Muon reaches
    the tab with the tab's own optimizer choice, once the presets are re-measured with it."""
    return TrainConfig(steps=steps, batch_size=batch, lr=lr, warmup_steps=min(50, steps // 10),
                       eval_interval=max(10, steps // 20), sample_interval=max(25, steps // 5), seed=seed,
                       optimizer="adamw", precision="float32")


def score_every(steps: int) -> int:
    """How often the tab measures the probe's induction score (SCORE_POINTS per run)."""
    return max(1, steps // SCORE_POINTS)
