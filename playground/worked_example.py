"""The article's worked numbers (section 4), computed step by step.

- `EMBEDDINGS`: the 5-word × 3-dim embedding table; `embedding_lookup(table, index)` shows the
  article's `Embedding(x) = W_e · x` with W_e = the table transposed (d_e × |V|) and x one-hot.
- `ARTICLE_Q/K/V`: the three-token self-attention example; `attention(Q, K, V, causal=False)`
  returns every step of `softmax(QKᵀ / √d_k) V` for every query row.
- `compare_with_article(Q, K)`: what the article printed for "dog" ([0.578, 0.212, 0.210])
  against the real row, and which simple computations come close, all computed; None when
  Q and K are no longer the article's numbers (the comparison would not apply).

Notebook use::

    from playground.worked_example import ARTICLE_Q, ARTICLE_K, ARTICLE_V, attention
    enc = attention(ARTICLE_Q, ARTICLE_K, ARTICLE_V)               # encoder: no mask
    dec = attention(ARTICLE_Q, ARTICLE_K, ARTICLE_V, causal=True)  # decoder: causal mask
    enc.weights[0]   # dog's real weights: [1/3, 1/3, 1/3]

Everything is float64 numpy; nothing here imports torch or gradio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import PlaygroundError, check_range, register

WORDS = ("dog", "cat", "fish", "bird", "tree")
EMBEDDINGS = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1))  # (|V|, d_e): one row per word
ATTN_WORDS = ("dog", "cat", "fish")
ARTICLE_Q = ((1, 1, 1), (0, 1, 1), (0, 0, 1))
ARTICLE_K = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
ARTICLE_V = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
ARTICLE_WEIGHTS = (0.578, 0.212, 0.210)  # what the article prints for "dog"
MAX_SIDE = 16  # most rows or columns of any input matrix
MAX_CELL = 1e6  # largest magnitude of a cell: QKᵀ of 16 such cells stays far inside float32

register(
    {
        "worked.cell_too_large": (
            "{field} has a number of magnitude {value}; cells must be between -1,000,000 and 1,000,000 "
            "(the products would overflow)",
            "{field}中有绝对值为 {value} 的数；每个格子必须在 -1,000,000 到 1,000,000 之间（否则乘积会溢出）",
        ),
        "worked.table": ("the embedding table", "嵌入表"),
        "worked.q": ("Q", "Q"),
        "worked.k": ("K", "K"),
        "worked.v": ("V", "V"),
        "worked.word_index": ("word index", "词的序号"),
        "worked.word": ("word", "词"),
        "worked.not_numbers": (
            "{field} must contain numbers only (every cell filled in)",
            "{field} 只能包含数字（每个格子都要填）",
        ),
        "worked.shape": (
            "{field} must be a non-empty table of rows × columns, got shape {shape}",
            "{field} 必须是非空的行 × 列表格，收到的形状是 {shape}",
        ),
        "worked.too_big": (
            "{field} may have at most {limit} rows and {limit} columns, got {shape}",
            "{field} 最多 {limit} 行、{limit} 列，收到 {shape}",
        ),
        "worked.not_finite": (
            "{field} must contain finite numbers only (no empty cells, inf or NaN)",
            "{field} 只能包含有限的数字（不能有空格子、inf 或 NaN）",
        ),
        "worked.qk_columns": (
            "Q and K need the same number of columns (d_k): Q has {q}, K has {k}",
            "Q 和 K 的列数（d_k）必须相同：Q 有 {q} 列，K 有 {k} 列",
        ),
        "worked.kv_rows": (
            "K and V need the same number of rows (one value per key): K has {k}, V has {v}",
            "K 和 V 的行数必须相同（每个键一个值）：K 有 {k} 行，V 有 {v} 行",
        ),
        "worked.causal_square": (
            "causal attention needs as many queries as keys: Q has {q} rows, K has {k}",
            "因果注意力需要查询和键一样多：Q 有 {q} 行，K 有 {k} 行",
        ),
    }
)


def as_matrix(values, field: str) -> np.ndarray:
    """`values` as a float64 (rows, cols) array, or a PlaygroundError saying what is allowed;
    `field` is the key of the matrix's name ("worked.q", "worked.table", ...)."""
    try:
        m = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise PlaygroundError("worked.not_numbers", field=field) from None
    if m.ndim != 2 or m.size == 0:
        raise PlaygroundError("worked.shape", field=field, shape=str(m.shape))
    if max(m.shape) > MAX_SIDE:
        raise PlaygroundError("worked.too_big", field=field, limit=MAX_SIDE, shape=str(m.shape))
    if not np.isfinite(m).all():
        raise PlaygroundError("worked.not_finite", field=field)
    if np.abs(m).max() > MAX_CELL:  # products of such cells overflow float32 on the way to the plot
        raise PlaygroundError("worked.cell_too_large", field=field, value=float(np.abs(m).max()))
    return m


# ---------------------------------------------------------------- embedding lookup


@dataclass(frozen=True)
class Lookup:
    """`W_e · one_hot = vector`: the article's embedding as a matrix product.

    W_e: (d_e, |V|) — the table transposed, one column per word. one_hot: (|V|,).
    vector: (d_e,) — the product, equal to row `index` of the table."""

    index: int
    W_e: np.ndarray
    one_hot: np.ndarray
    vector: np.ndarray


def embedding_lookup(table, index: int) -> Lookup:
    """Look up word `index` in `table` (|V|, d_e) by multiplying W_e = tableᵀ with a one-hot."""
    m = as_matrix(table, "worked.table")
    n_words = m.shape[0]
    index = check_range("worked.word_index", index, 0, n_words - 1, whole=True)
    w_e = m.T.copy()  # (d_e, |V|)
    one_hot = np.zeros(n_words)
    one_hot[index] = 1.0
    return Lookup(int(index), w_e, one_hot, w_e @ one_hot)


# ---------------------------------------------------------------- attention


@dataclass(frozen=True)
class Attention:
    """Every step of `softmax(QKᵀ / √d_k + mask) V`, for every query row.

    scores (Tq, Tk) = Q Kᵀ; scaled = scores / √d_k; masked = scaled with −inf where a query
    may not look (keys after it, only when causal; else equal to scaled); weights = row-wise
    softmax of masked (rows sum to 1, hidden cells exactly 0); output (Tq, d_v) = weights V."""

    scores: np.ndarray
    scaled: np.ndarray
    masked: np.ndarray
    weights: np.ndarray
    output: np.ndarray
    d_k: int
    causal: bool


def softmax(x) -> np.ndarray:
    """Row-wise softmax of the last axis; −inf entries get weight 0."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(Q, K, V, causal: bool = False) -> Attention:
    """Scaled dot-product attention, every step kept (see `Attention`).

    Q (Tq, d_k), K (Tk, d_k), V (Tk, d_v): Q and K need the same number of columns (d_k), K and
    V the same number of rows (one value per key). Causal (decoder) attention lets query i see
    keys 0..i only, so it needs as many queries as keys. At most 16 rows and columns each."""
    q, k, v = as_matrix(Q, "worked.q"), as_matrix(K, "worked.k"), as_matrix(V, "worked.v")
    if q.shape[1] != k.shape[1]:
        raise PlaygroundError("worked.qk_columns", q=q.shape[1], k=k.shape[1])
    if k.shape[0] != v.shape[0]:
        raise PlaygroundError("worked.kv_rows", k=k.shape[0], v=v.shape[0])
    if causal and q.shape[0] != k.shape[0]:
        raise PlaygroundError("worked.causal_square", q=q.shape[0], k=k.shape[0])
    d_k = q.shape[1]
    scores = q @ k.T
    scaled = scores / math.sqrt(d_k)
    masked = scaled.copy()
    if causal:
        masked[np.triu(np.ones(masked.shape, dtype=bool), k=1)] = -np.inf
    weights = softmax(masked)
    return Attention(scores, scaled, masked, weights, weights @ v, d_k, bool(causal))


# ---------------------------------------------------------------- the article's printed line


@dataclass(frozen=True)
class Candidate:
    """A simple computation someone might have done, and what it gives."""

    name: str  # key: "single_score" | "single_padded" | "embedding_unscaled"
    logits: np.ndarray
    weights: np.ndarray
    max_error: float  # largest |difference| from the article's printed weights
    matches: bool  # equal to the printed line after rounding to 3 decimals


@dataclass(frozen=True)
class Comparison:
    """The article's printed weights for "dog" against the real computation (all measured).

    single_score: Q_dog · K_dog / √d_k, the one number the article wrote; softmax of a single
    number is always [1]. real: dog's weights over all keys without mask (encoder); decoder:
    with the causal mask. output: real @ V. candidates: simple mistakes, closest first.
    equal_rivals: the scores dog gives cat and fish are equal, so every computation from these
    numbers gives them equal weights — unlike the printed 0.212 and 0.210."""

    printed: np.ndarray
    single_score: float
    real_scores: np.ndarray
    real: np.ndarray
    real_error: float
    decoder: np.ndarray
    output: np.ndarray
    candidates: tuple[Candidate, ...]
    equal_rivals: bool


def applies(Q, K) -> bool:
    """True when Q and K hold the article's numbers, so its printed line is about them."""
    try:
        q, k = as_matrix(Q, "worked.q"), as_matrix(K, "worked.k")
    except ValueError:
        return False
    return q.shape == k.shape == (3, 3) and np.allclose(q, ARTICLE_Q) and np.allclose(k, ARTICLE_K)


def compare_with_article(Q, K, V) -> Comparison | None:
    """The comparison with the printed [0.578, 0.212, 0.210], or None when it does not apply."""
    if not applies(Q, K):
        return None
    q, k = as_matrix(Q, "worked.q"), as_matrix(K, "worked.k")
    printed = np.array(ARTICLE_WEIGHTS)
    enc, dec = attention(q, k, V), attention(q, k, V, causal=True)
    root = math.sqrt(q.shape[1])
    single = float(q[0] @ k[0]) / root
    padded = np.zeros(k.shape[0])
    padded[0] = single
    tries = (("single_score", padded),  # the one score at dog's place, zeros for the keys it skipped
             ("embedding_unscaled", k[0] @ k.T))  # dog's key (= its embedding) as the query, no ÷√d_k
    candidates = []
    for name, logits in tries:
        w = softmax(logits)
        candidates.append(Candidate(name, logits, w, float(np.abs(w - printed).max()),
                                    bool(np.array_equal(np.round(w, 3), printed))))
    candidates.sort(key=lambda c: c.max_error)
    real = enc.weights[0]
    return Comparison(
        printed=printed, single_score=single, real_scores=enc.scaled[0], real=real,
        real_error=float(np.abs(real - printed).max()), decoder=dec.weights[0], output=enc.output[0],
        candidates=tuple(candidates), equal_rivals=bool(np.isclose(enc.scores[0, 1], enc.scores[0, 2])),
    )
