"""Recorded training (history.json): recorded by the CLI, validated on load, replayed in the Train tab."""

import functools
import json

import gradio as gr
import numpy as np
import pytest
import torch
from train_ui import train_ui

from playground import api, cli
from playground.checkpoint import CheckpointError
from playground.config import ModelConfig, TrainConfig
from playground.errors import PlaygroundError
from playground.history import (
    HISTORY_FILE,
    MAX_HISTORY_BYTES,
    HistoryRecorder,
    TrainingHistory,
    load_history,
    save_history,
    snapshot_steps,
)
from playground.tokenizer import Tokenizer
from playground.training import train_steps
from playground.ui import state
from playground.ui import train_tab as tab


@functools.lru_cache(maxsize=1)
def _recorded(probe="abcabc", steps=12):
    """A real recording of a 12-step run (the tests below do not modify it)."""
    text = "abcabcabcxyzxyz" * 200
    tok = Tokenizer.train("char", text, 32)
    ids = torch.tensor(tok.encode_ids(text))
    cfg = ModelConfig(n_layers=2, n_heads=2, d_model=16, n_ctx=16, d_vocab=tok.vocab_size)
    tc = TrainConfig(steps=steps, batch_size=4, eval_interval=5, seed=0)
    recorder = HistoryRecorder(probe, [t.display for t in tok.encode(probe).tokens])
    for stats in train_steps(cfg, tc, ids, ids, probe, tokenizer=tok, snapshot_steps=snapshot_steps(steps, 3)):
        recorder.record(stats)
    return recorder.history()


def test_recorded_history_round_trips_through_json(tmp_path):
    history = _recorded()
    assert history.steps == [0, 4, 8, 12]
    assert history.patterns.shape == (4, 2, 2, 6, 6)
    assert history.loss_steps == list(range(1, 13)) and len(history.losses) == 12
    assert history.val_steps == [5, 10, 12]
    save_history(tmp_path, history)
    loaded = load_history(tmp_path, n_layers=2, n_heads=2)
    assert loaded.steps == history.steps and loaded.tokens == history.tokens and loaded.probe == "abcabc"
    assert np.allclose(loaded.patterns, history.patterns, atol=1e-4)
    assert np.allclose(loaded.losses, history.losses, atol=1e-5)
    assert load_history(tmp_path / "elsewhere") is None  # no file: no history, not an error


def test_saving_a_new_model_into_the_folder_removes_the_old_recording(tmp_path):
    from playground.checkpoint import save_checkpoint
    from playground.model import TinyGPT

    save_history(tmp_path, _recorded())
    save_checkpoint(tmp_path, TinyGPT(ModelConfig(n_layers=2, n_heads=2, d_model=16, n_ctx=16, d_vocab=8)), None)
    assert load_history(tmp_path) is None  # it described the previous model


def test_snapshot_steps_are_zero_and_evenly_spaced():
    assert snapshot_steps(100, 4) == [0, 25, 50, 75, 100]
    assert snapshot_steps(2, 10) == [0, 1, 2]


def test_induction_score_is_read_from_the_stored_patterns():
    tokens = list("kqvzkqvz")  # a 4-token string said twice
    patterns = np.full((2, 1, 2, 8, 8), 0.0, np.float32)
    for i in range(8):
        patterns[:, :, :, i, min(i, 1)] = 1.0  # every head looks at the second token ...
    for i in range(4, 7):
        patterns[1, 0, 1, i] = 0.0
        patterns[1, 0, 1, i, i - 3] = 1.0  # ... except head 1 at step 10: the token after the earlier copy
    history = TrainingHistory("kqvzkqvz", tokens, [0, 10], patterns)
    scores = history.induction_scores()
    assert scores.shape == (2, 1, 2)
    assert scores[1, 0, 1] == pytest.approx(1.0) and scores[0, 0, 1] == pytest.approx(1 / 3)
    assert TrainingHistory("abcd", list("abcd"), [0], patterns[:1, :, :, :4, :4]).induction_scores() is None


def _write(tmp_path, **changes):
    history = _recorded()
    save_history(tmp_path, history)
    data = json.loads((tmp_path / HISTORY_FILE).read_text())
    data.update(changes)
    (tmp_path / HISTORY_FILE).write_text(json.dumps(data))
    return data


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"patterns": [[1, 2], [3]]}, "history.json"),  # ragged
        ({"patterns": "lots"}, "'patterns' must be a list, not str"),
        ({"steps": [0, 8, 4, 12]}, "increasing"),
        ({"steps": [0, 4, 8]}, "shape"),
        ({"tokens": ["a"] * 100}, "1 to 64 tokens"),
        ({"tokens": [1, 2, 3, 4, 5, 6]}, "every item of 'tokens' must be text"),
        ({"losses": [1.0]}, "same length"),
        ({"val_losses": [1.0, 2.0, True]}, "must be a number"),
        ({"probe": None}, "'probe' must be text, not NoneType"),
    ],
)
def test_broken_history_files_are_refused_with_what_is_wrong(tmp_path, changes, message):
    _write(tmp_path, **changes)
    with pytest.raises(CheckpointError, match=message):
        load_history(tmp_path)


def test_probabilities_outside_0_1_nan_and_other_models_shapes_are_refused(tmp_path):
    data = _write(tmp_path)
    data["patterns"][0][0][0][0][0] = 1.5
    (tmp_path / HISTORY_FILE).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="from 0 to 1"):
        load_history(tmp_path)
    (tmp_path / HISTORY_FILE).write_text(json.dumps(data).replace("1.5", "NaN"))
    with pytest.raises(CheckpointError, match="from 0 to 1"):
        load_history(tmp_path)
    _write(tmp_path)
    with pytest.raises(CheckpointError, match="expected"):
        load_history(tmp_path, n_layers=3, n_heads=2)


def test_not_json_deeply_nested_and_oversized_files_are_refused(tmp_path):
    path = tmp_path / HISTORY_FILE
    path.write_bytes(b"\xff\xfe not json")
    with pytest.raises(CheckpointError, match="not valid UTF-8 JSON"):
        load_history(tmp_path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError):
        load_history(tmp_path)
    path.write_text(" " * (MAX_HISTORY_BYTES + 1))
    with pytest.raises(CheckpointError, match="limit"):
        load_history(tmp_path)


def test_cli_records_the_history_next_to_the_checkpoint(tmp_path):
    out = tmp_path / "ckpt"
    code = cli.main(["train", "--corpus", "copy", "--tokenizer", "char", "--vocab", "32", "--layers", "1",
                     "--heads", "2", "--d-model", "16", "--ctx", "16", "--steps", "6", "--batch", "4",
                     "--eval-interval", "3", "--probe", "123=123", "--snapshots", "2", "--out", str(out)])
    assert code == 0
    history = load_history(out, n_layers=1, n_heads=2)
    assert history.steps == [0, 3, 6] and history.tokens == list("123=123")
    assert history.loss_steps == [1, 2, 3, 4, 5, 6] and history.val_steps == [3, 6]


def test_cli_refuses_a_probe_longer_than_the_context(tmp_path, capsys):
    with pytest.raises(SystemExit, match="--probe must be 1 to 16 tokens"):
        cli.main(["train", "--corpus", "copy", "--tokenizer", "char", "--vocab", "32", "--layers", "1",
                  "--heads", "2", "--d-model", "16", "--ctx", "16", "--steps", "2", "--probe", "x" * 40,
                  "--snapshots", "2", "--out", str(tmp_path / "c")])


def test_the_shipped_induction_model_recorded_its_induction_head_forming():
    assert set(api.history_names()) == {"stories", "stories-char", "sort", "induction"}
    history = api.load_history("induction")
    scores = history.induction_scores()  # (S, L, H)
    assert scores is not None and history.steps[0] == 0
    assert scores[0].max() < 0.2, "no induction head before training"
    assert scores[-1, 1].max() >= 0.3, "layer 1 has one at the end"
    assert history.losses[-1] < history.losses[0] - 0.5
    with pytest.raises(api.PlaygroundError, match="no recorded training"):
        api.load_history("translate-en-zh")  # shipped, but not a GPT with a recording


class Request:
    def __init__(self, session, lang="en-US"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


def test_replay_fills_the_snapshot_view_and_the_scrubber_reads_it():
    try:
        UI = train_ui()
        page = tab.on_replay(UI, "induction", Request("carol"))
        status, loss, sample, slider, before, after = (page[UI.status], page[UI.loss_plot], page[UI.sample],
                                                       page[UI.snap_slider], page[UI.before], page[UI.after])
        history = api.load_history("induction")
        assert sample == api.load_model("induction").card["sample"]
        assert "induction" in status and "first passed 0.3 at step" in status
        assert slider["maximum"] == len(history.steps) - 1 and slider["interactive"]
        assert "Before" in before.layout.title.text
        assert f"After (step {history.steps[-1]})" in after.layout.title.text
        assert len(loss.data[0].x) == min(tab.MAX_CURVE_POINTS, len(history.loss_steps))
        assert loss.data[0].x[-1] == history.loss_steps[-1] == history.steps[-1]
        first = tab.on_scrub(0, Request("carol"))
        assert first.layout.title.text.startswith("Step 0")
        zh_status = tab.on_replay(UI, "induction", Request("carol", "zh-CN"))[UI.status]
        assert "回放" in zh_status
        with pytest.raises(PlaygroundError, match="no recorded training"):
            tab.on_replay(UI, "no-such-model", Request("carol"))
    finally:
        state.REGISTRY.drop("carol")


def test_replay_waits_while_your_own_run_uses_the_view():
    try:
        with state.REGISTRY.busy("dave", "training"):
            with pytest.raises(gr.Error, match="replay after it ends"):
                tab.on_replay(train_ui(), "induction", Request("dave"))
    finally:
        state.REGISTRY.drop("dave")
