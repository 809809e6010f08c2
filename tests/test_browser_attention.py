"""The Attention tab in a real browser (Debian chromium via Playwright).

PLAYGROUND_SCREENSHOTS=1 also saves assets/screenshots/attention.png (1300 px wide, full page)."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground.ui.state import get_bundle, model_choices

SHOTS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
PLOTS = ("#att-grid", "#att-big", "#att-head-view", "#att-steps")
pytestmark = pytest.mark.browser
WAIT = {"timeout": 30_000}  # ms: every tab refreshes on Inspect, and CI's CPU is shared


@pytest.fixture
def browser_context_args(browser_context_args):
    """English page and messages, whatever the machine's locale (the Chinese test sets its own)."""
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1300, "height": 900}}


def _inspect(page, text: str) -> None:
    page.locator("#text-input textarea").fill(text)
    page.locator("#inspect-button").click()


def _plots_render(page) -> None:
    for plot in PLOTS:
        expect(page.locator(f"{plot} .js-plotly-plot")).to_be_visible(**WAIT)


def test_attention_tab_draws_every_view_for_english_and_chinese(page, app_url):
    tokenizer = get_bundle(model_choices()[0]).tokenizer
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()

    for text in ("The dog saw the cat.", "狗看见了猫。"):
        _inspect(page, text)
        n = len(tokenizer.encode(text).ids)
        expect(page.locator("#att-tokens .tok")).to_have_count(n, **WAIT)
        expect(page.locator("#att-summary")).to_contain_text(f"{n} tokens", **WAIT)
        _plots_render(page)
        expect(page.locator("#att-steps-line")).to_contain_text(f"query {n - 1}", **WAIT)


def test_choosing_a_head_updates_the_enlarged_view_and_the_steps(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    text = "The dog saw the cat. She ran to it."  # not the page's example; short: numbers are printed
    _inspect(page, text)
    n = len(get_bundle(model_choices()[0]).tokenizer.encode(text).ids)
    expect(page.locator("#att-steps-line")).to_contain_text(f"query {n - 1} ", **WAIT)
    _plots_render(page)
    big_title = page.locator("#att-big .gtitle")
    expect(big_title).to_contain_text("head 0", **WAIT)

    page.locator("#att-head").get_by_label("1", exact=True).check()
    expect(big_title).to_contain_text("head 1", **WAIT)
    expect(page.locator("#att-steps-line")).to_contain_text("head 1", **WAIT)

    page.locator("#att-average").get_by_role("checkbox").check()
    expect(big_title).to_contain_text("mean of", **WAIT)
    expect(page.locator("#att-grid .gtitle")).to_contain_text("averaged", **WAIT)
    page.locator("#att-average").get_by_role("checkbox").uncheck()
    expect(big_title).to_contain_text("head 1", **WAIT)

    if os.environ.get("PLAYGROUND_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "attention.png"), full_page=True)


def test_a_chinese_browser_gets_chinese_labels_and_messages(browser, app_url):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1300, "height": 900})
    try:
        page = context.new_page()
        page.goto(app_url)
        page.get_by_role("tab", name="注意力").click()
        _inspect(page, "狗看见了猫。")
        expect(page.locator("#att-summary")).to_contain_text("个词元", **WAIT)
        expect(page.locator("#att-steps-line")).to_contain_text("最关注", **WAIT)
        expect(page.get_by_text("我在看什么？").first).to_be_visible(**WAIT)
        _plots_render(page)
    finally:
        context.close()


SEGMENTS_JS = """() => {
    const gd = document.querySelector('#att-head-view .js-plotly-plot');
    const starts = [];
    for (const t of gd._fullData) {
        if (t.mode !== 'lines') continue;
        for (let s = 0; s < t.y.length; s += 3) starts.push(t.y[s]);
    }
    return starts;
}"""


def test_hovering_a_token_in_the_head_view_keeps_only_its_lines(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    _inspect(page, "The dog saw the cat. The cat ran.")
    _plots_render(page)
    page.wait_for_timeout(1200)  # the hover script attaches within 0.5 s of a new figure
    before = page.evaluate(SEGMENTS_JS)
    assert len(set(before)) > 1  # lines from many query tokens
    query = 3
    marker = page.locator("#att-head-view .scatterlayer .trace").last.locator(".point").nth(query)
    plot = page.locator("#att-head-view .js-plotly-plot")
    for _ in range(5):  # a figure redrawn by a late refresh needs the script to attach again
        page.mouse.move(5, 5)
        marker.hover(force=True)
        if plot.get_attribute("data-focus") == str(query):
            break
        page.wait_for_timeout(800)
    expect(plot).to_have_attribute("data-focus", str(query), **WAIT)
    after = page.evaluate(SEGMENTS_JS)
    assert after and set(after) == {query} and len(after) < len(before)
    page.mouse.move(5, 5)  # leaving the token restores every line
    expect(plot).not_to_have_attribute("data-focus", str(query), **WAIT)
    assert sorted(page.evaluate(SEGMENTS_JS)) == sorted(before)


def test_the_induction_model_shows_its_induction_stripe_in_layer_1(page, app_url):
    """Pick the shipped `induction` model, type a random string twice: layer 1's enlarged head
    is drawn for it (and, with PLAYGROUND_SCREENSHOTS=1, saved as the README's induction picture)."""
    text = "xkcdqwertyjvxkcdqwertyjv"
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    expect(page.locator("#att-grid .js-plotly-plot")).to_be_visible(**WAIT)
    picker = page.locator("#model-picker input")
    picker.fill("induction")
    picker.press("Enter")
    page.locator("#text-input textarea").fill(text)
    page.locator("#inspect-button").click()
    expect(page.locator("#att-summary")).to_contain_text(f"{len(text)} tokens", **WAIT)  # one token per letter
    expect(page.locator("#att-layer input[type=radio]")).to_have_count(2, **WAIT)
    page.locator("#att-layer").get_by_label("1", exact=True).check()
    expect(page.locator("#att-big .gtitle")).to_contain_text("Layer 1", **WAIT)
    _plots_render(page)
    if os.environ.get("PLAYGROUND_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / "induction.png"), full_page=True)
