"""build_app(): the Gradio page. Layout and wiring only; the work happens in playground.api."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from .. import api
from . import inspect_tab
from .i18n import I18N, t
from .state import model_choices

CSS_PATH = Path(__file__).resolve().parents[2] / "assets" / "style.css"


def build_app() -> gr.Blocks:
    """The whole page. Launch with `launch_kwargs()` (theme, css and i18n belong to launch)."""
    with gr.Blocks(title="Transformer Playground") as demo:
        gr.Markdown(t("title"))
        gr.Markdown(t("subtitle"))
        choices = model_choices()
        picker = gr.Dropdown(choices, value=choices[0], label=t("model"), elem_id="model-picker")
        if choices == [api.DEMO_MODEL]:
            gr.Markdown(t("untrained_notice"), elem_id="untrained-notice")
        text, outputs = inspect_tab.build(picker)
        demo.load(inspect_tab.on_inspect, [picker, text], outputs, api_visibility="private")
        picker.change(inspect_tab.on_inspect, [picker, text], outputs, api_visibility="private")
    return demo


def launch_kwargs() -> dict:
    """Arguments for `demo.launch`: i18n, css and safe defaults for a public Space."""
    return dict(
        i18n=I18N,
        css_paths=[CSS_PATH] if CSS_PATH.exists() else None,
        enable_monitoring=False,
        max_file_size="50mb",
    )
