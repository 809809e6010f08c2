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

from .figures import pca_2d


@dataclass(frozen=True)
class VocabProjection:
    """Every vocabulary row projected on the table's first two principal components."""

    points: np.ndarray  # (d_vocab, 2) float32
    explained: np.ndarray  # (2,) fraction of the variance each component explains


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
    if isinstance(token_id, bool) or not isinstance(token_id, int | np.integer) or not 0 <= token_id < n:
        raise ValueError(f"token id must be a whole number from 0 to {n - 1}; got {token_id!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number >= 1; got {k!r}")
    u = _unit_rows(m)
    sims = u @ u[token_id]  # (d_vocab,)
    sims[token_id] = -np.inf
    order = np.lexsort((np.arange(n), -sims))[: min(k, n - 1)]
    return [(int(i), float(sims[i])) for i in order]


def vocab_projection(weights) -> VocabProjection:
    """The whole vocabulary (rows of `weights`) on its first two principal components."""
    points, explained = pca_2d(as_matrix(weights))
    return VocabProjection(points, explained)


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
