"""The article's worked numbers, checked against plain-Python arithmetic written independently."""

import math

import numpy as np
import pytest

from playground import figures
from playground import worked_example as wx


def plain_attention(Q, K, V, causal=False):
    """Scaled dot-product attention with lists and `math` only, one query at a time."""
    d_k = len(K[0])
    weights, outputs = [], []
    for i, q in enumerate(Q):
        visible = [j for j in range(len(K)) if not causal or j <= i]
        logits = {j: sum(a * b for a, b in zip(q, K[j], strict=True)) / math.sqrt(d_k) for j in visible}
        top = max(logits.values())
        exps = {j: math.exp(x - top) for j, x in logits.items()}
        total = sum(exps.values())
        row = [exps.get(j, 0.0) / total for j in range(len(K))]
        weights.append(row)
        outputs.append([sum(row[j] * V[j][c] for j in range(len(K))) for c in range(len(V[0]))])
    return weights, outputs


@pytest.mark.parametrize("causal", [False, True])
def test_article_attention_matches_plain_python(causal):
    got = wx.attention(wx.ARTICLE_Q, wx.ARTICLE_K, wx.ARTICLE_V, causal=causal)
    weights, outputs = plain_attention(wx.ARTICLE_Q, wx.ARTICLE_K, wx.ARTICLE_V, causal)
    np.testing.assert_allclose(got.weights, weights, atol=1e-12)
    np.testing.assert_allclose(got.output, outputs, atol=1e-12)
    np.testing.assert_allclose(got.scores, [[1, 1, 1], [0, 1, 1], [0, 0, 1]])
    np.testing.assert_allclose(got.scaled, got.scores / math.sqrt(3))
    assert got.d_k == 3 and got.causal is causal


def test_dogs_real_row_is_uniform_and_decoder_dog_sees_only_itself():
    enc = wx.attention(wx.ARTICLE_Q, wx.ARTICLE_K, wx.ARTICLE_V)
    dec = wx.attention(wx.ARTICLE_Q, wx.ARTICLE_K, wx.ARTICLE_V, causal=True)
    np.testing.assert_allclose(enc.weights[0], [1 / 3] * 3)
    np.testing.assert_allclose(dec.weights[0], [1, 0, 0])
    # cat: scores [0, 1, 1]/√3 -> e^0 : e^(1/√3) : e^(1/√3)
    e = math.exp(1 / math.sqrt(3))
    np.testing.assert_allclose(enc.weights[1], [1 / (1 + 2 * e), e / (1 + 2 * e), e / (1 + 2 * e)])


def test_random_matrices_match_plain_python_and_mask_is_exact():
    rng = np.random.default_rng(3)
    Q, K, V = rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    for causal in (False, True):
        got = wx.attention(Q, K, V, causal=causal)
        weights, outputs = plain_attention(Q.tolist(), K.tolist(), V.tolist(), causal)
        np.testing.assert_allclose(got.weights, weights, atol=1e-12)
        np.testing.assert_allclose(got.output, outputs, atol=1e-12)
        np.testing.assert_allclose(got.weights.sum(axis=1), 1.0)
    masked = wx.attention(Q, K, V, causal=True)
    assert np.all(masked.weights[np.triu_indices(5, k=1)] == 0.0)
    assert np.all(np.isneginf(masked.masked[np.triu_indices(5, k=1)]))


def test_non_square_attention_without_mask():
    got = wx.attention([[1.0, 0.0]], [[1, 0], [0, 1], [1, 1]], [[1], [2], [3]])
    assert got.weights.shape == (1, 3) and got.output.shape == (1, 1)


@pytest.mark.parametrize("Q,K,V,causal,message", [
    ([[1, 2]], [[1, 2, 3]], [[1]], False, "same number of columns"),
    ([[1, 2]], [[1, 2], [3, 4]], [[1]], False, "same number of rows"),
    ([[1, 2]], [[1, 2], [3, 4]], [[1], [2]], True, "as many queries as keys"),
    ([[1, float("nan")]], [[1, 2]], [[1]], False, "finite numbers"),
    ([[1, None]], [[1, 2]], [[1]], False, "finite numbers"),
    ([["a", 1]], [[1, 2]], [[1]], False, "numbers only"),
    (np.ones((17, 2)), np.ones((17, 2)), np.ones((17, 1)), False, "at most 16"),
    ([], [[1]], [[1]], False, "non-empty"),
])
def test_bad_inputs_say_what_is_allowed(Q, K, V, causal, message):
    with pytest.raises(ValueError, match=message):
        wx.attention(Q, K, V, causal=causal)


def test_embedding_lookup_is_a_matrix_product_picking_the_row():
    for index, row in enumerate(wx.EMBEDDINGS):
        look = wx.embedding_lookup(wx.EMBEDDINGS, index)
        assert look.W_e.shape == (3, 5)
        assert look.one_hot.tolist() == [1.0 if j == index else 0.0 for j in range(5)]
        assert look.vector.tolist() == list(row)
    with pytest.raises(ValueError, match=r"from 0 to 4 \(got 5\)"):
        wx.embedding_lookup(wx.EMBEDDINGS, 5)


def test_comparison_with_the_printed_line_is_computed():
    cmp = wx.compare_with_article(wx.ARTICLE_Q, wx.ARTICLE_K, wx.ARTICLE_V)
    assert cmp is not None
    assert cmp.single_score == pytest.approx(1 / math.sqrt(3))
    np.testing.assert_allclose(cmp.real, [1 / 3] * 3)
    assert cmp.real_error == pytest.approx(0.578 - 1 / 3)
    np.testing.assert_allclose(cmp.decoder, [1, 0, 0])
    # The closest simple slip: softmax([1, 0, 0]) = [e, 1, 1] / (e + 2) — not the printed line.
    closest = cmp.candidates[0]
    assert closest.name == "embedding_unscaled"
    e = math.e
    np.testing.assert_allclose(closest.weights, [e / (e + 2), 1 / (e + 2), 1 / (e + 2)])
    assert closest.max_error == pytest.approx(0.002, abs=5e-4) and not closest.matches
    single = {c.name: c for c in cmp.candidates}["single_score"]
    s = math.exp(1 / math.sqrt(3))
    np.testing.assert_allclose(single.weights, [s / (s + 2), 1 / (s + 2), 1 / (s + 2)])
    assert cmp.equal_rivals  # cat and fish get equal scores, the printed 0.212 ≠ 0.210


def test_comparison_hides_when_q_or_k_change_but_not_for_v():
    q = np.array(wx.ARTICLE_Q, dtype=float)
    q[0, 0] = 2
    assert wx.compare_with_article(q, wx.ARTICLE_K, wx.ARTICLE_V) is None
    v = np.array(wx.ARTICLE_V, dtype=float) * 2
    cmp = wx.compare_with_article(wx.ARTICLE_Q, wx.ARTICLE_K, v)
    np.testing.assert_allclose(cmp.output, [2 / 3] * 3)


def test_matrix_panels_prints_every_number_and_masks_nan():
    fig = figures.matrix_panels(
        [dict(z=[[1.0, np.nan], [0.3333, 0.39]], rows=["a", "b"], cols=["x", "y"], title="w", kind="weights"),
         dict(z=[[2.0], [-1.0]], rows=["a", "b"], cols=["o"], title="out", highlight=("row", 1))],
        between=["→"], masked_text="−∞")
    assert [list(row) for row in fig.data[0].text] == [["1", "−∞"], ["0.333", "0.390"]]
    assert len(fig.layout.shapes) == 1
    assert any(a.text == "<b>→</b>" for a in fig.layout.annotations)
    with pytest.raises(ValueError, match="operators"):
        figures.matrix_panels([dict(z=[[1]], rows=["a"], cols=["b"])], between=["="])


def test_new_figures_equal_their_validated_rebuild():
    import json

    import plotly.graph_objects as go

    figs = [
        figures.matrix_panels([dict(z=[[1.0, np.nan]], rows=["a"], cols=["x", "y"], title="t", kind="weights",
                                    highlight=("col", 0))], title="T"),
        figures.lab_losses([("run", [9.0, 5.0]), ("prev", [9.1, 8.0])], [4.4, 2.8], reference=9.21),
    ]
    for fig in figs:
        spec = json.loads(fig.to_json())
        assert json.loads(go.Figure(fig.to_dict()).to_json()) == spec
