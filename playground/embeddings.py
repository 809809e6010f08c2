"""The embedding table as geometry: cosine similarity, nearest neighbours, a 2-D map of the
whole vocabulary. numpy in, numpy out (torch tensors are accepted); no gradio.

    from playground import embeddings as emb
    W = bundle.model.transformer.wte.weight          # (d_vocab, d_model)
    emb.nearest_neighbours(W, token_id=42, k=10)     # [(id, cosine), ...], most similar first
    proj = emb.cached_vocab_projection(bundle.model, W)
    proj.points, proj.explained                      # (d_vocab, 2), (2,)

An embedding is a row lookup: W_e[x] = one_hot(x) @ W_e. Two tokens the model treats alike
end up with rows pointing the same way, which cosine similarity measures.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .errors import check_range, register
from .figures import pca_basis

register({"embeddings.token_id": ("token id", "词元 id"), "embeddings.k": ("k", "近邻数 k")})


@dataclass(frozen=True)
class VocabProjection:
    """Vocabulary rows projected on the first two principal components of the TRAINED rows.

    `untrained` marks rows that collapsed together (see `untrained_rows`): they are left out of
    the fit (else half the vocabulary is one blob that dominates the components); their points
    are still computed in the trained rows' basis (exports keep them), and a plot leaves them
    out (`trained_points`)."""

    points: np.ndarray  # (d_vocab, 2) float32
    explained: np.ndarray  # (2,) fraction of the trained rows' variance each component explains
    untrained: np.ndarray | None = None  # (d_vocab,) bool

    def trained_points(self) -> np.ndarray:
        """`points` with the untrained rows set to NaN (plotly draws no marker there)."""
        points = self.points.copy()
        if self.untrained is not None:
            points[self.untrained] = np.nan
        return points


COLLAPSE_COSINE = 0.9  # a row this close to the collapsed rows' centre is one of them
COLLAPSE_SAMPLE = 2_000  # rows searched for the collapse's seed (evenly spaced; O(sample²·d))
COLLAPSE_MIN_ROWS = 8  # fewer near-identical rows than this (and than 1% of the sample) is no collapse


def untrained_rows(weights) -> np.ndarray:
    """(d_vocab,) bool: embedding rows that training never shaped, found from the weights alone.

    Why this works: with the embedding tied to the output layer (GPT-2, our models), a token that
    never occurs in the training text is never an input and never a target; its only gradient is
    the softmax pushing its logit down, in nearly the same direction for every such token. So all
    of them end up pointing the same way — cosine ≈ 0.95–0.98 with their common centre on the
    shipped stories models — while trained tokens spread out (at most 0.66–0.83 with that centre).
    Checked against the real token counts of the training text in tests/test_embeddings.py.

    Finds the row with the most near-identical rows (cosine ≥ COLLAPSE_COSINE) in an evenly
    spaced sample; if that cluster is big enough, every row within COLLAPSE_COSINE of its mean
    direction is flagged. No corpus needed, so it works for Hub models too."""
    m = as_matrix(weights)
    n = m.shape[0]
    u = _unit_rows(m)  # (V, d)
    sample = u[np.linspace(0, n - 1, min(n, COLLAPSE_SAMPLE)).astype(np.int64)]  # (S, d)
    close = (sample @ sample.T) >= COLLAPSE_COSINE  # (S, S)
    counts = close.sum(axis=1)
    seed = int(np.argmax(counts))
    if counts[seed] < max(COLLAPSE_MIN_ROWS, 0.01 * len(sample)):
        return np.zeros(n, dtype=bool)
    centre = sample[close[seed]].mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    return (u @ centre) >= COLLAPSE_COSINE


def as_matrix(weights, what: str = "weights") -> np.ndarray:
    """A float32 (N, d) numpy view/copy of a tensor or array."""
    if hasattr(weights, "detach"):
        weights = weights.detach().cpu().numpy()
    m = np.asarray(weights, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"{what} must be a matrix (N, d), got shape {m.shape}")
    return m


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)  # a zero row stays zero: similarity 0 to all


def cosine_similarity(matrix) -> np.ndarray:
    """(N, N) cosine similarity of the rows of `matrix` (N, d); a zero row scores 0."""
    u = _unit_rows(as_matrix(matrix, "matrix"))
    return np.clip(u @ u.T, -1.0, 1.0).astype(np.float32)


def nearest_neighbours(weights, token_id: int, k: int = 10) -> list[tuple[int, float]]:
    """The `k` rows of `weights` (d_vocab, d) most cosine-similar to row `token_id`, itself
    excluded, most similar first (ties by lower id) as (id, similarity)."""
    m = as_matrix(weights)
    n = m.shape[0]
    token_id = check_range("embeddings.token_id", token_id, 0, n - 1, whole=True)
    k = check_range("embeddings.k", k, 1, None, whole=True)
    u = _unit_rows(m)
    sims = u @ u[token_id]  # (d_vocab,)
    sims[token_id] = -np.inf
    order = np.lexsort((np.arange(n), -sims))[: min(k, n - 1)]
    return [(int(i), float(sims[i])) for i in order]


def vocab_projection(weights) -> VocabProjection:
    """The trained vocabulary rows of `weights` on their first two principal components."""
    m = as_matrix(weights)
    untrained = untrained_rows(m)
    fit = m[~untrained] if (~untrained).sum() >= 2 else m
    mean, components, explained = pca_basis(fit)
    points = (m.astype(np.float64) - mean) @ components.T  # (d_vocab, 2)
    return VocabProjection(points.astype(np.float32), explained.astype(np.float32), untrained)


_PROJECTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fingerprint(weights) -> tuple:
    """Cheap identity of a tensor's current contents: storage, shape and, for torch, the
    in-place version counter (bumped by every optimizer step)."""
    if hasattr(weights, "_version"):
        return (weights.data_ptr(), weights._version, tuple(weights.shape), str(weights.dtype))
    m = np.asarray(weights)
    return (m.__array_interface__["data"][0], m.shape, str(m.dtype), hash(m.tobytes()))


def cached_vocab_projection(owner, weights) -> VocabProjection:
    """`vocab_projection(weights)`, remembered per `owner` (e.g. the model) while the weights
    are unchanged. Repeated inspections of the same model do not redo the SVD; training the
    model in place invalidates it."""
    key = fingerprint(weights)
    hit = _PROJECTIONS.get(owner)
    if hit is not None and hit[0] == key:
        return hit[1]
    projection = vocab_projection(weights)
    _PROJECTIONS[owner] = (key, projection)
    return projection
