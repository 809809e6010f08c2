"""Tokens: how the text is cut up — by the model's tokenizer, by three reference tokenizers
side by side, and by a BPE the learner trains (endpoints /tokenize and /train_bpe)."""

from __future__ import annotations

import html

import gradio as gr

from .. import api, tokenizer_lab
from ..corpora import CORPUS_NAMES
from ..tokenizer import BPE_MIN_VOCAB, TokenView
from .i18n import add, language, t, text
from .state import get_bundle
from .token_view import tokens_html

MERGES_SHOWN = 30  # rows of the merge table

add(
    en={
        "tok_what": "**What am I looking at?** A model never sees letters. A *tokenizer* cuts the text into "
        "**tokens** — pieces the model treats as one unit — and gives each a number, its **id** (the small "
        "number under each piece). The model only ever sees that list of ids. Spaces show as `·` and new "
        "lines as `↵`. A piece like `<e7 8b>` is *part* of a character: most Chinese characters take 3 bytes in "
        "UTF-8 (rare ones 4), and a byte-level tokenizer may cut between them.",
        "tok_model_heading": "### The model's tokenizer",
        "tok_compare_heading": "### The same text, three kinds of tokenizer",
        "tok_compare_what": "All three were trained on the same 200 kB of the built-in *stories* corpus. "
        "**Character**: one token per character (unseen characters fall back to bytes). **Word**: one token "
        "per word or punctuation mark; spaces are dropped and words it never saw become `[UNK]`. **BPE** "
        "(byte-pair encoding, as in GPT-2): starts from the 256 bytes and keeps gluing the most frequent "
        "neighbouring pair into a new token. Before any merging the text is pre-split into words, numbers and "
        "punctuation, a space staying with the word after it, so a merge never crosses a space boundary — hence "
        "GPT-2 tokens like `Ġthe` (a space and \"the\"; shown here as `·the`). Fewer tokens for the same text = more "
            "text fits in the model's "
        "context.",
        "tok_lab_heading": "### Train your own BPE",
        "tok_lab_what": "Pick a corpus and a vocabulary size, then let go of the slider: a byte-level BPE is "
        "trained on 200 kB of that corpus right now. The table lists its first merges in the order they were "
        "learned — the most frequent pair first. A bigger vocabulary = more merges = longer tokens.",
        "tok_lab_corpus": "Training corpus",
        "tok_lab_vocab": "Vocabulary size (256 bytes + merges)",
        "tok_lab_merges": "First merges",
        "tok_spans": "Tokens",
        # messages composed in handlers
        "tok_counts_header": "| characters | bytes | tokens | characters per token |",
        "tok_model_line": "Model **{model}** · tokenizer: {kind} · {vocab:,} tokens in its vocabulary",
        "tok_truncated": "⚠️ The text has {total:,} tokens but the model reads at most {n_ctx:,}: only the "
        "first {n_ctx:,} tokens ({chars:,} characters) are shown here and used in every tab.",
        "tok_kind_char": "Character",
        "tok_kind_word": "Word",
        "tok_kind_bpe": "BPE",
        "tok_compare_counts": "{vocab:,} tokens in vocabulary · **{tokens:,} tokens** · {cpt:.2f} characters "
        "per token",
        "tok_lab_summary": "Trained on {kb:,} kB of *{corpus}* in {seconds:.2f} s: **{vocab:,} tokens** = "
        "256 bytes + {merges:,} merges. Your text: **{tokens:,} tokens** ({cpt:.2f} characters per token).",
        "tok_lab_fewer": " (asked for {asked:,}: this corpus has no more pairs worth merging)",
        "tok_rank": "rank",
        "tok_left": "left",
        "tok_right": "right",
        "tok_merged": "merged",
    },
    zh={
        "tok_what": "**我在看什么？** 模型从来看不到字母。*分词器*（tokenizer）把文本切成一个个**词元**（toke"
        "n）——模型当作一个整体来处理的小片段——并给每个词元一个编号，即它的 "
        "**id**（每个片段下方的小数字）。模型看到的只是这串 id。空格显示为 `·`，换行显示为 `↵`。像 `<e7 8b>` "
        "这样的片段只是一个字符的*一部分*：大多数汉字在 UTF-8 中占 3 个字节（少数生僻字占 4 个），按字节工作的分词器"
        "可能会把它切开。",
        "tok_model_heading": "### 模型的分词器",
        "tok_compare_heading": "### 同一段文本，三种分词器",
        "tok_compare_what": "三者都在内置 *stories* 语料的同样 200 kB "
        "文本上训练。**字符**：每个字符一个词元（没见过的字符退回到字节）。**词**：每个词或标点一个词元；空格"
        "被丢掉，没见过的词变成 `[UNK]`。**BPE**（字节对编码，GPT-2 所用）：从 256 "
        "个字节出发，不断把最常见的相邻两块粘成一个新词元。合并之前，文本先被预切分成单词、数字和标点，"
        "空格跟着它后面的单词，所以合并从不跨越空格边界——这就是 GPT-2 里 `Ġthe`（一个空格加 \"the\"；这里显示为 `·the"
            "`）这类词元的由来。同样的文本词元越少，模型的上下文就能装下越多文本。"
        "",
        "tok_lab_heading": "### 训练你自己的 BPE",
        "tok_lab_what": "选一个语料和词表大小，然后松开滑块：马上在该语料的 200 kB 文本上训练一个字节级 "
        "BPE。表格按学习顺序列出它最先学到的合并——最常见的一对排在最前。词表越大 = 合并越多 = 词元越长。",
        "tok_lab_corpus": "训练语料",
        "tok_lab_vocab": "词表大小（256 个字节 + 合并）",
        "tok_lab_merges": "最先学到的合并",
        "tok_spans": "词元",
        "tok_counts_header": "| 字符数 | 字节数 | 词元数 | 每个词元的字符数 |",
        "tok_model_line": "模型 **{model}** · 分词器：{kind} · 词表共 {vocab:,} 个词元",
        "tok_truncated": "⚠️ 这段文本有 {total:,} 个词元，但模型最多只读 {n_ctx:,} "
        "个：这里和所有标签页只显示并使用前 {n_ctx:,} 个词元（{chars:,} 个字符）。",
        "tok_kind_char": "字符",
        "tok_kind_word": "词",
        "tok_kind_bpe": "BPE",
        "tok_compare_counts": "词表 {vocab:,} 个词元 · **{tokens:,} 个词元** · 每个词元 {cpt:.2f} 个字符",
        "tok_lab_summary": "在 *{corpus}* 的 {kb:,} kB 文本上训练用时 {seconds:.2f} 秒：**{vocab:,} 个词元** "
        "= 256 个字节 + {merges:,} 次合并。你的文本：**{tokens:,} 个词元**（每个词元 {cpt:.2f} 个字符）。",
        "tok_lab_fewer": "（要求 {asked:,}：这个语料没有更多值得合并的字节对了）",
        "tok_rank": "顺序",
        "tok_left": "左",
        "tok_right": "右",
        "tok_merged": "合并后",
    },
)

# The comparison: a responsive grid, one column per tokenizer on a wide screen.
COMPARE_CSS = """
.tok-compare { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; }
.tok-compare-col { border: 1px solid #d0d0d0; border-radius: 8px; padding: 8px 12px; }
.tok-compare-col h4 { margin: 0 0 4px 0; font-size: 1.2rem; }
.tok-compare-col p { margin: 0 0 6px 0; font-size: 1rem; }
"""


def _model_tokens(model_name: str, text_in: str) -> tuple[api.ModelBundle, str, list[TokenView], int | None]:
    """The model, the text it reads (cut to its context) with its tokens, and the original
    token count when the text was cut. Raises PlaygroundError on bad input."""
    bundle = get_bundle(model_name)
    text_in = api.check_text(text_in)
    tokens = bundle.tokenizer.encode(text_in).tokens
    if not tokens:
        raise api.PlaygroundError("text.no_tokens", field="text.the_text")
    n_ctx, truncated_from = bundle.config.n_ctx, None
    if len(tokens) > n_ctx:
        truncated_from, tokens = len(tokens), tokens[:n_ctx]
        text_in = text_in[: tokens[-1].end]
    return bundle, text_in, tokens, truncated_from


def _counts_markdown(used: str, tokens: list[TokenView], lang: str) -> str:
    s = tokenizer_lab.TextStats(len(used), len(used.encode("utf-8")), len(tokens))
    return (f"{text('tok_counts_header', lang)}\n|---:|---:|---:|---:|\n"
            f"| {s.n_chars:,} | {s.n_bytes:,} | {s.n_tokens:,} | {s.chars_per_token:.2f} |")


def _kind_name(kind: str, lang: str) -> str:
    return text(f"tok_kind_{kind}", lang)


def compare_html(used: str, lang: str = "en") -> str:
    """The text tokenized by the character, word and BPE reference tokenizers, side by side."""
    columns = []
    for kind, tok in tokenizer_lab.reference_tokenizers().items():
        enc = tok.encode(used)
        s = tokenizer_lab.stats(used, enc)
        counts = text("tok_compare_counts", lang, vocab=tok.vocab_size, tokens=s.n_tokens,
                      cpt=s.chars_per_token)
        counts = counts.replace("**", "")  # plain HTML here, not Markdown
        columns.append(
            f'<div class="tok-compare-col" data-kind="{kind}" data-tokens="{s.n_tokens}">'
            f"<h4>{html.escape(_kind_name(kind, lang))}</h4><p>{html.escape(counts)}</p>"
            f"{tokens_html(enc.tokens, lang=lang)}</div>"
        )
    return '<div class="tok-compare">' + "".join(columns) + "</div>"


def on_tokenize(model_name: str, text_in: str, request: gr.Request = None):
    """The model tokenizer's coloured tokens, their counts, and the three-way comparison."""
    lang = language(request)
    bundle, used, tokens, truncated_from = _model_tokens(model_name, text_in)
    lines = [
        text("tok_model_line", lang, model=bundle.name, kind=_kind_name(bundle.tokenizer.kind, lang),
             vocab=bundle.tokenizer.vocab_size),
        "",
        _counts_markdown(used, tokens, lang),
    ]
    if truncated_from:
        n_ctx = bundle.config.n_ctx
        lines += ["", text("tok_truncated", lang, total=truncated_from, n_ctx=n_ctx, chars=len(used))]
    return tokens_html(tokens, lang=lang), "\n".join(lines), compare_html(used, lang)


def merges_frame(tokenizer, lang: str = "en", n: int = MERGES_SHOWN) -> dict:
    """The first `n` merges as a Dataframe value: {"headers": [...], "data": [[rank, left, right,
    merged], ...]}."""
    headers = [text(k, lang) for k in ("tok_rank", "tok_left", "tok_right", "tok_merged")]
    rows = [[m.rank, m.left, m.right, m.merged] for m in tokenizer_lab.merge_table(tokenizer, n)]
    return {"headers": headers, "data": rows}


def on_train_bpe(corpus: str, vocab_size: float, model_name: str, text_in: str, request: gr.Request = None):
    """Train (or fetch the cached) BPE on `corpus` and tokenize the current text with it."""
    lang = language(request)
    _, used, _, _ = _model_tokens(model_name, text_in)
    tok, seconds = tokenizer_lab.train_bpe_timed(corpus, vocab_size)
    enc = tok.encode(used)
    s = tokenizer_lab.stats(used, enc)
    summary = text("tok_lab_summary", lang, kb=tokenizer_lab.LAB_CORPUS_BYTES // 1000, corpus=corpus,
                   seconds=seconds, vocab=tok.vocab_size, merges=tokenizer_lab.n_merges(tok),
                   tokens=s.n_tokens, cpt=s.chars_per_token)
    if tok.vocab_size < int(vocab_size):
        summary += text("tok_lab_fewer", lang, asked=int(vocab_size))
    return summary, tokens_html(enc.tokens, lang=lang), merges_frame(tok, lang)


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the Tokens tab; wires /tokenize and /train_bpe to the shared inputs."""
    gr.Markdown(t("tok_what"), elem_id="tok-what")
    gr.Markdown(t("tok_model_heading"))
    spans = gr.HTML(label=t("tok_spans"), elem_id="tok-spans")
    counts = gr.Markdown(elem_id="tok-counts")
    gr.Markdown(t("tok_compare_heading"))
    gr.Markdown(t("tok_compare_what"))
    compare = gr.HTML(elem_id="tok-compare", css_template=COMPARE_CSS)

    gr.Markdown(t("tok_lab_heading"))
    gr.Markdown(t("tok_lab_what"))
    with gr.Row():
        corpus = gr.Dropdown(list(CORPUS_NAMES), value=tokenizer_lab.REFERENCE_CORPUS,
                             label=t("tok_lab_corpus"), elem_id="tok-lab-corpus", scale=1)
        vocab = gr.Slider(BPE_MIN_VOCAB, tokenizer_lab.BPE_MAX_VOCAB, value=tokenizer_lab.DEFAULT_LAB_VOCAB,
                          step=1, label=t("tok_lab_vocab"), elem_id="tok-lab-vocab", scale=3)
    lab_summary = gr.Markdown(elem_id="tok-lab-summary")
    lab_spans = gr.HTML(elem_id="tok-lab-spans")
    merges = gr.Dataframe(headers=["rank", "left", "right", "merged"], label=t("tok_lab_merges"),
                          elem_id="tok-lab-merges", interactive=False, max_height=420, wrap=True)

    inputs, outputs = [shared.picker, shared.text], [spans, counts, compare]
    shared.listen(on_tokenize, inputs, outputs, api_name="tokenize", concurrency_id="tokenize", concurrency_limit=4)

    lab_inputs, lab_outputs = [corpus, vocab, shared.picker, shared.text], [lab_summary, lab_spans, merges]
    lab = dict(concurrency_id="train_bpe", concurrency_limit=2, trigger_mode="always_last")
    shared.listen(on_train_bpe, lab_inputs, lab_outputs, api_name="train_bpe", **lab)
    # The lab's own controls: any new size (dragged, or typed in the slider's box and Enter: that
    # fires .change but not .release) or another corpus; always_last keeps a drag to two runs.
    gr.on([vocab.change, corpus.change], on_train_bpe, lab_inputs, lab_outputs,
          api_visibility="private", **lab)

