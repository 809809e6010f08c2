"""Configuration validation: every bad value names its field and the allowed range."""

import pytest

from playground.config import ConfigError, ModelConfig, SampleConfig, TrainConfig
from playground.errors import RangeError


@pytest.mark.parametrize(
    "changes,field,low,high",
    [
        (dict(n_layers=0), "n_layers", 1, 12),
        (dict(n_layers=99), "n_layers", 1, 12),
        (dict(n_ctx=4096), "n_ctx", 2, 1024),
        (dict(d_vocab=1), "d_vocab", 2, 50304),
        (dict(n_heads=2.5), "n_heads", 1, 16),
        (dict(n_layers=True), "n_layers", 1, 12),
        (dict(dropout=0.95), "dropout", 0, 0.9),
    ],
)
def test_bad_model_config_names_field_and_range(changes, field, low, high):
    with pytest.raises(ConfigError) as err:
        ModelConfig(**changes)
    assert isinstance(err.value, RangeError) and err.value.field == f"config.{field}"
    assert (err.value.params["low"], err.value.params["high"]) == (low, high)
    assert str(err.value).startswith(f"{field} must be a ")
    assert f"from {low:,} to {high:,}" in str(err.value)  # the message says what is allowed


def test_whole_number_fields_are_stored_as_ints():
    cfg = ModelConfig(n_layers=2.0, d_model=64.0, n_heads=2)
    assert type(cfg.n_layers) is int and cfg.d_mlp == 256 and type(cfg.d_mlp) is int


def test_heads_must_divide_the_width_in_both_languages():
    with pytest.raises(ConfigError) as err:
        ModelConfig(d_model=100, n_heads=3)
    assert err.value.key == "config.heads_divide"
    assert str(err.value) == "d_model (100) must be divisible by n_heads (3)"
    assert err.value.message("zh") == "宽度 d_model（100）必须能被头数 n_heads（3）整除"


def test_d_mlp_defaults_to_four_times_d_model_and_d_head_divides():
    cfg = ModelConfig(d_model=96, n_heads=6)
    assert cfg.d_mlp == 384 and cfg.d_head == 16


def test_gpt2_config_round_trip():
    cfg = ModelConfig(n_layers=3, n_heads=2, d_model=48, n_ctx=40, d_vocab=300, d_mlp=100)
    assert ModelConfig.from_gpt2_dict(cfg.to_gpt2_dict()) == cfg


@pytest.mark.parametrize(
    "patch,message",
    [
        ({"model_type": "llama"}, "only GPT-2"),
        ({"activation_function": "relu"}, "not supported"),
        ({"n_embd": None, "n_inner": None}, "null or non-numeric"),
        ({"n_embd": None}, "d_model must be a whole number"),
        ({"tie_word_embeddings": False}, "tie_word_embeddings"),
    ],
)
def test_unsupported_gpt2_configs_are_refused_clearly(patch, message):
    d = ModelConfig().to_gpt2_dict() | patch
    with pytest.raises(ConfigError, match=message):
        ModelConfig.from_gpt2_dict(d)


def test_missing_gpt2_key_is_named():
    d = ModelConfig().to_gpt2_dict()
    del d["n_layer"]
    with pytest.raises(ConfigError, match="n_layer"):
        ModelConfig.from_gpt2_dict(d)


@pytest.mark.parametrize(
    "changes,field", [(dict(steps=0), "steps"), (dict(lr=0), "lr"), (dict(batch_size=10**6), "batch_size")]
)
def test_bad_train_config_names_field(changes, field):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**changes)


def test_sample_config_defaults_are_valid_and_seed_checked():
    SampleConfig()
    with pytest.raises(ConfigError, match="seed"):
        SampleConfig(seed=-1)
