"""playground.ui.errors: every handler error reaches the user as a gr.Error in their language,
with every number and limit kept; a bug becomes a short notice, never a traceback."""

from __future__ import annotations

import inspect
import re

import gradio as gr
import pytest
from train_ui import train_ui

from playground import api
from playground.config import ModelConfig, SampleConfig, TrainConfig
from playground.corpora import load_corpus, user_corpus
from playground.tokenizer import Tokenizer
from playground.ui import build_app, errors, state
from playground.ui import generate_tab as gen
from playground.ui import train_tab as tab

NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")


class Request:
    def __init__(self, lang="en-US", session="err"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


def _error(fn) -> Exception:
    try:
        fn()
    except Exception as err:
        return err
    raise AssertionError("no error raised")


LIBRARY_ERRORS = {
    "empty text": lambda: api.check_text(""),
    "long text": lambda: api.check_text("x" * (api.MAX_TEXT_CHARS + 1)),
    "surrogate": lambda: api.check_text("a\ud800"),
    "layers": lambda: ModelConfig(n_layers=99),
    "heads": lambda: ModelConfig(d_model=30, n_heads=4),
    "temperature": lambda: SampleConfig(temperature=0),
    "top_p": lambda: SampleConfig(top_p=1.5),
    "lr": lambda: TrainConfig(lr=2.0),
    "short corpus": lambda: user_corpus("abc"),
    "utf-8": lambda: user_corpus(b"\xff\xfe" * 200),
    "corpus": lambda: load_corpus("nope"),
    "model": lambda: state.get_bundle("../../etc/passwd"),
    "my model": lambda: state.get_bundle(state.MY_MODEL, "nobody"),
    "whole": lambda: tab._int("x", "steps"),
    "seed": lambda: gen._seed(-1),
    "steps": lambda: list(tab.on_train(train_ui(), steps=99_999)),
    "batch": lambda: list(tab.on_train(train_ui(), batch=999)),
    "no text": lambda: list(tab.on_train(train_ui(), corpus=tab.MY_TEXT, pasted="")),
    "bpe vocab": lambda: Tokenizer.train("bpe", "hello world", 10),
    "new tokens": lambda: list(gen.on_generate("stories", "x", 999)),
}


@pytest.mark.parametrize("case", LIBRARY_ERRORS)
def test_each_error_is_shown_in_chinese_keeping_every_number(case):
    err = _error(LIBRARY_ERRORS[case])
    english = errors.user_error(err, "en").message
    chinese = errors.user_error(err, "zh").message
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
    assert not chinese.startswith("无法完成请求"), f"no Chinese wording for: {english}"
    assert sorted(NUMBER.findall(english)) == sorted(NUMBER.findall(chinese)), (english, chinese)
    assert not re.search(r"[\u4e00-\u9fff]", english), english


def test_every_pattern_template_uses_only_its_groups():
    for pattern, template in errors.ZH:
        fields = set(re.findall(r"\{(\w+)\}", template))
        assert fields <= set(pattern.groupindex), (pattern.pattern, template)


def test_unknown_messages_keep_the_english_detail_behind_a_chinese_lead():
    assert errors.translate("a brand new failure", "zh") == "无法完成请求：a brand new failure"
    assert errors.translate("已经是中文", "zh") == "已经是中文"


def test_guard_translates_and_escapes_and_keeps_signature_and_streaming():
    def handler(text_in: str, request: gr.Request = None):
        raise api.PlaygroundError(f"unknown model {text_in!r}; choose one of ['stories']")

    def streaming(n, request: gr.Request = None):
        yield 1
        raise api.PlaygroundError("the text is empty: type at least one character")

    wrapped, wrapped_stream = errors.guard(handler), errors.guard(streaming)
    assert inspect.signature(wrapped) == inspect.signature(handler)
    assert inspect.isgeneratorfunction(wrapped_stream)
    with pytest.raises(gr.Error) as info:
        wrapped("<b>x</b>", Request("zh-CN,zh;q=0.9"))
    assert "未知的模型" in info.value.message and "&lt;b>" in info.value.message
    stream = wrapped_stream(1, request=Request("zh-TW"))
    assert next(stream) == 1
    with pytest.raises(gr.Error, match="文本是空的"):
        next(stream)


def test_a_bug_becomes_a_short_notice_and_is_logged(caplog):
    def broken(request=None):
        return {}["missing"]

    with pytest.raises(gr.Error) as info:
        errors.guard(broken)(Request())
    assert info.value.message.startswith("Something went wrong on the server (KeyError)")
    assert "missing" not in info.value.message
    assert any("unexpected error" in r.message for r in caplog.records)


def test_the_app_guards_every_event_function():
    demo = build_app()
    fns = [f for f in demo.fns.values() if f.fn is not None]
    assert fns and all(getattr(f.fn, "_playground_guarded", False) for f in fns)
    assert getattr(demo.process_api, "_playground_guarded", False)


def test_gradios_own_range_messages_are_translated():
    assert errors.translate("Value 999 is greater than maximum value 256.", "zh") == "数值 999 大于允许的最大值 256"
    assert "不在可选项中" in errors.translate("Value: x is not in the list of choices: ['a']", "zh")
