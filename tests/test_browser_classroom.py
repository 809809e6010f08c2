"""Classroom readiness (issue 16) in a real browser: the step-by-step view measured at projector
width, one pop-up per mistake that stays clear of the buttons and goes away, stale results marked,
and bursts of clicks that do not pile up."""

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
WAIT = {"timeout": 30_000}
PROJECTOR = {"width": 1280, "height": 720}
SHOTS = Path(__file__).resolve().parents[1] / "assets" / "screenshots"
SCREENSHOTS = os.environ.get("PLAYGROUND_SCREENSHOTS") == "1"
NUMBER = re.compile(r"^(-?\d+\.\d\d|−∞)$")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": PROJECTOR}


def _overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] - 1 and b["left"] < a["right"] - 1 and a["top"] < b["bottom"] - 1 and \
        b["top"] < a["bottom"] - 1


STEPS_GEOMETRY_JS = """() => {
  const root = document.querySelector('#att-steps');
  const box = (el) => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; };
  const headings = [...root.querySelectorAll('g.annotation')].map(g => ({text: g.textContent, ...box(g)}));
  const numbers = [...root.querySelectorAll('.heatmap-label text')].map(t => {
    const trace = t.closest('.hm'); const image = trace && trace.querySelector('image');
    return {text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize), ...box(t),
            cell: image ? box(image) : null};
  });
  return {headings, numbers, width: root.getBoundingClientRect().width};
}"""


def test_step_by_step_is_legible_at_projector_width(page, app_url):
    """Measured from plotly's rendered SVG at 1280 px: no two headings overlap, every number is
    printed whole (two decimals or −∞), at least 12 px, and inside its own column."""
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    page.locator("#text-input textarea").fill("The dog saw the cat. She ran to the tree.")
    page.locator("#inspect-button").click()
    expect(page.locator("#att-steps .heatmap-label text").first).to_be_visible(**WAIT)
    time.sleep(0.5)  # let plotly finish laying out
    geo = page.evaluate(STEPS_GEOMETRY_JS)
    headings = geo["headings"]
    names = " ".join(h["text"] for h in headings)
    for word in ("q · k", "÷ √", "mask", "softmax", "K (keys)", "V (values)"):
        assert word in names, names
    for i, a in enumerate(headings):
        for b in headings[i + 1:]:
            assert not _overlap(a, b), f"headings overlap: {a['text']!r} and {b['text']!r}"
    numbers = geo["numbers"]
    assert len(numbers) >= 4 * 10  # four per-key columns of a ten-odd-token text
    for n in numbers:
        assert NUMBER.match(n["text"]), f"number cut or garbled: {n['text']!r}"
        assert n["size"] >= 12, n
        cell = n["cell"]
        assert cell is not None
        assert cell["left"] - 1 <= n["left"] and n["right"] <= cell["right"] + 1, f"{n['text']} spills out"
        assert n["width"] <= 0.8 * cell["width"], f"{n['text']} fills its column: unreadable"
    # the columns are wide: at least 70 px each at this width (they were ~20 px)
    widths = {round(n["cell"]["left"]): n["cell"]["width"] for n in numbers}
    assert min(widths.values()) >= 70, widths


def _toasts(page):
    return page.locator(".toast-message-text")


def test_one_mistake_one_pop_up_clear_of_the_buttons_and_stale_results_marked(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    expect(page.locator("#att-tokens .tok").first).to_be_visible(**WAIT)
    page.locator("#text-input textarea").fill("")
    page.locator("#inspect-button").click()
    expect(_toasts(page)).to_have_count(1, **WAIT)
    time.sleep(1.5)  # a second listener would have raised by now
    expect(_toasts(page)).to_have_count(1)
    expect(_toasts(page)).to_contain_text("empty")
    toast = page.locator(".toast-wrap").bounding_box()
    for button in ("#inspect-button", "#model-picker"):
        assert not _overlap(_edges(toast), _edges(page.locator(button).bounding_box())), button
    # the previous results stay, but are marked as belonging to the previous input
    expect(page.locator("body")).to_have_class(re.compile(r"\bpg-stale\b"))
    expect(page.locator("#stale-notice")).to_be_visible()
    assert float(page.locator("#att-big .js-plotly-plot").evaluate(
        "e => getComputedStyle(e).opacity")) < 0.5
    # and the pop-up goes away by itself
    expect(_toasts(page)).to_have_count(0, timeout=20_000)
    # a good input clears the mark
    page.locator("#text-input textarea").fill("The cat sat.")
    page.locator("#inspect-button").click()
    expect(page.locator("#att-summary")).to_contain_text("tokens", **WAIT)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bpg-stale\b"), **WAIT)
    expect(page.locator("#stale-notice")).to_be_hidden()


def _edges(box: dict) -> dict:
    return {"left": box["x"], "right": box["x"] + box["width"], "top": box["y"], "bottom": box["y"] + box["height"]}


def test_a_burst_of_clicks_runs_at_most_twice_and_ends_on_the_last_text(page, app_url):
    page.goto(app_url)
    page.get_by_role("tab", name="Attention").click()
    expect(page.locator("#att-tokens .tok").first).to_be_visible(**WAIT)
    time.sleep(1)
    inspect_fn = page.evaluate(
        "() => window.gradio_config.dependencies.find(d => d.api_name === 'inspect').id")
    joins = []  # the fn_index of every event the page submits
    page.on("request", lambda r: "queue/join" in r.url and joins.append(r.post_data_json.get("fn_index")))
    page.locator("#text-input textarea").fill("The last one.")
    # six clicks within a millisecond: a class of impatient students
    page.evaluate("() => { const b = document.querySelector('#inspect-button');"
                  " for (let i = 0; i < 6; i++) b.click(); }")
    expect(page.locator("#att-tokens")).to_contain_text("last", **WAIT)
    time.sleep(2)
    # the Attention tab's model run: while one runs, further clicks keep only the last pending
    runs = joins.count(inspect_fn)
    assert 1 <= runs <= 3, joins


# Does a tab's token view (joined span labels, ids left out) hold `word`?
HOLDS_JS = """([box, word]) => [...document.querySelectorAll(box + ' .tok')]
  .map(t => t.firstChild ? t.firstChild.textContent : '').join('').replace(/[^A-Za-z]/g, ' ')
  .split(/ +/).includes(word)"""


def test_only_the_tab_on_screen_recomputes_and_a_hidden_tab_catches_up_when_selected(page, app_url):
    """A burst of Inspect clicks on Attention ends on the last text there, without computing the
    hidden Tokens, Embeddings or Model tabs; selecting Tokens then shows the last text too, and
    until it does its old result is marked as behind, never shown as current."""
    page.goto(app_url)
    expect(page.locator("#att-tokens .tok").first).to_be_visible(**WAIT)
    page.locator("#text-input textarea").fill("The dog ran home.")
    page.locator("#inspect-button").click()
    page.wait_for_function(HOLDS_JS, arg=["#att-tokens", "dog"], **WAIT)
    page.get_by_role("tab", name="Tokens").click()
    page.wait_for_function(HOLDS_JS, arg=["#tok-spans", "dog"], **WAIT)
    expect(page.locator("#behind-tokens")).to_be_hidden()
    page.get_by_role("tab", name="Attention").click()
    ids = page.evaluate("() => Object.fromEntries(window.gradio_config.dependencies"
                        ".filter(d => d.api_name).map(d => [d.api_name, d.id]))")
    joins = []  # the fn_index of every event the page submits
    page.on("request", lambda r: "queue/join" in r.url and joins.append(r.post_data_json.get("fn_index")))
    for word in ("cat", "ball", "tree", "cake", "bird"):
        page.locator("#text-input textarea").fill(f"The {word} is here.")
        page.locator("#inspect-button").click()
    page.wait_for_function(HOLDS_JS, arg=["#att-tokens", "bird"], **WAIT)
    expect(page.locator("body")).to_have_class(re.compile(r"\bpg-behind-tokens\b"), **WAIT)
    time.sleep(2)  # room for any hidden-tab work to have been sent
    assert page.evaluate(HOLDS_JS, ["#att-tokens", "bird"])  # still the last text: nothing older came after
    assert ids["inspect"] in joins
    for hidden in ("tokenize", "embeddings", "model_view", "train_bpe"):
        assert ids[hidden] not in joins, (hidden, joins)
    style = page.evaluate("""() => ({notice: getComputedStyle(document.querySelector('#behind-tokens')).display,
      here: getComputedStyle(document.querySelector('#behind-attention')).display,
      opacity: getComputedStyle(document.querySelector('#tok-spans .html-container')).opacity})""")
    assert style["notice"] == "block" and style["here"] == "none" and float(style["opacity"]) < 0.5, style
    # Tokens still holds the first text, marked as behind while it is on screen
    page.evaluate("""() => { window.pgShownAsCurrent = [];
      const holds = (word) => [...document.querySelectorAll('#tok-spans .tok')]
        .map(t => t.firstChild ? t.firstChild.textContent : '').join('').replace(/[^A-Za-z]/g, ' ')
        .split(/ +/).includes(word);
      window.pgWatch = setInterval(() => {
        const onScreen = document.querySelector('#tab-tokens-button[aria-selected=true]');
        if (onScreen && holds('dog') && !document.body.classList.contains('pg-behind-tokens'))
          window.pgShownAsCurrent.push(Date.now());
      }, 10); }""")
    page.get_by_role("tab", name="Tokens").click()
    page.wait_for_function(HOLDS_JS, arg=["#tok-spans", "bird"], **WAIT)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bpg-behind-tokens\b"), **WAIT)
    expect(page.locator("#behind-tokens")).to_be_hidden()
    assert page.evaluate("() => { clearInterval(window.pgWatch); return window.pgShownAsCurrent.length; }") == 0
    assert ids["tokenize"] in joins  # computed now, on selection
    # Embeddings, never selected, is still behind
    expect(page.locator("body")).to_have_class(re.compile(r"\bpg-behind-embeddings\b"))


def _selected_tab(page) -> str:
    return page.evaluate("() => document.querySelector('[role=tab][aria-selected=true]').dataset.tabId")


def test_a_link_restores_the_page_and_copy_link_gives_it_back(page, app_url):
    query = ("?model=induction&text=xkcdqwertyjvxkcdqwertyjv&tab=attention&layer=1&head=0&query=19"
             "&temperature=0.5&top_k=5")
    page.goto(app_url + query)
    line = page.locator("#att-steps-line")
    expect(line).to_contain_text("Layer 1, head 0, query 19", **WAIT)
    expect(line).to_contain_text("looks most at key 8")  # the induction head, computed now
    assert _selected_tab(page) == "attention"
    assert page.locator("#model-picker input").input_value() == "induction"
    page.locator("#copy-link").click()
    link = page.locator("#link-box input")
    expect(link).to_have_value(re.compile(r"^http://"), **WAIT)
    assert link.input_value() == app_url.rstrip("/") + "/" + query
    page.get_by_role("tab", name="Generate").click()
    expect(page.locator("#gen-temperature input[type=number]")).to_have_value("0.5", **WAIT)
    expect(page.locator("#gen-top-k input[type=number]")).to_have_value("5")
    # what the link box shows opens the same view again
    page.goto(link.input_value())
    expect(page.locator("#att-steps-line")).to_contain_text("Layer 1, head 0, query 19", **WAIT)


def test_a_bad_link_restores_what_it_can_and_says_what_it_ignored(page, app_url):
    page.goto(app_url + "?tab=generate&layer=99999&model=My%20model")
    expect(_toasts(page).first).to_contain_text("Part of the link was not used", **WAIT)
    expect(_toasts(page).first).to_contain_text("My model")
    assert _selected_tab(page) == "generate"


def test_a_lesson_steps_through_the_page_with_next_and_back(page, app_url):
    page.goto(app_url)
    expect(page.locator("#att-tokens .tok").first).to_be_visible(**WAIT)
    page.locator("#lesson-panel").get_by_text("Lessons").click()
    page.locator("#lesson-start").click()
    step = page.locator("#lesson-step")
    expect(step).to_contain_text("step 1 of 10", **WAIT)
    expect(step).to_contain_text("Text becomes tokens")
    expect(page.locator("#tok-spans .tok").first).to_be_visible(**WAIT)
    assert _selected_tab(page) == "tokens"
    expect(page.locator("#lesson-back")).to_be_disabled()
    page.locator("#lesson-next").click()
    expect(step).to_contain_text("step 2 of 10", **WAIT)
    assert _selected_tab(page) == "embeddings"
    page.locator("#lesson-back").click()
    expect(step).to_contain_text("step 1 of 10", **WAIT)
    # a lesson link opens at its step, on the step's model, text and selection
    page.goto(app_url + "?lesson=tokens-to-induction&step=8")
    expect(page.locator("#lesson-step")).to_contain_text("The induction head", **WAIT)
    expect(page.locator("#att-steps-line")).to_contain_text("Layer 1, head 0, query 19", **WAIT)
    expect(page.locator("#lesson-next")).to_be_enabled()


def test_projector_mode_is_readable_at_1280_by_720(page, app_url):
    page.goto(app_url + "?projector=1&tab=attention&model=induction&text=xkcdqwertyjvxkcdqwertyjv&layer=1&head=0"
              "&query=19")
    expect(page.locator("body")).to_have_class(re.compile(r"\bprojector\b"), **WAIT)
    expect(page.locator("#att-steps .heatmap-label text").first).to_be_visible(**WAIT)
    time.sleep(0.5)
    tab_font = page.locator("#tab-attention-button").evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize) * e.getBoundingClientRect().height / e.offsetHeight")
    assert tab_font >= 16  # rendered size, zoom included
    geo = page.evaluate(STEPS_GEOMETRY_JS)
    for i, a in enumerate(geo["headings"]):
        for b in geo["headings"][i + 1:]:
            assert not _overlap(a, b), (a["text"], b["text"])
    zoom = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.gradio-container')).zoom)")
    assert zoom >= 1.2
    for n in geo["numbers"]:
        assert NUMBER.match(n["text"]), n["text"]
        assert n["size"] * zoom >= 15, n  # on screen
        assert n["cell"]["left"] - 1 <= n["left"] and n["right"] <= n["cell"]["right"] + 1
    if SCREENSHOTS:
        page.evaluate("() => document.querySelector('#att-steps-line').scrollIntoView()")
        time.sleep(0.5)
        page.screenshot(path=str(SHOTS / "projector.png"))


def test_clicking_a_generated_token_picks_it(page, app_url):
    page.goto(app_url + "?tab=generate&top_k=3&max_new=12&seed=1")
    expect(page.locator("#gen-top-k input[type=number]")).to_have_value("3", **WAIT)
    page.locator("#gen-button").click()
    tokens = page.locator("#gen-output .gen-tok[data-index]")
    expect(tokens).to_have_count(12, **WAIT)
    expect(page.locator("#gen-bars .gtitle")).to_contain_text("Token #11", **WAIT)
    tokens.nth(3).click()
    expect(page.locator("#gen-bars .gtitle")).to_contain_text("Token #3", **WAIT)
    expect(page.locator("#gen-step input[type=number]")).to_have_value("3")
    expect(page.locator("#gen-output .gen-tok.picked")).to_have_count(1)
    assert 1 <= page.locator("#gen-bars .bars .point").count() <= 3  # top-k 3: no 0.0% padding


ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def test_a_chinese_browser_sees_no_english_in_the_listed_places(browser, app_url):
    """Issue 16.8 under zh-CN: the error title and badges, colour-bar titles, token hover texts,
    plotly's toolbar tips and Gradio's hard-coded button labels (Train-tab items: see README)."""
    context = browser.new_context(locale="zh-CN", viewport=PROJECTOR)
    try:
        page = context.new_page()
        page.goto(app_url)
        page.get_by_role("tab", name="注意力").click()
        expect(page.locator("#att-tokens .tok").first).to_be_visible(**WAIT)
        expect(page.locator("#att-big .cbtitle").first).to_be_visible(**WAIT)
        time.sleep(1.5)  # the tips pass runs every 0.5 s
        titles = page.locator("#att-tokens .tok").evaluate_all("els => els.map(e => e.title)")
        assert titles and all("字节" in t and "bytes" not in t for t in titles)
        colourbars = page.locator(".cbtitle").evaluate_all("els => els.map(e => e.textContent)")
        assert colourbars and not [c for c in colourbars if ENGLISH_WORD.search(c)], colourbars
        tips = page.evaluate("""() => [...document.querySelectorAll('.modebar-btn, [aria-label], [title]')]
            .map(e => e.getAttribute('data-title') || e.getAttribute('aria-label') || e.getAttribute('title') || '')""")
        english = [t for t in tips if ENGLISH_WORD.search(t) and "PNG" not in t and "Gradio" not in t
                   and "Transformer" not in t and not t.startswith("#")]
        assert not english, english
        assert any("下载为 PNG" in t for t in tips)
        page.locator("#text-input textarea").fill("")
        page.locator("#inspect-button").click()
        expect(page.locator(".toast-title")).to_have_text(re.compile("错误"), **WAIT)
        expect(page.locator(".toast-message-text")).to_have_count(1)
        assert not ENGLISH_WORD.search(page.locator(".toast-message-text").inner_text())
        # a failing tab event: its outputs' badges
        page.get_by_role("tab", name="翻译").click()
        page.locator("#tr-input textarea").fill("The dragon sees the cat.")
        page.locator("#tr-run").click()
        expect(page.locator(".toast-title").last).to_have_text(re.compile("错误"), **WAIT)
        trackers = page.locator("#tab-translate [data-testid=status-tracker]")
        expect(trackers.filter(has_text="错误").first).to_be_visible(**WAIT)  # the failed event's badges
        badges = page.locator("#tab-translate [data-testid=status-tracker]").evaluate_all(
            "els => els.map(e => e.innerText.trim()).filter(Boolean)")
        assert not [b for b in badges if ENGLISH_WORD.search(b)], badges
        # Generate: a token's hover names the model's probability in Chinese
        page.get_by_role("tab", name="生成").click()
        page.locator("#gen-max-new input[type=number]").fill("3")
        page.locator("#gen-button").click()
        expect(page.locator("#gen-output .gen-tok[data-index]")).to_have_count(3, **WAIT)
        hover = page.locator("#gen-output .gen-tok[data-index]").first.get_attribute("title")
        assert "模型概率" in hover and "model" not in hover
    finally:
        context.close()


def test_the_train_tabs_file_boxes_show_their_whole_prompt_and_stay_compact(page, app_url):
    page.goto(app_url + "?tab=train")
    expect(page.locator("#train-file")).to_be_visible(**WAIT)
    for box in ("#train-file", "#train-upload"):
        page.locator(box).scroll_into_view_if_needed()
        fit = page.locator(f"{box} .upload-container .wrap").evaluate(
            "w => [w.scrollHeight, w.clientHeight, w.innerText]")
        assert fit[0] <= fit[1] + 1, (box, fit)  # nothing cut off
        assert "Click to Upload" in fit[2]
    assert page.locator("#train-download").bounding_box()["height"] <= 120  # an empty box is not tall


def test_typing_a_bpe_vocabulary_size_and_pressing_enter_retrains(page, app_url):
    page.goto(app_url + "?tab=tokens")
    summary = page.locator("#tok-lab-summary")
    expect(summary).to_contain_text("tokens", **WAIT)
    box = page.locator("#tok-lab-vocab input[type=number]")
    box.fill("300")
    box.press("Enter")
    expect(summary).to_contain_text("300 tokens", **WAIT)


def test_a_chinese_browser_sees_the_train_tab_and_gradios_progress_in_chinese(browser, app_url):
    """Issue 16.8's Train-tab items under zh-CN: the parameter count (rendered per request on
    load, not at build time), the "my text" corpus choice (a translated label over a stable value),
    and Gradio's status-tracker progress text, which is no i18n key (assets/zh_tips.js)."""
    context = browser.new_context(locale="zh-CN", viewport=PROJECTOR)
    try:
        page = context.new_page()
        page.goto(app_url + "?tab=train")
        params = page.locator("#train-params")
        expect(params).to_contain_text("个参数", **WAIT)
        assert "parameters" not in params.inner_text()
        page.locator("#train-corpus input").click()
        options = page.locator("[role=option]").evaluate_all(
            "els => els.map(e => e.innerText.replace('✓', '').trim())")
        assert "我的文本" in options and "my text" not in options, options[-3:]
        page.locator("[role=option]", has_text="我的文本").click()
        expect(page.locator("#train-corpus input")).to_have_value("我的文本")
        # Gradio's hard-coded labels on the tab (sliders' "range slider for ...", "Reset to default
        # value", the file boxes' "Click to upload or drop files") and plotly's logo link
        time.sleep(1.5)  # the tips pass runs every 0.5 s
        labels = page.locator("#tab-train").evaluate("""root => [...root.querySelectorAll(
            '[aria-label], [title], [placeholder]')].filter(e => e.offsetParent !== null)
            .map(e => ['aria-label', 'title', 'placeholder'].map(a => e.getAttribute(a) || '')).flat()""")
        names = re.compile(r"d_model|Plotly\.js|PNG|Top-[kp]|logit|Gradio")
        english = [x for x in labels if ENGLISH_WORD.search(names.sub("", x))]
        assert not english, english
        assert any(x.startswith("滑块：") for x in labels), labels
        # the value behind the label is still the stable one: an empty text is refused as "my text"'s
        page.locator("#train-start").click()
        expect(page.locator(".toast-message-text").first).to_contain_text("我的文本", **WAIT)
        # Gradio's status tracker writes "queue: 1/2 |" and "processing |" as plain template text
        tracker = page.locator("[data-testid=status-tracker]").first
        tracker.evaluate("el => { const s = document.createElement('span'); s.id = 'pg-probe';"
                         " s.textContent = 'queue: 1/2 |'; el.appendChild(s); }")
        expect(page.locator("#pg-probe")).to_have_text("排队：1/2 |", **WAIT)
        page.locator("#pg-probe").evaluate("el => { el.firstChild.nodeValue = 'processing |'; }")
        expect(page.locator("#pg-probe")).to_have_text("处理中 |", **WAIT)
    finally:
        context.close()
