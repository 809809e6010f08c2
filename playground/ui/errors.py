"""User-facing errors, in the user's language, from one place.

Every event function of the app is wrapped by `guard_app(demo)` (called once in build_app), so
tab handlers keep raising plain library errors (`PlaygroundError`, `ConfigError`, `CorpusError`,
`CheckpointError`, `TokenizerError`, `SessionError` — all `ValueError`s whose English message
says what was wrong and what is allowed) or `gr.Error`s, and the wrapper turns each into a
`gr.Error` in the browser's language:

- the language comes from the request's Accept-Language header (`i18n.language`): `gr.Error`
  takes a plain string (Gradio 6.31: `message: str`, sent verbatim in the event's JSON; a
  `gr.I18n` key would arrive as an untranslated `__i18n__{...}` string and cannot carry the
  numbers a limit message needs), so the message is translated here, on the server;
- English messages are translated to Chinese by the pattern table `ZH` below, keeping every
  number, name and limit of the original; a message no pattern knows gets a Chinese lead-in
  with the English detail, so nothing is ever lost;
- `<` and `&` are escaped: Gradio renders an error message as HTML, and messages quote input;
- an unexpected exception (a bug) is logged with its traceback and shown as a short, translated
  "something went wrong" message instead of Gradio's bare "Error"; the server keeps serving.

`gr.Warning` / `gr.Info` text is composed in handlers with `i18n.text(key, lang)` already.
Gradio's own input checks (a slider value outside its range, a dropdown value not among its
choices, a word where a number belongs) run before any handler: `guard_app` also wraps
`demo.process_api`, so those are translated (or explained) too. Two messages stay Gradio's
English: "Queue is full" (refused before any of our code runs) and an upload over
`max_file_size` (refused by the upload route).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
import string
from pathlib import Path

import gradio as gr

from ..errors import PlaygroundError
from .i18n import STRINGS, add, language, text

log = logging.getLogger("playground.ui")

add(
    en={
        "err_internal": "Something went wrong on the server ({kind}). Nothing you had is lost; please try "
        "again, or with different input.",
        "err_generic": "{message}",
        "err_upload_place": "That file was not uploaded through this page; upload it with the file box",
        "err_bad_input": "The request could not be processed: an input has the wrong type or form ({detail}). "
        "Each endpoint's inputs and their types are listed on the page's “Use via API” page.",
    },
    zh={
        "err_internal": "服务器出了点问题（{kind}）。你已有的内容都没有丢失；请再试一次，或换一个输入。",
        "err_generic": "无法完成请求：{message}",
        "err_upload_place": "这个文件不是通过本页面上传的；请用文件框上传它",
        "err_bad_input": "无法处理这个请求：某个输入的类型或格式不对（{detail}）。"
        "每个接口的输入及其类型列在页面的“通过 API 使用”（Use via API）页上。",
    },
)

# Field names that appear in English messages, as a Chinese reader knows them.
FIELDS_ZH = {
    "the text": "文本",
    "the prompt": "提示",
    "text": "文本",
    "steps": "步数",
    "batch size": "批大小",
    "batch_size": "批大小",
    "seed": "种子",
    "the seed": "种子",
    "layers": "层数",
    "heads": "头数",
    "vocab": "词表大小",
    "vocab_size": "词表大小",
    "context": "上下文",
    "lr": "学习率",
    "n_layers": "层数",
    "n_heads": "头数",
    "d_model": "宽度 d_model",
    "n_ctx": "上下文 n_ctx",
    "d_vocab": "词表大小 d_vocab",
    "d_mlp": "d_mlp",
    "max_new_tokens": "新词元数",
    "temperature": "温度",
    "top_k": "top-k",
    "top_p": "top-p",
    "new tokens": "新词元数",
    "word index": "词的序号",
    "token id": "词元 id",
    "epochs": "轮数",
    '"My model"': "“我的模型”（My model）",
}

_N = r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?"  # a number as the messages print it (1,000 / 0.05 / 1e-06)

# (English pattern, Chinese template). Named groups are copied into the template; a group whose
# name starts with "sub" is itself translated, one whose name starts with "f" is a field name.
_TABLE: list[tuple[str, str]] = [
    # ---- nesting: "cannot load x.zip: <reason>" etc.
    (r"cannot load (?P<name>[^:]+): (?P<sub>.+)", "无法加载 {name}：{sub}"),
    (r"cannot import (?P<name>[^:]+): (?P<sub>.+)", "无法导入 {name}：{sub}"),
    (
        r"(?P<sub>.+)\. \"My model\" is the model trained or uploaded in the Train tab of this browser session; "
        r"each user sees only their own",
        "{sub}。“我的模型”（My model）是本浏览器会话在“训练”标签页中训练或上传的模型；每个用户只能看到自己的",
    ),
    (r"there is no (?P<f>.+) in this session", "本会话中没有{f}"),
    (
        r"(?P<f>.+) has expired: models are kept for (?P<m>" + _N + r") minutes without use; train or upload it again",
        "{f}已过期：模型在 {m} 分钟不使用后会被清除；请重新训练或上传",
    ),
    (r"this session is already running (?P<job>.+); one at a time", "本会话已经在运行{job}；同一时间只能一个"),
    (r"a session id must be a non-empty string, got (?P<v>.+)", "会话 id 必须是非空字符串，收到 {v}"),
    # ---- text (api.check_text)
    (r"(?P<f>.+) must be text, got (?P<t>\w+)", "{f}必须是文本，收到的是 {t}"),
    (r"(?P<f>.+) is empty: type at least one character", "{f}是空的：请至少输入一个字符"),
    (
        r"(?P<f>.+) has (?P<n>" + _N + r") characters; the limit is (?P<limit>" + _N + r")",
        "{f}有 {n} 个字符；上限是 {limit} 个字符",
    ),
    (r"(?P<f>the text|the prompt) produced no tokens", "{f}没有产生任何词元"),
    (r"the prompt must contain at least one token", "提示必须至少包含一个词元"),
    (
        r"(?P<f>.+) contains a lone surrogate \(U\+(?P<cp>[0-9A-F]+) at position (?P<p>\d+)\), which is not valid "
        r"Unicode text; remove it",
        "{f}含有无效的 Unicode 字符：位置 {p} 的孤立代理项 U+{cp}；请删除它",
    ),
    # ---- models (state.get_bundle, api.load_model)
    (
        r"unknown model (?P<name>.+); choose one of (?P<choices>\[.*?\]) or type the id of a GPT-2 model on the "
        r"Hugging Face Hub, e\.g\. (?P<examples>.+)",
        "未知的模型 {name}；请从 {choices} 中选择，或输入 Hugging Face Hub 上某个 GPT-2 模型的 id，例如 {examples}",
    ),
    (r"unknown model (?P<name>.+); choose one of (?P<choices>.+)", "未知的模型 {name}；请从 {choices} 中选择"),
    (
        r"no model called (?P<name>.+): use one of (?P<choices>\[.*\]) or a checkpoint folder / \.zip path",
        "没有名为 {name} 的模型：请使用 {choices} 之一，或一个检查点文件夹 / .zip 路径",
    ),
    (r"(?P<name>.+): the checkpoint has no tokenizer\.json", "{name}：检查点里没有 tokenizer.json"),
    (r"the checkpoint has no tokenizer\.json", "检查点里没有 tokenizer.json"),
    # ---- numbers (config.py, train/generate tabs)
    (
        r"(?P<f>.+) must be a whole number between (?P<lo>" + _N + r") and (?P<hi>" + _N + r"), got (?P<v>.+)",
        "{f}必须是 {lo} 到 {hi} 之间的整数，收到 {v}",
    ),
    (
        r"(?P<f>.+) must be a number between (?P<lo>" + _N + r") and (?P<hi>" + _N + r"), got (?P<v>.+)",
        "{f}必须是 {lo} 到 {hi} 之间的数，收到 {v}",
    ),
    (
        r"(?P<f>.+) must be between (?P<lo>" + _N + r") and (?P<hi>" + _N + r"), got (?P<v>.+)",
        "{f}必须在 {lo} 到 {hi} 之间，收到 {v}",
    ),
    (
        r"(?P<f>.+) must be in (?P<range>[\[(]" + _N + r", " + _N + r"\]), got (?P<v>.+)",
        "{f}必须在 {range} 范围内，收到 {v}",
    ),
    (
        r"(?P<f>.+) must be (?:a whole number )?from (?P<lo>" + _N + r") to (?P<hi>" + _N + r"),? got (?P<v>.+)",
        "{f}必须是 {lo} 到 {hi} 之间的整数，收到 {v}",
    ),
    (
        r"(?P<f>.+) must be a whole number from (?P<lo>" + _N + r") to (?P<hi>" + _N + r"); got (?P<v>.+)",
        "{f}必须是 {lo} 到 {hi} 之间的整数，收到 {v}",
    ),
    (
        r"(?P<f>.+) must be a whole number in (?P<lo>" + _N + r")\.\.(?P<hi>" + _N + r"), got (?P<v>.+)",
        "{f}必须是 {lo} 到 {hi} 之间的整数，收到 {v}",
    ),
    (r"(?P<f>.+) must be a whole number, got (?P<v>.+)", "{f}必须是整数，收到 {v}"),
    (
        r"(?P<f>.+) must be a whole number >= (?P<lo>" + _N + r"); got (?P<v>.+)",
        "{f}必须是不小于 {lo} 的整数，收到 {v}",
    ),
    (
        r"d_model \((?P<a>\d+)\) must be divisible by n_heads \((?P<b>\d+)\)",
        "宽度 d_model（{a}）必须能被头数 n_heads（{b}）整除",
    ),
    # ---- corpora and tokenizers
    (r"[Uu]nknown corpus (?P<name>.+?); choose one of:? (?P<choices>.+)", "未知的语料 {name}；请从 {choices} 中选择"),
    (
        r"The text is too large: (?P<n>" + _N + r") bytes; the limit is (?P<limit>" + _N + r") bytes \(5 MB\)\.?",
        "文本太大：{n} 字节；上限是 {limit} 字节（5 MB）",
    ),
    (
        r"The text is empty \(or only whitespace\); paste or upload at least (?P<n>" + _N + r") characters of text\.?",
        "文本是空的（或只有空白）；请粘贴或上传至少 {n} 个字符的文本",
    ),
    (
        r"The text is too short: (?P<n>"
        + _N
        + r") characters; training needs at least (?P<m>"
        + _N
        + r") characters\.?",
        "文本太短：{n} 个字符；训练至少需要 {m} 个字符",
    ),
    (
        r"This looks like a binary file .*",
        "这看起来是一个二进制文件（含有 NUL 字节），不是文本；只允许 UTF-8 纯文本（.txt）",
    ),
    (
        r"The text is not valid UTF-8 \(byte (?P<b>0x[0-9a-f]+) at position (?P<p>\d+)\); .*",
        "文本不是有效的 UTF-8（位置 {p} 的字节 {b}）；请另存为 UTF-8 纯文本后再试",
    ),
    (r"Only plain-text \.txt files are allowed, got (?P<name>.+)", "只允许纯文本 .txt 文件，收到 {name}"),
    (r"No such file: (?P<name>.+)", "没有这个文件：{name}"),
    (r"Expected text \(str\) or bytes, got (?P<t>.+)", "需要文本（str）或字节（bytes），收到 {t}"),
    (r"The text is too short to split into train and val parts", "文本太短，无法分成训练和验证两部分"),
    (r"The text must have some non-space text in both train and val parts", "训练和验证两部分都必须含有非空白的文本"),
    (r"need at least 3 tokens of text to train on, got (?P<n>\d+)", "至少需要 3 个词元的文本才能训练，收到 {n} 个"),
    (r"tokenizer kind must be one of (?P<kinds>.+); got (?P<v>.+)", "分词器类型必须是 {kinds} 之一，收到 {v}"),
    (
        r"vocab_size for a (?P<kind>\w+) tokenizer must be a whole number from (?P<lo>\d+) \(256 byte tokens \+ at "
        r"least one merge\) to (?P<hi>\d+); got (?P<v>.+)",
        "{kind} 分词器的词表大小必须是 {lo}（256 个字节 + 至少一次合并）到 {hi} 之间的整数，收到 {v}",
    ),
    (
        r"vocab_size for a (?P<kind>\w+) tokenizer must be a whole number from (?P<lo>\d+) to (?P<hi>\d+); "
        r"got (?P<v>.+)",
        "{kind} 分词器的词表大小必须是 {lo} 到 {hi} 之间的整数，收到 {v}",
    ),
    (
        r"vocabulary size must be a whole number from (?P<lo>\d+) \(256 byte tokens \+ one merge\) to (?P<hi>\d+); "
        r"got (?P<v>.+)",
        "词表大小必须是 {lo}（256 个字节 + 一次合并）到 {hi} 之间的整数，收到 {v}",
    ),
    (
        r"the training text has (?P<n>\d+) distinct characters; a char tokenizer needs vocab_size >= (?P<a>\d+) "
        r"\(alphabet \+ \[UNK\]\), or >= (?P<b>\d+) to spell unseen characters as bytes; got (?P<v>\d+)",
        "训练文本有 {n} 个不同的字符；字符分词器的词表大小至少要 {a}（字母表 + [UNK]），或至少 {b} 才能把没见过的字符"
        "拼成字节；收到 {v}",
    ),
    (r"training text is empty; give some text with words in it", "训练文本是空的；请给出含有词语的文本"),
    (r"token id (?P<id>-?\d+) is out of range; ids go from 0 to (?P<hi>\d+)", "词元 id {id} 超出范围；id 从 0 到 {hi}"),
    (r"choose a token first", "请先选择一个词元"),
    # ---- worked example, article lab
    (r"(?P<name>.+) must contain numbers only \(every cell filled in\)", "{name} 只能包含数字（每个格子都要填）"),
    (
        r"(?P<name>.+) must be a non-empty table of rows × columns, got shape (?P<s>.+)",
        "{name} 必须是非空的行 × 列表格，收到的形状是 {s}",
    ),
    (
        r"(?P<name>.+) may have at most (?P<n>\d+) rows and (?P=n) columns, got (?P<s>.+)",
        "{name} 最多 {n} 行、{n} 列，收到 {s}",
    ),
    (
        r"(?P<name>.+) must contain finite numbers only \(no empty cells, inf or NaN\)",
        "{name} 只能包含有限的数字（不能有空格子、inf 或 NaN）",
    ),
    (r"word must be one of (?P<words>.+), got (?P<v>.+)", "词必须是 {words} 之一，收到 {v}"),
    (
        r"Q and K need the same number of columns \(d_k\): Q has (?P<a>\d+), K has (?P<b>\d+)",
        "Q 和 K 的列数（d_k）必须相同：Q 有 {a} 列，K 有 {b} 列",
    ),
    (
        r"K and V need the same number of rows \(one value per key\): K has (?P<a>\d+), V has (?P<b>\d+)",
        "K 和 V 的行数必须相同（每个键一个值）：K 有 {a} 行，V 有 {b} 行",
    ),
    (
        r"causal attention needs as many queries as keys: Q has (?P<a>\d+) rows, K has (?P<b>\d+)",
        "因果注意力需要查询和键一样多：Q 有 {a} 行，K 有 {b} 行",
    ),
    (
        r"another article-lab run has been busy for over (?P<s>\d+) s; try later",
        "另一个文章实验已经运行超过 {s} 秒；请稍后再试",
    ),
    (r"Nothing inspected yet: type a text and press Inspect first\.?", "还没有分析任何内容：请先输入文本并按“分析”"),
    # ---- checkpoint zips (checkpoint.py)
    (r"the file is not a zip archive", "这个文件不是 zip 压缩包"),
    (r"the zip is damaged: (?P<d>.+)", "zip 已损坏：{d}"),
    (r"the zip has (?P<n>[\d,]+) members; at most (?P<m>\d+) are allowed", "zip 有 {n} 个成员；最多允许 {m} 个"),
    (r"the zip unpacks to (?P<n>.+); the limit is (?P<limit>.+)", "zip 解压后有 {n}；上限是 {limit}"),
    (
        r"the zip is a ZIP64 archive; a checkpoint zip is small and must not need ZIP64",
        "这个 zip 是 ZIP64 格式；检查点 zip 很小，不需要 ZIP64",
    ),
    (
        r"the zip's directory is (?P<n>.+); at most (?P<limit>.+) \(a checkpoint zip lists at most (?P<m>\d+) files\)",
        "zip 的目录有 {n}；最多 {limit}（检查点 zip 最多包含 {m} 个文件）",
    ),
    (
        r"(?P<name>\S+) in the zip is (?P<n>.+) unpacked; the limit is (?P<limit>.+)",
        "zip 中的 {name} 解压后有 {n}；上限是 {limit}",
    ),
    (r"(?P<name>\S+) in the zip unpacks to more than its declared size", "zip 中的 {name} 解压后比它声明的大小更大"),
    (r"(?P<name>\S+) is (?P<n>[\d,.]+ (?:MiB|bytes)); the limit is (?P<limit>.+)", "{name} 有 {n}；上限是 {limit}"),
    (
        r"the zip has no (?P<names>.+); a checkpoint zip holds (?P<allowed>.+)",
        "zip 里没有 {names}；检查点 zip 应包含 {allowed}",
    ),
    (
        r"zip member (?P<m>.+) has an absolute or Windows path; only relative paths are allowed",
        "zip 成员 {m} 使用了绝对路径或 Windows 路径；只允许相对路径",
    ),
    (
        r"zip member (?P<m>.+) has '\.\.', '\.' or an empty path part; that is not allowed",
        "zip 成员 {m} 的路径含有 '..'、'.' 或空的部分；这是不允许的",
    ),
    (
        r"zip member (?P<m>.+) is a symbolic link; only regular files are allowed",
        "zip 成员 {m} 是符号链接；只允许普通文件",
    ),
    (r"zip member (?P<m>.+) is encrypted; zips must not use a password", "zip 成员 {m} 已加密；zip 不能使用密码"),
    (
        r"zip member (?P<m>.+) is nested too deep; put the files at the top or in one folder",
        "zip 成员 {m} 嵌套太深；请把文件放在最外层或同一个文件夹里",
    ),
    (
        r"zip member (?P<m>.+) is not allowed; a checkpoint zip may only hold (?P<allowed>.+) \(at the top or inside "
        r"one folder\)",
        "zip 成员 {m} 不被允许；检查点 zip 只能包含 {allowed}（在最外层或同一个文件夹里）",
    ),
    (
        r"zip member (?P<m>.+) uses an unsupported compression; use 'stored' or 'deflate'",
        "zip 成员 {m} 使用了不支持的压缩方式；请使用 'stored' 或 'deflate'",
    ),
    (r"the zip holds (?P<name>\S+) twice", "zip 里有两个 {name}"),
    (
        r"the zip's files are spread over several folders; put them in one folder",
        "zip 的文件分散在多个文件夹里；请放在同一个文件夹里",
    ),
    (
        r"(?P<name>\S+) is not a valid safetensors file \((?P<d>.*)\); it may be truncated or of another format\."
        r"(?P<pickle> It looks like a PyTorch/pickle file.*)?",
        "{name} 不是有效的 safetensors 文件（{d}）；它可能被截断了，或是其他格式。{pickle}",
    ),
    (r"config\.json is not a usable GPT-2 config: (?P<sub>.+)", "config.json 不是可用的 GPT-2 配置：{sub}"),
    (r"(?P<name>\S+) is not valid UTF-8 JSON: (?P<d>.+)", "{name} 不是有效的 UTF-8 JSON：{d}"),
    (
        r"(?P<name>\S+) must hold a JSON object \{\.\.\.\}, not (?P<t>\w+)",
        "{name} 必须是一个 JSON 对象 {{...}}，而不是 {t}",
    ),
    (
        r"tensor (?P<t>\S+) has dtype (?P<d>\w+); weights must be floating point \((?P<ok>.+)\)",
        "张量 {t} 的类型是 {d}；权重必须是浮点数（{ok}）",
    ),
    (
        r"tensor (?P<t>\S+) has shape (?P<a>\[.*?\]), expected (?P<b>\[.*?\]) \((?P<cfg>.+)\)",
        "张量 {t} 的形状是 {a}，应该是 {b}（{cfg}）",
    ),
    (r"tensor (?P<t>\S+) contains NaN or infinite values", "张量 {t} 含有 NaN 或无穷大的值"),
    (r"model\.safetensors is missing (?P<n>\d+) tensor\(s\): (?P<d>.+)", "model.safetensors 缺少 {n} 个张量：{d}"),
    (
        r"model\.safetensors has (?P<n>\d+) tensor\(s\) a GPT-2 of this size does not have: (?P<d>.+)",
        "model.safetensors 有 {n} 个这种大小的 GPT-2 没有的张量：{d}",
    ),
    (
        r"missing (?P<names>.+); a checkpoint folder holds config\.json, model\.safetensors and tokenizer\.json "
        r"\(card\.json optional\)",
        "缺少 {names}；检查点文件夹应包含 config.json、model.safetensors 和 tokenizer.json（card.json 可选）",
    ),
    (
        r"tokenizer\.json has (?P<n>\d+) tokens but the model has only (?P<m>\d+) embeddings .*",
        "tokenizer.json 有 {n} 个词元，但模型只有 {m} 个嵌入向量；分词器的词表不能更大",
    ),
    (r"tokenizer\.json: (?P<sub>.+)", "tokenizer.json：{sub}"),
    (r"config\.json is missing the GPT-2 key (?P<k>.+)", "config.json 缺少 GPT-2 键 {k}"),
    (
        r"model_type is (?P<t>.+); only GPT-2-architecture models \(model_type 'gpt2'\) are supported",
        "model_type 是 {t}；只支持 GPT-2 架构的模型（model_type 'gpt2'）",
    ),
    (r"(?P<sub>.+) \(asked for (?P<v>.+)\)", "{sub}（你要求了 {v}）"),
    # ---- Gradio's own input checks (translated by the process_api wrapper in guard_app)
    (r"Value (?P<v>.+) is greater than maximum value (?P<m>.+)", "数值 {v} 大于允许的最大值 {m}"),
    (r"Value (?P<v>.+) is less than minimum value (?P<m>.+)", "数值 {v} 小于允许的最小值 {m}"),
    (r"Value: (?P<v>.+?)(?: \(type: .*\))? is not in the list of choices: (?P<c>.+)", "{v} 不在可选项中：{c}"),
    (
        r"Invalid file type\. Please upload a file that is one of these formats: (?P<t>.+)",
        "文件类型无效。请上传以下格式之一的文件：{t}",
    ),
    (r"File (?P<p>.+) is not in the cache folder and cannot be accessed", "文件 {p} 不是上传的文件，不能访问"),
    (
        r"Queue is full\. Max size is (?P<m>\d+) and size is (?P<n>\d+)\.?",
        "队列已满（最多 {m} 个请求在等待）。请稍后再试",
    ),
]
ZH = [(re.compile(pattern, re.S), template) for pattern, template in _TABLE]
_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")
_FORMATTER = string.Formatter()


def _template_pattern(template: str) -> str | None:
    """A registered English UI string as a regex whose groups are its fields (None when it is
    too generic to recognise, e.g. just "{message}")."""
    parts, seen, literal = [], set(), 0
    for text_part, field, _spec, _conv in _FORMATTER.parse(template):
        parts.append(re.escape(text_part))
        literal += len(text_part.strip())
        if field is None:
            continue
        if not field.isidentifier():
            return None
        parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>.+?)")
        seen.add(field)
    return "".join(parts) if literal >= 8 else None


@functools.lru_cache(maxsize=1)
def _ui_strings() -> tuple[tuple[re.Pattern, str], ...]:
    """Every English UI string registered with i18n.add, as (pattern, Chinese template): a
    handler that composed a message in English is still shown in Chinese."""
    out = []
    for key, english in STRINGS["en"].items():
        pattern = _template_pattern(english)
        if pattern is None or key == "err_generic":
            continue
        chinese = re.sub(r"\{(\w+)(?:![rsa])?(?::[^{}]*)?\}", r"{\1}", STRINGS["zh"][key])
        out.append((re.compile(pattern, re.S), chinese))
    return tuple(out)


def _zh(message: str, depth: int = 0) -> str | None:
    core = message.strip()
    for pattern, template in _ui_strings():
        match = pattern.fullmatch(core)
        if match is not None:
            try:
                return template.format(**match.groupdict())
            except (KeyError, IndexError, ValueError):
                break
    if core.endswith(".") and not core.endswith(".."):
        core = core[:-1]
    for pattern, template in ZH:
        match = pattern.fullmatch(core)
        if match is None:
            continue
        values = {}
        for name, value in match.groupdict().items():
            value = value or ""
            if name.startswith("sub") and depth < 4:
                value = _zh(value, depth + 1) or value
            elif name.startswith("f"):
                value = FIELDS_ZH.get(value, value)
            elif name == "pickle" and value:
                value = (
                    "它看起来是 PyTorch/pickle 文件（torch.save）；pickle 可以执行代码，这里永远不会加载它——请用 "
                    "safetensors.torch.save_file 转换。"
                )
            values[name] = value
        return template.format(**values)
    return None


def translate(message: str, lang: str = "en") -> str:
    """`message` (an English library/handler message) in `lang`; Chinese keeps every number."""
    message = str(message)
    if lang != "zh":
        return message
    translated = _zh(message)
    if translated is not None:
        return translated
    if _CJK.search(message):  # composed with i18n.text(key, "zh") already
        return message
    return text("err_generic", "zh", message=message)


def _escape(message: str) -> str:
    """Gradio renders an error message as HTML; messages quote user input."""
    return message.replace("&", "&amp;").replace("<", "&lt;")


def user_error(err: BaseException, lang: str = "en") -> gr.Error:
    """The gr.Error a user sees for `err`: expected errors translated, bugs as a short notice."""
    if getattr(err, "_playground_translated", False):
        return err
    if isinstance(err, gr.Error):
        message = translate(str(err.message), lang)
        out = gr.Error(
            _escape(message), duration=err.duration, visible=err.visible, title=err.title, print_exception=False
        )
    elif isinstance(err, PlaygroundError):  # keyed: worded in the user's language from one table
        out = gr.Error(_escape(err.message(lang)), print_exception=False)
    elif isinstance(err, ValueError):  # the library's error family: the message says what is allowed
        out = gr.Error(_escape(translate(str(err), lang)), print_exception=False)
    else:
        log.error("unexpected error in a handler", exc_info=err)
        out = gr.Error(text("err_internal", lang, kind=type(err).__name__), print_exception=False)
    out._playground_translated = True
    return out


def _request_language(args, kwargs) -> str:
    for value in (*args, *kwargs.values()):
        if isinstance(value, gr.Request) or (hasattr(value, "headers") and hasattr(value, "session_hash")):
            return language(value)
    try:
        from gradio.context import LocalContext

        return language(LocalContext.request.get(None))
    except (ImportError, AttributeError, LookupError):
        return "en"


def guard(fn):
    """Wrap an event function so every exception reaches the user as a translated gr.Error.

    Keeps the signature (Gradio injects gr.Request by it) and generator-ness (streams)."""
    if fn is None or getattr(fn, "_playground_guarded", False):
        return fn
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return fn  # none in this app; left to Gradio
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as err:
                raise user_error(err, _request_language(args, kwargs)) from None

    else:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as err:
                raise user_error(err, _request_language(args, kwargs)) from None

    wrapper._playground_guarded = True
    return wrapper


def guard_app(demo: gr.Blocks) -> int:
    """Wrap every event function of `demo` with `guard`, and `demo.process_api` so that
    Gradio's own input checks (run before any handler) are translated too; returns how many
    event functions were wrapped."""
    count = 0
    for block_fn in demo.fns.values():
        if block_fn.fn is not None and not getattr(block_fn.fn, "_playground_guarded", False):
            block_fn.fn = guard(block_fn.fn)
            count += 1
    original = demo.process_api
    if not getattr(original, "_playground_guarded", False):

        @functools.wraps(original)
        async def process_api(*args, **kwargs):
            try:
                return await original(*args, **kwargs)
            except Exception as err:
                request = kwargs.get("request")
                if isinstance(request, list):
                    request = request[0] if request else None
                lang = language(request)
                if isinstance(err, gr.Error):
                    raise user_error(err, lang) from None
                # Handlers' own failures arrive as gr.Error (guard): this is Gradio reading the
                # request's inputs (e.g. a word where a number belongs) or writing the outputs.
                log.warning("request not processed: %s: %s", type(err).__name__, err)
                lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()] or [""]
                detail = next((ln for ln in lines if ln.startswith("Expected")), None)
                if detail is None:  # Gradio's own refusals say why; anything else: just its kind
                    detail = f"{type(err).__name__}: {lines[0]}" if "Path" in type(err).__name__ else type(err).__name__
                bad = gr.Error(_escape(text("err_bad_input", lang, detail=detail[:300])), print_exception=False)
                bad._playground_translated = True
                raise bad from None

        process_api._playground_guarded = True
        demo.process_api = process_api  # Gradio calls blocks.process_api(..., request=...) per event
    return count


# ---------------------------------------------------------------- uploads


def upload_folder() -> Path:
    """Where Gradio stores uploaded files (GRADIO_TEMP_DIR, default <tmp>/gradio)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def check_upload(path: str | os.PathLike) -> str:
    """`path` if it is a file Gradio received from the user, else a PlaygroundError.

    During a request only files inside Gradio's upload folder are accepted (Gradio checks this
    too when it preprocesses a gr.File; this is the second lock). Outside a request (handler
    tests, notebooks) any local file is the caller's own."""
    from .. import api
    from .state import _current_request

    if _current_request() is None:
        return str(path)
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(upload_folder()):
        raise api.PlaygroundError(text("err_upload_place", "en"))
    return str(resolved)
