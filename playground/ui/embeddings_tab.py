"""Embeddings: the vectors the tokens become — heatmaps, a map of the whole vocabulary,
similarity, nearest neighbours (endpoints /embeddings and /neighbours)."""

from __future__ import annotations

import weakref

import gradio as gr
import numpy as np

from .. import api, embeddings, export, figures
from ..errors import register
from .i18n import add, language, t, text
from .plots import FastPlot
from .state import get_bundle, inspect_or_error

register({"embeddings.no_token": ("choose a token first", "请先选择一个词元")})

N_NEIGHBOURS = 10

add(
    en={
        "emb_what": "**What am I looking at?** The model cannot do arithmetic on words, so each token id "
        "becomes a vector of numbers, its **embedding**. That is just a row lookup in a learned table: "
        "`W_e[x] = one_hot(x) · W_e` — row *x* of a (vocabulary × d_model) matrix. A second table adds where "
        "the token stands: row *i* of `W_p` for position *i*. Their **sum** is what the first Transformer "
        "block receives. Here `W_e` is laid out as the model stores it (`wte.weight`, vocabulary × d_model: a token "
        "is a row); the Worked-example tab writes it transposed, as the article does (d × vocabulary: a word is a "
        "column) — the same numbers. The output layer reuses this matrix, transposed. In the heatmaps each row is one"
        " token and each column one of the d_model numbers: "
        "red positive, blue negative, white near zero.",
        "emb_pca_what": "**The whole vocabulary on one map.** Each dot is one row of `W_e`. The rows have "
        "d_model numbers, too many to draw, so PCA finds the two directions along which they spread out most "
        "and projects onto them; the title says how much of the spread those two directions keep. Your "
        "text's tokens are the big orange dots. Tokens used in similar ways often end up close together. "
        "Hover a dot to see its token.",
        "emb_sim_what": "**Cosine similarity** of your tokens' embeddings: 1 = pointing the same way, 0 = "
        "orthogonal (at right angles: no direction in common), −1 = opposite. The diagonal is always 1 (a token "
        "compared with itself). In a trained model most pairs often come out positive — the embeddings share a "
        "common direction — so compare the values with each other rather than with 0.",
        "emb_nn_token": "Nearest neighbours of",
        "emb_nn_table": "The 10 most similar vocabulary entries (cosine similarity of their rows of W_e)",
        # composed in handlers
        "emb_summary": "Model **{model}** · {n_tokens:,} tokens · d_model = {d_model} · vocabulary {vocab:,} "
        "tokens",
        "emb_truncated": "⚠️ The text has {total:,} tokens but the model (or this page, at most 256) reads "
        "{n_ctx:,}: only the first {n_ctx:,} are used.",
        "emb_token_title": "Token embeddings W_e[x]  ({t} × {d})",
        "emb_pos_title": "Position embeddings W_p[i]  ({t} × {d})",
        "emb_sum_title": "Sum: the input of block 0  ({t} × {d})",
        "emb_pca_title": "All {vocab:,} vocabulary rows, PCA to 2-D: {total:.0%} of the variance kept",
        "emb_pca_untrained": "{n:,} rows never trained (byte tokens and merges the training text never used: "
        "they all point the same way) are left out; {kept:,} shown",
        "emb_sim_untrained": "✕ = a token the model never saw in training: its similarity means nothing",
        "emb_pc": "PC {n} ({share:.0%})",
        "emb_sim_title": "Cosine similarity of your tokens' embeddings",
        "emb_dimension": "dimension",
        "emb_token": "token",
        "emb_value": "value",
        "emb_cosine": "cosine",
        "emb_rank": "rank",
        "emb_id": "id",
        "emb_similarity": "cosine similarity",
        "emb_choice": "{token}   (id {id})",
        "emb_export": "⬇ Export the embedding data (CSV + JSON)",
        "emb_export_files": "Embedding data: token, position and sum embeddings, PCA coordinates",
    },
    zh={
        "emb_what": "**我在看什么？** 模型没法对文字做算术，所以每个词元 id "
        "都会变成一串数字，即它的**词向量**（embedding）。这其实就是在一张学出来的表里按行查找：`W_e[x] = "
        "one_hot(x) · W_e`——一个（词表大小 × d_model）矩阵的第 *x* 行。另一张表加上词元所在的位置：位置 *i* "
        "取 `W_p` 的第 *i* 行。两者之**和**就是第一个 Transformer "
        "块收到的输入。这里的 `W_e` 按模型存储的方式排列（`wte.weight`，词表大小 × d_model：一个词元是一行）；"
        "手算示例页按文章的写法把它转置了（d × 词表大小：一个词是一列）——数字是一样的。输出层把这个矩阵转置后再用一次"
        "。热力图中每一行是一个词元，每一列是 d_model "
        "个数中的一个：红色为正，蓝色为负，白色接近零。",
        "emb_pca_what": "**把整个词表画在一张图上。** 每个点是 `W_e` 的一行。每行有 d_model "
        "个数，维度太多画不出来，所以 PCA（主成分分析）找出这些行散开得最多的两个方向，把它们投影上去；标题给"
        "出这两个方向保留了多少差异。你的文本中的词元是橙色大点。用法相近的词元常常靠得很近。把鼠标移到点上可"
        "以看到它是哪个词元。",
        "emb_sim_what": "你的词元的词向量之间的**余弦相似度**：1 = 方向相同，0 = 正交（互相垂直：没有共同的方向），−1"
            " = "
        "方向相反。对角线总是 1（词元和它自己比较）。训练过的模型里，大多数词元对的余弦常常是正的——词向量共享一个公共"
        "方向——"
        "所以要拿这些值互相比较，而不是和 0 比。",
        "emb_nn_token": "最近邻：",
        "emb_nn_table": "词表中最相似的 10 个词元（W_e 中对应行的余弦相似度）",
        "emb_summary": "模型 **{model}** · {n_tokens:,} 个词元 · d_model = {d_model} · 词表 {vocab:,} 个词元",
        "emb_truncated": "⚠️ 这段文本有 {total:,} 个词元，但模型（或本页面，最多 256 个）只读 {n_ctx:,} 个："
        "只使用前 {n_ctx:,} 个。",
        "emb_token_title": "词元嵌入 W_e[x]（{t} × {d}）",
        "emb_pos_title": "位置嵌入 W_p[i]（{t} × {d}）",
        "emb_sum_title": "两者之和：第 0 块的输入（{t} × {d}）",
        "emb_pca_title": "词表全部 {vocab:,} 行，用 PCA 降到二维：保留了 {total:.0%} 的差异",
        "emb_pca_untrained": "{n:,} 行从未被训练过（训练文本从未用到的字节词元和合并：它们都指向同一个方向），"
        "已略去；显示 {kept:,} 行",
        "emb_sim_untrained": "✕ = 模型在训练中从未见过的词元：它的相似度没有意义",
        "emb_pc": "主成分 {n}（{share:.0%}）",
        "emb_sim_title": "你的词元的词向量之间的余弦相似度",
        "emb_dimension": "维度",
        "emb_token": "词元",
        "emb_value": "数值",
        "emb_cosine": "余弦",
        "emb_rank": "名次",
        "emb_id": "id",
        "emb_similarity": "余弦相似度",
        "emb_choice": "{token}   （id {id}）",
        "emb_export": "⬇ 导出词向量数据（CSV + JSON）",
        "emb_export_files": "词向量数据：词元嵌入、位置嵌入、两者之和与 PCA 坐标",
    },
)

# Hover labels of a whole vocabulary, per tokenizer (GPT-2 has 50k of them).
_VOCAB_LABELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def vocab_labels(tokenizer) -> list[str]:
    labels = _VOCAB_LABELS.get(tokenizer)
    if labels is None:
        labels = [tokenizer.token_display(i) for i in range(tokenizer.vocab_size)]
        _VOCAB_LABELS[tokenizer] = labels
    return labels


def _embedding_table(bundle: api.ModelBundle):
    return bundle.model.transformer.wte.weight  # (d_vocab, d_model)


def neighbours_frame(bundle: api.ModelBundle, token_id: int, lang: str = "en", k: int = N_NEIGHBOURS) -> dict:
    """Dataframe value: the `k` vocabulary entries most cosine-similar to `token_id`."""
    headers = [text(key, lang) for key in ("emb_rank", "emb_token", "emb_id", "emb_similarity")]
    found = embeddings.nearest_neighbours(_embedding_table(bundle), token_id, k)
    display = bundle.tokenizer.token_display
    rows = [[rank, display(i), i, round(sim, 4)] for rank, (i, sim) in enumerate(found, 1)]
    return {"headers": headers, "data": rows}


def _token_choices(bundle: api.ModelBundle, ids: list[int], lang: str) -> list[tuple[str, int]]:
    """The input's distinct tokens, in order of first appearance, as (label, id)."""
    seen = dict.fromkeys(ids)
    return [(text("emb_choice", lang, token=bundle.tokenizer.token_display(i), id=i), i) for i in seen]


def on_embeddings(model_name: str, text_in: str, chosen: int | None = None, request: gr.Request = None):
    """Summary, the three (T × d_model) heatmaps, the vocabulary map, the similarity matrix,
    the token picker and the nearest neighbours of the picked token (kept if still present)."""
    return _embeddings(model_name, text_in, chosen, language(request))[0]


def on_embeddings_view(model_name: str, text_in: str, chosen: int | None = None, request: gr.Request = None):
    """`on_embeddings`'s outputs plus the session's data for the export (a gr.State)."""
    outputs, data = _embeddings(model_name, text_in, chosen, language(request))
    return (*outputs, data)


def _add_title_line(fig, line: str) -> None:
    """A second, smaller title line (plotly parses <...> in text: the line is escaped)."""
    safe = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    fig.layout.title.text = f"{fig.layout.title.text}<br><span style='font-size:12px'>{safe}</span>"


def _embeddings(model_name: str, text_in: str, chosen, lang: str) -> tuple[tuple, dict]:
    bundle, result = inspect_or_error(model_name, text_in)
    labels = [tok.display for tok in result.tokens]
    tok_emb = result.cache.embed().numpy()  # (T, d_model)
    pos_emb = result.cache.pos_embed().numpy()  # (T, d_model)
    n, d = tok_emb.shape
    axis = dict(xlabel=text("emb_dimension", lang), ylabel=text("emb_token", lang),
                value_label=text("emb_value", lang))
    heatmaps = [
        figures.embedding_heatmap(m, labels, title=text(key, lang, t=n, d=d), **axis)
        for key, m in (("emb_token_title", tok_emb), ("emb_pos_title", pos_emb),
                       ("emb_sum_title", tok_emb + pos_emb))
    ]

    table = _embedding_table(bundle)
    proj = embeddings.cached_vocab_projection(bundle.model, table)
    vocab = proj.points.shape[0]
    untrained = proj.untrained if proj.untrained is not None else np.zeros(vocab, dtype=bool)
    n_untrained = int(untrained.sum())
    shown = sorted(i for i in set(result.ids) if not untrained[i])
    pca = figures.pca_scatter(
        proj.trained_points(), vocab_labels(bundle.tokenizer), highlight=shown,
        title=text("emb_pca_title", lang, vocab=vocab, total=float(proj.explained.sum())),
        xlabel=text("emb_pc", lang, n=1, share=float(proj.explained[0])),
        ylabel=text("emb_pc", lang, n=2, share=float(proj.explained[1])),
    )
    if n_untrained:  # left out of the fit and the map (embeddings.untrained_rows says why)
        _add_title_line(pca, text("emb_pca_untrained", lang, n=n_untrained, kept=vocab - n_untrained))
    pca.update_layout(height=560)
    marked = [f"{label} ✕" if untrained[i] else label for label, i in zip(labels, result.ids, strict=True)]
    sim = figures.similarity_heatmap(embeddings.cosine_similarity(tok_emb), marked,
                                     title=text("emb_sim_title", lang), value_label=text("emb_cosine", lang))
    if any(untrained[i] for i in result.ids):
        _add_title_line(sim, text("emb_sim_untrained", lang))
    sim.update_layout(height=620)

    summary = text("emb_summary", lang, model=bundle.name, n_tokens=n, d_model=d, vocab=vocab)
    if result.truncated_from:
        notice = text("emb_truncated", lang, total=result.truncated_from, n_ctx=len(result.tokens))
        summary += "\n\n" + notice
    choices = _token_choices(bundle, result.ids, lang)
    try:
        chosen = int(chosen)
    except (TypeError, ValueError):
        chosen = None
    if chosen not in result.ids:  # keep the learner's pick while it is still in the text
        chosen = choices[0][1]
    picker = gr.Dropdown(choices=choices, value=chosen)
    data = {  # what the export writes: the numbers on screen, plus the map of the whole vocabulary
        "model": bundle.name, "text": result.text, "tokens": export.token_rows(result.tokens),
        "token": tok_emb, "position": pos_emb, "pca_tokens": proj.points[result.ids],
        "explained": proj.explained, "vocab_points": proj.points, "vocab_labels": vocab_labels(bundle.tokenizer),
    }  # fmt: skip
    return (summary, *heatmaps, pca, sim, picker, neighbours_frame(bundle, chosen, lang)), data


def on_export(data: dict | None, request: gr.Request | None = None):
    """The session's embedding data as embeddings.csv and embeddings.json (no model run): an
    update showing both files. Schemas: `export.embeddings_csv` / `export.embeddings_json`."""
    if not data or "token" not in data:
        raise api.PlaygroundError("ui.nothing_inspected")
    arrays = (data["token"], data["position"], data["pca_tokens"], data["tokens"])
    files = export.write_files({
        "embeddings.csv": export.embeddings_csv(*arrays),
        "embeddings.json": export.embeddings_json(
            *arrays, explained=data["explained"], vocab_points=data["vocab_points"],
            vocab_labels=data["vocab_labels"], model=data["model"], text=data["text"]),
    })  # fmt: skip
    return gr.update(value=[str(f) for f in files], visible=True)


def on_neighbours(model_name: str, token_id: int | None, request: gr.Request = None):
    """The nearest vocabulary entries of one token id."""
    lang = language(request)
    bundle = get_bundle(model_name)
    if token_id is None:
        raise api.PlaygroundError("embeddings.no_token")
    if isinstance(token_id, float) and token_id.is_integer():
        token_id = int(token_id)
    return neighbours_frame(bundle, token_id, lang)


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the Embeddings tab; wires /embeddings and /neighbours to the shared inputs."""
    data = gr.State(None)
    gr.Markdown(t("emb_what"), elem_id="emb-what")
    summary = gr.Markdown(elem_id="emb-summary")
    with gr.Row():
        plots = [FastPlot(show_label=False, elem_id=f"emb-{name}") for name in ("token", "pos", "sum")]
    with gr.Row(equal_height=True):
        export_button = gr.Button(t("emb_export"), elem_id="emb-export", size="sm", scale=0, min_width=300)
        export_files = gr.File(label=t("emb_export_files"), file_count="multiple", interactive=False,
                               visible=False, elem_id="emb-export-files", scale=1)
    gr.Markdown(t("emb_pca_what"))
    pca = FastPlot(show_label=False, elem_id="emb-pca")
    gr.Markdown(t("emb_sim_what"))
    with gr.Row():
        sim = FastPlot(show_label=False, elem_id="emb-sim", scale=1)
        with gr.Column(scale=1):
            picker = gr.Dropdown(label=t("emb_nn_token"), elem_id="emb-nn-token", interactive=True)
            table = gr.Dataframe(label=t("emb_nn_table"), elem_id="emb-nn", interactive=False,
                                 headers=["rank", "token", "id", "cosine similarity"], max_height=520)

    inputs = [shared.picker, shared.text, picker]
    outputs = [summary, *plots, pca, sim, picker, table, data]
    shared.listen(on_embeddings_view, inputs, outputs, api_name="embeddings", concurrency_id="embeddings",
                  concurrency_limit=4)
    picker.input(on_neighbours, [shared.picker, picker], table, api_name="neighbours",
                 concurrency_id="embeddings")
    export_button.click(on_export, [data], [export_files], api_name="export_embeddings",
                        concurrency_id="export", concurrency_limit=2)
