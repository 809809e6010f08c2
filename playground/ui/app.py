"""build_app(): the Gradio page. Layout and wiring only; the work happens in playground.api.

A shared bar on top (model picker, text, Inspect button) feeds every inspection tab; each tab
module has `build(shared)` for its layout and small `on_<thing>` handlers that call `api`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import gradio as gr
import torch

from .. import api
from ..checkpoint import MAX_UPLOAD_ZIP_BYTES
from ..memory import configure_malloc, release_memory
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
from .gradio_sessions import start_gradio_pruner
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
GRADIO_SESSIONS = int(os.environ.get("PLAYGROUND_GRADIO_SESSIONS", 500))
# How often expired sessions are freed (seconds); at most half the session TTL.
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
    start_gradio_pruner(demo, SESSION_TTL, SWEEP_INTERVAL, after=release_memory)
    return demo


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
