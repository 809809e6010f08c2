"""Optional fused CPU kernels (kernels.c), compiled on first use, with PyTorch as the fallback.

Why: profiling a training step showed PyTorch's tanh-GELU kernel at 14% of the time (it is
~5x slower than PyTorch's own erf GELU). `gelu_tanh(x)` computes the same function in one
vectorised pass per direction. The C file is built once per machine with the system C
compiler into a cache folder and loaded with ctypes; no compiler, a failed build, or
`PLAYGROUND_KERNELS=0` simply means PyTorch's `F.gelu(x, approximate="tanh")` is used, so
nothing depends on this module working. `status()` says which path is active and why.

Values agree with the exact function to float32 rounding (a few 1e-7; PyTorch's own kernel is
off by up to 1e-6 in the gradient), not bit for bit with PyTorch. Every freshly loaded library
first passes `self_check` on a dense grid of inputs against a float64 reference; a processor
whose vector path fails it (another libm, another vector width) gets PyTorch's kernel instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import math
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


def _build(compiler: str, target: Path, extra_flags: tuple[str, ...] = ()) -> None:
    """Compile to a temporary name, then rename: concurrent first uses never see half a file.
    `extra_flags` (tests): e.g. `-mno-avx512f` builds the AVX2 path on an AVX-512 machine.

    Processes starting together (torchrun's ranks, several app workers) queue on a lock file,
    so one compiles and the others load its result instead of compiling the same file again."""
    import fcntl  # Unix only, like this whole path (see _load); imported here so Windows imports the module

    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if we crash
        if not target.exists():  # another process built it while we waited
            _compile(compiler, target, extra_flags)


def _compile(compiler: str, target: Path, extra_flags: tuple[str, ...]) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        obj, out = Path(tmp) / "kernels.o", Path(tmp) / target.name
        subprocess.run([compiler, *COMPILE_FLAGS, *extra_flags, "-c", str(SOURCE), "-o", str(obj)],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([compiler, *LINK_FLAGS, str(obj), "-o", str(out), "-lm"],
                       check=True, capture_output=True, timeout=120)
        os.replace(out, target)


def open_library(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    for name, n_tensors in (("gelu_tanh_forward", 2), ("gelu_tanh_backward", 3)):
        getattr(lib, name).argtypes = [ctypes.c_void_p] * n_tensors + [ctypes.c_long]
        getattr(lib, name).restype = None
    return lib


def build_variant(folder: Path, extra_flags: tuple[str, ...]) -> ctypes.CDLL:
    """A library built with extra compiler flags into `folder` (tests cover each vector path)."""
    compiler = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise OSError("no C compiler")
    target = Path(folder) / f"kernels-{hashlib.sha256(' '.join(extra_flags).encode()).hexdigest()[:12]}.so"
    _build(compiler, target, extra_flags)
    return open_library(target)


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
            lib = open_library(path)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or str(exc).encode()
            _status = f"off: build failed ({detail.decode(errors='replace').strip()[:200]}); using PyTorch's kernels"
            return None
        problem = self_check(lib)
        if problem:
            _status = f"off: self-check failed on this processor ({problem}); using PyTorch's kernels"
            return None
        _lib, _status = lib, f"on: {path}"
        return _lib


# ---------------------------------------------------------------- correctness, checked on load

# Allowed error against the float64 function: a few float32 ulps (ulp(1) = 1.2e-7).
FORWARD_TOLERANCE = 4e-7  # relative to max(|gelu(x)|, 1)
GRADIENT_TOLERANCE = 5e-7  # absolute; gelu' lies in [-0.17, 1.13]


def dense_inputs(n: int = 1 << 16, limit: float = 60.0) -> torch.Tensor:
    """An evenly spaced grid over [-limit, limit] (both saturated ends and the curved middle),
    plus special values: zeros, tiny and denormal inputs, the edges of the saturated regions,
    and inputs whose cube overflows float32."""
    grid = torch.linspace(-limit, limit, n, dtype=torch.float64)
    edges = [sign * (edge + step) for sign in (1, -1) for edge in (9.0, 10.0) for step in (-1e-6, 0.0, 1e-6)]
    special = [0.0, -0.0, 1e-30, -1e-30, 1e-45, -1e-45, *edges, 88.7, -88.7, 1e4, -1e4, 1e13, -1e13, 3.4e38, -3.4e38]
    return torch.cat([grid, torch.tensor(special, dtype=torch.float64)]).float()


def reference(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """gelu(x) and gelu'(x) in float64, written so nothing cancels or overflows: s = sigmoid(2z)
    and s(1 - s) from e = exp(-2|z|) <= 1; beyond |x| = 1e6 the exact limits x, 0 and 1, 0."""
    x = x.double()
    c = x.clamp(-1e6, 1e6)
    k = math.sqrt(2 / math.pi)
    two_z = 2 * k * (c + 0.044715 * c**3)
    e = torch.exp(-two_z.abs())
    s = torch.where(two_z >= 0, 1 / (1 + e), e / (1 + e))
    s_one_minus_s = e / (1 + e) ** 2
    y = torch.where(x.abs() > 1e6, x.clamp_min(0), c * s)
    slope = s + c * s_one_minus_s * 2 * k * (1 + 3 * 0.044715 * c**2)
    slope = torch.where(x.abs() > 1e6, (x > 0).double(), slope)
    return y, slope


def run_forward(lib: ctypes.CDLL, x: torch.Tensor) -> torch.Tensor:
    y = torch.empty_like(x)
    lib.gelu_tanh_forward(x.data_ptr(), y.data_ptr(), x.numel())
    return y


def run_backward(lib: ctypes.CDLL, dy: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    dx = torch.empty_like(x)
    lib.gelu_tanh_backward(dy.data_ptr(), x.data_ptr(), dx.data_ptr(), x.numel())
    return dx


def errors(lib: ctypes.CDLL, x: torch.Tensor) -> tuple[float, float]:
    """The library's largest forward (relative to max(|y|, 1)) and gradient (absolute) errors
    on `x` (float32, contiguous) against `reference`."""
    y_true, slope_true = reference(x)
    y = run_forward(lib, x).double()
    slope = run_backward(lib, torch.ones_like(x), x).double()
    y_err = torch.where(y == y_true, 0.0, (y - y_true).abs() / y_true.abs().clamp_min(1))
    slope_err = torch.where(slope == slope_true, 0.0, (slope - slope_true).abs())
    worst = lambda err: torch.nan_to_num(err, nan=math.inf).max().item()  # noqa: E731 - NaN is the worst
    return worst(y_err), worst(slope_err)


def self_check(lib: ctypes.CDLL) -> str | None:
    """None if the library is right to float32 rounding on `dense_inputs()`, else what is wrong."""
    y_err, slope_err = errors(lib, dense_inputs())
    if y_err > FORWARD_TOLERANCE or slope_err > GRADIENT_TOLERANCE:
        return f"largest error {y_err:.2g} in gelu, {slope_err:.2g} in its gradient"
    return None


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
        ctx.save_for_backward(x)
        return run_forward(_load(), x)

    @staticmethod
    def backward(ctx, dy: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return run_backward(_load(), dy.contiguous(), x)


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU, `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, fused when possible."""
    if not _disabled and _fits(x) and _load() is not None:
        return _GeluTanh.apply(x)
    return F.gelu(x, approximate="tanh")
