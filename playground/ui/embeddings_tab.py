"""Placeholder: replaced by the embeddings tab's real module (work in progress)."""

import gradio as gr


def build(shared, demo: gr.Blocks) -> None:
    gr.Markdown("(embeddings: work in progress)")
