"""Plotly figures for the playground: numpy arrays + labels in, `go.Figure` out.

Pure functions with no torch or gradio, so notebooks, tests and the UI draw the same pictures.
Conventions that hold everywhere:

- Data is float32 numpy (plotly ships it as compact base64), and matrices wider than
  `MAX_SIDE` are reduced before plotting, with a note in the title.
- Token axes use one *unique* category per position ('"cat" (3)') so a token that occurs twice
  keeps two rows; tick labels show the bare token text. Labels are HTML-escaped because plotly
  renders `<b>`-like text as markup (byte tokens look like "<e7 8b>").
- Masked (future) attention is NaN: drawn as the grey plot background, never as a zero colour.
- Colour scales are colour-blind safe: Viridis for weights, blue-white-red for signed values.
- Every visible word is a keyword argument with an English default, for translation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

MAX_SIDE = 256  # a heatmap side longer than this is reduced
GRID_CELLS = 128 * 128 * 16  # total cells drawn by attention_grid before T is averaged down
TICK_LIMIT = 48  # most tick labels on one heatmap axis
GRID_TICK_LIMIT = 24  # attention_grid shows token ticks only up to this many positions
MIN_LINE_WEIGHT = 0.02  # head_view skips fainter lines
SEQUENTIAL = "Viridis"
DIVERGING = "RdBu_r"  # negative blue, zero white, positive red
MASKED_COLOUR = "#cfcfcf"  # plot background, seen through NaN (masked) heatmap cells
HIGHLIGHT = "#D55E00"  # Okabe-Ito vermillion
# Okabe-Ito, reordered so the first heads get the most distinct colours; yellow last (weak on white).
HEAD_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
DEFAULT_NOTE = "{total} shown as {shown}"

_AXIS = dict(gridcolor="#e6e6e6", zeroline=False, automargin=True, linecolor="#444444")
# A small template: plotly's named templates cost ~10 ms to validate per figure.
_TEMPLATE = dict(
    layout=dict(
        font=dict(size=14),
        hoverlabel=dict(font=dict(size=14)),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=_AXIS,
        yaxis=_AXIS,
        colorway=HEAD_COLOURS,
    )
)


# ---------------------------------------------------------------- helpers


def _array(values, ndim: int, what: str) -> np.ndarray:
    """`values` as float32 with `ndim` dimensions, or a ValueError naming `what`."""
    out = np.asarray(values, dtype=np.float32)
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


def _positions(tokens: Sequence[str], factor: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Unique category names for token positions (what hover shows) and their tick texts.

    With `factor` > 1 each category stands for a block of `factor` consecutive positions.
    Object arrays, not lists: plotly deep-copies and checks lists item by item (~10× slower)."""
    esc = [_escape(t) for t in tokens]
    if factor == 1:
        return _strings(f'"{t}" ({i})' for i, t in enumerate(esc)), _strings(esc)
    cats, ticks = [], []
    for start in range(0, len(esc), factor):
        end = min(start + factor, len(esc)) - 1
        cats.append(f'"{esc[start]}" … "{esc[end]}" ({start}–{end})')
        ticks.append(esc[start])
    return _strings(cats), _strings(ticks)


def _strings(items) -> np.ndarray:
    return np.array(list(items), dtype=object)


def _token_axis(cats: np.ndarray, ticks: np.ndarray, limit: int, **extra) -> dict:
    """Category axis labelled with token texts; at most `limit` ticks (0 hides them)."""
    if limit == 0:
        return dict(type="category", showticklabels=False, ticks="", showgrid=False, **extra)
    step = math.ceil(len(cats) / limit) if len(cats) > limit else 1
    return dict(type="category", tickmode="array", tickvals=cats[::step], ticktext=ticks[::step],
                showgrid=False, **extra)


def _future(tq: int, tk: int) -> np.ndarray:
    """(Tq, Tk) True where key j is after query i; the last query sits at the last key."""
    return np.triu(np.ones((tq, tk), dtype=bool), k=tk - tq + 1)


def _mask_future(pattern: np.ndarray, causal: bool | None) -> np.ndarray:
    """Copy of `pattern` (..., Tq, Tk) with future cells NaN.

    `causal=None` detects causal attention: every future weight exactly zero."""
    future = _future(*pattern.shape[-2:])
    if causal is None:
        causal = future.any() and not np.any(pattern[..., future])
    if not causal:
        return pattern
    out = pattern.copy()
    out[..., future] = np.nan
    return out


def _block_mean(z: np.ndarray, factor: int) -> np.ndarray:
    """Mean of factor×factor blocks over the last two axes, ignoring NaN; all-NaN blocks stay NaN."""
    *lead, rows, cols = z.shape
    rr, cc = -(-rows // factor), -(-cols // factor)
    padded = np.full((*lead, rr * factor, cc * factor), np.nan, dtype=np.float32)
    padded[..., :rows, :cols] = z
    blocks = padded.reshape(*lead, rr, factor, cc, factor)
    valid = ~np.isnan(blocks)
    total = np.where(valid, blocks, 0).sum(axis=(-3, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (total / valid.sum(axis=(-3, -1))).astype(np.float32)


def _shape(rows: int, cols: int) -> str:
    return f"{rows}×{cols}"


def _with_note(title: str, note: str, total: tuple[int, int], shown: tuple[int, int]) -> str:
    text = note.format(total=_shape(*total), shown=_shape(*shown))
    return f"{title} ({text})" if title else text


def _layout(title: str, **extra) -> dict:
    """Layout with the shared template; `extra` may override the margins."""
    return {"template": _TEMPLATE, "title": dict(text=_escape(title)), "margin": dict(l=10, r=10, t=60, b=10),
            **extra}


def _symmetric_range(z: np.ndarray, mid: float) -> tuple[float, float]:
    """(zmin, zmax) centred on `mid` so that `mid` is the white of the diverging scale."""
    finite = z[np.isfinite(z)]
    reach = float(np.max(np.abs(finite - mid))) if finite.size else 0.0
    reach = reach or 1.0
    return mid - reach, mid + reach


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

    `tokens` label the keys, `query_tokens` the queries (default: the same tokens). Future cells
    of causal attention are blank; `causal=None` detects them. `zmax=None` scales to the data."""
    p = _array(pattern, 2, "pattern")  # (Tq, Tk)
    tq, tk = p.shape
    keys = _check_len(tokens, tk, "pattern's key axis")
    queries = _check_len(tokens if query_tokens is None else query_tokens, tq, "pattern's query axis")
    p = _mask_future(p, causal)
    factor = math.ceil(max(tq, tk, 1) / MAX_SIDE)
    if factor > 1:
        p = _block_mean(p, factor)
        title = _with_note(title, note, (tq, tk), p.shape)
    x_cats, x_ticks = _positions(keys, factor)
    y_cats, y_ticks = _positions(queries, factor)
    heat = go.Heatmap(
        z=p, x=x_cats, y=y_cats, name="attention", colorscale=SEQUENTIAL, zmin=0.0,
        zmax=zmax if zmax is not None else float(np.nanmax(p)) if np.isfinite(p).any() else 1.0,
        colorbar=dict(title=dict(text=_escape(weight_label))), hoverongaps=False,
        hovertemplate=_attention_hover(query_label, key_label, weight_label),
    )
    layout = _layout(
        title, plot_bgcolor=MASKED_COLOUR,
        xaxis=_token_axis(x_cats, x_ticks, TICK_LIMIT, title=dict(text=_escape(key_label)), constrain="domain"),
        yaxis=_token_axis(y_cats, y_ticks, TICK_LIMIT, title=dict(text=_escape(query_label)),
                          autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    return go.Figure(data=[heat], layout=layout)


def attention_grid(
    patterns,
    tokens: Sequence[str],
    *,
    layer_label: str = "Layer",
    head_label: str = "Head",
    title: str = "",
    causal: bool | None = None,
    query_label: str = "query",
    key_label: str = "key",
    weight_label: str = "weight",
    note: str = DEFAULT_NOTE,
) -> go.Figure:
    """Every layer × head as small heatmaps on one shared 0..1 colour scale.

    One trace per head and hand-made axis domains: `make_subplots` takes ~0.5 s for 12 × 12.
    Positions are averaged in blocks when the grid would draw more than `GRID_CELLS` cells."""
    p = _array(patterns, 4, "patterns")  # (L, H, Tq, Tk)
    n_layers, n_heads, tq, tk = p.shape
    keys = _check_len(tokens, tk, "patterns' key axis")
    queries = keys if tq == tk else [str(i) for i in range(tq)]
    p = _mask_future(p, causal)
    side = max(8, math.isqrt(GRID_CELLS // max(1, n_layers * n_heads)))
    factor = math.ceil(max(tq, tk, 1) / side)
    if factor > 1:
        p = _block_mean(p, factor)
        title = _with_note(title, note, (tq, tk), p.shape[-2:])
    x_cats, x_ticks = _positions(keys, factor)
    y_cats, y_ticks = _positions(queries, factor)
    tick_limit = GRID_TICK_LIMIT if max(tq, tk) <= GRID_TICK_LIMIT else 0

    cell = min(300, 1000 // n_heads)  # approximate subplot size in px
    title_px = 26
    height = 90 + n_layers * (cell + title_px)
    gap_x = 0.08 / n_heads if tick_limit == 0 else 0.25 / n_heads
    row_h = 1 / n_layers
    gap_y = title_px / (height - 90)
    traces, layout, notes = [], {}, []
    for layer in range(n_layers):
        top = 1 - layer * row_h
        y_domain = [max(0.0, top - row_h + (0.2 * gap_y if tick_limit == 0 else 2 * gap_y)), top - gap_y]
        for head in range(n_heads):
            n = layer * n_heads + head + 1
            suffix = "" if n == 1 else str(n)
            x_domain = [head / n_heads, (head + 1) / n_heads - gap_x]
            traces.append(go.Heatmap(
                z=p[layer, head], x=x_cats, y=y_cats, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                coloraxis="coloraxis", name=f"L{layer} H{head}", hoverongaps=False,
                hovertemplate=_attention_hover(
                    query_label, key_label, weight_label,
                    prefix=f"{_escape(layer_label)} {layer} · {_escape(head_label)} {head}<br>"),
            ))
            last_row, first_col = layer == n_layers - 1, head == 0
            layout[f"xaxis{suffix}"] = _token_axis(
                x_cats, x_ticks, tick_limit if last_row else 0, domain=x_domain, anchor=f"y{suffix}")
            layout[f"yaxis{suffix}"] = _token_axis(
                y_cats, y_ticks, tick_limit if first_col else 0, domain=y_domain, anchor=f"x{suffix}",
                autorange="reversed")
            notes.append(dict(text=f"L{layer} H{head}", x=sum(x_domain) / 2, y=y_domain[1], xref="paper",
                              yref="paper", xanchor="center", yanchor="bottom", showarrow=False))
    return go.Figure(data=traces, layout=_layout(
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
    """BertViz-style view of one layer: queries on the left, keys on the right, one line per
    weight ≥ `MIN_LINE_WEIGHT`, darker and wider for bigger weights, one colour per head.

    Plotly line opacity is per trace, so each head's lines are grouped into a few weight bands;
    clicking a head in the legend hides it. `focus` keeps only the lines from that query."""
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

    bands = ((0.6, np.inf, 5.0, 1.0), (0.3, 0.6, 3.5, 0.75), (0.1, 0.3, 2.0, 0.5), (MIN_LINE_WEIGHT, 0.1, 1.0, 0.3))
    traces = []
    for h in heads:
        weights = np.nan_to_num(p[h])  # (T, T)
        if focus is not None:
            keep = np.zeros_like(weights)
            keep[focus] = weights[focus]
            weights = keep
        for b, (low, high, width, opacity) in enumerate(bands):  # strongest first: it carries the legend
            qi, kj = np.nonzero((weights >= low) & (weights < high))
            n = qi.size
            xs = np.tile(np.array([0.0, 1.0, np.nan], dtype=np.float32), n)  # segment, gap, ...
            ys = np.empty(3 * n, dtype=np.float32)
            ys[0::3], ys[1::3], ys[2::3] = qi, kj, np.nan
            traces.append(go.Scatter(
                x=xs, y=ys, mode="lines", name=f"{_escape(head_label)} {h}", legendgroup=f"head{h}",
                showlegend=b == 0, hoverinfo="skip", opacity=opacity,
                line=dict(width=width, color=HEAD_COLOURS[h % len(HEAD_COLOURS)]),
            ))
    text = [_escape(t) for t in labels]
    ys = np.arange(tq, dtype=np.float32)
    sizes = np.full(tq, 9, dtype=np.float32)
    focus_sizes = sizes.copy()
    if focus is not None:
        focus_sizes[focus] = 15
    for x, side, word, size in ((0.0, "middle left", query_label, focus_sizes),
                                (1.0, "middle right", key_label, sizes)):
        traces.append(go.Scatter(
            x=np.full(tq, x, dtype=np.float32), y=ys, mode="markers+text", text=text, textposition=side,
            marker=dict(size=size, color="#555555"), showlegend=False, name=_escape(word),
            hovertemplate=f'{_escape(word)}: "%{{text}}" (%{{y}})<extra></extra>',
        ))
    hidden = dict(visible=False, fixedrange=True)
    headers = [dict(text=f"<b>{_escape(word)}</b>", x=x, y=-1.2, xref="x", yref="y", showarrow=False,
                    xanchor=anchor) for x, word, anchor in ((0, query_label, "right"), (1, key_label, "left"))]
    return go.Figure(data=traces, layout=_layout(
        title, height=max(360, 130 + 22 * tq), annotations=headers, hovermode="closest",
        legend=dict(orientation="h", x=0.5, xanchor="center", y=1.0, yanchor="bottom"),
        xaxis=dict(range=[-1.3, 2.3], **hidden),
        yaxis=dict(range=[tq - 0.5, -1.8], **hidden),
    ))


def qkv_values(q, k, v, query_index: int, *, causal: bool = True) -> dict[str, np.ndarray]:
    """Each step of attention for one query, as the model computes it (float32):
    softmax(q_i·Kᵀ/√d + mask) V. Keys: q, K, scores, scaled, masked (−inf where hidden),
    weights, V, z."""
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
    shifted = np.exp(masked - masked.max())
    weights = shifted / shifted.sum()  # (T,)
    return dict(q=q[query_index], K=k, scores=scores, scaled=scaled, masked=masked, weights=weights,
                V=v, z=weights @ v)


QKV_LABELS = {
    "title": 'Attention step by step for query {index}: "{token}"',
    "q": "q_i (query)",
    "K": "K (keys)",
    "scores": "q_i · k_j",
    "scaled": "÷ √d ({sqrt_d:.2f})",
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

    Layout: q_i above K; then the per-key columns scores → ÷√d → mask → softmax lined up with
    the key rows; V on the right with z_i = weights @ V below it. Numbers come from
    `qkv_values`, so a test can compare them with the model's cache. `labels` overrides any
    of `QKV_LABELS` (for translation)."""
    unknown = set(labels or {}) - set(QKV_LABELS)
    if unknown:
        raise ValueError(f"unknown qkv_steps labels {sorted(unknown)}; allowed: {sorted(QKV_LABELS)}")
    text = {**QKV_LABELS, **(labels or {})}
    steps = qkv_values(q, k, v, query_index, causal=causal)
    t, d = steps["K"].shape
    keys = _check_len(tokens, t, "k")
    cats, ticks = _positions(keys)
    esc = {name: _escape(value) for name, value in text.items()}

    numbers = "%{z:.2f}" if t <= 40 else None
    matrix_numbers = numbers if d <= 24 else None
    dims = np.arange(d, dtype=np.float32)
    row = "%{y}"
    hover_matrix = f"{esc['key']}: {row}<br>{esc['dim']} %{{x}}<br>{esc['value']}: %{{z:.4f}}<extra></extra>"
    hover_vector = f"{esc['dim']} %{{x}}<br>{esc['value']}: %{{z:.4f}}<extra></extra>"

    def column(name: str, z: np.ndarray, axis: int, **style) -> go.Heatmap:
        """A (T, 1) heatmap of one per-key step, on x axis `axis`, sharing the key rows."""
        return go.Heatmap(z=z[:, None], x=[0], y=cats, name=name, xaxis=f"x{axis}", yaxis="y",
                          showscale=False, hoverongaps=False, texttemplate=numbers,
                          hovertemplate=f"{esc['key']}: {row}<br>{esc[name]}: %{{z:.4f}}<extra></extra>",
                          **style)

    def signed(z: np.ndarray) -> dict:
        zmin, zmax = _symmetric_range(z, 0.0)
        return dict(colorscale=DIVERGING, zmin=zmin, zmax=zmax)

    hidden = np.isneginf(steps["masked"])
    masked_z = np.where(hidden, np.nan, steps["masked"]).astype(np.float32)
    masked_text = [esc["masked_cell"] if h else f"{x:.2f}" for h, x in zip(hidden, steps["masked"], strict=True)]
    query_cat = _strings([f'"{_escape(keys[query_index])}" ({query_index})'])
    traces = [
        go.Heatmap(z=steps["q"][None, :], x=dims, y=query_cat, name="q", xaxis="x", yaxis="y2",
                   showscale=False, texttemplate=matrix_numbers, hovertemplate=hover_vector,
                   **signed(steps["q"])),
        go.Heatmap(z=steps["K"], x=dims, y=cats, name="K", xaxis="x", yaxis="y", showscale=False,
                   texttemplate=matrix_numbers, hovertemplate=hover_matrix, **signed(steps["K"])),
        column("scores", steps["scores"], 2, **signed(steps["scores"])),
        column("scaled", steps["scaled"], 3, **signed(steps["scaled"])),
        go.Heatmap(z=masked_z[:, None], x=[0], y=cats, name="masked", xaxis="x4", yaxis="y", showscale=False,
                   hoverongaps=False, text=np.array(masked_text)[:, None], texttemplate="%{text}" if numbers else None,
                   hovertemplate=f"{esc['key']}: {row}<br>{esc['masked']}: %{{z:.4f}}<extra></extra>",
                   **signed(steps["scaled"])),
        column("weights", steps["weights"], 5, colorscale=SEQUENTIAL, zmin=0.0, zmax=1.0),
        go.Heatmap(z=steps["V"], x=dims, y=cats, name="V", xaxis="x6", yaxis="y", showscale=False,
                   texttemplate=matrix_numbers, hovertemplate=hover_matrix, **signed(steps["V"])),
        go.Heatmap(z=steps["z"][None, :], x=dims, y=["z"], name="z", xaxis="x6", yaxis="y3",
                   showscale=False, texttemplate=matrix_numbers, hovertemplate=hover_vector,
                   **signed(steps["z"])),
    ]

    # Geometry in pixels, then as paper fractions: rows q_i | main (T keys) | z_i.
    cell = 30 if t <= 20 else max(10, 600 // t)
    gap = 40  # room for a panel title
    plot_h = cell + gap + t * cell + gap + cell
    main_top = 1 - (cell + gap) / plot_h
    main_bottom = (gap + cell) / plot_h
    widths = [d, 1.8, 1.8, 1.8, 1.8, d]  # K, scores, scaled, masked, weights, V (in cell units)
    pad = 0.6
    total = sum(widths) + pad * (len(widths) - 1)
    x_domains, left = [], 0.0
    for w in widths:
        x_domains.append([left / total, min(1.0, (left + w) / total)])
        left += w + pad
    no_ticks = dict(showticklabels=False, ticks="", showgrid=False)
    layout = dict(
        xaxis=dict(domain=x_domains[0], anchor="y", showgrid=False),
        yaxis=_token_axis(cats, ticks, TICK_LIMIT, domain=[main_bottom, main_top], anchor="x",
                          autorange="reversed", title=dict(text=esc["key"])),
        yaxis2=_token_axis(query_cat, _strings([_escape(keys[query_index])]), 1, domain=[1 - cell / plot_h, 1],
                           anchor="x"),
        yaxis3=dict(domain=[0, cell / plot_h], anchor="x6", **no_ticks),
        xaxis6=dict(domain=x_domains[5], anchor="y3", showgrid=False),
    )
    for axis in range(2, 6):
        layout[f"xaxis{axis}"] = dict(domain=x_domains[axis - 1], anchor="y", **no_ticks)
    panel_titles = [("q", x_domains[0], 1.0), ("K", x_domains[0], main_top), ("scores", x_domains[1], main_top),
                    ("scaled", x_domains[2], main_top), ("masked", x_domains[3], main_top),
                    ("weights", x_domains[4], main_top), ("V", x_domains[5], main_top),
                    ("z", x_domains[5], cell / plot_h)]
    sqrt_d = math.sqrt(d)
    notes = [dict(text=_escape(text[name].format(sqrt_d=sqrt_d)), x=sum(dom) / 2, y=y, xref="paper",
                  yref="paper", xanchor="center", yanchor="bottom", showarrow=False)
             for name, dom, y in panel_titles]
    title = text["title"].format(index=query_index, token=keys[query_index])
    return go.Figure(data=traces, layout=_layout(
        title, height=plot_h + 110, annotations=notes, plot_bgcolor=MASKED_COLOUR,
        margin=dict(l=10, r=10, t=90, b=20), **layout))


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
    """Vectors as rows, one per token, on a diverging scale centred at `zmid`.

    Big matrices are *strided* (every k-th row / dimension), not averaged: averaging unrelated
    dimensions would wash the values out. The x axis keeps the true dimension numbers."""
    m = _array(matrix, 2, "matrix")  # (T, d_model)
    t, d = m.shape
    labels = _check_len(tokens, t, "matrix")
    row_step, col_step = math.ceil(t / MAX_SIDE) or 1, math.ceil(d / MAX_SIDE) or 1
    rows, dims = np.arange(0, t, row_step), np.arange(0, d, col_step, dtype=np.float32)
    if row_step > 1 or col_step > 1:
        m = np.ascontiguousarray(m[::row_step, ::col_step])
        title = _with_note(title, note, (t, d), m.shape)
    esc = _strings(_escape(labels[i]) for i in rows)
    cats = _strings(f'"{tok}" ({i})' for tok, i in zip(esc, rows, strict=True))
    zmin, zmax = _symmetric_range(m, zmid)
    heat = go.Heatmap(
        z=m, x=dims, y=cats, name="embedding", colorscale=DIVERGING, zmid=zmid, zmin=zmin, zmax=zmax,
        colorbar=dict(title=dict(text=_escape(value_label))),
        hovertemplate=(f"{_escape(ylabel)}: %{{y}}<br>{_escape(xlabel)}: %{{x}}<br>"
                       f"{_escape(value_label)}: %{{z:.3f}}<extra></extra>"),
    )
    return go.Figure(data=[heat], layout=_layout(
        title, height=max(300, 120 + min(t, MAX_SIDE) * 24) if t <= 40 else 900,
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
        s = _block_mean(s, factor)
        title = _with_note(title, note, (t, t), s.shape)
    cats, ticks = _positions(labels, factor)
    heat = go.Heatmap(
        z=s, x=cats, y=cats, name="similarity", colorscale=DIVERGING, zmin=-1.0, zmax=1.0, zmid=0.0,
        colorbar=dict(title=dict(text=_escape(value_label))),
        hovertemplate=f"%{{y}}<br>%{{x}}<br>{_escape(value_label)}: %{{z:.3f}}<extra></extra>",
    )
    return go.Figure(data=[heat], layout=_layout(
        title,
        xaxis=_token_axis(cats, ticks, TICK_LIMIT, constrain="domain"),
        yaxis=_token_axis(cats, ticks, TICK_LIMIT, autorange="reversed", scaleanchor="x", constrain="domain"),
    ))


def pca_2d(matrix) -> tuple[np.ndarray, np.ndarray]:
    """Project rows of `matrix` (N, d) on their first two principal components.

    Returns points (N, 2) and the explained-variance ratio of the two components (2,), both
    float32. Signs are fixed (largest loading positive) so the picture does not flip between runs."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"matrix must be (N, d), got shape {m.shape}")
    centred = m - m.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)  # vt (k, d), k = min(N, d)
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    vt = vt * np.where(signs == 0, 1.0, signs)[:, None]
    variance = s**2
    ratio = variance / variance.sum() if variance.sum() > 0 else np.zeros_like(variance)
    points = np.zeros((m.shape[0], 2))
    n = min(2, len(vt))
    points[:, :n] = centred @ vt[:n].T
    ratios = np.zeros(2)
    ratios[:n] = ratio[:n]
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
    """The whole vocabulary as dots; `highlight` ids drawn larger with their text.

    WebGL (Scattergl) above 1000 points keeps panning smooth for big vocabularies."""
    pts = _array(points_2d, 2, "points_2d")  # (N, 2)
    if pts.shape[1] != 2:
        raise ValueError(f"points_2d must be (N, 2), got {pts.shape}")
    names = [_escape(t) for t in _check_len(labels, pts.shape[0], "points_2d")]
    ids = [int(i) for i in highlight]
    if any(not 0 <= i < len(names) for i in ids):
        raise ValueError(f"highlight ids must be in 0..{len(names) - 1}, got {ids}")
    scatter = go.Scattergl if len(names) > 1000 else go.Scatter
    traces = [scatter(
        x=np.ascontiguousarray(pts[:, 0]), y=np.ascontiguousarray(pts[:, 1]), mode="markers", text=names,
        name="vocab", showlegend=False, hovertemplate="%{text}<extra></extra>",
        marker=dict(size=5, color="#0072B2", opacity=0.45),
    )]
    if ids:
        traces.append(go.Scatter(
            x=pts[ids, 0], y=pts[ids, 1], mode="markers+text", text=[names[i] for i in ids],
            textposition="top center", name="highlight", showlegend=False,
            hovertemplate="%{text}<extra></extra>", textfont=dict(size=16),
            marker=dict(size=13, color=HIGHLIGHT, line=dict(width=1, color="black")),
        ))
    return go.Figure(data=traces, layout=_layout(
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
) -> go.Figure:
    """Training loss as a line, validation loss as dots on a line; empty inputs give empty axes."""
    x, y = _array(steps, 1, "steps"), _array(train_loss, 1, "train_loss")
    vx, vy = _array(val_steps, 1, "val_steps"), _array(val_loss, 1, "val_loss")
    if x.shape != y.shape or vx.shape != vy.shape:
        raise ValueError(f"steps and losses must have equal lengths, got {x.size}/{y.size} and {vx.size}/{vy.size}")
    def hover(name: str) -> str:
        return f"{_escape(xlabel)} %{{x:d}}<br>{_escape(name)}: %{{y:.4f}}<extra></extra>"

    traces = [
        go.Scatter(x=x, y=y, mode="lines", name=_escape(train_label), line=dict(color="#0072B2", width=2),
                   hovertemplate=hover(train_label)),
        go.Scatter(x=vx, y=vy, mode="lines+markers", name=_escape(val_label),
                   line=dict(color="#E69F00", width=2, dash="dash"), marker=dict(size=8),
                   hovertemplate=hover(val_label)),
    ]
    return go.Figure(data=traces, layout=_layout(
        title, xaxis=dict(title=dict(text=_escape(xlabel))), yaxis=dict(title=dict(text=_escape(ylabel))),
        legend=dict(x=1, xanchor="right", y=1, yanchor="top"),
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
    positions = np.arange(p.size, dtype=np.float32)
    bar = go.Bar(
        x=p[order], y=positions, orientation="h", customdata=esc, name="probability",
        marker=dict(color="#0072B2"), texttemplate="%{x:.1%}", textposition="outside", cliponaxis=False,
        hovertemplate=f'"%{{customdata}}"<br>{_escape(xlabel)}: %{{x:.2%}}<extra></extra>',
    )
    top = float(p.max()) if p.size else 1.0
    return go.Figure(data=[bar], layout=_layout(
        title, height=max(250, 110 + 30 * p.size), bargap=0.25,
        xaxis=dict(title=dict(text=_escape(xlabel)), tickformat=".0%", range=[0, top * 1.18 or 1]),
        yaxis=dict(tickmode="array", tickvals=positions, ticktext=esc, autorange="reversed", showgrid=False),
    ))


# ---------------------------------------------------------------- export


def figure_data(fig: go.Figure) -> dict[str, dict[str, np.ndarray]]:
    """The numbers behind a figure: {trace name: {"x"|"y"|"z": array}}, for tests and export.

    Unnamed or repeated names get their trace index appended ("trace3", "Head 0#5")."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for i, trace in enumerate(fig.data):
        name = trace.name or f"trace{i}"
        if name in out:
            name = f"{name}#{i}"
        fields = {}
        for field in ("x", "y", "z"):
            value = getattr(trace, field, None)
            if value is not None:
                fields[field] = np.asarray(value)
        out[name] = fields
    return out
