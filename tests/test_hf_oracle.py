"""🤗 transformers as the oracle: our folders are GPT-2 folders, in both directions, to 1e-4."""

from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import load_file, save_file

from playground.checkpoint import load_checkpoint, save_checkpoint
from playground.config import ModelConfig
from playground.model import TinyGPT
from playground.tokenizer import Tokenizer

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: never touch the network
transformers = pytest.importorskip("transformers")

TEXT = "the cat sat on the mat and the dog ran to the cat . a bird saw the dog , then flew away !\n" * 4
CONFIGS = [
    dict(n_layer=2, n_head=2, n_embd=32, n_positions=32, vocab_size=60),
    dict(n_layer=3, n_head=4, n_embd=48, n_positions=24, vocab_size=97, n_inner=80, layer_norm_epsilon=1e-4),
]


@pytest.fixture(params=CONFIGS, ids=["2x32", "3x48-n_inner80"])
def hf_config(request):
    return transformers.GPT2Config(**request.param, activation_function="gelu_new")


def jitter(model, seed: int):
    """Random LayerNorm gains and biases too (fresh models have ones and zeros), so every tensor
    must arrive in the right place for the logits to match."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return model.eval()


def random_hf_model(config):
    torch.manual_seed(0)
    return jitter(transformers.GPT2LMHeadModel(config), 1)


def load_hf(folder):
    model, info = transformers.GPT2LMHeadModel.from_pretrained(
        folder, local_files_only=True, attn_implementation="eager", output_loading_info=True
    )
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    return model.eval()


def token_ids(config):
    gen = torch.Generator().manual_seed(2)
    return torch.randint(0, config.vocab_size, (2, config.n_positions), generator=gen)


def write_tokenizer(folder, config):
    Tokenizer.train("word", TEXT, config.vocab_size).save(folder / "tokenizer.json")


def assert_same_logits(ours, theirs, ids):
    with torch.no_grad():
        expected = theirs(ids).logits
        actual = ours(ids)
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, atol=1e-4), (actual - expected).abs().max()


def test_gpt2_saved_by_transformers_loads_with_identical_logits(tmp_path, hf_config):
    hf = random_hf_model(hf_config)
    hf.save_pretrained(tmp_path)
    write_tokenizer(tmp_path, hf_config)
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.config.d_mlp == (hf_config.n_inner or 4 * hf_config.n_embd)
    assert ckpt.meta == {}
    assert_same_logits(ckpt.model, hf, token_ids(hf_config))


def test_our_checkpoint_loads_in_transformers_with_identical_logits(tmp_path, hf_config):
    cfg = ModelConfig.from_gpt2_dict(hf_config.to_dict())
    torch.manual_seed(0)
    ours = jitter(TinyGPT(cfg), 1)
    tokenizer = Tokenizer.train("word", TEXT, cfg.d_vocab)
    save_checkpoint(tmp_path, ours, tokenizer, meta={"corpus": "cats"})
    hf = load_hf(tmp_path)
    assert hf.lm_head.weight.data_ptr() == hf.transformer.wte.weight.data_ptr()
    assert_same_logits(ours, hf, token_ids(hf_config))


def test_hub_style_file_without_transformer_prefix_loads(tmp_path, hf_config):
    hf = random_hf_model(hf_config)
    hf.save_pretrained(tmp_path)
    write_tokenizer(tmp_path, hf_config)
    path = tmp_path / "model.safetensors"
    state = {k.removeprefix("transformer."): v for k, v in load_file(path).items()}
    n = hf_config.n_positions
    for i in range(hf_config.n_layer):  # the causal-mask buffers old Hub files carry
        state[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n, dtype=torch.uint8)).view(1, 1, n, n)
        state[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(state, path, metadata={"format": "pt"})
    assert "wte.weight" in state and "transformer.wte.weight" not in state
    assert_same_logits(load_checkpoint(tmp_path).model, hf, token_ids(hf_config))


def test_half_precision_gpt2_loads_as_float32_with_identical_logits(tmp_path, hf_config):
    random_hf_model(hf_config).half().save_pretrained(tmp_path)
    write_tokenizer(tmp_path, hf_config)
    hf = transformers.GPT2LMHeadModel.from_pretrained(
        tmp_path, local_files_only=True, attn_implementation="eager", dtype=torch.float32
    ).eval()
    ckpt = load_checkpoint(tmp_path)
    assert ckpt.model.transformer.wte.weight.dtype == torch.float32
    assert_same_logits(ckpt.model, hf, token_ids(hf_config))
