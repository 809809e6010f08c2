"""The shared bar (model picker, text, Inspect) and the ONE check every inspection tab waits for.

Why one check: the Tokens, Embeddings, Attention and Model tabs (and the BPE lab) all refresh
after Inspect. When each listened to the click itself, one empty text raised the same error once
per listener — four identical pop-ups. Now one small event validates the text and resolves the
model; it raises at most once per action. On failure the tabs keep their outputs, but the page
marks them as belonging to the previous input (`pg-stale` on <body>, styled in style.css, with a
notice in the bar) until the next successful check.

Only the tab on screen computes: every action used to redraw all four tabs' figures, hidden
ones included, so five quick clicks took 8-19 s to settle on a busy 2-core server. Each tab's
listeners now wait on that tab's "due" gr.State (the number of the action it must show): a
successful check bumps only the selected tab's, and marks the others behind (`pg-behind-<tab>`
on <body>: their old results dimmed under a notice); selecting a tab that is behind bumps its
due state then, so it recomputes for the latest text before anything else is shown as current.
The server keeps the selected tab per session (`Tab.select`, and links and lessons through
`note_tab`); the check also gets the tab the page shows, read by its js, and serves both if they
differ, so a tab switch racing a click never leaves the tab on screen behind.

Superseding: each successful check numbers its action (per session); a listener whose action is
no longer the latest returns gr.skip() without computing (`latest_only`), every event uses
trigger_mode="always_last", and a new action cancels the listeners still queued or running for
the previous one (`finish`). A burst of clicks thus ends with one recomputation, for the last.
"""

from __future__ import annotations

import contextlib
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
        "press Inspect again.",
        "behind_notice": "⏳ The results below are for an earlier text: this tab is being recomputed for the "
        "current one."},
    zh={"stale_notice": "⚠️ 下面的结果属于上一次的输入：请按提示改正后再按“分析”。",
        "behind_notice": "⏳ 下面的结果属于之前的文本：本页正在按当前文本重新计算。"},
)

MARK_STALE_JS = "() => { document.body.classList.add('pg-stale'); }"
# An event's js runs before its function and its return value becomes the inputs: pass them on.
# The check's third input is the tab on screen (a hidden textbox the js fills in).
CHECK_JS = """(...inputs) => {
  document.body.classList.remove('pg-stale');
  const tab = document.querySelector('[role=tab][aria-selected=true]');
  inputs[2] = tab ? tab.dataset.tabId || null : null;
  return inputs;
}"""
# Every listener of the shared inputs: a burst of actions keeps only the last pending one.
LISTEN = dict(trigger_mode="always_last")


ACTION_SLOT = "action"  # per session: the number of the latest checked action
TAB_SLOT = "tab"  # per session: the id of the tab the user selected last
DUE_SLOT = "tab_due"  # per session: {tab id: the action that tab was last asked to show}
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


def _due(key: str, tabs: set, action: int) -> set:
    """Of `tabs`, those not yet asked to show `action` (recorded as asked now; hold the lock)."""
    due = dict(REGISTRY.peek(key, DUE_SLOT) or {})
    todo = {tab for tab in tabs if due.get(tab) != action}
    due.update({tab: action for tab in todo})
    REGISTRY.put(key, DUE_SLOT, due)
    return todo


def note_tab(request: gr.Request | None = None, tab: str | None = None) -> None:
    """Record the tab the session now shows (a tab click, or a link or lesson step selecting one)."""
    if tab:
        with _ACTION_LOCK:
            REGISTRY.put(session_of(request), TAB_SLOT, str(tab))


def route_check(listening: tuple, default_tab: str, model_name, text_in, tab_on_screen,
                request: gr.Request | None = None) -> list:
    """The check, then its action number into the due state of the tab on screen (both the one
    the server last heard of and the one the page's js read, if they differ); the other tabs'
    due states stay as they are, so they are behind until selected."""
    on_check(model_name, text_in, request)
    key = session_of(request)
    with _ACTION_LOCK:
        action = int(REGISTRY.peek(key, ACTION_SLOT) or 0)
        shown = {REGISTRY.peek(key, TAB_SLOT) or default_tab, tab_on_screen or default_tab}
        todo = _due(key, shown & set(listening), action)
    return [action, *(action if tab in todo else gr.skip() for tab in listening)]


def on_tab_selected(tab: str, request: gr.Request | None = None):
    """A listening tab was selected: remember it; if it is behind the latest action, bump its
    due state so its listeners recompute now."""
    key = session_of(request)
    with _ACTION_LOCK:
        REGISTRY.put(key, TAB_SLOT, tab)
        action = REGISTRY.peek(key, ACTION_SLOT)
        todo = _due(key, {tab}, action) if isinstance(action, int) else set()
    return action if todo else gr.skip()


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
    checked: dict = field(default=None)  # the check's gr Dependency, set by `finish`
    controls: dict = field(default_factory=dict)  # tab controls a link or a lesson sets (page_link.py)
    listeners: list = field(default_factory=list)  # every event chained by `listen`
    due: dict = field(default_factory=dict)  # tab id -> gr.State: the action that tab's listeners compute
    tab_on_screen: gr.Textbox = field(default=None)  # the check's input the page's js fills in
    tab_blocks: dict = field(default_factory=dict)  # tab id -> gr.Tab, in page order
    building: str | None = None  # the tab being built (`tab`), whose listeners `listen` registers

    def expose(self, **components) -> None:
        """Let links and lessons set (and read) a tab's controls by name."""
        self.controls.update(components)

    @property
    def triggers(self) -> list:
        """Events after which the inspection tabs refresh."""
        return [self.run.click, self.text.submit, self.picker.change, self.refresh.change]

    def wire(self) -> None:
        """The states the check and the tabs share (before the tabs are built; `finish` after)."""
        if self.action is None:
            self.action = gr.State(0)
        if self.tab_on_screen is None:
            self.tab_on_screen = gr.Textbox(visible=False, elem_id="tab-on-screen")

    @contextlib.contextmanager
    def tab(self, tab_id: str, block: gr.Tab):
        """Build one tab: its listeners are registered under `tab_id`, and it gets the notice
        shown while its results are behind (style.css: body.pg-behind-<tab id>)."""
        self.tab_blocks[tab_id] = block
        self.building = tab_id
        gr.Markdown(t("behind_notice"), elem_id=f"behind-{tab_id}", elem_classes="behind-notice")
        try:
            yield
        finally:
            self.building = None

    def listen(self, fn, inputs, outputs, **kwargs):
        """Run `fn` whenever its tab is asked to show a new action: after a successful check while
        the tab is on screen, or when the tab is selected after it (not for hidden tabs)."""
        if self.building is None:
            raise RuntimeError("Shared.listen is called while a tab is built (inside Shared.tab)")
        tab = self.building
        if tab not in self.due:
            self.due[tab] = gr.State(0)
        n_outputs = len(outputs) if isinstance(outputs, (list, tuple)) else 1
        dependency = self.due[tab].change(latest_only(fn, n_outputs), [self.due[tab], *inputs], outputs,
                                          **{**LISTEN, **kwargs})
        dependency.success(None, None, None, js=clear_behind_js(tab))
        self.listeners.append(dependency)
        return dependency

    def finish(self, default_tab: str) -> None:
        """After every tab is built: the one check (its failure marks the results stale, its
        success marks the hidden listening tabs behind), tab selection, and superseding: a new
        action cancels the listeners still queued or running for the previous one, so a burst
        of clicks does not queue one full recomputation per click."""
        listening = tuple(self.due)
        route = functools.partial(route_check, listening, default_tab)
        # Superseding, registered BEFORE the check, one cancel event per listener. Gradio 6.31's
        # page dispatches the events of one trigger in registration order, each awaited, and
        # cancels a list one submission at a time with an await between them: with one list, a
        # lookup late in it could find the listener the new action had just started and cancel
        # that too (seen under load: the tab on screen never showed the new text). With one
        # listener per event every lookup happens when the trigger fires, before the check runs.
        for listener in self.listeners:
            gr.on(self.triggers, None, None, None, cancels=[listener], queue=False)
        self.checked = gr.on(self.triggers, route, [self.picker, self.text, self.tab_on_screen],
                             [self.action, *self.due.values()], api_visibility="private", js=CHECK_JS,
                             concurrency_id="check", concurrency_limit=8, show_progress="hidden", **LISTEN)
        self.checked.failure(None, None, None, js=MARK_STALE_JS)
        self.checked.success(None, None, None, js=mark_behind_js(listening))
        # queued: a queue=False event's state changes do not fire the listeners' .change
        quiet = dict(api_visibility="private", concurrency_id="tab-select", concurrency_limit=16,
                     show_progress="hidden")
        for tab_id, block in self.tab_blocks.items():
            if tab_id in self.due:
                block.select(functools.partial(on_tab_selected, tab_id), None, [self.due[tab_id]], **quiet)
            else:
                block.select(functools.partial(note_tab, tab=tab_id), None, None, **quiet)


def clear_behind_js(tab: str) -> str:
    """After a tab's listener succeeded: its results are current again. Two animation frames
    later, not at once: this runs as soon as the outputs are handed to the page, before the page
    has drawn them, and for that moment the old result would show unmarked (seen in a browser
    test sampling every 10 ms)."""
    return f"""() => {{
  requestAnimationFrame(() => requestAnimationFrame(() => document.body.classList.remove('pg-behind-{tab}')));
}}"""


def mark_behind_js(tabs) -> str:
    """After a successful check: every listening tab but the one on screen is behind."""
    ids = ", ".join(f"'{tab}'" for tab in tabs)
    return f"""() => {{
  const tab = document.querySelector('[role=tab][aria-selected=true]');
  const now = tab ? tab.dataset.tabId : null;
  for (const id of [{ids}]) if (id !== now) document.body.classList.add('pg-behind-' + id);
}}"""


def mark_stale_on_failure(dependency, scope: str) -> None:
    """A failed `dependency` marks its tab's outputs stale (body class pg-stale-<scope>, styled in
    style.css) until its next run; its js must pass the inputs on (see clear_stale_js)."""
    dependency.failure(None, None, None, js=f"() => {{ document.body.classList.add('pg-stale-{scope}'); }}")


def clear_stale_js(scope: str) -> str:
    """The `js` of an event whose failure `mark_stale_on_failure` marks: clears the mark first."""
    return f"(...inputs) => {{ document.body.classList.remove('pg-stale-{scope}'); return inputs; }}"


def stale_notice() -> gr.Markdown:
    """Shown by CSS only while <body> has the pg-stale class."""
    return gr.Markdown(t("stale_notice"), elem_id="stale-notice")
