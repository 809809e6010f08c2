"""Placeholder: replaced by the article tab's real module (work in progress)."""

import gradio as gr


def build(shared, demo: gr.Blocks) -> None:
    gr.Markdown("(article: work in progress)")
