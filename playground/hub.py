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
from .api import PlaygroundError
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
from .config import MODEL_LIMITS
from .errors import PlaygroundError as KeyedError
from .errors import register
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
# GPT-2 names of the sizes MODEL_LIMITS bounds, in the order a message lists them.
_SIZE_KEYS = (("n_layer", "n_layers"), ("n_head", "n_heads"), ("n_embd", "d_model"),
              ("n_positions", "n_ctx"), ("vocab_size", "d_vocab"), ("n_inner", "d_mlp"))  # fmt: skip
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class HubError(PlaygroundError):
    """A Hub model cannot be used; the message says what is wrong and what is allowed."""


class HubModelNotFound(HubError):
    """No such public repo on the Hub, or (offline / Hub unreachable) not in the local cache."""


# ----- names ------------------------------------------------------------------------------


def parse_repo_id(name: str) -> str:
    """The repo id in `name` ("hf:owner/name", "owner/name" or "name"), or a HubError.

    Pure string check: no network, no file system."""
    if not isinstance(name, str):
        raise HubError(f"a Hub model id must be text, got {type(name).__name__}")
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
        raise HubError(
            f"{shown!r} is not a Hugging Face Hub model id: write 'name' or 'owner/name' (optionally "
            f"after 'hf:'), using letters, digits, '-', '_' and '.', at most {MAX_REPO_ID_CHARS} "
            f"characters, e.g. {EXAMPLES} or openai-community/gpt2"
        )
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
        raise KeyedError("hub.over_disk_limit", repo=repo_id, size_mb=round(size / 2**20),
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
        raise HubError("loading models from the Hugging Face Hub is switched off on this server (PLAYGROUND_HUB_ALLOW)")
    if repo_id not in allowed:
        raise HubError(f"this server loads only these Hub models: {', '.join(allowed)} (PLAYGROUND_HUB_ALLOW)")


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
        raise HubError(f"{repo_id} is a gated repository (users must accept terms); only public models load") from None
    except RepositoryNotFoundError:
        raise HubModelNotFound(
            f"there is no public model repository {repo_id!r} on the Hugging Face Hub (check the spelling; "
            f"private and gated repos are not loaded). GPT-2-family examples: {EXAMPLES}"
        ) from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status is not None and status < 500 and status != 429:
            raise HubError(f"the Hugging Face Hub refused {repo_id} (HTTP {status})") from None
        return None  # the Hub is down or busy: try the cache
    except Exception:  # no network, DNS, timeout, proxy...: try the cache  # noqa: BLE001
        return None
    if getattr(info, "gated", False) or getattr(info, "private", False):
        raise HubError(f"{repo_id} is gated or private; only public models load")
    return info.sha, {s.rfilename: s.size for s in info.siblings or []}


def _missing_weights_message(repo_id: str, files: dict[str, int | None]) -> str:
    if "model.safetensors.index.json" in files:
        return (
            f"{repo_id} stores its weights in several safetensors shards; only a single {WEIGHTS} "
            "is supported (models within the playground's limits fit in one file)"
        )
    if any(name.endswith(_PICKLE_SUFFIXES) for name in files):
        return (
            f"{repo_id} has no {WEIGHTS}, only PyTorch pickle weights (e.g. pytorch_model.bin). Pickles "
            "can run code when loaded, so the playground never loads them; it needs model.safetensors"
        )
    return f"{repo_id} has no {WEIGHTS}; a loadable repo holds config.json, model.safetensors and tokenizer.json"


def _check_sizes(repo_id: str, files: dict[str, int | None], names: list[str]) -> None:
    for name in names:
        size, limit = files.get(name), MAX_CHECKPOINT_BYTES if name == WEIGHTS else MAX_JSON_BYTES
        if size is not None and size > limit:
            raise HubError(f"{repo_id}: {name} is {human_size(size)}; the limit is {human_size(limit)}")


def _download(repo_id: str, filename: str, revision: str | None, local_only: bool) -> Path:
    """One file into the cache; Hub errors become HubErrors naming the file."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = hf_hub_download(repo_id, filename, revision=revision, token=False, local_files_only=local_only)
    except LocalEntryNotFoundError:
        where = "the Hub is offline (HF_HUB_OFFLINE=1)" if _offline() else "the Hugging Face Hub cannot be reached"
        what = repo_id if filename == CONFIG else f"{repo_id}: {filename}"
        raise (HubModelNotFound if filename == CONFIG else HubError)(
            f"{what} is not in this server's Hub cache and {where}. Load the model once while online, "
            "or choose a built-in model"
        ) from None
    except EntryNotFoundError:
        raise HubError(f"{repo_id} has no {filename}") from None
    except HfHubHTTPError as err:
        status = getattr(getattr(err, "response", None), "status_code", "?")
        raise HubError(f"{repo_id}: downloading {filename} failed (HTTP {status})") from None
    except OSError as err:
        raise HubError(f"{repo_id}: downloading {filename} failed: {err}") from None
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
        what = f"a {model_type!r} model" if model_type else "not a GPT-2 model (config.json has no model_type)"
        raise HubError(
            f"{repo_id} is {what}; only GPT-2-architecture models (config.json model_type 'gpt2') "
            f"can be loaded, e.g. {EXAMPLES}"
        )
    values = {key: raw.get(key) for key, _ in _SIZE_KEYS}
    if values["n_positions"] is None:
        values["n_positions"] = raw.get("n_ctx")
    if values["n_inner"] is None and isinstance(values["n_embd"], int):
        values["n_inner"] = 4 * values["n_embd"]
    outside = []
    for key, ours in _SIZE_KEYS:
        value, (lo, hi) = values[key], MODEL_LIMITS[ours]
        if isinstance(value, int) and not isinstance(value, bool) and not lo <= value <= hi:
            outside.append(f"{key} = {value:,} (allowed {lo:,}–{hi:,})")
    if outside:
        raise HubError(
            f"{repo_id} is outside the playground's size limits: {'; '.join(outside)}. It runs GPT-2-"
            f"architecture models up to the size of GPT-2 small (12 layers, 768 wide, 1,024 positions, "
            f"50,257 tokens), e.g. {EXAMPLES}; gpt2-medium and larger are too big for a shared CPU server"
        )


# ----- fetching and loading ---------------------------------------------------------------


def fetch(repo_id: str) -> HubFiles:
    """Download (or find in the cache) the files of a GPT-2 repo, config.json first and checked
    before the weights are fetched. `repo_id` must come from `parse_repo_id`."""
    listing = _listing(repo_id)
    local_only = listing is None
    revision, files = listing if listing is not None else (None, {})
    if not local_only and CONFIG not in files:
        raise HubError(f"{repo_id} has no config.json, so it is not a 🤗 transformers model repository")
    _check_sizes(repo_id, files, [CONFIG])
    config = _download(repo_id, CONFIG, revision, local_only)
    if revision is None and re.fullmatch(r"[0-9a-f]{40}", config.parent.name):
        revision = config.parent.name  # the cached snapshot's commit: fetch the rest from the same one
    check_gpt2_config(_read_json_or_hub_error(config, repo_id), repo_id)

    if not local_only:
        if WEIGHTS not in files:
            raise HubError(_missing_weights_message(repo_id, files))
        use_json = TOKENIZER in files
        if not use_json and not {VOCAB, MERGES} <= files.keys():
            raise HubError(f"{repo_id} has no tokenizer.json (nor GPT-2's vocab.json + merges.txt)")
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
        raise HubError(f"{repo_id}: {err}") from None


def _read_merges(path: Path) -> list[tuple[str, str]]:
    check_file_size(path, MAX_JSON_BYTES)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise CheckpointError(f"merges.txt is not UTF-8: {err}") from None
    merges = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise CheckpointError(f"merges.txt line {number} is not two tokens separated by one space: {line[:40]!r}")
        merges.append((parts[0], parts[1]))
    return merges


def _tokenizer(files: HubFiles, cfg) -> Tokenizer:
    if files.tokenizer is not None:
        return read_tokenizer(files.tokenizer, cfg.d_vocab)
    vocab = read_json(files.vocab)
    try:
        tokenizer = Tokenizer.from_gpt2_vocab(vocab, _read_merges(files.merges))
    except TokenizerError as err:
        raise CheckpointError(f"vocab.json / merges.txt: {err}") from None
    if tokenizer.vocab_size > cfg.d_vocab:
        raise CheckpointError(
            f"vocab.json has {tokenizer.vocab_size} tokens but the model has only {cfg.d_vocab} embeddings"
        )
    return tokenizer


def load_files(files: HubFiles) -> ModelBundle:
    """A ModelBundle from fetched files (every shape, dtype and size checked)."""
    try:
        cfg, meta = read_config(files.config)
        tokenizer = _tokenizer(files, cfg)
        state = load_state_dict_checked(files.weights, cfg)
    except CheckpointError as err:
        raise HubError(f"{files.repo_id}: {err}") from None
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
