"""Plotly figures for the playground: numpy arrays + labels in, `go.Figure` out.

Pure functions with no torch or gradio, so notebooks, tests and the UI draw the same pictures.
Conventions that hold everywhere:

- Data is float32 numpy (plotly ships it as compact base64). Matrices too big to see are
  reduced before plotting, with a note in the title.
- Token axes use one *unique* category per position ('"cat" (3)'), so a token that occurs
  twice keeps two rows and hover can name it; tick labels show the bare token text. Labels are
  HTML-escaped because plotly renders `<...>` as markup (byte tokens look like "<e7 8b>").
- Masked (future) attention is NaN: drawn as the grey plot background, never as a zero colour.
- Colour scales are colour-blind safe: Viridis for weights, blue-white-red for signed values.
- Every visible word is a keyword argument with an English default, for translation.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

MAX_SIDE = 256  # a heatmap side longer than this is reduced
MIN_CELL_PX = 2  # attention_grid averages positions in blocks below this many pixels per cell
TICK_LIMIT = 48  # most tick labels on one heatmap axis
GRID_TICK_LIMIT = 24  # attention_grid shows token ticks only up to this many positions
MIN_LINE_WEIGHT = 0.02  # head_view skips fainter lines
# head_view weight bands (low, high, line width, opacity), strongest first.
LINE_BANDS = ((0.5, np.inf, 5.0, 0.9), (0.15, 0.5, 3.0, 0.55), (MIN_LINE_WEIGHT, 0.15, 1.2, 0.25))
DEFAULT_NOTE = "{total} shown as {shown}"  # title note when a matrix was reduced


def _colorscale(colours: Sequence[str]) -> list[list]:
    """[[position, colour], ...]: the form plotly's validator would produce (see `_figure`)."""
    return [[i / (len(colours) - 1), c] for i, c in enumerate(colours)]


SEQUENTIAL = _colorscale(plotly.colors.sequential.Viridis)
DIVERGING = _colorscale(plotly.colors.diverging.RdBu[::-1])  # negative blue, zero white, positive red
MASKED_COLOUR = "#cfcfcf"  # plot background, seen through NaN (masked) heatmap cells
HIGHLIGHT = "#D55E00"  # Okabe-Ito vermillion
LINE_COLOUR = "#0072B2"  # Okabe-Ito blue
# Okabe-Ito, reordered so the first heads get the most distinct colours; yellow last (weak on white).
HEAD_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")

_AXIS = dict(gridcolor="#e6e6e6", zeroline=False, automargin=True, linecolor="#444444")
# Our own small template: plotly.js knows no template names, and plotly's are ~8 KB per figure.
_TEMPLATE = dict(layout=dict(
    font=dict(size=14), hoverlabel=dict(font=dict(size=14)), paper_bgcolor="white",
    plot_bgcolor="white", xaxis=_AXIS, yaxis=_AXIS, colorway=HEAD_COLOURS,
))


# ---------------------------------------------------------------- helpers


def _figure(data: list[dict], layout: dict) -> go.Figure:
    """A Figure from plain dicts, without plotly's property validation.

    Validation was ~2/3 of the build time of the attention figures. The specs here are written
    in validated form already (explicit colour scales, no None values), and the tests rebuild
    every figure *with* validation and require the same JSON. Unvalidated, string arrays are
    best as plain lists: `to_json` handles them faster than numpy object arrays."""
    return go.Figure(data=data, layout=layout, _validate=False)


def _array(values, ndim: int, what: str) -> np.ndarray:
    """A float32 copy of `values` with `ndim` dimensions, or a ValueError naming `what`.

    A copy, because a figure keeps its arrays and callers may reuse theirs (torch `.numpy()`)."""
    out = np.array(values, dtype=np.float32)
    if out.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions, got shape {out.shape}")
    return out


def _check_len(tokens: Sequence[str], n: int, what: str) -> list[str]:
    tokens = [str(t) for t in tokens]
    if len(tokens) != n:
        raise ValueError(f"{what} has {n} positions but {len(tokens)} tokens were given")
    return tokens


def _escape(text: str) -> str:
    """Plotly parses `<...>` in labels as markup and decodes `&...;`: show them literally."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _positions(tokens: Sequence[str], factor: int = 1) -> tuple[list[str], list[str]]:
    """Unique category names for token positions (what hover shows) and their tick texts.

    With `factor` > 1 each category stands for a block of `factor` consecutive positions."""
    esc = [_escape(t) for t in tokens]
    if factor == 1:
        return [f'"{t}" ({i})' for i, t in enumerate(esc)], esc
    starts = range(0, len(esc), factor)
    ends = [min(s + factor, len(esc)) - 1 for s in starts]
    cats = [f'"{esc[s]}" … "{esc[e]}" ({s}–{e})' for s, e in zip(starts, ends, strict=True)]
    return cats, [esc[s] for s in starts]


def _token_axis(cats: list[str], ticks: list[str], limit: int, **extra) -> dict:
    """Category axis labelled with token texts; at most `limit` tick labels (0 hides them)."""
    if limit == 0:
        return dict(type="category", showticklabels=False, ticks="", showgrid=False, **extra)
    step = math.ceil(len(cats) / limit) if len(cats) > limit else 1
    return dict(type="category", tickmode="array", tickvals=cats[::step], ticktext=ticks[::step],
                showgrid=False, **extra)


def _query_tokens(keys: list[str], query_tokens: Sequence[str] | None, tq: int) -> list[str]:
    """Query labels: given, or the last `tq` keys (self-attention; with a KV cache Tq < Tk)."""
    return _check_len(keys[len(keys) - tq:] if query_tokens is None else query_tokens, tq, "query axis")


def _future(tq: int, tk: int) -> np.ndarray:
    """(Tq, Tk) True where key j is after query i; the last query sits at the last key."""
    return np.triu(np.ones((tq, tk), dtype=bool), k=tk - tq + 1)


def _hidden(pattern: np.ndarray, causal: bool | None) -> np.ndarray | None:
    """The future cells (Tq, Tk) to blank out, or None. `causal=None` detects causal
    attention: every future weight exactly zero, as a masked softmax leaves them."""
    future = _future(*pattern.shape[-2:])
    if causal is None:
        causal = bool(future.any()) and not pattern[..., future].any()
    return future if causal else None


def _block_sum(z: np.ndarray, factor: int) -> np.ndarray:
    """Sum of factor×factor blocks over the last two axes (zero-padded at the ends).

    Adds strided slices: ~10× faster than numpy's sum over a reshaped pair of axes."""
    *lead, rows, cols = z.shape
    rr, cc = -(-rows // factor), -(-cols // factor)
    if (rr * factor, cc * factor) != (rows, cols):
        padded = np.zeros((*lead, rr * factor, cc * factor), dtype=np.float32)
        padded[..., :rows, :cols] = z
        z = padded
    row_sums = sum(z[..., i::factor, :] for i in range(factor))
    return sum(row_sums[..., j::factor] for j in range(factor))


def _reduce(z: np.ndarray, factor: int, hidden: np.ndarray | None = None) -> np.ndarray:
    """`z` (..., R, C) with `hidden` cells (R, C) set to NaN, then averaged in factor×factor
    blocks over the visible cells only; a block with nothing visible is NaN."""
    if factor == 1:
        if hidden is None or not hidden.any():
            return z
        out = z.copy()
        out[..., hidden] = np.nan
        return out
    visible = np.ones(z.shape[-2:], dtype=np.float32) if hidden is None else (~hidden).astype(np.float32)
    counts = _block_sum(visible, factor)
    sums = _block_sum(z if hidden is None else np.where(hidden, np.float32(0), z), factor)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan).astype(np.float32)


def _with_note(title: str, note: str, total: tuple[int, int], shown: tuple[int, int]) -> str:
    text = note.format(total="×".join(map(str, total)), shown="×".join(map(str, shown)))
    return f"{title} ({text})" if title else text


def _id(index: int) -> str:
    """Plotly's axis-id suffix of the `index`-th axis (0-based): "", "2", "3", ..."""
    return str(index + 1) if index else ""


def _layout(title: str, **extra) -> dict:
    """Layout on the shared template; `extra` may override the margins."""
    return {"template": _TEMPLATE, "title": dict(text=_escape(title)),
            "margin": dict(l=10, r=10, t=60, b=10), **extra}


def _signed(z: np.ndarray, mid: float = 0.0) -> dict:
    """Diverging colour scale with `mid` in the white centre."""
    finite = z[np.isfinite(z)]
    reach = float(np.max(np.abs(finite - mid))) if finite.size else 0.0
    reach = reach or 1.0
    return dict(colorscale=DIVERGING, zmin=mid - reach, zmax=mid + reach)


def _attention_hover(query_label: str, key_label: str, weight_label: str, prefix: str = "") -> str:
    return (f"{prefix}{_escape(query_label)}: %{{y}}<br>{_escape(key_label)}: %{{x}}<br>"
            f"{_escape(weight_label)}: %{{z:.3f}}<extra></extra>")


# ---------------------------------------------------------------- attention


def attention_heatmap(
    pattern,
    tokens: Sequence[str],
    *,
    title: str = "",
    query_tokens: Sequence[str] | None = None,
    zmax: float | None = 1.0,
    causal: bool | None = None,
    query_label: str = "query",
    key_label: str = "key",
    weight_label: str = "weight",
    note: str = DEFAULT_NOTE,
) -> go.Figure:
    """One head's attention: rows = queries (top to bottom), columns = keys.

    `tokens` label the keys, `query_tokens` the queries (default: the last Tq keys). Future
    cells of causal attention are blank; `causal=None` detects them. `zmax=None` fits the data."""
    p = _array(pattern, 2, "pattern")  # (Tq, Tk)
    tq, tk = p.shape
    keys = _check_len(tokens, tk, "pattern's key axis")
    queries = _query_tokens(keys, query_tokens, tq)
    factor = math.ceil(max(tq, tk, 1) / MAX_SIDE)
    p = _reduce(p, factor, _hidden(p, causal))  # (Tq', Tk')
    if factor > 1:
        title = _with_note(title, note, (tq, tk), p.shape)
    if zmax is None:
        finite = p[np.isfinite(p)]
        zmax = float(finite.max()) if finite.size else 1.0
    x_cats, x_ticks = _positions(keys, factor)
    y_cats, y_ticks = _positions(queries, factor)
    heat = dict(
        type="heatmap", z=p, x=x_cats, y=y_cats, name="attention", colorscale=SEQUENTIAL, zmin=0.0,
        zmax=zmax, colorbar=dict(title=dict(text=_escape(weight_label))), hoverongaps=False,
        hovertemplate=_attention_hover(query_label, key_label, weight_label),
    )
    return _figure([heat], _layout(
        title, plot_bgcolor=MASKED_COLOUR,
        xaxis=_token_axis(x_cats, x_ticks, TICK_LIMIT, title=dict(text=_escape(key_label)),
                          constrain="domain"),
        yaxis=_token_axis(y_cats, y_ticks, TICK_LIMIT, title=dict(text=_escape(query_label)),
                          autorange="reversed", scaleanchor="x", constrain="domain"),
    ))


def grid_tick_limit(cell_px: int | None = None) -> int:
    """Most token labels an `attention_grid` subplot shows: GRID_TICK_LIMIT, or ≥ 14 px per label."""
    return GRID_TICK_LIMIT if cell_px is None else min(GRID_TICK_LIMIT, int(cell_px) // 14)


def attention_grid(
    patterns,
    tokens: Sequence[str],
    *,
    layer_label: str = "Layer",
    head_label: str = "Head",
    title: str = "",
    query_tokens: Sequence[str] | None = None,
    causal: bool | None = None,
    query_label: str = "query",
    key_label: str = "key",
    weight_label: str = "weight",
    note: str = DEFAULT_NOTE,
    head_names: Sequence[str] | None = None,
    cell_px: int | None = None,
) -> go.Figure:
    """Every layer × head as a small heatmap ("L0 H1"), one shared 0..1 colour scale.

    One trace per head on hand-made axes (`make_subplots` takes ~0.5 s for 12 × 12). Positions
    are averaged in blocks when a cell would be under `MIN_CELL_PX` pixels wide: such cells
    cannot be hovered, yet cost payload and time. `head_names` replaces the column names
    "H0", "H1", ... (e.g. ["mean"] for patterns averaged over heads, shape (L, 1, T, T));
    `cell_px` sets the approximate subplot size (default: the grid fills ~1000 px); token ticks
    are then shown only if each gets ≥ 14 px."""
    p = _array(patterns, 4, "patterns")  # (L, H, Tq, Tk)
    n_layers, n_heads, tq, tk = p.shape
    keys = _check_len(tokens, tk, "patterns' key axis")
    queries = _query_tokens(keys, query_tokens, tq)
    if head_names is None:
        head_names = [f"H{h}" for h in range(n_heads)]
    names = [_escape(n) for n in _check_len(head_names, n_heads, "patterns' head axis")]
    cell = int(cell_px) if cell_px else min(300, 1000 // max(1, n_heads))  # approximate subplot px
    factor = math.ceil(max(tq, tk, 1) / (cell // MIN_CELL_PX))
    p = _reduce(p, factor, _hidden(p, causal))  # (L, H, Tq', Tk')
    if factor > 1:
        title = _with_note(title, note, (tq, tk), p.shape[-2:])
    x_cats, x_ticks = _positions(keys, factor)
    y_cats, y_ticks = _positions(queries, factor)
    most_ticks = grid_tick_limit(cell_px)
    tick_limit = most_ticks if max(tq, tk) <= most_ticks else 0

    title_px = 26
    height = 90 + n_layers * (cell + title_px)
    row_h, gap_y, gap_x = 1 / n_layers, title_px / (height - 90), 0.08 / n_heads
    x_domains = [[h / n_heads, (h + 1) / n_heads - gap_x] for h in range(n_heads)]
    y_domains = [[max(0.0, 1 - (layer + 1) * row_h + 0.2 * gap_y), 1 - layer * row_h - gap_y]
                 for layer in range(n_layers)]
    # One x axis per column and one y axis per row: the trace on (x_h, y_l) is head h of layer l.
    # Ticks sit where an axis is anchored: bottom row and left column.
    layout = {}
    for h, domain in enumerate(x_domains):
        layout[f"xaxis{_id(h)}"] = dict(domain=domain, anchor=f"y{_id(n_layers - 1)}",
                                        **_token_axis(x_cats, x_ticks, tick_limit))
    for layer, domain in enumerate(y_domains):
        layout[f"yaxis{_id(layer)}"] = dict(domain=domain, anchor="x", autorange="reversed",
                                            **_token_axis(y_cats, y_ticks, tick_limit))
    traces, notes = [], []
    for layer in range(n_layers):
        for head in range(n_heads):
            prefix = (f"{_escape(layer_label)} {layer} · {_escape(head_label)} {head}<br>"
                      if names[head] == f"H{head}" else f"{_escape(layer_label)} {layer} · {names[head]}<br>")
            traces.append(dict(
                type="heatmap", z=p[layer, head], x=x_cats, y=y_cats, xaxis=f"x{_id(head)}",
                yaxis=f"y{_id(layer)}", name=f"L{layer} {names[head]}", coloraxis="coloraxis",
                hoverongaps=False,
                hovertemplate=_attention_hover(query_label, key_label, weight_label, prefix),
            ))
            notes.append(dict(text=f"L{layer} {names[head]}", x=sum(x_domains[head]) / 2,
                              y=y_domains[layer][1], xref="paper", yref="paper", xanchor="center",
                              yanchor="bottom", showarrow=False))
    return _figure(traces, _layout(
        title, height=height, plot_bgcolor=MASKED_COLOUR, annotations=notes,
        coloraxis=dict(colorscale=SEQUENTIAL, cmin=0.0, cmax=1.0,
                       colorbar=dict(title=dict(text=_escape(weight_label)))),
        **layout,
    ))


def head_view(
    patterns_layer,
    tokens: Sequence[str],
    *,
    heads: Sequence[int] | None = None,
    title: str = "",
    focus: int | None = None,
    head_label: str = "Head",
    query_label: str = "query",
    key_label: str = "key",
) -> go.Figure:
    """BertViz-style view of one layer: queries on the left, keys on the right, a line for each
    weight ≥ `MIN_LINE_WEIGHT` (wider and darker when bigger), one colour per head.

    Plotly sets line width and opacity per trace, so each head's lines are grouped into
    `LINE_BANDS`; clicking a head in the legend hides it. `focus` keeps one query's lines."""
    p = _array(patterns_layer, 3, "patterns_layer")  # (H, T, T)
    n_heads, tq, tk = p.shape
    if tq != tk:
        raise ValueError(f"head_view needs self-attention (T, T) patterns, got {tq}×{tk}")
    labels = _check_len(tokens, tk, "patterns_layer")
    heads = list(range(n_heads)) if heads is None else [int(h) for h in heads]
    if any(not 0 <= h < n_heads for h in heads):
        raise ValueError(f"heads must be in 0..{n_heads - 1}, got {heads}")
    if focus is not None and not 0 <= focus < tq:
        raise ValueError(f"focus must be a query position in 0..{tq - 1}, got {focus}")

    traces = []
    for h in heads:
        weights = np.nan_to_num(p[h])  # (T, T)
        if focus is not None:
            weights = np.where(np.arange(tq)[:, None] == focus, weights, 0)
        bands = [np.nonzero((weights >= low) & (weights < high)) for low, high, _, _ in LINE_BANDS]
        # The legend entry sits on the strongest band with lines: plotly lists no empty trace.
        legend_band = next((b for b, (qi, _) in enumerate(bands) if qi.size), 0)
        for band, ((qi, kj), (_, _, width, opacity)) in enumerate(zip(bands, LINE_BANDS, strict=True)):
            xs = np.tile(np.array([0, 1, np.nan], dtype=np.float32), qi.size)  # (3n,) from, to, gap
            ys = np.empty(3 * qi.size, dtype=np.float32)
            ys[0::3], ys[1::3], ys[2::3] = qi, kj, np.nan
            traces.append(dict(
                type="scatter", x=xs, y=ys, mode="lines", name=f"{_escape(head_label)} {h}",
                legendgroup=f"head{h}", showlegend=band == legend_band, hoverinfo="skip", opacity=opacity,
                line=dict(width=width, color=HEAD_COLOURS[h % len(HEAD_COLOURS)]),
            ))
    text = [_escape(t) for t in labels]
    sizes = np.full(2 * tq, 9, dtype=np.float32)
    if focus is not None:
        sizes[focus] = 15
    traces.append(dict(  # both token columns in one trace: queries at x=0, then keys at x=1
        type="scatter", x=np.repeat(np.array([0, 1], dtype=np.float32), tq),
        y=np.tile(np.arange(tq, dtype=np.float32), 2), mode="markers+text", name="tokens",
        text=text + text, textposition=["middle left"] * tq + ["middle right"] * tq,
        customdata=[_escape(query_label)] * tq + [_escape(key_label)] * tq,
        marker=dict(size=sizes, color="#555555"), showlegend=False,
        hovertemplate='%{customdata}: "%{text}" (%{y})<extra></extra>',
    ))
    hidden = dict(visible=False, fixedrange=True)
    headers = [dict(text=f"<b>{_escape(word)}</b>", x=x, y=-1.2, xref="x", yref="y", showarrow=False,
                    xanchor=anchor)
               for x, word, anchor in ((0, query_label, "right"), (1, key_label, "left"))]
    return _figure(traces, _layout(
        title, height=max(360, 130 + 22 * tq), annotations=headers, hovermode="closest",
        legend=dict(orientation="h", x=0.5, xanchor="center", y=1.0, yanchor="bottom"),
        xaxis=dict(range=[-1.3, 2.3], **hidden), yaxis=dict(range=[tq - 0.5, -1.8], **hidden),
    ))


def qkv_values(q, k, v, query_index: int, *, causal: bool = True) -> dict[str, np.ndarray]:
    """Every step of attention for one query, in float32 like the model:
    softmax(q_i·Kᵀ/√d + mask) V.

    Keys: q (D,), K (T, D), scores, scaled, masked (−inf where hidden), weights (T,) each,
    V (T, D), z (D,)."""
    q, k, v = _array(q, 2, "q"), _array(k, 2, "k"), _array(v, 2, "v")  # (T, D) each
    if not q.shape == k.shape == v.shape:
        raise ValueError(f"q, k and v must have the same (T, D) shape, got {q.shape}, {k.shape}, {v.shape}")
    t, d = q.shape
    if not 0 <= query_index < t:
        raise ValueError(f"query_index must be in 0..{t - 1}, got {query_index}")
    scores = k @ q[query_index]  # (T,)
    scaled = scores / np.float32(math.sqrt(d))
    masked = scaled.copy()
    if causal:
        masked[query_index + 1:] = -np.inf
    exp = np.exp(masked - masked.max())
    weights = exp / exp.sum()  # (T,)
    return dict(q=q[query_index], K=k, scores=scores, scaled=scaled, masked=masked, weights=weights,
                V=v, z=weights @ v)


STEP_COLUMN_SHARE = 0.085  # of the plot's width, per step column: ~100 px at 1280 px, room for "-12.34"
STEP_COLUMN_PAD = 0.014
HEADING_FONT_PX = 14
NUMBER_FONT_PX = 13
QKV_LABELS = {
    "title": 'Attention step by step for query {index}: "{token}"',
    "q": "q_i (query)",
    "K": "K (keys)",
    "scores": "q_i · k_j",
    "scaled": "÷ √d\n= {sqrt_d:.2f}",
    "masked": "mask",
    "weights": "softmax",
    "V": "V (values)",
    "z": "z_i = Σ_j weight_j · v_j",
    "key": "key",
    "dim": "dim",
    "value": "value",
    "masked_cell": "−∞",
}


def qkv_steps(q, k, v, tokens: Sequence[str], query_index: int, *, causal: bool = True,
              labels: dict | None = None) -> go.Figure:
    """Attention arithmetic for one head and one query, every number printed in its cell.

    q_i sits above K; the per-key columns q·k → ÷√d → mask → softmax line up with the key rows;
    V is on the right with z_i = weights @ V below it. Numbers come from `qkv_values`, so they
    can be checked against the model's cache. `labels` overrides `QKV_LABELS` entries."""
    unknown = set(labels or {}) - set(QKV_LABELS)
    if unknown:
        raise ValueError(f"unknown qkv_steps labels {sorted(unknown)}; allowed: {sorted(QKV_LABELS)}")
    steps = qkv_values(q, k, v, query_index, causal=causal)
    t, d = steps["K"].shape
    keys = _check_len(tokens, t, "k")
    cats, ticks = _positions(keys)
    words = {**QKV_LABELS, **(labels or {})}
    esc = {name: _escape(word) for name, word in words.items()}

    column_numbers = dict(texttemplate="%{z:.2f}", textfont=dict(size=NUMBER_FONT_PX)) if t <= 40 else {}
    matrix_numbers = column_numbers if d <= 8 else {}  # K and V share ~30% of the width each
    dims = np.arange(d, dtype=np.float32)
    one = np.zeros(1, dtype=np.float32)  # x of a single-column panel
    hover_matrix = f"{esc['key']}: %{{y}}<br>{esc['dim']} %{{x}}<br>{esc['value']}: %{{z:.4f}}<extra></extra>"
    hover_vector = f"{esc['dim']} %{{x}}<br>{esc['value']}: %{{z:.4f}}<extra></extra>"

    def column(name: str, z: np.ndarray, axis: int, **style) -> dict:
        """A (T, 1) panel of one per-key step on x axis `axis`, sharing the key rows."""
        return dict(type="heatmap", z=z[:, None], x=one, y=cats, name=name, xaxis=f"x{axis}", yaxis="y",
                    showscale=False, hoverongaps=False,
                    hovertemplate=f"{esc['key']}: %{{y}}<br>{esc[name]}: %{{z:.4f}}<extra></extra>",
                    **style)

    hidden = np.isneginf(steps["masked"])
    masked_text = [[esc["masked_cell"] if h else f"{x:.2f}"]  # (T, 1) like the panel
                   for h, x in zip(hidden, steps["masked"], strict=True)]
    query_cat = [f'"{_escape(keys[query_index])}" ({query_index})']
    traces = [
        dict(type="heatmap", z=steps["q"][None, :], x=dims, y=query_cat, name="q", xaxis="x", yaxis="y2",
             showscale=False, hovertemplate=hover_vector, **matrix_numbers, **_signed(steps["q"])),
        dict(type="heatmap", z=steps["K"], x=dims, y=cats, name="K", xaxis="x", yaxis="y", showscale=False,
             hovertemplate=hover_matrix, **matrix_numbers, **_signed(steps["K"])),
        column("scores", steps["scores"], 2, **column_numbers, **_signed(steps["scores"])),
        column("scaled", steps["scaled"], 3, **column_numbers, **_signed(steps["scaled"])),
        column("masked", np.where(hidden, np.float32(np.nan), steps["masked"]), 4, text=masked_text,
               **(dict(texttemplate="%{text}", textfont=dict(size=NUMBER_FONT_PX)) if column_numbers else {}),
               **_signed(steps["scaled"])),
        column("weights", steps["weights"], 5, colorscale=SEQUENTIAL, zmin=0.0, zmax=1.0, **column_numbers),
        dict(type="heatmap", z=steps["V"], x=dims, y=cats, name="V", xaxis="x6", yaxis="y", showscale=False,
             hovertemplate=hover_matrix, **matrix_numbers, **_signed(steps["V"])),
        dict(type="heatmap", z=steps["z"][None, :], x=dims, y=["z"], name="z", xaxis="x6",
             yaxis="y3", showscale=False, hovertemplate=hover_vector, **matrix_numbers,
             **_signed(steps["z"])),
    ]

    # Geometry: rows in pixels (q_i | keys, T cells | z_i, with room above each for its heading),
    # columns as fractions of the plot's width. The four per-key steps get a FIXED share each
    # (STEP_COLUMN_SHARE), whatever d is: sized by cells they were 1.8/(2d+11) of the width, ~20 px
    # at d=48, and their headings ran together and numbers were cut. K and V share the rest.
    cell = 30 if t <= 20 else max(10, 600 // t)
    gap = 56  # two-line headings ("÷ √48" over "= 6.93") at HEADING_FONT_PX
    plot_h = cell + gap + t * cell + gap + cell
    main = [(gap + cell) / plot_h, 1 - (cell + gap) / plot_h]
    n_steps, pad = 4, STEP_COLUMN_PAD
    matrix_share = (1 - n_steps * STEP_COLUMN_SHARE - (n_steps + 1) * pad) / 2
    widths = [matrix_share, *[STEP_COLUMN_SHARE] * n_steps, matrix_share]
    starts = np.cumsum([0.0] + [w + pad for w in widths[:-1]])
    x_domains = [[float(s), min(1.0, float(s + w))] for s, w in zip(starts, widths, strict=True)]
    no_ticks = dict(showticklabels=False, ticks="", showgrid=False)
    layout = dict(
        xaxis=dict(domain=x_domains[0], anchor="y", showgrid=False),
        yaxis=_token_axis(cats, ticks, TICK_LIMIT, domain=main, anchor="x", autorange="reversed",
                          title=dict(text=esc["key"])),
        yaxis2=_token_axis(query_cat, [_escape(keys[query_index])], 1,
                           domain=[1 - cell / plot_h, 1], anchor="x"),
        yaxis3=dict(domain=[0, cell / plot_h], anchor="x6", **no_ticks),
        xaxis6=dict(domain=x_domains[5], anchor="y3", showgrid=False),
        **{f"xaxis{i}": dict(domain=x_domains[i - 1], anchor="y", **no_ticks) for i in range(2, 6)},
    )
    panels = [("q", 0, 1.0), ("K", 0, main[1]), ("scores", 1, main[1]), ("scaled", 2, main[1]),
              ("masked", 3, main[1]), ("weights", 4, main[1]), ("V", 5, main[1]), ("z", 5, cell / plot_h)]
    notes = [dict(text=_escape(words[name].format(sqrt_d=math.sqrt(d))).replace("\n", "<br>"),
                  x=sum(x_domains[col]) / 2, y=y, xref="paper", yref="paper", xanchor="center",
                  yanchor="bottom", showarrow=False, font=dict(size=HEADING_FONT_PX),
                  name=f"heading-{name}")
             for name, col, y in panels]
    title = words["title"].format(index=query_index, token=keys[query_index])
    return _figure(traces, _layout(
        title, height=plot_h + 110, annotations=notes, plot_bgcolor=MASKED_COLOUR,
        margin=dict(l=10, r=10, t=90, b=20), **layout,
    ))


# ---------------------------------------------------------------- embeddings


def embedding_heatmap(
    matrix,
    tokens: Sequence[str],
    *,
    title: str = "",
    zmid: float = 0.0,
    xlabel: str = "dimension",
    ylabel: str = "token",
    value_label: str = "value",
    note: str = DEFAULT_NOTE,
) -> go.Figure:
    """One vector per row (token), on a diverging scale centred at `zmid`.

    Big matrices are *strided* (every k-th row / dimension), not averaged: averaging unrelated
    dimensions would wash the values out. The x axis keeps the true dimension numbers."""
    m = _array(matrix, 2, "matrix")  # (T, d_model)
    t, d = m.shape
    labels = _check_len(tokens, t, "matrix")
    row_step, col_step = max(1, math.ceil(t / MAX_SIDE)), max(1, math.ceil(d / MAX_SIDE))
    rows, dims = np.arange(0, t, row_step), np.arange(0, d, col_step, dtype=np.float32)
    if row_step > 1 or col_step > 1:
        m = np.ascontiguousarray(m[::row_step, ::col_step])
        title = _with_note(title, note, (t, d), m.shape)
    esc = [_escape(labels[i]) for i in rows]
    cats = [f'"{tok}" ({i})' for tok, i in zip(esc, rows, strict=True)]
    heat = dict(
        type="heatmap", z=m, x=dims, y=cats, name="embedding", zmid=zmid,
        colorbar=dict(title=dict(text=_escape(value_label))), **_signed(m, zmid),
        hovertemplate=(f"{_escape(ylabel)}: %{{y}}<br>{_escape(xlabel)}: %{{x}}<br>"
                       f"{_escape(value_label)}: %{{z:.3f}}<extra></extra>"),
    )
    return _figure([heat], _layout(
        title, height=min(900, max(300, 120 + 24 * len(rows))),
        xaxis=dict(title=dict(text=_escape(xlabel)), showgrid=False),
        yaxis=_token_axis(cats, esc, TICK_LIMIT, title=dict(text=_escape(ylabel)), autorange="reversed"),
    ))


def similarity_heatmap(
    sim,
    tokens: Sequence[str],
    *,
    title: str = "",
    value_label: str = "cosine",
    note: str = DEFAULT_NOTE,
) -> go.Figure:
    """Pairwise cosine similarity (T, T) in [-1, 1]: red alike, white unrelated, blue opposite."""
    s = _array(sim, 2, "sim")  # (T, T)
    if s.shape[0] != s.shape[1]:
        raise ValueError(f"sim must be square (T, T), got {s.shape}")
    t = s.shape[0]
    labels = _check_len(tokens, t, "sim")
    factor = math.ceil(max(t, 1) / MAX_SIDE)
    if factor > 1:
        s = _reduce(s, factor)
        title = _with_note(title, note, (t, t), s.shape)
    cats, ticks = _positions(labels, factor)
    heat = dict(
        type="heatmap", z=s, x=cats, y=cats, name="similarity", colorscale=DIVERGING, zmin=-1.0, zmax=1.0,
        colorbar=dict(title=dict(text=_escape(value_label))),
        hovertemplate=f"%{{y}}<br>%{{x}}<br>{_escape(value_label)}: %{{z:.3f}}<extra></extra>",
    )
    return _figure([heat], _layout(
        title,
        xaxis=_token_axis(cats, ticks, TICK_LIMIT, constrain="domain"),
        yaxis=_token_axis(cats, ticks, TICK_LIMIT, autorange="reversed", scaleanchor="x", constrain="domain"),
    ))


def pca_basis(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mean (d,), first two principal components (2, d) and their explained-variance ratios
    (2,) of the rows of `matrix` (N, d). Eigenvectors of the d×d covariance: for GPT-2's
    50,257×768 vocabulary that takes ~1 s where a full SVD took over a minute; sklearn is not a
    dependency. Each component's sign is fixed (largest loading positive) so the picture does
    not flip between runs; missing components (fewer rows or dimensions than 2) stay zero."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"matrix must be (N, d), got shape {m.shape}")
    mean = m.mean(axis=0)
    centred = m - mean
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)  # ascending; (d,), (d, d)
    variance = np.clip(eigvals[::-1], 0.0, None)  # largest first; = squared singular values
    vt = eigvecs[:, ::-1].T  # (d, d): row i is component i
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    vt = vt * np.where(signs == 0, 1.0, signs)[:, None]
    n = min(2, len(vt), m.shape[0])
    components, ratios = np.zeros((2, m.shape[1])), np.zeros(2)
    components[:n] = vt[:n]
    if variance.sum() > 0:
        ratios[:n] = variance[:n] / variance.sum()
    return mean, components, ratios


def pca_2d(matrix) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `matrix` (N, d) projected on their first two principal components (`pca_basis`).

    Returns points (N, 2) and the explained-variance ratios (2,), both float32."""
    mean, components, ratios = pca_basis(matrix)
    points = (np.asarray(matrix, dtype=np.float64) - mean) @ components.T
    return points.astype(np.float32), ratios.astype(np.float32)


def pca_scatter(
    points_2d,
    labels: Sequence[str],
    *,
    highlight: Sequence[int] = (),
    title: str = "",
    xlabel: str = "PC 1",
    ylabel: str = "PC 2",
) -> go.Figure:
    """The whole vocabulary as dots (hover: the token); `highlight` ids drawn larger with their
    text. WebGL (scattergl) above 1000 points keeps big vocabularies smooth."""
    pts = _array(points_2d, 2, "points_2d")  # (N, 2)
    if pts.shape[1] != 2:
        raise ValueError(f"points_2d must be (N, 2), got {pts.shape}")
    names = [_escape(t) for t in _check_len(labels, pts.shape[0], "points_2d")]
    ids = np.array([int(i) for i in highlight], dtype=np.int64)
    if np.any((ids < 0) | (ids >= len(names))):
        raise ValueError(f"highlight ids must be in 0..{len(names) - 1}, got {ids.tolist()}")
    traces = [dict(
        type="scattergl" if len(names) > 1000 else "scatter", x=pts[:, 0].copy(), y=pts[:, 1].copy(),
        mode="markers", text=names, name="vocab", showlegend=False, hovertemplate="%{text}<extra></extra>",
        marker=dict(size=5, color=LINE_COLOUR, opacity=0.45),
    )]
    if ids.size:
        traces.append(dict(
            type="scatter", x=pts[ids, 0], y=pts[ids, 1], mode="markers+text", text=[names[i] for i in ids],
            textposition="top center", textfont=dict(size=16), name="highlight", showlegend=False,
            hovertemplate="%{text}<extra></extra>",
            marker=dict(size=13, color=HIGHLIGHT, line=dict(width=1, color="black")),
        ))
    return _figure(traces, _layout(
        title, xaxis=dict(title=dict(text=_escape(xlabel))), yaxis=dict(title=dict(text=_escape(ylabel))),
    ))


# ---------------------------------------------------------------- training and sampling


def loss_curve(
    steps,
    train_loss,
    val_steps=(),
    val_loss=(),
    *,
    title: str = "",
    xlabel: str = "step",
    ylabel: str = "loss",
    train_label: str = "train",
    val_label: str = "validation",
    score_steps=(),
    scores=(),
    score_label: str = "induction score",
    score_threshold: float | None = None,
) -> go.Figure:
    """Training loss as a line, validation loss as dashed line with dots; empty inputs are fine
    (the plot before the first step). With `scores` (values in 0..1, e.g. an induction score
    measured during training), a third line on a right-hand 0-1 axis, with an optional dotted
    `score_threshold`: the loss falls when the head forms, so the two belong on one plot."""
    x, y = _array(steps, 1, "steps"), _array(train_loss, 1, "train_loss")
    vx, vy = _array(val_steps, 1, "val_steps"), _array(val_loss, 1, "val_loss")
    sx, sy = _array(score_steps, 1, "score_steps"), _array(scores, 1, "scores")
    if x.shape != y.shape or vx.shape != vy.shape or sx.shape != sy.shape:
        raise ValueError("steps and values must have equal lengths, got "
                         f"{x.size} and {y.size} (train), {vx.size} and {vy.size} (validation), "
                         f"{sx.size} and {sy.size} (scores)")

    def line(xs: np.ndarray, ys: np.ndarray, label: str, **style) -> dict:
        hover = f"{_escape(xlabel)} %{{x:d}}<br>{_escape(label)}: %{{y:.4f}}<extra></extra>"
        return dict(type="scatter", x=xs, y=ys, name=_escape(label), hovertemplate=hover, **style)

    traces = [
        line(x, y, train_label, mode="lines", line=dict(color=LINE_COLOUR, width=2)),
        line(vx, vy, val_label, mode="lines+markers", line=dict(color="#E69F00", width=2, dash="dash"),
             marker=dict(size=8)),
    ]
    extra = {}
    if sx.size:
        traces.append(line(sx, sy, score_label, mode="lines+markers", yaxis="y2",
                           line=dict(color="#009E73", width=2), marker=dict(size=5)))
        extra["yaxis2"] = dict(title=dict(text=_escape(score_label)), overlaying="y", side="right",
                               range=[0, 1], showgrid=False, zeroline=False)
        if score_threshold is not None:
            extra["shapes"] = [dict(type="line", xref="paper", x0=0, x1=1, yref="y2", y0=score_threshold,
                                    y1=score_threshold, line=dict(color="#009E73", width=1, dash="dot"))]
    return _figure(traces, _layout(
        title, xaxis=dict(title=dict(text=_escape(xlabel))), yaxis=dict(title=dict(text=_escape(ylabel))),
        legend=dict(x=1, xanchor="right", y=1, yanchor="top"), **extra,
    ))


def token_probability_bars(
    tokens: Sequence[str],
    probs,
    *,
    title: str = "",
    xlabel: str = "probability",
) -> go.Figure:
    """Candidate next tokens as horizontal bars, most likely on top, percentages printed."""
    p = _array(probs, 1, "probs")  # (N,)
    labels = _check_len(tokens, p.size, "probs")
    order = np.argsort(-p, kind="stable")
    esc = [_escape(labels[i]) for i in order]
    positions = np.arange(p.size, dtype=np.float32)  # numbers, not categories: tokens may repeat
    bar = dict(
        type="bar", x=p[order], y=positions, orientation="h", customdata=esc, name="probability",
        marker=dict(color=LINE_COLOUR), texttemplate="%{x:.1%}", textposition="outside", cliponaxis=False,
        hovertemplate=f'"%{{customdata}}"<br>{_escape(xlabel)}: %{{x:.2%}}<extra></extra>',
    )
    top = float(p.max()) if p.size else 0.0
    return _figure([bar], _layout(
        title, height=max(250, 110 + 30 * p.size), bargap=0.25,
        xaxis=dict(title=dict(text=_escape(xlabel)), tickformat=".0%", range=[0, top * 1.18 or 1.0]),
        yaxis=dict(tickmode="array", tickvals=positions, ticktext=esc, autorange="reversed", showgrid=False),
    ))


# ---------------------------------------------------------------- export


_TYPED = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
          "float32": "f4", "float64": "f8"}


def _typed_array(value):
    """orjson `default` hook: numpy data as plotly.js typed arrays, the way plotly's to_json
    writes them ({"dtype": "f4", "bdata": base64, "shape": "R, C"})."""
    if isinstance(value, np.generic):
        return value.item()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"cannot serialise {type(value).__name__}")
    if value.size and value.dtype == np.int64:  # narrowed like plotly does
        lo, hi = int(value.min()), int(value.max())
        for kind in (np.int8, np.int16, np.int32):
            if np.iinfo(kind).min <= lo and hi <= np.iinfo(kind).max:
                value = value.astype(kind)
                break
    short = _TYPED.get(str(value.dtype))
    if not value.size or short is None:
        return value.tolist()
    spec = {"dtype": short, "bdata": base64.b64encode(np.ascontiguousarray(value).data).decode("ascii")}
    if value.ndim > 1:
        spec["shape"] = str(value.shape)[1:-1]
    return spec


def to_json(fig: go.Figure) -> str:
    """The figure as plotly JSON, like `fig.to_json()` but several times faster.

    plotly deep-copies the whole figure and walks every list item before encoding; for the
    attention figures that was about half of the server time. Here orjson encodes the figure's
    own dicts directly and numpy arrays become the same base64 typed arrays. Equal to
    `fig.to_json()` once parsed (a test checks every figure here); no arrays under "range"
    keys (plotly leaves those as lists). Without orjson this falls back to `fig.to_json()`."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson comes with gradio and plotly's extras
        return fig.to_json()
    spec = {"data": fig._data, "layout": fig._layout}
    if fig._frame_objs:
        spec["frames"] = [frame._props for frame in fig._frame_objs]
    return orjson.dumps(spec, default=_typed_array).decode("utf-8")


def figure_data(fig: go.Figure) -> dict[str, dict[str, np.ndarray]]:
    """The numbers behind a figure, {trace name: {"x" | "y" | "z": array}}, for tests and export.

    A repeated name gets "#<trace index>" appended (head_view has one trace per weight band)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for i, trace in enumerate(fig.data):
        name = trace.name or f"trace{i}"
        if name in out:
            name = f"{name}#{i}"
        out[name] = {field: np.asarray(trace[field]) for field in ("x", "y", "z")
                     if field in trace and trace[field] is not None}
    return out


# ---------------------------------------------------------------- worked example


def matrix_panels(
    panels: Sequence[dict],
    *,
    between: Sequence[str] = (),
    title: str = "",
    masked_text: str = "−∞",
    digits: int = 3,
) -> go.Figure:
    """Small matrices side by side with every number printed in its cell: an equation
    ("W_e · x = e") or a pipeline ("QKᵀ → ÷√d → softmax"), big enough for a projector.

    Each panel is a dict: `z` (R, C), `title`, `rows` (R labels), `cols` (C labels), optional
    `kind` ("signed": blue-white-red around 0, the default; "weights": Viridis 0..1) and
    `highlight` (("row" | "col", index): outlined). NaN cells are masked: grey, `masked_text`.
    `between[i]` is drawn between panel i and i + 1 (e.g. "·", "=", "→")."""
    if not panels:
        raise ValueError("matrix_panels needs at least one panel")
    zs = [_array(p["z"], 2, f"panel {i} z") for i, p in enumerate(panels)]
    for i, (p, z) in enumerate(zip(panels, zs, strict=True)):
        _check_len(p["rows"], z.shape[0], f"panel {i} rows")
        _check_len(p["cols"], z.shape[1], f"panel {i} cols")
    if len(between) not in (0, len(panels) - 1):
        raise ValueError(f"between needs {len(panels) - 1} operators, got {len(between)}")
    cell, gap = 56, 2.2  # pixels per cell; gap between panels in cells (operator + tick labels)
    widths = [max(z.shape[1], 1) for z in zs]
    total = sum(widths) + gap * (len(zs) - 1)
    starts = np.cumsum([0] + [w + gap for w in widths[:-1]])
    n_rows = max(z.shape[0] for z in zs)
    plot_h = n_rows * cell
    traces, notes, shapes, layout = [], [], [], {}
    for i, (p, z) in enumerate(zip(panels, zs, strict=True)):
        x0, x1 = starts[i] / total, (starts[i] + widths[i]) / total
        h = z.shape[0] * cell / plot_h  # panels are top-aligned, cells stay square-ish
        ax = _id(i)
        rows = [_escape(r) for r in p["rows"]]
        cols = [_escape(c) for c in p["cols"]]
        # Category names unique per panel and position; tick text shows the bare label.
        ycats, xcats = [f"{r} ({j})" for j, r in enumerate(rows)], [f"{c} ({j})" for j, c in enumerate(cols)]
        text = [[_number(float(v), digits, masked_text) for v in row] for row in z]
        style = (dict(colorscale=SEQUENTIAL, zmin=0.0, zmax=1.0) if p.get("kind") == "weights"
                 else _signed(z))
        traces.append(dict(
            type="heatmap", z=z, x=xcats, y=ycats, text=text, texttemplate="%{text}",
            textfont=dict(size=18), xaxis=f"x{ax}", yaxis=f"y{ax}", showscale=False, xgap=2, ygap=2,
            name=str(p.get("name", p.get("title", f"panel{i}"))), hoverongaps=False,
            hovertemplate=f"%{{y}} · %{{x}}<br>%{{text}}<extra>{_escape(p.get('title', ''))}</extra>",
            **style,
        ))
        layout[f"xaxis{ax}"] = dict(domain=[x0, x1], anchor=f"y{ax}", side="top", type="category",
                                    tickmode="array", tickvals=xcats, ticktext=cols, showgrid=False,
                                    tickfont=dict(size=15))
        layout[f"yaxis{ax}"] = dict(domain=[1 - h, 1], anchor=f"x{ax}", type="category", autorange="reversed",
                                    tickmode="array", tickvals=ycats, ticktext=rows, showgrid=False,
                                    tickfont=dict(size=15))
        notes.append(dict(text=f"<b>{_escape(p.get('title', ''))}</b>", x=(x0 + x1) / 2, y=1,
                          yshift=42, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                          showarrow=False, font=dict(size=17)))
        if i < len(between):
            notes.append(dict(text=f"<b>{_escape(between[i])}</b>",
                              x=(starts[i] + widths[i] + gap * 0.3) / total, y=1 - n_rows * cell / plot_h / 2,
                              xref="paper", yref="paper", showarrow=False, font=dict(size=28)))
        if p.get("highlight") is not None:
            which, j = p["highlight"]
            if which == "col":
                box = dict(x0=j - 0.5, x1=j + 0.5, y0=-0.5, y1=z.shape[0] - 0.5)
            else:
                box = dict(x0=-0.5, x1=z.shape[1] - 0.5, y0=j - 0.5, y1=j + 0.5)
            shapes.append(dict(type="rect", xref=f"x{ax}", yref=f"y{ax}", line=dict(color=HIGHLIGHT, width=4),
                               fillcolor="rgba(0,0,0,0)", **box))
    head = _layout(title, height=plot_h + 175, annotations=notes, shapes=shapes, plot_bgcolor=MASKED_COLOUR,
                   margin=dict(l=10, r=10, t=145, b=10), **layout)
    head["title"].update(x=0.5, xanchor="center", y=0.99, yanchor="top", font=dict(size=19))
    return _figure(traces, head)


def _number(v: float, digits: int, masked_text: str) -> str:
    """A cell's text: whole numbers bare ("1"), others with `digits` decimals ("0.390");
    NaN and −∞ (masked) are `masked_text`."""
    if np.isnan(v) or np.isneginf(v):
        return masked_text
    if abs(v - round(v)) < 0.5 * 10**-digits:
        return str(int(round(v))) if round(v) != 0 else "0"
    return f"{v:.{digits}f}"


def lab_losses(
    runs: Sequence[tuple[str, Sequence[float]]],
    printed: Sequence[float],
    *,
    reference: float | None = None,
    title: str = "",
    xlabel: str = "epoch",
    ylabel: str = "loss",
    printed_label: str = "article (printed)",
    reference_label: str = "ln(vocab): uniform guess",
) -> go.Figure:
    """Measured loss curves per epoch (first run solid blue, later ones other colours) beside
    the article's printed numbers (orange dashed with dots) and an optional horizontal
    `reference` line (grey dotted), e.g. ln(10,000) — the loss of a uniform guess."""
    colours = (LINE_COLOUR, "#009E73", "#CC79A7", "#000000")
    traces = []
    for i, (label, losses) in enumerate(runs):
        y = _array(losses, 1, f"run {i} losses")
        x = np.arange(1, y.size + 1, dtype=np.float32)
        traces.append(dict(
            type="scatter", x=x, y=y, mode="lines+markers", name=_escape(label),
            line=dict(color=colours[i % len(colours)], width=3 if i == 0 else 2,
                      dash="solid" if i == 0 else "dot"),
            marker=dict(size=8),
            hovertemplate=f"{_escape(xlabel)} %{{x:d}}<br>{_escape(label)}: %{{y:.4f}}<extra></extra>",
        ))
    py = _array(printed, 1, "printed")
    traces.append(dict(
        type="scatter", x=np.arange(1, py.size + 1, dtype=np.float32), y=py, mode="lines+markers",
        name=_escape(printed_label), line=dict(color="#E69F00", width=2, dash="dash"), marker=dict(size=9),
        hovertemplate=f"{_escape(xlabel)} %{{x:d}}<br>{_escape(printed_label)}: %{{y:.4f}}<extra></extra>",
    ))
    shapes, notes = [], []
    if reference is not None:
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=reference, y1=reference,
                           line=dict(color="#666666", width=2, dash="dot")))
        notes.append(dict(text=f"{_escape(reference_label)} = {reference:.2f}", xref="paper", x=0.99,
                          yref="y", y=reference, xanchor="right", yanchor="bottom", showarrow=False,
                          font=dict(color="#444444")))
    return _figure(traces, _layout(
        title, height=460, shapes=shapes, annotations=notes,
        xaxis=dict(title=dict(text=_escape(xlabel)), dtick=1),
        yaxis=dict(title=dict(text=_escape(ylabel)), rangemode="tozero"),
        legend=dict(x=0.99, xanchor="right", y=0.75, yanchor="top", bgcolor="rgba(255,255,255,0.85)",
                    font=dict(size=15)),
    ))
