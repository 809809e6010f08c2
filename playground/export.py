"""The numbers behind the Attention and Embeddings views as CSV and JSON.

    from playground import api, export
    result = api.inspect(bundle, "The dog saw the cat.")
    tokens = export.token_rows(result.tokens)
    patterns = np.stack([result.cache.pattern(i).numpy() for i in range(result.cache.n_layers)])
    csv_text = export.attention_csv(patterns, tokens)       # str
    json_text = export.attention_json(patterns, tokens)     # str

Pure functions: arrays and token strings in, text out; nothing here touches the disk except
`write_files`, which writes exports into a fresh folder of their own under the system temp
folder, under file names the calling code chooses (never a user-chosen path), and prunes old ones.

Numbers are written with 9 significant digits ("%.9g"), enough to give back every float32
exactly: `np.float32(float(s)) == value`. Non-finite numbers are refused (JSON has none).
CSV: UTF-8, comma-separated, a header row, quoting only where needed (csv.QUOTE_MINIMAL), "\\n"
line ends. Token strings are written as they are: a spreadsheet may read a token starting with
"=", "+", "-" or "@" as a formula, so open exports as data, not as a workbook from strangers.

Sizes are capped (MAX_ATTENTION_WEIGHTS, MAX_EMBEDDING_VALUES) so one click cannot make a
hundred-megabyte file on a shared server; the error says how many tokens fit.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import Label, PlaygroundError, register

FORMAT_VERSION = 1
NUMBER_FORMAT = "%.9g"  # round-trips float32
# Every layer x head x query x key weight; GPT-2 small (144 heads) fits 83 tokens, the shipped
# models their whole context. The CSV is about 40 bytes per weight.
MAX_ATTENTION_WEIGHTS = 1_000_000
# token + position + sum embeddings of the text (3 x T x d_model), ~11 bytes each in the CSV.
MAX_EMBEDDING_VALUES = 3_200_000
EXPORT_ROOT = Path(tempfile.gettempdir()) / "playground-exports"
EXPORT_TTL_S = 30 * 60  # export folders older than this are deleted when a new one is written


class ExportError(PlaygroundError):
    """The data cannot be exported; the message says why and what is allowed."""


register(
    {
        "export.patterns": ("the attention patterns", "注意力权重"),
        "export.attention": ("the attention", "注意力"),
        "export.token_embeddings": ("the token embeddings", "词元嵌入"),
        "export.position_embeddings": ("the position embeddings", "位置嵌入"),
        "export.pca": ("the PCA coordinates", "PCA 坐标"),
        "export.explained": ("explained variance", "解释方差"),
        "export.vocab_pca": ("the vocabulary PCA coordinates", "词表的 PCA 坐标"),
        "export.embeddings": ("the embeddings", "嵌入"),
        "export.not_finite": (
            "{what} contains NaN or infinite values, which CSV/JSON exports cannot hold",
            "{what}含有 NaN 或无穷大的值，CSV/JSON 导出无法保存它们",
        ),
        "export.token_count": (
            "{what} covers {n} tokens but {labels} token labels were given",
            "{what}覆盖 {n} 个词元，但给出了 {labels} 个词元标签",
        ),
        "export.patterns_shape": (
            "attention patterns must be (layers, heads, tokens, tokens), got shape {shape}",
            "注意力权重的形状必须是（层、头、词元、词元），收到的形状是 {shape}",
        ),
        "export.too_many_weights": (
            "exporting every layer × head is limited to {limit} attention weights; this model has {heads} heads "
            "and the text {n} tokens ({size} weights). Use a text of at most {fit} tokens",
            "导出所有层 × 头最多 {limit} 个注意力权重；这个模型有 {heads} 个头，文本有 {n} 个词元（{size} 个权重）。"
            "请使用最多 {fit} 个词元的文本",
        ),
        "export.embeddings_shape": (
            "token and position embeddings must both be (tokens, d_model); got {token} and {position}",
            "词元嵌入和位置嵌入的形状都必须是（词元、d_model）；收到 {token} 和 {position}",
        ),
        "export.pca_shape": (
            "PCA coordinates must be (tokens, 2) = ({n}, 2); got {shape}",
            "PCA 坐标的形状必须是（词元、2）=（{n}, 2）；收到 {shape}",
        ),
        "export.too_many_values": (
            "exporting embeddings is limited to {limit} numbers; {n} tokens × d_model {d_model} × 3 tables is "
            "{size}. Use a text of at most {fit} tokens",
            "导出嵌入最多 {limit} 个数；{n} 个词元 × d_model {d_model} × 3 张表是 {size} 个。"
            "请使用最多 {fit} 个词元的文本",
        ),
        "export.vocab_pca_shape": (
            "vocabulary PCA coordinates must be (vocabulary, 2); got {shape}",
            "词表的 PCA 坐标形状必须是（词表、2）；收到 {shape}",
        ),
        "export.bad_name": (
            "export file names must be plain file names, got {name}",
            "导出的文件名必须是普通文件名，收到 {name}",
        ),
    }
)


@dataclass(frozen=True)
class TokenRow:
    """One position of the exported text."""

    index: int
    id: int
    text: str  # the input characters it covers
    display: str  # the readable label shown on screen ("·the", "↵", "<e7 8b>")


def token_rows(tokens: Sequence) -> list[TokenRow]:
    """TokenRows from `tokenizer.TokenView`s (anything with id, text and display)."""
    return [TokenRow(i, int(t.id), str(t.text), str(t.display)) for i, t in enumerate(tokens)]


# ----- helpers ----------------------------------------------------------------------------


def _finite(what: str, array) -> np.ndarray:
    """`array` as float32, refused if not finite; `what` is the key of its name in messages."""
    a = np.asarray(array, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ExportError("export.not_finite", what=Label(what))
    return a


def _numbers(a: np.ndarray) -> list[str]:
    """Each value of `a` (flattened) as text that round-trips float32."""
    return [NUMBER_FORMAT % v for v in a.ravel().tolist()]


def _json_array(a: np.ndarray) -> str:
    """A nested JSON array of `a`'s values (shape kept), numbers as in `_numbers`."""
    if a.ndim == 0:
        return NUMBER_FORMAT % float(a)
    if a.ndim == 1:
        return "[" + ",".join(_numbers(a)) + "]"
    return "[" + ",".join(_json_array(row) for row in a) + "]"


class _Raw(str):
    """Already-serialised JSON, inserted as is by `_json_object`."""


def _json_object(fields: dict) -> str:
    parts = []
    for key, value in fields.items():
        text = value if isinstance(value, _Raw) else json.dumps(value, ensure_ascii=False, allow_nan=False)
        parts.append(f"{json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _tokens_json(tokens: Sequence[TokenRow]) -> list[dict]:
    return [{"index": t.index, "id": t.id, "text": t.text, "display": t.display} for t in tokens]


def _check_tokens(tokens: Sequence[TokenRow], n: int, what: str) -> None:
    if len(tokens) != n:
        raise ExportError("export.token_count", what=Label(what), n=n, labels=len(tokens))


def _csv_text(header: list[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# ----- attention --------------------------------------------------------------------------

ATTENTION_CSV_COLUMNS = ["layer", "head", "query_index", "query_token", "key_index", "key_token", "weight"]


def _check_patterns(patterns, tokens: Sequence[TokenRow]) -> np.ndarray:
    p = _finite("export.patterns", patterns)
    if p.ndim != 4 or p.shape[2] != p.shape[3]:
        raise ExportError("export.patterns_shape", shape=str(p.shape))
    _check_tokens(tokens, p.shape[2], "export.attention")
    if p.size > MAX_ATTENTION_WEIGHTS:
        n_heads = p.shape[0] * p.shape[1]
        fit = math.isqrt(MAX_ATTENTION_WEIGHTS // n_heads)
        raise ExportError(
            "export.too_many_weights", limit=MAX_ATTENTION_WEIGHTS, heads=n_heads, n=p.shape[2], size=p.size, fit=fit
        )
    return p


def attention_csv(patterns, tokens: Sequence[TokenRow]) -> str:
    """Every attention weight, one row each: the columns of ATTENTION_CSV_COLUMNS.

    `patterns` is (n_layers, n_heads, T, T) — row = query, column = key — and `tokens` the T
    positions. All T × T cells are written, the masked future ones as 0, in the order layer,
    head, query, key; `query_token`/`key_token` are the on-screen labels."""
    p = _check_patterns(patterns, tokens)
    n_layers, n_heads, n, _ = p.shape
    weights = iter(_numbers(p))
    labels = [t.display for t in tokens]
    rows = (
        (layer, head, q, labels[q], k, labels[k], next(weights))
        for layer in range(n_layers)
        for head in range(n_heads)
        for q in range(n)
        for k in range(n)
    )
    return _csv_text(ATTENTION_CSV_COLUMNS, rows)


def attention_json(patterns, tokens: Sequence[TokenRow], *, model: str = "", text: str = "") -> str:
    """Every attention weight as one JSON object::

        {
          "format": "transformer-playground/attention", "version": 1,
          "model": "stories", "text": "The dog saw the cat.",
          "n_layers": 4, "n_heads": 4, "n_tokens": 6,
          "tokens": [{"index": 0, "id": 17, "text": "The", "display": "The"}, ...],
          "patterns": [[[[1.0, 0.0, ...], ...], ...], ...]
        }

    `patterns[layer][head][query][key]` is the weight the query position gives the key
    position (each query row sums to 1; keys after the query are 0: the causal mask)."""
    p = _check_patterns(patterns, tokens)
    n_layers, n_heads, n, _ = p.shape
    return _json_object({
        "format": "transformer-playground/attention", "version": FORMAT_VERSION,
        "model": model, "text": text,
        "n_layers": n_layers, "n_heads": n_heads, "n_tokens": n,
        "tokens": _tokens_json(tokens),
        "patterns": _Raw(_json_array(p)),
    })  # fmt: skip


# ----- embeddings -------------------------------------------------------------------------


def embedding_csv_columns(d_model: int) -> list[str]:
    dims = range(d_model)
    return [
        "position", "token_id", "token", "pc1", "pc2",
        *(f"token_emb_{i}" for i in dims), *(f"pos_emb_{i}" for i in dims), *(f"sum_{i}" for i in dims),
    ]  # fmt: skip


def _check_embeddings(token_emb, pos_emb, pca_points, tokens: Sequence[TokenRow]):
    e, p = _finite("export.token_embeddings", token_emb), _finite("export.position_embeddings", pos_emb)
    pts = _finite("export.pca", pca_points)
    if e.ndim != 2 or e.shape != p.shape:
        raise ExportError("export.embeddings_shape", token=str(e.shape), position=str(p.shape))
    if pts.shape != (e.shape[0], 2):
        raise ExportError("export.pca_shape", n=e.shape[0], shape=str(pts.shape))
    _check_tokens(tokens, e.shape[0], "export.embeddings")
    if 3 * e.size > MAX_EMBEDDING_VALUES:
        fit = MAX_EMBEDDING_VALUES // (3 * e.shape[1])
        raise ExportError(
            "export.too_many_values", limit=MAX_EMBEDDING_VALUES, n=e.shape[0], d_model=e.shape[1], size=3 * e.size,
            fit=fit,
        )
    return e, p, pts


def embeddings_csv(token_emb, pos_emb, pca_points, tokens: Sequence[TokenRow]) -> str:
    """One row per position of the text, columns `embedding_csv_columns(d_model)`:

    position, token_id, token (on-screen label), pc1, pc2 (the token's place on the vocabulary
    PCA map), then token_emb_0..d-1 (row of W_e), pos_emb_0..d-1 (row of W_p) and sum_0..d-1
    (their sum: the input of block 0, computed here in float32 as the model does)."""
    e, p, pts = _check_embeddings(token_emb, pos_emb, pca_points, tokens)
    table = np.concatenate([pts, e, p, e + p], axis=1)  # (T, 2 + 3d)
    cells = _numbers(table)
    width = table.shape[1]
    rows = ([t.index, t.id, t.display, *cells[i * width : (i + 1) * width]] for i, t in enumerate(tokens))
    return _csv_text(embedding_csv_columns(e.shape[1]), rows)


def embeddings_json(
    token_emb,
    pos_emb,
    pca_points,
    tokens: Sequence[TokenRow],
    *,
    explained=(0.0, 0.0),
    vocab_points=None,
    vocab_labels: Sequence[str] | None = None,
    model: str = "",
    text: str = "",
) -> str:
    """The Embeddings view's data as one JSON object::

        {
          "format": "transformer-playground/embeddings", "version": 1,
          "model": "stories", "text": "The dog", "n_tokens": 2, "d_model": 128,
          "tokens": [{"index": 0, "id": 17, "text": "The", "display": "The"}, ...],
          "token_embeddings": [[...d_model numbers], ...],      # W_e[id], one row per position
          "position_embeddings": [[...], ...],                  # W_p[position]
          "sum": [[...], ...],                                  # their sum: block 0's input
          "pca": {
            "explained_variance_ratio": [0.12, 0.08],           # of PC 1 and PC 2
            "tokens": [[pc1, pc2], ...],                        # the text's tokens on the map
            "vocabulary": [[pc1, pc2], ...],                    # row i = token id i (optional)
            "vocabulary_labels": ["!", "\\"", ...]               # label of id i (optional)
          }
        }

    "vocabulary" and "vocabulary_labels" are present when given (the UI gives them).
    """
    e, p, pts = _check_embeddings(token_emb, pos_emb, pca_points, tokens)
    pca = {
        "explained_variance_ratio": _Raw(_json_array(_finite("export.explained", explained))),
        "tokens": _Raw(_json_array(pts)),
    }
    if vocab_points is not None:
        v = _finite("export.vocab_pca", vocab_points)
        if v.ndim != 2 or v.shape[1] != 2:
            raise ExportError("export.vocab_pca_shape", shape=str(v.shape))
        pca["vocabulary"] = _Raw(_json_array(v))
    if vocab_labels is not None:
        pca["vocabulary_labels"] = list(vocab_labels)
    return _json_object({
        "format": "transformer-playground/embeddings", "version": FORMAT_VERSION,
        "model": model, "text": text, "n_tokens": e.shape[0], "d_model": e.shape[1],
        "tokens": _tokens_json(tokens),
        "token_embeddings": _Raw(_json_array(e)),
        "position_embeddings": _Raw(_json_array(p)),
        "sum": _Raw(_json_array(e + p)),
        "pca": _Raw(_json_object(pca).strip()),
    })  # fmt: skip


# ----- files ------------------------------------------------------------------------------


def _prune(root: Path, ttl_s: float) -> None:
    cutoff = time.time() - ttl_s
    for folder in root.glob("*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def write_files(files: dict[str, str | bytes]) -> list[Path]:
    """Write exports into a new folder `<temp>/playground-exports/<random>/`; return their paths.

    File names come from the caller's code (e.g. "attention.csv"), never from a user: each must
    be a plain name. Export folders older than EXPORT_TTL_S are removed first (Gradio serves a
    copy from its own cache, so an old folder is no longer needed)."""
    for name in files:
        if not isinstance(name, str) or Path(name).name != name or name in (".", "..") or "\\" in name:
            raise ExportError("export.bad_name", name=repr(name))
    EXPORT_ROOT.mkdir(parents=True, exist_ok=True)
    _prune(EXPORT_ROOT, EXPORT_TTL_S)
    folder = EXPORT_ROOT / uuid.uuid4().hex
    folder.mkdir()
    paths = []
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        paths.append(path)
    return paths
