"""Decoding: filters, determinism, and the KV-cached decoder matching a full recompute."""

import pytest
import torch

from playground.config import ConfigError, ModelConfig, SampleConfig
from playground.model import TinyGPT
from playground.sampling import filter_logits, generate_steps, generate_without_cache

CFG = ModelConfig(n_layers=2, n_heads=2, d_model=32, n_ctx=32, d_vocab=50)


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = TinyGPT(CFG).eval()
    with torch.no_grad():  # sharpen the random model so sampling is not uniform noise
        m.transformer.wte.weight.mul_(4)
    return m


def test_top_k_keeps_exactly_k_tokens():
    logits = torch.tensor([1.0, 5.0, 3.0, 4.0, 2.0])
    kept = torch.isfinite(filter_logits(logits, SampleConfig(top_k=2)))
    assert kept.tolist() == [False, True, False, True, False]


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    kept = torch.isfinite(filter_logits(probs.log(), SampleConfig(top_p=0.75)))
    assert kept.tolist() == [True, True, False, False]
    kept = torch.isfinite(filter_logits(probs.log(), SampleConfig(top_p=0.01)))
    assert kept.tolist() == [True, False, False, False]  # the most likely token always stays


def test_temperature_sharpens_and_flattens():
    logits = torch.tensor([2.0, 1.0, 0.0])
    cold = filter_logits(logits, SampleConfig(temperature=0.5)).softmax(-1)
    hot = filter_logits(logits, SampleConfig(temperature=2.0)).softmax(-1)
    assert cold[0] > logits.softmax(-1)[0] > hot[0]


def test_same_seed_gives_same_tokens_and_other_seed_differs(model):
    def run(seed):
        return [
            s.token_id for s in generate_steps(model, [1, 2, 3], SampleConfig(max_new_tokens=20, seed=seed))
        ]

    assert run(7) == run(7)
    assert run(7) != run(8)


@pytest.mark.parametrize(
    "settings", [dict(greedy=True), dict(seed=3), dict(seed=3, top_k=5, temperature=0.7)]
)
def test_cached_decoder_matches_full_recompute(model, settings):
    cfg = SampleConfig(max_new_tokens=25, **settings)
    cached = [s.token_id for s in generate_steps(model, [4, 5, 6], cfg)]
    assert cached == generate_without_cache(model, [4, 5, 6], cfg)


def test_steps_report_probabilities_and_attention(model):
    steps = list(generate_steps(model, [1, 2], SampleConfig(max_new_tokens=3, seed=0), with_attention=True))
    for i, s in enumerate(steps):
        assert 0 < s.prob <= 1 and s.top_probs == tuple(sorted(s.top_probs, reverse=True))
        assert s.attention.shape == (CFG.n_layers, CFG.n_heads, 2 + i)


def test_generation_slides_past_the_context(model):
    steps = list(generate_steps(model, [1] * 30, SampleConfig(max_new_tokens=40, seed=0)))
    assert len(steps) == 40


def test_empty_prompt_is_refused(model):
    with pytest.raises(ValueError, match="at least one token"):
        next(generate_steps(model, [], SampleConfig()))


@pytest.mark.parametrize(
    "bad", [dict(temperature=0), dict(top_p=1.5), dict(top_k=-1), dict(max_new_tokens=0)]
)
def test_bad_sampling_settings_name_the_field(bad):
    field = next(iter(bad))
    with pytest.raises(ConfigError, match=field):
        SampleConfig(**bad)
