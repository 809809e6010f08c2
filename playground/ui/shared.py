"""The shared bar (model picker, text, Inspect) and the ONE check every inspection tab waits for.

Why one check: the Tokens, Embeddings and Attention tabs (and the BPE lab) all refresh after
Inspect. When each listened to the click itself, one empty text raised the same error once per
listener — four identical pop-ups. Now one small event validates the text and resolves the model;
it raises at most once per action, and only when it succeeds do the tabs recompute
(`Shared.listen` chains them on its success). On failure the tabs keep their outputs, but the
page marks them as belonging to the previous input (`pg-stale` on <body>, styled in style.css,
with a notice in the bar) until the next successful check.

Superseding: each successful check numbers its action (per session); a listener whose action is
no longer the latest returns gr.skip() without computing (`latest_only`), every event uses
trigger_mode="always_last", and a new action cancels the listeners still queued or running for
the previous one (`supersede`). A burst of clicks thus ends with one recomputation, for the last.
"""

from __future__ import annotations

import functools
import inspect
import threading
from dataclasses import dataclass, field

import gradio as gr

from .. import api
from .i18n import add, t
from .state import REGISTRY, get_bundle, remember_pick, session_of

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


ACTION_SLOT = "action"  # per session: the number of the latest checked action
_ACTION_LOCK = threading.Lock()


def on_check(model_name: str | None, text_in: str, request: gr.Request | None = None) -> int:
    """Raise (once, translated by errors.guard) when the shared inputs cannot be inspected;
    else number this action (the listeners of older actions then skip their work)."""
    api.check_text(text_in)
    get_bundle(model_name, request)
    remember_pick(request, model_name)  # so a training run ending later does not override a newer choice
    key = session_of(request)
    with _ACTION_LOCK:
        action = int(REGISTRY.peek(key, ACTION_SLOT) or 0) + 1
        REGISTRY.put(key, ACTION_SLOT, action)
    return action


def latest_only(fn, n_outputs: int):
    """`fn` with a first argument, its action's number: when a newer action has been checked
    since, the work is skipped (every output gr.skip(): nothing recomputed, nothing redrawn).
    The signature keeps fn's own parameters, so Gradio still injects gr.Request."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(action, *args, **kwargs):
        request = kwargs.get("request") or next((a for a in args if isinstance(a, gr.Request)), None)
        latest = REGISTRY.peek(session_of(request), ACTION_SLOT)
        if isinstance(action, int) and isinstance(latest, int) and action < latest:
            return gr.skip() if n_outputs == 1 else tuple(gr.skip() for _ in range(n_outputs))
        return fn(*args, **kwargs)

    first = inspect.Parameter("action", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    wrapper.__signature__ = signature.replace(parameters=[first, *signature.parameters.values()])
    return wrapper


@dataclass
class Shared:
    """Inputs every inspection tab listens to, and the check event they chain on.

    `refresh` is a counter in a gr.State: handlers that set the picker and the text themselves
    (a lesson step, a link being opened) bump it to re-inspect without waiting for a click."""

    picker: gr.Dropdown
    text: gr.Textbox
    run: gr.Button
    refresh: gr.State
    action: gr.State = field(default=None)  # the number of the last checked action (on_check)
    checked: dict = field(default=None)  # the check's gr Dependency, set by `wire`
    controls: dict = field(default_factory=dict)  # tab controls a link or a lesson sets (page_link.py)
    listeners: list = field(default_factory=list)  # every event chained by `listen`

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
        if self.action is None:
            self.action = gr.State(0)
        self.checked = gr.on(self.triggers, on_check, [self.picker, self.text], [self.action],
                             api_visibility="private", js=CLEAR_STALE_JS, concurrency_id="check", concurrency_limit=8,
                             show_progress="hidden", **LISTEN)
        self.checked.failure(None, None, None, js=MARK_STALE_JS)

    def listen(self, fn, inputs, outputs, **kwargs):
        """Run `fn` after every successful check (instead of on the triggers themselves)."""
        n_outputs = len(outputs) if isinstance(outputs, (list, tuple)) else 1
        dependency = self.checked.success(latest_only(fn, n_outputs), [self.action, *inputs], outputs,
                                          **{**LISTEN, **kwargs})
        self.listeners.append(dependency)
        return dependency

    def supersede(self) -> None:
        """A new action cancels the listeners still queued or running for the previous one, so
        a burst of clicks does not queue one full recomputation per click (call after every tab
        has registered its listeners)."""
        if self.listeners:
            gr.on(self.triggers, None, None, None, cancels=self.listeners, queue=False)


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
