"""The Translate tab in a real browser (Debian chromium via Playwright).

PLAYGROUND_SCREENSHOTS=1 also saves assets/screenshots/translate.png."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground import seq2seq

SHOTS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
PLOTS = ("#tr-enc-plot", "#tr-dec-plot", "#tr-cross-plot")
WAIT = {"timeout": 60_000}  # ms: CI's CPU is shared
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (seq2seq.CHECKPOINT_DIR / seq2seq.BUILTIN_NAME / "config.json").is_file(),
        reason="translate-en-zh is not built",
    ),
]


@pytest.fixture
def browser_context_args(browser_context_args):
    """English page and messages, whatever the machine's locale (the Chinese test sets its own)."""
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1300, "height": 900}}


def _translate(page, sentence: str) -> None:
    page.locator("#tr-input textarea").fill(sentence)
    page.locator("#tr-run").click()


def _plots_render(page) -> None:
    for plot in PLOTS:
        expect(page.locator(f"{plot} .js-plotly-plot")).to_be_visible(**WAIT)


def test_translate_shows_the_chinese_and_three_attention_heatmaps(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Translate").click()
    output = page.locator("#tr-output textarea")
    expect(output).to_have_value("猫跟着狗。", **WAIT)  # the first example, translated on load
    _translate(page, "Max gives Mia a red kite.")
    expect(output).to_have_value("小黑给小花一只红色的风筝。", **WAIT)
    _plots_render(page)
    cross_title = page.locator("#tr-cross-plot .gtitle")
    expect(cross_title).to_contain_text("Cross-attention · layer 1 · mean of 4 heads", **WAIT)
    expect(page.locator("#tr-summary")).to_contain_text("7 English tokens → 13 Chinese characters", **WAIT)
    # The cross-attention axes: Chinese being written (rows) x English tokens (columns).
    expect(page.locator("#tr-cross-plot .xtick", has_text="kite")).to_have_count(1, **WAIT)
    expect(page.locator("#tr-cross-plot .ytick", has_text="筝")).to_have_count(1, **WAIT)

    page.locator("#tr-head").get_by_label("2", exact=True).check()
    expect(cross_title).to_contain_text("head 2", **WAIT)
    page.locator("#tr-layer").get_by_label("0", exact=True).check()
    expect(page.locator("#tr-enc-plot .gtitle")).to_contain_text("layer 0 · head 2", **WAIT)
    expect(page.locator("#tr-dec-plot .gtitle")).to_contain_text("layer 0 · head 2", **WAIT)

    page.locator("#tr-examples").get_by_text("Three bears are in the garden.").click()
    expect(page.locator("#tr-input textarea")).to_have_value("Three bears are in the garden.", **WAIT)
    expect(output).to_have_value("花园里有三只熊。", **WAIT)
    _plots_render(page)
    if os.environ.get("PLAYGROUND_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#tab-translate").screenshot(path=str(SHOTS / "translate.png"))


def test_an_unknown_word_gets_one_short_message_naming_it(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Translate").click()
    expect(page.locator("#tr-output textarea")).to_have_value("猫跟着狗。", **WAIT)
    expect(page.locator("#shared-bar")).to_be_hidden()  # the page's shared text is not this tab's input
    _translate(page, "The dragon sees the cat.")
    message = page.locator(".toast-message-text")
    expect(message).to_have_count(1, **WAIT)  # one pop-up for one click
    expect(message).to_contain_text("“dragon” is not a word this model knows")
    assert len(message.inner_text()) < 250  # short: the word list stays in its accordion
    expect(page.locator("#tr-output textarea")).to_have_value("猫跟着狗。")  # the last result stays...
    expect(page.locator("body")).to_have_class(re.compile("pg-stale-translate"))  # ...marked as stale


def test_a_chinese_browser_gets_chinese_labels(browser, app_url):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 900})
    try:
        page = context.new_page()
        page.goto(app_url)
        page.get_by_role("tab", name="翻译").click()
        _translate(page, "The owl cannot see the fox.")
        expect(page.locator("#tr-output textarea")).to_have_value("猫头鹰看不见狐狸。", **WAIT)
        _plots_render(page)
        expect(page.locator("#tr-cross-plot .gtitle")).to_contain_text("交叉注意力", **WAIT)
        expect(page.locator("#tr-what")).to_contain_text("我在看什么？", **WAIT)
    finally:
        context.close()
