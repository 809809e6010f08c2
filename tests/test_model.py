"""TinyGPT: shapes, causality, the two attention paths, the KV cache, learning."""

import math

import pytest
import torch

from playground.config import ModelConfig
from playground.hooks import run_with_cache
from playground.model import KVCache, TinyGPT, hook_names, parameter_count, weight_shapes

CFG = ModelConfig(n_layers=2, n_heads=4, d_model=32, n_ctx=24, d_vocab=61)


@pytest.fixture
def model():
    torch.manual_seed(0)
    return TinyGPT(CFG).eval()


def test_logits_have_batch_time_vocab_shape(model):
    ids = torch.randint(0, CFG.d_vocab, (3, 11))
    assert model(ids).shape == (3, 11, CFG.d_vocab)


def test_shapes_and_parameter_count_are_read_off_the_model(model):
    assert model.n_params() == parameter_count(CFG)
    gpt2_small = ModelConfig(n_layers=12, n_heads=12, d_model=768, n_ctx=1024, d_vocab=50257)
    assert parameter_count(gpt2_small) == 124_439_808  # GPT-2 small, as Hugging Face counts it
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items() if name != "lm_head.weight"}
    assert weight_shapes(CFG) == shapes
    assert weight_shapes(CFG)["transformer.h.0.attn.c_attn.weight"] == (CFG.d_model, 3 * CFG.d_model)  # Conv1D


def test_output_layer_is_tied_to_token_embedding(model):
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()


def test_changing_a_later_token_leaves_earlier_logits_unchanged(model):
    torch.manual_seed(1)
    ids = torch.randint(0, CFG.d_vocab, (1, 12))
    changed = ids.clone()
    changed[0, 7] = (ids[0, 7] + 1) % CFG.d_vocab
    a, b = model(ids), model(changed)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6)
    assert not torch.allclose(a[:, 7:], b[:, 7:], atol=1e-4)


def test_manual_and_fused_attention_paths_agree(model):
    ids = torch.randint(0, CFG.d_vocab, (2, 20))
    fused = model(ids)
    manual, _ = run_with_cache(model, ids)
    assert torch.allclose(fused, manual, atol=1e-5)


def test_kv_cache_logits_equal_a_full_forward_pass(model):
    ids = torch.randint(0, CFG.d_vocab, (2, 20))
    full = model(ids)
    cache = KVCache(CFG, batch=2)
    pieces = [model(ids[:, :5], kv_cache=cache), model(ids[:, 5:9], kv_cache=cache)]
    pieces += [model(ids[:, t : t + 1], kv_cache=cache) for t in range(9, 20)]
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)


def test_kv_cache_with_capture_equals_full_forward(model):
    ids = torch.randint(0, CFG.d_vocab, (1, 10))
    full = model(ids)
    cache = KVCache(CFG)
    first, _ = run_with_cache(model, ids[:, :6], kv_cache=cache)
    rest, act = run_with_cache(model, ids[:, 6:], kv_cache=cache)
    assert torch.allclose(torch.cat([first, rest], 1), full, atol=1e-5)
    assert act.pattern(0).shape == (CFG.n_heads, 4, 10)  # new queries see the cached keys


def test_too_long_input_is_refused_with_the_context_size(model):
    with pytest.raises(ValueError, match="context of 24"):
        model(torch.zeros(1, 25, dtype=torch.long))


def test_loss_at_initialisation_is_close_to_log_vocab():
    torch.manual_seed(0)
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=32, n_ctx=16, d_vocab=500)
    m = TinyGPT(cfg)
    ids = torch.randint(0, 500, (8, 16))
    with torch.no_grad():
        loss = float(m.loss(ids[:, :-1], ids[:, 1:]))
    assert abs(loss - math.log(500)) < 0.1


def test_model_overfits_one_batch():
    torch.manual_seed(0)
    m = TinyGPT(CFG)
    ids = torch.randint(0, CFG.d_vocab, (4, 17))
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    first = None
    for _ in range(150):
        loss = m.loss(ids[:, :-1], ids[:, 1:])
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 < first


def test_hook_names_are_the_documented_transformerlens_names(model):
    assert list(model.hook_points) == hook_names(CFG.n_layers)
    _, cache = run_with_cache(model, [1, 2, 3])
    assert cache.keys() == hook_names(CFG.n_layers), "hook_names lists the hooks in the order they fire"
    assert hook_names(1) == [
        "hook_embed",
        "hook_pos_embed",
        "blocks.0.hook_resid_pre",
        "blocks.0.attn.hook_q",
        "blocks.0.attn.hook_k",
        "blocks.0.attn.hook_v",
        "blocks.0.attn.hook_attn_scores",
        "blocks.0.attn.hook_pattern",
        "blocks.0.attn.hook_z",
        "blocks.0.hook_attn_out",
        "blocks.0.hook_resid_mid",
        "blocks.0.mlp.hook_post",
        "blocks.0.hook_mlp_out",
        "blocks.0.hook_resid_post",
        "ln_final.hook_normalized",
    ]


def test_dropout_only_acts_in_training_mode():
    torch.manual_seed(0)
    m = TinyGPT(CFG.replace(dropout=0.5))
    ids = torch.randint(0, CFG.d_vocab, (1, 8))
    m.train()
    assert not torch.allclose(m(ids), m(ids))
    m.eval()
    assert torch.allclose(m(ids), m(ids))
