"""GPT-2-family models from the Hugging Face Hub, loaded into TinyGPT — safetensors and JSON only.

    from playground import hub, load_model
    bundle = hub.load_hub_model("distilgpt2")     # the same as load_model("hf:distilgpt2")
    hub.parse_repo_id("hf:openai-community/gpt2")  # -> "openai-community/gpt2"

Names: `"hf:<repo id>"` or a bare repo id (`"gpt2"`, `"owner/name"`). The id's syntax is
checked (`parse_repo_id`) before anything touches the network or the disk; the id reaches the
file system only as huggingface_hub's own cache folder name. Which strings `api.load_model`
sends here is documented there: `hf:` always; a bare id only when it is neither a built-in name
nor an existing path. The UI's model picker never treats what a user types as a path.

What is fetched, with huggingface_hub into its cache (HF_HUB_CACHE), no access token sent
(`token=False`: a public server must not lend its owner's access to private or gated repos):

1. the repo's file list with sizes (online only), so a repo lacking files is refused before
   any download;
2. `config.json`, checked first: model_type "gpt2" and every size within
   `config.MODEL_LIMITS` (at most GPT-2 small: gpt2-medium and larger are refused);
3. `model.safetensors` (size-checked before download) and `tokenizer.json`, or GPT-2's older
   `vocab.json` + `merges.txt` when a repo has no tokenizer.json.

Nothing is unpickled: a repo with only `pytorch_model.bin` is refused with a message saying why.
Weights are read by `checkpoint.load_state_dict_checked` (Hub names without `transformer.`, the
tied `lm_head`, the old `attn.bias` / `attn.masked_bias` mask buffers, float16 — all handled).

Offline (HF_HUB_OFFLINE=1), or when the Hub cannot be reached, only models already in the cache
load; otherwise the message says so. Loaded models are shared read-only (like the built-in
ones) in a small LRU of `PLAYGROUND_HUB_CACHE_SIZE` models (default 2: GPT-2 small is ~500 MB
in float32). `PLAYGROUND_HUB_ALLOW` restricts a public server: "*" allows any repo, "none"
switches Hub loading off, otherwise a comma-separated list of allowed repo ids; unset, it is "*"
except on a Hugging Face Space (SPACE_ID set), where it is "gpt2,distilgpt2". The disk cache is
bounded by `PLAYGROUND_HUB_DISK_MB` (default: no bound, 2048 on a Space): a download larger than
the bound is refused, and after each download the least recently used other repos are deleted
until the cache fits.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from . import device as devices
from .bundle import ModelBundle
from .checkpoint import (
    MAX_CHECKPOINT_BYTES,
    MAX_JSON_BYTES,
    CheckpointError,
    check_file_size,
    check_forward_finite,
    human_size,
    load_state_dict_checked,
    read_config,
    read_json,
    read_tokenizer,
)
from .config import GPT2_NAMES, MODEL_LIMITS, gpt2_sizes
from .errors import PlaygroundError, register
from .model import TinyGPT
from .tokenizer import Tokenizer, TokenizerError

HUB_PREFIX = "hf:"
CONFIG, WEIGHTS, TOKENIZER = "config.json", "model.safetensors", "tokenizer.json"
VOCAB, MERGES = "vocab.json", "merges.txt"  # GPT-2's tokenizer files before tokenizer.json
EXAMPLES = "gpt2, distilgpt2"  # named in messages: GPT-2-family repos within MODEL_LIMITS
SPACE_DEFAULT_ALLOW = "gpt2,distilgpt2"  # PLAYGROUND_HUB_ALLOW's default on a Hugging Face Space
SPACE_DEFAULT_DISK_MB = 2048  # PLAYGROUND_HUB_DISK_MB's default on a Space (GPT-2 small: ~550 MB)

register({
    "hub.over_disk_limit": (
        "{repo} needs {size_mb} MB of disk; this server's Hub cache is limited to {limit_mb} MB "
        "(PLAYGROUND_HUB_DISK_MB)",
        "{repo} 需要 {size_mb} MB 磁盘空间；这台服务器的 Hub 缓存上限是 {limit_mb} MB（PLAYGROUND_HUB_DISK_MB）",
    ),
})
# One part of a repo id: letters, digits, "-", "_", "." — not first or last, never doubled "--"/".."
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO_ID_PATTERN = re.compile(rf"(?:{_PART}/)?{_PART}")
MAX_REPO_ID_CHARS = 96
LIST_TIMEOUT_S = 15.0
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class HubError(PlaygroundError):
    """A Hub model cannot be used; the message says what is wrong and what is allowed."""


class HubModelNotFound(HubError):
    """No such public repo on the Hub, or (offline / Hub unreachable) not in the local cache."""


register(
    {
        "hub.id_not_text": ("a Hub model id must be text, got {type}", "Hub 模型 id 必须是文本，收到的是 {type}"),
        "hub.bad_id": (
            "{name} is not a Hugging Face Hub model id: write 'name' or 'owner/name' (optionally after 'hf:'), "
            "using letters, digits, '-', '_' and '.', at most {limit} characters, e.g. {examples} or "
            "openai-community/gpt2",
            "{name} 不是 Hugging Face Hub 的模型 id：请写 'name' 或 'owner/name'（前面可加 'hf:'），只用字母、数字、"
            "'-'、'_' 和 '.'，最多 {limit} 个字符，例如 {examples} 或 openai-community/gpt2",
        ),
        "hub.switched_off": (
            "loading models from the Hugging Face Hub is switched off on this server (PLAYGROUND_HUB_ALLOW)",
            "本服务器已关闭从 Hugging Face Hub 加载模型（PLAYGROUND_HUB_ALLOW）",
        ),
        "hub.not_allowed": (
            "this server loads only these Hub models: {allowed} (PLAYGROUND_HUB_ALLOW)",
            "本服务器只加载这些 Hub 模型：{allowed}（PLAYGROUND_HUB_ALLOW）",
        ),
        "hub.gated_repo": (
            "{repo} is a gated repository (users must accept terms); only public models load",
            "{repo} 是受限仓库（用户必须先接受条款）；只能加载公开的模型",
        ),
        "hub.not_found": (
            "there is no public model repository {repo} on the Hugging Face Hub (check the spelling; private and "
            "gated repos are not loaded). GPT-2-family examples: {examples}",
            "Hugging Face Hub 上没有公开的模型仓库 {repo}（请检查拼写；私有和受限仓库不会被加载）。"
            "GPT-2 系列的例子：{examples}",
        ),
        "hub.refused": (
            "the Hugging Face Hub refused {repo} (HTTP {status})",
            "Hugging Face Hub 拒绝了 {repo}（HTTP {status}）",
        ),
        "hub.gated_or_private": (
            "{repo} is gated or private; only public models load",
            "{repo} 是受限或私有的；只能加载公开的模型",
        ),
        "hub.sharded": (
            "{repo} stores its weights in several safetensors shards; only a single {weights} is supported "
            "(models within the playground's limits fit in one file)",
            "{repo} 把权重分成了多个 safetensors 分片；只支持单个 {weights}（在本游乐场限制之内的模型放得进一个文件）",
        ),
        "hub.pickle_only": (
            "{repo} has no {weights}, only PyTorch pickle weights (e.g. pytorch_model.bin). Pickles can run code "
            "when loaded, so the playground never loads them; it needs model.safetensors",
            "{repo} 没有 {weights}，只有 PyTorch pickle 权重（例如 pytorch_model.bin）。pickle 在加载时可以执行代码，"
            "所以本游乐场从不加载它们；需要 model.safetensors",
        ),
        "hub.no_weights": (
            "{repo} has no {weights}; a loadable repo holds config.json, model.safetensors and tokenizer.json",
            "{repo} 没有 {weights}；可加载的仓库应包含 config.json、model.safetensors 和 tokenizer.json",
        ),
        "hub.file_too_large": (
            "{repo}: {name} is {size}; the limit is {limit}",
            "{repo}：{name} 有 {size}；上限是 {limit}",
        ),
        "hub.not_cached": (
            "{what} is not in this server's Hub cache and the Hugging Face Hub cannot be reached. Load the model "
            "once while online, or choose a built-in model",
            "{what} 不在本服务器的 Hub 缓存中，而且无法连接 Hugging Face Hub。请在联网时加载一次该模型，或选择内置模型",
        ),
        "hub.not_cached_offline": (
            "{what} is not in this server's Hub cache and the Hub is offline (HF_HUB_OFFLINE=1). Load the model "
            "once while online, or choose a built-in model",
            "{what} 不在本服务器的 Hub 缓存中，而且 Hub 处于离线状态（HF_HUB_OFFLINE=1）。请在联网时加载一次该模型，"
            "或选择内置模型",
        ),
        "hub.no_file": ("{repo} has no {name}", "{repo} 没有 {name}"),
        "hub.download_http": (
            "{repo}: downloading {name} failed (HTTP {status})",
            "{repo}：下载 {name} 失败（HTTP {status}）",
        ),
        "hub.download_failed": ("{repo}: downloading {name} failed: {detail}", "{repo}：下载 {name} 失败：{detail}"),
        "hub.not_gpt2": (
            "{repo} is a {model_type} model; only GPT-2-architecture models (config.json model_type 'gpt2') can "
            "be loaded, e.g. {examples}",
            "{repo} 是 {model_type} 模型；只能加载 GPT-2 架构的模型（config.json 的 model_type 为 'gpt2'），"
            "例如 {examples}",
        ),
        "hub.no_model_type": (
            "{repo} is not a GPT-2 model (config.json has no model_type); only GPT-2-architecture models "
            "(config.json model_type 'gpt2') can be loaded, e.g. {examples}",
            "{repo} 不是 GPT-2 模型（config.json 没有 model_type）；只能加载 GPT-2 架构的模型"
            "（config.json 的 model_type 为 'gpt2'），例如 {examples}",
        ),
        "hub.size_outside": ("{key} = {value} (allowed {low}–{high})", "{key} = {value}（允许 {low}–{high}）"),
        "hub.too_big": (
            "{repo} is outside the playground's size limits: {outside}. It runs GPT-2-architecture models up to "
            "the size of GPT-2 small (12 layers, 768 wide, 1,024 positions, 50,257 tokens), e.g. {examples}; "
            "gpt2-medium and larger are too big for a shared CPU server",
            "{repo} 超出了本游乐场的尺寸限制：{outside}。它能运行的 GPT-2 架构模型最大到 GPT-2 small"
            "（12 层、宽 768、1,024 个位置、50,257 个词元），例如 {examples}；gpt2-medium 及更大的模型对共享的 CPU "
            "服务器来说太大了",
        ),
        "hub.no_config": (
            "{repo} has no config.json, so it is not a 🤗 transformers model repository",
            "{repo} 没有 config.json，所以它不是 🤗 transformers 模型仓库",
        ),
        "hub.no_tokenizer": (
            "{repo} has no tokenizer.json (nor GPT-2's vocab.json + merges.txt)",
            "{repo} 没有 tokenizer.json（也没有 GPT-2 的 vocab.json + merges.txt）",
        ),
        "hub.bad_file": ("{repo}: {reason}", "{repo}：{reason}"),
        "hub.merges_not_utf8": ("merges.txt is not UTF-8: {detail}", "merges.txt 不是 UTF-8：{detail}"),
        "hub.merges_line": (
            "merges.txt line {number} is not two tokens separated by one space: {line}",
            "merges.txt 第 {number} 行不是用一个空格分开的两个词元：{line}",
        ),
        "hub.bad_vocab": ("vocab.json / merges.txt: {reason}", "vocab.json / merges.txt：{reason}"),
        "hub.vocab_larger": (
            "vocab.json has {n} tokens but the model has only {d_vocab} embeddings",
            "vocab.json 有 {n} 个词元，但模型只有 {d_vocab} 个嵌入向量",
        ),
    }
)


# ----- names ------------------------------------------------------------------------------


def parse_repo_id(name: str) -> str:
    """The repo id in `name` ("hf:owner/name", "owner/name" or "name"), or a HubError.

    Pure string check: no network, no file system."""
    if not isinstance(name, str):
        raise HubError("hub.id_not_text", type=type(name).__name__)
    raw = name.strip()
    repo_id = raw[len(HUB_PREFIX) :] if raw[: len(HUB_PREFIX)].lower() == HUB_PREFIX else raw
    if (
        len(repo_id) > MAX_REPO_ID_CHARS
        or not REPO_ID_PATTERN.fullmatch(repo_id)
        or "--" in repo_id
        or ".." in repo_id
        or repo_id.endswith(".git")
    ):
        shown = raw if len(raw) <= 120 else raw[:117] + "..."
        raise HubError("hub.bad_id", name=repr(shown), limit=MAX_REPO_ID_CHARS, examples=EXAMPLES)
    return repo_id


def is_hub_name(name: object) -> bool:
    """True if `name` is a syntactically valid Hub id (with or without "hf:")."""
    try:
        parse_repo_id(name)  # type: ignore[arg-type]
    except HubError:
        return False
    return True


def allow_setting() -> str:
    """PLAYGROUND_HUB_ALLOW, or the default: on a Hugging Face Space (SPACE_ID is set) only
    SPACE_DEFAULT_ALLOW, so a public deployment never downloads arbitrary repos unless its
    operator says so ("*"); elsewhere (a laptop, a classroom server) any repo ("*")."""
    value = os.environ.get("PLAYGROUND_HUB_ALLOW", "").strip()
    if value:
        return value
    return SPACE_DEFAULT_ALLOW if os.environ.get("SPACE_ID") else "*"


def disk_limit_bytes() -> int | None:
    """PLAYGROUND_HUB_DISK_MB as bytes: the most the Hub cache may hold ("0" or unset: no
    limit, except on a Space, where the default is SPACE_DEFAULT_DISK_MB)."""
    raw = os.environ.get("PLAYGROUND_HUB_DISK_MB", "").strip()
    if not raw:
        return SPACE_DEFAULT_DISK_MB * 2**20 if os.environ.get("SPACE_ID") else None
    try:
        mb = float(raw)
    except ValueError:
        return None
    return int(mb * 2**20) if mb > 0 else None


def check_disk_room(repo_id: str, size: int | None) -> None:
    """Refuse a download that alone is larger than the disk cache limit."""
    limit = disk_limit_bytes()
    if limit is not None and size is not None and size > limit:
        raise PlaygroundError("hub.over_disk_limit", repo=repo_id, size_mb=round(size / 2**20),
                         limit_mb=round(limit / 2**20))


def trim_disk_cache(keep: str, cache_dir=None) -> list[str]:
    """Delete least recently used model repos from the Hub cache until it fits
    `disk_limit_bytes()`, never `keep` (the model just loaded); returns the deleted repo ids.
    Runs after each download, so the cache never stays over the limit."""
    limit = disk_limit_bytes()
    if limit is None:
        return []
    from huggingface_hub import scan_cache_dir

    try:
        info = scan_cache_dir(cache_dir)
    except Exception:  # noqa: BLE001 - no cache folder yet, or unreadable: nothing to trim
        return []
    total, deleted = info.size_on_disk, []
    repos = sorted((r for r in info.repos if r.repo_type == "model" and r.repo_id != keep),
                   key=lambda r: r.last_accessed)
    for repo in repos:
        if total <= limit:
            break
        info.delete_revisions(*(rev.commit_hash for rev in repo.revisions)).execute()
        total -= repo.size_on_disk
        deleted.append(repo.repo_id)
    return deleted


def _check_allowed(repo_id: str) -> None:
    allow = allow_setting()
    if allow == "*":
        return
    allowed = [a.strip() for a in allow.split(",") if a.strip() and a.strip().lower() != "none"]
    if not allowed:
        raise HubError("hub.switched_off")
    if repo_id not in allowed:
        raise HubError("hub.not_allowed", allowed=", ".join(allowed))


# ----- which files, where -----------------------------------------------------------------


@dataclass(frozen=True)
class HubFiles:
    """Local paths (in huggingface_hub's cache) of one repo revision's files."""

    repo_id: str
    revision: str | None  # the commit, when the Hub was asked
    config: Path
    weights: Path
    tokenizer: Path | None  # tokenizer.json, or None when vocab/merges are used
    vocab: Path | None = None
    merges: Path | None = None


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _listing(repo_id: str) -> tuple[str | None, dict[str, int | None]] | None:
    """(commit, {file: size}) from the Hub; None when offline or the Hub cannot be reached
    (then only the local cache is used)."""
    if _offline():
        return None
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    try:
        info = HfApi().model_info(repo_id, files_metadata=True, token=False, timeout=LIST_TIMEOUT_S)
    except GatedRepoError:
        raise HubError("hub.gated_repo", repo=repo_id) from None
    except RepositoryNotFoundError:
        raise HubModelNotFound("hub.not_found", repo=repr(repo_id), examples=EXAMPLES) from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status is not None and status < 500 and status != 429:
            raise HubError("hub.refused", repo=repo_id, status=str(status)) from None
        return None  # the Hub is down or busy: try the cache
    except Exception:  # no network, DNS, timeout, proxy...: try the cache  # noqa: BLE001
        return None
    if getattr(info, "gated", False) or getattr(info, "private", False):
        raise HubError("hub.gated_or_private", repo=repo_id)
    return info.sha, {s.rfilename: s.size for s in info.siblings or []}


def _missing_weights_error(repo_id: str, files: dict[str, int | None]) -> HubError:
    if "model.safetensors.index.json" in files:
        return HubError("hub.sharded", repo=repo_id, weights=WEIGHTS)
    if any(name.endswith(_PICKLE_SUFFIXES) for name in files):
        return HubError("hub.pickle_only", repo=repo_id, weights=WEIGHTS)
    return HubError("hub.no_weights", repo=repo_id, weights=WEIGHTS)


def _check_sizes(repo_id: str, files: dict[str, int | None], names: list[str]) -> None:
    for name in names:
        size, limit = files.get(name), MAX_CHECKPOINT_BYTES if name == WEIGHTS else MAX_JSON_BYTES
        if size is not None and size > limit:
            raise HubError(
                "hub.file_too_large", repo=repo_id, name=name, size=human_size(size), limit=human_size(limit)
            )


def _download(repo_id: str, filename: str, revision: str | None, local_only: bool) -> Path:
    """One file into the cache; Hub errors become HubErrors naming the file."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = hf_hub_download(repo_id, filename, revision=revision, token=False, local_files_only=local_only)
    except LocalEntryNotFoundError:
        offline = _offline()
        if filename == CONFIG:
            raise HubModelNotFound("hub.not_cached_offline" if offline else "hub.not_cached", what=repo_id) from None
        what = f"{repo_id}: {filename}"
        raise HubError("hub.not_cached_offline" if offline else "hub.not_cached", what=what) from None
    except EntryNotFoundError:
        raise HubError("hub.no_file", repo=repo_id, name=filename) from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", "?")
        raise HubError("hub.download_http", repo=repo_id, name=filename, status=str(status)) from None
    except OSError as err:
        raise HubError("hub.download_failed", repo=repo_id, name=filename, detail=str(err)) from None
    return Path(path)


def _cached(repo_id: str, filename: str, revision: str | None) -> Path | None:
    """The cached file, or None (no download)."""
    try:
        return _download(repo_id, filename, revision, local_only=True)
    except HubError:
        return None


# ----- config checks ----------------------------------------------------------------------


def check_gpt2_config(raw: dict, repo_id: str) -> None:
    """Refuse a config.json that is not GPT-2 or is outside MODEL_LIMITS, listing what is allowed."""
    model_type = raw.get("model_type")
    if model_type != "gpt2":
        if model_type:
            raise HubError("hub.not_gpt2", repo=repo_id, model_type=repr(model_type), examples=EXAMPLES)
        raise HubError("hub.no_model_type", repo=repo_id, examples=EXAMPLES)
    sizes = gpt2_sizes(raw)  # our field -> the value config.json gives (GPT-2's defaults applied)
    outside = []
    for ours, theirs in GPT2_NAMES.items():
        value, (lo, hi) = sizes[ours], MODEL_LIMITS[ours]
        if isinstance(value, int) and not isinstance(value, bool) and not lo <= value <= hi:
            outside.append(HubError("hub.size_outside", key=theirs, value=value, low=lo, high=hi))
    if outside:
        raise HubError("hub.too_big", repo=repo_id, outside=outside, examples=EXAMPLES)


# ----- fetching and loading ---------------------------------------------------------------


def fetch(repo_id: str) -> HubFiles:
    """Download (or find in the cache) the files of a GPT-2 repo, config.json first and checked
    before the weights are fetched. `repo_id` must come from `parse_repo_id`."""
    listing = _listing(repo_id)
    local_only = listing is None
    revision, files = listing if listing is not None else (None, {})
    if not local_only and CONFIG not in files:
        raise HubError("hub.no_config", repo=repo_id)
    _check_sizes(repo_id, files, [CONFIG])
    config = _download(repo_id, CONFIG, revision, local_only)
    if revision is None and re.fullmatch(r"[0-9a-f]{40}", config.parent.name):
        revision = config.parent.name  # the cached snapshot's commit: fetch the rest from the same one
    check_gpt2_config(_read_json_or_hub_error(config, repo_id), repo_id)

    if not local_only:
        if WEIGHTS not in files:
            raise _missing_weights_error(repo_id, files)
        use_json = TOKENIZER in files
        if not use_json and not {VOCAB, MERGES} <= files.keys():
            raise HubError("hub.no_tokenizer", repo=repo_id)
        _check_sizes(repo_id, files, [WEIGHTS, *([TOKENIZER] if use_json else [VOCAB, MERGES])])
        fetched = [CONFIG, WEIGHTS, *([TOKENIZER] if use_json else [VOCAB, MERGES])]
        check_disk_room(repo_id, sum(files.get(name) or 0 for name in fetched) or None)
    else:
        use_json = _cached(repo_id, TOKENIZER, revision) is not None or _cached(repo_id, VOCAB, revision) is None
    weights = _download(repo_id, WEIGHTS, revision, local_only)
    if use_json:
        return HubFiles(repo_id, revision, config, weights, _download(repo_id, TOKENIZER, revision, local_only))
    vocab, merges = (_download(repo_id, name, revision, local_only) for name in (VOCAB, MERGES))
    return HubFiles(repo_id, revision, config, weights, None, vocab, merges)


def _read_json_or_hub_error(path: Path, repo_id: str) -> dict:
    try:
        return read_json(path)
    except CheckpointError as err:
        raise HubError("hub.bad_file", repo=repo_id, reason=err) from None


def _read_merges(path: Path) -> list[tuple[str, str]]:
    check_file_size(path, MAX_JSON_BYTES)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise CheckpointError("hub.merges_not_utf8", detail=str(err)) from None
    merges = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise CheckpointError("hub.merges_line", number=number, line=repr(line[:40]))
        merges.append((parts[0], parts[1]))
    return merges


def _tokenizer(files: HubFiles, cfg) -> Tokenizer:
    if files.tokenizer is not None:
        return read_tokenizer(files.tokenizer, cfg.d_vocab)
    vocab = read_json(files.vocab)
    try:
        tokenizer = Tokenizer.from_gpt2_vocab(vocab, _read_merges(files.merges))
    except TokenizerError as err:
        raise CheckpointError("hub.bad_vocab", reason=err) from None
    if tokenizer.vocab_size > cfg.d_vocab:
        raise CheckpointError("hub.vocab_larger", n=tokenizer.vocab_size, d_vocab=cfg.d_vocab)
    return tokenizer


def load_files(files: HubFiles) -> ModelBundle:
    """A ModelBundle from fetched files (every shape, dtype and size checked)."""
    try:
        cfg, meta = read_config(files.config)
        tokenizer = _tokenizer(files, cfg)
        state = load_state_dict_checked(files.weights, cfg)
    except CheckpointError as err:
        raise HubError("hub.bad_file", repo=files.repo_id, reason=err) from None
    model = TinyGPT(cfg)
    model.load_state_dict(state)
    del state
    check_forward_finite(model.eval())
    meta = {**meta, "source": "hub", "repo_id": files.repo_id, "revision": files.revision}
    return ModelBundle(files.repo_id, model.to(devices.resolve()).eval(), tokenizer, meta, None)


# ----- the shared LRU ---------------------------------------------------------------------

_CACHE: OrderedDict[str, ModelBundle] = OrderedDict()
_CACHE_LOCK = threading.Lock()
# One Hub load at a time: bounds memory and bandwidth on a shared server; cache hits never wait.
_LOAD_LOCK = threading.Lock()


def cache_size() -> int:
    try:
        return max(1, int(os.environ.get("PLAYGROUND_HUB_CACHE_SIZE", "2")))
    except ValueError:
        return 2


def _get_cached(repo_id: str) -> ModelBundle | None:
    with _CACHE_LOCK:
        bundle = _CACHE.get(repo_id)
        if bundle is not None:
            _CACHE.move_to_end(repo_id)
        return bundle


def _put(repo_id: str, bundle: ModelBundle) -> None:
    with _CACHE_LOCK:
        _CACHE[repo_id] = bundle
        _CACHE.move_to_end(repo_id)
        while len(_CACHE) > cache_size():
            _CACHE.popitem(last=False)


def cached_models() -> list[str]:
    """Repo ids in memory, least recently used first."""
    with _CACHE_LOCK:
        return list(_CACHE)


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def load_hub_model(name: str) -> ModelBundle:
    """A GPT-2-family model from the Hub ("hf:gpt2", "distilgpt2", "owner/name"), shared and cached.

    Raises HubError (a PlaygroundError) saying what is wrong and what is allowed: bad id, not
    allowed here, not found, offline and not cached, not GPT-2, too big, no safetensors."""
    repo_id = parse_repo_id(name)
    _check_allowed(repo_id)
    bundle = _get_cached(repo_id)
    if bundle is not None:
        return bundle
    with _LOAD_LOCK:
        bundle = _get_cached(repo_id)  # another request may have loaded it meanwhile
        if bundle is None:
            bundle = load_files(fetch(repo_id))
            _put(repo_id, bundle)
            trim_disk_cache(keep=repo_id)  # the loaded model is in memory; its files stay cached
    return bundle
