"""Frozen configuration dataclasses and their validation.

Every bound here exists to keep a shared 2-CPU server responsive; a bad value raises a
`ConfigError` whose key names the field and the allowed range, in English and Chinese.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .errors import PlaygroundError, RangeError, check_choice, check_range, register


class ConfigError(PlaygroundError):
    """A configuration value is not usable (the key names the field and what is allowed)."""


class ConfigRangeError(RangeError, ConfigError):
    """A configuration number outside its range: both a RangeError and a ConfigError."""


# Field labels: the English keeps the parameter's name, which is what a notebook user types.
register(
    {
        "config.n_layers": ("n_layers", "层数 n_layers"),
        "config.n_heads": ("n_heads", "头数 n_heads"),
        "config.d_model": ("d_model", "宽度 d_model"),
        "config.n_ctx": ("n_ctx", "上下文长度 n_ctx"),
        "config.d_vocab": ("d_vocab", "词表大小 d_vocab"),
        "config.d_mlp": ("d_mlp", "MLP 宽度 d_mlp"),
        "config.dropout": ("dropout", "dropout"),
        "config.layer_norm_eps": ("layer_norm_eps", "layer_norm_eps"),
        "config.steps": ("steps", "步数 steps"),
        "config.batch_size": ("batch_size", "批大小 batch_size"),
        "config.lr": ("lr", "学习率 lr"),
        "config.min_lr_ratio": ("min_lr_ratio", "最小学习率比例 min_lr_ratio"),
        "config.warmup_steps": ("warmup_steps", "预热步数 warmup_steps"),
        "config.weight_decay": ("weight_decay", "权重衰减 weight_decay"),
        "config.beta1": ("beta1", "beta1"),
        "config.beta2": ("beta2", "beta2"),
        "config.grad_clip": ("grad_clip", "梯度裁剪 grad_clip"),
        "config.eval_interval": ("eval_interval", "评估间隔 eval_interval"),
        "config.eval_batches": ("eval_batches", "评估批数 eval_batches"),
        "config.sample_interval": ("sample_interval", "采样间隔 sample_interval"),
        "config.seed": ("seed", "种子 seed"),
        "config.optimizer": ("optimizer", "优化器 optimizer"),
        "config.muon_lr": ("muon_lr", "Muon 学习率 muon_lr"),
        "config.muon_momentum": ("muon_momentum", "Muon 动量 muon_momentum"),
        "config.precision": ("precision", "计算精度 precision"),
        "config.max_new_tokens": ("max_new_tokens", "新词元数 max_new_tokens"),
        "config.temperature": ("temperature", "温度 temperature"),
        "config.top_k": ("top_k", "top_k"),
        "config.top_p": ("top_p", "top_p"),
        "config.heads_divide": (
            "d_model ({d_model}) must be divisible by n_heads ({n_heads})",
            "宽度 d_model（{d_model}）必须能被头数 n_heads（{n_heads}）整除",
        ),
        "config.not_gpt2": (
            "model_type is {model_type}; only GPT-2-architecture models (model_type 'gpt2') are supported",
            "model_type 是 {model_type}；只支持 GPT-2 架构的模型（model_type 'gpt2'）",
        ),
        "config.activation": (
            "activation_function {act} is not supported (need 'gelu_new')",
            "不支持激活函数 activation_function {act}（需要 'gelu_new'）",
        ),
        "config.flag_unsupported": ("{flag}=true is not supported", "不支持 {flag}=true"),
        "config.untied": (
            "tie_word_embeddings=false is not supported (GPT-2 ties them)",
            "不支持 tie_word_embeddings=false（GPT-2 共享输入和输出嵌入）",
        ),
        "config.missing_key": ("config.json is missing the GPT-2 key {key}", "config.json 缺少 GPT-2 键 {key}"),
        "config.null_size": (
            "config.json has a null or non-numeric GPT-2 size (n_embd, n_inner, ...)",
            "config.json 中 GPT-2 的某个尺寸（n_embd、n_inner 等）为空或不是数字",
        ),
    }
)


def check_whole_field(obj: Any, name: str, low: int, high: int) -> None:
    """Check an integer field of a frozen config dataclass (its label key is `config.<name>`);
    store it as an int (12.0 -> 12)."""
    value = check_range(f"config.{name}", getattr(obj, name), low, high, whole=True, error=ConfigRangeError)
    object.__setattr__(obj, name, value)


def check_number_field(obj: Any, name: str, low: float, high: float, *, low_open: bool = False) -> None:
    """Check a real-valued field of a frozen config dataclass (label key `config.<name>`)."""
    check_range(f"config.{name}", getattr(obj, name), low, high, low_open=low_open, error=ConfigRangeError)


OPTIMIZERS = ("muon", "adamw")  # playground/optim.py
PRECISIONS = ("auto", "float32", "bfloat16")  # playground/precision.py


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


# Our size fields and their names in a GPT-2 config.json: the one table that writing, reading
# and vetting a GPT-2 config (ModelConfig.to_gpt2_dict / from_gpt2_dict, hub.check_gpt2_config) use.
GPT2_NAMES: dict[str, str] = {
    "n_layers": "n_layer",
    "n_heads": "n_head",
    "d_model": "n_embd",
    "n_ctx": "n_positions",
    "d_vocab": "vocab_size",
    "d_mlp": "n_inner",
}


def gpt2_sizes(raw: dict[str, Any]) -> dict[str, Any]:
    """Our size fields from a GPT-2 config.json, as written (None where absent), with GPT-2's
    defaults: `n_positions` may be given as the older `n_ctx`, and `n_inner` null means 4 * n_embd."""
    sizes = {ours: raw.get(theirs) for ours, theirs in GPT2_NAMES.items()}
    if sizes["n_ctx"] is None:
        sizes["n_ctx"] = raw.get("n_ctx")
    if not sizes["d_mlp"] and isinstance(sizes["d_model"], int):
        sizes["d_mlp"] = 4 * sizes["d_model"]
    return sizes


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
        for name, (lo, hi) in MODEL_LIMITS.items():  # d_model is checked before d_mlp's default
            if name == "d_mlp" and self.d_mlp == 0:
                object.__setattr__(self, "d_mlp", 4 * self.d_model)
            check_whole_field(self, name, lo, hi)
        if self.d_model % self.n_heads:
            raise ConfigError("config.heads_divide", d_model=self.d_model, n_heads=self.n_heads)
        check_number_field(self, "dropout", 0.0, 0.9)
        check_number_field(self, "layer_norm_eps", 0.0, 1e-2, low_open=True)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    # --- GPT-2 (Hugging Face) config.json keys -------------------------------------------
    def to_gpt2_dict(self) -> dict[str, Any]:
        """The keys `transformers.GPT2Config` reads, so our folders load as GPT-2."""
        return {
            "model_type": "gpt2",
            "architectures": ["GPT2LMHeadModel"],
            **{theirs: getattr(self, ours) for ours, theirs in GPT2_NAMES.items()},
            "n_ctx": self.n_ctx,  # older readers look for the context here
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
            raise ConfigError("config.not_gpt2", model_type=repr(cfg.get("model_type")))
        act = cfg.get("activation_function", "gelu_new")
        if act not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ConfigError("config.activation", act=repr(act))
        for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
            if cfg.get(flag):
                raise ConfigError("config.flag_unsupported", flag=flag)
        if cfg.get("tie_word_embeddings", True) is False:
            raise ConfigError("config.untied")
        for ours, theirs in GPT2_NAMES.items():
            if ours not in ("n_ctx", "d_mlp") and theirs not in cfg:  # those two have GPT-2 defaults
                raise ConfigError("config.missing_key", key=repr(theirs))
        sizes = gpt2_sizes(cfg)
        if sizes["d_mlp"] is None:  # n_inner null and n_embd not a number: no default to take
            raise ConfigError("config.null_size")
        return cls(**sizes, dropout=0.0, layer_norm_eps=cfg.get("layer_norm_epsilon", 1e-5))


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
    optimizer: str = "muon"  # "muon": Muon for weight matrices + AdamW (lr) for the rest; "adamw": AdamW for all
    muon_lr: float = 0.02  # Muon's peak learning rate (the schedule scales it like lr)
    muon_momentum: float = 0.95
    precision: str = "auto"  # "auto": bfloat16 autocast where the CPU has bf16 instructions; "float32"

    def __post_init__(self) -> None:
        check_whole_field(self, "steps", 1, 100_000)
        check_whole_field(self, "batch_size", 1, 512)
        check_number_field(self, "lr", 0.0, 1.0, low_open=True)
        check_number_field(self, "min_lr_ratio", 0.0, 1.0)
        check_whole_field(self, "warmup_steps", 0, 100_000)
        check_number_field(self, "weight_decay", 0.0, 1.0)
        check_number_field(self, "beta1", 0.0, 0.9999)
        check_number_field(self, "beta2", 0.0, 0.9999)
        check_number_field(self, "grad_clip", 0.0, 1e3)
        check_whole_field(self, "eval_interval", 1, 100_000)
        check_whole_field(self, "eval_batches", 1, 1000)
        check_whole_field(self, "sample_interval", 0, 100_000)
        check_whole_field(self, "seed", 0, 2**31 - 1)
        check_choice("config.optimizer", self.optimizer, OPTIMIZERS, error=ConfigError)
        check_number_field(self, "muon_lr", 0.0, 1.0, low_open=True)
        check_number_field(self, "muon_momentum", 0.0, 0.9999)
        check_choice("config.precision", self.precision, PRECISIONS, error=ConfigError)

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

    def __post_init__(self) -> None:
        check_whole_field(self, "max_new_tokens", 1, 1024)
        check_number_field(self, "temperature", 0.0, 10.0, low_open=True)
        check_whole_field(self, "top_k", 0, 50304)
        check_number_field(self, "top_p", 0.0, 1.0, low_open=True)
        if self.seed is not None:
            check_whole_field(self, "seed", 0, 2**31 - 1)


# Named sizes for the CLI and the Train tab.
PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(n_layers=2, n_heads=2, d_model=64, n_ctx=64, d_vocab=512),
    "small": ModelConfig(n_layers=4, n_heads=4, d_model=128, n_ctx=128, d_vocab=512),
}
