"""Gradio UI. The only package allowed to import gradio."""

from .app import build_app, launch_kwargs

__all__ = ["build_app", "launch_kwargs"]
