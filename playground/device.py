"""Which device the playground computes on: one setting, `PLAYGROUND_DEVICE` (CLI `--device`).

`auto` (the default) takes CUDA if PyTorch sees a GPU, else Apple's MPS, else the CPU; `cpu`,
`cuda` and `mps` ask for one. Code never picks a device itself: a model is put on `resolve()`
once (when loaded or created) and every tensor made later follows the model (`device_of`), so
the same code runs on a laptop CPU, a GPU Space or a Mac. Only torch and the standard library.
"""

from __future__ import annotations

import contextlib
import os

import torch

from .errors import Label, PlaygroundError, register

ENV = "PLAYGROUND_DEVICE"
CHOICES = ("auto", "cpu", "cuda", "mps")

_chosen: str | None = None  # set by `use` (the CLI's --device); wins over the environment


class DeviceError(PlaygroundError):
    """The device setting names no device, or one this machine does not have."""


register({
    "device.setting": ("PLAYGROUND_DEVICE / --device", "PLAYGROUND_DEVICE / --device"),
    "device.cuda": ("a CUDA GPU (PyTorch sees none)", "CUDA GPU（PyTorch 没有找到）"),
    "device.mps": ("Apple MPS", "Apple MPS"),
    "device.unavailable": (
        "device {device!r} was asked for but {what} is not available on this machine; use auto or cpu",
        "要求使用 {device!r}，但这台机器上没有 {what}；请用 auto 或 cpu",
    ),
})


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def check(name: str) -> str:
    """`name` lower-cased if it is one of CHOICES; a DeviceError listing them otherwise."""
    value = str(name).strip().lower()
    if value not in CHOICES:  # quote what was typed, not its lower-cased form
        raise DeviceError("choice.one_of", field="device.setting", choices=", ".join(CHOICES), got=repr(name))
    return value


def use(name: str | None) -> None:
    """Make `name` the setting for this process (None: back to the environment / auto)."""
    global _chosen
    _chosen = None if name is None else check(name)


def setting() -> str:
    """The setting in force: `use(...)`, else $PLAYGROUND_DEVICE, else 'auto' (validated)."""
    return _chosen or check(os.environ.get(ENV) or "auto")


def resolve(name: str | None = None) -> torch.device:
    """The device `name` (default: `setting()`) means on this machine.

    auto: cuda, then mps, then cpu. Asking for cuda/mps on a machine without it is an error,
    not a silent CPU run, so a GPU job never crawls unnoticed."""
    value = check(name) if name is not None else setting()
    if value == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if value == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device.unavailable", device=value, what=Label("device.cuda"))
    if value == "mps" and not _mps_available():
        raise DeviceError("device.unavailable", device=value, what=Label("device.mps"))
    return torch.device(value)


def device_of(module: torch.nn.Module) -> torch.device:
    """Where a module's parameters live (the CPU for a module without any)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def autocast(device: torch.device | str):
    """bfloat16 autocast on a CUDA GPU with native bf16 (Ampere and later: tensor cores, half
    the activation memory; weights, optimizer state and the loss stay float32); a no-op
    elsewhere — on the CPU, MPS and older GPUs (T4, V100) bf16 is emulated or slower."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def describe(device: torch.device | str | None = None) -> str:
    """'cuda (NVIDIA H200)', 'mps', 'cpu' — for logs, cards and benchmark reports."""
    device = torch.device(device) if device is not None else resolve()
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
