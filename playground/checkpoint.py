"""Checkpoint folders: save, load, zip export and import — safetensors and JSON only.

A model is a folder that 🤗 transformers loads as GPT-2:

    config.json        GPT-2 keys + our "playground" block (tokenizer kind, corpus, training)
    model.safetensors  float32 weights under GPT-2 names; the tied lm_head is stored once, as wte
    tokenizer.json     Hugging Face tokenizers format
    card.json          optional free-form summary written by the trainer

Uploaded files are untrusted, so nothing here ever unpickles (no `torch.load`, no `pickle`):
weights are read with `safetensors`, which only parses a JSON header and raw numbers. Every
load checks sizes before reading, then names, dtypes and shapes against config.json, and
raises `CheckpointError` saying what is wrong and what is allowed.
"""

from __future__ import annotations

import json
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from . import device as devices
from .config import ConfigError, ModelConfig
from .errors import PlaygroundError, register
from .model import TinyGPT, parameter_count, weight_shapes
from .tokenizer import Tokenizer, TokenizerError

MiB = 1024 * 1024
# model.safetensors: the largest model MODEL_LIMITS allows (GPT-2 small, 124M parameters) is
# ~500 MB in float32; the Hub's GPT-2 file also stores 12 attention-mask buffers (548 MB).
MAX_CHECKPOINT_BYTES = 600 * MiB
# config.json, tokenizer.json, card.json each (GPT-2's tokenizer.json is 1.4 MB).
MAX_JSON_BYTES = 16 * MiB
HISTORY_FILE = "history.json"  # a run's recorded training (history.py), optional
# A user's zip upload, compressed. Shared zips are for small trained models; GPT-2-sized
# models are loaded as folders.
MAX_UPLOAD_ZIP_BYTES = 100 * MiB
# All members of a zip once extracted. Float weights hardly compress, so an honest checkpoint
# grows little when unzipped; this bounds what a zip bomb can write to disk.
MAX_UNZIPPED_BYTES = 2 * MAX_UPLOAD_ZIP_BYTES
MAX_ZIP_MEMBERS = 16
# The zip's central directory (one entry per member, with its name): 16 entries need ~2 KB.
MAX_ZIP_DIRECTORY_BYTES = 64 * 1024
_EOCD_SEARCH = 22 + 65535  # the end-of-central-directory record and the longest zip comment

FORMAT_VERSION = 1
REQUIRED_FILES = ("config.json", "model.safetensors")
ALLOWED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "card.json")
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")  # safetensors names; all are converted to float32
# Causal-mask buffers older transformers versions saved with the weights; we rebuild the mask.
_MASK_BUFFER = re.compile(r"(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)")
_TIED_HEAD = "lm_head.weight"
_CHUNK = MiB
# Weights may be at most this large in magnitude: the first layer norm squares the embedding
# rows, and float32 overflows past 3.4e38 (so |x| must stay well under 1.8e19). Trained models'
# weights are below ~100; 1e15 refuses only files made to break the arithmetic.
MAX_ABS_WEIGHT = 1e15
PROBE_TOKENS = 32  # positions of the forward pass that checks a loaded model's outputs are numbers

register({
    "checkpoint.too_many_params": (
        "the model declares {n} parameters in config.json; the limit here is {limit} — nothing was loaded",
        "这个模型在 config.json 中声明了 {n} 个参数；这里的上限是 {limit}——没有加载任何权重",
    ),
    "checkpoint.weight_too_large": (
        "tensor {name} holds a value of magnitude {value}; weights must be at most {limit} in absolute value "
        "(larger ones overflow float32 arithmetic)",
        "张量 {name} 中有绝对值为 {value} 的数；权重的绝对值最多为 {limit}（更大的数会让 float32 运算溢出）",
    ),
    "checkpoint.forward_not_finite": (
        "the weights are finite but a forward pass on {n} probe tokens gives {what} (the arithmetic "
        "overflows); use a model whose weights are of ordinary size",
        "权重本身是有限数，但对 {n} 个探测词元做前向计算得到了 {what}（运算溢出）；请使用权重大小正常的模型",
    ),
})


class CheckpointError(PlaygroundError):
    """A checkpoint file or folder cannot be used; the message says what is wrong and what is allowed."""


register(
    {
        "checkpoint.file_too_large": ("{name} is {size}; the limit is {limit}", "{name} 有 {size}；上限是 {limit}"),
        "checkpoint.bad_json": ("{name} is not valid UTF-8 JSON: {detail}", "{name} 不是有效的 UTF-8 JSON：{detail}"),
        "checkpoint.json_not_object": (
            "{name} must hold a JSON object {{...}}, not {type}",
            "{name} 必须是一个 JSON 对象 {{...}}，而不是 {type}",
        ),
        "checkpoint.not_serialisable": (
            "{name} must be JSON-serialisable (dicts, lists, str, numbers): {detail}",
            "{name} 必须能写成 JSON（字典、列表、字符串、数字）：{detail}",
        ),
        "checkpoint.tensor_twice": (
            "model.safetensors holds {name} twice (as {first} and {second})",
            "model.safetensors 中有两个 {name}（{first} 和 {second}）",
        ),
        "checkpoint.unexpected_tensors": (
            "model.safetensors has {n} tensor(s) the model in config.json does not have: {names} ({config})",
            "model.safetensors 有 {n} 个 config.json 中的模型没有的张量：{names}（{config}）",
        ),
        "checkpoint.missing_tensors": (
            "model.safetensors is missing {n} tensor(s): {names} ({config})",
            "model.safetensors 缺少 {n} 个张量：{names}（{config}）",
        ),
        "checkpoint.dtype": (
            "tensor {name} has dtype {dtype}; weights must be floating point ({allowed})",
            "张量 {name} 的类型是 {dtype}；权重必须是浮点数（{allowed}）",
        ),
        "checkpoint.shape": (
            "tensor {name} has shape {shape}, expected {expected} ({config})",
            "张量 {name} 的形状是 {shape}，应该是 {expected}（{config}）",
        ),
        "checkpoint.not_safetensors": (
            "{name} is not a valid safetensors file ({detail}); it may be truncated or of another format.",
            "{name} 不是有效的 safetensors 文件（{detail}）；它可能被截断了，或是其他格式。",
        ),
        "checkpoint.pickle": (
            "{name} is not a valid safetensors file ({detail}); it may be truncated or of another format. It looks "
            "like a PyTorch/pickle file (torch.save); pickles can run code and are never loaded here — convert it "
            "with safetensors.torch.save_file.",
            "{name} 不是有效的 safetensors 文件（{detail}）；它可能被截断了，或是其他格式。它看起来是 PyTorch/pickle "
            "文件（torch.save）；pickle 可以执行代码，这里永远不会加载它——请用 safetensors.torch.save_file 转换。",
        ),
        "checkpoint.no_weights": (
            "{name} not found: a checkpoint needs its weights in model.safetensors",
            "找不到 {name}：检查点的权重必须放在 model.safetensors 中",
        ),
        "checkpoint.not_finite": ("tensor {name} contains NaN or infinite values", "张量 {name} 含有 NaN 或无穷大的值"),
        "checkpoint.bad_config": (
            "config.json is not a usable GPT-2 config: {reason}",
            "config.json 不是可用的 GPT-2 配置：{reason}",
        ),
        "checkpoint.meta_not_object": (
            'config.json: "playground" must be a JSON object',
            'config.json："playground" 必须是一个 JSON 对象',
        ),
        "checkpoint.format_version": (
            "config.json has playground format_version {version}; this version reads {expected}",
            "config.json 的 playground format_version 是 {version}；这个版本只能读取 {expected}",
        ),
        "checkpoint.bad_tokenizer": ("{name}: {reason}", "{name}：{reason}"),
        "checkpoint.tokenizer_larger": (
            "{name} has {n} tokens but the model has only {d_vocab} embeddings (config.json); the tokenizer's "
            "vocabulary must not be larger",
            "{name} 有 {n} 个词元，但模型只有 {d_vocab} 个嵌入向量（config.json）；分词器的词表不能更大",
        ),
        "checkpoint.save_tokenizer_larger": (
            "the tokenizer has {n} tokens but the model only {d_vocab} embeddings",
            "分词器有 {n} 个词元，但模型只有 {d_vocab} 个嵌入向量",
        ),
        "checkpoint.missing_files": (
            "missing {names}; a checkpoint folder holds config.json, model.safetensors and tokenizer.json "
            "(card.json optional)",
            "缺少 {names}；检查点文件夹应包含 config.json、model.safetensors 和 tokenizer.json（card.json 可选）",
        ),
        "checkpoint.cannot_load": ("cannot load {name}: {reason}", "无法加载 {name}：{reason}"),
        "checkpoint.not_a_checkpoint": (
            "{path} is a file, not a checkpoint folder (config.json, model.safetensors, tokenizer.json) or a "
            ".zip of one",
            "{path} 是一个文件，不是检查点文件夹（config.json、model.safetensors、tokenizer.json），也不是它的 .zip",
        ),
        "checkpoint.no_such_path": (
            "{path} does not exist; expected a checkpoint folder (config.json, model.safetensors, tokenizer.json) "
            "or a .zip of one",
            "{path} 不存在；需要一个检查点文件夹（config.json、model.safetensors、tokenizer.json）或它的 .zip",
        ),
        "checkpoint.export_not_folder": (
            "{name} is not a checkpoint folder: missing {names}",
            "{name} 不是检查点文件夹：缺少 {names}",
        ),
        "checkpoint.export_too_large": (
            "the zip would be over {limit}, too large to import again; share the folder instead",
            "zip 会超过 {limit}，太大而无法再次导入；请改为分享文件夹",
        ),
        "checkpoint.zip_absolute": (
            "zip member {member} has an absolute or Windows path; only relative paths are allowed",
            "zip 成员 {member} 使用了绝对路径或 Windows 路径；只允许相对路径",
        ),
        "checkpoint.zip_dots": (
            "zip member {member} has '..', '.' or an empty path part; that is not allowed",
            "zip 成员 {member} 的路径含有 '..'、'.' 或空的部分；这是不允许的",
        ),
        "checkpoint.zip_symlink": (
            "zip member {member} is a symbolic link; only regular files are allowed",
            "zip 成员 {member} 是符号链接；只允许普通文件",
        ),
        "checkpoint.zip_encrypted": (
            "zip member {member} is encrypted; zips must not use a password",
            "zip 成员 {member} 已加密；zip 不能使用密码",
        ),
        "checkpoint.zip_nested": (
            "zip member {member} is nested too deep; put the files at the top or in one folder",
            "zip 成员 {member} 嵌套太深；请把文件放在最外层或同一个文件夹里",
        ),
        "checkpoint.zip_member_not_allowed": (
            "zip member {member} is not allowed; a checkpoint zip may only hold {allowed} (at the top or inside "
            "one folder)",
            "zip 成员 {member} 不被允许；检查点 zip 只能包含 {allowed}（在最外层或同一个文件夹里）",
        ),
        "checkpoint.zip_compression": (
            "zip member {member} uses an unsupported compression; use 'stored' or 'deflate'",
            "zip 成员 {member} 使用了不支持的压缩方式；请使用 'stored' 或 'deflate'",
        ),
        "checkpoint.zip_members": (
            "the zip has {n} members; at most {limit} are allowed",
            "zip 有 {n} 个成员；最多允许 {limit} 个",
        ),
        "checkpoint.zip_twice": ("the zip holds {name} twice", "zip 里有两个 {name}"),
        "checkpoint.zip_member_too_large": (
            "{name} in the zip is {size} unpacked; the limit is {limit}",
            "zip 中的 {name} 解压后有 {size}；上限是 {limit}",
        ),
        "checkpoint.zip_folders": (
            "the zip's files are spread over several folders; put them in one folder",
            "zip 的文件分散在多个文件夹里；请放在同一个文件夹里",
        ),
        "checkpoint.zip_too_large": (
            "the zip unpacks to {size}; the limit is {limit}",
            "zip 解压后有 {size}；上限是 {limit}",
        ),
        "checkpoint.zip_missing": (
            "the zip has no {names}; a checkpoint zip holds {allowed}",
            "zip 里没有 {names}；检查点 zip 应包含 {allowed}",
        ),
        "checkpoint.zip_lies": (
            "{name} in the zip unpacks to more than its declared size",
            "zip 中的 {name} 解压后比它声明的大小更大",
        ),
        "checkpoint.not_zip": ("the file is not a zip archive", "这个文件不是 zip 压缩包"),
        "checkpoint.zip64": (
            "the zip is a ZIP64 archive; a checkpoint zip is small and must not need ZIP64",
            "这个 zip 是 ZIP64 格式；检查点 zip 很小，不需要 ZIP64",
        ),
        "checkpoint.zip_directory": (
            "the zip's directory is {size}; at most {limit} (a checkpoint zip lists at most {n} files)",
            "zip 的目录有 {size}；最多 {limit}（检查点 zip 最多包含 {n} 个文件）",
        ),
        "checkpoint.zip_not_file": ("{path} does not exist or is not a file", "{path} 不存在或不是文件"),
        "checkpoint.zip_damaged": ("the zip is damaged: {detail}", "zip 已损坏：{detail}"),
        "checkpoint.dest_not_empty": ("{path} must be a new or empty folder", "{path} 必须是一个新的或空的文件夹"),
        "checkpoint.cannot_import": ("cannot import {name}: {reason}", "无法导入 {name}：{reason}"),
    }
)


@dataclass
class Checkpoint:
    model: TinyGPT  # in eval() mode
    tokenizer: Tokenizer | None  # None only when allowed and the folder has no tokenizer.json
    config: ModelConfig
    meta: dict  # the config.json "playground" block ({} for a plain GPT-2 folder)
    card: dict | None


# ----- small helpers ---------------------------------------------------------------------


def human_size(n_bytes: int) -> str:
    return f"{n_bytes / MiB:,.1f} MiB" if n_bytes >= MiB else f"{n_bytes:,} bytes"


def _list(names: list[str], limit: int = 6) -> str:
    """Name a few items, then say how many more, so messages stay readable."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_file_size(path: Path, limit: int) -> None:
    size = path.stat().st_size
    if size > limit:
        raise CheckpointError(
            "checkpoint.file_too_large", name=path.name, size=human_size(size), limit=human_size(limit)
        )


def read_json(path: Path) -> dict[str, Any]:
    check_file_size(path, MAX_JSON_BYTES)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError("checkpoint.bad_json", name=path.name, detail=str(err)) from None
    if not isinstance(data, dict):
        raise CheckpointError("checkpoint.json_not_object", name=path.name, type=type(data).__name__)
    return data


def json_text(data: Any, name: str) -> str:
    try:
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    except (TypeError, ValueError) as err:
        raise CheckpointError("checkpoint.not_serialisable", name=name, detail=str(err)) from None


# ----- weights ---------------------------------------------------------------------------


def _describe(cfg: ModelConfig) -> str:
    return (
        f"config.json: {cfg.n_layers} layers, d_model {cfg.d_model}, d_mlp {cfg.d_mlp}, "
        f"n_ctx {cfg.n_ctx}, vocab {cfg.d_vocab}"
    )


def _match_names(
    keys: list[str], expected: dict[str, tuple[int, ...]], describe: str, alias=None, skip=None
) -> dict[str, str]:
    """Map our tensor names to the file's keys. `alias(key)` gives the name a key stands for
    (GPT-2: Hub files lack the `transformer.` prefix); keys where `skip(key)` holds are ignored."""
    found: dict[str, str] = {}
    unexpected = []
    for key in keys:
        if skip is not None and skip(key):
            continue
        name = alias(key) if alias is not None else key
        if name not in expected:
            unexpected.append(key)
        elif name in found:
            raise CheckpointError("checkpoint.tensor_twice", name=name, first=found[name], second=key)
        else:
            found[name] = key
    if unexpected:
        raise CheckpointError(
            "checkpoint.unexpected_tensors", n=len(unexpected), names=_list(sorted(unexpected)), config=describe
        )
    missing = [name for name in expected if name not in found]
    if missing:
        raise CheckpointError("checkpoint.missing_tensors", n=len(missing), names=_list(missing), config=describe)
    return found


def _check_header(f, key: str, shape: tuple[int, ...], describe: str) -> None:
    """Dtype and shape from the safetensors header, before any data is read."""
    entry = f.get_slice(key)
    dtype, actual = entry.get_dtype(), tuple(entry.get_shape())
    if dtype not in FLOAT_DTYPES:
        raise CheckpointError("checkpoint.dtype", name=key, dtype=dtype, allowed=", ".join(FLOAT_DTYPES))
    if actual != shape:
        raise CheckpointError(
            "checkpoint.shape", name=key, shape=str(list(actual)), expected=str(list(shape)), config=describe
        )


def not_safetensors_error(path: Path, err: Exception) -> CheckpointError:
    """Explain a file safetensors refused, recognising the usual mistake: a PyTorch pickle."""
    with path.open("rb") as f:
        head = f.read(2)
    pickle = head in (b"PK", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
    key = "checkpoint.pickle" if pickle else "checkpoint.not_safetensors"
    return CheckpointError(key, name=path.name, detail=str(err))


def read_weights(
    path: Path,
    expected: dict[str, tuple[int, ...]],
    describe: str,
    *,
    alias=None,
    skip=None,
    check_too: dict[str, tuple[int, ...]] | None = None,
) -> dict[str, torch.Tensor]:
    """Float32 tensors by our name from a safetensors file, every model's one weight reader.

    Checks, in order: the file's size, then from the header alone the names (`expected`, via
    `_match_names`), dtypes and shapes, then reads and requires finite values. `check_too`: keys
    that may be in the file and are checked but not read (GPT-2's tied lm_head). `describe`
    ends each shape message (what config.json says).
    """
    check_file_size(path, MAX_CHECKPOINT_BYTES)
    try:
        with safe_open(path, framework="pt") as f:
            keys = list(f.keys())
            names = _match_names(keys, expected, describe, alias, skip)
            for name, key in names.items():
                _check_header(f, key, expected[name], describe)
            for key, shape in (check_too or {}).items():
                if key in keys:
                    _check_header(f, key, shape, describe)
            state = {name: f.get_tensor(key).to(torch.float32) for name, key in names.items()}
    except SafetensorError as err:
        raise not_safetensors_error(path, err) from None
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise CheckpointError("checkpoint.not_finite", name=names[name])
        largest = float(tensor.abs().max()) if tensor.numel() else 0.0
        if largest > MAX_ABS_WEIGHT:
            raise PlaygroundError("checkpoint.weight_too_large", name=names[name], value=largest,
                                  limit=MAX_ABS_WEIGHT)
    return state


def load_state_dict_checked(file, cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Read a GPT-2 safetensors file as float32 tensors named like `TinyGPT.state_dict()`.

    Accepts HF files with or without the `transformer.` prefix, with or without the tied
    `lm_head.weight`, with or without old causal-mask buffers (ignored). Float16/bfloat16/
    float64 are converted to float32. The result's `lm_head.weight` is the wte tensor itself.
    """
    path = Path(file)
    if not path.is_file():
        raise CheckpointError("checkpoint.no_weights", name=path.name)
    expected = weight_shapes(cfg)
    state = read_weights(
        path, expected, _describe(cfg),
        alias=lambda key: key if key in expected else f"transformer.{key}",
        skip=lambda key: key == _TIED_HEAD or _MASK_BUFFER.fullmatch(key) is not None,
        check_too={_TIED_HEAD: expected["transformer.wte.weight"]},
    )  # fmt: skip
    state[_TIED_HEAD] = state["transformer.wte.weight"]
    return state


# ----- config, tokenizer -----------------------------------------------------------------


def read_config(path: Path) -> tuple[ModelConfig, dict]:
    raw = read_json(path)
    try:
        cfg = ModelConfig.from_gpt2_dict(raw)
    except (ConfigError, TypeError, ValueError) as err:
        raise CheckpointError("checkpoint.bad_config", reason=err) from None
    meta = raw.get("playground") or {}
    if not isinstance(meta, dict):
        raise CheckpointError("checkpoint.meta_not_object")
    version = meta.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise CheckpointError("checkpoint.format_version", version=repr(version), expected=FORMAT_VERSION)
    return cfg, meta


def read_tokenizer(path: Path, d_vocab: int) -> Tokenizer:
    """A tokenizer.json no larger than its model's `d_vocab` embeddings (any model kind)."""
    check_file_size(path, MAX_JSON_BYTES)
    try:
        tokenizer = Tokenizer.from_file(path)
    except TokenizerError as err:
        raise CheckpointError("checkpoint.bad_tokenizer", name=path.name, reason=err) from None
    if tokenizer.vocab_size > d_vocab:
        raise CheckpointError("checkpoint.tokenizer_larger", name=path.name, n=tokenizer.vocab_size, d_vocab=d_vocab)
    return tokenizer


def _special_token_ids(tokenizer: Tokenizer | None) -> dict[str, int | None]:
    """GPT-2's <|endoftext|> if the vocabulary has it; otherwise null, so transformers does not
    assume GPT-2's id 50256, which may lie outside a small vocabulary."""
    token_id = tokenizer.hf.token_to_id("<|endoftext|>") if tokenizer is not None else None
    return {"bos_token_id": token_id, "eos_token_id": token_id}


# ----- folders ---------------------------------------------------------------------------


def save_checkpoint(
    folder, model: TinyGPT, tokenizer: Tokenizer | None, meta: dict | None = None, card: dict | None = None
) -> Path:
    """Write `model` (and its tokenizer, metadata and card) as a GPT-2 folder; returns the folder.

    Files of a previous save that this one does not write (tokenizer.json, card.json, and the
    training recording history.json, which `history.save_history` adds afterwards) are removed,
    so the folder never describes two different models.
    """
    cfg = model.cfg
    if tokenizer is not None and tokenizer.vocab_size > cfg.d_vocab:
        raise CheckpointError("checkpoint.save_tokenizer_larger", n=tokenizer.vocab_size, d_vocab=cfg.d_vocab)
    block = {**(meta or {}), "format_version": FORMAT_VERSION}
    if tokenizer is not None:
        block["tokenizer_kind"] = tokenizer.kind
    config = {**cfg.to_gpt2_dict(), **_special_token_ids(tokenizer), "playground": block}
    texts = {"config.json": json_text(config, "meta")}
    if tokenizer is not None:
        texts["tokenizer.json"] = tokenizer.to_str()
    if card is not None:
        texts["card.json"] = json_text(card, "card")
    # state_dict() lists the tied output layer too; safetensors refuses shared tensors, and HF
    # stores it once, as wte.
    state = {
        name: t.detach().to("cpu", torch.float32).contiguous()
        for name, t in model.state_dict().items()
        if name != _TIED_HEAD
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})  # "pt": HF requires it
    for name in ("tokenizer.json", "card.json", HISTORY_FILE):  # history.json: see history.py
        if name not in texts:
            (folder / name).unlink(missing_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def check_param_count(cfg: ModelConfig, max_params: int | None) -> None:
    """Refuse a model larger than `max_params` from its config alone, before any tensor is read
    (a small zip can declare a huge model: config.json is what the loader would allocate)."""
    if max_params is not None and parameter_count(cfg) > max_params:
        raise PlaygroundError("checkpoint.too_many_params", n=parameter_count(cfg), limit=max_params)


def check_forward_finite(model: TinyGPT) -> None:
    """One small forward pass; finite weights can still overflow (e.g. all 3e38), which would show
    as NaN percentages and crash sampling and training later. Cheap: PROBE_TOKENS positions."""
    cfg = model.cfg
    n = min(PROBE_TOKENS, cfg.n_ctx)
    ids = (torch.arange(n, device=model.device) * max(1, cfg.d_vocab // n)) % cfg.d_vocab  # (n,) spread over vocab
    with torch.no_grad():
        logits = model(ids[None])  # (1, n, d_vocab)
    if not torch.isfinite(logits).all():
        what = "NaN" if torch.isnan(logits).any() else "infinite values"
        raise PlaygroundError("checkpoint.forward_not_finite", n=n, what=what)


def _load_folder(folder: Path, allow_missing_tokenizer: bool, device, max_params: int | None = None) -> Checkpoint:
    required = REQUIRED_FILES if allow_missing_tokenizer else (*REQUIRED_FILES, "tokenizer.json")
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise CheckpointError("checkpoint.missing_files", names=", ".join(missing))
    cfg, meta = read_config(folder / "config.json")
    check_param_count(cfg, max_params)  # before the tokenizer or any tensor is read
    tokenizer_file = folder / "tokenizer.json"
    tokenizer = read_tokenizer(tokenizer_file, cfg.d_vocab) if tokenizer_file.is_file() else None
    state = load_state_dict_checked(folder / "model.safetensors", cfg)
    card = read_json(folder / "card.json") if (folder / "card.json").is_file() else None
    model = TinyGPT(cfg)
    model.load_state_dict(state)
    del state
    model.eval()
    check_forward_finite(model)  # on the CPU, before the model moves to its device
    return Checkpoint(model.to(device).eval(), tokenizer, cfg, meta, card)


def load_checkpoint(
    path, *, allow_missing_tokenizer: bool = False, device=None, max_params: int | None = None
) -> Checkpoint:
    """Load a checkpoint folder or a .zip of one (also a GPT-2 folder saved by transformers).

    The model goes to `device` (default: the `PLAYGROUND_DEVICE` setting, see device.py).
    `max_params` refuses a larger model from config.json alone: for a zip, config.json is
    extracted and checked first, so an oversized model costs neither disk nor memory."""
    path = Path(path)
    device = devices.resolve() if device is None else device
    try:
        if path.is_dir():
            return _load_folder(path, allow_missing_tokenizer, device, max_params)
        if path.is_file() and (path.suffix.lower() == ".zip" or zipfile.is_zipfile(path)):
            with tempfile.TemporaryDirectory(prefix="checkpoint-") as tmp:
                _extract_zip(path, Path(tmp), lambda config: check_param_count(read_config(config)[0], max_params))
                return _load_folder(Path(tmp), allow_missing_tokenizer, device, max_params)
    except CheckpointError as err:
        raise CheckpointError("checkpoint.cannot_load", name=path.name, reason=err) from None
    raise CheckpointError("checkpoint.not_a_checkpoint" if path.exists() else "checkpoint.no_such_path", path=str(path))


# ----- zip -------------------------------------------------------------------------------


def export_zip(folder, zip_path=None) -> Path:
    """Zip a checkpoint folder's files inside one top-level folder named like it (so unzipping
    makes a folder). Default: `<folder>.zip` beside the folder."""
    folder = Path(folder).resolve()
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise CheckpointError("checkpoint.export_not_folder", name=folder.name, names=", ".join(missing))
    zip_path = Path(zip_path) if zip_path is not None else folder.with_name(folder.name + ".zip")
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name in ALLOWED_FILES:
            if (folder / name).is_file():
                # Float weights barely compress: store them, deflate the JSON.
                method = zipfile.ZIP_STORED if name.endswith(".safetensors") else zipfile.ZIP_DEFLATED
                zf.write(folder / name, f"{folder.name}/{name}", compress_type=method)
    if zip_path.stat().st_size > MAX_UPLOAD_ZIP_BYTES:
        zip_path.unlink()
        raise CheckpointError("checkpoint.export_too_large", limit=human_size(MAX_UPLOAD_ZIP_BYTES))
    return zip_path


def _member_name(info: zipfile.ZipInfo) -> str | None:
    """The checkpoint file a zip member holds (None for a directory entry), or an error if the
    member could escape the destination or is not a plain file we expect."""
    raw = info.filename
    if raw.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", raw) or "\\" in raw:
        raise CheckpointError("checkpoint.zip_absolute", member=repr(raw))
    parts = raw.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise CheckpointError("checkpoint.zip_dots", member=repr(raw))
    if stat.S_ISLNK(info.external_attr >> 16):
        raise CheckpointError("checkpoint.zip_symlink", member=repr(raw))
    if info.flag_bits & 0x1:
        raise CheckpointError("checkpoint.zip_encrypted", member=repr(raw))
    if len(parts) > 2 or (info.is_dir() and len(parts) > 1):
        raise CheckpointError("checkpoint.zip_nested", member=repr(raw))
    if info.is_dir():
        return None
    if parts[-1] not in ALLOWED_FILES:
        raise CheckpointError("checkpoint.zip_member_not_allowed", member=repr(raw), allowed=", ".join(ALLOWED_FILES))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise CheckpointError("checkpoint.zip_compression", member=repr(raw))
    return raw


def _plan_extraction(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """Check the whole central directory before writing anything; map file name -> member."""
    if len(infos) > MAX_ZIP_MEMBERS:
        raise CheckpointError("checkpoint.zip_members", n=len(infos), limit=MAX_ZIP_MEMBERS)
    plan: dict[str, zipfile.ZipInfo] = {}
    folders = set()
    for info in infos:
        raw = _member_name(info)
        if raw is None:
            continue
        folder, _, name = raw.rpartition("/")
        folders.add(folder)
        if name in plan:
            raise CheckpointError("checkpoint.zip_twice", name=name)
        limit = MAX_CHECKPOINT_BYTES if name == "model.safetensors" else MAX_JSON_BYTES
        if info.file_size > limit:
            raise CheckpointError(
                "checkpoint.zip_member_too_large", name=name, size=human_size(info.file_size), limit=human_size(limit)
            )
        plan[name] = info
    if len(folders) > 1:
        raise CheckpointError("checkpoint.zip_folders")
    total = sum(info.file_size for info in plan.values())
    if total > MAX_UNZIPPED_BYTES:
        raise CheckpointError("checkpoint.zip_too_large", size=human_size(total), limit=human_size(MAX_UNZIPPED_BYTES))
    missing = [name for name in REQUIRED_FILES if name not in plan]
    if missing:
        raise CheckpointError("checkpoint.zip_missing", names=", ".join(missing), allowed=", ".join(ALLOWED_FILES))
    return plan


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Stream one member out, stopping as soon as it outgrows its declared size (sizes in the
    central directory are written by whoever made the zip and can lie)."""
    written = 0
    with zf.open(info) as src, target.open("xb") as dst:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise CheckpointError("checkpoint.zip_lies", name=target.name)
            dst.write(chunk)


def _check_directory(zip_path: Path) -> None:
    """Member count and central-directory size from the zip's end record, before `zipfile`
    parses the directory: it builds one ZipInfo per entry (a 25 MB zip of 300,000 empty
    members took 5.6 s and 170 MB to open), and it reads `cd_size` bytes whatever the count says."""
    size = zip_path.stat().st_size
    with zip_path.open("rb") as f:
        f.seek(max(0, size - _EOCD_SEARCH))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise CheckpointError("checkpoint.not_zip")
    _, _, _, n_members, cd_size, _, _ = struct.unpack("<HHHHIIH", tail[at + 4 : at + 22])
    if n_members == 0xFFFF or cd_size == 0xFFFFFFFF:
        raise CheckpointError("checkpoint.zip64")
    if n_members > MAX_ZIP_MEMBERS:
        raise CheckpointError("checkpoint.zip_members", n=n_members, limit=MAX_ZIP_MEMBERS)
    if cd_size > MAX_ZIP_DIRECTORY_BYTES:
        raise CheckpointError(
            "checkpoint.zip_directory",
            size=human_size(cd_size),
            limit=human_size(MAX_ZIP_DIRECTORY_BYTES),
            n=MAX_ZIP_MEMBERS,
        )


def _extract_zip(zip_path: Path, dest: Path, check_config=None) -> None:
    """Extract a checkpoint zip's files flat into the existing, empty folder `dest`.
    config.json comes out first; `check_config(path)` may refuse it before the weights are written."""
    if not zip_path.is_file():
        raise CheckpointError("checkpoint.zip_not_file", path=str(zip_path))
    check_file_size(zip_path, MAX_UPLOAD_ZIP_BYTES)
    if not zipfile.is_zipfile(zip_path):
        raise CheckpointError("checkpoint.not_zip")
    _check_directory(zip_path)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            plan = _plan_extraction(zf.infolist())
            for name in sorted(plan, key=lambda name: name != "config.json"):
                _copy_member(zf, plan[name], dest / name)
                if name == "config.json" and check_config is not None:
                    check_config(dest / name)
    except (CheckpointError, PlaygroundError):
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise CheckpointError("checkpoint.zip_damaged", detail=str(err)) from None


def import_zip(zip_path, dest_dir, *, allow_missing_tokenizer: bool = False) -> Path:
    """Safely extract a checkpoint zip into `dest_dir` (new or empty) and validate it fully;
    returns `dest_dir`. On any error nothing is left in `dest_dir`."""
    zip_path, dest = Path(zip_path), Path(dest_dir)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CheckpointError("checkpoint.dest_not_empty", path=str(dest))
    dest.mkdir(parents=True, exist_ok=True)
    try:
        _extract_zip(zip_path, dest)
        _load_folder(dest, allow_missing_tokenizer, "cpu")  # validation only
    except BaseException as err:
        for path in dest.iterdir():
            path.unlink()
        if isinstance(err, CheckpointError):
            raise CheckpointError("checkpoint.cannot_import", name=zip_path.name, reason=err) from None
        raise
    return dest
