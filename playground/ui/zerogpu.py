"""Hugging Face ZeroGPU Spaces: GPU work under `@spaces.GPU`, and nothing different elsewhere.

On a ZeroGPU Space the app's process has no GPU of its own. A function decorated with
`spaces.GPU(duration=...)` is run, when called, in a worker process that holds a GPU for at
most `duration` seconds; its arguments and results travel between the processes by pickle.
So on ZeroGPU:

- models stay on the CPU in the app's process (`configure()` makes `auto` mean cpu there), where
  the small inspection tabs are fast anyway;
- the GPU-heavy work — training, generation, inspecting a Hub model — is a decorated function
  (`gpu(duration)`) that moves its model to `device()` (the worker's GPU) and returns plain
  CPU results (numbers, numpy arrays, a CPU copy of a trained model).

Elsewhere (`spaces` not installed, or installed but not on ZeroGPU) `gpu` returns the function
itself, `device()` is the PLAYGROUND_DEVICE setting and `configure()` does nothing. `spaces` is
imported only when the SPACES_ZERO_GPU environment variable says ZeroGPU (Hugging Face sets it
and preinstalls the package on ZeroGPU hardware), so it is not in requirements.txt.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import torch

from .. import device as devices

ENV = "SPACES_ZERO_GPU"


def _spaces() -> Any | None:
    """The `spaces` module when this process runs on ZeroGPU, else None."""
    flag = os.environ.get(ENV, "").strip().lower() in ("1", "t", "true")
    module = sys.modules.get("spaces")
    if module is None and flag:
        try:
            module = importlib.import_module("spaces")
        except ImportError:
            return None
    if module is None:
        return None
    config = getattr(getattr(module, "config", None), "Config", None)
    return module if (flag or bool(getattr(config, "zero_gpu", False))) else None


def active() -> bool:
    """True on a ZeroGPU Space."""
    return _spaces() is not None


def gpu(duration: int) -> Callable[[Callable], Callable]:
    """`@spaces.GPU(duration=duration)` on ZeroGPU; elsewhere the function is returned unchanged.

    `duration` (seconds) is the most the call may hold the GPU; ZeroGPU schedules (and counts
    against a visitor's quota) by it, so it is sized to the work, not generously. The chosen
    duration is kept on the function as `zerogpu_duration` (tests, docs)."""

    def wrap(fn: Callable) -> Callable:
        fn.zerogpu_duration = duration
        spaces = _spaces()
        if spaces is None:
            return fn
        wrapped = spaces.GPU(duration=duration)(fn)
        try:
            wrapped.zerogpu_duration = duration
        except AttributeError:  # pragma: no cover - a wrapper that takes no attributes
            pass
        return wrapped

    return wrap


def device() -> torch.device:
    """Where GPU-decorated work computes: the worker's GPU on ZeroGPU, else the device setting."""
    return torch.device("cuda") if active() else devices.resolve()


def to_cpu_if_crossing(model: torch.nn.Module) -> torch.nn.Module:
    """A model about to leave a ZeroGPU worker travels as a CPU copy (the app's process has no
    GPU); elsewhere the model itself, unchanged and uncopied."""
    if not active():
        return model
    import copy

    return copy.deepcopy(model).cpu()


def configure() -> None:
    """On ZeroGPU, `auto` means cpu in the app's process (spaces makes CUDA *look* available
    there, but only decorated functions may use it); an explicit PLAYGROUND_DEVICE wins."""
    if active() and not os.environ.get(devices.ENV):
        devices.use("cpu")
