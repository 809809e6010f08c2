"""The Attention tab: its handlers called directly, then the /inspect endpoint over HTTP."""

import json
import math

import numpy as np
import pytest

from playground import api, figures
from playground.errors import PlaygroundError
from playground.ui import attention_tab as tab
from playground.ui.state import get_bundle, model_choices

TEXT = "The dog saw the cat. 狗看见了猫。"


class ChineseBrowser:
    """Stands in for gr.Request: only the header `language()` reads."""

    headers = {"accept-language": "zh-CN,zh;q=0.9,en;q=0.8"}


def escaped(labels):
    """Tick texts as figures.py writes them (plotly would parse <...> as markup)."""
    return [s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for s in labels]


@pytest.fixture(scope="module")
def model_name():
    return model_choices()[0]


@pytest.fixture(scope="module")
def bundle(model_name):
    return get_bundle(model_name)


@pytest.fixture(scope="module")
def inspected(model_name):
    """(outputs of on_inspect, the api.inspect result of the same text) — one model run. The
    handler returns the light view (the page's gr.State); its arrays are in the session registry,
    joined here once so later inspections in this module cannot replace them."""
    outputs = tab.on_inspect(model_name, TEXT)
    assert not set(tab.ARRAY_KEYS) & set(outputs[-1])  # no arrays in the page's state
    return (*outputs[:-1], tab._check_view(outputs[-1])), api.inspect(get_bundle(model_name), TEXT)


@pytest.fixture
def view(inspected):
    outputs, _ = inspected
    return {**outputs[-1]}  # handlers update the selection in place: a fresh dict per test


def test_inspect_returns_tokens_summary_figures_selectors_and_view(inspected, bundle):
    outputs, result = inspected
    html, summary, grid, big, head_view, steps, steps_md, layer, head, focus, query, view = outputs
    n, cfg = len(result.ids), bundle.config
    labels = [tok.display for tok in result.tokens]
    assert html.count('class="tok"') == n
    assert summary.startswith(f"{n} tokens")
    assert view["labels"] == labels
    assert view["patterns"].shape == (cfg.n_layers, cfg.n_heads, n, n)
    assert view["patterns"].dtype == np.float32
    assert view["q"].shape == (cfg.n_layers, n, cfg.n_heads, cfg.d_model // cfg.n_heads)
    heatmaps = [trace for trace in grid.data if trace.type == "heatmap"]
    assert len(heatmaps) == cfg.n_layers * cfg.n_heads
    assert heatmaps[0].z.shape == (n, n)
    assert layer["choices"] == list(range(cfg.n_layers)) and head["choices"] == list(range(cfg.n_heads))
    assert [value for _, value in query["choices"]] == list(range(n)) and query["value"] == n - 1
    assert focus["value"] == (tab.ALL_TOKENS if n <= tab.HEAD_VIEW_ALL_MAX else n - 1)
    assert {int(y) for trace in head_view.data if trace.mode == "lines" for y in np.asarray(trace.y)[0::3]} \
        <= (set(range(n)) if n <= tab.HEAD_VIEW_ALL_MAX else {n - 1})
    assert "q·k =" in steps_md
    assert {head_view.layout.title.text, steps.layout.title.text} != {None}


def test_every_axis_is_labelled_with_the_tokens(inspected):
    outputs, result = inspected
    grid, big, head_view, steps = outputs[2:6]
    labels = escaped([tok.display for tok in result.tokens])
    assert list(big.layout.xaxis.ticktext) == labels and list(big.layout.yaxis.ticktext) == labels
    assert big.data[0].z.shape == (len(labels), len(labels))
    n_heads = result.cache.pattern(0).shape[0]
    if len(labels) <= figures.grid_tick_limit(tab.grid_cell_px(n_heads)):
        assert list(grid.layout.xaxis.ticktext) == labels
    token_marks = next(trace for trace in head_view.data if trace.name == "tokens")
    assert list(token_marks.text) == labels + labels
    assert list(steps.layout.yaxis.ticktext) == labels


def test_enlarged_head_is_the_cached_pattern_with_the_future_blank(inspected):
    outputs, result = inspected
    view = outputs[-1]
    fig = tab.big_figure(view, 1, 2, average=False)
    expected = result.cache.pattern(1)[2].numpy()
    z = fig.data[0].z
    np.testing.assert_allclose(np.nan_to_num(z), expected, atol=1e-6)
    assert np.isnan(z[0, 1]) and "Layer 1 · head 2" in fig.layout.title.text


def test_step_by_step_numbers_equal_the_activation_cache(view, inspected):
    _, result = inspected
    cache = result.cache
    layer, head, query = 1, 3, 5
    fig, line = tab.on_query(view, layer, head, query)
    data = figures.figure_data(fig)
    d = cache.q(layer).shape[-1]
    pattern = cache.pattern(layer)[head, query].numpy()  # (T,)
    scores = cache.scores(layer)[head, query].numpy()  # scaled and masked, (T,)
    np.testing.assert_allclose(data["q"]["z"][0], cache.q(layer)[query, head].numpy(), atol=1e-6)
    np.testing.assert_allclose(data["K"]["z"], cache.k(layer)[:, head].numpy(), atol=1e-6)
    np.testing.assert_allclose(data["V"]["z"], cache.v(layer)[:, head].numpy(), atol=1e-6)
    visible = slice(0, query + 1)
    np.testing.assert_allclose(data["scaled"]["z"][visible, 0], scores[visible], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(data["scores"]["z"][visible, 0], scores[visible] * math.sqrt(d),
                               rtol=1e-5, atol=1e-4)
    assert np.all(np.isnan(data["masked"]["z"][query + 1:, 0])) and np.all(np.isneginf(scores[query + 1:]))
    np.testing.assert_allclose(data["weights"]["z"][:, 0], pattern, atol=1e-6)
    np.testing.assert_allclose(data["z"]["z"][0], cache.z(layer)[query, head].numpy(), atol=1e-5)

    top = int(np.argmax(pattern))
    assert f"key {top} " in line
    assert f"q·k = {scores[top] * math.sqrt(d):.2f}" in line
    assert f"÷√{d} = {scores[top]:.2f}" in line
    assert f"weight **{pattern[top]:.2f}**" in line
    assert f"It may look at {query + 1} of the {len(view['labels'])} tokens" in line


def test_average_over_heads_equals_the_mean_of_the_heads(view, inspected):
    _, result = inspected
    patterns = result.cache.all_patterns().numpy()  # (L, H, T, T)
    grid, big, new_view = tab.on_average(view, 1, 0, True)
    assert new_view["average"] is True
    mean = patterns.mean(axis=1)  # (L, T, T)
    assert len(grid.data) == patterns.shape[0]
    for layer, trace in enumerate(grid.data):
        np.testing.assert_allclose(np.nan_to_num(trace.z), mean[layer], atol=1e-6)
        assert trace.name == f"L{layer} mean"
    np.testing.assert_allclose(np.nan_to_num(big.data[0].z), mean[1], atol=1e-6)
    assert "mean of" in big.layout.title.text
    grid, big, _ = tab.on_average(view, 1, 0, False)
    assert len(grid.data) == patterns.shape[0] * patterns.shape[1]


def test_focus_token_keeps_only_that_querys_lines(view):
    everything = tab.on_focus(view, 0, tab.ALL_TOKENS)
    one = tab.on_focus(view, 0, 4)
    queries = {int(y) for trace in one.data if trace.mode == "lines" for y in np.asarray(trace.y)[0::3]}
    assert queries == {4}
    lines = lambda fig: sum(np.asarray(t.y).size for t in fig.data if t.mode == "lines")  # noqa: E731
    assert lines(one) < lines(everything)


def test_choosing_layer_head_token_or_average_never_runs_the_model(view, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the model ran")

    monkeypatch.setattr(api, "inspect", forbidden)
    monkeypatch.setattr(api, "run_with_cache", forbidden)
    big, head_view, steps, line, new_view = tab.on_layer(view, 1, 0, False, tab.ALL_TOKENS, 3)
    assert new_view["layer"] == 1 and "Layer 1, head 0" in line
    big, steps, line, new_view = tab.on_head(view, 1, 2, False, 3)
    assert new_view["head"] == 2 and "Layer 1 · head 2" in big.layout.title.text
    tab.on_query(view, 1, 2, 0)
    tab.on_focus(view, 1, 2)
    tab.on_average(view, 1, 2, True)


def test_a_new_text_keeps_the_chosen_layer_head_and_average(model_name, view):
    tab.on_head(view, 1, 2, False, 0)
    tab.on_average(view, 1, 2, True)
    outputs = tab.on_inspect(model_name, "The cat sat on the mat.", view)
    layer, head, new_view = outputs[7], outputs[8], outputs[-1]
    assert (layer["value"], head["value"], new_view["average"]) == (1, 2, True)
    assert "mean of" in outputs[3].layout.title.text


def test_selectors_clamp_out_of_range_values_and_need_an_inspection_first(view):
    fig, line = tab.on_query(view, 99, 99, 999)  # clamped to the last layer, head and token
    assert f"query {len(view['labels']) - 1}" in line
    with pytest.raises(PlaygroundError, match="Inspect"):
        tab.on_query(None, 0, 0, 0)


def test_chinese_browser_gets_chinese_messages_and_figure_labels(model_name):
    outputs = tab.on_inspect(model_name, "狗看见了猫。", None, ChineseBrowser())
    summary, big, steps_md = outputs[1], outputs[3], outputs[6]
    assert "个词元" in summary
    assert "第 0 层" in big.layout.title.text and big.layout.xaxis.title.text == "键"
    assert "最关注" in steps_md


def test_handler_reports_truncation_to_the_context(model_name, bundle):
    n_ctx = bundle.config.n_ctx
    outputs = tab.on_inspect(model_name, "dog cat " * n_ctx)
    summary, view = outputs[1], outputs[-1]
    assert "truncated from" in summary and f"{n_ctx} tokens" in summary
    assert len(view["labels"]) == n_ctx


@pytest.mark.parametrize("text,message", [("", "empty"), ("x" * 30_000, "limit is 20,000")])
def test_bad_text_is_a_clear_gradio_error(model_name, text, message):
    with pytest.raises(PlaygroundError, match=message):
        tab.on_inspect(model_name, text)


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(PlaygroundError, match="choose one of"):
        tab.on_inspect("no-such-model", "hello")


def test_plots_send_the_same_json_as_plotly(inspected):
    outputs, _ = inspected
    for fig in outputs[2:6]:
        sent = tab.FastPlot().postprocess(fig)
        spec = json.loads(sent.plot)
        assert "toImageButtonOptions" in spec.pop("config")  # plotly's PNG download (see test_export)
        assert sent.type == "plotly" and spec == json.loads(fig.to_json())


@pytest.mark.server
def test_inspect_endpoint_over_http(app_url, model_name):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    try:
        api_info = client.view_api(return_format="dict", print_info=False)
        # model name + text only: the session's view is a gr.State
        assert len(api_info["named_endpoints"]["/inspect"]["parameters"]) == 2
        html, summary, grid, big, head_view, steps, steps_md, layer, head, focus, query = client.predict(
            model_name, "The cat sat. 猫坐着。", api_name="/inspect")
        assert 'class="tok"' in html and "tokens" in summary and "q·k" in steps_md
        for plot in (grid, big, head_view, steps):
            spec = json.loads(plot["plot"])
            assert spec["data"] and spec["data"][0]["type"] in ("heatmap", "scatter")
        # selectors arrive as updates: new choices for this model and text, and the value
        assert [value for _, value in layer["choices"]] == list(range(get_bundle(model_name).config.n_layers))
        n = len(query["choices"])
        assert (layer["value"], head["value"], query["value"]) == (0, 0, n - 1)
        assert focus["value"] == (tab.ALL_TOKENS if n <= tab.HEAD_VIEW_ALL_MAX else n - 1)
    finally:
        client.close()
