"""English and Chinese UI strings. The page follows the browser's language (gr.I18n).

Each tab module registers its own strings with `add(EN, ZH)` at import time, so a tab's text
lives beside its layout; `t(key)` marks a label for translation in the browser, and
`text(key, lang)` gives a string in one language for messages composed in handlers.
"""

from __future__ import annotations

import gradio as gr
from gradio.context import LocalContext
from gradio.i18n import I18nData

STRINGS: dict[str, dict[str, str]] = {"en": {}, "zh": {}}


def add(en: dict[str, str], zh: dict[str, str]) -> None:
    """Register a module's strings; both languages must define the same keys."""
    if set(en) != set(zh):
        raise ValueError(f"untranslated UI strings: {sorted(set(en) ^ set(zh))}")
    clash = set(en) & set(STRINGS["en"])
    if clash and any(STRINGS["en"][k] != en[k] for k in clash):
        raise ValueError(f"UI string keys defined twice: {sorted(clash)}")
    STRINGS["en"].update(en)
    STRINGS["zh"].update(zh)


def t(key: str) -> I18nData:
    """Translated text for a component label or Markdown value."""
    if key not in STRINGS["en"]:
        raise KeyError(f"missing UI string {key!r}")
    return I18nData(key)


def language(request: gr.Request | None) -> str:
    """'zh' when the browser prefers Chinese, else 'en' (for text built inside handlers).

    Without a request (a handler bound with functools.partial is not given one by Gradio) the
    request of the event being processed is used, so its messages follow the browser too."""
    if request is None:
        request = LocalContext.request.get(None)
    header = ""
    if request is not None and getattr(request, "headers", None) is not None:
        header = request.headers.get("accept-language", "") or ""
    first = header.split(",")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def text(key: str, lang: str = "en", **values) -> str:
    """A UI string in `lang`, formatted with `values`, for messages composed in handlers."""
    return STRINGS["zh" if lang == "zh" else "en"][key].format(**values)


def i18n() -> gr.I18n:
    """All registered strings, for `launch(i18n=...)`."""
    return gr.I18n(en=dict(STRINGS["en"]), zh=dict(STRINGS["zh"]))


add(
    en={
        "title": "# Transformer Playground",
        "subtitle": "Type a sentence and watch a small GPT read it: its tokens, its embeddings and every "
        "attention head. Train your own and watch the heads form.",
        "model": "Model",
        "text": "Your text",
        "common.runs": "Runs",
        "common.runs_description": "View runs saved in this browser",
        # Gradio's own keys that its zh-CN locale (6.31) lacks; the English is Gradio's own. Its
        # progress text "queue: 1/2 |" / "processing |" is not an i18n key: assets/zh_tips.js.
        "common.progress": "Progress",
        "common.download_all": "Download All",
        "common.back_to_app": "App",
        "common.back_to_app_description": "Return to the app",
        "common.run": "Run",
        "dataframe.filter": "Filter",
        "dataframe.clear_filter": "Clear filters",
        "status.queue_position": "In queue: {position} of {size}",
        "untrained_notice": "⚠️ No trained checkpoint was found, so this page shows a seeded *random* model: "
        "its attention is noise. Rebuild the checkpoints with the commands in README.",
    },
    zh={
        "title": "# Transformer 游乐场",
        "subtitle": "输入一句话，看一个小型 GPT 如何读它：它的词元（token）、词向量和每一个注意力头。"
        "还可以训练你自己的模型，看注意力头如何形成。",
        "model": "模型",
        "text": "你的文本",
        "common.runs": "运行记录",
        "common.runs_description": "查看保存在本浏览器中的运行记录",
        "common.progress": "进度",
        "common.download_all": "全部下载",
        "common.back_to_app": "应用",
        "common.back_to_app_description": "返回应用",
        "common.run": "运行",
        "dataframe.filter": "筛选",
        "dataframe.clear_filter": "清除筛选",
        "status.queue_position": "排队中：第 {position} 位，共 {size} 位",
        "untrained_notice": "⚠️ 没有找到训练好的检查点，所以本页显示的是一个固定种子的*随机*模型：它的注意力只是噪声。"
        "请用 README 中的命令重建检查点。",
    },
)
