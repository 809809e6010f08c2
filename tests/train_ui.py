"""The Train tab's components built once outside the app: its handlers return {component: value}
dicts keyed by them, so tests that call the handlers directly need the same objects."""

import functools
import types

import gradio as gr

from playground.ui import train_tab


@functools.cache
def train_ui() -> train_tab.TrainUI:
    with gr.Blocks() as demo:
        picker = gr.Dropdown(["stories"], value="stories", allow_custom_value=True)
        return train_tab.build(types.SimpleNamespace(picker=picker), demo)


def shown(outputs) -> dict:
    """What the page shows after a list of updates (or one update): each component's latest value."""
    page = {}
    for update in [outputs] if isinstance(outputs, dict) else outputs:
        page.update(update)
    return page
