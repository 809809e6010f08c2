"""Frozen configuration dataclasses and their validation.

Every bound here exists to keep a shared 2-CPU server responsive; a bad value raises
`ConfigError` naming the field and the allowed range, so the UI can show it verbatim.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of its allowed range (message names field and range)."""


def check_int(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number between {lo} and {hi}, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")


def check_float(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError(f"{name} must be a number between {lo} and {hi}, got {value!r}")
    too_low = value <= lo if lo_open else value < lo
    if too_low or value > hi:
        bracket = "(" if lo_open else "["
        raise ConfigError(f"{name} must be in {bracket}{lo}, {hi}], got {value}")


# Upper bounds large enough for GPT-2 small (12 layers, 768 wide, 1024 positions, 50257
# tokens) so Hub models can be inspected, small enough that nothing larger is attempted.
MODEL_LIMITS: dict[str, tuple[int, int]] = {
    "n_layers": (1, 12),
    "n_heads": (1, 16),
    "d_model": (4, 768),
    "n_ctx": (2, 1024),
    "d_vocab": (2, 50304),
    "d_mlp": (4, 3072),
}


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a GPT-2-style decoder. Names follow TransformerLens (d_model, n_heads, ...)."""

    n_layers: int = 4
    n_heads: int = 4
    d_model: int = 128
    n_ctx: int = 128
    d_vocab: int = 512
    d_mlp: int = 0  # 0 means the GPT-2 default, 4 * d_model
    dropout: float = 0.0
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.d_mlp == 0 and isinstance(self.d_model, int) and not isinstance(self.d_model, bool):
            object.__setattr__(self, "d_mlp", 4 * self.d_model)
        for name, (lo, hi) in MODEL_LIMITS.items():
            check_int(name, getattr(self, name), lo, hi)
        if self.d_model % self.n_heads:
            raise ConfigError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        check_float("dropout", self.dropout, 0.0, 0.9)
        check_float("layer_norm_eps", self.layer_norm_eps, 0.0, 1e-2, lo_open=True)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def n_params(self) -> int:
        """Parameter count with the output layer tied to the token embedding (as GPT-2)."""
        d, m = self.d_model, self.d_mlp
        per_block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * m + m) + (m * d + d)
        return self.d_vocab * d + self.n_ctx * d + self.n_layers * per_block + 2 * d

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    # --- GPT-2 (Hugging Face) config.json keys -------------------------------------------
    def to_gpt2_dict(self) -> dict[str, Any]:
        """The keys `transformers.GPT2Config` reads, so our folders load as GPT-2."""
        return {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            "n_layer": self.n_layers,
            "n_head": self.n_heads,
            "n_embd": self.d_model,
            "n_positions": self.n_ctx,
            "n_ctx": self.n_ctx,
            "vocab_size": self.d_vocab,
            "n_inner": self.d_mlp,
            "activation_function": "gelu_new",
            "layer_norm_epsilon": self.layer_norm_eps,
            "resid_pdrop": self.dropout,
            "embd_pdrop": self.dropout,
            "attn_pdrop": self.dropout,
            "scale_attn_weights": True,
            "scale_attn_by_inverse_layer_idx": False,
            "reorder_and_upcast_attn": False,
            "tie_word_embeddings": True,
        }

    @classmethod
    def from_gpt2_dict(cls, cfg: dict[str, Any]) -> ModelConfig:
        """Read a GPT-2 config.json; refuse features our architecture does not implement."""
        if cfg.get("model_type", "gpt2") != "gpt2":
            raise ConfigError(
                f"model_type is {cfg.get('model_type')!r}; only GPT-2-architecture models "
                "(model_type 'gpt2') are supported"
            )
        act = cfg.get("activation_function", "gelu_new")
        if act not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ConfigError(f"activation_function {act!r} is not supported (need 'gelu_new')")
        for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
            if cfg.get(flag):
                raise ConfigError(f"{flag}=true is not supported")
        if cfg.get("tie_word_embeddings", True) is False:
            raise ConfigError("tie_word_embeddings=false is not supported (GPT-2 ties them)")
        try:
            d_model = cfg["n_embd"]
            return cls(
                n_layers=cfg["n_layer"],
                n_heads=cfg["n_head"],
                d_model=d_model,
                n_ctx=cfg.get("n_positions", cfg.get("n_ctx")),
                d_vocab=cfg["vocab_size"],
                d_mlp=cfg.get("n_inner") or 4 * d_model,
                dropout=0.0,
                layer_norm_eps=cfg.get("layer_norm_epsilon", 1e-5),
            )
        except KeyError as missing:
            raise ConfigError(f"config.json is missing the GPT-2 key {missing}") from None
        except TypeError:  # e.g. "n_embd": null, so 4 * d_model fails
            raise ConfigError("config.json has a null or non-numeric GPT-2 size (n_embd, n_inner, ...)") from None


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule for `training.train_steps`."""

    steps: int = 200
    batch_size: int = 16
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 20
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 50
    eval_batches: int = 4
    sample_interval: int = 0  # 0: no samples during training
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1, 100_000)
        check_int("batch_size", self.batch_size, 1, 512)
        check_float("lr", self.lr, 0.0, 1.0, lo_open=True)
        check_float("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        check_int("warmup_steps", self.warmup_steps, 0, 100_000)
        check_float("weight_decay", self.weight_decay, 0.0, 1.0)
        check_float("beta1", self.beta1, 0.0, 0.9999)
        check_float("beta2", self.beta2, 0.0, 0.9999)
        check_float("grad_clip", self.grad_clip, 0.0, 1e3)
        check_int("eval_interval", self.eval_interval, 1, 100_000)
        check_int("eval_batches", self.eval_batches, 1, 1000)
        check_int("sample_interval", self.sample_interval, 0, 100_000)
        check_int("seed", self.seed, 0, 2**31 - 1)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SampleConfig:
    """Decoding settings for `sampling.generate`. top_k=0 / top_p=1.0 mean 'off'."""

    max_new_tokens: int = 64
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    greedy: bool = False
    seed: int | None = None
    stop_at: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_int("max_new_tokens", self.max_new_tokens, 1, 1024)
        check_float("temperature", self.temperature, 0.0, 10.0, lo_open=True)
        check_int("top_k", self.top_k, 0, 50304)
        check_float("top_p", self.top_p, 0.0, 1.0, lo_open=True)
        if self.seed is not None:
            check_int("seed", self.seed, 0, 2**31 - 1)


# Named sizes for the CLI and the Train tab.
PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(n_layers=2, n_heads=2, d_model=64, n_ctx=64, d_vocab=512),
    "small": ModelConfig(n_layers=4, n_heads=4, d_model=128, n_ctx=128, d_vocab=512),
}
