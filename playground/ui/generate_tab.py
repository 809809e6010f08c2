"""Placeholder: replaced by the generate tab's real module (work in progress)."""

import gradio as gr


def build(shared, demo: gr.Blocks) -> None:
    gr.Markdown("(generate: work in progress)")
