"""Worked example: the article's embedding table and Q/K/V numbers, computed step by step.

Editable grids hold the article's numbers; every table, heatmap and the comparison with the
article's printed weights is recomputed from the grids on each edit (playground.worked_example).
"""

from __future__ import annotations

import math

import gradio as gr
import numpy as np

from .. import figures
from .. import worked_example as wx
from ..errors import check_choice
from .i18n import add, language, t, text

add(
    en={
        "wk_what": "**What am I looking at?** The article's own numbers (section 4), computed for real. "
        "Top: an embedding is a row lookup — multiplying the matrix W_e by a one-hot vector picks one "
        "column of W_e, which is that word's row in the table. (W_e is written here as the article does, d × "
        "vocabulary, one column per word; the model and the Embeddings tab store it transposed, vocabulary × "
        "d_model, one row per token — the same numbers.) Below: self-attention for three tokens. "
        "Every query row is scored against every key (QKᵀ), divided by √d_k, turned into weights by "
        "softmax (each row sums to 1) and used to mix the values (×V). The decoder does the same with a "
        "causal mask: a token may not look at later tokens (grey −∞ cells get weight 0). "
        "Edit any cell: everything below is recomputed.",
        "wk_embed_head": "### 1 · Embedding = W_e · one-hot(x)",
        "wk_table": "Embedding table (one row per word; editable)",
        "wk_word": "Word to look up",
        "wk_lookup_plot": "Lookup as a matrix product",
        "wk_attn_head": "### 2 · Self-attention: softmax(QKᵀ / √d_k) · V",
        "wk_q": "Q (queries)",
        "wk_k": "K (keys)",
        "wk_v": "V (values)",
        "wk_reset": "Reset to the article's numbers",
        "wk_enc_plot": "Encoder (no mask)",
        "wk_dec_plot": "Decoder (causal mask)",
        "wk_enc_table": "Encoder, every row",
        "wk_dec_table": "Decoder, every row",
        "wk_compare_off": "ℹ️ Q or K no longer hold the article's numbers, so its printed line "
        "[0.578, 0.212, 0.210] is about different inputs: the comparison is hidden. "
        "Press *Reset* to bring it back.",
        # handler-composed text
        "wk_dim": "dim {i}",
        "wk_lookup_title": "W_e · one-hot({word}) = column {index} of W_e = row “{word}” of the table",
        "wk_lookup_text": "**W_e** is the table turned on its side ({d} × {n}: one column per word). "
        "The one-hot vector for **{word}** has a 1 at position {index} and 0 elsewhere, so the product "
        "keeps only column {index}: **{vector}** — exactly the row for “{word}” in the table.",
        "wk_panel_we": "W_e ({d} × {n})",
        "wk_panel_onehot": "one-hot({word})",
        "wk_panel_result": "embedding",
        "wk_panel_scores": "QKᵀ",
        "wk_panel_scaled": "÷ √d_k = {root}",
        "wk_panel_masked": "÷ √d_k, then mask",
        "wk_panel_weights": "softmax",
        "wk_panel_output": "× V = output",
        "wk_fig_enc": "Encoder self-attention (no mask): rows = queries, columns = keys",
        "wk_fig_dec": "Decoder self-attention (causal mask): later keys hidden",
        "wk_col_query": "query",
        "wk_col_scaled": "÷ √d_k",
        "wk_col_out": "× V (output)",
        "wk_compare": "### Why the article prints different weights\n"
        "The article prints dog's attention weights as **{printed}**. Computed from its own Q and K, "
        "dog's row is **{real}** (largest difference {real_error}).\n\n"
        "1. **What the real computation does.** Dog's query {q_dog} meets *all three* keys: "
        "QKᵀ = {scores_raw}, ÷ √{d_k} = {scores}. {equal_text} Dog's output = weights × V = {output}.\n"
        "2. **What the article did.** It wrote one product, Q_dog · K_dogᵀ / √{d_k} = {single}, "
        "and applied softmax to that one number. Softmax of a single number is always **1** — "
        "it cannot produce three weights.\n"
        "3. **Can a simple slip reproduce the printed line?** {candidates} {verdict}\n"
        "4. **Decoder.** With the causal mask, dog is the first token and may only look at itself: "
        "**{decoder}**. The article reuses the unmasked numbers for its decoder.",
        "wk_equal": "The three scaled scores are equal, so softmax gives equal weights.",
        "wk_unequal": "Softmax turns these scores into the weights.",
        "wk_cand_embedding_unscaled": "softmax({logits}) = **{weights}** — dog's embedding [1, 0, 0] used as "
        "the query against the keys, without ÷ √d_k (off by {error});",
        "wk_cand_single_score": "softmax({logits}) = **{weights}** — the single score at dog's place and 0 "
        "for the keys it skipped (off by {error});",
        "wk_verdict_none": "None matches exactly. Dog scores cat and fish equally ({rival}), so any "
        "computation from these numbers gives cat and fish the same weight — the printed 0.212 and 0.210 "
        "differ, so the line cannot be reproduced from the article's inputs. (Its 0.578 is close to "
        "1/√3 = {single}, the single score itself.)",
        "wk_verdict_none_unequal": "None matches exactly: the printed line cannot be reproduced this way.",
        "wk_verdict_match": "The printed line matches the first of these after rounding.",
    },
    zh={
        "wk_what": "**我在看什么？** 这是文章第 4 节自己的数字，在这里真正算一遍。上方：词向量就是查表——"
        "矩阵 W_e 乘以一个 one-hot 向量，取出 W_e 的一列，也就是表中该词的那一行。（这里按文章的写法，W_e 是 d × 词表"
        "大小，每个词一列；"
        "模型和词向量页把它转置存储，词表大小 × d_model，每个词元一行——数字是一样的。）下方：三个词元的自注意力。"
        "每个查询行都与每个键打分（QKᵀ），除以 √d_k，经 softmax 变成权重（每行和为 1），再用来混合值（×V）。"
        "解码器做同样的事，但带因果掩码：一个词元不能看后面的词元（灰色 −∞ 格子的权重为 0）。"
        "修改任意格子，下面的一切都会重新计算。",
        "wk_embed_head": "### 1 · 词向量 = W_e · one-hot(x)",
        "wk_table": "词向量表（每个词一行；可编辑）",
        "wk_word": "要查的词",
        "wk_lookup_plot": "把查表写成矩阵乘法",
        "wk_attn_head": "### 2 · 自注意力：softmax(QKᵀ / √d_k) · V",
        "wk_q": "Q（查询）",
        "wk_k": "K（键）",
        "wk_v": "V（值）",
        "wk_reset": "恢复文章的数字",
        "wk_enc_plot": "编码器（无掩码）",
        "wk_dec_plot": "解码器（因果掩码）",
        "wk_enc_table": "编码器，每一行",
        "wk_dec_table": "解码器，每一行",
        "wk_compare_off": "ℹ️ Q 或 K 已不是文章的数字，所以文章印出的"
        " [0.578, 0.212, 0.210] 说的是另一组输入："
        "对比已隐藏。按*恢复*可以再看到它。",
        "wk_dim": "维 {i}",
        "wk_lookup_title": "W_e · one-hot({word}) = W_e 的第 {index} 列 = 表中“{word}”那一行",
        "wk_lookup_text": "**W_e** 是把表横过来（{d} × {n}：每个词一列）"
        "。**{word}** 的 one-hot 向量在第 {index} "
        "位是 1，其余是 0，所以乘积只留下第 {index} 列：**{vector}**——正是表中“{word}”那一行。",
        "wk_panel_we": "W_e（{d} × {n}）",
        "wk_panel_onehot": "one-hot({word})",
        "wk_panel_result": "词向量",
        "wk_panel_scores": "QKᵀ",
        "wk_panel_scaled": "÷ √d_k = {root}",
        "wk_panel_masked": "÷ √d_k，再加掩码",
        "wk_panel_weights": "softmax",
        "wk_panel_output": "× V = 输出",
        "wk_fig_enc": "编码器自注意力（无掩码）：行 = 查询，列 = 键",
        "wk_fig_dec": "解码器自注意力（因果掩码）：后面的键被遮住",
        "wk_col_query": "查询",
        "wk_col_scaled": "÷ √d_k",
        "wk_col_out": "× V（输出）",
        "wk_compare": "### 为什么文章印出的权重不一样\n"
        "文章印出 dog 的注意力权重是 **{printed}**。用它自己的 Q 和 K 计算，dog 这一行是 **{real}**"
        "（最大差 {real_error}）。\n\n"
        "1. **真正的计算。** dog 的查询 {q_dog} 要与*全部三个*键打"
        "分：QKᵀ = {scores_raw}，÷ √{d_k} = {scores}。"
        "{equal_text} dog 的输出 = 权重 × V = {output}。\n"
        "2. **文章的做法。** 它只写了一个乘积 Q_dog · K_dogᵀ / √{d_k} = {single}，再对这一个数做 softmax。"
        "单个数的 softmax 永远是 **1**——不可能得到三个权重。\n"
        "3. **有没有简单的失误能算出这行数字？** {candidates} {verdict}\n"
        "4. **解码器。** 加上因果掩码后，dog 是第一个词元，只能看它自己：**{decoder}**。"
        "文章的解码器部分沿用了无掩码的数字。",
        "wk_equal": "三个缩放后的分数相等，所以 softmax 给出相等的权重。",
        "wk_unequal": "softmax 把这些分数变成权重。",
        "wk_cand_embedding_unscaled": "softmax({logits}) = **{weights}**"
        "——把 dog 的词向量 [1, 0, 0] 当作查询与各键相乘，"
        "且没有 ÷ √d_k（差 {error}）；",
        "wk_cand_single_score": "softmax({logits}) = **{weights}**"
        "——dog 位置放那一个分数，跳过的键放 0（差 {error}）；",
        "wk_verdict_none": "都不完全吻合。dog 给 cat 和 fish 的分数"
        "相等（{rival}），所以用这些数字的任何算法都会给 "
        "cat 和 fish 相同的权重——而文章印的是 0.212 和 0.210，不相等，因此这行数字无法从文章的输入算出。"
        "（它的 0.578 接近 1/√3 = {single}，也就是那一个分数本身。）",
        "wk_verdict_none_unequal": "都不完全吻合：这行数字无法这样算出。",
        "wk_verdict_match": "四舍五入后，文章的数字与第一个算法吻合。",
    },
)

def _grid(rows, words) -> list[list]:
    """A grid value: the word in the first (static) column, then the numbers."""
    return [[w, *map(float, r)] for w, r in zip(words, rows, strict=True)]


def _numbers(grid, field: str) -> np.ndarray:
    """The numbers of a grid (its first column holds the words), validated; `field` is the key
    of the matrix's name."""
    if hasattr(grid, "values"):  # a pandas DataFrame
        grid = grid.values.tolist()
    rows = [list(r)[1:] for r in (grid or [])]
    return wx.as_matrix(rows, field)


def _labels(grid, fallback) -> list[str]:
    if hasattr(grid, "values"):
        grid = grid.values.tolist()
    words = [str(r[0]) for r in (grid or []) if len(r)]
    return words if len(words) == len(fallback) else list(fallback)


def _row_names(n: int) -> list[str]:
    """Default names of a table's rows: the article's words, then "w5", "w6", ... (up to MAX_SIDE)."""
    return [wx.WORDS[i] if i < len(wx.WORDS) else f"w{i}" for i in range(n)]


def _num(x: float, fixed: bool = False) -> str:
    """3 decimals ("0.577"); trailing zeros dropped unless `fixed`; −∞ for masked cells."""
    x = float(x)
    if np.isneginf(x):
        return "−∞"
    return f"{x:.3f}" if fixed else figures._number(x, 3, "−∞")


def _vec(v, fixed: bool = False) -> str:
    return "[" + ", ".join(_num(x, fixed) for x in np.asarray(v).ravel()) + "]"


def on_table_rows(table, word: str):
    """The word choices follow the table's rows (added or renamed rows can be looked up)."""
    try:
        n = _numbers(table, "worked.table").shape[0]
    except ValueError:  # an unfinished table: the choices stay until it is valid
        return gr.skip()
    words = _labels(table, _row_names(n))
    return gr.update(choices=words, value=word if word in words else words[min(1, len(words) - 1)])


def on_lookup(table, word: str, request: gr.Request | None = None):
    """The lookup figure and its explanation for `word`."""
    lang = language(request)
    m = _numbers(table, "worked.table")
    words = _labels(table, _row_names(m.shape[0]))  # up to MAX_SIDE rows, as the README says
    check_choice("worked.word", word, words)
    look = wx.embedding_lookup(m, words.index(word))
    d, n = look.W_e.shape
    dims = [text("wk_dim", lang, i=i) for i in range(d)]
    fig = figures.matrix_panels(
        [dict(z=look.W_e, rows=dims, cols=words, title=text("wk_panel_we", lang, d=d, n=n),
              highlight=("col", look.index)),
         dict(z=look.one_hot[:, None], rows=words, cols=["x"], title=text("wk_panel_onehot", lang, word=word),
              highlight=("row", look.index)),
         dict(z=look.vector[:, None], rows=dims, cols=[word], title=text("wk_panel_result", lang))],
        between=["·", "="],
        title=text("wk_lookup_title", lang, word=word, index=look.index),
    )
    explain = text("wk_lookup_text", lang, d=d, n=n, word=word, index=look.index, vector=_vec(look.vector))
    return fig, explain


def _attention_figure(att: wx.Attention, words: list[str], lang: str) -> object:
    keys, dims = words, [text("wk_dim", lang, i=i) for i in range(att.output.shape[1])]
    scaled = np.where(np.isneginf(att.masked), np.nan, att.masked)
    scaled_title = (text("wk_panel_masked", lang) if att.causal
                    else text("wk_panel_scaled", lang, root=_num(math.sqrt(att.d_k))))
    panels = [
        dict(z=att.scores, rows=words, cols=keys, title=text("wk_panel_scores", lang), name="scores"),
        dict(z=scaled, rows=words, cols=keys, title=scaled_title, name="scaled"),
        dict(z=att.weights, rows=words, cols=keys, title=text("wk_panel_weights", lang), kind="weights",
             name="weights"),
        dict(z=att.output, rows=words, cols=dims, title=text("wk_panel_output", lang), name="output"),
    ]
    title = text("wk_fig_dec" if att.causal else "wk_fig_enc", lang)
    return figures.matrix_panels(panels, between=["→", "→", "→"], title=title)


def _attention_table(att: wx.Attention, words: list[str], lang: str) -> str:
    scaled_head = text("wk_panel_masked" if att.causal else "wk_col_scaled", lang)
    head = f"| {text('wk_col_query', lang)} | QKᵀ | {scaled_head} | softmax | {text('wk_col_out', lang)} |"
    lines = [head, "|---|---|---|---|---|"]
    for i, word in enumerate(words):
        lines.append(f"| **{word}** | {_vec(att.scores[i])} | {_vec(att.masked[i])} | "
                     f"{_vec(att.weights[i])} | {_vec(att.output[i])} |")
    return "\n".join(lines)


def comparison_text(cmp: wx.Comparison, q_dog, lang: str) -> str:
    """The comparison panel's Markdown, every number from `cmp`."""
    cands = " ".join(text(f"wk_cand_{c.name}", lang, logits=_vec(c.logits),
                          weights=_vec(c.weights, fixed=True), error=_num(c.max_error, fixed=True))
                     for c in cmp.candidates)
    if any(c.matches for c in cmp.candidates):
        verdict = text("wk_verdict_match", lang)
    elif cmp.equal_rivals:
        verdict = text("wk_verdict_none", lang, rival=_num(cmp.real_scores[1]), single=_num(cmp.single_score))
    else:
        verdict = text("wk_verdict_none_unequal", lang)
    d_k = len(q_dog)
    equal = np.allclose(cmp.real_scores, cmp.real_scores[0])
    return text(
        "wk_compare", lang, printed=_vec(cmp.printed, fixed=True), real=_vec(cmp.real, fixed=True),
        real_error=_num(cmp.real_error, fixed=True),
        q_dog=_vec(q_dog), scores_raw=_vec(cmp.real_scores * math.sqrt(d_k)), d_k=d_k,
        scores=_vec(cmp.real_scores), equal_text=text("wk_equal" if equal else "wk_unequal", lang),
        output=_vec(cmp.output), single=_num(cmp.single_score), candidates=cands, verdict=verdict,
        decoder=_vec(cmp.decoder),
    )


def on_attention(q_grid, k_grid, v_grid, request: gr.Request | None = None):
    """Encoder and decoder figures and tables, and the comparison panel (hidden when it does not
    apply) with the note that says why it is hidden."""
    lang = language(request)
    q, k, v = _numbers(q_grid, "worked.q"), _numbers(k_grid, "worked.k"), _numbers(v_grid, "worked.v")
    enc, dec = wx.attention(q, k, v), wx.attention(q, k, v, causal=True)
    words = _labels(q_grid, [f"{i}" for i in range(q.shape[0])])
    cmp = wx.compare_with_article(q, k, v)
    panel = (gr.update(value=comparison_text(cmp, q[0], lang), visible=True) if cmp is not None
             else gr.update(value="", visible=False))
    return (_attention_figure(enc, words, lang), _attention_table(enc, words, lang),
            _attention_figure(dec, words, lang), _attention_table(dec, words, lang),
            panel, gr.update(visible=cmp is None))


def on_reset():
    """The article's Q, K and V."""
    return (_grid(wx.ARTICLE_Q, wx.ATTN_WORDS), _grid(wx.ARTICLE_K, wx.ATTN_WORDS),
            _grid(wx.ARTICLE_V, wx.ATTN_WORDS))


def _editor(value, label, elem_id) -> gr.Dataframe:
    n_cols = len(value[0])
    return gr.Dataframe(
        value, headers=[""] + [f"d{i}" for i in range(n_cols - 1)],
        datatype=["str"] + ["number"] * (n_cols - 1),
        type="array", label=label, elem_id=elem_id, interactive=True, static_columns=[0],
        min_width=220,
    )


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the worked example; `shared` is unused (this tab has its own inputs)."""
    gr.Markdown(t("wk_what"), elem_id="wk-what")
    gr.Markdown(t("wk_embed_head"))
    with gr.Row():
        table = _editor(_grid(wx.EMBEDDINGS, wx.WORDS), t("wk_table"), "wk-table")
        with gr.Column():
            word = gr.Radio(list(wx.WORDS), value=wx.WORDS[1], label=t("wk_word"), elem_id="wk-word")
            lookup_text = gr.Markdown(elem_id="wk-lookup-text")
    lookup_plot = gr.Plot(label=t("wk_lookup_plot"), elem_id="wk-lookup-plot")

    gr.Markdown(t("wk_attn_head"))
    q0, k0, v0 = on_reset()
    with gr.Row():
        q_grid = _editor(q0, t("wk_q"), "wk-q")
        k_grid = _editor(k0, t("wk_k"), "wk-k")
        v_grid = _editor(v0, t("wk_v"), "wk-v")
    reset = gr.Button(t("wk_reset"), elem_id="wk-reset", size="sm")
    compare = gr.Markdown(elem_id="wk-compare", elem_classes=["wk-compare"])
    compare_off = gr.Markdown(t("wk_compare_off"), visible=False, elem_id="wk-compare-off")
    enc_plot = gr.Plot(label=t("wk_enc_plot"), elem_id="wk-enc-plot")
    enc_table = gr.Markdown(label=t("wk_enc_table"), elem_id="wk-enc-table")
    dec_plot = gr.Plot(label=t("wk_dec_plot"), elem_id="wk-dec-plot")
    dec_table = gr.Markdown(label=t("wk_dec_table"), elem_id="wk-dec-table")

    lookup_io = dict(inputs=[table, word], outputs=[lookup_plot, lookup_text])
    gr.on([table.change, word.change], on_lookup, **lookup_io, api_name="worked_lookup",
          concurrency_id="worked", concurrency_limit=4)
    table.change(on_table_rows, [table, word], word, api_visibility="private", queue=False,
                 show_progress="hidden")
    attn_io = dict(inputs=[q_grid, k_grid, v_grid],
                   outputs=[enc_plot, enc_table, dec_plot, dec_table, compare, compare_off])
    gr.on([q_grid.change, k_grid.change, v_grid.change], on_attention, **attn_io, api_name="worked_attention",
          concurrency_id="worked", concurrency_limit=4)
    reset.click(on_reset, None, [q_grid, k_grid, v_grid], api_visibility="private")
    demo.load(on_lookup, **lookup_io, api_visibility="private", concurrency_id="worked")
    demo.load(on_attention, **attn_io, api_visibility="private", concurrency_id="worked")
