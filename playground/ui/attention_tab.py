"""The first page: type text, see its tokens and every attention head (endpoint /inspect)."""

from __future__ import annotations

import gradio as gr

from .. import api, figures
from .i18n import add, t
from .state import get_bundle
from .token_view import tokens_html

add(
    en={
        "tokens": "Tokens",
        "attention_grid": "Attention: every layer × head",
        "what_attention": "**What am I looking at?** Each small square is one attention head. Row = the token "
        "doing the looking (query), column = a token it looks at (key). Bright = much attention. "
        "Only earlier tokens can be seen (the upper-right triangle is masked): the model reads left to right.",
    },
    zh={
        "tokens": "词元",
        "attention_grid": "注意力：每一层 × 每一个头",
        "what_attention": "**我在看什么？** 每个小方块是一个注意力头。行 = 正在“看”的词元（查询 query），"
        "列 = 被看的词元（键 key）。越亮表示注意力越多。模型只能看到之前的词元（右上三角被遮住）：它从左往右读。",
    },
)

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


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the attention view; wires the /inspect endpoint to the shared inputs."""
    tokens = gr.HTML(label=t("tokens"), elem_id="inspect-tokens")
    summary = gr.Markdown(elem_id="inspect-summary")
    gr.Markdown(t("what_attention"))
    grid = gr.Plot(label=t("attention_grid"), elem_id="inspect-grid")
    inputs, outputs = [shared.picker, shared.text], [tokens, summary, grid]
    gr.on(shared.triggers, on_inspect, inputs, outputs, api_name="inspect",
          concurrency_id="inspect", concurrency_limit=4)
    demo.load(on_inspect, inputs, outputs, api_visibility="private", concurrency_id="inspect")
