"""Placeholder: replaced by the train tab's real module (work in progress)."""

import gradio as gr


def build(shared, demo: gr.Blocks) -> None:
    gr.Markdown("(train: work in progress)")
