"""Tokens and Embeddings tabs in a real browser (Debian chromium via Playwright).

PLAYGROUND_SCREENSHOTS=1 also saves assets/screenshots/tokens.png and embeddings.png."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground.tokenizer_lab import reference_tokenizers
from playground.ui.state import get_bundle, model_choices

SHOTS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
pytestmark = pytest.mark.browser
WAIT = 30_000  # ms: the shared CPU can be busy; every tab computes on page load


def _shoot(page, name: str) -> None:
    if os.environ.get("PLAYGROUND_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=True)


def _open(page, app_url, tab: str) -> None:
    page.set_viewport_size({"width": 1300, "height": 900})
    page.goto(app_url)
    page.get_by_role("tab", name=tab).click()


def _inspect(page, text: str) -> None:
    page.locator("#text-input textarea").fill(text)
    page.locator("#inspect-button").click()


def test_tokens_tab_shows_spans_for_english_and_chinese(page, app_url):
    _open(page, app_url, "Tokens")
    tokenizer = get_bundle(model_choices()[0]).tokenizer
    english = "The dog saw the cat."
    _inspect(page, english)
    spans = page.locator("#tok-spans .tok")
    expect(spans).to_have_count(len(tokenizer.encode(english).ids), timeout=WAIT)
    expect(page.locator("#tok-counts")).to_contain_text("characters per token", timeout=WAIT)
    n_word = len(reference_tokenizers()["word"].encode(english).ids)
    expect(page.locator('#tok-compare [data-kind="word"] .tok')).to_have_count(n_word, timeout=WAIT)
    expect(page.locator("#tok-lab-merges")).to_contain_text("merged", timeout=WAIT)

    chinese = "狗看见了猫。"
    _inspect(page, chinese)
    expect(spans).to_have_count(len(tokenizer.encode(chinese).ids), timeout=WAIT)
    expect(page.locator('#tok-compare [data-kind="word"] .tok').first).to_contain_text("狗", timeout=WAIT)

    _inspect(page, "The dog saw the cat. She ran to the tree. 狗看见了猫。")
    expect(page.locator('#tok-compare [data-kind="bpe"] .tok').first).to_be_visible(timeout=WAIT)
    expect(page.locator("#tok-lab-spans .tok").first).to_be_visible(timeout=WAIT)
    _shoot(page, "tokens.png")


def test_embeddings_tab_draws_its_plots(page, app_url):
    _open(page, app_url, "Embeddings")
    _inspect(page, "The dog saw the cat. She ran to the tree. 狗看见了猫。")
    for name in ("token", "pos", "sum", "pca", "sim"):
        expect(page.locator(f"#emb-{name} .js-plotly-plot")).to_be_visible(timeout=WAIT)
    expect(page.locator("#emb-nn")).to_contain_text("cosine similarity", timeout=WAIT)
    expect(page.locator("#emb-summary")).to_contain_text("tokens", timeout=WAIT)

    # Picking another token in the dropdown refreshes the neighbour table.
    rows = page.locator("#emb-nn tbody")
    before = rows.inner_text()
    page.locator("#emb-nn-token input").click()
    page.get_by_role("option").nth(3).click()
    expect(rows).not_to_have_text(before, timeout=WAIT)
    page.wait_for_timeout(500)  # let plotly finish laying out before the screenshot
    _shoot(page, "embeddings.png")
