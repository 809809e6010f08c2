"""The first page: type text, see its tokens and every attention head (endpoint /inspect)."""

from __future__ import annotations

import gradio as gr

from .. import api, figures
from .i18n import t
from .state import get_bundle
from .token_view import tokens_html

EXAMPLE = "The dog saw the cat. She ran to the tree. 狗看见了猫。"


def on_inspect(model_name: str, text: str):
    """Tokens as HTML, a one-line summary, and the layer × head attention grid."""
    try:
        bundle = get_bundle(model_name)
        result = api.inspect(bundle, text)
    except ValueError as err:
        raise gr.Error(str(err)) from None
    labels = [tok.display for tok in result.tokens]
    grid = figures.attention_grid(result.cache.all_patterns().numpy(), labels)
    n_chars, n_bytes = len(result.text), len(result.text.encode("utf-8"))
    summary = f"{len(result.ids)} tokens · {n_chars} characters · {n_bytes} bytes"
    if result.truncated_from:
        summary += f" · ⚠️ truncated from {result.truncated_from} to the model's {bundle.config.n_ctx} tokens"
    next_tokens = " · ".join(f"`{tok}` {p:.1%}" for tok, p in result.top_next[:5])
    return tokens_html(result.tokens), f"{summary}\n\n**→** {next_tokens}", grid


def build(model_picker: gr.Dropdown) -> None:
    """Layout of the inspect view; wires the /inspect endpoint."""
    text = gr.Textbox(value=EXAMPLE, label=t("text"), lines=2, max_lines=8, elem_id="inspect-text")
    run = gr.Button(t("inspect"), variant="primary", elem_id="inspect-button")
    tokens = gr.HTML(label=t("tokens"), elem_id="inspect-tokens")
    summary = gr.Markdown(elem_id="inspect-summary")
    gr.Markdown(t("what_attention"))
    grid = gr.Plot(label=t("attention_grid"), elem_id="inspect-grid")
    outputs = [tokens, summary, grid]
    gr.on([run.click, text.submit], on_inspect, [model_picker, text], outputs, api_name="inspect",
          concurrency_id="inspect", concurrency_limit=4)
    return text, outputs
