"""Plotly figures of the whole model: the pipeline at one position, the logit lens, direct logit
attribution, q/k/v provenance and before/after bars. numpy + labels in, `go.Figure` out.

Like `figures.py` (whose conventions and helpers these share): no torch, no gradio, every visible
word a keyword argument with an English default, colour-blind-safe scales.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .figures import (
    DIVERGING,
    HIGHLIGHT,
    LINE_COLOUR,
    SEQUENTIAL,
    _array,
    _check_len,
    _escape,
    _figure,
    _layout,
    _positions,
    _token_axis,
)

STRIP_PX = 22  # height of one stage's colour strip
ADDED_COLOUR = "#E69F00"  # Okabe-Ito orange: what a block added to the residual stream
TEXT_CELLS_MAX = 48  # the logit lens prints token text in cells up to this many positions


def pipeline_figure(
    names: Sequence[str],
    vectors: Sequence[np.ndarray],
    shapes: Sequence[str],
    kinds: Sequence[str],
    *,
    title: str = "",
    norm_label: str = "norm",
    value_label: str = "value",
    dim_label: str = "dim",
) -> go.Figure:
    """Every stage's vector at one position, top to bottom, as colour strips.

    One row per stage; each row is coloured on its own symmetric scale (a LayerNorm output and
    the residual stream differ 10× in size), and the real value shows on hover. On the right:
    shape and norm. `kinds` "added" rows (a block's addition to the residual stream) get an
    orange tab, "stream" rows (the residual stream itself) a blue one."""
    n = len(names)
    _check_len(shapes, n, "names")
    _check_len(kinds, n, "names")
    traces, notes, tabs = [], [], []
    for row, (name, vec, shape, kind) in enumerate(zip(names, vectors, shapes, kinds)):
        v = _array(vec, 1, f"vector {row}")  # (n_dims,)
        reach = float(np.abs(v).max()) or 1.0
        traces.append(dict(
            type="heatmap", z=(v / reach)[None, :], customdata=v[None, :], x0=0.0, dx=1.0 / v.size, y=[row],
            coloraxis="coloraxis", name=_escape(name),
            hovertemplate=(f"{_escape(name)}<br>{_escape(dim_label)} %{{x:.3f}}×{v.size}<br>"
                           f"{_escape(value_label)}: %{{customdata:.4f}}<extra></extra>"),
        ))
        norm = float(np.linalg.norm(v))
        notes.append(dict(text=f"{_escape(shape)} · {_escape(norm_label)} {norm:.2f}", x=1.025, y=row,
                          xref="paper", yref="y", xanchor="left", showarrow=False, font=dict(size=12)))
        if kind in ("added", "stream"):  # a coloured tab just right of the strip
            tabs.append(dict(type="rect", xref="paper", yref="y", x0=1.004, x1=1.018, y0=row - 0.4, y1=row + 0.4,
                             line=dict(width=0), fillcolor=ADDED_COLOUR if kind == "added" else LINE_COLOUR))
    labels = [_escape(n) for n in names]
    return _figure(traces, _layout(
        title, height=90 + STRIP_PX * n + 20, annotations=notes, shapes=tabs,
        margin=dict(l=10, r=230, t=60, b=10),
        coloraxis=dict(colorscale=DIVERGING, cmin=-1.0, cmax=1.0, showscale=False),
        xaxis=dict(range=[0, 1], showticklabels=False, showgrid=False),
        yaxis=dict(tickmode="array", tickvals=list(range(n)), ticktext=labels, autorange="reversed",
                   showgrid=False, range=[n - 0.5, -0.5]),
    ))


def added_figure(
    added: np.ndarray,
    stream: Sequence[float],
    stream_names: Sequence[str],
    *,
    title: str = "",
    attn_label: str = "attention added",
    mlp_label: str = "MLP added",
    stream_label: str = "residual stream",
    layer_label: str = "layer",
    norm_label: str = "norm",
) -> go.Figure:
    """Norms of what each block's attention and MLP added (bars), and of the residual stream (line)."""
    a = _array(added, 2, "added")  # (L, 2)
    layers = [f"{_escape(layer_label)} {i}" for i in range(a.shape[0])]
    s = _array(np.asarray(stream, dtype=np.float32), 1, "stream")
    bars = [
        dict(type="bar", x=layers, y=a[:, 0], name=_escape(attn_label), marker=dict(color=LINE_COLOUR)),
        dict(type="bar", x=layers, y=a[:, 1], name=_escape(mlp_label), marker=dict(color=ADDED_COLOUR)),
        dict(type="scatter", mode="lines+markers", x=[_escape(n) for n in stream_names], y=s, xaxis="x2",
             name=_escape(stream_label), line=dict(color="#444444")),
    ]
    return _figure(bars, _layout(
        title, height=380, barmode="group", legend=dict(orientation="h", y=-0.35),
        xaxis=dict(domain=[0, 0.48]), yaxis=dict(title=dict(text=_escape(norm_label))),
        xaxis2=dict(domain=[0.56, 1], anchor="y2", tickangle=-45), yaxis2=dict(anchor="x2"),
    ))


def logit_lens_figure(
    rows: Sequence[str],
    tokens: Sequence[str],
    top_tokens: Sequence[Sequence[str]],
    top_probs,
    *,
    title: str = "",
    position_label: str = "position",
    row_label: str = "read out after",
    top_label: str = "top next token",
    prob_label: str = "probability",
) -> go.Figure:
    """Layer × position: the colour is the top next token's probability, the text that token."""
    p = _array(top_probs, 2, "top_probs")  # (L+1, T)
    keys = _check_len(tokens, p.shape[1], "top_probs' position axis")
    cats, ticks = _positions(keys)
    text = [[_escape(t) for t in row] for row in top_tokens]
    row_names = [_escape(r) for r in rows]
    trace = dict(
        type="heatmap", z=p, x=cats, y=row_names, text=text, zmin=0.0, zmax=1.0, colorscale=SEQUENTIAL,
        colorbar=dict(title=dict(text=_escape(prob_label))),
        hovertemplate=(f"{_escape(row_label)}: %{{y}}<br>{_escape(position_label)}: %{{x}}<br>"
                       f"{_escape(top_label)}: %{{text}}<br>{_escape(prob_label)}: %{{z:.3f}}<extra></extra>"),
    )
    if p.shape[1] <= TEXT_CELLS_MAX:
        trace.update(texttemplate="%{text}", textfont=dict(size=11))
    return _figure([trace], _layout(
        title, height=120 + 40 * p.shape[0],
        xaxis=_token_axis(cats, ticks, TEXT_CELLS_MAX, title=dict(text=_escape(position_label))),
        yaxis=dict(autorange="reversed", showgrid=False),
    ))


def final_prob_figure(
    rows: Sequence[str],
    probs,
    *,
    title: str = "",
    prob_label: str = "probability",
) -> go.Figure:
    """How the probability of the model's final prediction grows, read out after each layer."""
    p = _array(probs, 1, "probs")  # (L+1,)
    names = [_escape(r) for r in _check_len(rows, p.size, "probs")]
    line = dict(type="scatter", mode="lines+markers+text", x=names, y=p, text=[f"{v:.0%}" for v in p],
                textposition="top center", line=dict(color=HIGHLIGHT), name=_escape(prob_label),
                hovertemplate=f"%{{x}}<br>{_escape(prob_label)}: %{{y:.4f}}<extra></extra>")
    return _figure([line], _layout(title, height=300, yaxis=dict(range=[0, 1.1], tickformat=".0%",
                                                                  title=dict(text=_escape(prob_label)))))


def contribution_bars(
    names: Sequence[str],
    contributions,
    *,
    title: str = "",
    xlabel: str = "contribution to the logit",
) -> go.Figure:
    """Signed horizontal bars, one per part, in the model's order (red pushes the logit up)."""
    c = _array(contributions, 1, "contributions")  # (n_parts,)
    labels = [_escape(n) for n in _check_len(names, c.size, "contributions")]
    colours = [HIGHLIGHT if v >= 0 else LINE_COLOUR for v in c]
    bar = dict(type="bar", x=c, y=labels, orientation="h", marker=dict(color=colours),
               texttemplate="%{x:.2f}", textposition="outside", cliponaxis=False,
               hovertemplate=f"%{{y}}<br>{_escape(xlabel)}: %{{x:.4f}}<extra></extra>")
    return _figure([bar], _layout(
        title, height=max(260, 100 + 22 * c.size), xaxis=dict(title=dict(text=_escape(xlabel)), zeroline=True),
        yaxis=dict(autorange="reversed", showgrid=False, type="category"),
    ))


def provenance_figure(
    x_ln,
    weights: dict[str, np.ndarray],
    computed: dict[str, np.ndarray],
    *,
    title: str = "",
    x_label: str = "ln_1(x)",
    dim_label: str = "dim",
    value_label: str = "value",
) -> go.Figure:
    """ln_1(x) (a column), the head's W_Q, W_K, W_V slices (d_model × d_head) and q, k, v below them."""
    x = _array(x_ln, 1, "x_ln")  # (d_model,)
    panels = [("x", x[:, None], x_label, [0.0, 0.05], [0.2, 1.0])]
    for j, name in enumerate("qkv"):
        left = 0.12 + j * 0.3
        w = _array(weights[name], 2, name)
        panels.append((f"W{name}", w, f"W_{name.upper()}", [left, left + 0.26], [0.2, 1.0]))
        panels.append((name, _array(computed[name], 1, name)[None, :], name, [left, left + 0.26], [0.0, 0.1]))
    traces, layout, notes = [], {}, []
    for i, (_, z, label, xd, yd) in enumerate(panels):
        suffix = "" if i == 0 else str(i + 1)
        reach = float(np.abs(z).max()) or 1.0
        traces.append(dict(type="heatmap", z=z, xaxis=f"x{suffix}", yaxis=f"y{suffix}", colorscale=DIVERGING,
                           zmin=-reach, zmax=reach, showscale=False, name=_escape(label),
                           hovertemplate=(f"{_escape(label)} [%{{y}}, %{{x}}]<br>{_escape(value_label)}: "
                                          "%{z:.4f}<extra></extra>")))
        layout[f"xaxis{suffix}"] = dict(domain=xd, anchor=f"y{suffix}", showticklabels=False, showgrid=False)
        layout[f"yaxis{suffix}"] = dict(domain=yd, anchor=f"x{suffix}", showticklabels=False, showgrid=False,
                                        autorange="reversed")
        shape = "×".join(str(s) for s in (z.shape if z.shape[0] > 1 and z.shape[1] > 1 else (max(z.shape),)))
        notes.append(dict(text=f"{_escape(label)} ({shape})", x=sum(xd) / 2, y=yd[1], xref="paper", yref="paper",
                          xanchor="center", yanchor="bottom", showarrow=False))
    return _figure(traces, _layout(title, height=480, annotations=notes, **layout))


def before_after_bars(
    tokens: Sequence[str],
    before,
    after,
    *,
    title: str = "",
    before_label: str = "before",
    after_label: str = "after",
    xlabel: str = "probability",
) -> go.Figure:
    """Next-token probabilities of the same candidates before and after a change, side by side."""
    b, a = _array(before, 1, "before"), _array(after, 1, "after")
    labels = [_escape(t) for t in _check_len(tokens, b.size, "before")]
    _check_len(tokens, a.size, "after")
    y = np.arange(b.size, dtype=np.float32)
    bars = [
        dict(type="bar", x=b, y=y, orientation="h", name=_escape(before_label), marker=dict(color=LINE_COLOUR),
             customdata=labels, texttemplate="%{x:.1%}", textposition="outside", cliponaxis=False,
             hovertemplate=f'"%{{customdata}}" {_escape(before_label)}: %{{x:.2%}}<extra></extra>'),
        dict(type="bar", x=a, y=y, orientation="h", name=_escape(after_label), marker=dict(color=HIGHLIGHT),
             customdata=labels, texttemplate="%{x:.1%}", textposition="outside", cliponaxis=False,
             hovertemplate=f'"%{{customdata}}" {_escape(after_label)}: %{{x:.2%}}<extra></extra>'),
    ]
    top = float(max(b.max(initial=0.0), a.max(initial=0.0)))
    return _figure(bars, _layout(
        title, height=max(260, 110 + 44 * b.size), barmode="group", legend=dict(orientation="h", y=-0.15),
        xaxis=dict(title=dict(text=_escape(xlabel)), tickformat=".0%", range=[0, top * 1.2 or 1.0]),
        yaxis=dict(tickmode="array", tickvals=y, ticktext=labels, autorange="reversed", showgrid=False),
    ))
