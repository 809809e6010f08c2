"""Export: CSV and JSON of the Attention and Embeddings data parse back to the same float32
numbers; the tabs' handlers write them to fresh temp files; every plot keeps plotly's PNG button."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from pathlib import Path

import gradio as gr
import numpy as np
import plotly.graph_objects as go
import pytest

from playground import embeddings, export, figures
from playground.errors import PlaygroundError
from playground.ui import attention_tab, embeddings_tab
from playground.ui.plots import FastPlot, plot_config
from playground.ui.state import get_bundle, model_choices

ROOT = Path(__file__).resolve().parents[1]
TEXT = "The dog saw the cat. 狗看见了猫。"
# Labels a CSV writer must quote or keep: comma, quote, newline, leading formula sign, empty.
TRICKY = ["a,b", 'say "hi"', "line\nbreak", "=1+1", "", "·the", "<e7 8b>", " "]


def tokens_for(labels):
    return [export.TokenRow(i, 100 + i, f"text{i}", label) for i, label in enumerate(labels)]


def random_patterns(n_layers=2, n_heads=3, n=len(TRICKY), seed=0):
    """Causal softmax rows, float32, with awkward magnitudes (1e-30, 0.1, exact 0)."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n_layers, n_heads, n, n)) * 8
    scores[..., np.triu_indices(n, 1)[0], np.triu_indices(n, 1)[1]] = -np.inf
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p = (p / p.sum(-1, keepdims=True)).astype(np.float32)
    p[0, 0, -1, 0] = np.float32(1e-30)
    p[0, 0, -1, 1] = np.float32(0.1)
    return p


def parse_attention_csv(text: str, shape) -> tuple[np.ndarray, list[dict]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    out = np.full(shape, np.nan, dtype=np.float32)
    for r in rows:
        index = tuple(int(r[key]) for key in ("layer", "head", "query_index", "key_index"))
        out[index] = np.float32(float(r["weight"]))
    return out, rows


# ----------------------------------------------------------------- attention


def test_attention_csv_parses_back_to_the_same_float32_weights_and_tokens():
    p, tokens = random_patterns(), tokens_for(TRICKY)
    text = export.attention_csv(p, tokens)
    assert text.splitlines()[0] == ",".join(export.ATTENTION_CSV_COLUMNS)
    back, rows = parse_attention_csv(text, p.shape)
    assert len(rows) == p.size
    np.testing.assert_array_equal(back, p)  # exact: 9 significant digits round-trip float32
    n = p.shape[2]
    for r in rows[: n * n]:  # layer 0, head 0: every query/key label kept, however awkward
        assert r["query_token"] == TRICKY[int(r["query_index"])] and r["key_token"] == TRICKY[int(r["key_index"])]
    assert [r["layer"] for r in rows[:1]] == ["0"] and rows[-1]["layer"] == str(p.shape[0] - 1)


def test_attention_json_follows_the_documented_schema_and_values():
    p, tokens = random_patterns(), tokens_for(TRICKY)
    data = json.loads(export.attention_json(p, tokens, model="m", text="The dog"))
    assert data["format"] == "transformer-playground/attention" and data["version"] == 1
    assert (data["model"], data["text"]) == ("m", "The dog")
    assert (data["n_layers"], data["n_heads"], data["n_tokens"]) == p.shape[:3]
    assert data["tokens"][0] == {"index": 0, "id": 100, "text": "text0", "display": "a,b"}
    assert [t["display"] for t in data["tokens"]] == TRICKY
    np.testing.assert_array_equal(np.array(data["patterns"], dtype=np.float32), p)
    for key in ("format", "version", "model", "text", "n_layers", "n_heads", "n_tokens", "tokens", "patterns"):
        assert f'"{key}"' in export.attention_json.__doc__


def test_attention_export_is_capped_saying_how_many_tokens_fit(monkeypatch):
    monkeypatch.setattr(export, "MAX_ATTENTION_WEIGHTS", 1000)
    p = random_patterns(n_layers=2, n_heads=2, n=20)
    with pytest.raises(export.ExportError, match=r"limited to 1,000 attention weights.*4 heads.*at most 15 tokens"):
        export.attention_csv(p, tokens_for(["x"] * 20))


@pytest.mark.parametrize(
    "patterns,tokens,message",
    [
        (np.full((1, 1, 2, 2), np.nan), 2, "NaN"),
        (np.zeros((2, 2, 3)), 3, r"\(layers, heads, tokens, tokens\)"),
        (np.zeros((1, 1, 3, 3)), 2, "covers 3 tokens but 2 token labels"),
    ],
)
def test_bad_attention_input_is_refused_clearly(patterns, tokens, message):
    with pytest.raises(export.ExportError, match=message):
        export.attention_json(patterns, tokens_for(["t"] * tokens))


# ----------------------------------------------------------------- embeddings


def embedding_arrays(n=len(TRICKY), d=5, seed=1):
    rng = np.random.default_rng(seed)
    tok, pos = (rng.normal(size=(n, d)).astype(np.float32) * s for s in (0.02, 3.0))
    return tok, pos, rng.normal(size=(n, 2)).astype(np.float32)


def test_embeddings_csv_parses_back_to_token_position_sum_and_pca():
    tok, pos, pts = embedding_arrays()
    text = export.embeddings_csv(tok, pos, pts, tokens_for(TRICKY))
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header == export.embedding_csv_columns(5)
    assert header[:5] == ["position", "token_id", "token", "pc1", "pc2"] and header[-1] == "sum_4"
    assert [r[2] for r in body] == TRICKY and [int(r[1]) for r in body] == list(range(100, 100 + len(TRICKY)))
    numbers = np.array([[float(x) for x in r[3:]] for r in body]).astype(np.float32)
    np.testing.assert_array_equal(numbers[:, :2], pts)
    np.testing.assert_array_equal(numbers[:, 2:7], tok)
    np.testing.assert_array_equal(numbers[:, 7:12], pos)
    np.testing.assert_array_equal(numbers[:, 12:17], tok + pos)  # float32 sum, as the model adds


def test_embeddings_json_follows_the_documented_schema_and_values():
    tok, pos, pts = embedding_arrays()
    vocab = np.arange(20, dtype=np.float32).reshape(10, 2) / 3
    data = json.loads(export.embeddings_json(tok, pos, pts, tokens_for(TRICKY), explained=np.float32([0.25, 0.125]),
                                             vocab_points=vocab, vocab_labels=[str(i) for i in range(10)],
                                             model="m", text="t"))  # fmt: skip
    assert data["format"] == "transformer-playground/embeddings" and data["version"] == 1
    assert (data["n_tokens"], data["d_model"], data["model"], data["text"]) == (len(TRICKY), 5, "m", "t")
    for key, expected in (("token_embeddings", tok), ("position_embeddings", pos), ("sum", tok + pos)):
        np.testing.assert_array_equal(np.array(data[key], dtype=np.float32), expected)
    pca = data["pca"]
    assert pca["explained_variance_ratio"] == [0.25, 0.125]
    np.testing.assert_array_equal(np.array(pca["tokens"], dtype=np.float32), pts)
    np.testing.assert_array_equal(np.array(pca["vocabulary"], dtype=np.float32), vocab)
    assert pca["vocabulary_labels"] == [str(i) for i in range(10)]
    doc = export.embeddings_json.__doc__
    assert all(f'"{key}"' in doc for key in [*data, *pca])
    assert "vocabulary" not in json.loads(export.embeddings_json(tok, pos, pts, tokens_for(TRICKY)))["pca"]


def test_embedding_export_is_capped_and_checks_shapes(monkeypatch):
    tok, pos, pts = embedding_arrays()
    with pytest.raises(export.ExportError, match=r"\(tokens, 2\)"):
        export.embeddings_csv(tok, pos, pts[:, :1], tokens_for(TRICKY))
    with pytest.raises(export.ExportError, match="both be"):
        export.embeddings_csv(tok, pos[:3], pts, tokens_for(TRICKY))
    monkeypatch.setattr(export, "MAX_EMBEDDING_VALUES", 60)
    with pytest.raises(export.ExportError, match=r"limited to 60 numbers.*at most 4 tokens"):
        export.embeddings_csv(tok, pos, pts, tokens_for(TRICKY))


# ----------------------------------------------------------------- files


def test_files_go_to_a_fresh_temp_folder_under_code_chosen_names():
    a = export.write_files({"x.csv": "a,b\n", "x.json": b"{}"})
    b = export.write_files({"x.csv": "c\n"})
    assert a[0].parent != b[0].parent and a[0].parent.parent == export.EXPORT_ROOT
    assert a[0].read_text() == "a,b\n" and a[1].read_bytes() == b"{}" and b[0].read_text() == "c\n"
    for name in ["../x.csv", "/tmp/x", "a/b.csv", "..", "a\\b"]:
        with pytest.raises(export.ExportError, match="plain file names"):
            export.write_files({name: "x"})


def test_old_export_folders_are_pruned():
    [old] = export.write_files({"old.csv": "x"})
    stale = time.time() - export.EXPORT_TTL_S - 60
    os.utime(old.parent, (stale, stale))
    [new] = export.write_files({"new.csv": "y"})
    assert not old.exists() and new.exists()


# ----------------------------------------------------------------- the tabs' handlers


@pytest.fixture(scope="module")
def model_name():
    return model_choices()[0]


def test_attention_tab_exports_the_sessions_view_as_csv_and_json(model_name):
    view = attention_tab.on_inspect(model_name, TEXT)[-1]  # the page's light view
    update = attention_tab.on_export(view)  # joined with the session's arrays
    view = attention_tab._check_view(view)
    assert update["visible"] is True
    csv_path, json_path = map(Path, update["value"])
    assert (csv_path.name, json_path.name) == ("attention.csv", "attention.json")
    assert csv_path.parent.parent == export.EXPORT_ROOT
    back, rows = parse_attention_csv(csv_path.read_text(encoding="utf-8"), view["patterns"].shape)
    np.testing.assert_array_equal(back, view["patterns"])
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["model"] == model_name and data["text"] == TEXT
    assert [t["display"] for t in data["tokens"]] == view["labels"] and [t["id"] for t in data["tokens"]] == view["ids"]
    assert "".join(t["text"] for t in data["tokens"]) in (TEXT, TEXT.replace(" ", ""))  # word tokens skip spaces


def test_attention_export_before_inspecting_is_a_clear_error():
    with pytest.raises(PlaygroundError, match="Nothing inspected yet"):
        attention_tab.on_export(None)


def test_attention_export_too_big_is_a_gradio_error(model_name, monkeypatch):
    view = attention_tab.on_inspect(model_name, TEXT)[-1]
    monkeypatch.setattr(export, "MAX_ATTENTION_WEIGHTS", 10)
    with pytest.raises(PlaygroundError, match="attention weights"):
        attention_tab.on_export(view)


def test_embeddings_tab_exports_what_it_shows(model_name):
    outputs = embeddings_tab.on_embeddings_view(model_name, TEXT)
    assert len(outputs) == len(embeddings_tab.on_embeddings(model_name, TEXT)) + 1
    data = outputs[-1]
    csv_path, json_path = map(Path, embeddings_tab.on_export(data)["value"])
    assert (csv_path.name, json_path.name) == ("embeddings.csv", "embeddings.json")
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    tok_fig, pos_fig = outputs[1], outputs[2]
    d = data["token"].shape[1]
    numbers = np.array([[float(x) for x in r[3:]] for r in rows[1:]]).astype(np.float32)
    np.testing.assert_array_equal(numbers[:, 2 : 2 + d], figures.figure_data(tok_fig)["embedding"]["z"])
    np.testing.assert_array_equal(numbers[:, 2 + d : 2 + 2 * d], figures.figure_data(pos_fig)["embedding"]["z"])
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc["model"] == model_name and len(doc["pca"]["vocabulary"]) == data["vocab_points"].shape[0]
    pca_points = figures.figure_data(outputs[4])["highlight"]
    highlighted = set(zip(pca_points["x"].tolist(), pca_points["y"].tolist(), strict=True))
    # the map highlights the trained tokens; the export has every token's coordinates
    untrained = embeddings.untrained_rows(get_bundle(model_name).model.transformer.wte.weight)
    ids = [tok["id"] for tok in doc["tokens"]]
    exported = np.array(doc["pca"]["tokens"], dtype=np.float32).tolist()
    assert {tuple(p) for p, i in zip(exported, ids, strict=True) if not untrained[int(i)]} == highlighted


def test_embeddings_export_before_inspecting_is_a_clear_error():
    with pytest.raises(PlaygroundError, match="Nothing inspected yet"):
        embeddings_tab.on_export(None)


# ----------------------------------------------------------------- plotly's PNG download


def test_fast_plots_send_a_config_with_the_toolbar_and_a_named_png_download():
    fig = go.Figure(go.Heatmap(z=np.eye(3, dtype=np.float32)))
    plot = FastPlot(elem_id="att-grid").postprocess(fig)
    spec = json.loads(plot.plot)
    assert spec["config"] == plot_config("att-grid")
    assert spec["config"]["displayModeBar"] in (True, "hover")
    options = spec["config"]["toImageButtonOptions"]
    assert options["format"] == "png" and options["filename"] == "transformer-playground-att-grid"
    assert options["scale"] >= 2
    assert {k: v for k, v in spec.items() if k != "config"} == json.loads(figures.to_json(fig))


def test_no_code_hides_plotlys_toolbar_or_its_png_button():
    pattern = re.compile(r"displayModeBar[\"']?\s*[:=]\s*False|modeBarButtonsToRemove|modebar_remove|toimage", re.I)
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in ROOT.joinpath("playground").rglob("*.py")
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "toImageButtonOptions" not in line
    ]
    assert offenders == []


def test_every_plot_of_the_app_keeps_the_png_download():
    """FastPlots send our config; any other gr.Plot keeps plotly's default toolbar (no config)."""
    from playground.ui import build_app

    demo = build_app()
    plots = [b for b in demo.blocks.values() if isinstance(b, gr.Plot)]
    assert plots
    by_id = {p.elem_id: p for p in plots}
    for elem_id in ("att-grid", "att-big", "att-head-view", "att-steps", "emb-token", "emb-pos", "emb-sum",
                    "emb-pca", "emb-sim"):  # fmt: skip
        assert isinstance(by_id[elem_id], FastPlot), elem_id
    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0]))
    for plot in plots:
        spec = json.loads(plot.postprocess(fig).plot)
        config = spec.get("config", {})
        assert config.get("displayModeBar", "hover") is not False
        assert config.get("toImageButtonOptions", {}).get("format", "png") == "png"


# ----------------------------------------------------------------- over HTTP


def downloaded(output) -> list[Path]:
    """Local paths of the files gradio_client downloaded (the output is the handler's update)."""
    files = output.get("value", output) if isinstance(output, dict) else output
    return [Path(f if isinstance(f, str) else f.get("path") or f["name"]) for f in files]


@pytest.mark.server
def test_exports_download_over_http(app_url, model_name):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    try:
        client.predict(model_name, TEXT, api_name="/inspect")
        paths = downloaded(client.predict(api_name="/export_attention"))
        assert sorted(p.name for p in paths) == ["attention.csv", "attention.json"]
        assert json.loads(next(p for p in paths if p.suffix == ".json").read_text(encoding="utf-8"))["model"]
        client.predict(model_name, TEXT, None, api_name="/embeddings")
        paths = downloaded(client.predict(api_name="/export_embeddings"))
        assert sorted(p.name for p in paths) == ["embeddings.csv", "embeddings.json"]
    finally:
        client.close()
