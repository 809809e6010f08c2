"""The Generate tab's handlers called directly: streaming, seeds, colours, per-step views, My model."""

import re

import gradio as gr
import numpy as np
import pytest

from playground import api
from playground.errors import PlaygroundError
from playground.ui import generate_tab as tab
from playground.ui import state
from playground.ui.state import get_bundle, model_choices


class Request:
    def __init__(self, session="gen-user", lang="en-US"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


@pytest.fixture(scope="module")
def model_name():
    return model_choices()[0]


def generate(model_name, seed=7, session="gen-user", **kw):
    args = dict(prompt="The dog", max_new_tokens=12, temperature=1.0, top_k=0, top_p=1.0, greedy=False, seed=seed)
    return list(tab.on_generate(model_name, **{**args, **kw}, request=Request(session)))


def test_generation_streams_and_ends_with_text_summary_and_step_views(model_name):
    outputs = generate(model_name)
    html_out, plain, summary, slider, bars, attention = outputs[-1]
    assert plain.startswith("The dog")
    assert html_out.count('class="gen-tok" data-index') == 12
    assert "12 new tokens" in summary and "seed 7" in summary
    assert slider["maximum"] == 11 and slider["value"] == 11
    assert len(bars.data[0].x) == 10
    cfg = get_bundle(model_name).config
    assert len(attention.data[0].y) == cfg.n_layers * cfg.n_heads


def test_the_same_seed_gives_the_same_text_and_another_seed_usually_not(model_name):
    a = generate(model_name, seed=123)[-1][1]
    b = generate(model_name, seed=123)[-1][1]
    c = generate(model_name, seed=124)[-1][1]
    assert a == b
    assert a != c


def test_greedy_is_deterministic_without_a_seed(model_name):
    a = generate(model_name, seed=None, greedy=True)[-1][1]
    b = generate(model_name, seed="", greedy=True)[-1][1]
    assert a == b


def test_the_text_matches_the_library_api(model_name):
    plain = generate(model_name, seed=5, temperature=0.8, top_k=20, top_p=0.9)[-1][1]
    ref = api.generate(get_bundle(model_name), "The dog", 12, 0.8, 20, 0.9, 5)
    assert plain == ref.text


def test_tokens_are_coloured_by_their_probability(model_name):
    html_out = generate(model_name)[-1][0]
    probs = [float(p) for p in re.findall(r'data-prob="([0-9.]+)"', html_out)]
    alphas = [float(a) for a in re.findall(r'data-index="\d+"[^>]*rgba\(230,159,0,([0-9.]+)\)', html_out)]
    assert len(probs) == len(alphas) == 12
    order = np.argsort(probs)
    assert np.all(np.diff(np.asarray(alphas)[order]) >= -0.011)  # more probable, more opaque
    assert "gen-legend" in html_out and "100%" in html_out


def test_html_in_the_prompt_is_escaped(model_name):
    html_out = generate(model_name, prompt="<b>hi</b>")[-1][0]
    assert "<b>hi</b>" not in html_out and "&lt;b&gt;" in html_out


def test_choosing_a_step_shows_its_candidates_and_its_attention(model_name):
    generate(model_name, max_new_tokens=6)
    bars, attention = tab.on_step(2, Request())
    assert "#2" in bars.layout.title.text
    probs = np.asarray(bars.data[0].x)
    assert probs.max() <= 1.0 and np.all(np.diff(probs) <= 1e-7)
    z = np.asarray(attention.data[0].z, dtype=float)
    assert np.allclose(np.nansum(z, axis=1), 1.0, atol=1e-4)  # every head's attention sums to 1
    n_prompt = len(get_bundle(model_name).tokenizer.encode("The dog").ids)
    assert z.shape[1] == n_prompt + 2  # the prompt and the two tokens generated before step 2
    with pytest.raises(gr.Error, match="press Generate"):
        tab.on_step(0, Request("nobody"))


def test_my_model_is_used_for_its_owner_and_refused_for_others(model_name):
    bundle = get_bundle(model_name)
    state.set_my_model("owner", api.ModelBundle(state.MY_MODEL, bundle.model, bundle.tokenizer))
    try:
        out = generate(state.MY_MODEL, session="owner")[-1]
        assert "My model" in out[2]
        with pytest.raises(PlaygroundError, match="each user sees only their own"):
            generate(state.MY_MODEL, session="someone-else")
    finally:
        state.REGISTRY.drop("owner")


def test_bad_settings_are_refused_with_the_allowed_range(model_name):
    with pytest.raises(PlaygroundError, match="from 1 to 256"):
        generate(model_name, max_new_tokens=1000)
    with pytest.raises(PlaygroundError, match="temperature"):
        generate(model_name, temperature=0)
    with pytest.raises(PlaygroundError, match="seed"):
        generate(model_name, seed=-3)
    with pytest.raises(PlaygroundError, match="empty"):
        generate(model_name, prompt="")
    with pytest.raises(PlaygroundError, match="unknown model"):
        generate("no-such-model")


def test_chinese_labels_in_the_summary(model_name):
    out = list(tab.on_generate(model_name, "狗", 4, 1.0, 0, 1.0, False, 1, request=Request(lang="zh-CN")))[-1]
    assert "个新词元" in out[2] and "概率" in out[0]


def test_top_k_bars_show_only_the_candidates_left():
    from playground.figures import figure_data
    from playground.ui import generate_tab
    from playground.ui.state import model_choices

    out = list(generate_tab.on_generate(model_choices()[0], "Once upon a time", 4, 1.0, 3, 1.0, False, 0))[-1]
    (trace,) = figure_data(out[4]).values()
    values = trace["x"] if trace["x"].dtype.kind == "f" else trace["y"]
    assert 1 <= len(values) <= 3 and (np.asarray(values) > 0).all()  # no 0.0% padding under top-k
