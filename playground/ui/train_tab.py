"""The Train tab: train a small GPT in the browser and watch the loss fall and the heads form
(endpoint /train, streaming). The result becomes "My model" in the picker for this session only.

The run itself is a `run.TrainingRun` (stop conditions, recording, thread count, the model and
its card), shared with the CLI and notebooks; this module parses the form against the shared
server's limits, draws what the run recorded at most every UPDATE_INTERVAL seconds (drawing never
slows training), and registers the model at its last completed step whatever ends the run
(finished, Stop, time limit, or the event cancelled). Runs share one queue
(`concurrency_id="train"`, one at a time), so other users see their place in the queue. The
model lives in the session registry (state.py), never in gr.State. Handlers return
{component: value} dicts over the `TrainUI` that `build` makes.
"""

from __future__ import annotations

import copy
import functools
import html
import math
import os
import re
import threading
import time
from dataclasses import dataclass

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from .. import api, figures, history
from ..budget import RunBudget, RunStopped
from ..checkpoint import export_zip, load_checkpoint, save_checkpoint
from ..config import OPTIMIZERS, ModelConfig, TrainConfig
from ..corpora import CORPUS_NAMES, read_text_file
from ..errors import PlaygroundError, check_choice, register
from ..model import parameter_count
from ..presets import DEFAULT_PROBE, PRESET_FIELDS, PRESETS, score_every, tab_train_config
from ..run import StopConditions, TrainingRun, fit_probe
from ..tokenizer import KINDS
from ..training import train_steps
from . import zerogpu
from .errors import check_upload
from .i18n import add, language, t, text
from .plots import FastPlot
from .state import (
    MY_MODEL,
    REGISTRY,
    SESSION_TTL,
    get_my_model,
    last_pick,
    picker_update,
    session_of,
    set_my_model,
)

# ---------------------------------------------------------------- limits of a shared 2-CPU Space
MAX_PARAMS = int(os.environ.get("PLAYGROUND_MAX_PARAMS", 3_000_000))
MAX_STEPS = int(os.environ.get("PLAYGROUND_MAX_STEPS", 3000))
MAX_SECONDS = float(os.environ.get("PLAYGROUND_MAX_TRAIN_SECONDS", 300))
MAX_BATCH = 64
MAX_CTX = 256
MAX_UPLOAD_PARAMS = 20_000_000  # an uploaded model stays in memory for the session
# torch threads while training. One by default: with other work on a 2-core machine, 2 OpenMP
# threads trained 10-50x *slower* than 1 (measured: 1,070 vs 55,850 tokens/s for the tiny preset),
# and on a Space the other core serves everyone else's requests.
TRAIN_THREADS = int(os.environ.get("PLAYGROUND_TRAIN_THREADS", 1))

UPDATE_INTERVAL = 0.5  # seconds between UI updates while training (at most ~2 per second)
MAX_CURVE_POINTS = 600  # the train-loss line is thinned to this many points
N_SNAPSHOTS = 10  # probe attention snapshots per run (plus step 0)
PROBE_MAX_TOKENS = 40
BUILTIN_SIZE = 400_000  # bytes of a built-in corpus used for UI training (CLI default: 2 MB)
# Your text may be up to 5 MB; its tokenizer learns from the first this many characters, which
# bounds the one step that cannot stop midway (🤗 tokenizers' trainer) to a few seconds.
TOKENIZER_SAMPLE_CHARS = 300_000
MY_TEXT = "my text"  # corpus choice: the pasted text or uploaded .txt (the stable value; its label is translated)
STOP_SLOT, VIEW_SLOT = "train_stop", "train_view"
REPLAY_FIRST = "induction"  # the recording offered first: the clearest head to watch form
INDUCTION_THRESHOLD = 0.3  # an induction score above this is far above chance (~0.05-0.15 here)

add(
    en={
        "train_what": "**What am I looking at?** Here you train a small GPT from scratch. It reads the corpus "
        "and, at every *step*, guesses each next token of a batch of text windows; the *loss* measures how "
        "wrong the guesses were (cross-entropy: the average of −ln p(correct token)). An untrained model "
        "guesses uniformly, so its loss starts near **ln(vocabulary size)** — e.g. ln 512 ≈ 6.2 — and falls "
        "as it learns. *Train* loss is measured on the batches it learns from, *validation* loss on text "
        "it never trains on: if validation stops falling while train keeps going down, the model is "
        "memorising. Below, scrub through training time to watch the attention heads form on a probe text.",
        "train_presets": "Presets",
        "train_preset_tiny": "tiny, ~10 s",
        "train_preset_small": "small, ~2 min",
        "train_preset_induction": "Watch an induction head form",
        "train_preset_induction_what": "**Watch an induction head form** fills the form with a 2-layer model "
        "trained with Muon, the `induction` corpus (random letter strings, each said twice amid letters that "
        "follow a rule) and a probe that says one random string twice. The green line next to the loss is the "
        "probe's **induction score**, measured on the model while it trains: how much the best layer-1 head "
        "looks, from a letter in the second copy, at the letter that followed it in the first copy (chance ≈ "
        "0.05–0.15). First the loss falls as the model learns the rule letters; then, usually within the first "
        "1,000 steps, the score climbs past the dotted 0.3 line — an induction head has formed — and the loss "
        "drops with it. Drag the snapshot slider to see its stripe appear in layer 1.",
        "train_score": " · induction score {score:.2f}",
        "train_score_word": "induction score (probe)",
        "train_data": "### 1 · Data",
        "train_corpus": "Corpus",
        "train_corpus_info": "Built-in corpora are generated; choose “my text” to use the text or file below",
        "train_my_text": "my text",
        "train_text": "Your text (for “my text”, at least 200 characters)",
        "train_file": "…or a .txt file",
        "train_tokenizer": "Tokenizer",
        "train_vocab": "Vocabulary size (most tokens)",
        "train_model_size": "### 2 · Model size",
        "train_layers": "Layers",
        "train_heads": "Heads per layer",
        "train_d_model": "Width d_model",
        "train_n_ctx": "Context (tokens)",
        "train_params": "**{n:,} parameters** (with a vocabulary of {vocab}) · limit {limit:,}",
        "train_params_over": "⚠️ **{n:,} parameters**: over the limit of {limit:,} on this shared server — "
        "make the model smaller",
        "train_params_bad": "⚠️ {error}",
        "train_run": "### 3 · Training",
        "train_steps": "Steps",
        "train_batch": "Batch size",
        "train_lr": "Learning rate",
        "train_seed": "Seed",
        "train_optimizer": "Optimizer",
        "train_optimizer_info": "muon: Muon for the weight matrices, AdamW for the rest (faster); adamw: plain "
        "AdamW for everything (the classic recipe, to compare)",
        "train_probe": "Probe text (its attention is photographed during training)",
        "train_continue": "Continue training My model (keeps its size and tokenizer)",
        "train_start": "Start training",
        "train_stop": "Stop",
        "train_status_idle": "Press **Start training**. Limits on this shared server: {params:,} parameters, "
        "{steps:,} steps, {minutes:g} minutes per run, one run at a time (others wait in a queue).",
        "train_status": "Step {step:,} / {steps:,} · loss {loss:.3f}{val} · {tps:,.0f} tokens/s · "
        "{elapsed:.0f} s elapsed · about {eta:.0f} s left",
        "train_val": " · validation {val:.3f}",
        "train_start_note": "Start: loss ≈ ln({vocab}) = {ln:.2f} (a uniform guess over {vocab} tokens)",
        "train_preparing": "Preparing the corpus and training a {kind} tokenizer…",
        "train_preparing_for": "{seconds:.0f} s so far (counts toward the run's time limit; Stop works)",
        "train_done": "✅ Finished {step:,} steps in {elapsed:.0f} s. It is now **My model** in the picker "
        "at the top: every tab can inspect it.",
        "train_stopped": "⏹ Stopped at step {step:,}. The model is kept as it was after that step: "
        "**My model** in the picker.",
        "train_time_up": "⏱ Reached the {minutes:g}-minute limit at step {step:,}; the model is kept as "
        "**My model**.",
        "train_loss_title": "Loss (lower is better)",
        "train_step_word": "step",
        "train_loss_word": "loss",
        "train_train_word": "train",
        "train_val_word": "validation",
        "train_loss_label": "Loss curve",
        "train_sample": "Sample from the model (every few steps)",
        "train_snapshots": "### 4 · Watch the heads form",
        "train_snap_what": "**What am I looking at?** The attention of every head on the probe text, "
        "photographed during training. At step 0 the heads look almost evenly at every earlier token; "
        "as the loss falls they specialise — looking at the previous token, the start, or an earlier copy "
        "of the same word. Drag the slider to move through training time.",
        "train_snap_slider": "Snapshot (training time)",
        "train_snap_title": "Step {step}: every layer × head",
        "train_before": "Before (step 0)",
        "train_after": "After (step {step})",
        "train_before_label": "Before training",
        "train_after_label": "After training",
        "train_layer_word": "Layer",
        "train_head_word": "Head",
        "train_my_model": "### 5 · My model",
        "train_my_what": "Your trained model is yours only: other users never see it, and it is forgotten "
        f"after {SESSION_TTL / 60:g} minutes without use. Download it as a .zip (a GPT-2 checkpoint folder: "
        "config.json, model.safetensors, tokenizer.json) or upload such a zip to inspect it or keep "
        "training it.",
        "train_my_none": "No model of yours yet.",
        "train_my_info": "**My model**: {source} · {layers} layers × {heads} heads · d_model {d_model} · "
        "context {n_ctx} · vocabulary {vocab} · {params:,} parameters{extra}",
        "train_my_trained": "trained {steps:,} steps on “{corpus}”",
        "train_my_uploaded": "uploaded “{name}”",
        "train_my_loss": " · val loss {val:.3f}",
        "train_export": "Prepare download (.zip)",
        "train_download": "My model (.zip)",
        "train_upload": "Upload a model .zip",
        "train_err_steps": "Steps: at most {limit:,} per run on this shared server (asked for {value:,})",
        "train_err_params": "The model would have {n:,} parameters; the limit on this shared server is "
        "{limit:,}. Use fewer layers, a smaller width or a smaller vocabulary",
        "train_err_batch": "Batch size must be from 1 to {limit}",
        "train_err_ctx": "Context must be from 8 to {limit} tokens",
        "train_err_time": "Training stopped at the limit of {minutes:g} minutes per run (step {step:,} of "
        "{steps:,}); the model is kept as My model. Use fewer steps or a smaller model",
        "train_err_busy": "You already have a training run; stop it or wait for it to finish (one run per user)",
        "train_err_not_running": "No training run of yours is running",
        "train_replay_what": "**Or replay a shipped model's training.** It recorded this same view while it "
        "was trained (`history.json`, written by `python -m playground train --probe ... --snapshots N`), so "
        "nothing is trained now. `induction` learned from random letter strings that each appear twice; its "
        "probe is one random string said twice. An **induction head** is one that, on the second copy, "
        "attends to the letter *after* the same letter in the first copy: an off-diagonal stripe in layer 1. "
        "`sort` learned to sort digits: after `=`, watch the heads learn to look back at the input digit "
        "that comes next in sorted order. `stories` (BPE tokens) and `stories-char` (letters) read stories: "
        "their probe is the sentence above, and their heads learn to look at the previous tokens, the start "
        "of the word or sentence, or the same word earlier.",
        "train_replay_model": "Recorded training",
        "train_replay_button": "▶ Replay its training",
        "train_replay_status": "Replaying the recorded training of **{name}**: {steps:,} steps, {n} snapshots "
        "of the probe “{probe}”. Drag the slider below.",
        "train_replay_induction": " Best induction score on the probe (layer {layer}): **{first:.2f}** at step 0, "
        "**{last:.2f}** at step {last_step:,}; it first passed {threshold} at step **{cross:,}**.",
        "train_replay_no_cross": " Best induction score on the probe (layer {layer}): {first:.2f} at step 0, "
        "{last:.2f} at step {last_step:,}; it never passed {threshold}.",
        "train_err_replay_busy": "Your training run is using this view; replay after it ends (or press Stop)",
        "train_err_no_text": "Choose a corpus, or paste at least 200 characters / upload a .txt file for “my text”",
        "train_err_upload_params": "That model has {n:,} parameters; uploads are limited to {limit:,}",
        "train_err_continue_params": "My model has {n:,} parameters; training is limited to {limit:,}",
        "train_warn_slow": "At this speed {steps:,} steps need about {need:.0f} s; the run will stop at the "
        "{limit:.0f}-second limit and keep the model",
    },
    zh={
        "train_what": "**我在看什么？** 在这里你从零开始训练一个小型 GPT。它读语料，在每一*步*（step）里猜一批文本"
        "窗口中每个词元的下一个词元；*损失*（loss）衡量猜得有多错（交叉熵：−ln p(正确词元) 的平均值）。没训练过的模型"
        "是均匀乱猜的，所以损失从 **ln(词表大小)** 附近开始——例如 ln 512 ≈ 6.2——并随着学习下降。*训练*损失在它"
        "学习的批次上计算，*验证*损失在它从没训练过的文本上计算：如果验证损失不再下降而训练损失还在下降，模型就"
        "是在死记硬背。下面可以拖动训练时间，看注意力头如何在一段探针文本上形成。",
        "train_presets": "预设",
        "train_preset_tiny": "迷你，约 10 秒",
        "train_preset_small": "小型，约 2 分钟",
        "train_preset_induction": "看一个归纳头形成",
        "train_preset_induction_what": "**看一个归纳头形成**：把表单填成一个用 Muon 训练的 2 层模型、`induction` 语料"
        "（随机字母串，每个串出现两次，夹在遵循规则的字母之间）和一个把随机串说两遍的探针。损失旁边的绿线是探针的"
        "**归纳分数**，在训练过程中用当时的模型实时测量：第 1 层最好的那个头，从第二遍里的一个字母出发，"
        "有多少注意力落在第一遍中紧跟在这个字母后面的字母上（随机水平约 0.05–0.15）。"
        "损失先因为学会规则字母而下降；然后通常在前 1,000 步之内，分数越过虚线 0.3——一个归纳头形成了——"
        "损失也随之下降。拖动快照滑块，可以看到它在第 1 层出现的斜纹。",
        "train_score": " · 归纳分数 {score:.2f}",
        "train_score_word": "归纳分数（探针）",
        "train_data": "### 1 · 数据",
        "train_corpus": "语料",
        "train_corpus_info": "内置语料是自动生成的；选择“我的文本”使用下面的文本或文件",
        "train_my_text": "我的文本",
        "train_text": "你的文本（用于“我的文本”，至少 200 个字符）",
        "train_file": "…或一个 .txt 文件",
        "train_tokenizer": "分词器",
        "train_vocab": "词表大小（最多词元数）",
        "train_model_size": "### 2 · 模型大小",
        "train_layers": "层数",
        "train_heads": "每层的头数",
        "train_d_model": "宽度 d_model",
        "train_n_ctx": "上下文（词元数）",
        "train_params": "**{n:,} 个参数**（词表大小 {vocab}）· 上限 {limit:,}",
        "train_params_over": "⚠️ **{n:,} 个参数**：超过了这台共享服务器的上限 {limit:,}——请把模型调小",
        "train_params_bad": "⚠️ {error}",
        "train_run": "### 3 · 训练",
        "train_steps": "步数",
        "train_batch": "批大小",
        "train_lr": "学习率",
        "train_seed": "随机种子",
        "train_optimizer": "优化器",
        "train_optimizer_info": "muon：权重矩阵用 Muon，其余用 AdamW（更快）；"
        "adamw：全部用普通 AdamW（经典做法，用来对比）",
        "train_probe": "探针文本（训练过程中给它的注意力“拍照”）",
        "train_continue": "继续训练“我的模型”（保留它的大小和分词器）",
        "train_start": "开始训练",
        "train_stop": "停止",
        "train_status_idle": "按 **开始训练**。这台共享服务器的限制：{params:,} 个参数、{steps:,} 步、"
        "每次 {minutes:g} 分钟，"
        "同一时间只训练一个（其他人排队等候）。",
        "train_status": "第 {step:,} / {steps:,} 步 · 损失 {loss:.3f}{val} · 每秒 {tps:,.0f} 个词元 · "
        "已用 {elapsed:.0f} 秒 · 还需约 {eta:.0f} 秒",
        "train_val": " · 验证 {val:.3f}",
        "train_start_note": "开始时：损失 ≈ ln({vocab}) = {ln:.2f}（在 {vocab} 个词元中均匀乱猜）",
        "train_preparing": "正在准备语料并训练 {kind} 分词器…",
        "train_preparing_for": "已用 {seconds:.0f} 秒（计入本次运行的时间上限；可以按停止）",
        "train_done": "✅ 用 {elapsed:.0f} 秒完成了 {step:,} 步。它现在是顶部模型选择器里的 **My model（我的模型）**："
        "每个标签页都可以分析它。",
        "train_stopped": "⏹ 在第 {step:,} 步停止。模型保持那一步之后的样子：选择器里的 **My model（我的模型）**。",
        "train_time_up": "⏱ 在第 {step:,} 步达到 {minutes:g} 分钟的上限；模型保存为 **My model（我的模型）**。",
        "train_loss_title": "损失（越低越好）",
        "train_step_word": "步",
        "train_loss_word": "损失",
        "train_train_word": "训练",
        "train_val_word": "验证",
        "train_loss_label": "损失曲线",
        "train_sample": "模型的样例输出（每隔几步）",
        "train_snapshots": "### 4 · 看注意力头如何形成",
        "train_snap_what": "**我在看什么？** 训练过程中，每个注意力头在探针文本上的注意力“照片”。第 0 步时，"
        "各个头几乎平均地看前面的每个词元；随着损失下降，它们开始分工——看前一个词元、看开头，或者看同一个词更早"
        "出现的位置。拖动滑块在训练时间里移动。",
        "train_snap_slider": "快照（训练时间）",
        "train_snap_title": "第 {step} 步：每一层 × 每一个头",
        "train_before": "训练前（第 0 步）",
        "train_after": "训练后（第 {step} 步）",
        "train_before_label": "训练前",
        "train_after_label": "训练后",
        "train_layer_word": "层",
        "train_head_word": "头",
        "train_my_model": "### 5 · 我的模型",
        "train_my_what": f"你训练的模型只属于你：其他用户看不到它，{SESSION_TTL / 60:g} 分钟不用就会被清除。"
        "可以把它下载为 .zip（一个 GPT-2 检查点文件夹：config.json、model.safetensors、tokenizer.json），"
        "或上传这样的 zip 来分析或继续训练。",
        "train_my_none": "你还没有自己的模型。",
        "train_my_info": "**我的模型**：{source} · {layers} 层 × {heads} 个头 · d_model {d_model} · 上下文 {n_ctx} · "
        "词表 {vocab} · {params:,} 个参数{extra}",
        "train_my_trained": "在“{corpus}”上训练了 {steps:,} 步",
        "train_my_uploaded": "上传的“{name}”",
        "train_my_loss": " · 验证损失 {val:.3f}",
        "train_export": "准备下载（.zip）",
        "train_download": "我的模型（.zip）",
        "train_upload": "上传模型 .zip",
        "train_err_steps": "步数：这台共享服务器每次最多 {limit:,} 步（你要求了 {value:,} 步）",
        "train_err_params": "模型会有 {n:,} 个参数；这台共享服务器的上限是 {limit:,}。请减少层数、宽度或词表大小",
        "train_err_batch": "批大小必须在 1 到 {limit} 之间",
        "train_err_ctx": "上下文必须在 8 到 {limit} 个词元之间",
        "train_err_time": "训练在每次 {minutes:g} 分钟的上限处停止（第 {step:,} / {steps:,} 步）；"
        "模型已保存为“我的模型”。请减少步数或把模型调小",
        "train_err_busy": "你已经有一个训练在运行；请先停止它或等它完成（每人同一时间一个）",
        "train_err_not_running": "你没有正在运行的训练",
        "train_replay_what": "**或者回放一个自带模型的训练过程。** 它在训练时记录下了同样的视图（`history.json`，由 "
        "`python -m playground train --probe ... --snapshots N` 写入），所以现在不需要训练。"
        "`induction` 学的是随机字母串，每个串出现两次；它的探针是把一个随机串说两遍。"
        "**归纳头**（induction head）在第二遍里，会去看第一遍中同一个字母"
        "*后面*的那个字母：在第 1 层里是一条偏离对角线的斜纹。`sort` 学的是给数字排序：看它的注意力头如何学会"
        "在 `=` 之后回头去找输入里按大小顺序该出现的下一个数字。`stories`（BPE 词元）和 `stories-char`（字母）"
        "读的是故事：它们的探针就是上面那个句子，注意力头会学会看前面的词元、单词或句子的开头，或者前面出现过的同一个词。",
        "train_replay_model": "记录下来的训练",
        "train_replay_button": "▶ 回放它的训练",
        "train_replay_status": "正在回放 **{name}** 记录下来的训练：{steps:,} 步，探针“{probe}”的 {n} 张快照。"
        "拖动下面的滑块。",
        "train_replay_induction": " 探针上最好的归纳分数（第 {layer} 层）：第 0 步 **{first:.2f}**，"
        "第 {last_step:,} 步 **{last:.2f}**；第一次超过 {threshold} 是在第 **{cross:,}** 步。",
        "train_replay_no_cross": " 探针上最好的归纳分数（第 {layer} 层）：第 0 步 {first:.2f}，"
        "第 {last_step:,} 步 {last:.2f}；从未超过 {threshold}。",
        "train_err_replay_busy": "你的训练正在使用这个视图；等它结束后再回放（或按停止）",
        "train_err_no_text": "请选择一个语料，或为“我的文本”粘贴至少 200 个字符 / 上传一个 .txt 文件",
        "train_err_upload_params": "这个模型有 {n:,} 个参数；上传的上限是 {limit:,}",
        "train_err_continue_params": "“我的模型”有 {n:,} 个参数；训练的上限是 {limit:,}",
        "train_warn_slow": "按这个速度，{steps:,} 步大约需要 {need:.0f} 秒；"
        "训练会在 {limit:.0f} 秒的上限处停止并保留模型",
    },
)


register({
    "limits.learning_rate": (
        "Learning rate must be a number greater than 0 and at most 1 (got {got})",
        "学习率必须是大于 0、不超过 1 的数（收到 {got}）",
    ),
})


# ---------------------------------------------------------------- what the handlers fill


@dataclass
class TrainUI:
    """The Train tab's components, so handlers return {component: value} dicts (build makes it)."""

    status: gr.HTML
    loss_plot: FastPlot
    sample: gr.Textbox
    snap_slider: gr.Slider
    snap_plot: FastPlot
    before: FastPlot
    after: FastPlot
    my_model: gr.Markdown
    picker: gr.Dropdown
    params: gr.Markdown
    fields: dict[str, gr.components.Component]  # the preset fields, by PRESET_FIELDS name

    @property
    def run_outputs(self) -> list:
        """What /train streams into, in the API's order."""
        return [self.status, self.loss_plot, self.sample, self.snap_slider, self.snap_plot, self.before,
                self.after, self.my_model, self.picker]


@dataclass(frozen=True)
class TrainRequest:
    """The Train form's values, parsed and checked against this server's limits."""

    corpus: str
    pasted: str | None
    upload: object
    tokenizer: str
    vocab: int
    layers: int
    heads: int
    d_model: int
    n_ctx: int
    steps: int
    batch: int
    lr: float
    seed: int
    probe: str | None
    continue_mine: bool
    optimizer: str

    def train_config(self) -> TrainConfig:
        return tab_train_config(self.steps, self.batch, self.lr, self.seed, self.optimizer)


# ---------------------------------------------------------------- small pure helpers


register(
    {
        "train.layers": ("layers", "层数"),
        "train.heads": ("heads", "头数"),
        "train.d_model": ("d_model", "宽度 d_model"),
        "train.n_ctx": ("n_ctx", "上下文 n_ctx"),
        "train.context": ("context", "上下文"),
        "train.vocab": ("vocab", "词表大小"),
        "train.steps": ("steps", "步数"),
        "train.batch_size": ("batch size", "批大小"),
        "train.seed": ("seed", "种子"),
        "train.not_whole": ("{field} must be a whole number (got {got})", "{field}必须是整数（收到 {got}）"),
        "train.busy": (
            "You already have a training run; stop it or wait for it to finish (one run per user)",
            "你已经有一个训练在运行；请先停止它或等它完成（每人同一时间一个）",
        ),
        "train.no_tokenizer": ("the checkpoint has no tokenizer.json", "检查点里没有 tokenizer.json"),
        "train.corpus": ("corpus", "语料"),
    }
)


def _int(value, name: str) -> int:
    """A form field's whole number; `name` is its label ("batch size" -> key "train.batch_size")."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number != int(number):
        raise PlaygroundError("train.not_whole", field=f"train.{name.replace(' ', '_')}", got=repr(value)[:40])
    return int(number)


def _learning_rate(value) -> float:
    """The learning rate as a float in (0, 1]; an emptied field (None), text or NaN is refused
    with the allowed range instead of failing inside float()."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 < number <= 1):
        raise PlaygroundError("limits.learning_rate", got="∅" if value is None or str(value).strip() == "" else value)
    return number


def param_count(vocab, layers, heads, d_model, n_ctx) -> int:
    """Parameters of the model these fields describe (ConfigError if they do not fit together)."""
    cfg = ModelConfig(n_layers=_int(layers, "layers"), n_heads=_int(heads, "heads"),
                      d_model=_int(d_model, "d_model"), n_ctx=_int(n_ctx, "n_ctx"), d_vocab=_int(vocab, "vocab"))
    return parameter_count(cfg)


def on_params(vocab, layers, heads, d_model, n_ctx, request: gr.Request | None = None) -> str:
    """The live parameter count under the model-size fields."""
    lang = language(request)
    try:
        n = param_count(vocab, layers, heads, d_model, n_ctx)
    except PlaygroundError as err:
        return text("train_params_bad", lang, error=err.message(lang))
    key = "train_params_over" if n > MAX_PARAMS else "train_params"
    return text(key, lang, n=n, vocab=int(vocab), limit=MAX_PARAMS)


def on_preset(ui: TrainUI, name: str, request: gr.Request | None = None) -> dict:
    """Fill every field of a preset, and the parameter count."""
    p = PRESETS[name]
    return {**{ui.fields[f]: p[f] for f in PRESET_FIELDS},
            ui.params: on_params(p["vocab"], p["layers"], p["heads"], p["d_model"], p["n_ctx"], request)}


def parse_request(corpus, pasted, upload, tokenizer, vocab, layers, heads, d_model, n_ctx, steps, batch, lr, seed,
                  probe, continue_mine, lang: str, optimizer: str = OPTIMIZERS[0]) -> TrainRequest:
    """The form as numbers, refused with a message naming the limit when over one. The model's
    size is checked here against the vocabulary asked for (before any tokenizer is trained) and
    again in `_make_run` against the one the tokenizer gave."""
    req = TrainRequest(corpus, pasted, upload, tokenizer, _int(vocab, "vocab"), _int(layers, "layers"),
                       _int(heads, "heads"), _int(d_model, "d_model"), _int(n_ctx, "context"), _int(steps, "steps"),
                       _int(batch, "batch size"), _learning_rate(lr), _int(seed, "seed"), probe, bool(continue_mine),
                       check_choice("config.optimizer", optimizer, OPTIMIZERS))
    if req.steps > MAX_STEPS:
        raise gr.Error(text("train_err_steps", lang, limit=MAX_STEPS, value=req.steps))
    if not 1 <= req.batch <= MAX_BATCH:
        raise gr.Error(text("train_err_batch", lang, limit=MAX_BATCH))
    if not req.continue_mine:
        if not 8 <= req.n_ctx <= MAX_CTX:
            raise gr.Error(text("train_err_ctx", lang, limit=MAX_CTX))
        param_count(req.vocab, req.layers, req.heads, req.d_model, req.n_ctx)  # the sizes fit together?
    return req


@functools.lru_cache(maxsize=8)
def _builtin_data(corpus: str, kind: str, vocab: int, seed: int) -> api.TrainingData:
    """Built-in corpora are shared and read-only: prepare each once per process."""
    return api.prepare_data(corpus, kind, vocab, seed=seed, size=_builtin_size(corpus))


def _builtin_size(corpus: str) -> int | None:
    return BUILTIN_SIZE if corpus.startswith("stories") else None


def _corpus_text(corpus: str, pasted: str | None, upload, lang: str) -> str | None:
    """None for a built-in corpus; the user's text for MY_TEXT (an uploaded file wins)."""
    if corpus != MY_TEXT:
        check_choice("train.corpus", corpus, (*CORPUS_NAMES, MY_TEXT))
        return None
    if upload:
        return read_text_file(check_upload(_path(upload)))
    if pasted and pasted.strip():
        return pasted
    raise gr.Error(text("train_err_no_text", lang))


def _path(file) -> str:
    return file if isinstance(file, str) else getattr(file, "name", None) or getattr(file, "path", "")


def _data(req: TrainRequest, user_text: str | None, check, tokenizer=None) -> api.TrainingData:
    """The training data; with `tokenizer` (continue training) the corpus is encoded with it.
    `check()` runs between pieces of the work and raises when the run must stop."""
    if user_text is None and tokenizer is None:
        return _builtin_data(req.corpus, req.tokenizer, req.vocab, req.seed)
    return api.prepare_data(req.corpus, req.tokenizer, req.vocab, seed=req.seed, size=_builtin_size(req.corpus),
                            text=user_text, check=check, tokenizer_chars=TOKENIZER_SAMPLE_CHARS, tokenizer=tokenizer)


def _in_background(ui: TrainUI, work, budget: RunBudget, lang: str, steps: int, kind: str):
    """Run `work()` in a thread and yield a status update every UPDATE_INTERVAL until it ends;
    returns its result (``data = yield from ...``). Closing this generator (the client went away,
    the event was cancelled) stops the work at its next check, so the slot is freed at once."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as err:  # handed to the request's thread below
            box["error"] = err

    worker = threading.Thread(target=run, name="train-prepare", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(UPDATE_INTERVAL)
            if worker.is_alive():
                note = text("train_preparing_for", lang, kind=kind, seconds=budget.elapsed())
                yield {ui.status: _progress_html(0, steps, text("train_preparing", lang, kind=kind), note)}
    finally:
        if worker.is_alive():  # closed early: tell the worker to stop at its next check
            budget.stop()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _thin(xs: list, ys: list, limit: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.float32)
    if x.size > limit:
        keep = np.unique(np.linspace(0, x.size - 1, limit).round().astype(int))
        x, y = x[keep], y[keep]
    return x, y


def loss_figure(view: history.TrainingHistory, vocab: int, lang: str = "en") -> go.Figure:
    """The loss curves, the ln(vocab) starting level and, for a probe said twice, its induction
    score as a line on a 0-1 axis (live during a run, from the snapshots in a replay)."""
    x, y = _thin(view.loss_steps, view.losses)
    score = view.induction_line() or ((), ())
    fig = figures.loss_curve(
        x, y, np.asarray(view.val_steps, np.float32), np.asarray(view.val_losses, np.float32),
        title=text("train_loss_title", lang), xlabel=text("train_step_word", lang),
        ylabel=text("train_loss_word", lang), train_label=text("train_train_word", lang),
        val_label=text("train_val_word", lang), score_steps=np.asarray(score[0], np.float32),
        scores=np.asarray(score[1], np.float32), score_label=text("train_score_word", lang),
        score_threshold=INDUCTION_THRESHOLD)
    start = math.log(vocab)
    fig.add_hline(y=start, line=dict(color="#999999", dash="dot", width=1),
                  annotation_text=f"ln({vocab}) = {start:.2f}", annotation_position="bottom right")
    fig.layout.height = 380
    fig.layout.legend.y = 0.8  # below the ln(vocab) line's label
    return fig


def snapshot_figure(view: history.TrainingHistory, index: int, lang: str = "en", title: str | None = None) -> go.Figure:
    index = min(max(int(index or 0), 0), len(view.steps) - 1)
    step = view.steps[index]
    pattern = view.patterns[index]  # (L, H, T, T)
    return figures.attention_grid(
        pattern, view.tokens, title=title or text("train_snap_title", lang, step=step),
        layer_label=text("train_layer_word", lang), head_label=text("train_head_word", lang),
        cell_px=max(60, min(140, 300 // pattern.shape[1])))


def _snapshot_updates(ui: TrainUI, view: history.TrainingHistory, lang: str) -> dict:
    """Slider, the scrubbed snapshot (latest), before and after figures."""
    n = len(view.steps)
    return {
        ui.snap_slider: gr.update(minimum=0, maximum=max(1, n - 1), value=n - 1, step=1, interactive=n > 1),
        ui.snap_plot: snapshot_figure(view, n - 1, lang),
        ui.before: snapshot_figure(view, 0, lang, title=text("train_before", lang)),
        ui.after: snapshot_figure(view, n - 1, lang, title=text("train_after", lang, step=view.steps[-1])),
    }


def my_model_markdown(session, lang: str = "en") -> str:
    mine = REGISTRY.peek(session_of(session), "my_model")
    if mine is None:
        return text("train_my_none", lang)
    cfg, info = mine.bundle.config, mine.info
    if info.get("source") == "upload":
        source = text("train_my_uploaded", lang, name=info.get("name", "?"))
    else:
        corpus = info.get("corpus", "?")
        corpus = text("train_my_text", lang) if corpus == MY_TEXT else corpus
        source = text("train_my_trained", lang, steps=info.get("steps", 0), corpus=corpus)
    extra = text("train_my_loss", lang, val=info["val_loss"]) if info.get("val_loss") is not None else ""
    return text("train_my_info", lang, source=source, layers=cfg.n_layers, heads=cfg.n_heads, d_model=cfg.d_model,
                n_ctx=cfg.n_ctx, vocab=cfg.d_vocab, params=parameter_count(cfg), extra=extra)


def _bold(markdown: str) -> str:
    """**x** -> <b>x</b>: status strings are shared with Markdown but shown in gr.HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(markdown, quote=False))


def _progress_html(done: int, total: int, line: str, note: str = "") -> str:
    line, note = _bold(line), _bold(note)
    pct = 100.0 * done / max(1, total)
    note_html = f'<div class="train-note" style="margin-top:0.3em">{note}</div>' if note else ""
    return (
        f'<div class="train-status" style="font-size:1.15rem;line-height:1.5">'
        f'<div class="train-progress" style="display:flex;align-items:center;gap:0.6em">'
        f'<progress max="{total}" value="{done}" style="width:60%;height:1.1em"></progress>'
        f'<span class="train-pct"><b>{pct:.0f}%</b></span></div>'
        f'<div class="train-line">{line}</div>{note_html}</div>'
    )


# ---------------------------------------------------------------- handlers


@zerogpu.gpu(duration=int(MAX_SECONDS) + 30)
def _train_on_gpu(*args, model=None, device=None, **kwargs):
    """`train_steps` — in a GPU worker on a ZeroGPU Space (zerogpu.py), where each step's model
    comes back as a CPU copy; elsewhere exactly `train_steps` on the device setting (the
    TrainingRun's engine: `device` is chosen here, not by the run)."""
    del device
    where = zerogpu.device()
    for stats in train_steps(*args, model=None if model is None else model.to(where), device=where, **kwargs):
        stats.model = zerogpu.to_cpu_if_crossing(stats.model)
        yield stats


def on_train(
    ui: TrainUI,
    corpus: str = "stories-en",
    pasted: str | None = None,
    upload=None,
    tokenizer: str = "char",
    vocab: float = 512,
    layers: float = 2,
    heads: float = 2,
    d_model: float = 64,
    n_ctx: float = 64,
    steps: float = 500,
    batch: float = 16,
    lr: float = 3e-3,
    seed: float = 0,
    probe: str | None = DEFAULT_PROBE,
    continue_mine: bool = False,
    optimizer: str = OPTIMIZERS[0],
    request: gr.Request | None = None,
):
    """Train and stream updates into `ui.run_outputs`. Stop (on_stop), the time limit or a
    cancelled event end the run (preparation included); the model at its last completed step
    becomes this session's My model. The run itself (stop conditions, recording, threads) is a
    TrainingRun."""
    lang, session = language(request), session_of(request)
    picked_at_start = last_pick(session)  # if the user picks another model meanwhile, the end keeps it
    req = parse_request(corpus, pasted, upload, tokenizer, vocab, layers, heads, d_model, n_ctx, steps, batch, lr,
                        seed, probe, continue_mine, lang, optimizer)
    if REGISTRY.is_busy(session, "training"):
        raise gr.Error(text("train_err_busy", lang))
    yield {ui.status: _progress_html(0, req.steps, text("train_preparing", lang, kind=req.tokenizer))}

    # The run's clock starts now: preparing the data counts toward MAX_SECONDS, and Stop works
    # from here on (the stop flag is registered before any preparation).
    stop = threading.Event()
    budget = RunBudget(MAX_SECONDS, stop)
    REGISTRY.put(session, STOP_SLOT, stop)
    try:
        run = yield from _make_run(ui, req, session, lang, budget)
    except RunStopped as err:  # Stop pressed while preparing: say so, nothing to keep
        REGISTRY.pop(session, STOP_SLOT)
        yield {ui.status: _progress_html(0, req.steps, err.message(lang))}
        return
    except BaseException:
        REGISTRY.pop(session, STOP_SLOT)
        raise

    start_note = text("train_start_note", lang, vocab=run.data.tokenizer.vocab_size,
                      ln=math.log(run.data.tokenizer.vocab_size))
    next_update, warned = 0.0, False
    with REGISTRY.busy(session, "training", key="train.busy"):
        steps_iter = iter(run)
        try:
            for stats in steps_iter:
                if not warned and stats.step == 10 and stats.elapsed / 10 * stats.steps > MAX_SECONDS * 1.1:
                    warned = True
                    gr.Warning(text("train_warn_slow", lang, steps=stats.steps,
                                    need=stats.elapsed / 10 * stats.steps, limit=MAX_SECONDS))
                if time.perf_counter() >= next_update or stats.snapshots or stats.step == stats.steps:
                    REGISTRY.touch(session)
                    yield _live_update(ui, run, stats, lang, start_note)
                    next_update = time.perf_counter() + UPDATE_INTERVAL
        finally:
            steps_iter.close()  # a cancelled event: end the run now, so its reason is set
            REGISTRY.pop(session, STOP_SLOT)
            if run.last is not None:  # also when the event is cancelled: keep the last completed step
                _register(session, run)

    if run.last is None:
        return
    yield _final_update(ui, run, session, lang, select=last_pick(session) == picked_at_start)
    if run.reason == "time":
        raise gr.Error(text("train_err_time", lang, minutes=MAX_SECONDS / 60, step=run.last.step,
                            steps=run.last.steps))


def _make_run(ui: TrainUI, req: TrainRequest, session: str, lang: str, budget: RunBudget):
    """Prepare the data (in the background, status updates yielded) and the model — fresh, or a
    copy of My model to continue — as a TrainingRun within this server's limits; returns it."""
    user_text = _corpus_text(req.corpus, req.pasted, req.upload, lang)  # size-checked when read
    if req.continue_mine:
        mine = get_my_model(session)
        n = parameter_count(mine.bundle.config)
        if n > MAX_PARAMS:
            raise gr.Error(text("train_err_continue_params", lang, n=n, limit=MAX_PARAMS))
        base_model = copy.deepcopy(mine.bundle.model)  # My model stays as it is until the run ends
        data = yield from _in_background(ui, lambda: _data(req, user_text, budget.check, mine.bundle.tokenizer),
                                         budget, lang, req.steps, req.tokenizer)
        model_cfg = base_model.cfg
    else:
        base_model = None
        data = yield from _in_background(ui, lambda: _data(req, user_text, budget.check), budget, lang,
                                         req.steps, req.tokenizer)
        model_cfg = ModelConfig(n_layers=req.layers, n_heads=req.heads, d_model=req.d_model, n_ctx=req.n_ctx,
                                d_vocab=data.tokenizer.vocab_size)
        if parameter_count(model_cfg) > MAX_PARAMS:
            raise gr.Error(text("train_err_params", lang, n=parameter_count(model_cfg), limit=MAX_PARAMS))
    probe = fit_probe(req.probe, data.tokenizer, min(PROBE_MAX_TOKENS, model_cfg.n_ctx))
    return TrainingRun(data, model_cfg, req.train_config(), model=base_model, probe=probe,
                       n_snapshots=N_SNAPSHOTS, score_every=score_every(req.steps),
                       stop=StopConditions(max_seconds=MAX_SECONDS), budget=budget, threads=TRAIN_THREADS,
                       engine=_train_on_gpu)


def _line(run: TrainingRun, stats, lang: str) -> str:
    val = text("train_val", lang, val=stats.val_loss) if stats.val_loss is not None else ""
    scores = run.recorder.scores
    if scores:
        val += text("train_score", lang, score=scores[-1])
    return text("train_status", lang, step=stats.step, steps=stats.steps, loss=stats.loss, val=val,
                tps=stats.tokens_per_s, elapsed=stats.elapsed, eta=stats.eta)


def _live_update(ui: TrainUI, run: TrainingRun, stats, lang: str, note: str) -> dict:
    """Status, loss plot (with the induction line), a new sample, and the snapshots when one was taken."""
    view = run.history()
    update = {ui.status: _progress_html(stats.step, stats.steps, _line(run, stats, lang), note),
              ui.loss_plot: loss_figure(view, run.data.tokenizer.vocab_size, lang)}
    if stats.sample is not None:
        update[ui.sample] = stats.sample
    if stats.snapshots:
        update.update(_snapshot_updates(ui, view, lang))
    return update


def _final_update(ui: TrainUI, run: TrainingRun, session: str, lang: str, select: bool = True) -> dict:
    """Why the run ended, the induction note for a probe said twice, and My model."""
    last = run.last
    key = {"done": "train_done", "stopped": "train_stopped", "time": "train_time_up"}[run.reason]
    final = text(key, lang, step=last.step, elapsed=last.elapsed, minutes=MAX_SECONDS / 60)
    view = run.history()
    final += _induction_note(view, lang)
    update = {ui.status: _progress_html(last.step, last.steps, _line(run, last, lang), final),
              ui.loss_plot: loss_figure(view, run.data.tokenizer.vocab_size, lang),
              ui.sample: run.latest_sample, ui.my_model: my_model_markdown(session, lang),
              ui.picker: picker_update(session, select=select)}  # My model, unless another was picked meanwhile
    if view.steps:
        update.update(_snapshot_updates(ui, view, lang))
    return update


def _register(session: str, run: TrainingRun) -> None:
    """The run's model becomes this session's My model (with its last evaluation, no extra work)."""
    bundle = run.finish(MY_MODEL, final_eval=False)
    training = bundle.meta["training"]
    info = {"source": "train", "steps": training["steps"], "corpus": run.data.corpus_name,
            "val_loss": training["val_loss"], "train_loss": run.last.loss, "tokens_per_s": run.last.tokens_per_s}
    set_my_model(session, api.ModelBundle(MY_MODEL, bundle.model, bundle.tokenizer, bundle.meta, None), info)
    if run.recorder.snapshots:
        REGISTRY.put(session, VIEW_SLOT, run.history())


def on_stop(request: gr.Request | None = None) -> None:
    """Ask this session's run to stop after its current step."""
    session = session_of(request)
    stop = REGISTRY.peek(session, STOP_SLOT)
    if stop is None:
        gr.Info(text("train_err_not_running", language(request)))
        return
    stop.set()


def on_scrub(index, request: gr.Request | None = None):
    """Snapshot slider moved: draw that moment's attention (no model run)."""
    view = REGISTRY.peek(session_of(request), VIEW_SLOT)
    if view is None or not view.steps:
        return gr.skip()
    return snapshot_figure(view, index, language(request))


def on_replay(ui: TrainUI, name: str, request: gr.Request | None = None) -> dict:
    """Show a shipped model's recorded training in the snapshot view and the loss plot. Nothing is
    trained; the sample is the one its card recorded at the end of training."""
    lang, session = language(request), session_of(request)
    if REGISTRY.is_busy(session, "training"):
        raise gr.Error(text("train_err_replay_busy", lang))
    recorded = api.load_history(name)
    bundle = api.load_model(name)
    REGISTRY.put(session, VIEW_SLOT, recorded)
    last_step = recorded.loss_steps[-1] if recorded.loss_steps else recorded.steps[-1]
    status = text("train_replay_status", lang, name=name, steps=last_step, n=len(recorded.steps),
                  probe=recorded.probe)
    status += _induction_note(recorded, lang)
    return {ui.status: _bold(status), ui.loss_plot: loss_figure(recorded, bundle.tokenizer.vocab_size, lang),
            ui.sample: str((bundle.card or {}).get("sample", "")), **_snapshot_updates(ui, recorded, lang)}


def _induction_note(view: history.TrainingHistory, lang: str) -> str:
    """For a probe that says one sequence twice: how the best induction score (layers 1 and up)
    moved during training, and the first step it passed the threshold ("" otherwise)."""
    line = view.induction_line()
    if line is None or len(line[0]) < 2:
        return ""
    steps, best = line
    n_layers = view.patterns.shape[1] if view.steps else 2
    layer = "0" if n_layers == 1 else "1" if n_layers == 2 else f"1–{n_layers - 1}"
    crossed = [step for step, score in zip(steps, best) if score >= INDUCTION_THRESHOLD]
    values = dict(layer=layer, first=best[0], last=best[-1], last_step=steps[-1], threshold=INDUCTION_THRESHOLD)
    if crossed:
        return text("train_replay_induction", lang, cross=crossed[0], **values)
    return text("train_replay_no_cross", lang, **values)


def on_export(request: gr.Request | None = None) -> str:
    """Write My model as a checkpoint zip in the session's temp folder; returns its path."""
    mine = get_my_model(session_of(request))
    steps = mine.info.get("steps")
    name = f"my-model-{steps}-steps" if steps else "my-model"
    folder = mine.folder() / name
    card = {"name": name, **{k: v for k, v in mine.info.items() if isinstance(v, (int, float, str))}}
    save_checkpoint(folder, mine.bundle.model, mine.bundle.tokenizer, meta=mine.bundle.meta, card=card)
    path = export_zip(folder, mine.folder() / f"{name}.zip")
    return str(path)


def on_upload(ui: TrainUI, file, request: gr.Request | None = None) -> dict:
    """A checkpoint zip becomes My model (validated: safetensors and JSON only, never pickle)."""
    lang, session = language(request), session_of(request)
    if not file:
        return {}
    path = check_upload(_path(file))  # only a file Gradio received from this user
    ckpt = load_checkpoint(path, max_params=MAX_UPLOAD_PARAMS)  # refused from config.json, before tensors
    n = parameter_count(ckpt.config)
    if n > MAX_UPLOAD_PARAMS:
        raise gr.Error(text("train_err_upload_params", lang, n=n, limit=MAX_UPLOAD_PARAMS))
    if ckpt.tokenizer is None:
        raise PlaygroundError("train.no_tokenizer")
    name = os.path.basename(path)
    bundle = api.ModelBundle(MY_MODEL, ckpt.model, ckpt.tokenizer, ckpt.meta, ckpt.card)
    training = (ckpt.meta or {}).get("training") or {}
    set_my_model(session, bundle, {"source": "upload", "name": name, "val_loss": training.get("val_loss")})
    return {ui.my_model: my_model_markdown(session, lang), ui.picker: picker_update(session, select=True)}


def on_load(ui: TrainUI, vocab, layers, heads, d_model, n_ctx, request: gr.Request | None = None) -> dict:
    """Page load: the idle status with the limits, the parameter count of the size fields and this
    session's model summary, in the browser's language (built per request, not at build time)."""
    lang = language(request)
    status = _bold(text("train_status_idle", lang, params=MAX_PARAMS, steps=MAX_STEPS, minutes=MAX_SECONDS / 60))
    return {ui.status: status, ui.my_model: my_model_markdown(request, lang),
            ui.params: on_params(vocab, layers, heads, d_model, n_ctx, request)}


# ---------------------------------------------------------------- layout


def build(shared, demo: gr.Blocks) -> TrainUI:
    """Layout of the Train tab and its events (/train streams; one run at a time server-wide)."""
    p = PRESETS["tiny"]
    gr.Markdown(t("train_what"), elem_classes="explain", elem_id="train-what")
    with gr.Row():
        preset_buttons = {name: gr.Button(t(f"train_preset_{name}"), elem_id=f"train-preset-{name}", size="sm")
                          for name in PRESETS}
    if "induction" in PRESETS:
        gr.Markdown(t("train_preset_induction_what"), elem_classes="explain", elem_id="train-induction-what")
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(t("train_data"))
            # (label, value): the label follows the browser's language, the value stays MY_TEXT
            corpus = gr.Dropdown([*CORPUS_NAMES, (t("train_my_text"), MY_TEXT)], value=p["corpus"],
                                 label=t("train_corpus"), info=t("train_corpus_info"), elem_id="train-corpus")
            pasted = gr.Textbox(label=t("train_text"), lines=3, max_lines=8, elem_id="train-text")
            upload = gr.File(label=t("train_file"), file_types=[".txt"], type="filepath", elem_id="train-file",
                             height=90)
            with gr.Row():
                kind = gr.Radio(list(KINDS), value=p["tokenizer"], label=t("train_tokenizer"),
                                elem_id="train-tokenizer")
                vocab = gr.Number(p["vocab"], label=t("train_vocab"), precision=0, minimum=2, maximum=8192,
                                  elem_id="train-vocab")
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(t("train_model_size"))
            layers = gr.Slider(1, 8, p["layers"], step=1, label=t("train_layers"), elem_id="train-layers")
            heads = gr.Slider(1, 8, p["heads"], step=1, label=t("train_heads"), elem_id="train-heads")
            d_model = gr.Slider(16, 384, p["d_model"], step=16, label=t("train_d_model"), elem_id="train-d-model")
            n_ctx = gr.Slider(16, MAX_CTX, p["n_ctx"], step=16, label=t("train_n_ctx"), elem_id="train-n-ctx")
            params = gr.Markdown(elem_id="train-params")  # filled per request on load (on_load), in its language
        with gr.Column(scale=1, min_width=320):
            gr.Markdown(t("train_run"))
            with gr.Row():
                steps = gr.Number(p["steps"], label=t("train_steps"), precision=0, minimum=1, elem_id="train-steps")
                batch = gr.Number(p["batch"], label=t("train_batch"), precision=0, minimum=1, elem_id="train-batch")
            with gr.Row():
                lr = gr.Number(p["lr"], label=t("train_lr"), minimum=1e-6, maximum=1.0, step=1e-4,
                               elem_id="train-lr")
                seed = gr.Number(0, label=t("train_seed"), precision=0, minimum=0, elem_id="train-seed")
            probe = gr.Textbox(p["probe"], label=t("train_probe"), lines=1, elem_id="train-probe")
            optimizer = gr.Radio(list(OPTIMIZERS), value=p["optimizer"], label=t("train_optimizer"),
                                 info=t("train_optimizer_info"), elem_id="train-optimizer")
            continue_mine = gr.Checkbox(False, label=t("train_continue"), elem_id="train-continue")
            with gr.Row():
                start = gr.Button(t("train_start"), variant="primary", elem_id="train-start")
                stop = gr.Button(t("train_stop"), variant="stop", elem_id="train-stop")

    status = gr.HTML(elem_id="train-status")
    with gr.Row():
        loss_plot = FastPlot(label=t("train_loss_label"), elem_id="train-loss", scale=3)
        sample = gr.Textbox(label=t("train_sample"), lines=9, max_lines=9, interactive=False,
                            elem_id="train-sample", scale=2)

    gr.Markdown(t("train_snapshots"))
    gr.Markdown(t("train_snap_what"), elem_classes="explain")
    recorded = api.history_names()
    with gr.Row(visible=bool(recorded), equal_height=True):
        gr.Markdown(t("train_replay_what"), elem_classes="explain")
        with gr.Column(scale=0, min_width=260):
            first = REPLAY_FIRST if REPLAY_FIRST in recorded else (recorded or [None])[0]
            replay_name = gr.Dropdown(recorded, value=first,
                                      label=t("train_replay_model"), elem_id="train-replay-model")
            replay = gr.Button(t("train_replay_button"), elem_id="train-replay")
    snap_slider = gr.Slider(0, 1, 0, step=1, label=t("train_snap_slider"), interactive=False,
                            elem_id="train-snap-slider")
    with gr.Row():  # scrubbed moment | before | after, side by side for comparison
        snap_plot = FastPlot(label=t("train_snap_slider"), elem_id="train-snap")
        before = FastPlot(label=t("train_before_label"), elem_id="train-before")
        after = FastPlot(label=t("train_after_label"), elem_id="train-after")

    gr.Markdown(t("train_my_model"))
    gr.Markdown(t("train_my_what"), elem_classes="explain")
    my_md = gr.Markdown(elem_id="train-my-model")
    with gr.Row():
        export = gr.Button(t("train_export"), elem_id="train-export")
        download = gr.File(label=t("train_download"), interactive=False, elem_id="train-download", height=90)
        uploaded = gr.File(label=t("train_upload"), file_types=[".zip"], type="filepath",
                           elem_id="train-upload", height=90)

    fields = dict(corpus=corpus, tokenizer=kind, vocab=vocab, layers=layers, heads=heads, d_model=d_model,
                  n_ctx=n_ctx, steps=steps, batch=batch, lr=lr, probe=probe, optimizer=optimizer)
    ui = TrainUI(status, loss_plot, sample, snap_slider, snap_plot, before, after, my_md, shared.picker, params,
                 fields)

    # ---- events
    size_inputs = [vocab, layers, heads, d_model, n_ctx]
    for comp in size_inputs:
        comp.change(on_params, size_inputs, params, api_visibility="private", queue=False, show_progress="hidden")
    for name, button in preset_buttons.items():
        button.click(functools.partial(on_preset, ui, name), None, [*fields.values(), params],
                     api_visibility="private", queue=False)

    inputs = [corpus, pasted, upload, kind, vocab, layers, heads, d_model, n_ctx, steps, batch, lr, seed, probe,
              continue_mine, optimizer]
    start.click(functools.partial(on_train, ui), inputs, ui.run_outputs, api_name="train", concurrency_id="train",
                concurrency_limit=1, show_progress="minimal")
    stop.click(on_stop, None, None, api_name="stop_training", queue=False)
    replay.click(functools.partial(on_replay, ui), replay_name,
                 [status, loss_plot, sample, snap_slider, snap_plot, before, after],
                 api_name="replay_training", concurrency_id="train-scrub", concurrency_limit=8)
    snap_slider.input(on_scrub, snap_slider, snap_plot, api_visibility="private", concurrency_id="train-scrub",
                      concurrency_limit=8, trigger_mode="always_last", show_progress="hidden")
    export.click(on_export, None, download, api_name="export_model", concurrency_id="train-files",
                 concurrency_limit=2)
    uploaded.upload(functools.partial(on_upload, ui), uploaded, [my_md, shared.picker], api_name="upload_model",
                    concurrency_id="train-files", concurrency_limit=2)
    demo.load(functools.partial(on_load, ui), size_inputs, [status, my_md, params], api_visibility="private",
              queue=False)
    demo.unload(_forget)
    return ui


def _forget(request: gr.Request = None) -> None:
    """The browser tab closed: free this session's model now, not after the idle timeout."""
    from .state import forget_session

    if request is not None:
        forget_session(request)
