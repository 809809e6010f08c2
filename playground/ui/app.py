"""build_app(): the Gradio page. Layout and wiring only; the work happens in playground.api.

A shared bar on top (model picker, text, Inspect button) feeds every inspection tab; each tab
module has `build(shared)` for its layout and small `on_<thing>` handlers that call `api`.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
import time
from pathlib import Path

import gradio as gr
import torch

from .. import api
from ..checkpoint import MAX_UPLOAD_ZIP_BYTES
from . import (
    article_tab,
    attention_tab,
    embeddings_tab,
    generate_tab,
    model_tab,
    page_link,
    reading_api,
    tokens_tab,
    train_tab,
    translate_tab,
    worked_tab,
    zerogpu,
)
from .errors import guard_app
from .i18n import add, i18n, t
from .shared import Shared, stale_notice
from .state import REGISTRY, SESSION_TTL, model_choices

log = logging.getLogger("playground.ui")

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "style.css"
HOVER_JS_PATH = Path(__file__).resolve().parents[2] / "assets" / "head_view_hover.js"
ZH_TIPS_JS_PATH = Path(__file__).resolve().parents[2] / "assets" / "zh_tips.js"
EXAMPLE_TEXT = "The dog saw the cat. She ran to the tree. 狗看见了猫。"
# Requests waiting in the queue, all events together; one more gets Gradio's "Queue is full".
QUEUE_MAX_SIZE = int(os.environ.get("PLAYGROUND_QUEUE_MAX_SIZE", 64))
# How often expired sessions are freed (seconds); at most half the session TTL.
GRADIO_SESSIONS = int(os.environ.get("PLAYGROUND_GRADIO_SESSIONS", 500))
SWEEP_INTERVAL = float(os.environ.get("PLAYGROUND_SWEEP_SECONDS", min(60.0, SESSION_TTL / 2)))

add(
    en={
        "inspect": "Inspect",
        "tab_tokens": "Tokens",
        "tab_embeddings": "Embeddings",
        "tab_attention": "Attention",
        "tab_model": "Model",
        "tab_train": "Train",
        "tab_generate": "Generate",
        "tab_worked": "Worked example",
        "tab_article": "Article lab",
    },
    zh={
        "inspect": "分析",
        "tab_tokens": "词元",
        "tab_embeddings": "词向量",
        "tab_attention": "注意力",
        "tab_model": "模型全貌",
        "tab_train": "训练",
        "tab_generate": "生成",
        "tab_worked": "手算示例",
        "tab_article": "文章实验室",
    },
)

FIRST_TAB = "attention"  # the tab a page opens on (a link may choose another)
# Tabs in the order a lesson goes: (label key, tab id, module with build(shared, demo)).
TABS = [
    ("tab_tokens", "tokens", tokens_tab),
    ("tab_embeddings", "embeddings", embeddings_tab),
    ("tab_attention", "attention", attention_tab),
    ("tab_model", "model", model_tab),
    ("tab_worked", "worked", worked_tab),
    ("tab_train", "train", train_tab),
    ("tab_generate", "generate", generate_tab),
    ("tab_article", "article", article_tab),
    ("tab_translate", "translate", translate_tab),
]


def build_app() -> gr.Blocks:
    """The whole page. Launch with `launch_kwargs()` (theme, css and i18n belong to launch)."""
    configure_malloc()  # before the server's threads allocate: freed memory goes back to the OS
    zerogpu.configure()  # on a ZeroGPU Space: models on the CPU here, GPU work in decorated calls
    with gr.Blocks(title="Transformer Playground") as demo:
        gr.Markdown(t("title"))
        gr.Markdown(t("subtitle"))
        bar = page_link.build_bar()  # projector mode, links, lessons
        choices = model_choices()
        with gr.Row(equal_height=True, elem_id="shared-bar"):
            # allow_custom_value: a typed GPT-2 id from the Hub (state.get_bundle checks it, playground.hub loads it)
            picker = gr.Dropdown(choices, value=choices[0], label=t("model"), info=t("model_info"),
                                 allow_custom_value=True, elem_id="model-picker", scale=1)
            text = gr.Textbox(
                EXAMPLE_TEXT,
                label=t("text"),
                lines=2,
                max_lines=8,
                elem_id="text-input",
                scale=4,
                max_length=api.MAX_TEXT_CHARS,
            )
            run = gr.Button(t("inspect"), variant="primary", elem_id="inspect-button", scale=0, min_width=120)
        if choices == [api.DEMO_MODEL]:
            gr.Markdown(t("untrained_notice"), elem_id="untrained-notice")
        stale_notice()
        shared = Shared(picker, text, run, gr.State(0))
        shared.wire()
        with gr.Tabs(selected=FIRST_TAB) as tabs:
            for label, tab_id, module in TABS:
                with gr.Tab(t(label), id=tab_id, elem_id=f"tab-{tab_id}") as tab, shared.tab(tab_id, tab):
                    module.build(shared, demo)
        shared.finish(FIRST_TAB)  # the one check; only the tab on screen recomputes; a new action cancels
        page_link.wire(bar, shared, tabs, demo)  # opening a link restores it (and starts its lesson)
        reading_api.register_endpoints()  # /logit_lens, /decompose, /head_roles, /ablate: JSON for programs
    guard_app(demo)  # every handler's errors reach the user as a gr.Error in their language (errors.py)
    REGISTRY.start_sweeper(SWEEP_INTERVAL, after=release_memory)  # free idle sessions even when nobody calls
    start_gradio_pruner(demo, SESSION_TTL, SWEEP_INTERVAL)
    return demo


def prune_gradio_sessions(demo: gr.Blocks, ttl: float) -> int:
    """Forget Gradio's own per-session state for sessions idle longer than `ttl`; returns how many.

    Gradio keeps a SessionState per session that ever sent an event — a copy of the page's
    component configs, ~0.7 MB here — and frees it only when `state_session_capacity` newer
    sessions push it out, never by time. Our session registry forgets idle sessions after the
    TTL; this does the same for Gradio's side, so a burst of visitors leaves nothing behind."""
    holder = getattr(demo, "state_holder", None)
    session_data, last_used = getattr(holder, "session_data", None), getattr(holder, "time_last_used", None)
    if session_data is None or last_used is None:
        return 0
    now, stale = datetime.datetime.now(), []
    with holder.lock:
        for key, when in list(last_used.items()):
            if (now - when).total_seconds() > ttl:
                session_data.pop(key, None)
                last_used.pop(key, None)
                stale.append(key)
    return len(stale)


def start_gradio_pruner(demo: gr.Blocks, ttl: float, interval: float) -> threading.Thread:
    """A daemon thread pruning Gradio's idle sessions every `interval` seconds (then freeing memory)."""

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                if prune_gradio_sessions(demo, ttl):
                    release_memory()
            except Exception:  # noqa: BLE001 - Gradio internals changed: keep serving, log once
                log.exception("pruning Gradio's idle sessions failed; they stay until capacity evicts them")
                return

    thread = threading.Thread(target=run, name="gradio-session-pruner", daemon=True)
    thread.start()
    return thread


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc mallopt parameters (malloc.h)


def configure_malloc(mmap_threshold: int = 1 << 20, arena_max: int = 2) -> bool:
    """Make freed memory go back to the OS (glibc only; the MALLOC_* env vars win if set).

    Two glibc defaults kept ~150 MB after a soak's sessions had all expired (bench/soak.py:
    +156 MB over warm by default, +70 MB with these): the mmap threshold rises after a large
    block is freed, so later 10 MB request bodies and tokenizer buffers land in the heap and
    fragment it; and every worker thread may get its own arena. A fixed 1 MB threshold sends
    large blocks to mmap (returned on free) and two arenas bound the fragmentation."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(libc.mallopt(M_ARENA_MAX, arena_max))
    except (OSError, AttributeError):
        return False


def release_memory(_dropped=None) -> None:
    """After sessions expired: collect garbage and hand the C heap's free pages back to the OS.

    glibc keeps freed memory in per-thread arenas; without malloc_trim the server's RSS stays
    at its peak after every user has left (measured by bench/load_test.py). No-op elsewhere."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def configure_torch_threads() -> int:
    """One torch thread per request by default (env PLAYGROUND_TORCH_THREADS overrides).

    Inference requests are small; with torch's default of one thread per core, two requests
    on a 2-core Space oversubscribe OpenMP and a 15 ms forward pass took 600 ms (measured under
    load). One thread each lets concurrent requests share the cores instead. Training raises
    the count for its own duration (see train_tab).
    """
    threads = int(os.environ.get("PLAYGROUND_TORCH_THREADS", "1"))
    torch.set_num_threads(max(1, threads))
    return torch.get_num_threads()


def queue_kwargs() -> dict:
    """Arguments for `demo.queue`: two events at a time by default (heavy events set their own
    limits) and a bounded queue, so a flood of requests gets a clear "Queue is full" message
    instead of ever-growing waits and memory."""
    return dict(default_concurrency_limit=2, max_size=QUEUE_MAX_SIZE)


def page_js() -> str:
    """The page's scripts, each a `() => {...}` function: the head view's hover filter and the
    Chinese tips for plotly's toolbar and Gradio's hard-coded labels."""
    parts = [path.read_text(encoding="utf-8").strip() for path in (HOVER_JS_PATH, ZH_TIPS_JS_PATH)]
    return "() => {\n" + "\n".join(f"  ({part})();" for part in parts) + "\n}"


def launch_kwargs() -> dict:
    """Arguments for `demo.launch`: i18n, css and safe defaults for a public Space."""
    return dict(
        i18n=i18n(),
        css_paths=[CSS_PATH] if CSS_PATH.exists() else None,
        js=page_js(),
        enable_monitoring=False,
        max_file_size=MAX_UPLOAD_ZIP_BYTES,  # the largest checkpoint zip we accept
        # Gradio's own per-session state (~0.7 MB each): at most this many sessions, least
        # recently used dropped first; idle ones are also pruned after the TTL (prune_gradio_sessions).
        state_session_capacity=GRADIO_SESSIONS,
    )
