"""The Attention tab: every head at once, one head enlarged, heads as lines, and the Q·K·V
arithmetic of one head for one token (endpoint /inspect).

The model runs once per text (`on_inspect`). Its small arrays — attention patterns and q/k/v,
float32 numpy, plus the token labels — are kept per session in a `gr.State` ("view"), so
choosing a layer, head or token only redraws figures (`on_select_*`), never reruns the model.
The view also remembers the chosen layer / head / average so a new text keeps them.
"""

from __future__ import annotations

import math

import gradio as gr
import numpy as np

from .. import api, export, figures
from . import ablation_panel
from .attention_grid import GRID_WIDTH_PX, axis_words, grid_cell_px
from .i18n import add, language, t, text
from .plots import FastPlot
from .state import REGISTRY, SESSION_TTL, inspect_or_error, session_of
from .token_view import tokens_html

BIG_HEIGHT_PX = 620  # the enlarged head: big enough to read on a projector
ALL_TOKENS = -1  # focus selector value meaning "every query token"
HEAD_VIEW_ALL_MAX = 24  # longer texts open the head view on the last token: all lines would be a tangle

add(
    en={
        "att_tokens": "Tokens",
        "att_summary": "{n} tokens · {chars} characters · {bytes} bytes",
        "att_truncated": "⚠️ truncated from {total} to {n_ctx} tokens (the model's context; this page shows at most "
        "256): only the first {n_ctx} are shown",
        "att_layer": "Layer",
        "att_head": "Head",
        "att_average": "Average over heads",
        "att_focus": "Focus token (only its lines)",
        "att_query": "Query token",
        "att_all_tokens": "all tokens",
        "att_mean": "mean",
        "att_query_word": "query",
        "att_next_label": "Next token, as the model predicts it →",
        "att_key_word": "key",
        "att_weight_word": "weight",
        "att_grid_label": "Every layer × head",
        "att_big_label": "One head, enlarged",
        "att_hv_label": "Head view",
        "att_steps_label": "Step by step",
        "att_grid_title": "Attention: every layer × head",
        "att_grid_mean_title": "Attention averaged over the {n} heads of each layer",
        "att_big_title": "Layer {layer} · head {head}",
        "att_big_mean_title": "Layer {layer} · mean of {n} heads",
        "att_hv_title": "Layer {layer}: where each token looks (one colour per head)",
        "att_model_view": "### 1 · Model view: every layer and head",
        "att_what_model": "**What am I looking at?** Attention is how a token collects information from "
        "itself and the tokens before it. Each small square is one *attention head*: one row of squares per layer, "
        "one column per head, and every head learns its own way of looking. Inside a square, a row is the "
        "token doing the looking (the *query*) and a column is a token it looks at (the *key*); brighter "
        "means more attention, and every row adds up to 1 (100%). The grey upper-right triangle is the "
        "future: a GPT reads left to right and may not peek ahead. Choose a layer and a head to see that "
        "square large with every token named; hover a cell for its exact weight.",
        "att_head_view": "### 2 · Head view: attention as lines",
        "att_what_head": "**What am I looking at?** The same attention of one layer, drawn as lines. Left: "
        "each token as a *query*; right: the same tokens as *keys*. A line from a left token to a right "
        "token means “while reading this token, the head looked at that one” — the thicker and darker, "
        "the more attention. Each colour is one head; click a head in the legend to hide or show it. "
        "Hover a token to see only its lines (left: where it looks; right: who looks at it), or choose a "
        "focus token to keep them (a long text starts with the last token's lines only).",
        "att_steps": "### 3 · Step by step: how one head computes its weights",
        "att_what_steps": "**What am I looking at?** The arithmetic of one head for one token, with the "
        "model's real numbers. ① The *query* q (what this token is looking for) is compared with every "
        "*key* k (what each token offers) by a dot product q·k — large when they point the same way. "
        "② The scores are divided by √d_head: q·k adds up d_head products, so its variance grows to about d_head; "
        "the division brings the scores back near unit variance, so softmax does not saturate (one weight ≈ 1, "
        "the rest ≈ 0) and its gradients do not vanish. ③ The *mask* sets the scores "
        "of later tokens to −∞: no looking ahead. ④ *Softmax* turns the scores into weights between 0 "
        "and 1 that add up to 1. ⑤ The output z is the weighted sum of the *value* vectors v: tokens "
        "with a big weight contribute most. Red = positive, blue = negative, white ≈ 0.",
        "att_steps_line": "**Layer {layer}, head {head}, query {qi} `{qtok}`** looks most at **key {kj} "
        "`{ktok}`**: q·k = {dot:.2f}, ÷√{d} = {scaled:.2f}, softmax weight **{weight:.2f}** "
        "({percent:.0%}). It may look at {visible} of the {n} tokens — itself and the ones before it; "
        "later ones are masked. Its output z = Σ weight × v over those {visible}.",
        "att_qkv_title": "Layer {layer} · head {head} · query {index}: “{token}”",
        "att_qkv_q": "q (query)",
        "att_qkv_K": "K (keys)",
        "att_qkv_scores": "q · k",
        "att_qkv_scaled": "÷ √{d}\n= {sqrt_d:.2f}",
        "att_qkv_masked": "mask",
        "att_qkv_weights": "softmax",
        "att_qkv_V": "V (values)",
        "att_qkv_z": "z = Σ weight · v",
        "att_qkv_dim": "dim",
        "att_qkv_value": "value",
        "att_export": "⬇ Export the attention data (CSV + JSON)",
        "att_export_files": "Attention data: every layer × head × query × key, with the tokens",
    },
    zh={
        "att_tokens": "词元",
        "att_summary": "{n} 个词元 · {chars} 个字符 · {bytes} 字节",
        "att_truncated": "⚠️ 已从 {total} 个词元截断为 {n_ctx} 个（模型的上下文长度；本页面最多显示 256 个）："
        "只显示前 {n_ctx} 个",
        "att_layer": "层",
        "att_head": "头",
        "att_average": "对所有头取平均",
        "att_focus": "聚焦词元（只显示它的连线）",
        "att_query": "查询词元",
        "att_all_tokens": "所有词元",
        "att_mean": "平均",
        "att_query_word": "查询",
        "att_next_label": "模型预测的下一个词元 →",
        "att_key_word": "键",
        "att_weight_word": "权重",
        "att_grid_label": "所有层 × 所有头",
        "att_big_label": "放大的一个头",
        "att_hv_label": "连线视图",
        "att_steps_label": "逐步计算",
        "att_grid_title": "注意力：每一层 × 每一个头",
        "att_grid_mean_title": "每层 {n} 个头的平均注意力",
        "att_big_title": "第 {layer} 层 · 第 {head} 个头",
        "att_big_mean_title": "第 {layer} 层 · {n} 个头的平均",
        "att_hv_title": "第 {layer} 层：每个词元看向哪里（每种颜色一个头）",
        "att_model_view": "### 1 · 模型视图：所有层和所有头",
        "att_what_model": "**我在看什么？** 注意力是一个词元从它自己和它前面的词元收集信息的方式。每个小方块是一个"
        "*注意力头*：每一行方块是一层，每一列是一个头，每个头都学会了自己的“看法”。在方块里，行是正在看的"
        "词元（*查询* query），列是被看的词元（*键* key）；越亮表示注意力越多，每一行加起来等于 1（100%）。"
        "右上方的灰色三角是“未来”：GPT 从左往右读，不能偷看后面的词元。选择一层和一个头，就能放大那个方块并"
        "看到每个词元的名字；把鼠标放在格子上可以看到精确的权重。",
        "att_head_view": "### 2 · 连线视图：用线表示注意力",
        "att_what_head": "**我在看什么？** 同一层的注意力，用线画出来。左边：每个词元作为*查询*；右边：同样的"
        "词元作为*键*。从左边一个词元连到右边一个词元的线表示“读这个词元时，这个头看了那个词元”——线越粗越深，"
        "注意力越多。每种颜色是一个头；点击图例中的头可以隐藏或显示它。把鼠标移到一个词元上，只显示它的连线（左边：它"
        "看向哪里；右边：谁在看它）；"
        "或选择一个聚焦词元来保留它的连线（文本较长时，一开始只显示最后一个词元的连线）。",
        "att_steps": "### 3 · 逐步计算：一个头如何算出权重",
        "att_what_steps": "**我在看什么？** 一个头对一个词元的计算过程，用的是模型的真实数字。"
        "① *查询* q（这个词元在找什么）和每个*键* k（每个词元能提供什么）做点积 q·k——方向越一致，值越大。"
        "② 分数除以 √d_head：q·k 是 d_head 个乘积之和，方差大约会涨到 d_head；"
        "除以 √d_head 让分数回到方差约为 1 的范围，softmax 就不会饱和（一个权重≈1、其余≈0），梯度也不会消失。③ *掩码*"
        "把后面词元的分数设为 −∞：不能往后看。"
        "④ *Softmax* 把分数变成 0 到 1 之间、加起来等于 1 的权重。"
        "⑤ 输出 z 是*值*向量 v 的加权和：权重大的词元贡献最多。红 = 正，蓝 = 负，白 ≈ 0。",
        "att_steps_line": "**第 {layer} 层、第 {head} 个头、查询 {qi} `{qtok}`** "
        "最关注 **键 {kj} `{ktok}`**："
        "q·k = {dot:.2f}，÷√{d} = {scaled:.2f}，softmax 权重 **{weight:.2f}**（{percent:.0%}）。"
        "在 {n} 个词元中，它能看 {visible} 个——它自己和它前面的词元；后面的被掩码遮住。"
        "它的输出 z = 这 {visible} 个的 Σ 权重 × v。",
        "att_qkv_title": "第 {layer} 层 · 第 {head} 个头 · 查询 {index}：“{token}”",
        "att_qkv_q": "q（查询）",
        "att_qkv_K": "K（键）",
        "att_qkv_scores": "q · k",
        "att_qkv_scaled": "÷ √{d}\n= {sqrt_d:.2f}",
        "att_qkv_masked": "掩码",
        "att_qkv_weights": "softmax",
        "att_qkv_V": "V（值）",
        "att_qkv_z": "z = Σ 权重 · v",
        "att_qkv_dim": "维度",
        "att_qkv_value": "数值",
        "att_export": "⬇ 导出注意力数据（CSV + JSON）",
        "att_export_files": "注意力数据：每一层 × 每个头 × 查询 × 键，附带词元",
    },
)


# ---------------------------------------------------------------- the per-session view


def make_view(result: api.Inspection, previous: dict | None = None) -> dict:
    """The small arrays the tab redraws from, plus the remembered selection.

    patterns (L, H, T, T) and q/k/v (L, T, H, D), float32 numpy copies of the cache: for the
    stories model at 128 tokens about 2 MB, for the shipped small models a few hundred KB."""
    cache = result.cache
    n_layers = cache.n_layers
    stack = lambda get: np.stack([get(i).numpy() for i in range(n_layers)]).astype(np.float32)  # noqa: E731
    view = {
        "labels": [tok.display for tok in result.tokens],
        "ids": [tok.id for tok in result.tokens],  # ids and texts: for the data export
        "texts": [tok.text for tok in result.tokens],
        "text": result.text,
        "patterns": stack(cache.pattern),
        "q": stack(cache.q),
        "k": stack(cache.k),
        "v": stack(cache.v),
    }
    n_heads = view["patterns"].shape[1]
    old = previous or {}
    view["layer"] = _clamp(old.get("layer", 0), n_layers)
    view["head"] = _clamp(old.get("head", 0), n_heads)
    view["average"] = bool(old.get("average", False))
    if old.get("pending_query") is not None:  # set by a link or a lesson step, used once
        view["query"] = _clamp(old["pending_query"], view["patterns"].shape[2])
    return view


def _clamp(value, n: int) -> int:
    try:
        return min(max(int(value), 0), n - 1)
    except (TypeError, ValueError):
        return 0


VIEW_SLOT = "attention_view"
ARRAY_KEYS = ("patterns", "q", "k", "v")  # the arrays: kept in the session registry, under its memory budget


def light_view(view: dict) -> dict:
    """What the page's gr.State keeps: labels, text and the selection, never the arrays (those
    live in the session registry, which frees them by idle time and by its memory budget)."""
    return {key: value for key, value in view.items() if key not in ARRAY_KEYS}


def _keep(view: dict, request) -> dict:
    """Store the view's arrays for this session; return the light view for the gr.State."""
    REGISTRY.put(session_of(request), VIEW_SLOT, {key: view[key] for key in ARRAY_KEYS})
    return light_view(view)


def _check_view(view: dict | None, request=None) -> dict:
    """The full view (a new dict): the light one from the page plus this session's arrays.
    A view that carries its arrays (a direct call) is used as it is."""
    if view and "patterns" in view:
        return view
    session = session_of(request)
    arrays = REGISTRY.peek(session, VIEW_SLOT) if view else None
    if arrays is None:
        if view and REGISTRY.was_evicted(session, VIEW_SLOT):
            raise REGISTRY.evicted_error("limits.what_attention", "limits.again_inspect")
        raise api.PlaygroundError("ui.nothing_inspected")
    REGISTRY.touch(session)
    return {**view, **arrays}


def _selection(view: dict, layer, head, query=None) -> tuple[int, int, int]:
    n_layers, n_heads, n_tokens = view["patterns"].shape[:3]
    query = n_tokens - 1 if query is None else query
    return _clamp(layer, n_layers), _clamp(head, n_heads), _clamp(query, n_tokens)


# ---------------------------------------------------------------- figures from a view


def grid_figure(view: dict, average: bool, lang: str = "en"):
    """Every layer × head (or, averaged, one mean square per layer)."""
    p = view["patterns"]  # (L, H, T, T)
    n_heads = p.shape[1]
    words = axis_words(lang)
    if average:
        return figures.attention_grid(
            p.mean(axis=1, keepdims=True), view["labels"], head_names=[text("att_mean", lang)],
            title=text("att_grid_mean_title", lang, n=n_heads), cell_px=min(300, GRID_WIDTH_PX // 2),
            layer_label=text("att_layer", lang), **words)
    fig = figures.attention_grid(
        p, view["labels"], title=text("att_grid_title", lang), cell_px=grid_cell_px(n_heads),
        layer_label=text("att_layer", lang), head_label=text("att_head", lang), **words)
    return ablation_panel.label_roles(fig, p, view["ids"], lang) if "ids" in view else fig


def big_figure(view: dict, layer: int, head: int, average: bool, lang: str = "en"):
    """The chosen head (or the layer's mean over heads) large, every token on the axes."""
    p = view["patterns"][layer]  # (H, T, T)
    if average:
        pattern, title = p.mean(axis=0), text("att_big_mean_title", lang, layer=layer, n=p.shape[0])
    else:
        pattern, title = p[head], text("att_big_title", lang, layer=layer, head=head)
    fig = figures.attention_heatmap(pattern, view["labels"], title=title, **axis_words(lang))
    fig.layout.height = BIG_HEIGHT_PX
    return fig


def head_view_figure(view: dict, layer: int, focus: int | None, lang: str = "en"):
    return figures.head_view(
        view["patterns"][layer], view["labels"], focus=focus, title=text("att_hv_title", lang, layer=layer),
        head_label=text("att_head", lang), query_label=text("att_query_word", lang),
        key_label=text("att_key_word", lang))


def step_values(view: dict, layer: int, head: int, query: int) -> dict[str, np.ndarray]:
    """figures.qkv_values for one head and query, from the cached q, k, v."""
    q, k, v = (view[name][layer, :, head] for name in ("q", "k", "v"))  # (T, D) each
    return figures.qkv_values(q, k, v, query)


def steps_figure(view: dict, layer: int, head: int, query: int, lang: str = "en"):
    q, k, v = (view[name][layer, :, head] for name in ("q", "k", "v"))  # (T, D) each
    d = q.shape[-1]
    token = view["labels"][query]
    title = text("att_qkv_title", lang, layer=layer, head=head, index=query, token=token)
    labels = {
        # qkv_steps formats every label with str.format: braces from a token must stay literal
        "title": title.replace("{", "{{").replace("}", "}}"),
        "scaled": text("att_qkv_scaled", lang, d=d, sqrt_d=math.sqrt(d)),
        "key": text("att_key_word", lang),
        **{name: text(f"att_qkv_{name}", lang) for name in ("q", "K", "scores", "masked", "weights", "V", "z",
                                                           "dim", "value")},
    }
    return figures.qkv_steps(q, k, v, view["labels"], query, labels=labels)


def steps_line(view: dict, layer: int, head: int, query: int, lang: str = "en") -> str:
    """One sentence with the real numbers for the key this query attends to most."""
    s = step_values(view, layer, head, query)
    kj = int(np.argmax(s["weights"]))
    labels = view["labels"]
    return text(
        "att_steps_line", lang, layer=layer, head=head, qi=query, qtok=_code(labels[query]), kj=kj,
        ktok=_code(labels[kj]), dot=float(s["scores"][kj]), d=s["q"].shape[0], scaled=float(s["scaled"][kj]),
        weight=float(s["weights"][kj]), percent=float(s["weights"][kj]),
        visible=int(np.isfinite(s["masked"]).sum()), n=len(labels))


def _code(token: str) -> str:
    """A token inside Markdown backticks: backticks in it would end the code span."""
    return token.replace("`", "ˋ") or " "


def _token_choices(labels: list[str]) -> list[tuple[str, int]]:
    return [(f"{i} · {tok}", i) for i, tok in enumerate(labels)]


# ---------------------------------------------------------------- handlers


def on_inspect(model_name: str, text_in: str, view: dict | None = None, request: gr.Request | None = None):
    """Run the model once; return every output of the tab and the session's new view.

    Outputs: tokens HTML, summary Markdown, grid, enlarged head, head view, step-by-step
    figure, step-by-step Markdown, layer / head / focus / query selector updates, view."""
    lang = language(request)
    bundle, result = inspect_or_error(model_name, text_in)
    view = make_view(result, view)
    view["model"] = bundle.name
    layer, head, average = view["layer"], view["head"], view["average"]
    n_layers, n_heads, n_tokens = view["patterns"].shape[:3]
    query = view.pop("query", n_tokens - 1)
    focus = ALL_TOKENS if n_tokens <= HEAD_VIEW_ALL_MAX else query

    n_chars, n_bytes = len(result.text), len(result.text.encode("utf-8"))
    summary = text("att_summary", lang, n=n_tokens, chars=n_chars, bytes=n_bytes)
    if result.truncated_from:
        summary += " · " + text("att_truncated", lang, total=result.truncated_from, n_ctx=len(result.tokens))
    next_tokens = " · ".join(f"`{_code(tok)}` {p:.1%}" for tok, p in result.top_next[:5])
    choices = _token_choices(view["labels"])
    return (
        tokens_html(result.tokens, lang=lang),
        f"{summary}\n\n**{text('att_next_label', lang)}** {next_tokens}",
        grid_figure(view, average, lang),
        big_figure(view, layer, head, average, lang),
        head_view_figure(view, layer, _focus(view, focus), lang),
        steps_figure(view, layer, head, query, lang),
        steps_line(view, layer, head, query, lang),
        gr.update(choices=list(range(n_layers)), value=layer),
        gr.update(choices=list(range(n_heads)), value=head),
        gr.update(choices=[(text("att_all_tokens", lang), ALL_TOKENS), *choices], value=focus),
        gr.update(choices=choices, value=query),
        _keep(view, request),
    )


def on_average(view: dict, layer, head, average: bool, request: gr.Request | None = None):
    """Average-over-heads toggled: grid and enlarged view (no model run)."""
    lang, view = language(request), _check_view(view, request)
    layer, head, _ = _selection(view, layer, head)
    _remember(view, layer, head, average)
    average = view["average"]
    return grid_figure(view, average, lang), big_figure(view, layer, head, average, lang), light_view(view)


def on_layer(view: dict, layer, head, average: bool, focus, query, request: gr.Request | None = None):
    """Layer chosen: enlarged head, head view and step by step (no model run)."""
    lang, view = language(request), _check_view(view, request)
    layer, head, query = _selection(view, layer, head, query)
    _remember(view, layer, head, average)
    return (big_figure(view, layer, head, bool(average), lang),
            head_view_figure(view, layer, _focus(view, focus), lang),
            steps_figure(view, layer, head, query, lang), steps_line(view, layer, head, query, lang),
            light_view(view))


def on_head(view: dict, layer, head, average: bool, query, request: gr.Request | None = None):
    """Head chosen: enlarged head and step by step (no model run)."""
    lang, view = language(request), _check_view(view, request)
    layer, head, query = _selection(view, layer, head, query)
    _remember(view, layer, head, average)
    return (big_figure(view, layer, head, bool(average), lang), steps_figure(view, layer, head, query, lang),
            steps_line(view, layer, head, query, lang), light_view(view))


def on_focus(view: dict, layer, focus, request: gr.Request | None = None):
    """Focus token chosen: head view with only that query's lines (no model run)."""
    lang, view = language(request), _check_view(view, request)
    layer, _, _ = _selection(view, layer, 0)
    return head_view_figure(view, layer, _focus(view, focus), lang)


def on_query(view: dict, layer, head, query, request: gr.Request | None = None):
    """Query token chosen: step by step (no model run)."""
    lang, view = language(request), _check_view(view, request)
    layer, head, query = _selection(view, layer, head, query)
    return steps_figure(view, layer, head, query, lang), steps_line(view, layer, head, query, lang)


def export_tokens(view: dict) -> list[export.TokenRow]:
    """The view's tokens for `export` (views made before ids were kept export their labels)."""
    labels = view["labels"]
    ids, texts = view.get("ids") or [-1] * len(labels), view.get("texts") or labels
    return [export.TokenRow(i, int(ids[i]), texts[i], label) for i, label in enumerate(labels)]


def on_export(view: dict | None, request: gr.Request | None = None):
    """The session's attention data as attention.csv and attention.json (no model run): an
    update showing both files. Schemas: `export.attention_csv` / `export.attention_json`."""
    view = _check_view(view, request)
    tokens = export_tokens(view)
    files = export.write_files({
        "attention.csv": export.attention_csv(view["patterns"], tokens),
        "attention.json": export.attention_json(view["patterns"], tokens, model=str(view.get("model", "")),
                                                text=str(view.get("text", ""))),
    })
    return gr.update(value=[str(f) for f in files], visible=True)


def _remember(view: dict, layer: int, head: int, average) -> None:
    """Keep the selection in the session's view, so the next text opens on the same head."""
    view.update(layer=layer, head=head, average=bool(average))


def _focus(view: dict, focus) -> int | None:
    if focus is None or int(focus) == ALL_TOKENS:
        return None
    return _clamp(focus, len(view["labels"]))


# ---------------------------------------------------------------- layout


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the Attention tab; wires /inspect to the shared inputs, and the selectors to
    cheap redraws from the session's view."""
    view = gr.State(None, time_to_live=SESSION_TTL)  # freed with the session's models (state.py)
    tokens = gr.HTML(label=t("att_tokens"), elem_id="att-tokens")
    summary = gr.Markdown(elem_id="att-summary")
    with gr.Row(equal_height=True, elem_id="att-controls"):
        layer = gr.Radio([0], value=0, label=t("att_layer"), elem_id="att-layer", scale=2)
        head = gr.Radio([0], value=0, label=t("att_head"), elem_id="att-head", scale=2)
        average = gr.Checkbox(False, label=t("att_average"), elem_id="att-average", scale=1)

    gr.Markdown(t("att_model_view"))
    gr.Markdown(t("att_what_model"), elem_classes="att-explain")
    with gr.Row():
        grid = FastPlot(label=t("att_grid_label"), elem_id="att-grid", scale=1)
        big = FastPlot(label=t("att_big_label"), elem_id="att-big", scale=1)
    with gr.Row(equal_height=True):
        export_button = gr.Button(t("att_export"), elem_id="att-export", size="sm", scale=0, min_width=300)
        export_files = gr.File(label=t("att_export_files"), file_count="multiple", interactive=False,
                               visible=False, elem_id="att-export-files", scale=1)

    gr.Markdown(t("att_head_view"))
    gr.Markdown(t("att_what_head"), elem_classes="att-explain")
    focus = gr.Dropdown([("-", ALL_TOKENS)], value=ALL_TOKENS, label=t("att_focus"), elem_id="att-focus")
    head_view = FastPlot(label=t("att_hv_label"), elem_id="att-head-view")

    gr.Markdown(t("att_steps"))
    gr.Markdown(t("att_what_steps"), elem_classes="att-explain")
    query = gr.Dropdown([("-", 0)], value=0, label=t("att_query"), elem_id="att-query")
    steps_md = gr.Markdown(elem_id="att-steps-line")
    steps = FastPlot(label=t("att_steps_label"), elem_id="att-steps")

    shared.expose(view=view, layer=layer, head=head, query=query)  # links and lessons set these (page_link.py)
    outputs = [tokens, summary, grid, big, head_view, steps, steps_md, layer, head, focus, query, view]
    inputs = [shared.picker, shared.text, view]
    shared.listen(on_inspect, inputs, outputs, api_name="inspect", concurrency_id="inspect", concurrency_limit=4)

    # Selector events only redraw from the view: cheap, so they share a wider queue; a burst of
    # clicks keeps only the last one. `.input` fires on user changes, not on on_inspect's updates.
    quick = dict(api_visibility="private", concurrency_id="attention-select", concurrency_limit=8,
                 trigger_mode="always_last")
    layer.input(on_layer, [view, layer, head, average, focus, query], [big, head_view, steps, steps_md, view],
                **quick)
    head.input(on_head, [view, layer, head, average, query], [big, steps, steps_md, view], **quick)
    average.input(on_average, [view, layer, head, average], [grid, big, view], **quick)
    focus.input(on_focus, [view, layer, focus], [head_view], **quick)
    query.input(on_query, [view, layer, head, query], [steps, steps_md], **quick)
    export_button.click(on_export, [view], [export_files], api_name="export_attention",
                        concurrency_id="export", concurrency_limit=2)
    ablation_panel.build_panel(shared, demo)  # 4 · head roles and switching heads off
