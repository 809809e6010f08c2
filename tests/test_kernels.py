"""The fused C kernels equal PyTorch's maths, and every way they can be unavailable falls back."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from playground import kernels
from playground.config import ModelConfig, TrainConfig
from playground.training import train_steps


@pytest.fixture
def fresh_kernels(monkeypatch, tmp_path):
    """A kernels module that has not tried to load yet, building into tmp_path."""
    monkeypatch.setattr(kernels, "_lib", None)
    monkeypatch.setattr(kernels, "_status", None)
    monkeypatch.setenv("PLAYGROUND_CACHE", str(tmp_path))
    return tmp_path


def test_kernels_are_on_in_ci():
    """CI has gcc: a silent fallback there would leave the fast path untested."""
    if not os.environ.get("CI") and not kernels.status().startswith("on"):
        pytest.skip(f"kernels unavailable here: {kernels.status()}")
    assert kernels.status().startswith("on"), kernels.status()


def test_forward_and_gradient_match_pytorch_tanh_gelu():
    torch.manual_seed(0)
    x = (torch.randn(300, 517) * 4).requires_grad_()  # odd size: exercises the loop tail
    x.data[0, :6] = torch.tensor([0.0, -30.0, 30.0, -1e4, 1e4, 1e-30])  # saturated and tiny inputs
    reference = x.detach().clone().requires_grad_()
    dy = torch.randn(300, 517)
    y, y_ref = kernels.gelu_tanh(x), F.gelu(reference, approximate="tanh")
    assert torch.allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    y.backward(dy)
    y_ref.backward(dy)
    assert torch.allclose(x.grad, reference.grad, rtol=1e-4, atol=1e-5)
    assert torch.isfinite(x.grad).all()


# Each vector path GCC can take on x86, built on purpose: -march=native alone would test only
# this machine's. A path the processor cannot run is skipped (CI on AVX-512 and AVX2 machines
# covers both).
VARIANTS = {
    "native": ((), None),
    "avx512": (("-mavx512f", "-mprefer-vector-width=512"), "avx512f"),
    "avx2": (("-mno-avx512f",), "avx2"),
    "sse": (("-mno-avx", "-mno-avx2", "-mno-avx512f"), None),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_vector_path_is_exact_to_float32_rounding_on_a_dense_grid(variant, tmp_path):
    """Every float32 step of 2^-14 over [-60, 60] (1.97 M inputs: both saturated regions and
    the curve between) plus special values, forward and gradient, against the float64 function."""
    flags, cpu_flag = VARIANTS[variant]
    if cpu_flag is not None and cpu_flag not in kernels._cpu_flags().split():
        pytest.skip(f"this processor has no {cpu_flag}")
    if variant != "native" and not kernels._cpu_flags():
        pytest.skip("not an x86 Linux machine")
    try:
        lib = kernels.build_variant(tmp_path, flags)
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"cannot build here: {err}")
    x = torch.cat([torch.arange(-60 * 2**14, 60 * 2**14 + 1) / 2**14, kernels.dense_inputs(n=2)]).float()
    y_err, slope_err = kernels.errors(lib, x)
    assert y_err <= kernels.FORWARD_TOLERANCE and slope_err <= kernels.GRADIENT_TOLERANCE, (y_err, slope_err)
    # and the same values as PyTorch's kernel, which is itself off by up to ~1e-6 in the gradient
    finite = x.abs() < 1e6  # beyond, PyTorch's x^3 overflows and its gradient is NaN; ours is 1 or 0
    x = x[finite].contiguous()
    x_torch = x.clone().requires_grad_()
    y_torch = F.gelu(x_torch, approximate="tanh")
    y_torch.sum().backward()
    assert torch.allclose(kernels.run_forward(lib, x), y_torch.detach(), rtol=4e-7, atol=4e-7)
    assert torch.allclose(kernels.run_backward(lib, torch.ones_like(x), x), x_torch.grad, rtol=0, atol=1.5e-6)


def test_saturated_inputs_give_exact_values():
    if not kernels.status().startswith("on"):
        pytest.skip(kernels.status())
    x = torch.tensor([9.5, 12.0, 40.0, 1e4, 3e38, -9.5, -12.0, -40.0, -1e4, -3e38]).requires_grad_()
    y = kernels.gelu_tanh(x)
    y.backward(torch.full_like(x, 0.5))
    assert y.tolist() == [9.5, 12.0, 40.0, 1e4, x[4].item(), 0, 0, 0, 0, 0]
    assert x.grad.tolist() == [0.5] * 5 + [0.0] * 5


def test_a_library_that_fails_its_self_check_is_not_used(fresh_kernels, monkeypatch):
    """A processor whose vector maths is off (simulated: a reference that disagrees) gets PyTorch's kernel."""
    true_reference = kernels.reference
    monkeypatch.setattr(kernels, "reference", lambda x: tuple(t + 1e-3 for t in true_reference(x)))
    status = kernels.status()
    if "build failed" in status or "needs Linux" in status:
        pytest.skip(status)
    assert status.startswith("off: self-check failed on this processor"), status
    x = torch.randn(50)
    assert torch.equal(kernels.gelu_tanh(x), F.gelu(x, approximate="tanh"))


def test_small_tensors_and_no_grad_work():
    x = torch.linspace(-5, 5, 7)
    with torch.no_grad():
        assert torch.allclose(kernels.gelu_tanh(x), F.gelu(x, approximate="tanh"), atol=1e-6)
    assert kernels.gelu_tanh(torch.empty(0)).shape == (0,)


def test_inputs_the_kernel_does_not_take_use_pytorch():
    """float64 (gradcheck), non-contiguous views: PyTorch's own kernel, same values."""
    x = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(kernels.gelu_tanh, (x,))
    view = torch.randn(8, 6).t()
    assert torch.allclose(kernels.gelu_tanh(view), F.gelu(view, approximate="tanh"))


def test_switched_off_by_environment(fresh_kernels, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_KERNELS", "0")
    assert kernels.status().startswith("off: PLAYGROUND_KERNELS=0")
    x = torch.randn(4, 4)
    assert torch.equal(kernels.gelu_tanh(x), F.gelu(x, approximate="tanh"))


def test_failed_build_falls_back_with_the_compiler_message(fresh_kernels, monkeypatch, tmp_path):
    fake = tmp_path / "broken-cc"
    fake.write_text("#!/bin/sh\necho 'fatal: no such compiler feature' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    assert "build failed (fatal: no such compiler feature)" in kernels.status()
    x = torch.randn(3, 3)
    assert torch.equal(kernels.gelu_tanh(x), F.gelu(x, approximate="tanh"))
    assert not list(tmp_path.glob("kernels-*.so")), "a failed build must not leave a library behind"


def test_loading_the_kernels_keeps_denormal_floats(tmp_path):
    """A -ffast-math link would set flush-to-zero for the thread that loads the library, so
    1e-39 (a denormal float32) would silently become 0 in numpy and torch afterwards."""
    check = (
        "import numpy as np, torch\n"
        "from playground import kernels\n"
        "status = kernels.status()\n"
        "kernels.gelu_tanh(torch.randn(8))\n"
        "assert np.float32(1e-38) / np.float32(10) > 0, 'numpy flushed a denormal to zero'\n"
        "assert (torch.tensor(1e-38) / 10).item() > 0, 'torch flushed a denormal to zero'\n"
        "print(status)\n"
    )
    env = {**os.environ, "PLAYGROUND_CACHE": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr
    if os.environ.get("CI"):
        assert run.stdout.startswith("on"), run.stdout


def test_build_is_cached_per_source(fresh_kernels):
    if not kernels.status().startswith("on"):
        pytest.skip(kernels.status())
    built = list(fresh_kernels.glob("kernels-*.so"))
    assert len(built) == 1
    kernels._status, kernels._lib = None, None  # a second process would reuse the file
    mtime = built[0].stat().st_mtime_ns
    assert kernels.status() == f"on: {built[0]}"
    assert built[0].stat().st_mtime_ns == mtime


def test_training_losses_agree_with_and_without_kernels(fresh_kernels, monkeypatch):
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=32, n_ctx=16, d_vocab=20)
    tc = TrainConfig(steps=15, batch_size=4, lr=3e-3, warmup_steps=2, seed=0, optimizer="adamw",
                     precision="float32")  # the kernel is float32; Muon's bf16 Newton-Schulz would amplify its rounding
    data = torch.arange(2000) % 20  # each token predicts the next: learnable in a few steps
    fast = [s.loss for s in train_steps(cfg, tc, data)]
    with kernels.disabled():
        plain = [s.loss for s in train_steps(cfg, tc, data)]
    assert fast[-1] < fast[0] - 0.1, "the model learned"
    assert max(abs(a - b) for a, b in zip(fast, plain)) < 1e-4


def test_disabled_block_uses_pytorch_and_restores(monkeypatch):
    calls = []
    monkeypatch.setattr(kernels._GeluTanh, "apply", lambda x: calls.append(x) or x)
    x = torch.randn(5)
    with kernels.disabled():
        assert torch.equal(kernels.gelu_tanh(x), F.gelu(x, approximate="tanh"))
    assert calls == []
    kernels.gelu_tanh(x)
    assert len(calls) == (1 if kernels.status().startswith("on") else 0)


def test_processes_starting_together_build_the_library_once(tmp_path):
    """torchrun starts its ranks at the same moment, each with an empty cache on a fresh machine:
    they queue on a lock, one compiles, every one loads a whole library."""
    gcc = subprocess.run(["sh", "-c", "command -v gcc"], capture_output=True, text=True).stdout.strip()
    if not gcc:
        pytest.skip("no gcc")
    log = tmp_path / "compiles.log"
    cc = tmp_path / "logging-cc"  # a compiler that notes each call, then runs gcc
    cc.write_text(f'#!/bin/sh\necho "$@" >> {log}\nsleep 0.5\nexec {gcc} "$@"\n')
    cc.chmod(0o755)
    env = {**os.environ, "PLAYGROUND_CACHE": str(tmp_path / "cache"), "CC": str(cc)}
    script = "from playground import kernels; import torch; kernels.gelu_tanh(torch.randn(4)); print(kernels.status())"
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[1]) for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    assert all(out.startswith("on: ") for out, _ in outs), outs
    assert len({out for out, _ in outs}) == 1  # the same library
    compiles = [line for line in log.read_text().splitlines() if " -c " in f" {line} "]
    assert len(compiles) == 1, compiles
    assert not [p for p in (tmp_path / "cache").iterdir() if p.is_dir()], "no temporary build folder is left"
