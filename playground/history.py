"""Training history: a probe text's attention photographed during training, plus the loss curve.

Saved next to a checkpoint as `history.json` (`python -m playground train --probe ... --snapshots
N`), so the app can replay how a shipped model learned — e.g. the step at which `induction`'s
layer-1 heads start to copy — without retraining. JSON only, validated on every load like the
rest of a checkpoint (checkpoint.py): a broken or hostile file gives a CheckpointError that
says what is allowed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checkpoint import HISTORY_FILE, CheckpointError, MiB, check_file_size, human_size
from .errors import Label, register

MAX_HISTORY_BYTES = 8 * MiB
MAX_SNAPSHOTS = 64
MAX_PROBE_TOKENS = 64
MAX_LOSS_POINTS = 2000  # the saved train-loss curve is thinned to this many points

register(
    {
        "history.too_large": (
            "history.json would be {size}; the limit is {limit}: use fewer snapshots or a shorter probe",
            "history.json 会有 {size}；上限是 {limit}：请减少快照数或缩短探针文本",
        ),
        "history.unreadable": ("history.json: {detail}", "history.json：{detail}"),
        "history.missing_key": ("history.json has no {key}", "history.json 中没有 {key}"),
        "history.wrong_type": (
            "history.json: {key} must be {expected}, not {type}",
            "history.json：{key} 必须是{expected}，而不是 {type}",
        ),
        "history.wrong_item_type": (
            "history.json: every item of {key} must be {expected}",
            "history.json：{key} 的每一项都必须是{expected}",
        ),
        "history.kind_text": ("text", "文本"),
        "history.kind_list": ("a list", "列表"),
        "history.kind_int": ("a whole number", "整数"),
        "history.kind_number": ("a number", "数"),
        "history.probe_length": (
            "history.json: the probe must have 1 to {limit} tokens, has {n}",
            "history.json：探针必须有 1 到 {limit} 个词元，实际有 {n} 个",
        ),
        "history.snapshots": (
            "history.json: 1 to {limit} snapshots allowed, found {n}",
            "history.json：允许 1 到 {limit} 个快照，找到 {n} 个",
        ),
        "history.patterns_shape": (
            "history.json: patterns have shape {shape}; expected (snapshots, layers, heads, tokens, tokens) = "
            "{expected}",
            "history.json：patterns 的形状是 {shape}；应该是（快照、层、头、词元、词元）= {expected}",
        ),
        "history.weights": (
            "history.json: attention weights must be numbers from 0 to 1",
            "history.json：注意力权重必须是 0 到 1 之间的数",
        ),
        "history.curve_length": (
            "history.json: {steps} and {values} must have the same length, at most {limit}",
            "history.json：{steps} 和 {values} 的长度必须相同，最多 {limit}",
        ),
        "history.not_finite": (
            "history.json: {values} must be finite numbers",
            "history.json：{values} 必须是有限的数",
        ),
        "history.not_increasing": (
            "history.json: {name} must be increasing whole numbers from 0",
            "history.json：{name} 必须是从 0 开始递增的整数",
        ),
    }
)
DIGITS = 4  # attention weights are saved rounded: 1e-4 is far below what a heatmap shows


def snapshot_steps(steps: int, n: int) -> list[int]:
    """Step 0 and `n` evenly spaced steps up to the last (where training photographs the probe)."""
    return sorted({0, *(max(1, round(steps * i / n)) for i in range(1, n + 1))})


def repeat_half(tokens: list) -> int | None:
    """h if `tokens` is a sequence of h tokens said twice (an induction probe), else None."""
    n = len(tokens)
    h = n // 2
    return h if n >= 4 and n % 2 == 0 and list(tokens[:h]) == list(tokens[h:]) else None


def induction_scores(patterns: np.ndarray, half: int) -> np.ndarray:
    """(..., L, H) mean attention from each second-copy token to the token after its first copy
    (the standard induction score, interpret.head_scores) on a probe said twice, from attention
    patterns (..., L, H, T, T)."""
    queries = np.arange(half, 2 * half - 1)
    return patterns[..., queries, queries - half + 1].mean(-1)


def best_induction_score(pattern: np.ndarray, half: int) -> float:
    """The best head's induction score in layers 1 and up (layer 0 alone for a 1-layer model):
    an induction head needs an earlier layer's previous-token head, so layer 1 is where it forms."""
    scores = induction_scores(pattern, half)  # (L, H)
    return float(scores[1:].max() if len(scores) > 1 else scores.max())


@dataclass
class TrainingHistory:
    """What a run recorded. patterns: (S, L, H, T, T) float32, one (L, H, T, T) per snapshot step.

    score_steps / scores: the probe's best induction score measured more often than the
    snapshots while a run trains (the Train tab's live line); not saved in history.json, where the
    snapshots give the same line at their steps (`induction_line`)."""

    probe: str
    tokens: list[str]  # display form of the probe's tokens (heatmap labels)
    steps: list[int]  # snapshot steps, increasing; 0 = before training
    patterns: np.ndarray
    loss_steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    score_steps: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def repeat_half(self) -> int | None:
        """h if the probe's tokens are a sequence of h tokens said twice (an induction probe)."""
        return repeat_half(self.tokens)

    def induction_scores(self) -> np.ndarray | None:
        """(S, L, H) induction score of every head at each snapshot; None if the probe is not a
        repeated sequence."""
        h = self.repeat_half()
        return None if h is None or not self.steps else induction_scores(self.patterns, h)

    def induction_line(self) -> tuple[list[int], list[float]] | None:
        """(steps, best induction score at each): the live measurements when the run took them,
        else the snapshots'; None when the probe is not a sequence said twice."""
        if self.score_steps:
            return list(self.score_steps), list(self.scores)
        h = self.repeat_half()
        if h is None or not self.steps:
            return None
        return list(self.steps), [best_induction_score(p, h) for p in self.patterns]


class HistoryRecorder:
    """Collects a history from training.train_steps' StepStats, one call per step."""

    def __init__(self, probe: str, tokens: list[str]) -> None:
        self.probe, self.tokens = probe, tokens
        self.snapshots: dict[int, np.ndarray] = {}
        self.loss_steps: list[int] = []
        self.losses: list[float] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
        self.score_steps: list[int] = []
        self.scores: list[float] = []

    def record(self, stats) -> None:
        self.loss_steps.append(stats.step)
        self.losses.append(float(stats.loss))
        if stats.val_loss is not None:
            self.val_steps.append(stats.step)
            self.val_losses.append(float(stats.val_loss))
        self.snapshots.update(stats.snapshots)

    def record_score(self, step: int, score: float) -> None:
        """The probe's best induction score after `step` (TrainingRun measures it)."""
        self.score_steps.append(step)
        self.scores.append(score)

    def history(self) -> TrainingHistory:
        steps = sorted(self.snapshots)
        patterns = np.stack([self.snapshots[s] for s in steps]).astype(np.float32) if steps else np.zeros((0,))
        keep = _thin_indices(len(self.losses), MAX_LOSS_POINTS)
        return TrainingHistory(
            self.probe, self.tokens, steps, patterns,
            [self.loss_steps[i] for i in keep], [self.losses[i] for i in keep],
            list(self.val_steps), list(self.val_losses), list(self.score_steps), list(self.scores))


def _thin_indices(n: int, limit: int) -> list[int]:
    if n <= limit:
        return list(range(n))
    return sorted({round(i * (n - 1) / (limit - 1)) for i in range(limit)})


def save_history(folder, history: TrainingHistory) -> Path:
    """Write `history.json` into a checkpoint folder; returns its path."""
    _check(history)
    data = {
        "probe": history.probe,
        "tokens": history.tokens,
        "steps": history.steps,
        "patterns": np.round(history.patterns.astype(np.float64), DIGITS).tolist(),
        "loss_steps": history.loss_steps,
        "losses": [round(x, 5) for x in history.losses],
        "val_steps": history.val_steps,
        "val_losses": [round(x, 5) for x in history.val_losses],
    }
    path = Path(folder) / HISTORY_FILE
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    if len(text.encode("utf-8")) > MAX_HISTORY_BYTES:
        raise CheckpointError(
            "history.too_large", size=human_size(len(text.encode())), limit=human_size(MAX_HISTORY_BYTES)
        )
    path.write_text(text, encoding="utf-8")
    return path


def load_history(folder, n_layers: int | None = None, n_heads: int | None = None) -> TrainingHistory | None:
    """The folder's history, or None when it has none. Checked against the model's layers/heads."""
    path = Path(folder) / HISTORY_FILE
    if not path.is_file():
        return None
    check_file_size(path, MAX_HISTORY_BYTES)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise CheckpointError("checkpoint.bad_json", name=HISTORY_FILE, detail=str(err)) from None
    if not isinstance(data, dict):
        raise CheckpointError("checkpoint.json_not_object", name=HISTORY_FILE, type=type(data).__name__)
    try:
        history = TrainingHistory(
            probe=_typed(data, "probe", str),
            tokens=_list_of(data, "tokens", str),
            steps=_list_of(data, "steps", int),
            patterns=np.asarray(_typed(data, "patterns", list), dtype=np.float32),
            loss_steps=_list_of(data, "loss_steps", int),
            losses=_list_of(data, "losses", (int, float)),
            val_steps=_list_of(data, "val_steps", int),
            val_losses=_list_of(data, "val_losses", (int, float)),
        )
    except (ValueError, TypeError) as err:  # ragged or non-numeric nested lists
        raise CheckpointError("history.unreadable", detail=str(err)) from None
    _check(history, n_layers, n_heads)
    return history


def _kind_label(kind) -> Label:
    return Label(
        {str: "history.kind_text", list: "history.kind_list", int: "history.kind_int"}.get(kind, "history.kind_number")
    )


def _typed(data: dict, key: str, kind):
    if key not in data:
        raise CheckpointError("history.missing_key", key=repr(key))
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise CheckpointError(
            "history.wrong_type", key=repr(key), expected=_kind_label(kind), type=type(value).__name__
        )
    return value


def _list_of(data: dict, key: str, kind) -> list:
    values = _typed(data, key, list)
    if any(isinstance(v, bool) or not isinstance(v, kind) for v in values):
        raise CheckpointError("history.wrong_item_type", key=repr(key), expected=_kind_label(kind))
    return values


def _check(h: TrainingHistory, n_layers: int | None = None, n_heads: int | None = None) -> None:
    """Shapes agree, steps increase, probabilities are probabilities, curves are finite."""
    n_tokens = len(h.tokens)
    if not 1 <= n_tokens <= MAX_PROBE_TOKENS:
        raise CheckpointError("history.probe_length", limit=MAX_PROBE_TOKENS, n=n_tokens)
    if not 1 <= len(h.steps) <= MAX_SNAPSHOTS:
        raise CheckpointError("history.snapshots", limit=MAX_SNAPSHOTS, n=len(h.steps))
    _check_increasing("steps", h.steps)
    shape = h.patterns.shape
    expected = (
        len(h.steps),
        n_layers or (shape[1] if len(shape) == 5 else 0),
        n_heads or (shape[2] if len(shape) == 5 else 0),
        n_tokens,
        n_tokens,
    )
    if shape != expected:
        raise CheckpointError("history.patterns_shape", shape=str(shape), expected=str(expected))
    if not np.isfinite(h.patterns).all() or h.patterns.min() < 0 or h.patterns.max() > 1:
        raise CheckpointError("history.weights")
    for steps_key, values_key in (("loss_steps", "losses"), ("val_steps", "val_losses")):
        steps, values = getattr(h, steps_key), getattr(h, values_key)
        if len(steps) != len(values) or len(steps) > MAX_LOSS_POINTS:
            raise CheckpointError("history.curve_length", steps=steps_key, values=values_key, limit=MAX_LOSS_POINTS)
        _check_increasing(steps_key, steps)
        if not all(math.isfinite(v) for v in values):
            raise CheckpointError("history.not_finite", values=values_key)


def _check_increasing(name: str, steps: Iterable[int]) -> None:
    steps = list(steps)
    if any(s < 0 for s in steps) or any(b <= a for a, b in zip(steps, steps[1:])):
        raise CheckpointError("history.not_increasing", name=name)
