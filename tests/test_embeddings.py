"""Embedding geometry against direct numpy: cosine similarity, neighbours, the vocabulary map."""

import numpy as np
import pytest
import torch

from playground import embeddings as emb


@pytest.fixture
def table():
    return np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_cosine_similarity_matches_the_definition(table):
    sim = emb.cosine_similarity(table[:6])
    expected = np.array([[_cos(a, b) for b in table[:6]] for a in table[:6]])
    np.testing.assert_allclose(sim, expected, atol=1e-5)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-6)


def test_zero_row_has_similarity_zero_not_nan():
    sim = emb.cosine_similarity(np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert np.isfinite(sim).all() and sim[0, 1] == 0.0


def test_nearest_neighbours_match_a_direct_numpy_ranking(table):
    got = emb.nearest_neighbours(table, 7, k=10)
    sims = np.array([_cos(table[7], row) for row in table])
    sims[7] = -np.inf
    order = np.argsort(-sims, kind="stable")[:10]
    assert [i for i, _ in got] == order.tolist()
    np.testing.assert_allclose([s for _, s in got], sims[order], atol=1e-5)
    assert 7 not in [i for i, _ in got]


def test_nearest_neighbours_accept_a_torch_tensor(table):
    assert emb.nearest_neighbours(torch.from_numpy(table), 3, 5) == emb.nearest_neighbours(table, 3, 5)


@pytest.mark.parametrize("token_id", [-1, 50, 2.5, None])
def test_nearest_neighbours_reject_bad_ids(table, token_id):
    with pytest.raises(ValueError, match="from 0 to 49"):
        emb.nearest_neighbours(table, token_id)


def test_vocab_projection_is_pca_of_the_centred_rows(table):
    proj = emb.vocab_projection(table)
    centred = table - table.mean(axis=0)
    _, s, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(proj.explained, (s**2 / (s**2).sum())[:2], atol=1e-5)
    # Up to each component's sign, the points are the projections on the top two directions.
    expected = centred @ vt[:2].T
    np.testing.assert_allclose(np.abs(proj.points), np.abs(expected), atol=1e-4)
    assert proj.points.shape == (50, 2) and proj.points.dtype == np.float32


def test_projection_is_cached_per_owner_until_the_weights_change(table):
    owner = torch.nn.Embedding(50, 8)
    with torch.no_grad():
        owner.weight.copy_(torch.from_numpy(table))
    first = emb.cached_vocab_projection(owner, owner.weight)
    assert emb.cached_vocab_projection(owner, owner.weight) is first
    with torch.no_grad():
        owner.weight.mul_(2.0)  # an in-place update (as an optimizer step) bumps the version
    second = emb.cached_vocab_projection(owner, owner.weight)
    assert second is not first
    np.testing.assert_allclose(np.abs(second.points), 2 * np.abs(first.points), rtol=1e-4, atol=1e-4)


def test_untrained_rows_are_the_tokens_the_training_text_never_used():
    """The weight-only criterion against the real token counts of the shipped models' corpus."""
    from playground import api
    from playground.corpora import load_corpus

    if "stories-char" not in api.builtin_names():
        pytest.skip("shipped checkpoints not built")
    corpus = load_corpus("stories", seed=0).train[:300_000]
    for name in ("stories", "stories-char"):
        bundle = api.load_model(name)
        counts = np.bincount(bundle.tokenizer.encode(corpus).ids, minlength=bundle.config.d_vocab)
        flagged = emb.untrained_rows(bundle.model.transformer.wte.weight)
        assert flagged.sum() >= 200  # byte tokens and unused merges: a real share of the vocabulary
        assert counts[flagged].max() <= 1, name  # flagged tokens (almost) never occur
        common = counts >= 5
        assert not (flagged & common).any(), name  # no token the text uses is flagged


def test_a_random_table_has_no_untrained_rows_and_a_collapsed_block_is_found():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(500, 32)).astype(np.float32)
    assert not emb.untrained_rows(table).any()
    direction = rng.normal(size=32)
    table[:100] = direction + 0.05 * rng.normal(size=(100, 32))  # 100 rows pushed the same way
    flagged = emb.untrained_rows(table)
    assert flagged[:100].all() and not flagged[100:].any()
    proj = emb.vocab_projection(table)
    assert np.isnan(proj.trained_points()[:100]).all() and np.isfinite(proj.trained_points()[100:]).all()
    assert np.isfinite(proj.points).all()  # exports keep every row, in the trained rows' basis
