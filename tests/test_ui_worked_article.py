"""Handlers of the Worked example and Article lab tabs, called directly (no server)."""

import numpy as np
import pytest

from playground import article_lab as lab
from playground import worked_example as wx
from playground.errors import PlaygroundError
from playground.ui import article_tab, worked_tab
from playground.ui.i18n import STRINGS


class ZhRequest:
    headers = {"accept-language": "zh-CN,zh;q=0.9"}


def article_grids():
    return worked_tab.on_reset()


def test_lookup_shows_w_e_one_hot_and_the_row():
    table = worked_tab._grid(wx.EMBEDDINGS, wx.WORDS)
    fig, explain = worked_tab.on_lookup(table, "bird")
    w_e, one_hot, result = (np.asarray(trace.z) for trace in fig.data)
    assert w_e.shape == (3, 5) and one_hot.ravel().tolist() == [0, 0, 0, 1, 0]
    assert result.ravel().tolist() == [1, 1, 0]
    assert "[1, 1, 0]" in explain and "column 3" in explain


def test_lookup_follows_an_edited_table():
    table = worked_tab._grid(wx.EMBEDDINGS, wx.WORDS)
    table[1][2] = 7  # cat, d1
    fig, explain = worked_tab.on_lookup(table, "cat")
    assert np.asarray(fig.data[2].z).ravel().tolist() == [0, 7, 0]
    assert "[0, 7, 0]" in explain


def test_attention_handler_shows_both_cases_and_the_comparison():
    enc_fig, enc_table, dec_fig, dec_table, panel, off = worked_tab.on_attention(*article_grids())
    enc = {trace.name: np.asarray(trace.z) for trace in enc_fig.data}
    dec = {trace.name: np.asarray(trace.z) for trace in dec_fig.data}
    np.testing.assert_allclose(enc["weights"][0], [1 / 3] * 3, atol=1e-6)
    np.testing.assert_allclose(dec["weights"][0], [1, 0, 0], atol=1e-6)
    assert np.isnan(dec["scaled"][0, 1]) and np.isnan(dec["scaled"][0, 2])  # masked cells drawn grey
    assert "| **dog** | [1, 1, 1] | [0.577, 0.577, 0.577] | [0.333, 0.333, 0.333]" in enc_table
    assert "−∞" in dec_table
    assert panel["visible"] is True and off["visible"] is False
    text = panel["value"]
    assert "[0.578, 0.212, 0.210]" in text and "[0.333, 0.333, 0.333]" in text
    assert "[0.576, 0.212, 0.212]" in text and "[0.471, 0.264, 0.264]" in text
    assert "[1, 0, 0]" in text


def test_comparison_hides_after_a_q_edit_and_updates_after_a_v_edit():
    q, k, v = article_grids()
    q[0][1] = 2  # dog's query, d0
    *_, panel, off = worked_tab.on_attention(q, k, v)
    assert panel["visible"] is False and off["visible"] is True
    q, k, v = article_grids()
    v[0][1] = 3  # dog's value, d0
    *_, panel, off = worked_tab.on_attention(q, k, v)
    assert panel["visible"] is True and "output = weights × V = [1, 0.333, 0.333]" in panel["value"]


def test_comparison_speaks_chinese():
    *_, panel, _ = worked_tab.on_attention(*article_grids(), request=ZhRequest())
    assert "为什么" in panel["value"] and "[0.578, 0.212, 0.210]" in panel["value"]


@pytest.mark.parametrize("edit,message", [("abc", "numbers only"), (None, "finite numbers")])
def test_bad_cells_are_gradio_errors(edit, message):
    q, k, v = article_grids()
    k[2][3] = edit
    with pytest.raises(PlaygroundError, match=message):
        worked_tab.on_attention(q, k, v)


def test_explanations_exist_in_both_languages():
    for key in ("wk_what", "wk_compare", "wk_compare_off", "lab_what", "lab_help", "lab_find_learned"):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in STRINGS["zh"][key]), key
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in STRINGS["en"][key]), key


def fake_result(**changes) -> lab.LabResult:
    values = dict(fixes=lab.LabFixes(), seed=0, epochs=10, losses=tuple(np.linspace(10, 4, 10)),
                  train_accuracy=0.03, copy_accuracy=0.0, cross_example_change=9.0, future_change=0.0,
                  source_order_change=2.0, attention_axis="examples", attention_length=32, decoder_layers=6,
                  n_params=45_000_000, seconds=12.0)
    return lab.LabResult(**{**values, **changes})


def test_findings_are_derived_from_the_measurements():
    text = article_tab.findings(fake_result(), "en")
    assert "Epoch 1: 10.0000" in text and "4.4453, is 5.55 lower" in text
    assert "the 32 examples of the batch" in text and "examples leak into each other" in text
    # batch_first off: "looking ahead" and "source order" measure the examples axis, and say so
    assert "no position sees a later one" not in text and "not a sign of a working causal mask" in text
    assert "The causal mask is off" in text and "not the model reading word order" in text
    assert "neither memorised" in text
    masked = article_tab.findings(fake_result(fixes=lab.LabFixes(causal_mask=True)), "en")
    assert "applied across the examples" in masked
    text = article_tab.findings(fake_result(train_accuracy=1.0, copy_accuracy=1.0, cross_example_change=0.0,
                                            attention_axis="tokens", attention_length=10), "en")
    assert "It copies what its decoder reads" in text and "examples are independent" in text
    assert "no position sees a later one" in text and "depends on source word order" in text
    text = article_tab.findings(fake_result(train_accuracy=1.0), "zh")
    assert "背下了这一个批次" in text


def test_run_handler_rejects_a_bad_seed():
    with pytest.raises(PlaygroundError, match="seed"):
        list(article_tab.on_run(False, False, False, False, False, -1, None))


@pytest.mark.slow
def test_run_handler_streams_every_epoch_then_findings(monkeypatch):
    monkeypatch.setattr(lab, "EPOCHS", 2)
    outputs = list(article_tab.on_run(True, True, True, True, True, 0, None))
    assert len(outputs) == 3  # two epochs, then the findings
    fig, findings, state = outputs[-1]
    assert state["losses"] == [pytest.approx(x) for x in fig.data[0].y.tolist()]
    assert "Epoch 1:" in findings and "all fixes" in state["setting"]
    names = [trace.name for trace in fig.data]
    assert names[-1] == "article (printed)"
    # a second run draws the first one as "previous run"
    fig2, _, _ = list(article_tab.on_run(True, True, True, True, True, 0, state))[-1]
    assert any("previous run" in trace.name for trace in fig2.data)


def test_findings_name_the_one_fix_that_changed_since_the_previous_run():
    previous = {"setting": "article's code", "losses": [10.0] * 9 + [4.26], "copy": "0%",
                "fixes": vars(lab.LabFixes()).copy()}
    result = fake_result(fixes=lab.LabFixes(decoder_layers_2=True), copy_accuracy=1.0)
    text = article_tab.findings(result, "en", previous)
    assert "Only `decoder_layers_2` changed" in text and "4.2600 → 4.0000" in text and "0% → 100%" in text
