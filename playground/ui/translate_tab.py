"""Translate: an encoder-decoder Transformer turns an English sentence into Chinese, and shows
its three kinds of attention (endpoint /translate).

Thin UI over `playground.seq2seq`: the shipped translate-en-zh model is loaded once per process
and shared read-only; each request translates greedily and captures every attention pattern.
The model is tiny, so choosing a layer or head simply reruns the translation (a few ms).
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from .. import figures, seq2seq
from ..checkpoint import CheckpointError
from .i18n import add, language, t, text
from .plots import FastPlot
from .shared import clear_stale_js, mark_stale_on_failure

EXAMPLES = (
    "The cat follows the dog.",
    "Three bears are in the garden.",
    "Max gives Mia a red kite.",
    "The owl cannot see the fox.",
    "Lily has a purple book.",
    "She likes the rabbit.",
)
MEAN_HEAD = -1  # head selector value: the average of every head

add(
    en={
        "tab_translate": "Translate",
        "tr_what": "**What am I looking at?** The article's original Transformer: an **encoder** reads the "
        "English sentence (self-attention: every word may look at every word), a **decoder** writes the "
        "Chinese one character at a time (*masked* self-attention: it may look only at what it has already "
        "written), and **cross-attention** lets each character being written look back at the English words — "
        "that heatmap *approximates* an alignment between the two sentences (attention is where information is "
        "read from, not a dictionary lookup). The encoder has already mixed the words, so "
        "a column stands for a word *in its context* and some heads align more cleanly than others. The model "
        "was trained from scratch on generated animal sentences, so it knows only their words; pick an example "
        "or write your own.",
        "tr_input": "English sentence",
        "tr_button": "Translate",
        "tr_examples": "Examples (click one)",
        "tr_output": "Chinese (greedy decoding)",
        "tr_layer": "Layer",
        "tr_head": "Head",
        "tr_mean": "mean",
        "tr_vocab": "Words the model knows",
        "tr_enc_plot": "Encoder self-attention",
        "tr_dec_plot": "Decoder masked self-attention",
        "tr_cross_plot": "Cross-attention (≈ the alignment)",
        "tr_missing": "⚠️ The translation checkpoint is not built yet: run "
        "`bash scripts/build_checkpoints.sh translate-en-zh`.",
        # handler-composed text
        "tr_err_missing": "The translation model is not available: {error}",
        "tr_summary": "{n_src} English tokens → {n_tgt} Chinese characters + the end token `</s>`.",
        "tr_added_stop": " A final “.” was added: every training sentence ends with one.",
        "tr_unfinished": " ⚠️ The decoder ran out of positions before writing `</s>`.",
        "tr_confidence": "\n\nConfidence per character (the probability the decoder gave what it wrote): {chars}",
        "tr_low_confidence": "\n\n⚠️ **Low confidence** at {chars}: below {threshold}%. This translation may well be "
        "wrong: on held-out sentences of its grammar every wrong translation had such a character (some right ones "
        "do too), and the model only learned the sentence patterns of its grammar.",
        "tr_head_label": "head {head}",
        "tr_heads_mean": "mean of {n} heads",
        "tr_title_enc": "Encoder self-attention · layer {layer} · {head}",
        "tr_title_dec": "Decoder masked self-attention · layer {layer} · {head}",
        "tr_title_cross": "Cross-attention · layer {layer} · {head}: where each character looked in the English",
        "tr_ax_src_q": "English token (query)",
        "tr_ax_src_k": "English token (key)",
        "tr_ax_dec_q": "decoder input (query)",
        "tr_ax_dec_k": "decoder input (key)",
        "tr_ax_writing": "character being written",
        "tr_ax_source": "English token",
        "tr_weight": "weight",
    },
    zh={
        "tab_translate": "翻译",
        "tr_what": "**我在看什么？** 文章中最初的 Transformer：**编码器**读英文句子（自注意力：每个词都可以看所有词），"
        "**解码器**一次写一个汉字（*带掩码的*自注意力：只能看已经写出的字），**交叉注意力**让正在写的每个字回头看英文"
        "单词——"
        "这张热力图*近似于*两句话之间的对齐（注意力表示从哪里读取信息，并不是查词典）。编码器已经把词混合过了，所以每"
        "一列代表*处在上下文中的*一个词，"
        "有些头的对齐比别的头更清楚。模型是在生成的动物句子上从零训练的，只认识这些句子里的词；"
        "请点一个例句，或者自己写一句。",
        "tr_input": "英文句子",
        "tr_button": "翻译",
        "tr_examples": "例句（点击一个）",
        "tr_output": "中文（贪心解码）",
        "tr_layer": "层",
        "tr_head": "注意力头",
        "tr_mean": "平均",
        "tr_vocab": "模型认识的词",
        "tr_enc_plot": "编码器自注意力",
        "tr_dec_plot": "解码器带掩码的自注意力",
        "tr_cross_plot": "交叉注意力（≈ 对齐）",
        "tr_missing": "⚠️ 翻译检查点还没有构建：请运行 `bash scripts/build_checkpoints.sh translate-en-zh`。",
        "tr_err_missing": "翻译模型不可用：{error}",
        "tr_summary": "{n_src} 个英文词元 → {n_tgt} 个汉字 + 结束词元 `</s>`。",
        "tr_added_stop": " 句末补了一个 “.”：每个训练句子都以它结尾。",
        "tr_unfinished": " ⚠️ 解码器在写出 `</s>` 之前用完了位置。",
        "tr_confidence": "\n\n每个字的把握（解码器给所写内容的概率）：{chars}",
        "tr_low_confidence": "\n\n⚠️ **把握不足**：{chars} 处低于 {threshold}%，"
        "这个翻译很可能有错：在它语法的留出句子上，每个错译都有这样的字（有些对的翻译也有），而且模型只学过它那套语法的句型。",
        "tr_head_label": "头 {head}",
        "tr_heads_mean": "{n} 个头的平均",
        "tr_title_enc": "编码器自注意力 · 第 {layer} 层 · {head}",
        "tr_title_dec": "解码器带掩码的自注意力 · 第 {layer} 层 · {head}",
        "tr_title_cross": "交叉注意力 · 第 {layer} 层 · {head}：每个字在英文中看了哪里",
        "tr_ax_src_q": "英文词元（查询）",
        "tr_ax_src_k": "英文词元（键）",
        "tr_ax_dec_q": "解码器输入（查询）",
        "tr_ax_dec_k": "解码器输入（键）",
        "tr_ax_writing": "正在写的字",
        "tr_ax_source": "英文词元",
        "tr_weight": "权重",
    },
)


def _translator() -> seq2seq.Translator | None:
    try:
        return seq2seq.load_builtin()
    except CheckpointError:
        return None


def _head(patterns: np.ndarray, layer: int, head: int) -> np.ndarray:
    """One head's (Tq, Tk) pattern of `patterns` (L, H, Tq, Tk), or the mean over heads."""
    return patterns[layer].mean(0) if head == MEAN_HEAD else patterns[layer, head]


def figures_for(result: seq2seq.Translation, layer: int, head: int, lang: str) -> tuple:
    """Encoder, decoder and cross-attention heatmaps of one layer and head (or head mean)."""
    n_heads = result.encoder_attention.shape[1]
    name = text("tr_heads_mean", lang, n=n_heads) if head == MEAN_HEAD else text("tr_head_label", lang, head=head)
    weight = text("tr_weight", lang)
    enc = figures.attention_heatmap(
        _head(result.encoder_attention, layer, head), result.source_tokens, causal=False, weight_label=weight,
        title=text("tr_title_enc", lang, layer=layer, head=name),
        query_label=text("tr_ax_src_q", lang), key_label=text("tr_ax_src_k", lang),
    )  # fmt: skip
    dec = figures.attention_heatmap(
        _head(result.decoder_attention, layer, head), result.decoder_tokens, causal=True, weight_label=weight,
        title=text("tr_title_dec", lang, layer=layer, head=name),
        query_label=text("tr_ax_dec_q", lang), key_label=text("tr_ax_dec_k", lang),
    )  # fmt: skip
    cross = figures.attention_heatmap(
        _head(result.cross_attention, layer, head), result.source_tokens, causal=False, weight_label=weight,
        query_tokens=result.target_tokens, title=text("tr_title_cross", lang, layer=layer, head=name),
        query_label=text("tr_ax_writing", lang), key_label=text("tr_ax_source", lang),
    )  # fmt: skip
    return enc, dec, cross


def on_translate(sentence: str, layer, head, request: gr.Request | None = None):
    """Translate `sentence`; return the Chinese, a summary and the three heatmaps."""
    lang = language(request)
    translator = _translator()
    if translator is None:
        raise gr.Error(text("tr_err_missing", lang, error=seq2seq.BUILTIN_NAME))
    sentence = "" if sentence is None else sentence
    result = translator.translate_with_attention(sentence)  # bad input: a keyed TranslateError for the guard
    cfg = translator.config
    layer = min(max(int(layer or 0), 0), cfg.n_layers - 1)
    head = MEAN_HEAD if head is None or int(head) == MEAN_HEAD else min(max(int(head), 0), cfg.n_heads - 1)
    n_words = len(translator.src_tok.encode(" ".join(sentence.split())).ids)
    summary = text("tr_summary", lang, n_src=len(result.source_tokens), n_tgt=len(result.target_tokens) - 1)
    if len(result.source_tokens) > n_words:
        summary += text("tr_added_stop", lang)
    if not result.finished:
        summary += text("tr_unfinished", lang)
    summary += confidence_text(result, lang)
    return (result.text, summary, *figures_for(result, layer, head, lang))


def confidence_text(result: seq2seq.Translation, lang: str) -> str:
    """Each written character with its probability (unsure ones in bold), and a plain notice
    when any is below seq2seq.LOW_CONFIDENCE."""
    unsure = set(result.unsure)

    def shown(t: int) -> str:
        token = result.target_tokens[t]
        token = f"`{token}`" if token == seq2seq.EOS else token  # "</s>" would read as an HTML tag
        item = f"{token} {100 * float(result.confidence[t]):.0f}%"
        return f"**{item}**" if t in unsure else item

    out = text("tr_confidence", lang, chars=" · ".join(shown(t) for t in range(len(result.confidence))))
    if unsure:
        chars = ", ".join(shown(t) for t in sorted(unsure))
        out += text("tr_low_confidence", lang, chars=chars, threshold=round(100 * seq2seq.LOW_CONFIDENCE))
    return out


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the Translate tab; `shared` is unused: this tab has its own input and examples and
    never reads the page's shared text (the shared bar is hidden on this tab, style.css)."""
    translator = _translator()
    gr.Markdown(t("tr_what"), elem_id="tr-what")
    if translator is None:
        gr.Markdown(t("tr_missing"), elem_id="tr-missing")
        return
    cfg = translator.config
    with gr.Row(equal_height=True):
        source = gr.Textbox(EXAMPLES[0], label=t("tr_input"), elem_id="tr-input", scale=4, max_length=400)
        run = gr.Button(t("tr_button"), variant="primary", elem_id="tr-run", scale=0, min_width=120)
    examples = gr.Examples([[e] for e in EXAMPLES], inputs=[source], label=t("tr_examples"), elem_id="tr-examples",
                           cache_examples=False, examples_per_page=len(EXAMPLES))  # fmt: skip
    output = gr.Textbox(label=t("tr_output"), elem_id="tr-output", interactive=False)
    summary = gr.Markdown(elem_id="tr-summary")
    with gr.Row(equal_height=True):
        layer = gr.Radio(list(range(cfg.n_layers)), value=cfg.n_layers - 1, label=t("tr_layer"), elem_id="tr-layer")
        heads = [(str(h), h) for h in range(cfg.n_heads)] + [(t("tr_mean"), MEAN_HEAD)]
        head = gr.Radio(heads, value=MEAN_HEAD, label=t("tr_head"), elem_id="tr-head")
    with gr.Row():
        enc_plot = FastPlot(label=t("tr_enc_plot"), elem_id="tr-enc-plot")
        dec_plot = FastPlot(label=t("tr_dec_plot"), elem_id="tr-dec-plot")
    cross_plot = FastPlot(label=t("tr_cross_plot"), elem_id="tr-cross-plot")
    with gr.Accordion(t("tr_vocab"), open=False, elem_id="tr-vocab"):
        gr.Markdown(" · ".join(f"`{w}`" for w in translator.vocabulary()))

    inputs, outputs = [source, layer, head], [output, summary, enc_plot, dec_plot, cross_plot]
    # A failed translation leaves the last result on screen, greyed out as stale (shared.py).
    events = [gr.on([run.click, source.submit], on_translate, inputs, outputs, api_name="translate",
                    concurrency_id="translate", concurrency_limit=4, trigger_mode="always_last",
                    js=clear_stale_js("translate"), show_progress="minimal")]
    quick = dict(api_visibility="private", concurrency_id="translate", trigger_mode="always_last",
                 js=clear_stale_js("translate"))
    events.append(examples.load_input_event.then(on_translate, inputs, outputs, **quick))
    events += [layer.input(on_translate, inputs, outputs, **quick), head.input(on_translate, inputs, outputs, **quick)]
    for event in events:
        mark_stale_on_failure(event, "translate")
    demo.load(on_translate, inputs, outputs, api_visibility="private", concurrency_id="translate")
