"""The shared bar (model picker, text, Inspect) and the ONE check every inspection tab waits for.

Why one check: the Tokens, Embeddings and Attention tabs (and the BPE lab) all refresh after
Inspect. When each listened to the click itself, one empty text raised the same error once per
listener — four identical pop-ups. Now one small event validates the text and resolves the model;
it raises at most once per action, and only when it succeeds do the tabs recompute
(`Shared.listen` chains them on its success). On failure the tabs keep their outputs, but the
page marks them as belonging to the previous input (`pg-stale` on <body>, styled in style.css,
with a notice in the bar) until the next successful check.

Every event of the chain uses trigger_mode="always_last": five quick clicks run the check at
most twice (the running one and the last), never five times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from .. import api
from .i18n import add, t
from .state import get_bundle, remember_pick

add(
    en={"stale_notice": "⚠️ The results below belong to the previous input: fix the message's problem and "
        "press Inspect again."},
    zh={"stale_notice": "⚠️ 下面的结果属于上一次的输入：请按提示改正后再按“分析”。"},
)

MARK_STALE_JS = "() => { document.body.classList.add('pg-stale'); }"
# An event's js runs before its function and its return value becomes the inputs: pass them on.
CLEAR_STALE_JS = "(...inputs) => { document.body.classList.remove('pg-stale'); return inputs; }"
# Every listener of the shared inputs: a burst of actions keeps only the last pending one.
LISTEN = dict(trigger_mode="always_last")


def on_check(model_name: str | None, text_in: str, request: gr.Request | None = None) -> None:
    """Raise (once, translated by errors.guard) when the shared inputs cannot be inspected."""
    api.check_text(text_in)
    get_bundle(model_name, request)
    remember_pick(request, model_name)  # so a training run ending later does not override a newer choice


@dataclass
class Shared:
    """Inputs every inspection tab listens to, and the check event they chain on.

    `refresh` is a counter in a gr.State: handlers that set the picker and the text themselves
    (a lesson step, a link being opened) bump it to re-inspect without waiting for a click."""

    picker: gr.Dropdown
    text: gr.Textbox
    run: gr.Button
    refresh: gr.State
    checked: dict = field(default=None)  # the check's gr Dependency, set by `wire`
    controls: dict = field(default_factory=dict)  # tab controls a link or a lesson sets (page_link.py)

    def expose(self, **components) -> None:
        """Let links and lessons set (and read) a tab's controls by name."""
        self.controls.update(components)

    @property
    def triggers(self) -> list:
        """Events after which the inspection tabs refresh."""
        return [self.run.click, self.text.submit, self.picker.change, self.refresh.change]

    def wire(self) -> None:
        """The one check; failures mark the tabs' results stale. The page's load restores its link
        first (page_link.on_open), which then bumps `refresh` or changes the picker."""
        self.checked = gr.on(self.triggers, on_check, [self.picker, self.text], None,
                             api_visibility="private", js=CLEAR_STALE_JS, concurrency_id="check", concurrency_limit=8,
                             show_progress="hidden", **LISTEN)
        self.checked.failure(None, None, None, js=MARK_STALE_JS)

    def listen(self, fn, inputs, outputs, **kwargs):
        """Run `fn` after every successful check (instead of on the triggers themselves)."""
        return self.checked.success(fn, inputs, outputs, **{**LISTEN, **kwargs})


def mark_stale_on_failure(dependency, scope: str) -> None:
    """A failed `dependency` marks its tab's outputs stale (body class pg-stale-<scope>, styled in
    style.css) until its next run; its js must pass the inputs on (see CLEAR_STALE_JS)."""
    dependency.failure(None, None, None, js=f"() => {{ document.body.classList.add('pg-stale-{scope}'); }}")


def clear_stale_js(scope: str) -> str:
    """The `js` of an event whose failure `mark_stale_on_failure` marks: clears the mark first."""
    return f"(...inputs) => {{ document.body.classList.remove('pg-stale-{scope}'); return inputs; }}"


def stale_notice() -> gr.Markdown:
    """Shown by CSS only while <body> has the pg-stale class."""
    return gr.Markdown(t("stale_notice"), elem_id="stale-notice")
