"""The Model tab: the whole path from text to next-token probabilities, live (endpoint /model_view).

The article's flowchart with the model's real numbers at one chosen position: embeddings, each
block's layer norms, heads, output projection, MLP and what each *added* to the residual stream,
the final layer norm, the tied output layer and softmax (with a live temperature). Then the
logit lens, direct logit attribution, where one head's q/k/v come from, and one sentence in
English and Chinese side by side. The work is in playground.pipeline / lens / roles; this
module only lays out and draws.

A position or layer/head change re-runs the model (one forward: ~10 ms on `stories` at 128
tokens) rather than keeping every activation per session; the temperature slider only redraws
from the chosen position's logits kept in the session's small state.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from .. import api, corpora, figures, model_figures
from ..lens import decompose, lens_positions, logit_lens
from ..pipeline import anatomy, qkv_provenance, temperature_probs
from .i18n import add, language, t, text
from .plots import FastPlot
from .state import SESSION_TTL, get_bundle

TOP_K = 10  # probability bars
N_PAIRS = 8  # English / Chinese example pairs offered
PAIR_SEED = 0

add(
    en={
        "mdl_header": "### The whole model: from your text to the next token",
        "mdl_what": "**What am I looking at?** Everything a GPT does to predict the next token, for the token you "
        "choose, with the model's real numbers. Each row is a vector, drawn as a colour strip (red = positive, "
        "blue = negative, each row on its own scale; hover for the value), with its shape and length (norm) on the "
        "right. ① The token's **embedding** (a row of the embedding matrix W_E) plus its **position embedding** "
        "gives x, the **residual stream**. ② Each block reads x twice and *adds* to it: **LayerNorm** rescales x, "
        "the **heads** each compute an output for this token from the tokens up to it, their outputs are "
        "**concatenated** and the **output projection** turns them into the vector the attention *added* (an orange t"
        "ab at the strip's right); "
        "then LayerNorm again and the **feed-forward network (MLP)**: d_model → d_mlp, **GELU**, → d_model, "
        "*added* too. Rows with a blue tab are the residual stream after each addition. ③ The **final LayerNorm**, th"
        "en "
        "the **output layer** — the same embedding matrix, transposed (tied) — gives one score (logit) per "
        "vocabulary token, and **softmax** turns the scores into probabilities. Temperature divides the logits "
        "before softmax.",
        "mdl_position": "Token position",
        "mdl_temperature": "Temperature (logits ÷ T)",
        "mdl_pipeline_label": "The pipeline at one position",
        "mdl_added_label": "What each block added",
        "mdl_probs_label": "Next-token probabilities",
        "mdl_pipeline_title": "Position {pos} “{token}”: every stage's vector",
        "mdl_added_title": "Norms: what each block added; the residual stream",
        "mdl_probs_title": "After “{token}” (position {pos}), temperature {temp:g}",
        "mdl_summary": "{n} tokens · model: {layers} layers × {heads} heads, d_model {d_model}, d_mlp {d_mlp}, "
        "vocabulary {vocab}",
        "mdl_norm": "norm",
        "mdl_value": "value",
        "mdl_dim": "dim",
        "mdl_probability": "probability",
        "mdl_layer": "layer",
        "mdl_attn_added": "attention added",
        "mdl_mlp_added": "MLP added",
        "mdl_stream": "residual stream (after each step)",
        "mdl_s_embed": "① token embedding W_E[id]",
        "mdl_s_pos_embed": "① position embedding",
        "mdl_s_x0": "① x = token + position",
        "mdl_s_ln_1": "B{layer} · LayerNorm 1",
        "mdl_s_heads": "B{layer} · heads, concatenated",
        "mdl_s_attn_out": "B{layer} · + attention (output projection)",
        "mdl_s_x_mid": "B{layer} · x after attention",
        "mdl_s_ln_2": "B{layer} · LayerNorm 2",
        "mdl_s_mlp_hidden": "B{layer} · MLP hidden (after GELU)",
        "mdl_s_mlp_out": "B{layer} · + MLP (back to d_model)",
        "mdl_s_x_post": "B{layer} · x after the MLP",
        "mdl_s_ln_final": "③ final LayerNorm",
        "mdl_lens_header": "### Logit lens: what would the model say if it stopped early?",
        "mdl_lens_what": "**What am I looking at?** The residual stream after each block put through the *same* "
        "final LayerNorm and output layer the model uses at the end. Each cell: the most likely next token at that "
        "position if the model stopped after that block, coloured by its probability. The last row is the model's "
        "real prediction. The line below follows the model's final prediction for the chosen position: its "
        "probability read out after each block.",
        "mdl_lens_label": "Logit lens",
        "mdl_lens_title": "Top next token read out after each block (colour: its probability)",
        "mdl_lens_window": " — positions {first}–{last} (a large vocabulary: the lens reads the latest positions up to "
        "the chosen one)",
        "mdl_final_label": "The final prediction, layer by layer",
        "mdl_final_title": "Probability of “{token}” (the model's prediction after position {pos}) by layer",
        "mdl_row": "read out after",
        "mdl_top": "top next token",
        "mdl_position_word": "position",
        "mdl_dla_header": "### Who contributed the prediction",
        "mdl_dla_what": "**What am I looking at?** The final residual stream is a *sum*: embeddings + what every "
        "head and every MLP added. With the final LayerNorm's scale σ frozen at its value for this position, the "
        "predicted token's logit splits exactly into one share per part (the head's output through its rows of "
        "the output projection; the projection's bias; each MLP; the embeddings; the final LayerNorm's bias). "
        "Red bars push the token up, blue bars push it down; they add up to the logit.",
        "mdl_dla_label": "Direct logit attribution",
        "mdl_dla_title": "Logit of “{token}” at position {pos}, part by part",
        "mdl_dla_x": "contribution to the logit",
        "mdl_dla_line": "Logit of **`{token}`** = **{logit:.3f}**; the {n} parts add up to {total:.3f} "
        "(σ = {sigma:.3f}). Largest: {top}.",
        "mdl_qkv_header": "### Where q, k and v come from",
        "mdl_qkv_what": "**What am I looking at?** For one layer, head and token: the residual stream x entering "
        "the block, layer-normed (left column), times this head's slices of W_Q, W_K and W_V (d_model × d_head), "
        "plus biases, gives the head's q, k and v for this token (bottom). These are the very numbers the "
        "Attention tab's *Step by step* uses.",
        "mdl_qkv_layer": "Layer",
        "mdl_qkv_head": "Head",
        "mdl_qkv_label": "q, k, v from ln_1(x) and the weights",
        "mdl_qkv_title": "Layer {layer} · head {head} · position {pos} “{token}”",
        "mdl_qkv_line": "ln_1(x) ({d_model}) × W_Q, W_K, W_V slices ({d_model} × {d_head}) + b → q, k, v "
        "({d_head} each). Largest difference from the model's own q/k/v: {diff:.1e}. Same numbers in the "
        "**Attention** tab → *3 · Step by step*: layer **{layer}**, head **{head}**, query token **{pos} `{token}`**.",
        "mdl_qkv_link": "[Open it there]({link}).",
        "mdl_pair_header": "### English and 中文 side by side",
        "mdl_pair_what": "**What am I looking at?** One sentence and its translation from the bilingual stories' "
        "parallel pairs, read by the chosen model: how many tokens each takes and how many UTF-8 bytes per token "
        "(most Chinese characters take 3 bytes), where the last layer looks (mean over its heads) and what it "
        "expects next.",
        "mdl_pair": "Sentence pair",
        "mdl_pair_stats": "**{language}** · {n} tokens · {chars} characters · {bytes} bytes · **{bpt:.2f} bytes per "
        "token**",
        "mdl_pair_att": "Last layer, mean of its heads",
        "mdl_pair_next": "Next token after the sentence",
        "mdl_english": "English",
        "mdl_chinese": "中文",
    },
    zh={
        "mdl_header": "### 整个模型：从你的文本到下一个词元",
        "mdl_what": "**我在看什么？** GPT 为预测下一个词元所做的一切，针对你选的那个词元，用的是模型的真实数字。"
        "每一行是一个向量，画成一条色带（红 = 正，蓝 = 负，每行各自缩放；鼠标悬停可看数值），右边写着它的形状和长度（"
        "范数）。"
        "① 词元的**词向量**（词向量矩阵 W_E 的一行）加上它的**位置向量**，得到 x，即**残差流**。"
        "② 每个模块读两次 x，并把结果*加*回去：**层归一化**（LayerNorm）重新缩放 x，每个**注意力头**根据它和它之前的"
        "词元为这个词元算出一个输出，"
        "这些输出**拼接**起来，再经过**输出投影**，成为注意力*加上*的向量（色带右侧的橙色标记）；然后再做一次层归一化"
        "，进入**前馈"
        "网络（MLP）**："
        "d_model → d_mlp，**GELU**，→ d_model，也*加*回去。带蓝色标记的行是每次相加之后的残差流。"
        "③ **最终层归一化**之后，**输出层**——就是同一个词向量矩阵的转置（权重共享）——为词表中每个词元给出一个"
        "分数（logit），"
        "**softmax** 把分数变成概率。温度：先用 logit 除以温度，再做 softmax。",
        "mdl_position": "词元位置",
        "mdl_temperature": "温度（logit ÷ T）",
        "mdl_pipeline_label": "某个位置上的整条流水线",
        "mdl_added_label": "每个模块加了多少",
        "mdl_probs_label": "下一个词元的概率",
        "mdl_pipeline_title": "位置 {pos}“{token}”：每一步的向量",
        "mdl_added_title": "范数：每个模块加上的；残差流",
        "mdl_probs_title": "在“{token}”（位置 {pos}）之后，温度 {temp:g}",
        "mdl_summary": "{n} 个词元 · 模型：{layers} 层 × {heads} 个头，d_model {d_model}，d_mlp {d_mlp}，词表 {vocab}",
        "mdl_norm": "范数",
        "mdl_value": "数值",
        "mdl_dim": "维度",
        "mdl_probability": "概率",
        "mdl_layer": "层",
        "mdl_attn_added": "注意力加上的",
        "mdl_mlp_added": "MLP 加上的",
        "mdl_stream": "残差流（每一步之后）",
        "mdl_s_embed": "① 词向量 W_E[id]",
        "mdl_s_pos_embed": "① 位置向量",
        "mdl_s_x0": "① x = 词向量 + 位置向量",
        "mdl_s_ln_1": "第 {layer} 块 · 层归一化 1",
        "mdl_s_heads": "第 {layer} 块 · 各头输出拼接",
        "mdl_s_attn_out": "第 {layer} 块 · + 注意力（输出投影）",
        "mdl_s_x_mid": "第 {layer} 块 · 注意力之后的 x",
        "mdl_s_ln_2": "第 {layer} 块 · 层归一化 2",
        "mdl_s_mlp_hidden": "第 {layer} 块 · MLP 隐藏层（GELU 之后）",
        "mdl_s_mlp_out": "第 {layer} 块 · + MLP（回到 d_model）",
        "mdl_s_x_post": "第 {layer} 块 · MLP 之后的 x",
        "mdl_s_ln_final": "③ 最终层归一化",
        "mdl_lens_header": "### Logit lens：如果模型提前停下，它会说什么？",
        "mdl_lens_what": "**我在看什么？** 把每个模块之后的残差流，送进模型最后用的*同一个*最终层归一化和输出层。"
        "每个格子：如果模型在这个模块之后就停下，这个位置最可能的下一个词元，颜色表示它的概率。最后一行就是模型真正的"
        "预测。"
        "下面的折线跟踪所选位置上模型的最终预测：在每个模块之后读出的概率。",
        "mdl_lens_label": "Logit lens",
        "mdl_lens_title": "每个模块之后读出的最可能的下一个词元（颜色：它的概率）",
        "mdl_lens_window": "——位置 {first}–{last}（词表很大：只读取到所选位置为止的最近几个位置）",
        "mdl_final_label": "最终预测，逐层来看",
        "mdl_final_title": "“{token}”（模型在位置 {pos} 之后的预测）在各层的概率",
        "mdl_row": "读出位置",
        "mdl_top": "最可能的下一个词元",
        "mdl_position_word": "位置",
        "mdl_dla_header": "### 谁促成了这个预测",
        "mdl_dla_what": "**我在看什么？** 最终的残差流是一个*和*：词向量 + 每个头和每个 MLP 加上的向量。"
        "把最终层归一化的缩放 σ 固定在这个位置上的值，被预测词元的 logit 就能精确地拆成每个部分的份额"
        "（头的输出经过它在输出投影中对应的行；输出投影的偏置；每个 MLP；词向量；最终层归一化的偏置）。"
        "红色条把这个词元往上推，蓝色条往下压；它们加起来等于 logit。",
        "mdl_dla_label": "直接 logit 归因",
        "mdl_dla_title": "位置 {pos} 上“{token}”的 logit，逐个部分",
        "mdl_dla_x": "对 logit 的贡献",
        "mdl_dla_line": "**`{token}`** 的 logit = **{logit:.3f}**；{n} 个部分加起来是 {total:.3f}（σ = {sigma:.3f}）。"
        "最大的：{top}。",
        "mdl_qkv_header": "### q、k、v 从哪里来",
        "mdl_qkv_what": "**我在看什么？** 对某一层、某个头、某个词元：进入这个模块的残差流 x，经过层归一化（左边一列"
            "），"
        "乘以这个头在 W_Q、W_K、W_V 中的切片（d_model × d_head），加上偏置，得到这个头对这个词元的 q、k、v（下方）。"
        "注意力页的*逐步计算*用的正是这些数字。",
        "mdl_qkv_layer": "层",
        "mdl_qkv_head": "头",
        "mdl_qkv_label": "由 ln_1(x) 和权重得到 q、k、v",
        "mdl_qkv_title": "第 {layer} 层 · 第 {head} 个头 · 位置 {pos}“{token}”",
        "mdl_qkv_line": "ln_1(x)（{d_model}）× W_Q、W_K、W_V 切片（{d_model} × {d_head}）+ b → q、k、v（各 {d_head}）。"
        "与模型自己的 q/k/v 的最大差：{diff:.1e}。在**注意力**页 → *3 · 逐步计算* 中选择第 **{layer}** 层、第 **"
        "{head}** 个头、"
        "查询词元 **{pos} `{token}`**，就能看到同样的数字。",
        "mdl_qkv_link": "[在那里打开]({link})。",
        "mdl_pair_header": "### 英文和中文并排",
        "mdl_pair_what": "**我在看什么？** 取自双语故事语料中的一句话和它的译文，由所选模型来读：各占多少个词元、每个"
            "词元平均多少个 "
        "UTF-8 字节（大多数汉字占 3 个字节），最后一层看向哪里（各头平均），以及它预计下一个词元是什么。",
        "mdl_pair": "句子对",
        "mdl_pair_stats": "**{language}** · {n} 个词元 · {chars} 个字符 · {bytes} 字节 · **每个词元 {bpt:.2f} 字节**",
        "mdl_pair_att": "最后一层，各头平均",
        "mdl_pair_next": "句子之后的下一个词元",
        "mdl_english": "English",
        "mdl_chinese": "中文",
    },
)


# ---------------------------------------------------------------- helpers


def _run(model_name: str, text_in: str) -> tuple[api.ModelBundle, api.Inspection]:
    bundle = get_bundle(model_name)
    return bundle, api.inspect(bundle, text_in, max_tokens=api.MAX_VIEW_TOKENS)


def _position(value, n: int) -> int:
    try:
        return min(max(int(value), 0), n - 1)
    except (TypeError, ValueError):
        return n - 1


def _clamp(value, n: int) -> int:
    try:
        return min(max(int(value), 0), n - 1)
    except (TypeError, ValueError):
        return 0


def _stage_label(key: str, lang: str) -> str:
    if "." in key:
        layer, name = key.split(".", 1)
        return text(f"mdl_s_{name}", lang, layer=layer[1:])
    return text(f"mdl_s_{key}", lang)


def _stream_label(key: str) -> str:
    """Short x-axis names for the residual stream's steps: x0, B0+attn, B0+MLP, ..."""
    if "." not in key:
        return key
    layer, name = key.split(".", 1)
    return f"B{layer[1:]}+" + ("attn" if name == "x_mid" else "MLP")


def _code(token: str) -> str:
    return token.replace("`", "ˋ") or " "


def pipeline_figures(bundle, result, position: int, lang: str):
    """The pipeline strips and the 'what each block added' bars at `position`."""
    a = anatomy(bundle, result, position)
    names = [_stage_label(s.key, lang) for s in a.stages]
    pipeline = model_figures.pipeline_figure(
        names, [s.vector for s in a.stages], [s.shape for s in a.stages], [s.kind for s in a.stages],
        title=text("mdl_pipeline_title", lang, pos=a.position, token=a.token), norm_label=text("mdl_norm", lang),
        value_label=text("mdl_value", lang), dim_label=text("mdl_dim", lang))
    streams = a.stream_norms()
    added = model_figures.added_figure(
        a.added_norms(), [v for _, v in streams], [_stream_label(k) for k, _ in streams],
        title=text("mdl_added_title", lang), attn_label=text("mdl_attn_added", lang),
        mlp_label=text("mdl_mlp_added", lang), stream_label=text("mdl_stream", lang),
        layer_label=text("mdl_layer", lang), norm_label=text("mdl_norm", lang))
    return a, pipeline, added


def probs_figure(logits: torch.Tensor, labels_of, token: str, position: int, temperature: float, lang: str):
    """Top next tokens at `temperature` (softmax(logits / T))."""
    probs = temperature_probs(logits, float(temperature))
    top = torch.topk(probs, min(TOP_K, probs.shape[-1]))
    return figures.token_probability_bars(
        [labels_of(int(i)) for i in top.indices], top.values.numpy(),
        title=text("mdl_probs_title", lang, token=token, pos=position, temp=float(temperature)),
        xlabel=text("mdl_probability", lang))


def lens_figures(bundle, result, position: int, lang: str, lens=None):
    """The logit lens heatmap and the final prediction's probability by layer at `position`; a
    big vocabulary reads only the latest positions up to `position` (`lens.lens_positions`)."""
    lens = lens or logit_lens(bundle, result, lens_positions(bundle.config, len(result.ids), position))
    column = lens.positions.index(position)
    title = text("mdl_lens_title", lang)
    if len(lens.positions) < len(result.ids):  # a big vocabulary: only the latest positions were read
        title += text("mdl_lens_window", lang, first=lens.positions[0], last=lens.positions[-1])
    heat = model_figures.logit_lens_figure(
        lens.rows, lens.tokens, lens.top_tokens, lens.top_probs, title=title,
        position_label=text("mdl_position_word", lang), row_label=text("mdl_row", lang),
        top_label=text("mdl_top", lang), prob_label=text("mdl_probability", lang))
    line = model_figures.final_prob_figure(
        lens.rows, lens.final_probs[:, column],
        title=text("mdl_final_title", lang, token=lens.final_tokens[column], pos=position),
        prob_label=text("mdl_probability", lang))
    return lens, heat, line


def dla_outputs(bundle, result, position: int, lang: str):
    parts = decompose(bundle, result, position)
    fig = model_figures.contribution_bars(
        parts.names, parts.contributions, title=text("mdl_dla_title", lang, token=parts.token, pos=position),
        xlabel=text("mdl_dla_x", lang))
    order = np.argsort(-np.abs(parts.contributions))[:3]
    top = ", ".join(f"{parts.names[i]} {parts.contributions[i]:+.2f}" for i in order)
    line = text("mdl_dla_line", lang, token=_code(parts.token), logit=parts.logit, n=len(parts.names),
                total=float(parts.contributions.sum()), sigma=parts.scale, top=top)
    return fig, line


def qkv_outputs(bundle, result, layer: int, head: int, position: int, lang: str):
    p = qkv_provenance(bundle, result, layer, head, position)
    token = result.tokens[p.position].display
    fig = model_figures.provenance_figure(
        p.x_ln, p.weights, p.computed, title=text("mdl_qkv_title", lang, layer=layer, head=head, pos=p.position,
                                                  token=token),
        value_label=text("mdl_value", lang))
    cfg = bundle.config
    line = text("mdl_qkv_line", lang, d_model=cfg.d_model, d_head=cfg.d_head, diff=p.max_difference, layer=layer,
                head=head, pos=p.position, token=_code(token))
    link = attention_link(bundle.name, result.text, layer, head, p.position)
    if link:
        line += " " + text("mdl_qkv_link", lang, link=link)
    return fig, line


def attention_link(model: str, text_in: str, layer: int, head: int, position: int) -> str | None:
    """A page link (page_state) that opens the Attention tab's step by step on the same model,
    text, layer, head and query token; None when the model cannot travel in a link (My model)
    or the text is too long for one."""
    from ..page_state import MAX_LINK_TEXT, PRIVATE_MODEL, PageState, to_query

    if model == PRIVATE_MODEL or len(text_in) > MAX_LINK_TEXT:
        return None
    return to_query(PageState(model=model, text=text_in, tab="attention", layer=layer, head=head, query=position))


# ---------------------------------------------------------------- handlers


def on_model(model_name: str, text_in: str, position=None, temperature: float = 1.0, layer=0, head=0,
             request: gr.Request | None = None):
    """Run the model once and draw the whole tab at the chosen position (default: the last token).

    Outputs: summary, position selector, pipeline, added, probabilities, logit lens, final
    prediction by layer, attribution bars and line, layer / head selectors, q/k/v figure and line,
    and the session's small state (the position's logits for the temperature slider)."""
    lang = language(request)
    bundle, result = _run(model_name, text_in)
    cfg, n = bundle.config, len(result.ids)
    position = _position(n - 1 if position is None else position, n)
    layer, head = _clamp(layer, cfg.n_layers), _clamp(head, cfg.n_heads)
    a, pipeline, added = pipeline_figures(bundle, result, position, lang)
    _, lens_heat, lens_line = lens_figures(bundle, result, position, lang)
    dla_fig, dla_line = dla_outputs(bundle, result, position, lang)
    qkv_fig, qkv_line = qkv_outputs(bundle, result, layer, head, position, lang)
    probs = probs_figure(a.logits, bundle.tokenizer.token_display, a.token, position, temperature, lang)
    labels = [tok.display for tok in result.tokens]
    state = {"model": bundle.name, "labels": labels, "position": position, "logits": a.logits.numpy()}
    summary = text("mdl_summary", lang, n=n, layers=cfg.n_layers, heads=cfg.n_heads, d_model=cfg.d_model,
                   d_mlp=cfg.d_mlp, vocab=cfg.d_vocab)
    choices = [(f"{i} · {tok}", i) for i, tok in enumerate(labels)]
    # softmax(logits / T) keeps the logits' order, so the top tokens are the same at every temperature
    state["vocab"] = {int(i): bundle.tokenizer.token_display(int(i))
                      for i in torch.topk(a.logits, min(TOP_K, a.logits.shape[-1])).indices}
    return (summary, gr.update(choices=choices, value=position), pipeline, added, probs, lens_heat, lens_line,
            dla_fig, dla_line, gr.update(choices=list(range(cfg.n_layers)), value=layer),
            gr.update(choices=list(range(cfg.n_heads)), value=head), qkv_fig, qkv_line, state)


def on_text(model_name: str, text_in: str, temperature: float, layer, head, request: gr.Request | None = None):
    """A new text or model: the whole tab at the last token."""
    return on_model(model_name, text_in, None, temperature, layer, head, request)


def on_position(model_name: str, text_in: str, position, temperature: float, layer, head,
                request: gr.Request | None = None):
    """Another position: everything that depends on it."""
    out = on_model(model_name, text_in, position, temperature, layer, head, request)
    return out[2:9] + out[11:]


def on_qkv(model_name: str, text_in: str, position, layer, head, request: gr.Request | None = None):
    """Another layer or head for the q/k/v panel."""
    lang = language(request)
    bundle, result = _run(model_name, text_in)
    cfg = bundle.config
    return qkv_outputs(bundle, result, _clamp(layer, cfg.n_layers), _clamp(head, cfg.n_heads),
                       _position(position, len(result.ids)), lang)


def on_temperature(state: dict | None, temperature: float, request: gr.Request | None = None):
    """Temperature moved: redraw the probability bars from the kept logits (no model run)."""
    lang = language(request)
    if not state or "logits" not in state:
        raise gr.Error(text("mdl_nothing_yet", lang))
    logits = torch.from_numpy(np.asarray(state["logits"], dtype=np.float32))
    vocab = state.get("vocab", {})
    return probs_figure(logits, lambda i: vocab.get(i, f"#{i}"), state["labels"][state["position"]],
                        state["position"], temperature, lang)


def pair_choices() -> list[tuple[str, int]]:
    pairs = corpora.story_pairs(N_PAIRS, PAIR_SEED)
    return [(f"{en}  ·  {zh}", i) for i, (en, zh) in enumerate(pairs)]


def on_pair(model_name: str, index, request: gr.Request | None = None):
    """One English sentence and its Chinese translation: counts, last-layer attention, next token."""
    lang = language(request)
    pairs = corpora.story_pairs(N_PAIRS, PAIR_SEED)
    en, zh = pairs[_clamp(index, len(pairs))]
    out = []
    bundle = get_bundle(model_name)
    for name, sentence in ((text("mdl_english", lang), en), (text("mdl_chinese", lang), zh)):
        result = api.inspect(bundle, sentence, max_tokens=api.MAX_VIEW_TOKENS)
        n, n_bytes = len(result.tokens), len(sentence.encode("utf-8"))
        stats = text("mdl_pair_stats", lang, language=name, n=n, chars=len(sentence), bytes=n_bytes,
                     bpt=n_bytes / n)
        labels = [tok.display for tok in result.tokens]
        att = figures.attention_heatmap(
            result.cache.pattern(-1).mean(0).numpy(), labels, title=f"{name}: {text('mdl_pair_att', lang)}",
            weight_label=text("att_weight_word", lang), query_label=text("att_query_word", lang),
            key_label=text("att_key_word", lang))
        att.layout.height = 420
        tokens, probs = zip(*result.top_next[:8])
        bars = figures.token_probability_bars(list(tokens), np.array(probs, dtype=np.float32),
                                              title=f"{name}: {text('mdl_pair_next', lang)}",
                                              xlabel=text("mdl_probability", lang))
        out.append((f"{stats}\n\n> {sentence}", att, bars))
    (md_en, att_en, bars_en), (md_zh, att_zh, bars_zh) = out
    return md_en, md_zh, att_en, att_zh, bars_en, bars_zh


add(en={"mdl_nothing_yet": "Nothing inspected yet: type a text and press Inspect first."},
    zh={"mdl_nothing_yet": "还没有分析任何文本：请先输入文本并点击“分析”。"})


# ---------------------------------------------------------------- layout


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the Model tab; /model_view follows the shared inputs, the selectors redraw."""
    state = gr.State(None, time_to_live=SESSION_TTL)
    gr.Markdown(t("mdl_header"))
    gr.Markdown(t("mdl_what"), elem_classes="att-explain")
    summary = gr.Markdown(elem_id="mdl-summary")
    with gr.Row(equal_height=True):
        position = gr.Dropdown([("-", 0)], value=0, label=t("mdl_position"), elem_id="mdl-position", scale=2)
        temperature = gr.Slider(0.05, 5.0, value=1.0, step=0.05, label=t("mdl_temperature"),
                                elem_id="mdl-temperature", scale=2)
    with gr.Row():
        pipeline = FastPlot(label=t("mdl_pipeline_label"), elem_id="mdl-pipeline", scale=3)
        with gr.Column(scale=2):
            probs = FastPlot(label=t("mdl_probs_label"), elem_id="mdl-probs")
            added = FastPlot(label=t("mdl_added_label"), elem_id="mdl-added")

    gr.Markdown(t("mdl_lens_header"))
    gr.Markdown(t("mdl_lens_what"), elem_classes="att-explain")
    lens_heat = FastPlot(label=t("mdl_lens_label"), elem_id="mdl-lens")
    lens_line = FastPlot(label=t("mdl_final_label"), elem_id="mdl-final")

    gr.Markdown(t("mdl_dla_header"))
    gr.Markdown(t("mdl_dla_what"), elem_classes="att-explain")
    dla_line = gr.Markdown(elem_id="mdl-dla-line")
    dla = FastPlot(label=t("mdl_dla_label"), elem_id="mdl-dla")

    gr.Markdown(t("mdl_qkv_header"))
    gr.Markdown(t("mdl_qkv_what"), elem_classes="att-explain")
    with gr.Row(equal_height=True):
        layer = gr.Radio([0], value=0, label=t("mdl_qkv_layer"), elem_id="mdl-layer")
        head = gr.Radio([0], value=0, label=t("mdl_qkv_head"), elem_id="mdl-head")
    qkv_line = gr.Markdown(elem_id="mdl-qkv-line")
    qkv = FastPlot(label=t("mdl_qkv_label"), elem_id="mdl-qkv")

    gr.Markdown(t("mdl_pair_header"))
    gr.Markdown(t("mdl_pair_what"), elem_classes="att-explain")
    choices = pair_choices()
    pair = gr.Dropdown(choices, value=0, label=t("mdl_pair"), elem_id="mdl-pair")
    with gr.Row():
        with gr.Column():
            pair_md_en = gr.Markdown(elem_id="mdl-pair-en")
            pair_att_en = FastPlot(elem_id="mdl-pair-att-en", show_label=False)
            pair_bars_en = FastPlot(elem_id="mdl-pair-next-en", show_label=False)
        with gr.Column():
            pair_md_zh = gr.Markdown(elem_id="mdl-pair-zh")
            pair_att_zh = FastPlot(elem_id="mdl-pair-att-zh", show_label=False)
            pair_bars_zh = FastPlot(elem_id="mdl-pair-next-zh", show_label=False)

    outputs = [summary, position, pipeline, added, probs, lens_heat, lens_line, dla, dla_line, layer, head, qkv,
               qkv_line, state]
    run = dict(concurrency_id="model-view", concurrency_limit=4)
    # after the shared bar's one check (shared.py): a bad text or model pops up once, not once per tab
    shared.listen(on_text, [shared.picker, shared.text, temperature, layer, head], outputs, api_name="model_view",
                  **run)
    position.input(on_position, [shared.picker, shared.text, position, temperature, layer, head],
                   [pipeline, added, probs, lens_heat, lens_line, dla, dla_line, qkv, qkv_line, state],
                   api_visibility="private", trigger_mode="always_last", **run)
    gr.on([layer.input, head.input], on_qkv, [shared.picker, shared.text, position, layer, head], [qkv, qkv_line],
          api_visibility="private", trigger_mode="always_last", **run)
    temperature.input(on_temperature, [state, temperature], [probs], api_visibility="private",
                      concurrency_id="model-temperature", concurrency_limit=8, trigger_mode="always_last")
    pair_outputs = [pair_md_en, pair_md_zh, pair_att_en, pair_att_zh, pair_bars_en, pair_bars_zh]
    pair_run = dict(api_visibility="private", concurrency_id="model-pair", concurrency_limit=2)
    pair.input(on_pair, [shared.picker, pair], pair_outputs, trigger_mode="always_last", **pair_run)
    shared.listen(on_pair, [shared.picker, pair], pair_outputs, **pair_run)

