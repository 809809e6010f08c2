"""Sizes and axis words of attention heatmaps, shared by the Attention tab and its ablation
panel (which the tab builds, so the panel cannot import the tab back)."""

from __future__ import annotations

from .i18n import text

GRID_WIDTH_PX = 600  # the thumbnail grid shares a row with the enlarged head


def grid_cell_px(n_heads: int) -> int:
    """Thumbnail size: the grid shares its row with the enlarged head."""
    return min(300, GRID_WIDTH_PX // n_heads)


def axis_words(lang: str) -> dict[str, str]:
    """The query / key / weight labels of a heatmap, in `lang` (registered by attention_tab)."""
    return dict(query_label=text("att_query_word", lang), key_label=text("att_key_word", lang),
                weight_label=text("att_weight_word", lang))
