"""TrainingRun: stop conditions, the live induction line, threads, and the CLI's --max-seconds /
--target-val-loss (the model it stopped at is saved, and its card says why)."""

import json
import threading

import numpy as np
import pytest
import torch

from playground import api, cli, interpret
from playground.config import ModelConfig, TrainConfig
from playground.errors import PlaygroundError, RangeError
from playground.history import best_induction_score
from playground.run import StopConditions, TrainingRun, fit_probe

SMALL = ModelConfig(n_layers=2, n_heads=2, d_model=16, n_ctx=32)


@pytest.fixture(scope="module")
def data():
    return api.prepare_data("copy", "char", 32, size=20_000, seed=0)


def make_run(data, steps=12, **kwargs) -> TrainingRun:
    return TrainingRun(data, SMALL, TrainConfig(steps=steps, batch_size=4, eval_interval=3, seed=0), **kwargs)


def test_a_run_that_meets_no_condition_does_every_step(data):
    run = make_run(data).run()
    assert run.reason == "done" and run.last.step == 12
    assert run.summary() == {"reason": "done", "step": 12, "planned_steps": 12}


def test_stop_ends_after_the_current_step_even_from_another_thread(data):
    run = make_run(data, steps=500)
    for stats in run:
        if stats.step == 3:
            threading.Thread(target=run.stop).start()
            threading.Event().wait(0.2)  # the other thread has set the flag
    assert run.reason == "stopped" and run.last.step == 3


def test_the_time_budget_and_the_target_loss_end_a_run_with_their_reason(data):
    timed = make_run(data, steps=500, stop=StopConditions(max_seconds=0.0)).run()
    assert timed.reason == "time" and timed.last.step == 1
    target = make_run(data, steps=500, stop=StopConditions(target_val_loss=100.0)).run()
    assert target.reason == "target" and target.last.step == 3  # the first evaluation is at step 3
    assert target.finish("t").card["stop"] == {"reason": "target", "step": 3, "planned_steps": 500,
                                               "target_val_loss": 100.0}


def test_closing_a_run_early_counts_as_stopped_and_keeps_its_last_step(data):
    run = make_run(data, steps=500)
    steps = iter(run)
    next(steps), next(steps)
    steps.close()
    assert run.reason == "stopped" and run.last.step == 2


def test_bad_stop_conditions_are_refused_with_the_range():
    with pytest.raises(RangeError, match="max_seconds .* must be a number from 0 to 604,800"):
        StopConditions(max_seconds=-1)
    with pytest.raises(RangeError, match="target_val_loss must be a number above 0"):
        StopConditions(target_val_loss=0)
    assert "时间预算" in RangeError("run.max_seconds", low=0, high=1, got=-1).message("zh")


def test_the_induction_line_is_measured_on_the_model_at_that_step(data):
    """Each point of the live line equals interpret.induction_scores on the model as it is when
    the step is yielded (best head of layer 1), so it is the model's score then, not a replay."""
    probe = "8264082640"  # one sequence said twice
    run = make_run(data, steps=10, probe=probe, n_snapshots=2, score_every=3)
    ids = data.tokenizer.encode(probe).ids
    checked = []
    for stats in run:
        line_steps, line = run.recorder.score_steps, run.recorder.scores
        if line_steps[-1] == stats.step:
            expected = interpret.induction_scores(stats.model, ids, half=5)[1].max()
            assert line[-1] == pytest.approx(float(expected), abs=1e-6)
            checked.append(stats.step)
    assert checked == [3, 5, 6, 9, 10]  # every 3rd step, the snapshots (5, 10) and the last
    history = run.history()
    assert history.score_steps == [0, 3, 5, 6, 9, 10]
    assert history.induction_line() == (history.score_steps, history.scores)


def test_a_probe_not_said_twice_gets_no_induction_line(data):
    run = make_run(data, steps=4, probe="123=456", n_snapshots=2, score_every=1).run()
    assert run.history().induction_line() is None and run.recorder.snapshots


def test_best_induction_score_skips_layer_0():
    pattern = np.zeros((2, 1, 6, 6), np.float32)  # (L, H, T, T): "abcabc"; queries 3, 4 -> keys 1, 2
    pattern[0, 0, 3, 1] = pattern[0, 0, 4, 2] = 1.0  # layer 0 looks at the token after the earlier copy
    assert best_induction_score(pattern, 3) == 0.0
    pattern[1, 0, 3, 1] = 1.0
    assert best_induction_score(pattern, 3) == 0.5


def test_the_run_uses_its_threads_only_while_it_computes(data):
    torch.set_num_threads(2)
    run = make_run(data, steps=3, threads=1)
    seen = [torch.get_num_threads() for _ in run]
    assert seen == [2, 2, 2] and torch.get_num_threads() == 2
    torch.set_num_threads(1)


def test_a_long_probe_is_cut_or_refused(data):
    assert len(data.tokenizer.encode(fit_probe("1234567890" * 9, data.tokenizer, 32)).ids) == 32
    with pytest.raises(PlaygroundError, match="probe must be 1 to 32 tokens"):
        make_run(data, probe="1" * 40, n_snapshots=2)


def _cli(tmp_path, *extra):
    out = tmp_path / "ckpt"
    code = cli.main(["train", "--corpus", "copy", "--tokenizer", "char", "--vocab", "32", "--layers", "1",
                     "--heads", "2", "--d-model", "16", "--ctx", "16", "--steps", "400", "--batch", "4",
                     "--eval-interval", "5", "--out", str(out), *extra])
    assert code == 0
    return json.loads((out / "card.json").read_text())


def test_cli_stops_at_a_target_validation_loss_and_saves_that_model(tmp_path):
    card = _cli(tmp_path, "--target-val-loss", "50")
    assert card["steps_done"] == 5 and card["stop"]["reason"] == "target"
    assert card["stop"]["target_val_loss"] == 50.0


def test_cli_stops_at_its_time_budget_and_saves_that_model(tmp_path):
    card = _cli(tmp_path, "--max-seconds", "0")
    assert card["steps_done"] == 1 and card["stop"] == {"reason": "time", "step": 1, "planned_steps": 400,
                                                        "max_seconds": 0.0}


def test_the_induction_bench_measures_when_the_live_line_passes_the_threshold(monkeypatch):
    """bench/induction_live.py on a tiny preset (seconds, not minutes): a row per seed with the
    step the tab's live line first reached the threshold (or not formed) and the distribution."""
    from bench import induction_live

    tiny = dict(corpus="copy", tokenizer="char", vocab=32, layers=2, heads=2, d_model=16, n_ctx=32, steps=12,
                batch=4, lr=3e-3, probe="82648264", optimizer="adamw")
    monkeypatch.setattr(induction_live, "THRESHOLD", -1.0)  # any score passes: the first measured step
    row = induction_live.time_to_score(tiny, seed=0, full=True)
    assert row["formed"] and row["step"] == 0 and row["steps_run"] == 12  # step 0 is measured before training
    assert row["stopped_because"] == "done" and 0.0 <= row["final_score"] <= 1.0
    early = induction_live.time_to_score(tiny, seed=0)  # stops 5 measurements after it formed
    assert early["stopped_because"] == "stopped" and early["steps_run"] == 4
    monkeypatch.setattr(induction_live, "THRESHOLD", 2.0)  # a score never reaches 2
    late = induction_live.time_to_score(tiny, seed=0)
    assert not late["formed"] and late["step"] is None
    stats = induction_live.summary([row, late])
    assert stats["formed"] == 1 and stats["step"] == {"median": 0, "best": 0, "worst": 0}
