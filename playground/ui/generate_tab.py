"""The Generate tab: continue a prompt token by token (endpoint /generate, streaming), each new
token coloured by the probability it was drawn with; choose a generated token to see the
distribution it was drawn from and where the model was looking at that moment.

`on_generate` consumes `api.generate_stream` (KV cache: each token costs one position's work)
and yields the growing text. The per-step details (top tokens, attention) are kept in the
session registry, not gr.State, so choosing a step (`on_step`) only redraws.
"""

from __future__ import annotations

import dataclasses
import html
import random
import time

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from .. import api, figures
from ..errors import check_range, register
from . import zerogpu
from .i18n import add, language, t, text
from .plots import FastPlot
from .state import REGISTRY, get_bundle, session_of

register({"generate.seed": ("the seed", "种子")})

MAX_NEW_TOKENS = 256
MAX_TOP_K = 100  # the slider's range
STREAM_INTERVAL = 0.08  # seconds between streamed text updates
GEN_SLOT = "generation"
DEFAULT_PROMPT = "Once upon a time"
COLOUR = (230, 159, 0)  # Okabe-Ito orange: dark text stays readable on it at any opacity
TEXT_STYLE = "font-size:1.3rem;line-height:1.9;color:#111"
# Clicking a coloured token picks it (gr.HTML runs this once; one listener on the element, so it
# keeps working as the streamed HTML is replaced). The clicked token gets an outline.
TOKEN_CLICK_JS = """
element.addEventListener('click', (event) => {
  const tok = event.target.closest('.gen-tok[data-index]');
  if (!tok) return;
  element.querySelectorAll('.gen-tok.picked').forEach((t) => t.classList.remove('picked'));
  tok.classList.add('picked');
  trigger('click', {token_index: Number(tok.dataset.index)});
});
"""
TOKEN_STYLE = "white-space:pre-wrap;border-radius:3px;padding:1px 0;color:#111;"

register({
    "limits.field_new_tokens": ("New tokens", "新词元数"),
    "limits.field_top_k": ("Top-k", "Top-k"),
})

add(
    en={
        "gen_what": "**What am I looking at?** The model continues your prompt one token at a time. At each step "
        "it gives every token of its vocabulary a probability, then one is drawn: the scores (logits) are "
        "divided by the **temperature** first — below 1 the likely tokens get likelier (safer, more repetitive text),"
        " above 1 the "
        "distribution flattens (more surprising text); **top-k** keeps only the k likeliest tokens; **top-p** "
        "keeps the smallest set of likeliest tokens whose probabilities add up to p; **greedy** always takes "
        "the likeliest token (no randomness). The **seed** fixes the random draws: the same seed and settings "
        "give the same text. Each generated token is coloured by the probability it was drawn with; choose a "
        "token below to see the other candidates and where the model was looking. Each new token is computed once: "
        "the *KV cache* keeps the keys and values of earlier tokens, so their projections and MLPs are not "
        "recomputed — attention still reads every cached key.",
        "gen_prompt": "Prompt",
        "gen_max_new": "New tokens",
        "gen_temperature": "Temperature",
        "gen_top_k": "Top-k (0 = off)",
        "gen_top_p": "Top-p (1 = off)",
        "gen_greedy": "Greedy (always the likeliest token)",
        "gen_seed": "Seed (empty = random)",
        "gen_button": "Generate",
        "gen_output": "Generated text",
        "gen_legend": "Probability of each generated token when it was drawn:",
        "gen_plain": "Text",
        "gen_step": "Generated token #",
        "gen_step_title": "Token #{index} “{token}”: the candidates it was drawn from",
        "gen_prob_word": "probability",
        "gen_att_title": "Token #{index}: where each layer × head looked (the context so far)",
        "gen_att_rows": "layer · head",
        "gen_att_keys": "context token",
        "gen_att_weight": "attention",
        "gen_bars_label": "Next-token probabilities",
        "gen_att_label": "Attention at this step",
        "gen_summary": "{model} · {n} new tokens · {tps:,.0f} tokens/s · seed {seed}",
        "gen_err_none": "Nothing generated yet: press Generate first",
        "gen_model_p": "model p",
    },
    zh={
        "gen_what": "**我在看什么？** 模型一次一个词元地续写你的提示。每一步它给词表中每个词元一个概率，然后抽取一个："
        "先用分数（logit）除以**温度**（temperature）——小于 1 时可能的词元更可能（文本更稳、更重复），大于 1 时分布更"
        "平（文本更"
        "出人意料）；**top-k** 只保留最可能的 k 个词元；**top-p** 保留概率加起来达到 p 的最少几个最可能的词元；"
        "**贪心**（greedy）总是选最可能的词元（没有随机性）。**种子**固定随机抽取：相同的种子和设置得到相同的文本。"
        "每个生成的词元按它被抽中时的概率着色；在下面选择一个词元，可以看到其他候选词元和模型当时在看哪里。每个新词元"
        "只算一次："
        "*KV 缓存*保存了前面词元的键和值，所以不必重算它们的投影和 MLP——但注意力仍要读取缓存中的每一个键。",
        "gen_prompt": "提示",
        "gen_max_new": "新词元数",
        "gen_temperature": "温度",
        "gen_top_k": "Top-k（0 = 关闭）",
        "gen_top_p": "Top-p（1 = 关闭）",
        "gen_greedy": "贪心（总是选最可能的词元）",
        "gen_seed": "种子（留空 = 随机）",
        "gen_button": "生成",
        "gen_output": "生成的文本",
        "gen_legend": "每个生成的词元被抽中时的概率：",
        "gen_plain": "文本",
        "gen_step": "生成的第几个词元",
        "gen_step_title": "第 {index} 个词元“{token}”：它是从这些候选中抽出来的",
        "gen_prob_word": "概率",
        "gen_att_title": "第 {index} 个词元：每一层 × 每个头在看哪里（到此为止的上下文）",
        "gen_att_rows": "层 · 头",
        "gen_att_keys": "上下文词元",
        "gen_att_weight": "注意力",
        "gen_bars_label": "下一个词元的概率",
        "gen_att_label": "这一步的注意力",
        "gen_summary": "{model} · {n} 个新词元 · 每秒 {tps:,.0f} 个词元 · 种子 {seed}",
        "gen_err_none": "还没有生成任何内容：请先按“生成”",
        "gen_model_p": "模型概率",
    },
)


# ---------------------------------------------------------------- HTML


def _span(token: str, prob: float | None, index: int | None = None, model_prob: float | None = None,
          lang: str = "en") -> str:
    label = html.escape(token)
    if prob is None:  # the prompt
        return f'<span class="gen-prompt" style="color:#555;white-space:pre-wrap">{label}</span>'
    alpha = 0.12 + 0.88 * min(max(prob, 0.0), 1.0)
    title = f"#{index} · p = {prob:.1%}"
    if model_prob is not None:
        title += f" · {text('gen_model_p', lang)} = {model_prob:.1%}"  # before top-k / top-p / temperature
    r, g, b = COLOUR
    return (f'<span class="gen-tok" data-index="{index}" data-prob="{prob:.4f}" title="{html.escape(title)}" '
            f'style="{TOKEN_STYLE}background:rgba({r},{g},{b},{alpha:.2f})">{label}</span>')


def legend_html(lang: str = "en") -> str:
    r, g, b = COLOUR
    cells = "".join(
        f'<span class="gen-tok" style="{TOKEN_STYLE}padding:1px 0.5em;margin-right:3px;'
        f'background:rgba({r},{g},{b},{0.12 + 0.88 * p:.2f})">'
        f"{p:.0%}</span>"
        for p in (0.0, 0.25, 0.5, 0.75, 1.0))
    words = html.escape(text("gen_legend", lang))
    return f'<div class="gen-legend" style="margin-top:0.6em;font-size:1rem">{words} {cells}</div>'


def text_html(prompt: str, pieces: list[tuple[str, float, float]], lang: str = "en") -> str:
    """Prompt, then each generated piece as a span coloured by its probability, then the legend."""
    spans = "".join(_span(s, p, i, mp, lang) for i, (s, p, mp) in enumerate(pieces))
    return f'<div class="gen-text" style="{TEXT_STYLE}">{_span(prompt, None)}{spans}</div>{legend_html(lang)}'


# ---------------------------------------------------------------- figures


def bars_figure(gen: dict, index: int, lang: str = "en") -> go.Figure:
    """The candidates of one step. Tokens that top-k / top-p removed have probability exactly 0
    in the sampling distribution: they are not candidates, so they get no bar."""
    step = gen["steps"][index]
    title = text("gen_step_title", lang, index=index, token=step["token"])
    probs = np.asarray(step["top_probs"], np.float32)
    keep = probs > 0
    keep[0] = True  # the likeliest token always stays
    tokens = [tok for tok, k in zip(step["top_tokens"], keep, strict=True) if k]
    return figures.token_probability_bars(tokens, probs[keep], title=title, xlabel=text("gen_prob_word", lang))


def attention_figure(gen: dict, index: int, lang: str = "en") -> go.Figure:
    """Rows = layer · head, columns = the context tokens the new token could see."""
    step = gen["steps"][index]
    att = step["attention"]  # (L, H, Tk)
    n_layers, n_heads, tk = att.shape
    keys = gen["context"][: step["n_keys"]][-tk:]  # the context when this token was drawn
    rows = [f"L{layer} H{head}" for layer in range(n_layers) for head in range(n_heads)]
    fig = figures.attention_heatmap(
        att.reshape(n_layers * n_heads, tk), keys, query_tokens=rows, causal=False,
        title=text("gen_att_title", lang, index=index), query_label=text("gen_att_rows", lang),
        key_label=text("gen_att_keys", lang), weight_label=text("gen_att_weight", lang))
    fig.layout.yaxis.scaleanchor = None
    fig.layout.height = max(320, 140 + 26 * len(rows))
    return fig


# ---------------------------------------------------------------- handlers


@zerogpu.gpu(duration=60)
def _generate_on_gpu(bundle: api.ModelBundle, *args, **kwargs):
    """`api.generate_stream` — in a GPU worker on a ZeroGPU Space (zerogpu.py; the steps it yields
    are CPU numbers and arrays); elsewhere exactly `api.generate_stream`."""
    if not zerogpu.active():
        yield from api.generate_stream(bundle, *args, **kwargs)
        return
    bundle = dataclasses.replace(bundle, model=bundle.model.to(zerogpu.device()))  # the worker's copy
    try:
        yield from api.generate_stream(bundle, *args, **kwargs)
    except ValueError as err:  # only gr.Error crosses back from the worker with its message
        raise gr.Error(str(err)) from None



def _seed(seed) -> int:
    """The seed box's value as an int; empty means a fresh random seed."""
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return random.randrange(2**31)
    try:
        value = float(seed)  # the box may send text ("12")
    except (TypeError, ValueError):
        value = seed  # refused below with the range
    return check_range("generate.seed", value, 0, 2**31 - 1, whole=True)


def _number(value):
    """A float for a numeric field; other values pass through so check_range words the refusal."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def on_generate(
    model_name: str | None,
    prompt: str = DEFAULT_PROMPT,
    max_new_tokens: float = 48,
    temperature: float = 0.8,
    top_k: float = 0,
    top_p: float = 1.0,
    greedy: bool = False,
    seed=0,
    request: gr.Request | None = None,
):
    """Stream (coloured HTML, plain text, summary, step slider, bars, attention)."""
    lang, session = language(request), session_of(request)
    skip = gr.skip()
    # Cheap checks first: the prompt's length before anything tokenizes it, numbers (NaN,
    # empty) before int() could fail on them.
    api.check_text(prompt, "text.the_prompt")
    n_new = check_range("limits.field_new_tokens", _number(max_new_tokens), 1, MAX_NEW_TOKENS, whole=True)
    k = check_range("limits.field_top_k", _number(top_k or 0), 0, MAX_TOP_K, whole=True)
    seed_n = _seed(seed)
    bundle = get_bundle(model_name, session)
    stream = _generate_on_gpu(bundle, prompt, n_new, _number(temperature), k or None,
                             _number(top_p), seed_n, bool(greedy), with_attention=True)
    tok = bundle.tokenizer
    context = [tok.token_display(i) for i in tok.encode_ids(prompt)][-bundle.config.n_ctx:]
    steps, pieces, ids = [], [], []
    start = next_update = time.perf_counter()
    for s in stream:
        display = tok.token_display(s.token_id)
        steps.append({
            "token": display, "prob": s.prob, "model_prob": s.model_prob,
            "top_tokens": [tok.token_display(i) for i in s.top_ids], "top_probs": list(s.top_probs),
            "attention": np.asarray(s.attention, np.float32), "n_keys": len(context),
        })
        context.append(display)
        ids.append(s.token_id)
        pieces.append((tok.decode([s.token_id]), s.prob, s.model_prob))
        if time.perf_counter() >= next_update:
            yield text_html(prompt, pieces, lang), skip, skip, skip, skip, skip
            next_update = time.perf_counter() + STREAM_INTERVAL
    elapsed = max(time.perf_counter() - start, 1e-9)
    # Kept per session for redrawing a chosen step: each step's attention and one shared context list
    # (not a copy per step), charged to the session registry's memory budget.
    gen = {"prompt": prompt, "steps": steps, "context": context}
    REGISTRY.put(session, GEN_SLOT, gen)
    last = len(steps) - 1
    summary = text("gen_summary", lang, model=bundle.name, n=len(steps), tps=len(steps) / elapsed, seed=seed_n)
    yield (text_html(prompt, pieces, lang), prompt + tok.decode(ids), summary,
           gr.update(minimum=0, maximum=max(1, last), value=last, step=1, interactive=last > 0),
           bars_figure(gen, last, lang), attention_figure(gen, last, lang))


def on_pick(evt: gr.EventData, request: gr.Request | None = None):
    """A coloured token clicked (TOKEN_CLICK_JS): the same as choosing it with the slider."""
    index = getattr(evt, "token_index", None)
    if index is None:  # a click between tokens
        return gr.skip(), gr.skip(), gr.skip()
    bars, attention = on_step(index, request)
    return gr.update(value=int(index)), bars, attention


def on_step(index, request: gr.Request | None = None):
    """A generated token chosen: its candidates and its attention (no model run)."""
    lang = language(request)
    session = session_of(request)
    gen = REGISTRY.peek(session, GEN_SLOT)
    if gen is None and REGISTRY.was_evicted(session, GEN_SLOT):
        raise REGISTRY.evicted_error("limits.what_generation", "limits.again_generate")
    if not gen or not gen["steps"]:
        raise gr.Error(text("gen_err_none", lang))
    index = min(max(int(index or 0), 0), len(gen["steps"]) - 1)
    return bars_figure(gen, index, lang), attention_figure(gen, index, lang)


# ---------------------------------------------------------------- layout


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the Generate tab; /generate reads the shared model picker."""
    gr.Markdown(t("gen_what"), elem_classes="explain", elem_id="gen-what")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            prompt = gr.Textbox(DEFAULT_PROMPT, label=t("gen_prompt"), lines=2, elem_id="gen-prompt")
            with gr.Row():
                max_new = gr.Slider(1, MAX_NEW_TOKENS, 48, step=1, label=t("gen_max_new"), elem_id="gen-max-new")
                temperature = gr.Slider(0.05, 2.0, 0.8, step=0.05, label=t("gen_temperature"),
                                        elem_id="gen-temperature")
            with gr.Row():
                top_k = gr.Slider(0, 100, 0, step=1, label=t("gen_top_k"), elem_id="gen-top-k")
                top_p = gr.Slider(0.05, 1.0, 1.0, step=0.05, label=t("gen_top_p"), elem_id="gen-top-p")
        with gr.Column(scale=1, min_width=220):
            greedy = gr.Checkbox(False, label=t("gen_greedy"), elem_id="gen-greedy")
            seed = gr.Number(0, label=t("gen_seed"), precision=0, minimum=0, elem_id="gen-seed")
            run = gr.Button(t("gen_button"), variant="primary", elem_id="gen-button")
    output = gr.HTML(label=t("gen_output"), elem_id="gen-output", min_height=80, js_on_load=TOKEN_CLICK_JS)
    plain = gr.Textbox(label=t("gen_plain"), lines=3, interactive=False, elem_id="gen-plain")
    summary = gr.Markdown(elem_id="gen-summary")
    step = gr.Slider(0, 1, 0, step=1, label=t("gen_step"), interactive=False, elem_id="gen-step")
    with gr.Row():
        bars = FastPlot(label=t("gen_bars_label"), elem_id="gen-bars", scale=2)
        attention = FastPlot(label=t("gen_att_label"), elem_id="gen-attention", scale=3)

    shared.expose(prompt=prompt, max_new=max_new, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                  greedy=greedy)  # links and lessons set these (page_link.py)
    inputs = [shared.picker, prompt, max_new, temperature, top_k, top_p, greedy, seed]
    outputs = [output, plain, summary, step, bars, attention]
    gr.on([run.click, prompt.submit], on_generate, inputs, outputs, api_name="generate",
          concurrency_id="generate", concurrency_limit=2, show_progress="minimal")
    output.click(on_pick, None, [step, bars, attention], api_visibility="private", concurrency_id="generate-step",
                 concurrency_limit=8, trigger_mode="always_last", show_progress="hidden")
    step.input(on_step, step, [bars, attention], api_visibility="private", concurrency_id="generate-step",
               concurrency_limit=8, trigger_mode="always_last", show_progress="hidden")
