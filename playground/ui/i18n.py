"""English and Chinese UI strings. The page follows the browser's language (gr.I18n)."""

from __future__ import annotations

import gradio as gr

EN: dict[str, str] = {
    "title": "# Transformer Playground",
    "subtitle": "Type a sentence and watch a small GPT read it: its tokens and every attention head.",
    "model": "Model",
    "text": "Your text",
    "inspect": "Inspect",
    "tokens": "Tokens",
    "attention_grid": "Attention: every layer × head",
    "next_tokens": "Most likely next tokens",
    "untrained_notice": "⚠️ No trained checkpoint was found, so this page shows a seeded *random* model: "
    "its attention is noise. Rebuild the checkpoints with the commands in README.",
    "what_attention": "**What am I looking at?** Each small square is one attention head. Row = the token "
    "doing the looking (query), column = a token it looks at (key). Bright = much attention. "
    "Only earlier tokens can be seen (the upper-right triangle is masked): the model reads left to right.",
}

ZH: dict[str, str] = {
    "title": "# Transformer 游乐场",
    "subtitle": "输入一句话，看一个小型 GPT 如何读它：它的词元（token）和每一个注意力头。",
    "model": "模型",
    "text": "你的文本",
    "inspect": "分析",
    "tokens": "词元",
    "attention_grid": "注意力：每一层 × 每一个头",
    "next_tokens": "最可能的下一个词元",
    "untrained_notice": "⚠️ 没有找到训练好的检查点，所以本页显示的是一个固定种子的*随机*模型：它的注意力只是噪声。"
    "请用 README 中的命令重建检查点。",
    "what_attention": "**我在看什么？** 每个小方块是一个注意力头。行 = 正在“看”的词元（查询 query），"
    "列 = 被看的词元（键 key）。越亮表示注意力越多。模型只能看到之前的词元（右上三角被遮住）：它从左往右读。",
}

I18N = gr.I18n(en=EN, zh=ZH)


def t(key: str):
    """Translated text for a component label or Markdown value."""
    if key not in EN:
        raise KeyError(f"missing UI string {key!r}")
    return I18N(key)


def language(request: gr.Request | None) -> str:
    """'zh' when the browser prefers Chinese, else 'en' (for text built inside handlers)."""
    header = ""
    if request is not None and getattr(request, "headers", None) is not None:
        header = request.headers.get("accept-language", "") or ""
    first = header.split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def text(key: str, lang: str) -> str:
    """A UI string in `lang`, for messages composed in handlers."""
    return (ZH if lang == "zh" else EN)[key]
