"""The training benchmarks run, and the maths they compare really is the same (no timing asserts)."""

import json

import numpy as np
import pytest
import torch

from bench import step_budget, train_throughput
from playground import kernels
from playground.config import TrainConfig
from playground.model import parameter_count
from playground.training import BatchSampler, init_model, train_steps


def test_our_trainer_and_the_nanogpt_style_loop_give_the_same_losses():
    """The benchmark's speed comparison is fair only if both do identical maths."""
    cfg = train_throughput.CFG
    tc = TrainConfig(steps=6, batch_size=4, lr=1e-3, warmup_steps=2, seed=0, optimizer="adamw", precision="float32")
    data = torch.from_numpy(np.random.default_rng(0).integers(0, cfg.d_vocab, 20_000)).long()
    sampler = BatchSampler(data, cfg.n_ctx, tc.batch_size, tc.seed)
    batches = [tuple(t.contiguous() for t in next(sampler)) for _ in range(tc.steps)]
    nano = train_throughput.NanoGPT(cfg)
    nano.load_from_tinygpt(init_model(cfg, tc.seed).state_dict())
    nano_losses, _ = train_throughput.nano_train(nano, batches, tc)
    ours = [s.loss for s in train_steps(cfg, tc, data)]
    with kernels.disabled():
        plain = [s.loss for s in train_steps(cfg, tc, data)]
    assert np.allclose(ours, nano_losses, atol=1e-5)
    assert np.allclose(plain, nano_losses, atol=1e-5)


def test_flops_per_token_follows_the_palm_formula():
    cfg = train_throughput.CFG
    expected = 6 * parameter_count(cfg) + 12 * cfg.n_layers * cfg.n_heads * cfg.d_head * cfg.n_ctx
    assert train_throughput.flops_per_token(cfg) == expected


def test_step_budget_prints_every_part_and_a_consistent_budget(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["step_budget", "--repeats", "2", "--rounds", "1"])
    step_budget.main()
    result = json.loads(capsys.readouterr().out)
    parts = {"step", "matmuls", "attention", "gelu_kernel", "gelu_pytorch", "layer_norms", "clip_and_adamw",
             "fixed_cost_tiny_step"}
    assert set(result["ms"]) == parts and all(v > 0 for v in result["ms"].values())
    budget = result["step_ms_for_mfu"]
    assert budget["0.40"] > budget["0.50"] > budget["0.60"] > 0  # a higher MFU needs a shorter step
    assert result["ms_left_after_matmuls_at_0.60"] == round(budget["0.60"] - result["ms"]["matmuls"], 2)


def test_device_check_runs_on_the_cpu_and_compares_devices(capsys):
    from bench import device_check

    rows = device_check.main(["--devices", "cpu", "cpu", "--steps", "4", "--warmup", "1", "--new-tokens", "4",
                              "--repeats", "1", "--corpus-size", "20000", "--target-loss", "100"])
    assert [r["device"] for r in rows] == ["cpu", "cpu"] and rows[0]["steps_to_target"] is None  # 10-step mean
    assert rows[1]["max_loss_diff_vs_first"] == 0.0 and rows[1]["greedy_agreement_vs_first"] == 1.0
    assert all(r["train_tokens_per_s"] > 0 and r["generate_tokens_per_s"] > 0 for r in rows)
    assert "| device | train tok/s" in capsys.readouterr().out


def test_time_to_loss_reads_cpython_prose_and_reports_a_consistent_pair(capsys, monkeypatch):
    """A shrunken run of bench.time_to_loss: nanoGPT's final loss is the target, ours is read off
    its own curve at that target, and the ratio is the two training times (no timing asserts)."""
    from bench import time_to_loss as ttl

    train_ids, val_ids, vocab, about = ttl.corpus()
    assert about["characters"] > 400_000 and 60 < vocab < 200  # English prose, character-level
    assert len(train_ids) == about["train_tokens"] and len(val_ids) == about["val_tokens"]
    monkeypatch.setattr(ttl, "N_LAYERS", 1)
    monkeypatch.setattr(ttl, "D_MODEL", 32)
    monkeypatch.setattr(ttl, "N_CTX", 16)
    monkeypatch.setattr(ttl, "EVAL_EVERY", 5)
    monkeypatch.setattr(ttl, "VAL_WINDOWS", {"batch_size": 4, "n_batches": 2, "seed": 1234})
    monkeypatch.setattr(ttl, "NANOGPT", ttl.NANOGPT.replace(steps=20, warmup_steps=2))
    monkeypatch.setattr(ttl, "OURS", ttl.OURS.replace(steps=20, warmup_steps=2))
    monkeypatch.setattr("sys.argv", ["time_to_loss", "--repeats", "1"])
    ttl.main()
    result = json.loads(capsys.readouterr().out)
    pair = result["pairs"][0]
    nano_curve, ours_curve = pair["curves"]["nanogpt"], pair["curves"]["ours"]
    assert [c[0] for c in nano_curve] == [5, 10, 15, 20] == [c[0] for c in ours_curve]
    assert result["target_L"] == nano_curve[-1][1] == pair["nanogpt"]["final_val_loss"]
    hits = [c for c in ours_curve if c[1] <= result["target_L"]]
    if hits:
        assert pair["ours"]["reached"] == {"step": hits[0][0], "val_loss": hits[0][1], "seconds": hits[0][2]}
        assert pair["ratio"] == pytest.approx(hits[0][2] / pair["nanogpt"]["seconds"], rel=0.01, abs=0.002)
    else:
        assert pair["ours"]["reached"] is None and pair["ratio"] is None
    assert result["eval"]["time"] == "excluded from both" and result["our_recipe"]["optimizer"] == "muon"
