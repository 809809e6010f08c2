"""build_app(): the Gradio page. Layout and wiring only; the work happens in playground.api.

A shared bar on top (model picker, text, Inspect button) feeds every inspection tab; each tab
module has `build(shared)` for its layout and small `on_<thing>` handlers that call `api`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from .. import api
from . import inspect_tab
from .i18n import add, i18n, t
from .state import model_choices

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "style.css"
EXAMPLE_TEXT = "The dog saw the cat. She ran to the tree. 狗看见了猫。"

add(
    en={"inspect": "Inspect", "tab_attention": "Attention"},
    zh={"inspect": "分析", "tab_attention": "注意力"},
)


@dataclass
class Shared:
    """Inputs every inspection tab listens to."""

    picker: gr.Dropdown
    text: gr.Textbox
    run: gr.Button

    @property
    def triggers(self) -> list:
        """Events after which an inspection tab should refresh."""
        return [self.run.click, self.text.submit, self.picker.change]


def build_app() -> gr.Blocks:
    """The whole page. Launch with `launch_kwargs()` (theme, css and i18n belong to launch)."""
    with gr.Blocks(title="Transformer Playground") as demo:
        gr.Markdown(t("title"))
        gr.Markdown(t("subtitle"))
        choices = model_choices()
        with gr.Row(equal_height=True):
            picker = gr.Dropdown(choices, value=choices[0], label=t("model"), elem_id="model-picker", scale=1)
            text = gr.Textbox(EXAMPLE_TEXT, label=t("text"), lines=2, max_lines=8, elem_id="text-input", scale=4)
            run = gr.Button(t("inspect"), variant="primary", elem_id="inspect-button", scale=0, min_width=120)
        if choices == [api.DEMO_MODEL]:
            gr.Markdown(t("untrained_notice"), elem_id="untrained-notice")
        shared = Shared(picker, text, run)
        with gr.Tabs():
            with gr.Tab(t("tab_attention"), id="attention"):
                inspect_tab.build(shared, demo)
    return demo


def launch_kwargs() -> dict:
    """Arguments for `demo.launch`: i18n, css and safe defaults for a public Space."""
    return dict(
        i18n=i18n(),
        css_paths=[CSS_PATH] if CSS_PATH.exists() else None,
        enable_monitoring=False,
        max_file_size="50mb",
    )
