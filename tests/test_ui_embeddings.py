"""Embeddings tab: handlers called directly (figures, neighbours), then /embeddings over HTTP."""

import html

import numpy as np
import pytest

from playground import api, embeddings
from playground.errors import PlaygroundError
from playground.figures import figure_data
from playground.ui import embeddings_tab
from playground.ui.state import get_bundle, model_choices

TEXT = "The dog saw the cat. 狗看见了猫。"


@pytest.fixture(scope="module")
def model_name():
    return model_choices()[0]


@pytest.fixture(scope="module")
def outputs(model_name):
    return embeddings_tab.on_embeddings(model_name, TEXT)


def _tick_tokens(fig, axis="yaxis"):
    return [html.unescape(t) for t in fig.layout[axis].ticktext]


def test_heatmaps_are_token_position_and_sum_from_the_cache(model_name, outputs):
    summary, tok_fig, pos_fig, sum_fig, *_ = outputs
    result = api.inspect(get_bundle(model_name), TEXT)
    labels = [t.display for t in result.tokens]
    embed, pos = result.cache.embed().numpy(), result.cache.pos_embed().numpy()
    for fig, expected in ((tok_fig, embed), (pos_fig, pos), (sum_fig, embed + pos)):
        z = figure_data(fig)["embedding"]["z"]
        assert z.shape == (len(labels), get_bundle(model_name).config.d_model)
        np.testing.assert_allclose(z, expected, atol=1e-6)
        assert _tick_tokens(fig) == labels
    assert f"{len(labels)} tokens" in summary


def test_vocabulary_map_covers_the_vocabulary_and_highlights_the_input(model_name, outputs):
    pca = outputs[4]
    bundle = get_bundle(model_name)
    data = figure_data(pca)
    assert data["vocab"]["x"].shape == (bundle.tokenizer.vocab_size,)
    ids = api.inspect(bundle, TEXT).ids
    proj = embeddings.vocab_projection(bundle.model.transformer.wte.weight)
    trained = {i for i in ids if not proj.untrained[i]}  # never-trained rows are left off the map
    assert data["highlight"]["x"].shape == (len(trained),)
    assert np.isnan(data["vocab"]["x"]).sum() == proj.untrained.sum()  # drawn: trained rows only
    assert f"{proj.explained.sum():.0%} of the variance" in pca.layout.title.text


def test_vocabulary_pca_is_computed_once_per_model(model_name, monkeypatch):
    embeddings_tab.on_embeddings(model_name, TEXT)
    calls = []
    monkeypatch.setattr(embeddings, "vocab_projection", lambda w: calls.append(w))
    embeddings_tab.on_embeddings(model_name, "another text")
    assert calls == []


def test_similarity_is_the_cosine_of_the_token_embeddings(model_name, outputs):
    sim_fig = outputs[5]
    result = api.inspect(get_bundle(model_name), TEXT)
    e = result.cache.embed().numpy().astype(np.float64)
    unit = e / np.linalg.norm(e, axis=1, keepdims=True)
    z = figure_data(sim_fig)["similarity"]["z"]
    np.testing.assert_allclose(z, unit @ unit.T, atol=1e-5)
    untrained = embeddings.untrained_rows(get_bundle(model_name).model.transformer.wte.weight)
    assert _tick_tokens(sim_fig, "xaxis") == [t.display + (" ✕" if untrained[t.id] else "") for t in result.tokens]


def test_token_picker_lists_distinct_input_tokens_and_neighbours_match_numpy(model_name, outputs):
    picker, frame = outputs[6], outputs[7]
    bundle = get_bundle(model_name)
    ids = api.inspect(bundle, TEXT).ids
    assert [value for _, value in picker.choices] == list(dict.fromkeys(ids))
    assert picker.value == ids[0]
    w = bundle.model.transformer.wte.weight.detach().numpy().astype(np.float64)
    unit = w / np.linalg.norm(w, axis=1, keepdims=True)
    sims = unit @ unit[ids[0]]
    sims[ids[0]] = -np.inf
    order = np.argsort(-sims, kind="stable")[:10]
    assert [row[2] for row in frame["data"]] == order.tolist()
    assert [row[1] for row in frame["data"]] == [bundle.tokenizer.token_display(int(i)) for i in order]
    np.testing.assert_allclose([row[3] for row in frame["data"]], sims[order], atol=1e-4)
    assert embeddings_tab.on_neighbours(model_name, ids[0]) == frame


def test_picked_token_is_kept_when_still_in_the_text(model_name):
    ids = api.inspect(get_bundle(model_name), TEXT).ids
    *_, picker, frame = embeddings_tab.on_embeddings(model_name, TEXT, ids[3])
    assert picker.value == ids[3] and frame == embeddings_tab.on_neighbours(model_name, ids[3])


def test_long_text_is_truncated_with_a_notice(model_name):
    n_ctx = get_bundle(model_name).config.n_ctx
    summary, tok_fig, *_ = embeddings_tab.on_embeddings(model_name, "dog cat " * n_ctx)
    assert "⚠️" in summary and figure_data(tok_fig)["embedding"]["z"].shape[0] == n_ctx


@pytest.mark.parametrize("text,message", [("", "empty"), ("x" * 30_000, "limit is 20,000")])
def test_bad_text_is_a_clear_gradio_error(model_name, text, message):
    with pytest.raises(PlaygroundError, match=message):
        embeddings_tab.on_embeddings(model_name, text)


@pytest.mark.parametrize("token_id", [-1, 10**6, None])
def test_bad_token_id_is_a_clear_gradio_error(model_name, token_id):
    with pytest.raises(PlaygroundError, match="token"):
        embeddings_tab.on_neighbours(model_name, token_id)


@pytest.mark.server
def test_embeddings_and_neighbours_endpoints_over_http(app_url, model_name):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    try:
        out = client.predict(model_name, TEXT, None, api_name="/embeddings")
        assert "tokens" in out[0] and all(plot is not None for plot in out[1:6])
        ids = api.inspect(get_bundle(model_name), TEXT).ids
        frame = client.predict(model_name, ids[0], api_name="/neighbours")
        assert len(frame["data"]) == 10
    finally:
        client.close()
