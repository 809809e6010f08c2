"""The Model tab and the Attention tab's ablation panel in a real browser (Debian chromium).

PLAYGROUND_SCREENSHOTS=1 also saves assets/screenshots/model.png (the Model tab on `stories`)
and ablation.png (`induction` with its previous-token head switched off)."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground.ui.state import get_bundle, model_choices

SHOTS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
pytestmark = pytest.mark.browser
WAIT = {"timeout": 30_000}
MODEL_PLOTS = ("#mdl-pipeline", "#mdl-probs", "#mdl-added", "#mdl-lens", "#mdl-final", "#mdl-dla", "#mdl-qkv",
               "#mdl-pair-att-en", "#mdl-pair-att-zh", "#mdl-pair-next-en", "#mdl-pair-next-zh")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1300, "height": 900}}


def _inspect(page, text: str) -> None:
    page.locator("#text-input textarea").fill(text)
    page.locator("#inspect-button").click()


def test_model_tab_draws_the_whole_path_and_follows_position_temperature_and_head(page, app_url):
    text = "The dog saw the cat. She ran to it."
    n = len(get_bundle(model_choices()[0]).tokenizer.encode(text).ids)
    page.goto(app_url)
    page.get_by_role("tab", name="Model").click()
    expect(page.locator("#mdl-pipeline .js-plotly-plot")).to_be_visible(**WAIT)  # the page's example drawn first
    _inspect(page, text)
    expect(page.locator("#mdl-summary")).to_contain_text(f"{n} tokens", **WAIT)
    for plot in MODEL_PLOTS:
        expect(page.locator(f"{plot} .js-plotly-plot")).to_be_visible(**WAIT)
    expect(page.locator("#mdl-pipeline .gtitle")).to_contain_text(f"Position {n - 1}", **WAIT)
    expect(page.locator("#mdl-dla-line")).to_contain_text("parts add up to", **WAIT)
    expect(page.locator("#mdl-pair-en")).to_contain_text("bytes per token", **WAIT)
    expect(page.locator("#mdl-pair-zh")).to_contain_text("中文", **WAIT)

    # another position: the pipeline, attribution and q/k/v follow
    page.locator("#mdl-position input").click()
    page.get_by_role("option", name=re.compile(r"^2 · ")).click()
    expect(page.locator("#mdl-pipeline .gtitle")).to_contain_text("Position 2", **WAIT)
    expect(page.locator("#mdl-qkv-line")).to_contain_text("query token 2", **WAIT)

    # the temperature only redraws the bars
    box = page.locator("#mdl-temperature input[type=number]")
    box.fill("0.5")
    box.press("Enter")
    expect(page.locator("#mdl-probs .gtitle")).to_contain_text("temperature 0.5", **WAIT)

    # another head for the q/k/v panel
    page.locator("#mdl-head").get_by_label("1", exact=True).check()
    expect(page.locator("#mdl-qkv .gtitle")).to_contain_text("head 1", **WAIT)
    if os.environ.get("PLAYGROUND_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(SHOTS / "model.png"), full_page=True)

    # the q/k/v panel's link opens the Attention tab's step by step on the same head and token
    href = page.locator("#mdl-qkv-line a").get_attribute("href")
    assert href and "tab=attention" in href and "head=1" in href and "query=2" in href
    page.goto(app_url.rstrip("/") + "/" + href.lstrip("/"))
    expect(page.locator("#att-steps-line")).to_contain_text("head 1", **WAIT)
    expect(page.locator("#att-steps-line")).to_contain_text("query 2", **WAIT)


def test_switching_off_the_previous_token_head_breaks_the_induction_stripe(page, app_url):
    """On `induction`: thumbnails are labelled with roles; switching off L0H0 leaves layer 1's
    heads without their induction role and raises the loss on the repeated half."""
    text = "xkcdqwertyjvxkcdqwertyjv"
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    expect(page.locator("#att-grid .js-plotly-plot")).to_be_visible(**WAIT)
    picker = page.locator("#model-picker input")
    picker.fill("induction")
    picker.press("Enter")
    _inspect(page, text)
    expect(page.locator("#att-summary")).to_contain_text(f"{len(text)} tokens", **WAIT)
    grid = page.locator("#att-grid")
    expect(grid).to_contain_text("previous", **WAIT)
    expect(grid).to_contain_text("induction", **WAIT)
    expect(page.locator("#abl-heads input[type=checkbox]")).to_have_count(4, **WAIT)

    page.locator("#abl-heads").get_by_label("L0H0", exact=True).check()
    page.locator("#abl-run").click()
    result = page.locator("#abl-result")
    expect(result).to_contain_text("Where the text repeats a span", **WAIT)
    numbers = re.findall(r"(\d+\.\d+) → (\d+\.\d+)", result.inner_text())
    (whole_before, whole_after), (rep_before, rep_after) = [(float(a), float(b)) for a, b in numbers]
    assert rep_after > rep_before + 1.0 and whole_after > whole_before
    after_grid = page.locator("#abl-grid")
    expect(after_grid.locator(".gtitle")).to_contain_text("L0H0", **WAIT)
    expect(after_grid).not_to_contain_text("induction", **WAIT)  # layer 1 lost its induction role
    expect(page.locator("#abl-bars .js-plotly-plot")).to_be_visible(**WAIT)
    if os.environ.get("PLAYGROUND_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(1000)
        page.locator("#abl-panel").screenshot(path=str(SHOTS / "ablation.png"))
