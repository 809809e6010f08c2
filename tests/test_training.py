"""The training engine: learning, determinism, schedule, stopping, snapshots."""

import math

import pytest
import torch

from playground.config import ModelConfig, TrainConfig
from playground.training import BatchSampler, evaluate, init_model, lr_at, make_optimizer, optimizer_step, train_steps

CFG = ModelConfig(n_layers=2, n_heads=2, d_model=32, n_ctx=16, d_vocab=12)


def _pattern_ids(n=4000):
    return torch.tensor([i % 10 for i in range(n)])  # 0123456789 repeated: easy to learn


def test_loss_falls_within_a_few_dozen_steps():
    stats = list(
        train_steps(CFG, TrainConfig(steps=40, batch_size=8, lr=1e-2, warmup_steps=5), _pattern_ids())
    )
    assert stats[-1].loss < 0.3 * stats[0].loss
    assert [s.step for s in stats] == list(range(1, 41))


def test_same_seed_gives_identical_losses():
    tc = TrainConfig(steps=10, batch_size=4, seed=3)
    a = [s.loss for s in train_steps(CFG, tc, _pattern_ids())]
    b = [s.loss for s in train_steps(CFG, tc, _pattern_ids())]
    c = [s.loss for s in train_steps(CFG, tc.replace(seed=4), _pattern_ids())]
    assert a == b != c


def test_lr_schedule_warms_up_then_follows_a_cosine_to_the_floor():
    tc = TrainConfig(steps=110, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, tc) == pytest.approx(0.1)
    assert lr_at(9, tc) == pytest.approx(1.0)
    assert lr_at(10, tc) == pytest.approx(1.0)
    assert lr_at(60, tc) == pytest.approx(0.55)  # halfway through the cosine
    assert lr_at(110, tc) == pytest.approx(0.1)
    lrs = [lr_at(s, tc) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_stopping_mid_run_leaves_a_consistent_model():
    run = train_steps(CFG, TrainConfig(steps=100, batch_size=4), _pattern_ids())
    for stats in run:
        if stats.step == 5:
            break
    run.close()
    model = stats.model
    val = evaluate(model, _pattern_ids(500), batch_size=4, n_batches=2)
    assert math.isfinite(val)
    again = [s for s in train_steps(CFG, TrainConfig(steps=100, batch_size=4), _pattern_ids()) if s.step <= 5]
    assert again[4].loss == stats.loss  # the stopped model is exactly the step-5 model


def test_val_loss_reported_at_eval_steps_and_the_last_step():
    tc = TrainConfig(steps=12, batch_size=4, eval_interval=5)
    stats = list(train_steps(CFG, tc, _pattern_ids(), val_ids=_pattern_ids(300)))
    assert [s.step for s in stats if s.val_loss is not None] == [5, 10, 12]


def test_training_reports_throughput_and_eta():
    stats = list(train_steps(CFG, TrainConfig(steps=5, batch_size=4), _pattern_ids()))
    assert all(s.tokens_per_s > 0 for s in stats)
    assert stats[-1].eta == 0 and stats[0].eta > 0


def test_batches_are_shifted_windows():
    sampler = BatchSampler(torch.arange(100), n_ctx=8, batch_size=3, seed=0)
    x, y = next(sampler)
    assert x.shape == y.shape == (3, 8)
    assert torch.equal(x[:, 1:], y[:, :-1]) and torch.equal(y - x, torch.ones(3, 8, dtype=torch.long))


def test_too_little_text_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 3 tokens"):
        next(train_steps(CFG, TrainConfig(steps=2), torch.tensor([1, 2])))


def test_grad_clip_zero_means_no_clipping_not_no_learning():
    cfg = ModelConfig(n_layers=1, n_heads=2, d_model=16, n_ctx=8, d_vocab=11)
    model = init_model(cfg, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    # no weight decay: only gradients can move the weights
    optimizer = make_optimizer(model, TrainConfig(lr=1e-2, steps=1, warmup_steps=0, weight_decay=0.0))
    x = torch.randint(11, (2, 8), generator=torch.Generator().manual_seed(0))
    loss, grad_norm = optimizer_step(model, optimizer, x, x.roll(-1, 1), grad_clip=0.0)
    assert grad_norm.item() > 0 and math.isfinite(loss.item())
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True) if a.dim() >= 2)
