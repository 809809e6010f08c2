"""Tokens as coloured HTML spans with their ids (tiktokenizer-style). No gradio import."""

from __future__ import annotations

import html
from collections.abc import Sequence

# Okabe-Ito-derived pastel backgrounds: distinguishable for colour-blind viewers, dark text readable.
PALETTE = ("#cfe8fc", "#fde2b8", "#c9efe0", "#f9d3e6", "#fff3b0", "#dcd3f5", "#d9ecc4")


# The hover text's one word, per page language (this module stays free of gradio and i18n).
BYTES_WORD = {"en": "bytes", "zh": "字节"}


def tokens_html(tokens: Sequence, *, show_ids: bool = True, lang: str = "en") -> str:
    """One coloured span per token; whitespace shown visibly; hover gives id and bytes."""
    spans = []
    word = BYTES_WORD.get(lang, BYTES_WORD["en"])
    for i, tok in enumerate(tokens):
        colour = PALETTE[i % len(PALETTE)]
        title = html.escape(f"#{i} id {tok.id} · {word} {tok.bytes.hex(' ')}", quote=True)
        label = html.escape(tok.display)
        id_line = f'<sub class="tok-id">{tok.id}</sub>' if show_ids else ""
        spans.append(f'<span class="tok" style="background:{colour}" title="{title}">{label}{id_line}</span>')
    return '<div class="tokens">' + "".join(spans) + "</div>"
