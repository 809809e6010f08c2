"""A run's wall-time limit and Stop flag, checked between pieces of work.

Why: for the person who pressed Start, preparing the data (building the corpus, training a
tokenizer, encoding the text) and training the model are one run. On a shared server that run
holds the only training slot, so the time limit must count from Start, and Stop (or a closed
browser tab) must end the preparation too, not only the training steps. Library code that does
long work takes a `check` callable and calls it between bounded pieces; `RunBudget.check` raises
`RunStopped` or `RunTimeUp` (keyed errors, worded in English and 中文).

    budget = RunBudget(300, stop_event)
    data = prepare_data("my text", "bpe", 2048, text=text, check=budget.check)
    for stats in train_steps(...):
        if budget.expired(): break
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import Label, PlaygroundError, register

register({
    "run.stopped": (
        "the run was stopped while {stage}; nothing was trained",
        "运行在{stage}时被停止；没有训练任何东西",
    ),
    "run.time_up": (
        "the run reached its limit of {seconds} seconds while {stage} (preparation counts toward the "
        "limit); use a shorter text, a smaller vocabulary or a built-in corpus",
        "运行在{stage}时达到了 {seconds} 秒的上限（准备数据也计入上限）；请使用更短的文本、更小的词表或内置语料",
    ),
    "run.stage_preparing": ("preparing the data", "准备数据"),
    "run.stage_training": ("training", "训练"),
})


class RunStopped(PlaygroundError):
    """Stop was pressed (or the client went away) before the work finished."""

    def __init__(self, stage: str = "run.stage_preparing") -> None:
        super().__init__("run.stopped", stage=Label(stage))


class RunTimeUp(PlaygroundError):
    """The run's wall-time limit passed before the work finished."""

    def __init__(self, seconds: float, stage: str = "run.stage_preparing") -> None:
        super().__init__("run.time_up", seconds=seconds, stage=Label(stage))


class RunBudget:
    """Wall time from construction (`seconds`, None = no limit) and a stop flag (an Event or a
    callable returning True to stop). Thread-safe: a worker checks, the UI thread stops."""

    def __init__(self, seconds: float | None, stop: threading.Event | Callable[[], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._stop = stop if stop is not None else threading.Event()
        self._clock = clock
        self.start = clock()

    def elapsed(self) -> float:
        return self._clock() - self.start

    def expired(self) -> bool:
        return self.seconds is not None and self.elapsed() > self.seconds

    def stopped(self) -> bool:
        stop = self._stop
        return stop.is_set() if isinstance(stop, threading.Event) else bool(stop())

    def stop(self) -> None:
        """Ask the work to stop at its next check (only when the flag is an Event)."""
        if isinstance(self._stop, threading.Event):
            self._stop.set()

    def check(self, stage: str = "run.stage_preparing") -> None:
        """Raise RunStopped / RunTimeUp if the run must end now; otherwise return at once."""
        if self.stopped():
            raise RunStopped(stage)
        if self.expired():
            raise RunTimeUp(self.seconds, stage)
