"""Tokens as coloured HTML spans with their ids (tiktokenizer-style). No gradio import."""

from __future__ import annotations

import html
from collections.abc import Sequence

# Okabe-Ito-derived pastel backgrounds: distinguishable for colour-blind viewers, dark text readable.
PALETTE = ("#cfe8fc", "#fde2b8", "#c9efe0", "#f9d3e6", "#fff3b0", "#dcd3f5", "#d9ecc4")


def tokens_html(tokens: Sequence, *, show_ids: bool = True) -> str:
    """One coloured span per token; whitespace shown visibly; hover gives id and bytes."""
    spans = []
    for i, tok in enumerate(tokens):
        colour = PALETTE[i % len(PALETTE)]
        title = html.escape(f"#{i} id {tok.id} · bytes {tok.bytes.hex(' ')}", quote=True)
        label = html.escape(tok.display)
        id_line = f'<sub class="tok-id">{tok.id}</sub>' if show_ids else ""
        spans.append(f'<span class="tok" style="background:{colour}" title="{title}">{label}{id_line}</span>')
    return '<div class="tokens">' + "".join(spans) + "</div>"
