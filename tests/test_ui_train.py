"""The Train tab's handlers called directly: streaming, Stop, cancel, limits, My model per session."""

import zipfile

import gradio as gr
import numpy as np
import pytest
import torch
from train_ui import shown, train_ui

from playground import history
from playground.errors import PlaygroundError
from playground.model import parameter_count
from playground.ui import state
from playground.ui import train_tab as tab

# A model that trains in about a second: digits copied after '=', 1 layer, 2 heads, width 32.
TINY = dict(corpus="copy", pasted=None, upload=None, tokenizer="char", vocab=32, layers=1, heads=2, d_model=32,
            n_ctx=32, steps=40, batch=8, lr=3e-3, seed=0, probe="12345=12345", continue_mine=False)


TINY_ARGS = [TINY[k] for k in ("corpus", "pasted", "upload", "tokenizer", "vocab", "layers", "heads", "d_model",
                               "n_ctx", "steps", "batch", "lr", "seed", "probe", "continue_mine")]


class Request:
    """Stands in for gr.Request: a session id and the language header."""

    def __init__(self, session, lang="en-US"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


UI = train_ui()


def on_train(session, **values):
    return tab.on_train(UI, **values, request=Request(session))


def train(session, **changes):
    return list(on_train(session, **{**TINY, **changes}))




@pytest.fixture(autouse=True)
def fresh_sessions():
    yield
    for key in state.REGISTRY.sessions():
        state.REGISTRY.drop(key)


def test_training_streams_updates_and_makes_my_model_for_this_session_only():
    outputs = train("alice")
    assert len(outputs) >= 3  # preparing, progress, final
    assert all(set(out) <= set(UI.run_outputs) for out in outputs)
    page = shown(outputs)
    status, loss, sample, slider, before, after, my_md, picker = (
        page[UI.status], page[UI.loss_plot], page[UI.sample], page[UI.snap_slider], page[UI.before],
        page[UI.after], page[UI.my_model], page[UI.picker])
    assert "40 / 40" in status and "My model" in status
    assert [tr.name for tr in loss.data][:2] == ["train", "validation"]
    assert len(loss.data[0].x) == 40 and len(loss.data[1].x) >= 2
    assert loss.layout.shapes, "the ln(vocab) reference line is drawn"
    assert isinstance(sample, str) and sample
    assert slider["maximum"] == len(history.snapshot_steps(40, tab.N_SNAPSHOTS)) - 1
    assert "Before" in before.layout.title.text and "After (step 40)" in after.layout.title.text
    assert "trained 40 steps" in my_md
    assert picker["value"] == state.MY_MODEL and state.MY_MODEL in picker["choices"]

    bundle = state.get_bundle(state.MY_MODEL, Request("alice"))
    assert bundle.config.n_layers == 1 and bundle.config.d_model == 32
    with pytest.raises(api_error(), match="each user sees only their own"):
        state.get_bundle(state.MY_MODEL, Request("bob"))
    assert state.MY_MODEL not in state.model_choices(Request("bob"))
    assert state.MY_MODEL in state.model_choices(Request("alice"))


def api_error():
    from playground.api import PlaygroundError

    return PlaygroundError


def test_a_repeated_probe_gets_its_induction_score_in_the_final_status():
    status = train("alice", probe="8264082640")[-1][UI.status]  # one sequence said twice
    assert "Best induction score on the probe (layer" in status and "at step 40" in status
    assert "induction score" not in train("bob")[-1][UI.status]  # "12345=12345" is not a sequence said twice


def test_the_induction_score_is_a_live_line_next_to_the_loss_during_the_run(monkeypatch):
    """Every progress update (not only the last) draws the probe's induction score so far, on the
    0-1 axis, as measured on the model at those steps."""
    monkeypatch.setattr(tab, "UPDATE_INTERVAL", 0.0)
    outputs = train("alice", probe="8264082640")
    live = [out[UI.loss_plot] for out in outputs[1:-1] if UI.loss_plot in out]
    assert len(live) >= 10
    lines = [[trace for trace in fig.data if trace.name == "induction score (probe)"] for fig in live]
    assert all(len(found) == 1 and found[0].yaxis == "y2" for found in lines)
    lengths = [len(found[0].x) for found in lines]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]  # it grows as training goes
    assert all(0.0 <= y <= 1.0 for y in lines[-1][0].y) and live[-1].layout.yaxis2.range == (0, 1)


def test_updates_are_throttled_not_one_per_step(monkeypatch):
    monkeypatch.setattr(tab, "UPDATE_INTERVAL", 60.0)
    outputs = train("alice", probe="")  # no snapshots: only the first step, the last step and the end
    assert len(outputs) <= 4


def test_the_loss_starts_near_ln_vocab():
    outputs = train("alice", steps=2, probe="")
    loss = outputs[-1][UI.loss_plot]
    start = float(loss.data[0].y[0])
    vocab = state.get_bundle(state.MY_MODEL, Request("alice")).config.d_vocab
    assert abs(start - np.log(vocab)) < 0.5


def test_stop_ends_the_run_between_steps_and_keeps_the_model_at_its_last_step(monkeypatch):
    monkeypatch.setattr(tab, "UPDATE_INTERVAL", 0.0)  # an update every step
    run = on_train("alice", **{**TINY, "steps": 500})
    next(run)  # preparing
    update = next(run)
    assert "Step 1 / 500" in update[UI.status]
    tab.on_stop(Request("bob"))  # another user's Stop does nothing to alice's run
    next(run)
    tab.on_stop(Request("alice"))
    rest = list(run)
    status = rest[-1][UI.status]
    assert "Stopped at step" in status
    step = int(status.split("Stopped at step ")[1].split(".")[0])
    assert 2 <= step < 500
    mine = state.get_my_model(Request("alice"))
    assert mine.info["steps"] == step
    assert not state.REGISTRY.is_busy("alice", "training")


def test_closing_the_generator_cancels_and_still_keeps_the_model(monkeypatch):
    monkeypatch.setattr(tab, "UPDATE_INTERVAL", 0.0)
    run = on_train("alice", **{**TINY, "steps": 500})
    for _ in range(4):
        next(run)
    run.close()  # what Gradio does when the event is cancelled
    assert state.get_my_model(Request("alice")).info["steps"] in (2, 3)
    assert not state.REGISTRY.is_busy("alice", "training")
    assert torch.get_num_threads() >= 1


def test_limits_are_refused_with_the_limit_in_the_message():
    with pytest.raises(gr.Error, match="at most 3,000 per run"):
        train("alice", steps=5000)
    with pytest.raises(gr.Error, match="limit on this shared server is 3,000,000"):
        train("alice", corpus="stories-en", vocab=512, layers=8, heads=8, d_model=384, n_ctx=256, steps=10)
    with pytest.raises(gr.Error, match="Batch size"):
        train("alice", batch=0)
    with pytest.raises(PlaygroundError, match="divisible"):
        train("alice", heads=3)
    with pytest.raises(gr.Error, match="200 characters"):
        train("alice", corpus=tab.MY_TEXT)
    with pytest.raises(PlaygroundError, match="too short"):
        train("alice", corpus=tab.MY_TEXT, pasted="too little text")


def test_chinese_browsers_get_chinese_limit_messages():
    with pytest.raises(gr.Error, match="每次最多 3,000 步"):
        list(tab.on_train(UI, **{**TINY, "steps": 5000}, request=Request("alice", "zh-CN,zh;q=0.9")))


def test_the_wall_time_limit_stops_the_run_keeps_the_model_and_says_so(monkeypatch):
    monkeypatch.setattr(tab, "MAX_SECONDS", 0.0)
    run = on_train("alice", **{**TINY, "steps": 500})
    outputs = []
    with pytest.raises(gr.Error, match="limit of 0 minutes per run"):
        for out in run:
            outputs.append(out)
    assert "limit" in outputs[-1][UI.status]
    assert state.get_my_model(Request("alice")).info["steps"] == 1


def test_one_run_per_session_at_a_time(monkeypatch):
    monkeypatch.setattr(tab, "UPDATE_INTERVAL", 0.0)
    first = on_train("alice", **{**TINY, "steps": 500})
    next(first), next(first)
    with pytest.raises(gr.Error, match="one run per user"):
        train("alice")
    train("bob", steps=3)  # another user may train meanwhile
    first.close()


def test_pasted_text_trains_a_word_tokenizer():
    text = "the cat sat on the mat. the dog sat on the log. " * 10
    train("alice", corpus=tab.MY_TEXT, pasted=text, tokenizer="word", vocab=64, steps=3, probe="the cat sat")
    assert state.get_bundle(state.MY_MODEL, Request("alice")).tokenizer.kind == "word"


def test_uploaded_txt_file_is_used(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("Once upon a time a small fox found a red ball. " * 10, encoding="utf-8")
    train("alice", corpus=tab.MY_TEXT, upload=str(path), steps=3)
    assert "“my text”" in tab.my_model_markdown("alice")
    bad = tmp_path / "story.bin"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(PlaygroundError, match=r"\.txt"):
        train("alice", corpus=tab.MY_TEXT, upload=str(bad), steps=3)


def test_parameter_count_is_live_and_flags_the_limit():
    from playground.config import ModelConfig

    n = parameter_count(ModelConfig(n_layers=2, n_heads=2, d_model=64, n_ctx=64, d_vocab=512))
    assert f"{n:,} parameters" in tab.on_params(512, 2, 2, 64, 64)
    assert "over the limit" in tab.on_params(8192, 8, 8, 384, 256)
    assert "divisible" in tab.on_params(512, 2, 3, 64, 64)


def test_every_preset_is_within_the_tabs_limits_and_its_probe_fits():
    """The presets must train as they are: valid sizes within the shared server's limits, a corpus
    the dropdown offers, slider values the sliders can show, and a probe that fits (a probe said
    twice must fit whole, or its induction score could not be measured)."""
    from playground.config import ModelConfig
    from playground.corpora import load_corpus
    from playground.model import parameter_count
    from playground.tokenizer import Tokenizer

    for name, p in tab.PRESETS.items():
        req = tab.parse_request(p["corpus"], None, None, p["tokenizer"], p["vocab"], p["layers"], p["heads"],
                                p["d_model"], p["n_ctx"], p["steps"], p["batch"], p["lr"], 0, p["probe"], False, "en")
        assert req.steps <= tab.MAX_STEPS and req.batch <= tab.MAX_BATCH, name
        assert p["corpus"] in tab.CORPUS_NAMES and p["d_model"] % 16 == 0 and p["n_ctx"] % 16 == 0, name
        tok = Tokenizer.train(p["tokenizer"], load_corpus(p["corpus"], size=20_000).train, p["vocab"])
        cfg = ModelConfig(n_layers=p["layers"], n_heads=p["heads"], d_model=p["d_model"], n_ctx=p["n_ctx"],
                          d_vocab=tok.vocab_size)
        assert parameter_count(cfg) <= tab.MAX_PARAMS, name
        kept = tab.fit_probe(p["probe"], tok, min(tab.PROBE_MAX_TOKENS, p["n_ctx"]))
        assert kept and (kept == p["probe"] or not history.repeat_half(list(p["probe"]))), name  # a repeat fits whole
        req.train_config()  # a valid schedule


def test_the_induction_preset_watches_a_probe_said_twice_on_one_thread_within_the_limits():
    from playground import history

    p = tab.PRESETS["induction"]
    assert history.repeat_half(list(p["probe"])) == len(p["probe"]) // 2  # the live line needs a repeat
    assert p["layers"] == 2 and p["steps"] <= tab.MAX_STEPS and tab.TRAIN_THREADS == 1
    assert "induction" in tab.text("train_preset_induction", "en").lower()
    assert "归纳" in tab.text("train_preset_induction", "zh")


def test_the_optimizer_is_muon_by_default_and_plain_adamw_on_request():
    assert tab.parse_request(*TINY_ARGS, "en").train_config().optimizer == "muon"
    adamw = tab.parse_request(*TINY_ARGS, "en", "adamw").train_config()
    assert (adamw.optimizer, adamw.precision) == ("adamw", "float32")
    with pytest.raises(api_error(), match="optimizer"):
        tab.parse_request(*TINY_ARGS, "en", "sgd")
    outputs = train("alice", optimizer="adamw", steps=3)
    assert "Finished 3 steps" in outputs[-1][UI.status]


def test_presets_fill_every_field():
    values = tab.on_preset(UI, "small")
    assert {name: values[UI.fields[name]] for name in tab.PRESET_FIELDS} == tab.PRESETS["small"]
    assert "parameters" in values[UI.params]


def test_snapshot_slider_scrubs_through_training_time():
    train("alice")
    first = tab.on_scrub(0, Request("alice"))
    last = tab.on_scrub(99, Request("alice"))
    assert "Step 0" in first.layout.title.text and "Step 40" in last.layout.title.text
    assert tab.on_scrub(0, Request("bob")) is not None  # nothing to scrub: skipped, no error


def test_download_then_upload_gives_the_same_model_to_another_session(tmp_path):
    train("alice", steps=5)
    path = tab.on_export(Request("alice"))
    assert path.endswith(".zip")
    with zipfile.ZipFile(path) as zf:
        names = {name.split("/")[-1] for name in zf.namelist()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    page = tab.on_upload(UI, path, Request("bob"))
    md, picker = page[UI.my_model], page[UI.picker]
    assert "uploaded" in md and picker["value"] == state.MY_MODEL
    a = state.get_bundle(state.MY_MODEL, Request("alice")).model.state_dict()
    b = state.get_bundle(state.MY_MODEL, Request("bob")).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(PlaygroundError, match="My model"):
        tab.on_export(Request("carol"))


def test_a_bad_upload_is_refused_and_nothing_is_unpickled(tmp_path):
    bad = tmp_path / "evil.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("pytorch_model.bin", b"not allowed")
    with pytest.raises(PlaygroundError, match="not allowed"):
        tab.on_upload(UI, str(bad), Request("alice"))
    assert not state.REGISTRY.has("alice", state.MODEL_SLOT)


def test_continue_training_my_model_keeps_its_size_and_tokenizer():
    train("alice", steps=5)
    before = state.get_bundle(state.MY_MODEL, Request("alice"))
    train("alice", steps=5, continue_mine=True, layers=4, d_model=128)  # size fields ignored
    after = state.get_bundle(state.MY_MODEL, Request("alice"))
    assert after.config == before.config and after.tokenizer is before.tokenizer
    assert after.model is not before.model
    with pytest.raises(PlaygroundError, match="My model"):
        train("bob", steps=5, continue_mine=True)


def test_expired_models_are_freed_and_the_message_says_so(monkeypatch):
    train("alice", steps=3)
    entry = state.REGISTRY._sessions["alice"]
    entry.last_seen -= state.REGISTRY.ttl + 1
    with pytest.raises(api_error(), match="expired"):
        state.get_bundle(state.MY_MODEL, Request("alice"))


def test_probe_longer_than_the_context_is_cut_to_it():
    """The snapshot covers n_ctx positions, so its labels must too (found over HTTP with ctx 32)."""
    from playground.tokenizer import Tokenizer

    tok = Tokenizer.train("char", "abcdefghij " * 20)
    probe = tab.fit_probe("abcdefghij " * 10, tok, 16)
    assert len(tok.encode(probe).ids) == 16


def test_the_picker_moves_to_my_model_after_training_unless_another_model_was_picked_meanwhile():
    from playground.ui.shared import on_check

    name = state.model_choices()[0]
    on_check(name, "some text", Request("bob"))
    final = train("bob")[-1]
    assert final[UI.picker]["value"] == state.MY_MODEL  # nothing picked meanwhile: the new model is shown

    on_check(name, "some text", Request("carol"))
    run = on_train("carol", **TINY)
    next(run)  # training has started
    other = [n for n in state.model_choices() if n != name]
    if other:
        on_check(other[0], "some text", Request("carol"))  # the user picks another model during the run
    final = list(run)[-1]
    if other:
        assert "value" not in final[UI.picker]  # the choices grow, the user's pick stays
        assert state.MY_MODEL in final[UI.picker]["choices"]
