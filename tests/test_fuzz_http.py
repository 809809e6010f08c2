"""Fuzzing the HTTP endpoints with gradio_client against the running app (`app_url`).

Arbitrary text (control characters, lone surrogates, huge strings), numbers outside every
range, wrong types and path-like model names: each request either succeeds or fails with a
clear gradio error message — never Gradio's bare "raised an exception" notice and never our
"Something went wrong" (a bug) — and the server still serves a normal request afterwards.
A small number of examples keeps this fast.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.server

HTTP = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
GENERIC = ("has not enabled verbose error reporting", "Something went wrong on the server")

# gradio_client cannot send a lone surrogate (httpx encodes the body as UTF-8); a browser can
# (JSON.stringify escapes it): those go through `raw_predict` below.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(["", " ", "\x00\x1b[2J", "狗" * 30, "x" * 20_001, "<img src=x onerror=1>"]),
)
NUMBER = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 256, 257, 10_000, 2**31, -(2**31), 1e308, 0.5]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
WRONG = st.sampled_from(["abc", None, [1, 2], {"a": 1}, True])
MODEL = st.sampled_from(["stories", "sort", "/etc/passwd", "../../etc/passwd", "My model", "", "stories\x00"])


@pytest.fixture(scope="module")
def client(app_url):
    c = Client(app_url, verbose=False)
    yield c
    c.close()


@pytest.fixture(scope="module")
def zh_client(app_url):
    c = Client(app_url, verbose=False, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    yield c
    c.close()


def attempt(client, *args, api_name, **kwargs):
    """None on success, else the error message — which must be a clear one."""
    try:
        client.predict(*args, api_name=api_name, **kwargs)
        return None
    except AppError as err:
        message = str(err)
        assert message.strip(), f"{api_name}: empty error message"
        assert not any(g in message for g in GENERIC), f"{api_name}{args!r}: unclear error {message!r}"
        assert "<img" not in message, "error messages are rendered as HTML: input must be escaped"
        return message


def still_serves(client) -> None:
    out = client.predict("stories", "The dog saw the cat.", api_name="/tokenize")
    assert "stories" in out[1]


@HTTP
@given(MODEL, TEXT)
def test_inspect_and_tokenize_answer_or_explain(client, model, text):
    for endpoint in ("/inspect", "/tokenize"):
        message = attempt(client, model, text, api_name=endpoint)
        if model not in ("stories", "sort", "") and message is None:
            pytest.fail(f"{endpoint} accepted the model name {model!r}")
        if message and model in ("/etc/passwd", "../../etc/passwd"):
            assert "not in the list of choices" in message or "unknown model" in message
    still_serves(client)


@HTTP
@given(TEXT, st.one_of(NUMBER, WRONG), st.one_of(NUMBER, WRONG), st.one_of(NUMBER, WRONG), st.one_of(NUMBER, WRONG))
def test_generate_answers_or_explains(client, prompt, n_new, temperature, top_k, seed):
    message = attempt(client, "stories", prompt, n_new, temperature, top_k, 1.0, False, seed, api_name="/generate")
    valid = (
        isinstance(n_new, (int, float))
        and not isinstance(n_new, bool)
        and 1 <= n_new <= 256
        and isinstance(temperature, (int, float))
        and 0.05 <= temperature <= 2
    )
    if message is None:
        assert valid
    still_serves(client)


@HTTP
@given(
    st.one_of(NUMBER, WRONG),
    st.one_of(NUMBER, WRONG),
    st.one_of(NUMBER, WRONG),
    st.one_of(NUMBER, WRONG),
    st.sampled_from(["copy", "my text", "nope", "../x"]),
    TEXT,
)
def test_train_settings_out_of_range_are_refused_clearly(client, steps, batch, layers, lr, corpus, pasted):
    args = dict(
        corpus=corpus,
        pasted=pasted,
        tokenizer="char",
        vocab=32,
        layers=layers,
        heads=2,
        d_model=32,
        n_ctx=32,
        steps=steps,
        batch=batch,
        lr=lr,
        seed=0,
        probe="1=1",
    )
    steps_ok = isinstance(steps, (int, float)) and not isinstance(steps, bool) and 1 <= steps <= 20
    if steps_ok:  # a valid run must stay short: cap what could train
        args["steps"] = min(int(steps), 3) or 1
    attempt(client, api_name="/train", **args)
    still_serves(client)


@HTTP
@given(st.sampled_from(["copy", "nope", ""]), st.one_of(NUMBER, WRONG), TEXT)
def test_bpe_lab_answers_or_explains(client, corpus, vocab, text):
    attempt(client, corpus, vocab, "stories", text, api_name="/train_bpe")
    still_serves(client)


@HTTP
@given(
    st.lists(
        st.lists(st.one_of(NUMBER, st.sampled_from(["", "x", None])), min_size=0, max_size=20), min_size=0, max_size=20
    )
)
def test_worked_example_tables_answer_or_explain(client, rows):
    table = {"headers": [f"c{i}" for i in range(len(rows[0]) if rows else 0)], "data": rows, "metadata": None}
    attempt(client, table, table, table, api_name="/worked_attention")
    still_serves(client)


def test_chinese_browsers_get_chinese_errors_even_from_gradios_own_checks(zh_client):
    for args, endpoint in [
        (("stories", ""), "/inspect"),
        (("../../etc/passwd", "x"), "/tokenize"),
        (("stories", "x", 999, 1.0, 0, 1.0, False, 0), "/generate"),
        (("stories", "x", "many", 1.0, 0, 1.0, False, 0), "/generate"),
    ]:
        message = attempt(zh_client, *args, api_name=endpoint)
        assert message and any("\u4e00" <= ch <= "\u9fff" for ch in message), (endpoint, message)
    assert "最多 3,000 步" in attempt(zh_client, corpus="copy", steps=99_999, api_name="/train")
    assert "Expected a `float`" in attempt(
        zh_client, "stories", "x", "many", 1.0, 0, 1.0, False, 0, api_name="/generate"
    )
    still_serves(zh_client)


def raw_predict(url: str, api_name: str, data: list, lang: str = "en") -> tuple[bool, object]:
    """Call an endpoint the way the browser does (queue/join, then the event stream), with the
    body JSON-escaped so that lone surrogates arrive as such. (ok, output) or (False, message)."""
    base, session = url.rstrip("/"), uuid.uuid4().hex
    config = httpx.get(f"{base}/config", timeout=30).json()
    dep = next(d for d in config["dependencies"] if d.get("api_name") == api_name.strip("/"))
    # `data` holds the visible inputs in order; gr.State inputs (e.g. the shared bar's action
    # counter that listeners take first) are sent as null, as the browser would send their value.
    kinds = {c["id"]: c.get("type") for c in config["components"]}
    values = iter(data)
    fn_index = dep["id"]
    data = [None if kinds.get(i) == "state" else next(values, None) for i in dep["inputs"]]
    body = json.dumps(
        {"data": data, "event_data": None, "fn_index": fn_index, "trigger_id": None, "session_hash": session}
    )  # ensure_ascii: "\\ud800" stays an escape
    headers = {"Content-Type": "application/json", "Accept-Language": lang}
    assert httpx.post(f"{base}/gradio_api/queue/join", content=body, headers=headers, timeout=30).status_code == 200
    with httpx.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session}, timeout=120) as r:
        for line in r.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("msg") == "process_completed":
                out = msg.get("output", {})
                return (True, out.get("data")) if msg.get("success") else (False, out.get("error"))
    raise AssertionError("the event stream ended without a result")


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\udc80" * 3])
@pytest.mark.parametrize("endpoint", ["/inspect", "/tokenize", "/embeddings"])
def test_lone_surrogates_from_a_browser_get_a_clear_message(app_url, text, endpoint):
    data = ["stories", text]
    ok, message = raw_predict(app_url, endpoint, data)
    assert not ok and "surrogate" in message and "U+D" in message, message
    ok, message = raw_predict(app_url, endpoint, data, lang="zh-CN")
    assert not ok and "无效的 Unicode" in message, message
    ok, out = raw_predict(app_url, endpoint, ["stories", "The dog saw the cat."])
    assert ok


def test_lone_surrogates_in_a_prompt_or_training_text_get_a_clear_message(app_url):
    ok, message = raw_predict(app_url, "/generate", ["stories", "Once \ud800", 4, 1.0, 0, 1.0, False, 0])
    assert not ok and "surrogate" in message
    train = ["my text", "abc \ud800 " * 100, None, "char", 512, 1, 2, 32, 32, 3, 8, 0.003, 0, "", False, "adamw"]
    ok, message = raw_predict(app_url, "/train", train)
    assert not ok and "UTF-8" in message, message
