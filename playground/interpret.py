"""Head scores: measure what kind of head each attention head is.

An *induction head* attends from a repeated token to the token that followed its earlier
occurrence ("... A B ... A → look at B"), which is how a model copies repeated text. A
*previous-token head* attends to the position just before. Both are measured on a random
sequence repeated twice, the standard probe (Olsson et al., 2022).
"""

from __future__ import annotations

import numpy as np
import torch

from .hooks import run_with_cache
from .model import TinyGPT


def repeated_sequence(alphabet_ids: list[int], half: int, seed: int = 0, sep_id: int | None = None) -> list[int]:
    """A random sequence of `half` ids from `alphabet_ids`, then (an optional separator and) the same again."""
    rng = np.random.default_rng(seed)
    first = [int(i) for i in rng.choice(alphabet_ids, size=half)]
    return first + ([sep_id] if sep_id is not None else []) + first


def head_scores(model: TinyGPT, ids: list[int], half: int, offset: int) -> np.ndarray:
    """Mean attention, over the second copy, to the position `offset` after the first copy's match.

    `ids` = first copy (length `half`), `gap` separator tokens, second copy. offset=1 gives the
    induction score (look at the token after the earlier occurrence); offset=0 the duplicate-token score.
    Returns (L, H).
    """
    gap = len(ids) - 2 * half
    names = [f"blocks.{i}.attn.hook_pattern" for i in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, ids, names=names)
    patterns = cache.all_patterns()  # (L, H, T, T)
    second = torch.arange(half + gap, len(ids) - offset)  # query positions with a target in range
    targets = second - half - gap + offset  # matching position in the first copy, shifted
    return patterns[:, :, second, targets].mean(-1).numpy()


def induction_scores(model: TinyGPT, ids: list[int], half: int) -> np.ndarray:
    """(L, H) induction score of every head on a repeated sequence built by `repeated_sequence`."""
    return head_scores(model, ids, half, offset=1)


def previous_token_scores(model: TinyGPT, ids: list[int]) -> np.ndarray:
    """(L, H) mean attention from each position to the one just before it."""
    names = [f"blocks.{i}.attn.hook_pattern" for i in range(model.cfg.n_layers)]
    _, cache = run_with_cache(model, ids, names=names)
    patterns = cache.all_patterns()  # (L, H, T, T)
    q = torch.arange(1, len(ids))
    return patterns[:, :, q, q - 1].mean(-1).numpy()
