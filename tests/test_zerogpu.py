"""ZeroGPU: `@spaces.GPU` where the `spaces` package says ZeroGPU, nothing at all elsewhere.

`spaces` is not installed here: a fake module (in sys.modules, or a package on the path of a
subprocess) stands in for it and records what it is asked to decorate.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import gradio as gr
import pytest
import torch

from playground import api, device
from playground.config import ModelConfig, TrainConfig
from playground.tokenizer import Tokenizer
from playground.ui import generate_tab, state, train_tab, zerogpu

ROOT = Path(__file__).resolve().parents[1]


def _fake_spaces(zero_gpu: bool) -> types.ModuleType:
    """A stand-in for the `spaces` package: `GPU(duration=...)` records and marks the function."""
    module = types.ModuleType("spaces")
    module.calls = []

    def GPU(task=None, *, duration=None):  # noqa: N802 - the real package's name
        def decorate(fn):
            module.calls.append((fn.__name__, duration))

            def wrapped(*args, **kwargs):
                return fn(*args, **kwargs)

            wrapped.decorated_by_fake_spaces = True
            return wrapped

        return decorate if task is None else decorate(task)

    module.GPU = GPU
    module.config = types.SimpleNamespace(Config=types.SimpleNamespace(zero_gpu=zero_gpu))
    return module


@pytest.fixture
def no_zero_gpu(monkeypatch):
    monkeypatch.delenv(zerogpu.ENV, raising=False)
    monkeypatch.delitem(sys.modules, "spaces", raising=False)


def test_without_spaces_the_decorator_returns_the_function_itself(no_zero_gpu):
    def work(x):
        return x + 1

    assert not zerogpu.active()
    assert zerogpu.gpu(duration=12)(work) is work and work.zerogpu_duration == 12
    assert zerogpu.device() == device.resolve()
    model = torch.nn.Linear(2, 2)
    assert zerogpu.to_cpu_if_crossing(model) is model
    before = device.setting()
    zerogpu.configure()
    assert device.setting() == before


def test_spaces_installed_but_not_on_zero_gpu_changes_nothing(no_zero_gpu, monkeypatch):
    fake = _fake_spaces(zero_gpu=False)
    monkeypatch.setitem(sys.modules, "spaces", fake)

    def work():
        return 1

    assert not zerogpu.active() and zerogpu.gpu(duration=5)(work) is work and fake.calls == []


def test_the_environment_flag_without_the_package_is_not_zero_gpu(no_zero_gpu, monkeypatch):
    monkeypatch.setenv(zerogpu.ENV, "true")
    monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` raises ImportError
    assert not zerogpu.active()


def test_on_zero_gpu_the_function_is_wrapped_with_its_duration(no_zero_gpu, monkeypatch):
    fake = _fake_spaces(zero_gpu=True)
    monkeypatch.setitem(sys.modules, "spaces", fake)

    def work(x):
        return 2 * x

    wrapped = zerogpu.gpu(duration=45)(work)
    assert wrapped is not work and wrapped.decorated_by_fake_spaces and wrapped.zerogpu_duration == 45
    assert fake.calls == [("work", 45)] and wrapped(4) == 8
    assert zerogpu.active() and zerogpu.device() == torch.device("cuda")
    model = torch.nn.Linear(2, 2)
    crossing = zerogpu.to_cpu_if_crossing(model)
    assert crossing is not model and torch.equal(crossing.weight, model.weight)
    monkeypatch.delenv(device.ENV, raising=False)
    try:
        zerogpu.configure()  # spaces makes CUDA look available in the app's process: keep models on the CPU
        assert device.setting() == "cpu"
    finally:
        device.use(None)


def test_the_app_decorates_training_generation_and_hub_inspection(tmp_path):
    """A fresh interpreter where `spaces` is importable and SPACES_ZERO_GPU=true, as on a ZeroGPU
    Space: the three GPU-heavy entry points are decorated, with durations sized to their work."""
    package = tmp_path / "spaces"
    package.mkdir()
    (package / "__init__.py").write_text(
        "calls = []\n"
        "class _Config:\n    zero_gpu = True\n"
        "class config:\n    Config = _Config\n"
        "def GPU(task=None, *, duration=None):\n"
        "    def decorate(fn):\n"
        "        calls.append((fn.__module__ + '.' + fn.__name__, duration))\n"
        "        def wrapped(*a, **k):\n            return fn(*a, **k)\n"
        "        wrapped.fake = True\n"
        "        return wrapped\n"
        "    return decorate\n"
    )
    check = (
        "import spaces\n"
        "from playground.ui import app, generate_tab, state, train_tab\n"
        "assert train_tab._train_on_gpu.fake and generate_tab._generate_on_gpu.fake and state.inspect_on_gpu.fake\n"
        "print(sorted(spaces.calls))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", zerogpu.ENV: "true"}
    run = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    calls = dict(eval(run.stdout.strip().splitlines()[-1]))  # noqa: S307 - our own repr of a list of tuples
    assert calls["playground.ui.train_tab._train_on_gpu"] == int(train_tab.MAX_SECONDS) + 30
    assert calls["playground.ui.generate_tab._generate_on_gpu"] == 60
    assert calls["playground.ui.state.inspect_on_gpu"] == 30


def _bundle() -> api.ModelBundle:
    tok = Tokenizer.train("char", "the cat sat on the mat. " * 20)
    torch.manual_seed(0)
    from playground.model import TinyGPT

    model = TinyGPT(ModelConfig(n_layers=1, n_heads=1, d_model=8, n_ctx=16, d_vocab=tok.vocab_size)).eval()
    return api.ModelBundle("m", model, tok)


def _worker_side(monkeypatch):
    """Run the decorated bodies as a ZeroGPU worker would, with the CPU standing in for its GPU."""
    monkeypatch.setattr(zerogpu, "active", lambda: True)
    monkeypatch.setattr(zerogpu, "device", lambda: torch.device("cpu"))


def test_in_the_worker_training_sends_back_cpu_copies_of_the_model(monkeypatch):
    _worker_side(monkeypatch)
    bundle = _bundle()
    ids = torch.tensor(bundle.tokenizer.encode_ids("the cat sat on the mat. " * 20))
    cfg, train_cfg = bundle.config, TrainConfig(steps=3, batch_size=2, warmup_steps=1)
    stats = list(train_tab._train_on_gpu(cfg, train_cfg, ids, None, model=bundle.model))
    models = [s.model for s in stats]
    assert len({id(m) for m in models}) == 3 and all(m.device.type == "cpu" for m in models)
    assert not torch.equal(models[0].transformer.wte.weight, models[-1].transformer.wte.weight)  # each its step's


def test_in_the_worker_generation_errors_cross_back_as_gradio_errors(monkeypatch):
    _worker_side(monkeypatch)
    bundle = _bundle()
    steps = list(generate_tab._generate_on_gpu(bundle, "the", 4, 1.0, None, None, 0, False))
    off = list(api.generate_stream(bundle, "the", 4, 1.0, None, None, 0, False))
    assert [s.token_id for s in steps] == [s.token_id for s in off]
    with pytest.raises(gr.Error, match="empty"):
        list(generate_tab._generate_on_gpu(bundle, "", 4, 1.0, None, None, 0, False))
    result = state.inspect_on_gpu(bundle, "the cat", 8)
    assert result.cache.pattern(0).device.type == "cpu" and len(result.ids) == 7


def test_what_crosses_to_and_from_the_worker_survives_pickle(monkeypatch):
    """ZeroGPU sends a decorated call's arguments and results between processes by pickle."""
    import pickle

    _worker_side(monkeypatch)
    bundle = pickle.loads(pickle.dumps(_bundle()))
    assert bundle.tokenizer.encode("the cat").ids == _bundle().tokenizer.encode("the cat").ids
    ids = torch.tensor(bundle.tokenizer.encode_ids("the cat sat on the mat. " * 20))
    stats = list(train_tab._train_on_gpu(bundle.config, TrainConfig(steps=2, batch_size=2, warmup_steps=1), ids))
    back = pickle.loads(pickle.dumps(stats[-1]))
    assert back.loss == stats[-1].loss and torch.equal(back.model.transformer.wte.weight,
                                                       stats[-1].model.transformer.wte.weight)
    step = next(generate_tab._generate_on_gpu(bundle, "the", 2, 1.0, None, None, 0, False, with_attention=True))
    assert pickle.loads(pickle.dumps(step)).attention.shape == step.attention.shape
    result = state.inspect_on_gpu(bundle, "the cat", 8)
    assert torch.equal(pickle.loads(pickle.dumps(result)).cache.pattern(0), result.cache.pattern(0))
