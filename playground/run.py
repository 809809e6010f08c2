"""A training run: the one object the Train tab, the CLI and notebooks share.

`training.train_steps` is the engine (one optimiser step per yield). Every caller needs the same
things around it, so they live here once: stop conditions (the planned steps, a time budget, a
target validation loss, a Stop request from another thread), the recording (loss curves, probe
snapshots, and the probe's induction score measured as training goes), the torch thread count
while training computes, and the finished model with its card.

    run = TrainingRun(data, ModelConfig(...), TrainConfig(steps=500), probe="abcdabcd",
                      stop=StopConditions(max_seconds=60, target_val_loss=1.5))
    for stats in run:          # one StepStats per step; ends at the first stop condition
        print(stats.step, stats.loss, run.history().induction_line())
    run.reason                 # "done", "stopped", "time" or "target"
    bundle = run.finish("my model")   # final evaluation, sample and card
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .api import ModelBundle, TrainingData
from .budget import RunBudget
from .checkpoint import save_checkpoint
from .config import ModelConfig, TrainConfig
from .distributed import SINGLE, World
from .errors import PlaygroundError, check_range, register
from .history import (
    MAX_PROBE_TOKENS,
    HistoryRecorder,
    TrainingHistory,
    best_induction_score,
    repeat_half,
    save_history,
    snapshot_steps,
)
from .model import TinyGPT
from .precision import status as precision_status
from .training import StepStats, evaluate, probe_attention, sample_text, train_steps

register({
    "run.max_seconds": ("max_seconds (the time budget)", "时间预算 max_seconds（秒）"),
    "run.target_val_loss": ("target_val_loss", "目标验证损失 target_val_loss"),
    "run.needs_data": (
        "a training run needs the TrainingData from prepare_data(...), got {got}",
        "训练需要 prepare_data(...) 返回的 TrainingData，收到的是 {got}",
    ),
    "run.probe_length": (
        "probe must be 1 to {limit} tokens (at most {most}, and within the model's context), it is {got}",
        "探针必须是 1 到 {limit} 个词元（最多 {most} 个，且不超过模型的上下文），现在是 {got} 个",
    ),
    "run.once": ("a TrainingRun runs once; make a new one to train again",
                 "一个 TrainingRun 只能运行一次；要再训练请新建一个"),
    "run.no_step": ("no training step has completed yet", "还没有完成任何训练步"),
})

# Why a run ended. "done": every planned step; "stopped": stop() was called (Stop button, Ctrl-C);
# "time": the time budget ran out; "target": a validation loss reached the target.
REASONS = ("done", "stopped", "time", "target")
MAX_BUDGET_SECONDS = 7 * 24 * 3600.0
# The card's val loss: a fixed set of windows, so a later cheap eval can be compared to it.
VAL_EVAL = {"batch_size": 16, "n_batches": 16, "seed": 1234}


@dataclass(frozen=True)
class StopConditions:
    """When a run ends before its planned steps. None: no such limit.

    max_seconds counts from the run's creation, or from a caller's `budget.RunBudget` (the Train
    tab starts its clock at Start, so preparing the data counts); target_val_loss is checked at
    each evaluation."""

    max_seconds: float | None = None
    target_val_loss: float | None = None

    def __post_init__(self) -> None:
        if self.max_seconds is not None:
            check_range("run.max_seconds", self.max_seconds, 0.0, MAX_BUDGET_SECONDS)
        if self.target_val_loss is not None:
            check_range("run.target_val_loss", self.target_val_loss, 0.0, 1e3, low_open=True)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Use `n` torch threads inside, the caller's count again after (None: leave it alone).

    A generator resumes on whichever worker thread the server picks, and inference requests on
    the same process share torch's setting, so the run holds its count only while it computes."""
    if not n:
        yield
        return
    saved = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def fit_probe(probe: str | None, tokenizer, limit: int) -> str:
    """The probe text cut to at most `limit` tokens ("" for no probe)."""
    if not probe or not probe.strip():
        return ""
    ids = tokenizer.encode(probe[:2000]).ids
    return probe if len(ids) <= limit else tokenizer.decode(ids[:limit])


class TrainingRun:
    """One run of `train_steps` with its stop conditions and recording. Iterate it once.

    `model`: continue training this model (it is trained in place: pass a copy to keep the
    original); otherwise a fresh seeded one of `model_cfg` with the data's vocabulary.
    `probe`: a text photographed at `n_snapshots` evenly spaced steps (plus step 0); when it says
    one sequence twice, its best induction score (interpret.py's measure, layers 1 and up) is
    also measured every `score_every` steps from the model at that step — the live line.
    `budget`: a RunBudget whose clock and Stop flag the run shares with the caller's preparation
    (default: a new one of `stop.max_seconds`). `device` / `world`: as `training.train_steps`;
    under torchrun only rank 0 evaluates, photographs and records, and the ranks agree on when
    to stop. `engine`: `train_steps` or a wrapper taking the same arguments (the Train tab's runs
    it in a ZeroGPU worker).
    """

    def __init__(
        self,
        data: TrainingData,
        model_cfg: ModelConfig | None = None,
        train_cfg: TrainConfig | None = None,
        *,
        model: TinyGPT | None = None,
        probe: str | None = None,
        n_snapshots: int = 0,
        score_every: int = 0,
        stop: StopConditions | None = None,
        budget: RunBudget | None = None,
        threads: int | None = None,
        sample_prompt: str = "\n",
        sample_tokens: int = 48,
        device: torch.device | str | None = None,
        world: World = SINGLE,
        engine: Callable[..., Iterator[StepStats]] = train_steps,
    ) -> None:
        if not isinstance(data, TrainingData):
            raise PlaygroundError("run.needs_data", got=type(data).__name__)
        self.data = data
        self.train_cfg = train_cfg or TrainConfig()
        if model is not None:
            self.model_cfg = model.cfg
        else:
            model_cfg = model_cfg or ModelConfig(n_layers=2, n_heads=4, d_model=64, n_ctx=64)
            self.model_cfg = dataclasses.replace(model_cfg, d_vocab=data.tokenizer.vocab_size)
        self.base_model = model
        self.stop_conditions = stop or StopConditions()
        self.budget = budget or RunBudget(self.stop_conditions.max_seconds)
        self.threads, self.device, self.world, self.engine = threads, device, world, engine
        self.sample_prompt, self.sample_tokens = sample_prompt, sample_tokens

        self.probe = (probe or "") if world.is_main else ""
        probe_tokens = data.tokenizer.encode(self.probe).tokens if self.probe else []
        limit = min(MAX_PROBE_TOKENS, self.model_cfg.n_ctx)
        if len(probe_tokens) > limit:
            raise PlaygroundError("run.probe_length", limit=limit, most=MAX_PROBE_TOKENS, got=len(probe_tokens))
        self.probe_ids = [tok.id for tok in probe_tokens]
        self.recorder = HistoryRecorder(self.probe, [tok.display for tok in probe_tokens])
        self.half = repeat_half(self.probe_ids)  # set when the probe is a sequence said twice
        self.score_every = score_every if self.half else 0
        self.snapshot_at = snapshot_steps(self.train_cfg.steps, n_snapshots) if self.probe_ids and (
            n_snapshots or self.score_every) else []  # with a score line, step 0 at least: its start
        self.last: StepStats | None = None
        self.reason: str | None = None  # set when iteration ends
        self.latest_sample = ""
        self._iterated = False

    # ---- control
    def stop(self) -> None:
        """Ask the run to end after its current step (safe from any thread)."""
        self.budget.stop()

    # ---- the run
    def __iter__(self) -> Iterator[StepStats]:
        """Train and yield each step's StepStats; on leaving, `reason` says why it ended."""
        if self._iterated:
            raise PlaygroundError("run.once")
        self._iterated = True
        with torch_threads(self.threads):
            steps = self.engine(
                self.model_cfg, self.train_cfg, self.data.train_ids,
                self.data.val_ids if self.world.is_main else None, self.probe or None,
                tokenizer=self.data.tokenizer, model=self.base_model, snapshot_steps=self.snapshot_at,
                sample_prompt=self.sample_prompt, sample_tokens=self.sample_tokens, device=self.device,
                world=self.world)
        try:
            while True:
                with torch_threads(self.threads):
                    stats = next(steps, None)
                    if stats is None:
                        self.reason = "done"
                        return
                    self._record(stats)
                yield stats
                self.reason = self._stop_reason(stats)
                if self.reason:
                    return
        finally:
            steps.close()
            if self.reason is None:  # the caller closed us (a cancelled request)
                self.reason = "stopped"

    def run(self, on_step=None) -> TrainingRun:
        """Iterate to the end, calling `on_step(stats)` after each step; returns self."""
        for stats in self:
            if on_step is not None:
                on_step(stats)
        return self

    def _record(self, stats: StepStats) -> None:
        self.last = stats
        self.recorder.record(stats)
        if stats.sample is not None:
            self.latest_sample = stats.sample
        if not self.score_every:
            return
        if 0 in stats.snapshots:
            self.recorder.record_score(0, self._score(stats.snapshots[0]))
        due = stats.step % self.score_every == 0 or stats.step == stats.steps or stats.step in stats.snapshots
        if due:  # the model as it is after this step
            pattern = stats.snapshots.get(stats.step)
            if pattern is None:
                pattern = probe_attention(stats.model, self.probe_ids)
            self.recorder.record_score(stats.step, self._score(pattern))

    def _score(self, pattern: np.ndarray) -> float:
        return best_induction_score(pattern, self.half)

    def _stop_reason(self, stats: StepStats) -> str | None:
        if stats.step >= stats.steps:
            return "done"
        target = self.stop_conditions.target_val_loss
        wanted = {
            "stopped": self.budget.stopped(),
            "target": target is not None and stats.val_loss is not None and stats.val_loss <= target,
            "time": self.budget.expired(),
        }
        if self.world.size > 1:  # every rank must leave at the same step (rank 0 alone evaluates)
            votes = torch.tensor([float(v) for v in wanted.values()], device=stats.model.device)
            wanted = dict(zip(wanted, (self.world.mean(votes) > 0).tolist()))
        return next((reason for reason, yes in wanted.items() if yes), None)

    # ---- what it made
    @property
    def model(self) -> TinyGPT:
        if self.last is None:
            raise PlaygroundError("run.no_step")
        return self.last.model

    def history(self) -> TrainingHistory:
        """What was recorded so far: loss curves, probe snapshots, the induction line."""
        return self.recorder.history()

    def summary(self) -> dict:
        """Why and where the run ended, for the card."""
        conditions = dataclasses.asdict(self.stop_conditions)
        if self.budget.seconds is not None:
            conditions["max_seconds"] = self.budget.seconds
        conditions = {k: v for k, v in conditions.items() if v is not None}
        return {"reason": self.reason, "step": self.last.step if self.last else 0,
                "planned_steps": self.train_cfg.steps, **conditions}

    def finish(self, name: str = "my model", *, final_eval: bool = True) -> ModelBundle:
        """The trained model as a bundle with its card. `final_eval`: measure the card's val loss on
        VAL_EVAL's fixed windows and draw a fresh sample (the CLI, notebooks); without it the card
        keeps the run's last evaluation and sample (the Train tab: nothing more to wait for)."""
        model = self.model.eval()
        if final_eval:
            val = evaluate(model, self.data.val_ids, VAL_EVAL["batch_size"], VAL_EVAL["n_batches"], VAL_EVAL["seed"])
            sample = sample_text(model, self.data.tokenizer, self.sample_prompt, self.sample_tokens,
                                 seed=self.train_cfg.seed)
        else:
            vals = self.recorder.val_losses
            val, sample = (vals[-1] if vals else math.nan), self.latest_sample
        card = training_card(name, self.data, model, self.train_cfg, self.last, val, sample)
        card["stop"] = self.summary()
        meta = {"tokenizer_kind": self.data.tokenizer.kind, "corpus": self.data.corpus_name,
                "training": {"steps": self.last.step, "train_loss": card["train_loss"], "val_loss": card["val_loss"]}}
        return ModelBundle(name, model, self.data.tokenizer, meta, card)

    def save(self, folder: str | Path, bundle: ModelBundle) -> Path:
        """Write `bundle` (from finish) as a checkpoint folder, with history.json when the probe was
        photographed; returns the folder."""
        out = save_checkpoint(folder, bundle.model, bundle.tokenizer, meta=bundle.meta, card=bundle.card)
        if self.recorder.snapshots:
            save_history(out, self.history())
        return out



def train(
    data: TrainingData,
    model_cfg: ModelConfig | None = None,
    train_cfg: TrainConfig | None = None,
    *,
    name: str = "my model",
    on_step=None,
    stop: StopConditions | None = None,
) -> ModelBundle:
    """Train a fresh, seeded TinyGPT on `data` (from `prepare_data`) and return it ready for
    `inspect` / `generate`; the card holds its losses and why it stopped. `on_step(StepStats)` is
    called after every step (e.g. to print progress); for live control iterate a TrainingRun.

        data = prepare_data("stories", "bpe", 512, size=200_000)
        bundle = train(data, ModelConfig(n_layers=2, n_heads=4, d_model=64, n_ctx=64), TrainConfig(steps=100))
    """
    run = TrainingRun(data, model_cfg, train_cfg, stop=stop)
    return run.run(on_step).finish(name)


def training_card(name: str, data: TrainingData, model: TinyGPT, train_cfg: TrainConfig, last: StepStats,
                  final_val: float, sample: str) -> dict:
    """The human-readable summary saved beside a trained checkpoint as card.json."""
    return {
        "name": name,
        "corpus": data.corpus_name,
        "tokenizer": data.tokenizer.kind,
        "vocab_size": data.tokenizer.vocab_size,
        "config": dict(vars(model.cfg)),
        "n_params": model.n_params(),
        "train": dict(vars(train_cfg)),
        "precision": precision_status(train_cfg.precision),  # what "auto" became on the training machine
        "steps_done": last.step,
        "train_loss": round(last.loss, 4),
        "val_loss": None if math.isnan(final_val) else round(final_val, 4),
        "val_eval": {"batch_size": VAL_EVAL["batch_size"], "n_batches": VAL_EVAL["n_batches"]},
        "tokens_per_s": round(last.tokens_per_s, 1),
        "train_seconds": round(last.elapsed, 1),
        "sample": sample,
        "torch": torch.__version__,
    }
