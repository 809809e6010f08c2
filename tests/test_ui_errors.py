"""playground.ui.errors: every handler error reaches the user as ONE gr.Error in their language,
worded from its key with every number and limit kept; a bug becomes a short notice, never a
traceback; Gradio's own input checks are worded in the user's language too."""

from __future__ import annotations

import inspect
import re
import tempfile
import zipfile
from pathlib import Path

import gradio as gr
import pytest
from train_ui import train_ui

from playground import api, hub
from playground import errors as keyed
from playground.checkpoint import load_checkpoint
from playground.config import ModelConfig, SampleConfig, TrainConfig
from playground.corpora import load_corpus, user_corpus
from playground.sessions import SessionRegistry
from playground.tokenizer import Tokenizer
from playground.ui import build_app, errors, state
from playground.ui import generate_tab as gen
from playground.ui import train_tab as tab

NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
CJK = re.compile(r"[\u4e00-\u9fff]")


class Request:
    def __init__(self, lang="en-US", session="err"):
        self.session_hash = session
        self.headers = {"accept-language": lang}


ZH = Request("zh-CN,zh;q=0.9")


def _error(fn) -> Exception:
    try:
        fn()
    except Exception as err:
        return err
    raise AssertionError("no error raised")


def _zip_of_many_files() -> None:
    folder = Path(tempfile.mkdtemp())
    with zipfile.ZipFile(folder / "many.zip", "w") as zf:
        for i in range(20):
            zf.writestr(f"file{i}.json", "{}")
    load_checkpoint(folder / "many.zip")


def _expired_session() -> None:
    now = [0.0]
    registry = SessionRegistry(ttl=90, clock=lambda: now[0])
    registry.put("alice", "model", object())
    now[0] = 1000.0
    registry.get("alice", "model")


# Each case gets the request (handlers compose their own gr.Error texts in its language).
LIBRARY_ERRORS = {
    "empty text": lambda r: api.check_text(""),
    "long text": lambda r: api.check_text("x" * (api.MAX_TEXT_CHARS + 1)),
    "surrogate": lambda r: api.check_text("a\ud800"),
    "layers": lambda r: ModelConfig(n_layers=99),
    "heads": lambda r: ModelConfig(d_model=30, n_heads=4),
    "temperature": lambda r: SampleConfig(temperature=0),
    "top_p": lambda r: SampleConfig(top_p=1.5),
    "lr": lambda r: TrainConfig(lr=2.0),
    "short corpus": lambda r: user_corpus("abc"),
    "utf-8": lambda r: user_corpus(b"\xff\xfe" * 200),
    "corpus": lambda r: load_corpus("nope"),
    "checkpoint zip": lambda r: _zip_of_many_files(),
    "hub id": lambda r: hub.parse_repo_id("not a repo id!"),
    "session expired": lambda r: _expired_session(),
    "model": lambda r: state.get_bundle("../../etc/passwd"),
    "my model": lambda r: state.get_bundle(state.MY_MODEL, "nobody"),
    "whole": lambda r: tab._int("x", "steps"),
    "seed": lambda r: gen._seed(-1),
    "steps": lambda r: list(tab.on_train(train_ui(), steps=99_999, request=r)),
    "batch": lambda r: list(tab.on_train(train_ui(), batch=999, request=r)),
    "no text": lambda r: list(tab.on_train(train_ui(), corpus=tab.MY_TEXT, pasted="", request=r)),
    "bpe vocab": lambda r: Tokenizer.train("bpe", "hello world", 10),
    "new tokens": lambda r: list(gen.on_generate("stories", "x", 999)),
}


@pytest.mark.parametrize("case", LIBRARY_ERRORS)
def test_each_error_is_shown_in_chinese_keeping_every_number(case):
    english = errors.user_error(_error(lambda: LIBRARY_ERRORS[case](Request())), "en").message
    chinese = errors.user_error(_error(lambda: LIBRARY_ERRORS[case](ZH)), "zh").message
    assert CJK.search(chinese), chinese
    assert not chinese.startswith("无法完成请求"), f"no key for: {english}"
    assert sorted(NUMBER.findall(english)) == sorted(NUMBER.findall(chinese)), (english, chinese)
    assert not CJK.search(english), english


@pytest.mark.parametrize(
    ("case", "key", "zh"),
    [
        ("layers", "range.whole", "层数 n_layers必须是 1 到 12 之间的整数（收到 99）"),
        ("corpus", "choice.one_of", "未知的语料 'nope'"),
        ("checkpoint zip", "checkpoint.cannot_load", "无法加载 many.zip：zip 有 20 个成员；最多允许 16 个"),
        ("hub id", "hub.bad_id", "不是 Hugging Face Hub 的模型 id"),
        ("session expired", "session.expired", "已过期：模型在 1.5 分钟不使用后会被清除"),
    ],
)
def test_a_chinese_request_gets_the_chinese_wording_of_the_key(case, key, zh):
    err = _error(lambda: LIBRARY_ERRORS[case](ZH))
    assert isinstance(err, keyed.PlaygroundError) and err.key == key

    def handler(request: gr.Request = None):
        raise err

    with pytest.raises(gr.Error) as info:
        errors.guard(handler)(ZH)
    assert zh in info.value.message


def test_a_wrapped_cause_is_worded_in_the_same_language():
    err = _error(_zip_of_many_files)
    assert str(err) == "cannot load many.zip: the zip has 20 members; at most 16 are allowed"


def test_an_error_without_a_key_keeps_its_text_behind_a_lead_in(caplog):
    def handler(request: gr.Request = None):
        raise ValueError("a brand new failure")

    with pytest.raises(gr.Error) as info:
        errors.guard(handler)(ZH)
    assert info.value.message == "无法完成请求：a brand new failure"
    assert any("without a key" in r.message for r in caplog.records)


def test_handler_composed_errors_pass_through_escaped():
    def handler(request: gr.Request = None):
        raise gr.Error("已经是中文 <b>", duration=None)

    with pytest.raises(gr.Error) as info:
        errors.guard(handler)(ZH)
    assert info.value.message == "已经是中文 &lt;b>" and info.value.duration is None


def test_guard_words_escapes_and_keeps_signature_and_streaming():
    def handler(text_in: str, request: gr.Request = None):
        api.check_text(text_in)
        state.get_bundle(text_in)

    def streaming(n, request: gr.Request = None):
        yield 1
        api.check_text("")

    wrapped, wrapped_stream = errors.guard(handler), errors.guard(streaming)
    assert inspect.signature(wrapped) == inspect.signature(handler)
    assert inspect.isgeneratorfunction(wrapped_stream)
    with pytest.raises(gr.Error) as info:
        wrapped("<b>x</b>", ZH)
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


def test_gradios_own_checks_are_worded_in_the_users_language():
    too_big = "Value 999 is greater than maximum value 256."
    assert errors.gradio_message(too_big, "zh") == "数值 999 大于允许的最大值 256"
    assert errors.gradio_message("Value -1 is less than minimum value 0", "zh") == "数值 -1 小于允许的最小值 0"
    assert errors.gradio_message("Value: x is not in the list of choices: ['a']", "zh") == "x 不在可选项中：['a']"
    assert errors.gradio_message("Value 999 is greater than maximum value 256.", "en") == (
        "Value 999 is greater than maximum value 256"
    )
    assert errors.gradio_message("something else", "zh") == "something else"
    for _pattern, key in errors.GRADIO_CHECKS:
        assert key in keyed.MESSAGES
