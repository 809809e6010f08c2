"""Property tests of the notebook API (playground.api) on arbitrary input.

Whatever the text — any Unicode, control characters, lone surrogates, very long strings — and
whatever the hyperparameters at and just past their limits, a call either returns a correct
result or raises an error of the playground's ValueError family (PlaygroundError, ConfigError,
TokenizerError, CorpusError) whose message says what is wrong. Never another exception, never
a hang (each example runs under a watchdog). Examples are few and deadlines off, so CI stays fast.
"""

from __future__ import annotations

import math
import signal
import threading
from contextlib import contextmanager

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from playground import api
from playground.config import ConfigError
from playground.corpora import CorpusError
from playground.tokenizer import KINDS, TokenizerError

FAMILY = (api.PlaygroundError, ConfigError, TokenizerError, CorpusError)
WATCHDOG_S = 60  # a single example taking longer than this is a hang
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any code point, surrogates included (st.text excludes them by default).
ANY_CHAR = st.characters(exclude_categories=())
CONTROL = st.sampled_from(
    [
        "\x00",
        "\x01",
        "\x07",
        "\x1b[31m",
        "\r",
        "\r\n",
        "\t",
        "\x7f",
        "\u200b",
        "\u202e",
        "\ufeff",
        "\ufffd",
        "\U0010ffff",
        "\ud800",
        "\udfff",
        "\ud83d",
        "🙂",
        "狗",
    ]
)
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=60),
    st.lists(st.one_of(CONTROL, st.text(max_size=4)), max_size=12).map("".join),
    st.tuples(st.text(ANY_CHAR, min_size=1, max_size=5), st.integers(1, 25_000)).map(lambda p: (p[0] * p[1])[:25_000]),
    st.sampled_from(["", " ", "\n", "a" * api.MAX_TEXT_CHARS, "a" * (api.MAX_TEXT_CHARS + 1)]),
)


@contextmanager
def watchdog(seconds: int = WATCHDOG_S):
    """Fail instead of hanging (SIGALRM, main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(_signum, _frame):
        raise TimeoutError(f"an API call took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def check_family(err: Exception) -> None:
    """The error is one of ours and its message is a readable sentence."""
    assert isinstance(err, FAMILY), f"{type(err).__name__} escaped: {err!r}"
    message = str(err)
    assert message.strip() and len(message) < 2_000 and "Traceback" not in message


def call(fn, *args, **kwargs):
    """(result, None) or (None, error of the family); anything else fails the test."""
    with watchdog():
        try:
            return fn(*args, **kwargs), None
        except FAMILY as err:
            check_family(err)
            return None, err


_BUNDLES: dict[str, api.ModelBundle] = {}


def bundles() -> list[api.ModelBundle]:
    """Every shipped model (they differ in tokenizer: char, BPE), or the random demo model."""
    if not _BUNDLES:
        names = api.builtin_names()
        for name in names:
            _BUNDLES[name] = api.load_model(name)
        if not names:
            _BUNDLES[api.DEMO_MODEL] = api.demo_model()
    return list(_BUNDLES.values())


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


# ---------------------------------------------------------------- check_text


@FUZZ
@given(TEXTS)
def test_check_text_returns_the_text_or_says_what_is_allowed(text):
    result, err = call(api.check_text, text)
    if err is None:
        assert result is text
        assert 1 <= len(text) <= api.MAX_TEXT_CHARS and _valid_unicode(text)
    elif not text:
        assert "empty" in str(err)
    elif len(text) > api.MAX_TEXT_CHARS:
        assert f"{api.MAX_TEXT_CHARS:,}" in str(err)
    else:
        assert "surrogate" in str(err) and "U+D" in str(err)


@pytest.mark.parametrize("value", [None, 3, b"bytes", ["a"]])
def test_check_text_refuses_what_is_not_text(value):
    _, err = call(api.check_text, value)
    assert err is not None and "must be text" in str(err)


# ---------------------------------------------------------------- tokenize


@FUZZ
@given(TEXTS, st.integers(0, 3))
def test_tokenize_gives_in_range_ids_and_ordered_spans_or_a_clear_error(text, which):
    bundle = bundles()[which % len(bundles())]
    enc, err = call(bundle.tokenizer.encode, text)
    if err is not None:
        assert not _valid_unicode(text) and "surrogate" in str(err)
        return
    assert _valid_unicode(text)
    assert len(enc.ids) == len(enc.tokens)
    assert all(0 <= i < bundle.tokenizer.vocab_size for i in enc.ids)
    ends = [0] + [tok.end for tok in enc.tokens]
    assert all(0 <= tok.start <= tok.end <= len(text) for tok in enc.tokens)
    assert ends == sorted(ends), "token spans go left to right"
    if bundle.tokenizer.kind == "bpe":  # byte-level BPE loses nothing
        assert bundle.tokenizer.decode(enc.ids) == text


# ---------------------------------------------------------------- inspect


@FUZZ
@given(TEXTS, st.integers(0, 3), st.integers(-3, 60))
def test_inspect_gives_consistent_activations_or_a_clear_error(text, which, top_k):
    bundle = bundles()[which % len(bundles())]
    result, err = call(api.inspect, bundle, text, top_k=max(top_k, 1))
    if err is not None:
        assert not text or len(text) > api.MAX_TEXT_CHARS or not _valid_unicode(text) or "no tokens" in str(err)
        return
    cfg = bundle.config
    n = len(result.ids)
    assert 1 <= n <= cfg.n_ctx and len(result.tokens) == n
    assert text.startswith(result.text)
    if result.truncated_from is not None:
        assert result.truncated_from > cfg.n_ctx == n
    assert result.logits.shape == (n, cfg.d_vocab) and torch.isfinite(result.logits).all()
    for layer in range(cfg.n_layers):
        pattern = result.cache.pattern(layer)
        assert pattern.shape == (cfg.n_heads, n, n)
        assert torch.allclose(pattern.sum(-1), torch.ones(cfg.n_heads, n), atol=1e-4)
        assert torch.triu(pattern, diagonal=1).abs().max() == 0, "no attention to later tokens"
    probs = [p for _, p in result.top_next]
    assert len(probs) == min(max(top_k, 1), cfg.d_vocab) and probs == sorted(probs, reverse=True)
    assert 0 <= sum(probs) <= 1 + 1e-5


# ---------------------------------------------------------------- generate

BOUNDARY_NEW = st.sampled_from([-1, 0, 1, 2, 7, 1025])
BOUNDARY_TEMPERATURE = st.sampled_from([0.0, -1.0, 1e-6, 0.05, 1.0, 10.0, 10.0001, math.nan, math.inf])
BOUNDARY_TOP_K = st.sampled_from([None, 0, 1, 5, -1, 50_304, 50_305])
BOUNDARY_TOP_P = st.sampled_from([None, 0.0, 1e-9, 0.5, 1.0, 1.01, -0.5, math.nan])
BOUNDARY_SEED = st.sampled_from([None, 0, 7, 2**31 - 1, 2**31, -1])


def _sample_settings_valid(n, temperature, top_k, top_p, seed) -> bool:
    return (
        1 <= n <= 1024
        and 0 < temperature <= 10
        and (top_k is None or 0 <= top_k <= 50_304)
        and (top_p is None or 0 < top_p <= 1)
        and (seed is None or 0 <= seed < 2**31)
    )


@FUZZ
@given(
    TEXTS,
    st.integers(0, 3),
    BOUNDARY_NEW,
    BOUNDARY_TEMPERATURE,
    BOUNDARY_TOP_K,
    BOUNDARY_TOP_P,
    BOUNDARY_SEED,
    st.booleans(),
)
def test_generate_continues_the_prompt_or_says_which_setting_is_wrong(
    text, which, n, temperature, top_k, top_p, seed, greedy
):
    bundle = bundles()[which % len(bundles())]
    gen, err = call(api.generate, bundle, text, n, temperature, top_k, top_p, seed, greedy)
    text_ok = 1 <= len(text) <= api.MAX_TEXT_CHARS and _valid_unicode(text)
    if err is not None:
        assert not text_ok or not _sample_settings_valid(n, temperature, top_k, top_p, seed) or "no tokens" in str(err)
        return
    assert text_ok and _sample_settings_valid(n, temperature, top_k, top_p, seed)
    assert len(gen.steps) == n and gen.text.startswith(text)
    for step in gen.steps:
        assert 0 <= step.token_id < bundle.config.d_vocab and 0.0 <= step.prob <= 1.0 + 1e-6


def test_generate_with_a_seed_is_repeatable():
    bundle = bundles()[0]
    first = api.generate(bundle, "Once upon a time", 12, 0.9, None, None, 123)
    assert api.generate(bundle, "Once upon a time", 12, 0.9, None, None, 123).text == first.text


# ---------------------------------------------------------------- prepare_data

USER_TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=400),
    st.tuples(st.text(min_size=1, max_size=30), st.integers(1, 200)).map(lambda p: p[0] * p[1]),
    st.sampled_from(["", " " * 500, "a" * 199, "ab " * 100, "\x00" * 300, "狗看见了猫。" * 60]),
)


@settings(FUZZ, max_examples=15)
@given(USER_TEXTS, st.sampled_from([*KINDS, "sentencepiece", ""]), st.sampled_from([-1, 1, 2, 256, 257, 300, 50_305]))
def test_prepare_data_tokenizes_user_text_or_says_what_is_wrong(text, kind, vocab_size):
    assume(len(text.encode("utf-8", "surrogatepass")) < 100_000)
    data, err = call(api.prepare_data, tokenizer_kind=kind, vocab_size=vocab_size, text=text)
    if err is not None:
        return  # the family check in call() is the property: a clear ValueError, never a crash
    assert kind in KINDS and data.train_ids.dtype == torch.long and len(data.train_ids) and len(data.val_ids)
    assert int(data.train_ids.max()) < data.tokenizer.vocab_size <= vocab_size


def test_prepare_data_refuses_an_unknown_corpus_by_name():
    _, err = call(api.prepare_data, corpus="../../etc/passwd")
    assert err is not None and "choose one of" in str(err)
