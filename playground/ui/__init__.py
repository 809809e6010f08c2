"""Gradio UI. The only package allowed to import gradio."""

from .app import build_app, configure_torch_threads, launch_kwargs

__all__ = ["build_app", "configure_torch_threads", "launch_kwargs"]
