"""Placeholder: replaced by the worked tab's real module (work in progress)."""

import gradio as gr


def build(shared, demo: gr.Blocks) -> None:
    gr.Markdown("(worked: work in progress)")
