"""Optional fused CPU kernels (kernels.c), compiled on first use, with PyTorch as the fallback.

Why: profiling a training step showed PyTorch's tanh-GELU kernel at 14% of the time (it is
~5x slower than PyTorch's own erf GELU). `gelu_tanh(x)` computes the same function in one
vectorised pass per direction. The C file is built once per machine with the system C
compiler into a cache folder and loaded with ctypes; no compiler, a failed build, or
`PLAYGROUND_KERNELS=0` simply means PyTorch's `F.gelu(x, approximate="tanh")` is used, so
nothing depends on this module working. `status()` says which path is active and why.

Values agree with PyTorch's to float32 rounding (a few 1e-7), not bit for bit.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import torch
import torch.nn.functional as F

SOURCE = Path(__file__).with_name("kernels.c")
COMPILE_FLAGS = ["-O3", "-march=native", "-ffast-math", "-fopenmp", "-fPIC"]
# Linked in a separate step *without* -ffast-math: given at link time, GCC adds crtfastmath.o,
# whose constructor switches the loading thread to flush-denormals-to-zero — a silent change to
# every later float computation in that thread (numpy, torch), caught by Hypothesis in our tests.
LINK_FLAGS = ["-shared", "-fopenmp"]
_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_status: str | None = None
_disabled = False


def cache_dir() -> Path:
    """Where the built library lives: $PLAYGROUND_CACHE, else $XDG_CACHE_HOME or ~/.cache."""
    if os.environ.get("PLAYGROUND_CACHE"):
        return Path(os.environ["PLAYGROUND_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "transformer-playground"


def _library_path(compiler: str) -> Path:
    """One file per (source, flags, compiler, CPU) so a changed source or machine rebuilds."""
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), " ".join(COMPILE_FLAGS + LINK_FLAGS).encode(), compiler.encode(),
                 platform.machine().encode(), _cpu_flags().encode()):
        key.update(part)
    return cache_dir() / f"kernels-{key.hexdigest()[:16]}.so"


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return ""


def _build(compiler: str, target: Path) -> None:
    """Compile to a temporary name, then rename: concurrent first uses never see half a file.

    Processes starting together (torchrun's ranks, several app workers) queue on a lock file,
    so one compiles and the others load its result instead of compiling the same file again."""
    import fcntl  # Unix only, like this whole path (see _load); imported here so Windows imports the module

    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if we crash
        if not target.exists():  # another process built it while we waited
            _compile(compiler, target)


def _compile(compiler: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        obj, out = Path(tmp) / "kernels.o", Path(tmp) / target.name
        subprocess.run([compiler, *COMPILE_FLAGS, "-c", str(SOURCE), "-o", str(obj)],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([compiler, *LINK_FLAGS, str(obj), "-o", str(out), "-lm"],
                       check=True, capture_output=True, timeout=120)
        os.replace(out, target)


def _load() -> ctypes.CDLL | None:
    """The compiled library, building it if needed; None (with `_status` saying why) if not."""
    global _lib, _status
    with _lock:
        if _status is not None:
            return _lib
        if os.environ.get("PLAYGROUND_KERNELS", "1") == "0":
            _status = "off: PLAYGROUND_KERNELS=0, using PyTorch's kernels"
            return None
        compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
        if sys.platform != "linux" or compiler is None:
            _status = "off: needs Linux and a C compiler (gcc); using PyTorch's kernels"
            return None
        try:
            path = _library_path(compiler)
            if not path.exists():
                _build(compiler, path)
            lib = ctypes.CDLL(str(path))
            for name, n_tensors in (("gelu_tanh_forward", 2), ("gelu_tanh_backward", 3)):
                getattr(lib, name).argtypes = [ctypes.c_void_p] * n_tensors + [ctypes.c_long]
                getattr(lib, name).restype = None
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or str(exc).encode()
            _status = f"off: build failed ({detail.decode(errors='replace').strip()[:200]}); using PyTorch's kernels"
            return None
        _lib, _status = lib, f"on: {path}"
        return _lib


def status() -> str:
    """'on: <library path>' or 'off: <reason>' — for benchmarks and bug reports."""
    _load()
    assert _status is not None
    return _status


@contextlib.contextmanager
def disabled():
    """PyTorch's kernels inside this block, process-wide: for benchmarks and tests that compare."""
    global _disabled
    before, _disabled = _disabled, True
    try:
        yield
    finally:
        _disabled = before


def _fits(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype == torch.float32 and x.is_contiguous()


class _GeluTanh(torch.autograd.Function):
    """Autograd wrapper: saves x (as PyTorch does) and recomputes the sigmoid in backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        lib = _load()
        y = torch.empty_like(x)
        lib.gelu_tanh_forward(x.data_ptr(), y.data_ptr(), x.numel())
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, dy: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        dy = dy.contiguous()
        dx = torch.empty_like(x)
        _load().gelu_tanh_backward(dy.data_ptr(), x.data_ptr(), dx.data_ptr(), x.numel())
        return dx


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU, `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, fused when possible."""
    if not _disabled and _fits(x) and _load() is not None:
        return _GeluTanh.apply(x)
    return F.gelu(x, approximate="tanh")
