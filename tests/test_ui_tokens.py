"""Tokens tab: handlers called directly, then /tokenize and /train_bpe over HTTP."""

import html as html_module
import re

import pytest

from playground import tokenizer_lab
from playground.errors import PlaygroundError
from playground.ui import tokens_tab
from playground.ui.state import get_bundle, model_choices

TEXT = "The dog saw the cat. 狗看见了猫。"


@pytest.fixture(scope="module")
def model_name():
    return model_choices()[0]


def _spans(html: str) -> list[str]:
    """Labels of the token spans (without the id subscript)."""
    return [html_module.unescape(s) for s in re.findall(r'<span class="tok"[^>]*>(.*?)<sub', html)]


def test_model_tokens_and_counts_follow_the_model_tokenizer(model_name):
    html, counts, _ = tokens_tab.on_tokenize(model_name, TEXT)
    enc = get_bundle(model_name).tokenizer.encode(TEXT)
    assert _spans(html) == [t.display for t in enc.tokens]
    assert all(f">{i}</sub>" in html for i in enc.ids)
    n = len(enc.ids)
    assert f"| {len(TEXT)} | {len(TEXT.encode())} | {n} | {len(TEXT) / n:.2f} |" in counts


def test_byte_pieces_and_whitespace_are_visible():
    html, _, _ = tokens_tab.on_tokenize(model_choices()[0], "a b\n猫")
    assert "·" in html and "↵" in html
    bpe = tokenizer_lab.reference_tokenizers()["bpe"]
    pieces = [t.display for t in bpe.encode("猫").tokens]
    assert any(p.startswith("<") for p in pieces)  # this BPE splits 猫 into bytes ...
    compare = tokens_tab.compare_html("猫")
    assert all(p.replace("<", "&lt;").replace(">", "&gt;") in compare for p in pieces)  # ... shown as <e7 8c>


def test_side_by_side_counts_equal_each_reference_tokenizer(model_name):
    _, _, compare = tokens_tab.on_tokenize(model_name, TEXT)
    for kind, tok in tokenizer_lab.reference_tokenizers().items():
        n = len(tok.encode(TEXT).ids)
        assert f'data-kind="{kind}" data-tokens="{n}"' in compare
    columns = compare.split('class="tok-compare-col"')[1:]
    assert [_spans(col) for col in columns] == [
        [t.display for t in tok.encode(TEXT).tokens] for tok in tokenizer_lab.reference_tokenizers().values()
    ]


def test_long_text_is_cut_to_the_context_with_a_notice(model_name):
    n_ctx = get_bundle(model_name).config.n_ctx
    html, counts, _ = tokens_tab.on_tokenize(model_name, "dog cat " * n_ctx)
    assert html.count('class="tok"') == n_ctx
    assert "⚠️" in counts and f"at most {n_ctx}" in counts


@pytest.mark.parametrize("text,message", [("", "empty"), ("x" * 30_000, "limit is 20,000")])
def test_bad_text_is_a_clear_gradio_error(model_name, text, message):
    with pytest.raises(PlaygroundError, match=message):
        tokens_tab.on_tokenize(model_name, text)
    with pytest.raises(PlaygroundError, match=message):
        tokens_tab.on_train_bpe("stories", 512, model_name, text)


def test_trained_bpe_shows_its_merges_in_order_and_the_new_tokens(model_name):
    summary, html, frame = tokens_tab.on_train_bpe("stories", 300.0, model_name, TEXT)
    tok = tokenizer_lab.train_bpe("stories", 300)
    assert frame["headers"] == ["rank", "left", "right", "merged"]
    assert [(row[1], row[2]) for row in frame["data"]] == tok.merges(tokens_tab.MERGES_SHOWN)
    assert [row[0] for row in frame["data"]] == list(range(1, tokens_tab.MERGES_SHOWN + 1))
    assert _spans(html) == [t.display for t in tok.encode(TEXT).tokens]
    assert "300 tokens" in summary and "44 merges" in summary


def test_bad_vocab_size_or_corpus_is_a_gradio_error(model_name):
    with pytest.raises(PlaygroundError, match="from 257"):
        tokens_tab.on_train_bpe("stories", 100, model_name, TEXT)
    with pytest.raises(PlaygroundError, match="choose one of"):
        tokens_tab.on_train_bpe("nope", 512, model_name, TEXT)


@pytest.mark.server
def test_tokenize_and_train_bpe_endpoints_over_http(app_url, model_name):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app_url, verbose=False)
    try:
        html, counts, compare = client.predict(model_name, TEXT, api_name="/tokenize")
        assert _spans(html) == [t.display for t in get_bundle(model_name).tokenizer.encode(TEXT).tokens]
        assert "characters per token" in counts and 'data-kind="bpe"' in compare
        summary, lab_html, merges = client.predict("stories-en", 400, model_name, TEXT, api_name="/train_bpe")
        assert "400 tokens" in summary and 'class="tok"' in lab_html
        assert len(merges["data"]) == tokens_tab.MERGES_SHOWN
        with pytest.raises(AppError, match="empty"):
            client.predict(model_name, "", api_name="/tokenize")
    finally:
        client.close()
