"""The first page: the inspect handler directly, then the /inspect endpoint over HTTP."""

import gradio as gr
import numpy as np
import pytest

from playground import api
from playground.ui import attention_tab
from playground.ui.state import model_choices


@pytest.fixture(scope="module")
def model_name():
    return model_choices()[0]


def test_handler_returns_tokens_summary_and_one_heatmap_per_head(model_name):
    html, summary, grid = attention_tab.on_inspect(model_name, "The dog saw the cat. 狗看见猫。")
    bundle = api.load_model(model_name) if model_name != api.DEMO_MODEL else api.demo_model()
    n_tokens = len(bundle.tokenizer.encode("The dog saw the cat. 狗看见猫。").ids)
    assert html.count('class="tok"') == n_tokens
    assert summary.startswith(f"{n_tokens} tokens")
    heatmaps = [trace for trace in grid.data if trace.type == "heatmap"]
    assert len(heatmaps) == bundle.config.n_layers * bundle.config.n_heads
    z = np.asarray(heatmaps[0].z)
    assert z.shape == (n_tokens, n_tokens)


def test_handler_reports_truncation_to_the_context(model_name):
    n_ctx = (api.demo_model() if model_name == api.DEMO_MODEL else api.load_model(model_name)).config.n_ctx
    _, summary, _ = attention_tab.on_inspect(model_name, "dog cat " * n_ctx)
    assert f"truncated from" in summary and f"{n_ctx} tokens" in summary


@pytest.mark.parametrize("text,message", [("", "empty"), ("x" * 30_000, "limit is 20,000")])
def test_bad_text_is_a_clear_gradio_error(model_name, text, message):
    with pytest.raises(gr.Error, match=message):
        attention_tab.on_inspect(model_name, text)


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(gr.Error, match="choose one of"):
        attention_tab.on_inspect("no-such-model", "hello")


@pytest.mark.server
def test_inspect_endpoint_over_http(app_url, model_name):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    try:
        html, summary, plot = client.predict(model_name, "The cat sat. 猫坐着。", api_name="/inspect")
        assert 'class="tok"' in html and "tokens" in summary
        assert plot is not None
    finally:
        client.close()
