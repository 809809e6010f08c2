"""Placeholder: replaced by the tokens tab's real module (work in progress)."""

import gradio as gr


def build(shared, demo: gr.Blocks) -> None:
    gr.Markdown("(tokens: work in progress)")
