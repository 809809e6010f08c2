"""Muon + AdamW and bfloat16 autocast: they train, they fall back cleanly, they repeat per seed."""

import math

import pytest
import torch

from playground import cli, precision
from playground.config import ConfigError, ModelConfig, TrainConfig
from playground.model import Conv1D
from playground.optim import CombinedOptimizer, make_optimizer
from playground.training import init_model, train_steps

CFG = ModelConfig(n_layers=2, n_heads=2, d_model=32, n_ctx=16, d_vocab=12)


def _pattern_ids(n=4000):
    return torch.tensor([i % 10 for i in range(n)])  # 0123456789 repeated: easy to learn


@pytest.fixture
def bf16(monkeypatch):
    """Force the bfloat16 path (autocast works on any CPU; only its speed needs the instructions)."""
    monkeypatch.setattr(precision, "bf16_support", lambda: (True, "forced by the test"))


@pytest.fixture
def no_bf16(monkeypatch):
    """A CPU without bfloat16 instructions: /proc/cpuinfo lists neither flag."""
    precision.bf16_support.cache_clear()
    monkeypatch.setattr(precision, "_cpuinfo_flags", lambda: {"avx2", "fma"})
    yield
    precision.bf16_support.cache_clear()


def _losses(tc, ids=None):
    return [s.loss for s in train_steps(CFG, tc, _pattern_ids() if ids is None else ids)]


def test_muon_trains_the_matrices_and_adamw_the_rest():
    model = init_model(CFG, 0)
    opt = make_optimizer(model, TrainConfig(optimizer="muon"))
    assert isinstance(opt, CombinedOptimizer)
    muon, adamw = opt.optimizers
    assert isinstance(muon, torch.optim.Muon) and isinstance(adamw, torch.optim.AdamW)
    in_muon = {id(p) for g in muon.param_groups for p in g["params"]}
    in_adamw = {id(p) for g in adamw.param_groups for p in g["params"]}
    conv_weights = {id(m.weight) for m in model.modules() if isinstance(m, Conv1D)}
    assert in_muon == conv_weights and len(conv_weights) == 4 * CFG.n_layers
    assert in_muon.isdisjoint(in_adamw) and in_muon | in_adamw == {id(p) for p in model.parameters()}
    assert id(model.transformer.wte.weight) in in_adamw  # embeddings (tied output layer) stay AdamW
    assert all(g["weight_decay"] == 0.0 for g in adamw.param_groups)


def test_muon_step_size_follows_the_layer_direction_not_the_conv1d_storage():
    """Keller's factor sqrt(max(1, n_out/n_in)): c_fc (32 -> 128) gets x2, c_proj (128 -> 32) x1."""
    tc = TrainConfig(optimizer="muon", muon_lr=0.02, lr=1e-3)
    muon = make_optimizer(init_model(CFG, 0), tc).optimizers[0]
    effective = {}
    for g in muon.param_groups:
        n_in, n_out = g["shape"]
        torch_factor = math.sqrt(max(1, n_in / n_out))  # torch reads shape[0] / shape[1]
        effective[(n_in, n_out)] = g["lr"] * torch_factor
        assert g["lr"] == pytest.approx(tc.lr * g["lr_scale"])  # the schedule drives it via lr_scale
    d = CFG.d_model
    assert effective[(d, 4 * d)] == pytest.approx(0.02 * 2)  # c_fc
    assert effective[(4 * d, d)] == pytest.approx(0.02)  # mlp.c_proj
    assert effective[(d, 3 * d)] == pytest.approx(0.02 * math.sqrt(3))  # c_attn
    assert effective[(d, d)] == pytest.approx(0.02)  # attn.c_proj


def test_muon_path_trains_and_repeats_per_seed():
    tc = TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5, optimizer="muon", precision="float32", seed=1)
    a, b = _losses(tc), _losses(tc)
    assert a[-1] < 0.3 * a[0]
    assert a == b != _losses(tc.replace(seed=2))


def test_bf16_path_trains_repeats_per_seed_and_really_autocasts(bf16):
    tc = TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5, precision="bfloat16", seed=0)
    assert precision.resolve("bfloat16")[0] == torch.bfloat16
    a, b = _losses(tc), _losses(tc)
    assert a[-1] < 0.3 * a[0]
    assert a == b
    assert a != _losses(tc.replace(precision="float32"))  # bfloat16 matmuls round differently


def test_without_bf16_instructions_auto_falls_back_to_float32_and_says_why(no_bf16):
    dtype, why = precision.resolve("auto")
    assert dtype == torch.float32 and "bfloat16 unavailable" in why and "avx512_bf16" in why
    assert precision.resolve("bfloat16")[0] == torch.float32
    assert "float32" in precision.status()
    tc = TrainConfig(steps=15, batch_size=4, lr=1e-2, warmup_steps=2, seed=0)
    assert _losses(tc.replace(precision="auto")) == _losses(tc.replace(precision="float32"))


def test_this_machine_reports_its_precision_choice():
    dtype, why = precision.resolve("auto")
    assert dtype in (torch.float32, torch.bfloat16) and why
    assert precision.resolve("float32") == (torch.float32, "float32: requested")


def test_adamw_path_is_still_available():
    model = init_model(CFG, 0)
    assert isinstance(make_optimizer(model, TrainConfig(optimizer="adamw")), torch.optim.AdamW)
    tc = TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5, optimizer="adamw", precision="float32")
    losses = _losses(tc)
    assert losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize(
    "changes,field,allowed",
    [
        (dict(optimizer="sgd"), "optimizer", "muon, adamw"),
        (dict(precision="float16"), "precision", "auto, float32, bfloat16"),
        (dict(muon_lr=0.0), "muon_lr", "above 0"),
        (dict(muon_momentum=1.5), "muon_momentum", "0.9999"),
    ],
)
def test_bad_optimizer_settings_name_field_and_choices_in_both_languages(changes, field, allowed):
    with pytest.raises(ConfigError) as err:
        TrainConfig(**changes)
    assert field in str(err.value) and allowed in str(err.value)
    assert field in err.value.message("zh") and err.value.message("zh") != str(err.value)


def test_cli_chooses_the_optimizer_and_records_it_on_the_card(tmp_path):
    import json

    for name in ("adamw", "muon"):
        out = tmp_path / name
        code = cli.main(["train", "--corpus", "copy", "--tokenizer", "char", "--vocab", "32", "--layers", "1",
                         "--heads", "1", "--d-model", "16", "--ctx", "16", "--steps", "3", "--batch", "2",
                         "--optimizer", name, "--out", str(out)])
        assert code == 0
        card = json.loads((out / "card.json").read_text())
        assert card["train"]["optimizer"] == name and card["precision"]
