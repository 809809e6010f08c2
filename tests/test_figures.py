"""figures.py: arrays in, plotly figures out — shapes, labels, masking, numbers, speed-safe data."""

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from playground import figures as F

# Duplicates (" cat" twice), Chinese and emoji: every token must keep its own row.
TOKENS = ["The", " cat", " saw", " the", " cat", "。", "猫", "🐱"]
T = len(TOKENS)


def causal_patterns(*lead: int, t: int = T, seed: int = 0) -> np.ndarray:
    """Softmax of random scores under a causal mask: (*lead, t, t), future weights exactly 0."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(*lead, t, t)) * 2
    scores[..., np.triu(np.ones((t, t), dtype=bool), 1)] = -np.inf
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def all_figures() -> dict[str, go.Figure]:
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=(T, 4)) for _ in range(3))
    return {
        "attention_heatmap": F.attention_heatmap(causal_patterns(), TOKENS),
        "attention_grid": F.attention_grid(causal_patterns(2, 3), TOKENS),
        "attention_grid_reduced": F.attention_grid(causal_patterns(1, 8, t=200), list(map(str, range(200)))),
        "attention_grid_mean": F.attention_grid(causal_patterns(2, 1), TOKENS, head_names=["mean"],
                                                cell_px=150),
        "head_view": F.head_view(causal_patterns(3), TOKENS),
        "qkv_steps": F.qkv_steps(q, k, v, TOKENS, 4),
        "qkv_steps_no_numbers": F.qkv_steps(
            *(rng.normal(size=(50, 32)) for _ in range(3)), [str(i) for i in range(50)], 49
        ),
        "embedding_heatmap": F.embedding_heatmap(rng.normal(size=(T, 16)), TOKENS),
        "pca_scatter": F.pca_scatter(rng.normal(size=(50, 2)), [f"w{i}" for i in range(50)], highlight=[3]),
        "similarity_heatmap": F.similarity_heatmap(np.clip(rng.normal(size=(T, T)), -1, 1), TOKENS),
        "loss_curve": F.loss_curve([0, 1, 2], [3.0, 2.5, 2.2], [2], [2.4]),
        "token_probability_bars": F.token_probability_bars(["a", "b", "a"], [0.2, 0.5, 0.3]),
    }


# ---------------------------------------------------------------- every figure


@pytest.mark.parametrize("name", list(all_figures()))
def test_every_figure_serialises_and_equals_its_validated_rebuild(name):
    fig = all_figures()[name]
    spec = json.loads(fig.to_json())
    assert json.loads(go.Figure(fig.to_dict()).to_json()) == spec  # validation raises or changes nothing


@pytest.mark.parametrize("name", list(all_figures()))
def test_numeric_trace_data_is_float32_numpy(name):
    for trace in all_figures()[name].data:
        if "z" in trace and trace.z is not None:
            assert isinstance(trace.z, np.ndarray) and trace.z.dtype == np.float32
        for field in ("x", "y"):
            value = trace[field]
            if value is not None and not isinstance(value[0], str):  # strings = token categories
                assert isinstance(value, np.ndarray) and value.dtype == np.float32, (trace.name, field)


def test_labels_are_html_escaped_so_byte_tokens_and_ampersands_show_literally():
    fig = F.attention_heatmap(np.eye(2), ["<e7 8b>", "a&b"], causal=False)
    assert list(fig.layout.xaxis.ticktext) == ["&lt;e7 8b&gt;", "a&amp;b"]
    assert fig.data[0].x[0] == '"&lt;e7 8b&gt;" (0)'


# ---------------------------------------------------------------- attention_heatmap


def test_attention_heatmap_keeps_shape_and_labels_duplicate_tokens_by_position():
    pattern = causal_patterns()
    fig = F.attention_heatmap(pattern, TOKENS, title="L0 H0")
    heat = fig.data[0]
    assert heat.z.shape == (T, T) and heat.z.dtype == np.float32
    assert list(fig.layout.xaxis.ticktext) == TOKENS and list(fig.layout.yaxis.ticktext) == TOKENS
    assert len(set(heat.x)) == T  # " cat" at 1 and 4 are two categories
    assert heat.y[4] == '" cat" (4)' and heat.x[1] == '" cat" (1)'
    assert fig.layout.yaxis.autorange == "reversed"  # query 0 on top


def test_attention_heatmap_hover_names_query_key_and_weight():
    fig = F.attention_heatmap(causal_patterns(), TOKENS)
    template = fig.data[0].hovertemplate
    assert "query: %{y}" in template and "key: %{x}" in template and "weight: %{z:.3f}" in template
    translated = F.attention_heatmap(
        causal_patterns(), TOKENS, query_label="查询", key_label="键", weight_label="权重"
    )
    assert "查询: %{y}" in translated.data[0].hovertemplate


def test_causal_future_cells_are_blank_not_zero():
    pattern = causal_patterns()
    z = F.attention_heatmap(pattern, TOKENS).data[0].z
    future = np.triu(np.ones((T, T), dtype=bool), 1)
    assert np.isnan(z[future]).all()
    np.testing.assert_array_equal(z[~future], pattern[~future])
    assert F.attention_heatmap(pattern, TOKENS).data[0].hoverongaps is False


def test_non_causal_patterns_keep_their_zeros():
    pattern = np.full((T, T), 1 / T, dtype=np.float32)
    pattern[0, 5] = 0.0
    z = F.attention_heatmap(pattern, TOKENS).data[0].z
    assert not np.isnan(z).any()
    assert not np.isnan(F.attention_heatmap(causal_patterns(), TOKENS, causal=False).data[0].z).any()


def test_kv_cache_queries_are_the_last_keys_and_mask_is_offset():
    pattern = causal_patterns()[-3:]  # (3, T): the last three queries
    fig = F.attention_heatmap(pattern, TOKENS)
    assert list(fig.layout.yaxis.ticktext) == TOKENS[-3:]
    z = fig.data[0].z
    assert np.isnan(z[0, T - 2 :]).all() and not np.isnan(z[0, : T - 2]).any() and not np.isnan(z[2]).any()


def test_attention_heatmap_rejects_wrong_token_count():
    with pytest.raises(ValueError, match="8 positions but 7 tokens"):
        F.attention_heatmap(causal_patterns(), TOKENS[:-1])


def test_big_heatmap_is_averaged_down_with_a_note():
    t = 2 * F.MAX_SIDE + 10
    pattern = causal_patterns(t=t)
    fig = F.attention_heatmap(pattern, [f"t{i}" for i in range(t)], title="big")
    z = fig.data[0].z
    assert z.shape == (174, 174)  # blocks of 3
    assert "big" in fig.layout.title.text and f"{t}×{t}" in fig.layout.title.text
    hidden = np.triu(np.ones((t, t), dtype=bool), 1)
    block = np.where(hidden, np.nan, pattern)[3:6, 0:3]
    assert z[1, 0] == pytest.approx(np.nanmean(block), rel=1e-5)
    assert np.isnan(z[0, 1])  # block entirely in the future
    assert len(fig.layout.xaxis.tickvals) <= F.TICK_LIMIT


@pytest.mark.parametrize("name", list(all_figures()))
def test_fast_to_json_equals_plotlys_to_json(name):
    fig = all_figures()[name]
    assert json.loads(F.to_json(fig)) == json.loads(fig.to_json())


# ---------------------------------------------------------------- attention_grid


def test_grid_head_names_and_cell_size_for_head_averages():
    mean = causal_patterns(3, 4).mean(axis=1, keepdims=True)  # (L, 1, T, T)
    fig = F.attention_grid(mean, TOKENS, head_names=["mean"], layer_label="Layer", cell_px=100)
    assert [trace.name for trace in fig.data] == ["L0 mean", "L1 mean", "L2 mean"]
    assert [a.text for a in fig.layout.annotations] == ["L0 mean", "L1 mean", "L2 mean"]
    assert fig.data[1].hovertemplate.startswith("Layer 1 · mean<br>")
    assert fig.layout.height < F.attention_grid(mean, TOKENS).layout.height  # smaller cells
    with pytest.raises(ValueError, match="head axis"):
        F.attention_grid(mean, TOKENS, head_names=["a", "b"])
    assert fig.layout.xaxis.showticklabels is False  # 8 labels on a 100 px square would overlap
    assert list(F.attention_grid(mean, TOKENS, cell_px=8 * 14).layout.xaxis.ticktext) == TOKENS


def test_grid_has_one_heatmap_per_layer_and_head_on_one_colour_scale():
    patterns = causal_patterns(3, 4)
    fig = F.attention_grid(patterns, TOKENS)
    assert len(fig.data) == 12 and all(trace.type == "heatmap" for trace in fig.data)
    assert [trace.name for trace in fig.data[:5]] == ["L0 H0", "L0 H1", "L0 H2", "L0 H3", "L1 H0"]
    assert [a.text for a in fig.layout.annotations[:2]] == ["L0 H0", "L0 H1"]
    assert {trace.coloraxis for trace in fig.data} == {"coloraxis"}
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    for trace, expected in zip(fig.data, patterns.reshape(12, T, T), strict=True):
        assert trace.z.shape == (T, T) and trace.z.dtype == np.float32
        np.testing.assert_array_equal(np.nan_to_num(trace.z), expected)
        assert np.isnan(trace.z[0, 1])


def test_grid_subplots_sit_on_their_layer_row_and_head_column():
    fig = F.attention_grid(causal_patterns(2, 3), TOKENS)
    l1h2 = fig.data[5]
    assert (l1h2.xaxis, l1h2.yaxis) == ("x3", "y2")
    assert fig.layout.xaxis3.domain[0] > fig.layout.xaxis2.domain[1]
    assert fig.layout.yaxis2.domain[1] < fig.layout.yaxis.domain[0]  # layer 1 below layer 0


def test_grid_hover_names_layer_head_query_key_weight():
    fig = F.attention_grid(causal_patterns(2, 2), TOKENS, layer_label="层", head_label="头")
    template = fig.data[3].hovertemplate
    assert template.startswith("层 1 · 头 1<br>")
    assert all(part in template for part in ("query: %{y}", "key: %{x}", "weight: %{z:.3f}"))


def test_grid_shows_token_ticks_only_for_short_texts():
    fig = F.attention_grid(causal_patterns(2, 2), TOKENS)
    assert list(fig.layout.xaxis.ticktext) == TOKENS and list(fig.layout.yaxis.ticktext) == TOKENS
    t = F.GRID_TICK_LIMIT + 1
    long = F.attention_grid(causal_patterns(1, 2, t=t), [f"t{i}" for i in range(t)])
    assert long.layout.xaxis.showticklabels is False and long.layout.yaxis.showticklabels is False


def test_big_grids_are_averaged_down_small_ones_are_not():
    tokens = [f"t{i}" for i in range(128)]
    small = F.attention_grid(causal_patterns(1, 1, t=128), tokens)
    assert small.data[0].z.shape == (128, 128)
    big = F.attention_grid(causal_patterns(12, 12, t=128), tokens)
    assert len(big.data) == 144
    shown = big.data[0].z.shape[0]
    assert shown < 128 and big.data[0].z.shape == (shown, shown)
    assert f"128×128 shown as {shown}×{shown}" in big.layout.title.text


# ---------------------------------------------------------------- head_view


def segments(fig: go.Figure) -> list[tuple[int, int, str]]:
    """(query, key, head name) for every drawn line."""
    out = []
    for trace in fig.data:
        if trace.mode == "lines":
            ys = np.asarray(trace.y).reshape(-1, 3)
            out += [(int(a), int(b), trace.name) for a, b, _ in ys]
    return out


def test_head_view_draws_one_line_per_weight_above_threshold():
    patterns = causal_patterns(3)
    fig = F.head_view(patterns, TOKENS)
    drawn = segments(fig)
    expected = [
        (int(i), int(j), f"Head {h}")
        for h, i, j in zip(*np.nonzero(patterns >= F.MIN_LINE_WEIGHT), strict=True)
    ]
    assert sorted(drawn) == sorted(expected)
    assert len(fig.data) == 3 * len(F.LINE_BANDS) + 1
    assert sum(trace.showlegend is True for trace in fig.data) == 3  # one legend entry per head


def test_head_view_bands_are_wider_for_bigger_weights():
    fig = F.head_view(causal_patterns(1), TOKENS)
    widths = [trace.line.width for trace in fig.data if trace.mode == "lines"]
    assert widths == sorted(widths, reverse=True)


def test_head_view_focus_and_head_selection():
    patterns = causal_patterns(4)
    drawn = segments(F.head_view(patterns, TOKENS, focus=5, heads=[1, 3]))
    assert drawn and {q for q, _, _ in drawn} == {5}
    assert {name for _, _, name in drawn} <= {"Head 1", "Head 3"}
    with pytest.raises(ValueError, match="focus"):
        F.head_view(patterns, TOKENS, focus=T)


def test_head_view_lists_every_head_in_the_legend_even_without_strong_lines():
    p = np.zeros((2, 3, 3), dtype=np.float32)
    p[:, :, 0] = 1.0  # head 0: strong lines only
    p[1] = np.tril(np.full((3, 3), 0.3, dtype=np.float32))  # head 1: middle band only
    fig = F.head_view(p, ["a", "b", "c"])
    shown = [trace for trace in fig.data if trace.showlegend is True]
    assert [trace.name for trace in shown] == ["Head 0", "Head 1"]
    assert all(np.asarray(trace.y).size for trace in shown)  # plotly drops empty traces from the legend


def test_head_view_token_markers_show_the_tokens_on_both_sides():
    tokens_trace = F.head_view(causal_patterns(2), TOKENS).data[-1]
    assert list(tokens_trace.text) == TOKENS + TOKENS
    assert list(tokens_trace.x) == [0] * T + [1] * T
    assert "%{text}" in tokens_trace.hovertemplate


# ---------------------------------------------------------------- qkv_steps


@pytest.fixture
def qkv():
    rng = np.random.default_rng(7)
    return tuple(rng.normal(size=(T, 4)).astype(np.float32) for _ in range(3))


def test_qkv_steps_numbers_equal_a_direct_numpy_computation(qkv):
    q, k, v = qkv
    i = 4
    data = F.figure_data(F.qkv_steps(q, k, v, TOKENS, i))
    np.testing.assert_allclose(data["q"]["z"][0], q[i])
    np.testing.assert_allclose(data["K"]["z"], k)
    np.testing.assert_allclose(data["V"]["z"], v)
    scores = data["scores"]["z"][:, 0]
    np.testing.assert_allclose(scores, k @ q[i], rtol=1e-5)
    np.testing.assert_allclose(data["scaled"]["z"][:, 0], scores / 2.0, rtol=1e-6)  # √d = 2
    masked = data["masked"]["z"][:, 0]
    assert np.isnan(masked[i + 1 :]).all() and not np.isnan(masked[: i + 1]).any()
    weights = data["weights"]["z"][:, 0]
    assert weights.sum() == pytest.approx(1.0, abs=1e-6)
    assert (weights[i + 1 :] == 0).all()
    np.testing.assert_allclose(weights[: i + 1], softmax((k[: i + 1] @ q[i]) / 2.0), rtol=1e-5)
    np.testing.assert_allclose(data["z"]["z"][0], weights @ v, rtol=1e-5)


def test_qkv_steps_match_the_row_of_full_matrix_attention(qkv):
    """What the model caches: pattern = softmax(QKᵀ/√d + causal mask), z = pattern @ V."""
    q, k, v = qkv
    scores = q @ k.T / math.sqrt(q.shape[1])
    scores[np.triu(np.ones((T, T), dtype=bool), 1)] = -np.inf
    pattern = np.stack([softmax(row) for row in scores])
    for i in range(T):
        steps = F.qkv_values(q, k, v, i)
        np.testing.assert_allclose(steps["weights"], pattern[i], atol=1e-6)
        np.testing.assert_allclose(steps["z"], pattern[i] @ v, atol=1e-5)
        np.testing.assert_array_equal(np.isneginf(steps["masked"]), np.isneginf(scores[i]))


def test_qkv_steps_without_mask_attends_everywhere(qkv):
    data = F.figure_data(F.qkv_steps(*qkv, TOKENS, 0, causal=False))
    assert not np.isnan(data["masked"]["z"]).any() and (data["weights"]["z"] > 0).all()


def test_qkv_steps_prints_numbers_and_minus_infinity_in_masked_cells(qkv):
    fig = F.qkv_steps(*qkv, TOKENS, 2)
    by_name = {trace.name: trace for trace in fig.data}
    assert by_name["weights"].texttemplate == "%{z:.2f}"
    assert [row[0] for row in by_name["masked"].text][3:] == ["−∞"] * (T - 3)
    assert list(fig.layout.yaxis.ticktext) == TOKENS
    assert '" saw"' in fig.layout.title.text


def test_qkv_steps_labels_translate_and_typos_are_refused(qkv):
    fig = F.qkv_steps(*qkv, TOKENS, 1, labels={"weights": "软最大", "title": "查询 {index}"})
    assert "软最大" in [a.text for a in fig.layout.annotations] and fig.layout.title.text == "查询 1"
    with pytest.raises(ValueError, match="unknown qkv_steps labels"):
        F.qkv_steps(*qkv, TOKENS, 1, labels={"weight": "x"})
    with pytest.raises(ValueError, match="same"):
        F.qkv_steps(qkv[0], qkv[1][:3], qkv[2], TOKENS, 1)


# ---------------------------------------------------------------- embeddings


def test_embedding_heatmap_rows_are_tokens_centred_on_zmid():
    matrix = np.random.default_rng(2).normal(size=(T, 16)) + 0.5
    heat = F.embedding_heatmap(matrix, TOKENS, zmid=0.5).data[0]
    assert heat.z.shape == (T, 16) and heat.z.dtype == np.float32
    assert heat.zmax - 0.5 == pytest.approx(0.5 - heat.zmin)
    assert list(F.embedding_heatmap(matrix, TOKENS).layout.yaxis.ticktext) == TOKENS


def test_wide_embeddings_are_strided_keeping_true_dimension_numbers():
    matrix = np.random.default_rng(3).normal(size=(T, 600)).astype(np.float32)
    fig = F.embedding_heatmap(matrix, TOKENS, title="emb")
    heat = fig.data[0]
    assert heat.z.shape == (T, 200)
    np.testing.assert_array_equal(heat.x, np.arange(0, 600, 3))
    np.testing.assert_array_equal(heat.z, matrix[:, ::3])
    assert "600" in fig.layout.title.text


def test_similarity_heatmap_uses_the_signed_range_and_reduces_big_inputs():
    sim = np.clip(np.random.default_rng(4).normal(size=(T, T)), -1, 1)
    heat = F.similarity_heatmap(sim, TOKENS).data[0]
    assert heat.z.shape == (T, T) and (heat.zmin, heat.zmax) == (-1.0, 1.0)
    big = F.similarity_heatmap(np.zeros((300, 300)), [str(i) for i in range(300)])
    assert big.data[0].z.shape == (150, 150)


def test_pca_2d_matches_numpy_svd():
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(40, 6)) * np.array([5, 3, 1, 0.5, 0.2, 0.1])
    points, ratios = F.pca_2d(matrix)
    centred = matrix - matrix.mean(0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    expected = u[:, :2] * s[:2]
    for c in range(2):  # equal up to the sign of each component
        sign = np.sign(points[:, c] @ expected[:, c])
        np.testing.assert_allclose(points[:, c], sign * expected[:, c], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ratios, (s**2 / (s**2).sum())[:2], rtol=1e-5)
    assert ratios[0] >= ratios[1] and points.dtype == ratios.dtype == np.float32


def test_pca_2d_is_deterministic_and_handles_degenerate_input():
    matrix = np.random.default_rng(6).normal(size=(10, 3))
    np.testing.assert_array_equal(F.pca_2d(matrix)[0], F.pca_2d(matrix.copy())[0])
    points, ratios = F.pca_2d(np.ones((1, 4)))
    assert points.shape == (1, 2) and not np.isnan(points).any() and (ratios == 0).all()


def test_pca_scatter_highlights_ids_and_switches_to_webgl_for_big_vocabularies():
    small = F.pca_scatter(np.zeros((10, 2)), [f"w{i}" for i in range(10)], highlight=[2, 7])
    assert small.data[0].type == "scatter" and list(small.data[1].text) == ["w2", "w7"]
    assert small.data[0].hovertemplate.startswith("%{text}")
    big = F.pca_scatter(np.zeros((1001, 2)), [str(i) for i in range(1001)])
    assert big.data[0].type == "scattergl" and len(big.data) == 1
    with pytest.raises(ValueError, match="highlight"):
        F.pca_scatter(np.zeros((3, 2)), ["a", "b", "c"], highlight=[3])


# ---------------------------------------------------------------- training and sampling


def test_loss_curve_draws_train_and_validation():
    fig = F.loss_curve(range(5), [5, 4, 3, 2.5, 2.2], [0, 4], [5.1, 2.4], train_label="训练")
    train, val = F.figure_data(fig).values()
    np.testing.assert_array_equal(train["x"], np.arange(5))
    np.testing.assert_allclose(val["y"], [5.1, 2.4])
    assert fig.data[0].name == "训练"
    assert len(F.loss_curve([], []).data[0].x) == 0
    with pytest.raises(ValueError, match="equal lengths"):
        F.loss_curve([0, 1], [1.0])


def test_probability_bars_put_the_most_likely_token_on_top_and_keep_duplicates():
    fig = F.token_probability_bars(["a", "b", "猫", "a"], [0.1, 0.5, 0.3, 0.1])
    bar = fig.data[0]
    np.testing.assert_allclose(bar.x, [0.5, 0.3, 0.1, 0.1])
    assert list(fig.layout.yaxis.ticktext) == ["b", "猫", "a", "a"]
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(bar.customdata) == ["b", "猫", "a", "a"]


def test_figure_data_names_traces_and_returns_arrays():
    data = F.figure_data(F.head_view(causal_patterns(1), TOKENS))
    assert "Head 0" in data and "tokens" in data and any(name.startswith("Head 0#") for name in data)
    assert all(isinstance(array, np.ndarray) for fields in data.values() for array in fields.values())
