"""Worked example and Article lab in Debian chromium (pytest-playwright `page` + `app_url`).

PLAYGROUND_SCREENSHOTS=1 also saves assets/screenshots/worked.png and article.png."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
LAB_TIMEOUT = 300_000  # ms: ten epochs of the full-size model on a busy 2-core machine


def screenshot(page, tab_id: str, name: str) -> None:
    if os.environ.get("PLAYGROUND_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(f"#tab-{tab_id}").screenshot(path=str(SHOTS / name))


@pytest.fixture
def wide(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    return page


def test_worked_example_shows_tables_heatmaps_and_comparison_then_follows_an_edit(wide, app_url):
    page = wide
    page.goto(app_url)
    page.get_by_role("tab", name="Worked example").click()
    for plot in ("wk-lookup-plot", "wk-enc-plot", "wk-dec-plot"):
        expect(page.locator(f"#{plot} .js-plotly-plot")).to_be_visible(timeout=60_000)
    expect(page.locator("#wk-enc-table")).to_contain_text("0.333")
    expect(page.locator("#wk-dec-table")).to_contain_text("−∞")
    compare = page.locator("#wk-compare")
    expect(compare).to_contain_text("[0.578, 0.212, 0.210]")
    expect(compare).to_contain_text("[0.333, 0.333, 0.333]")
    screenshot(page, "worked", "worked.png")

    # Change dog's value: the comparison stays and its output line updates.
    page.locator("#wk-v [data-testid=cell-0-1]").dblclick()
    page.keyboard.press("Control+a")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    expect(compare).to_contain_text("[1, 0.333, 0.333]")
    # Change dog's query: the article's line no longer applies, the panel hides with a note.
    page.locator("#wk-q [data-testid=cell-0-1]").dblclick()
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(compare).to_be_hidden()
    expect(page.locator("#wk-compare-off")).to_be_visible()
    expect(page.locator("#wk-enc-table")).to_contain_text("[2, 1, 1]")
    page.locator("#wk-reset").click()
    expect(compare).to_contain_text("[0.578, 0.212, 0.210]")


def test_article_lab_runs_and_draws_the_loss_curve(wide, app_url):
    page = wide
    page.goto(app_url)
    page.get_by_role("tab", name="Article lab").click()
    page.locator("#lab-preset-fixed").click()
    expect(page.locator("#lab-fix-batch-first input")).to_be_checked()
    page.locator("#lab-run").click()
    expect(page.locator("#lab-plot .js-plotly-plot")).to_be_visible(timeout=LAB_TIMEOUT)
    findings = page.locator("#lab-findings")
    expect(findings).to_contain_text("Setup:", timeout=LAB_TIMEOUT)
    expect(findings).to_contain_text("4.4453")
    expect(page.locator("#lab-plot")).to_contain_text("article (printed)")
    screenshot(page, "article", "article.png")
