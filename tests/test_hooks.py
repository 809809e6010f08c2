"""run_with_cache: what is captured, with which shapes, and that nothing is left behind."""

import pytest
import torch

from playground.config import ModelConfig
from playground.hooks import run_with_cache
from playground.model import TinyGPT

CFG = ModelConfig(n_layers=2, n_heads=3, d_model=24, n_ctx=16, d_vocab=40)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return TinyGPT(CFG).eval()


def _hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_accessors_return_documented_shapes(model):
    ids = torch.randint(0, 40, (9,))
    logits, cache = run_with_cache(model, ids)
    T, H, D = 9, 3, 8
    assert logits.shape == (1, T, 40)
    assert cache.pattern(1).shape == (H, T, T)
    assert cache.scores(0).shape == (H, T, T)
    for get in (cache.q, cache.k, cache.v, cache.z):
        assert get(0).shape == (T, H, D)
    assert cache.embed().shape == cache.pos_embed().shape == (T, 24)
    assert cache.resid(1, "post").shape == (T, 24)
    assert cache.all_patterns().shape == (2, H, T, T)


def test_patterns_are_causal_and_rows_sum_to_one(model):
    _, cache = run_with_cache(model, torch.randint(0, 40, (12,)))
    for layer in range(CFG.n_layers):
        p = cache.pattern(layer)
        assert torch.allclose(p.sum(-1), torch.ones(3, 12), atol=1e-6)
        assert torch.all(p.triu(diagonal=1) == 0)
        assert torch.isinf(cache.scores(layer).triu(diagonal=1)[:, 0, 1:]).all()


def test_cached_values_are_consistent_with_each_other(model):
    """pattern = softmax(q·k/√d) and z = pattern @ v, recomputed from the cache."""
    _, cache = run_with_cache(model, torch.randint(0, 40, (7,)))
    q, k, v = cache.q(0), cache.k(0), cache.v(0)  # (T, H, D)
    scores = torch.einsum("qhd,khd->hqk", q, k) / 8**0.5
    scores = scores.masked_fill(torch.ones(7, 7).triu(1).bool(), float("-inf"))
    assert torch.allclose(scores.softmax(-1), cache.pattern(0), atol=1e-6)
    assert torch.allclose(torch.einsum("hqk,khd->qhd", cache.pattern(0), v), cache.z(0), atol=1e-6)
    assert torch.allclose(cache.resid(0, "pre"), cache.embed() + cache.pos_embed())


def test_capture_can_be_limited_to_some_names(model):
    _, cache = run_with_cache(model, [1, 2, 3], names=["blocks.1.attn.hook_pattern"])
    assert cache.keys() == ["blocks.1.attn.hook_pattern"]
    with pytest.raises(KeyError, match="was not captured"):
        cache.q(0)


def test_unknown_hook_name_is_refused(model):
    with pytest.raises(KeyError, match="unknown hook names"):
        run_with_cache(model, [1, 2], names=["blocks.9.nope"])


def test_no_hooks_remain_after_a_run(model):
    run_with_cache(model, [1, 2, 3])
    assert _hook_count(model) == 0


def test_no_hooks_remain_after_an_exception(model):
    with pytest.raises(ValueError):
        run_with_cache(model, list(range(17)))  # longer than n_ctx
    assert _hook_count(model) == 0
    assert not any(p.listening for p in model.hook_points.values())


def test_layer_index_out_of_range_is_a_clear_error(model):
    _, cache = run_with_cache(model, [1, 2])
    with pytest.raises(IndexError, match="0..1"):
        cache.pattern(5)
