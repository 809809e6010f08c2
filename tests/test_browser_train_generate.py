"""The Train and Generate tabs in a real browser (Debian chromium via Playwright).

PLAYGROUND_SCREENSHOTS=1 also saves assets/screenshots/train.png, replay.png and generate.png."""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground import api
from playground.config import ModelConfig
from playground.model import parameter_count

SHOTS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
pytestmark = pytest.mark.browser
WAIT = {"timeout": 60_000}  # ms: CI's CPU is shared
SCREENSHOTS = os.environ.get("PLAYGROUND_SCREENSHOTS") == "1"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1300, "height": 900}}


def _set_number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input").first
    box.fill(str(value))
    box.press("Tab")


def _set_slider(page, elem_id: str, value) -> None:
    _set_number(page, elem_id, value)  # gr.Slider has a number box beside the range input


def test_train_shows_a_live_loss_curve_and_stops_on_request(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-status")).to_contain_text("Limits", **WAIT)
    page.locator("#train-preset-tiny").click()
    expect(page.locator("#train-steps input")).to_have_value("500", **WAIT)
    _set_slider(page, "train-layers", 3)
    n = parameter_count(ModelConfig(n_layers=3, n_heads=2, d_model=64, n_ctx=64, d_vocab=512))
    expect(page.locator("#train-params")).to_contain_text(f"{n:,} parameters", **WAIT)  # counted live
    if SCREENSHOTS:  # a run that finishes, for a readable picture
        _set_number(page, "train-steps", 300)
    else:
        _set_number(page, "train-steps", 3000)
    page.locator("#train-start").click()

    status = page.locator("#train-status")
    expect(page.locator("#train-loss .js-plotly-plot")).to_be_visible(**WAIT)
    expect(status).to_contain_text(re.compile(r"Step \d+ / "), **WAIT)
    first = status.inner_text()
    expect(status).not_to_have_text(first, **WAIT)  # it keeps updating while training
    if SCREENSHOTS:
        expect(status).to_contain_text("Finished", timeout=240_000)
    else:
        page.locator("#train-stop").click()
        expect(status).to_contain_text("Stopped at step", **WAIT)
    expect(page.locator("#train-my-model")).to_contain_text("My model", **WAIT)
    expect(page.locator("#train-after .js-plotly-plot")).to_be_visible(**WAIT)
    expect(page.locator("#model-picker input")).to_have_value("My model", **WAIT)
    if SCREENSHOTS:
        page.locator("#train-snap-slider input[type=range]").fill("3")
        page.wait_for_timeout(1500)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "train.png"), full_page=True)


def test_replay_shows_the_recorded_induction_head_forming(page, app_url):
    """Replay the shipped `induction` model's recorded training: the status names the step its
    induction score passed 0.3, and scrubbing to that snapshot draws it (no training runs)."""
    page.goto(app_url)
    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-replay-model input")).to_have_value("induction", **WAIT)
    page.locator("#train-replay").click()
    status = page.locator("#train-status")
    expect(status).to_contain_text("first passed 0.3 at step", **WAIT)
    step = int(re.search(r"first passed 0\.3 at step ([\d,]+)", status.inner_text()).group(1).replace(",", ""))
    expect(page.locator("#train-loss .js-plotly-plot")).to_be_visible(**WAIT)
    steps = api.load_history("induction").steps  # the steps the recording photographed
    expect(page.locator("#train-after .gtitle")).to_contain_text(f"After (step {steps[-1]})", **WAIT)
    index = steps.index(step)
    page.locator("#train-snap-slider input[type=range]").fill(str(index))
    expect(page.locator("#train-snap .gtitle")).to_contain_text(f"Step {step}:", **WAIT)
    expect(page.locator("#model-picker input")).not_to_have_value("My model")  # nothing was trained
    if SCREENSHOTS:
        page.wait_for_timeout(1500)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "replay.png"), full_page=True)


def test_generate_twice_with_one_seed_gives_the_same_text(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Generate").click()
    prompt = "qwertyuiopqwertyuiopqw"  # the induction task's format: a copy is predictable
    page.locator("#gen-prompt textarea").fill(prompt)
    _set_slider(page, "gen-max-new", 24)
    texts = []
    for seed in (11, 12, 11):  # a different seed between the two runs, so each run is awaited afresh
        _set_number(page, "gen-seed", seed)
        page.locator("#gen-button").click()
        expect(page.locator("#gen-summary")).to_contain_text("24 new tokens · ", **WAIT)
        expect(page.locator("#gen-summary")).to_contain_text(f"seed {seed}", **WAIT)
        expect(page.locator("#gen-output .gen-tok[data-index]")).to_have_count(24, **WAIT)
        texts.append(page.locator("#gen-plain textarea").input_value())
    assert texts[0] == texts[2] and texts[0].startswith(prompt)
    expect(page.locator("#gen-bars .js-plotly-plot")).to_be_visible(**WAIT)
    expect(page.locator("#gen-attention .js-plotly-plot")).to_be_visible(**WAIT)
    if SCREENSHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "generate.png"), full_page=True)
