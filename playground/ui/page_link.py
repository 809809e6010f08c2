"""The classroom bar: links that restore the page, guided lessons, projector mode.

- A link (`playground.page_state`) carries model, text, tab, layer, head, query token and the
  Generate settings; "Copy link" builds it from the page's current values, opening it restores
  them (demo.load reads gr.Request.query_params).
- A lesson (`playground.lessons`, JSON in assets/lessons or uploaded) is a list of steps; each
  step is applied like a link, and its paragraph is shown in the user's language; Next / Back.
- Projector mode: a class on <body> (style.css zooms the page), so every font and plot grows
  together and their layout stays the one the tests measure.

Applying a state never re-runs the tabs twice: when the model changes, the picker's own change
event starts the shared check; otherwise a bump of `shared.refresh` does (shared.py).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from .. import lessons
from ..errors import PlaygroundError
from ..page_state import PRIVATE_MODEL, PageState, from_query, to_query
from .i18n import add, language, t, text
from .shared import note_tab

add(
    en={
        "link_button": "🔗 Copy link to this view",
        "link_box": "Link to this view (model, text, tab, selection, Generate settings)",
        "link_note": "Put the link on a slide: it opens this page on the same model, text, tab and selection. "
        "Built-in and Hub models only: a model trained or uploaded here (*My model*) lives in your browser "
        "session alone, so a link opens the default model instead.",
        "link_private": "“My model” cannot travel in a link (it lives only in this browser session): the link "
        "opens the default model instead.",
        "link_lesson_too_big": "This lesson is too large to travel inside a link; share its .json file instead.",
        "link_ignored": "Part of the link was not used: {problems}",
        "projector": "Projector mode (larger text and plots)",
        "lesson_heading": "📚 Lessons",
        "lesson_pick": "Built-in lesson",
        "lesson_upload": "…or your own lesson (.json, at most 64 KB)",
        "lesson_start": "Start lesson",
        "lesson_back": "◀ Back",
        "lesson_next": "Next ▶",
        "lesson_step": "**{title}** — step {n} of {total}",
        "about_article": "**About the article.** This page accompanies an untitled bilingual (English / 中文) "
        "explainer article on the Transformer: tokens and embeddings, self-attention with Q, K and V, a worked "
        "example on a 5-word embedding table (its section 4), a PyTorch `nn.Transformer` experiment (section 5) "
        "and the original encoder-decoder for translation; the tabs follow its order. Where the article is wrong "
        "or unclear the page says so beside the numbers: its section-5 code does not run as printed and trains "
        "on random ids (Article lab), and its accounts of temperature, the KV cache, ÷√d, UTF-8 byte counts and "
        "BPE are corrected in the tabs' own texts.",
        "lesson_none": "Choose a lesson and press *Start lesson*: each step sets the model, the text, the tab and "
        "the selection, and explains what to look at. Write your own: see *Lessons* in the README.",
    },
    zh={
        "link_button": "🔗 复制指向当前视图的链接",
        "link_box": "当前视图的链接（模型、文本、标签页、选择、生成设置）",
        "link_note": "把链接放到幻灯片上：打开它，页面会显示同样的模型、文本、标签页和选择。"
        "只适用于内置模型和 Hub 模型：在这里训练或上传的模型（*我的模型*）只存在于你的浏览器会话中，"
        "所以链接会改为打开默认模型。",
        "link_private": "“我的模型”（My model）不能放进链接（它只存在于本浏览器会话中）：链接会改为打开默认模型。",
        "link_lesson_too_big": "这个课程太大，放不进链接；请直接分享它的 .json 文件。",
        "link_ignored": "链接中有一部分没有用上：{problems}",
        "projector": "投影模式（更大的文字和图）",
        "lesson_heading": "📚 课程",
        "lesson_pick": "内置课程",
        "lesson_upload": "……或你自己的课程（.json，最多 64 KB）",
        "lesson_start": "开始课程",
        "lesson_back": "◀ 上一步",
        "lesson_next": "下一步 ▶",
        "lesson_step": "**{title}** —— 第 {n} 步，共 {total} 步",
        "about_article": "**关于这篇文章。** 本页配合一篇没有标题的中英双语 Transformer 讲解文章：词元和词向量、"
        "用 Q、K、V 的自注意力、一个 5 个词的词向量表上的手算示例（第 4 节）、一个 PyTorch `nn.Transformer` 实验"
        "（第 5 节），以及用于翻译的原始编码器-解码器；各标签页按它的顺序排列。文章有错或说得不清楚的地方，页面在"
        "数字旁边直接说明：第 5 节的代码照印出来的样子不能运行，而且是在随机 id 上训练的（文章实验室）；关于温度、"
        "KV 缓存、÷√d、UTF-8 字节数和 BPE 的说法，在各标签页自己的说明中作了更正。",
        "lesson_none": "选择一个课程并按*开始课程*：每一步都会设置模型、文本、标签页和选择，并说明该看什么。"
        "想自己写课程：见 README 中的 *Lessons*。",
    },
)

PROJECTOR_JS = "(on) => { document.body.classList.toggle('projector', !!on); }"
# The link's query string comes from the server; the page's own address is only known here.
SHOW_LINK_JS = """(query) => {
  if (!query) return query;
  const url = window.location.origin + window.location.pathname + query;
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
  return url;
}"""
# The selected tab is read from the page (no event tracks it): replaces the first input.
READ_TAB_JS = """(...inputs) => {
  const tab = document.querySelector('[role=tab][aria-selected=true]');
  inputs[0] = tab ? tab.dataset.tabId : null;
  return inputs;
}"""


@dataclass
class Bar:
    projector: gr.Checkbox
    link_button: gr.Button
    link_box: gr.Textbox
    tab_now: gr.Textbox
    panel: gr.Accordion
    lesson_pick: gr.Dropdown
    lesson_upload: gr.UploadButton
    lesson_start: gr.Button
    lesson_md: gr.Markdown
    back: gr.Button
    next: gr.Button
    lesson: gr.State  # {"link": ..., "json": ...} of the running lesson, or None
    step: gr.State  # 0-based index


def build_bar() -> Bar:
    """Layout at the top of the page, one compact row plus a closed accordion (wired by `wire`
    once the tabs exist)."""
    with gr.Row(equal_height=False, elem_id="classroom-bar"):
        projector = gr.Checkbox(False, label=t("projector"), elem_id="projector-toggle", scale=0, min_width=220,
                                container=False)
        link_button = gr.Button(t("link_button"), elem_id="copy-link", size="sm", scale=0, min_width=240)
        link_box = gr.Textbox(label=t("link_box"), show_label=False, placeholder=t("link_box"), elem_id="link-box",
                              interactive=False, lines=1, max_lines=1, scale=4, container=False)
        tab_now = gr.Textbox(visible=False, elem_id="tab-now")  # the selected tab, filled in by READ_TAB_JS
    names = lessons.builtin_lessons()
    with gr.Accordion(t("lesson_heading"), open=False, elem_id="lesson-panel") as panel:
        gr.Markdown(t("about_article"), elem_id="about-article", elem_classes="small-note")
        gr.Markdown(t("link_note"), elem_id="link-note", elem_classes="small-note")
        with gr.Row(equal_height=True):
            lesson_pick = gr.Dropdown(names, value=names[0] if names else None, label=t("lesson_pick"),
                                      elem_id="lesson-pick", scale=2)
            lesson_start = gr.Button(t("lesson_start"), variant="primary", elem_id="lesson-start", scale=0,
                                     min_width=140)
            lesson_upload = gr.UploadButton(t("lesson_upload"), file_types=[".json"], type="filepath",
                                            elem_id="lesson-upload", scale=1)
        lesson_md = gr.Markdown(t("lesson_none"), elem_id="lesson-step")
        with gr.Row():
            back = gr.Button(t("lesson_back"), elem_id="lesson-back", size="sm", interactive=False)
            next_ = gr.Button(t("lesson_next"), elem_id="lesson-next", size="sm", interactive=False)
    return Bar(projector, link_button, link_box, tab_now, panel, lesson_pick, lesson_upload, lesson_start,
               lesson_md, back, next_, gr.State(None), gr.State(0))


# ---------------------------------------------------------------- applying a state


def state_outputs(shared, tabs, bar: Bar) -> list:
    """Every component a link or a lesson step may set, in `apply_state`'s order."""
    c = shared.controls
    return [shared.picker, shared.text, tabs, c["view"], c["prompt"], c["max_new"], c["temperature"], c["top_k"],
            c["top_p"], c["seed"], c["greedy"], bar.projector, shared.refresh]


def apply_state(state: PageState, current_model: str | None, view: dict | None, refresh: int,
                request: gr.Request | None = None) -> list:
    """Updates for `state_outputs`: only what `state` sets changes; the tabs re-inspect once
    (only the tab it selects: the server learns of it here, before the re-inspection starts)."""
    skip = gr.skip()
    note_tab(request, state.tab)

    def value(v):
        return skip if v is None else v

    prefs = dict(view or {})
    if state.layer is not None:
        prefs["layer"] = state.layer
    if state.head is not None:
        prefs["head"] = state.head
        prefs["average"] = False
    if state.query is not None:
        prefs["pending_query"] = state.query  # attention_tab.make_view uses it once
    model_changes = state.model is not None and state.model != current_model
    return [
        value(state.model),
        value(state.text),
        gr.Tabs(selected=state.tab) if state.tab else skip,
        prefs,
        value(state.prompt), value(state.max_new), value(state.temperature), value(state.top_k),
        value(state.top_p), value(state.seed), value(state.greedy), value(state.projector),
        skip if model_changes else (refresh or 0) + 1,  # else the picker's change event re-inspects
    ]


def _lesson_view(lesson_state: dict | None, step: int, lang: str) -> tuple[str, dict, dict, lessons.Step | None]:
    """The step's Markdown and the Back / Next buttons' states."""
    if not lesson_state:
        return text("lesson_none", lang), gr.update(interactive=False), gr.update(interactive=False), None
    lesson = lessons.parse_lesson(lesson_state["json"], lesson_state.get("name", "lesson"))
    step = min(max(int(step), 0), len(lesson.steps) - 1)
    current = lesson.steps[step]
    head = text("lesson_step", lang, title=lesson.title_in(lang), n=step + 1, total=len(lesson.steps))
    md = f"{head}\n\n### {current.title_in(lang)}\n\n{current.text_in(lang)}"
    return md, gr.update(interactive=step > 0), gr.update(interactive=step < len(lesson.steps) - 1), current


def _lesson_json(lesson_link: str) -> dict:
    """The raw JSON of a lesson named or carried by a link (validated by lesson_from_link first)."""
    lesson = lessons.lesson_from_link(lesson_link)  # raises a keyed error when bad
    if lesson_link.startswith("data:"):
        import base64
        import zlib

        encoded = lesson_link[5:]
        blob = zlib.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        return {"name": lesson.name, "link": lesson_link, "json": json.loads(blob)}
    path = lessons.LESSON_DIR / f"{lesson_link}.json"
    return {"name": lesson.name, "link": lesson_link, "json": json.loads(path.read_text(encoding="utf-8"))}


def go_to_step(lesson_state, step, current_model, view, refresh, request: gr.Request | None = None):
    """Show step `step` of the lesson and set the page as it says."""
    lang = language(request)
    md, back, nxt, current = _lesson_view(lesson_state, step, lang)
    n_steps = len(lesson_state["json"]["steps"]) if lesson_state else 1
    step = min(max(int(step or 0), 0), n_steps - 1)
    updates = apply_state(current.state, current_model, view, refresh, request) if current else [gr.skip()] * 13
    return [*updates, md, back, nxt, step]


def on_start(name, current_model, view, refresh, request: gr.Request | None = None):
    """Start the chosen built-in lesson at its first step."""
    state = _lesson_json(str(name or ""))
    return [state, *go_to_step(state, 0, current_model, view, refresh, request)]


def on_upload(upload, current_model, view, refresh, request: gr.Request | None = None):
    """Start a teacher's own lesson file (JSON only; its size is checked before it is read)."""
    from .errors import check_upload

    path = check_upload(upload)
    lesson = lessons.load_lesson_file(path)  # validated: size, JSON, every field
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    link = lessons.lesson_to_link(raw)
    fits = len(link) - len("data:") <= lessons.MAX_LINK_LESSON_CHARS
    state = {"name": lesson.name, "link": link if fits else None, "json": raw}
    return [state, *go_to_step(state, 0, current_model, view, refresh, request)]


def on_next(lesson_state, step, current_model, view, refresh, request: gr.Request | None = None):
    return go_to_step(lesson_state, int(step or 0) + 1, current_model, view, refresh, request)


def on_back(lesson_state, step, current_model, view, refresh, request: gr.Request | None = None):
    return go_to_step(lesson_state, int(step or 0) - 1, current_model, view, refresh, request)


# ---------------------------------------------------------------- links


def on_open(current_model, view, refresh, request: gr.Request | None = None):
    """demo.load: restore what the page's link says (and start its lesson at its step)."""
    lang = language(request)
    params = dict(getattr(request, "query_params", None) or {})
    state, problems = from_query(params)
    lesson_state, step = None, 0
    md, back, nxt = text("lesson_none", lang), gr.skip(), gr.skip()
    if state.lesson:
        try:
            lesson_state = _lesson_json(state.lesson)
        except PlaygroundError as err:
            problems.append(err)
    if lesson_state:
        step = state.step or 0
        md, back, nxt, current = _lesson_view(lesson_state, step, lang)
        # the step sets the page; the link's own values (if any) override it
        merged = PageState(**{**current.state.set_fields(), **state.set_fields()})
        state = merged
    if problems:
        gr.Warning(text("link_ignored", lang, problems="; ".join(p.message(lang) for p in problems)))
    opened = gr.Accordion(open=True) if lesson_state else gr.skip()
    return [*apply_state(state, current_model, view, refresh, request), lesson_state, step, md, back, nxt, opened]


GENERATE = ("prompt", "max_new", "temperature", "top_k", "top_p", "seed", "greedy")


def on_link(tab, model, text_in, layer, head, query, prompt, max_new, temperature, top_k, top_p, seed, greedy,
            projector, lesson_state, step, request: gr.Request | None = None, defaults: dict | None = None) -> str:
    """The query string of the page as it is now (SHOW_LINK_JS adds the address and copies it).

    Short on purpose: the attention selection only from the Attention tab, Generate settings
    only where they differ from the page's defaults."""
    lang = language(request)
    if model == PRIVATE_MODEL:
        gr.Warning(text("link_private", lang))
        model = None
    lesson_link = (lesson_state or {}).get("link")
    if lesson_state and not lesson_link:
        gr.Warning(text("link_lesson_too_big", lang))
    state = PageState(
        model=model or None, text=text_in or None, tab=tab or None,
        layer=_int(layer), head=_int(head), query=_int(query),
        prompt=prompt or None, max_new=_int(max_new), temperature=_float(temperature), top_k=_int(top_k),
        top_p=_float(top_p), seed=_int(seed), greedy=bool(greedy) if greedy else None,
        projector=True if projector else None,
        lesson=lesson_link, step=_int(step) if lesson_link else None,
    )
    if tab != "attention":
        state.layer = state.head = state.query = None
    for name in GENERATE:
        if defaults and name in defaults and getattr(state, name) == defaults[name]:
            setattr(state, name, None)
    return to_query(state)


def _int(value) -> int | None:
    try:
        return int(value) if value is not None and int(value) >= 0 else None
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def wire(bar: Bar, shared, tabs, demo: gr.Blocks) -> None:
    """Events of the classroom bar (after every tab is built: it sets their controls)."""
    c = shared.controls
    bar.projector.change(None, bar.projector, None, js=PROJECTOR_JS)

    link_inputs = [bar.tab_now, shared.picker, shared.text, c["layer"], c["head"], c["query"], c["prompt"],
                   c["max_new"], c["temperature"], c["top_k"], c["top_p"], c["seed"], c["greedy"], bar.projector,
                   bar.lesson, bar.step]
    defaults = {name: c[name].value for name in GENERATE}
    bar.link_button.click(functools.partial(on_link, defaults=defaults), link_inputs, bar.link_box,
                          js=READ_TAB_JS, api_visibility="private", queue=False,
                          ).then(None, bar.link_box, bar.link_box, js=SHOW_LINK_JS)

    outs = state_outputs(shared, tabs, bar)
    context = [shared.picker, c["view"], shared.refresh]
    step_outs = [*outs, bar.lesson_md, bar.back, bar.next, bar.step]
    quick = dict(api_visibility="private", trigger_mode="always_last")
    bar.lesson_start.click(on_start, [bar.lesson_pick, *context], [bar.lesson, *step_outs], **quick)
    bar.lesson_upload.upload(on_upload, [bar.lesson_upload, *context], [bar.lesson, *step_outs], **quick)
    bar.next.click(on_next, [bar.lesson, bar.step, *context], step_outs, **quick)
    bar.back.click(on_back, [bar.lesson, bar.step, *context], step_outs, **quick)
    demo.load(on_open, context, [*outs, bar.lesson, bar.step, bar.lesson_md, bar.back, bar.next, bar.panel],
              api_visibility="private")
