"""The Model tab's handlers, the ablation panel's and the reading endpoints (no browser)."""

import json
import re

import gradio as gr
import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from playground import api, figures, model_figures
from playground.errors import PlaygroundError
from playground.ui import ablation_panel, attention_tab, model_tab, reading_api
from playground.ui.errors import guard
from playground.ui.i18n import STRINGS

TEXT = "The dog saw the cat. She ran to the tree."
REPEATED = "vkbqzmxtwgjdvkbqzmxtwgjd"


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def _valid(fig) -> None:
    spec = json.loads(figures.to_json(fig))
    assert json.loads(go.Figure(fig.to_dict()).to_json()) == json.loads(fig.to_json()) == spec


def test_the_model_tab_draws_every_panel_from_one_run():
    out = model_tab.on_text("stories", TEXT, 1.0, 1, 2)
    summary, position, pipeline, added, probs, lens, final, dla, dla_line, layer, head, qkv, qkv_line, state = out
    n = len(api.inspect(api.load_model("stories"), TEXT).ids)
    assert f"{n} tokens" in summary and position["value"] == n - 1
    for fig in (pipeline, added, probs, lens, final, dla, qkv):
        _valid(fig)
    cfg = api.load_model("stories").config
    assert len(pipeline.data) == 3 + 8 * cfg.n_layers + 1  # embeddings and x, 8 stages per block, final LN
    assert lens.data[0].z.shape == (cfg.n_layers + 1, n)
    assert "parts add up to" in dla_line and "layer **1**, head **2**" in qkv_line
    assert state["position"] == n - 1 and state["logits"].shape == (cfg.d_vocab,)


def test_position_and_temperature_follow_without_changing_the_model():
    state = model_tab.on_text("stories", TEXT, 1.0, 0, 0)[-1]
    out = model_tab.on_position("stories", TEXT, 3, 1.0, 0, 0)
    assert "Position 3" in out[0].layout.title.text and out[-1]["position"] == 3
    cold, hot = model_tab.on_temperature(state, 0.25), model_tab.on_temperature(state, 4.0)
    assert "temperature 0.25" in cold.layout.title.text
    assert cold.data[0].x.max() > hot.data[0].x.max()  # a low temperature sharpens the distribution
    logits = torch.from_numpy(state["logits"])
    assert np.isclose(float(cold.data[0].x.max()), float((logits / 0.25).softmax(-1).max()), atol=1e-6)
    with pytest.raises(Exception, match="temperature"):
        model_tab.on_temperature(state, 0.0)


def test_qkv_panel_names_the_same_layer_head_and_token_as_the_attention_tab():
    fig, line = model_tab.on_qkv("induction", REPEATED, 5, 1, 0)
    assert "layer **1**, head **0**, query token **5" in line
    assert "(?model=induction&text=" in line and "&tab=attention&layer=1&head=0&query=5)" in line
    assert model_tab.attention_link("My model", "abc", 0, 0, 0) is None  # a private model cannot travel
    assert float(re.search(r"q/k/v: ([0-9.]+e[-+]\d+)", line)[1]) < 1e-4  # the rebuilt q, k, v are the model's
    _valid(fig)


def test_english_and_chinese_side_by_side_counts_bytes_per_token():
    md_en, md_zh, att_en, att_zh, bars_en, bars_zh = model_tab.on_pair("stories", 0)
    from playground import corpora

    en, zh = corpora.story_pairs(model_tab.N_PAIRS, model_tab.PAIR_SEED)[0]
    tok = api.load_model("stories").tokenizer
    assert f"{len(tok.encode(en).ids)} tokens" in md_en and f"{len(zh.encode())} bytes" in md_zh
    assert en in md_en and zh in md_zh
    for fig in (att_en, att_zh, bars_en, bars_zh):
        _valid(fig)


def test_thumbnails_carry_each_heads_strongest_role():
    out = attention_tab.on_inspect("induction", REPEATED)
    notes = [a.text for a in out[2].layout.annotations]
    assert notes[0].startswith("L0 H0 · previous 0.")
    assert "induction" in notes[2] or "induction" in notes[3]  # layer 1 copies; layer 0 cannot
    assert "induction" not in notes[0] + notes[1]


def test_the_ablation_panel_shows_the_induction_circuit():
    heads, mlps = ablation_panel.on_model("induction")
    assert heads["choices"] == ["L0H0", "L0H1", "L1H0", "L1H1"] and mlps["value"] == []
    md, bars, grid = ablation_panel.on_ablate("induction", REPEATED, ["L0H0"], [], "zero")
    assert "Where the text repeats a span" in md
    _valid(bars)
    _valid(grid)
    assert not any("induction" in a.text for a in grid.layout.annotations)
    md_none, *_ = ablation_panel.on_ablate("induction", REPEATED, [], [], "mean")
    before, after = md_none.split("**")[3].split(" → ")
    assert before == after  # switching nothing off changes nothing


def test_ablation_panel_errors_are_translated():
    class Request:
        headers = {"accept-language": "zh-CN"}
        session_hash = "model-tab"

    with pytest.raises(gr.Error) as err:  # as the app runs it: through the guard, in the request's language
        guard(ablation_panel.on_ablate)("induction", REPEATED, ["L0H0"], [], "half", Request())
    assert "消融方式" in err.value.message


def test_reading_endpoints_return_the_library_numbers():
    lens = reading_api.logit_lens_api("induction", REPEATED)
    assert len(lens["rows"]) == 3 and len(lens["top_tokens"][0]) == len(REPEATED)
    parts = reading_api.decompose_api("stories", TEXT, -1)
    assert sum(parts["parts"].values()) == pytest.approx(parts["logit"], abs=1e-3)
    roles = reading_api.head_roles_api("induction", REPEATED)
    assert roles["strongest"][0][0] == "previous-token" and "induction" in roles["strongest"][1]
    out = reading_api.ablate_api("induction", REPEATED, "L0H0", "", "zero")
    assert out["loss_after"] > out["loss_before"] and out["heads"] == ["L0H0"]
    assert reading_api.parse_heads("L0H1, l1h0") == [(0, 1), (1, 0)] and reading_api.parse_mlps("MLP1, 0") == [1, 0]
    for bad, parse in (("L0", reading_api.parse_heads), ("x", reading_api.parse_mlps)):
        with pytest.raises(PlaygroundError) as err:
            parse(bad)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in err.value.message("zh"))


def test_the_endpoints_are_named_in_the_app():
    from playground.ui.app import build_app

    names = {d.get("api_name") for d in build_app().get_config_file()["dependencies"]}
    assert {"model_view", "logit_lens", "decompose", "head_roles", "ablate"} <= names


def test_model_figures_reject_mismatched_labels():
    with pytest.raises(ValueError):
        model_figures.contribution_bars(["a"], np.zeros(2, dtype=np.float32))
    with pytest.raises(ValueError):
        model_figures.before_after_bars(["a", "b"], np.zeros(2, dtype=np.float32), np.zeros(3, dtype=np.float32))


def test_the_new_teaching_text_exists_in_both_languages():
    for key in ("mdl_what", "mdl_lens_what", "mdl_dla_what", "mdl_qkv_what", "mdl_pair_what", "abl_what",
                "lab_first_scale", "lab_future_examples"):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in STRINGS["zh"][key]), key
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in STRINGS["en"][key].replace("中文", "")), key


def test_a_big_vocabulary_reads_the_lens_only_up_to_the_chosen_position(monkeypatch):
    from playground import lens

    cfg = api.load_model("stories").config
    monkeypatch.setattr(lens, "LENS_BUDGET_MACS", 6 * (cfg.n_layers + 1) * cfg.d_vocab * cfg.d_model)
    out = model_tab.on_position("stories", TEXT, 7, 1.0, 0, 0)
    heat, line = out[3], out[4]
    assert len(heat.data[0].x) == 6 and "position 7" in line.layout.title.text
    assert "positions 2–7" in heat.layout.title.text


@pytest.mark.server
def test_reading_endpoints_over_http(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    try:
        named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert {"/logit_lens", "/decompose", "/head_roles", "/ablate", "/model_view"} <= set(named)
        out = client.predict("induction", REPEATED, "L0H0", "", "zero", api_name="/ablate")
        assert out["heads"] == ["L0H0"] and out["loss_after"] > out["loss_before"] + 1.0
        roles = client.predict("induction", REPEATED, api_name="/head_roles")
        assert "induction" in roles["strongest"][1]
        lens = client.predict("induction", REPEATED, api_name="/logit_lens")
        assert lens["final_tokens"][-2] == "d" and len(lens["top_probs"]) == 3
        parts = client.predict("stories", TEXT, 3, api_name="/decompose")
        assert parts["position"] == 3 and abs(sum(parts["parts"].values()) - parts["logit"]) < 1e-3
        with pytest.raises(Exception, match="is layer 0, head 1"):
            client.predict("induction", REPEATED, "head zero", "", "zero", api_name="/ablate")
    finally:
        client.close()


def test_the_model_tab_reads_my_model():
    from playground.ui import state

    mine = api.load_model("stories-char")
    bundle = api.ModelBundle("mine", mine.model, mine.tokenizer, dict(mine.meta), None)
    state.set_my_model(state.LOCAL_SESSION, bundle)
    try:
        out = model_tab.on_text(state.MY_MODEL, "The dog saw the cat.", 1.0, 0, 0)
        assert "20 tokens" in out[0] and out[2].data
        assert "[Open it there]" not in out[12]  # My model cannot travel in a link
    finally:
        state.REGISTRY.drop(state.LOCAL_SESSION)


def test_a_chinese_browser_gets_the_model_tab_in_chinese():
    class Request:
        headers = {"accept-language": "zh-CN,zh;q=0.9"}

    out = model_tab.on_text("stories", TEXT, 1.0, 0, 0, Request())
    assert "个词元" in out[0] and "的 logit" in out[8] and "层归一化" in out[2].layout.yaxis.ticktext[3]
    md_en, md_zh, *_ = model_tab.on_pair("stories", 1, Request())
    assert "每个词元" in md_en and "中文" in md_zh
