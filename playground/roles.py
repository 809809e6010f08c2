"""Head roles: what kind of head each attention head is, measured on the current text.

Each role is the mean attention weight a head puts on one kind of key, averaged over the
query positions where that key exists — so every score is a fraction of attention in 0..1 and
the roles compare directly:

* previous-token — the key just before the query (q-1);
* first-token — the first token, the "attention sink" heads park their weight on;
* self — the query itself;
* local — the keys 2 to 4 back (nearby, but not the previous token or the first);
* induction — only where the text repeats a span: at a query whose token and the token before
  it appeared together earlier, the key just *after* that earlier occurrence ("A B … A → B").

Queries 0 and 1 are left out (there the first, previous and self keys coincide).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROLES = ("previous-token", "first-token", "self", "local", "induction")
MIN_QUERY = 2  # from query 2 on, first / previous / self are three different keys
LOCAL_BACK = (2, 4)  # "local" = keys 2..4 positions back
NO_ROLE = "none"  # a text of under 3 tokens measures no role


@dataclass
class HeadRoles:
    """Role scores of every head on one text, and each head's strongest role."""

    scores: dict[str, np.ndarray]  # role -> (L, H) mean attention on that role's key; NaN = not measurable
    strongest: list[list[str]]  # (L, H) the role with the highest score
    strongest_score: np.ndarray  # (L, H) that score
    induction_queries: list[int]  # query positions inside a repeated span (empty: the text repeats nothing)

    def heads_with(self, role: str, threshold: float = 0.3) -> list[tuple[int, int]]:
        """(layer, head) of every head whose strongest role is `role` with a score ≥ `threshold`."""
        n_layers, n_heads = self.strongest_score.shape
        return [(layer, head) for layer in range(n_layers) for head in range(n_heads)
                if self.strongest[layer][head] == role and self.strongest_score[layer, head] >= threshold]


def induction_targets(ids: list[int]) -> dict[int, int]:
    """Query position -> key an induction head would attend to, where the text repeats a span.

    At query q, the latest earlier j with ids[j] == ids[q] and ids[j-1] == ids[q-1] (a repeated
    pair, not one common character) whose next token j+1 is before q."""
    last_seen: dict[tuple[int, int], int] = {}
    targets = {}
    for q in range(1, len(ids)):
        pair = (ids[q - 1], ids[q])
        j = last_seen.get(pair)
        if j is not None and j + 1 < q:
            targets[q] = j + 1
        last_seen[pair] = q
    return targets


def role_scores(patterns: np.ndarray, ids: list[int]) -> tuple[dict[str, np.ndarray], list[int]]:
    """Every role's (L, H) score from attention patterns (L, H, T, T) of the text `ids`."""
    p = np.asarray(patterns, dtype=np.float64)  # (L, H, T, T)
    n_layers, n_heads, T = p.shape[:3]
    nan = np.full((n_layers, n_heads), np.nan)
    scores = {role: nan.copy() for role in ROLES}
    q = np.arange(MIN_QUERY, T)
    if q.size:
        scores["previous-token"] = p[:, :, q, q - 1].mean(-1)
        scores["first-token"] = p[:, :, q, 0].mean(-1)
        scores["self"] = p[:, :, q, q].mean(-1)
    near, far = LOCAL_BACK
    local_q = np.arange(near + 1, T)  # queries with at least one key 2..4 back that is not the first
    if local_q.size:
        sums = [p[:, :, i, max(1, i - far): i - near + 1].sum(-1) for i in local_q]
        scores["local"] = np.mean(sums, axis=0)
    targets = {q: k for q, k in induction_targets(ids).items() if q >= MIN_QUERY}
    if targets:
        qs, ks = np.array(list(targets)), np.array(list(targets.values()))
        scores["induction"] = p[:, :, qs, ks].mean(-1)
    return scores, sorted(targets)


def head_roles(bundle, text_or_inspection) -> HeadRoles:
    """Score every head of `bundle`'s model on a text (or an `api.Inspection`) and name its strongest role."""
    from .lens import _inspection

    result = _inspection(bundle, text_or_inspection)
    patterns = result.cache.all_patterns().cpu().numpy()  # (L, H, T, T)
    return roles_from_patterns(patterns, result.ids)


def roles_from_patterns(patterns: np.ndarray, ids: list[int]) -> HeadRoles:
    """`head_roles` from patterns already computed (L, H, T, T): no model run."""
    scores, queries = role_scores(patterns, ids)
    stacked = np.stack([scores[r] for r in ROLES])  # (n_roles, L, H)
    filled = np.where(np.isnan(stacked), -1.0, stacked)
    best = filled.argmax(0)  # (L, H)
    top = np.take_along_axis(filled, best[None], 0)[0]  # (L, H)
    strongest = [[ROLES[i] if top[layer, head] >= 0 else NO_ROLE for head, i in enumerate(row)]
                 for layer, row in enumerate(best)]
    return HeadRoles(scores, strongest, np.maximum(top, 0.0), queries)
