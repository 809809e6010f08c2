"""The Attention tab's head roles and ablation panel: which kind of head each one is (labels on
the thumbnails), and what the model loses when chosen heads and MLP blocks are switched off.

Roles come from the attention patterns the tab already keeps (playground.roles, no model run).
An ablation runs the model twice (unablated and with the hooks of playground.ablation): ~10 ms
each on `stories` at 128 tokens.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from .. import api
from ..ablation import ablate
from ..model_figures import before_after_bars
from ..roles import roles_from_patterns
from .attention_grid import axis_words, grid_cell_px
from .i18n import add, language, t, text
from .plots import FastPlot
from .reading_api import parse_heads
from .state import get_bundle

TOP_K = 8

ROLE_KEYS = {"previous-token": "abl_role_prev", "first-token": "abl_role_first", "self": "abl_role_self",
             "local": "abl_role_local", "induction": "abl_role_induction", "none": "abl_role_none"}

add(
    en={
        "abl_role_prev": "previous",
        "abl_role_first": "first token",
        "abl_role_self": "self",
        "abl_role_local": "local",
        "abl_role_induction": "induction",
        "abl_role_none": "—",
        "abl_header": "### 4 · Switch heads off: what does each one do?",
        "abl_what": "**What am I looking at?** Each thumbnail above is labelled with its head's strongest *role* on "
        "your text, with its score (the share of attention on that role's key, averaged over the tokens): "
        "**previous** (the token just before), **first token** (the first token, where heads park attention "
        "they do not need: an *attention sink*), **self**, **local** (2–4 tokens back) and **induction** (only "
        "where the text repeats a span: the token that followed the earlier copy). A score is a measurement, "
        "not a proof. The proof is to **switch heads off**: choose heads and MLP blocks, *zero* (replace their "
        "output with zeros) or *mean* (with its average over this text), and compare the next-token "
        "probabilities and the loss on your text before and after. On `induction`, type a random string twice "
        "and switch off L0H0, the previous-token head: the layer-1 induction stripe disappears and the loss on "
        "the repeated half jumps.",
        "abl_heads": "Heads to switch off",
        "abl_mlps": "MLP blocks to switch off",
        "abl_mode": "How",
        "abl_zero": "zero",
        "abl_mean": "mean",
        "abl_run": "Switch off and compare",
        "abl_bars_label": "Next token, before and after",
        "abl_grid_label": "Attention after switching off",
        "abl_bars_title": "Next token after “{token}”",
        "abl_before": "before",
        "abl_after": "after",
        "abl_grid_title": "Attention with {what} switched off ({mode})",
        "abl_nothing": "nothing",
        "abl_result": "**Loss on the text** (mean over its {n} next-token predictions): **{before:.3f} → {after:.3f}** "
        "({delta:+.3f}).",
        "abl_repeat": "**Where the text repeats a span** ({n} predictions): **{before:.3f} → {after:.3f}** "
        "({delta:+.3f}).",
        "abl_no_repeat": "The text repeats no span, so there is no induction measurement.",
        "abl_short": "The text has a single token: there is no next-token loss to compare.",
    },
    zh={
        "abl_role_prev": "前一个",
        "abl_role_first": "首词元",
        "abl_role_self": "自身",
        "abl_role_local": "附近",
        "abl_role_induction": "归纳",
        "abl_role_none": "—",
        "abl_header": "### 4 · 关掉注意力头：每个头在做什么？",
        "abl_what": "**我在看什么？** 上面每个小方块都标出了这个头在你的文本上最强的*角色*和得分（放在该角色所指词元"
            "上的注意力比例，"
        "对所有词元取平均）：**前一个**（紧挨着的前一个词元）、**首词元**（第一个词元，头把用不上的注意力停在这里：*"
        "注意力汇聚点*）、"
        "**自身**、**附近**（往前 2–4 个词元）和**归纳**（只在文本重复某一段时：看向前一次出现之后的那个词元）。"
        "得分只是测量，不是证明。证明的办法是**关掉这些头**：选择注意力头和 MLP 模块，用*置零*（把输出换成 0）或*取平"
        "均*"
        "（换成它在这段文本上的平均值），比较关掉前后下一个词元的概率和文本上的损失。在 `induction` 模型上，把一串随"
        "机字母"
        "输入两遍，关掉前一个词元头 L0H0：第 1 层的归纳斜线消失，重复那一半的损失大幅上升。",
        "abl_heads": "要关掉的注意力头",
        "abl_mlps": "要关掉的 MLP 模块",
        "abl_mode": "方式",
        "abl_zero": "置零",
        "abl_mean": "取平均",
        "abl_run": "关掉并比较",
        "abl_bars_label": "下一个词元：关掉前后",
        "abl_grid_label": "关掉之后的注意力",
        "abl_bars_title": "“{token}”之后的下一个词元",
        "abl_before": "关掉前",
        "abl_after": "关掉后",
        "abl_grid_title": "关掉 {what} 之后的注意力（{mode}）",
        "abl_nothing": "无",
        "abl_result": "**文本上的损失**（对它的 {n} 次下一个词元预测取平均）：**{before:.3f} → {after:.3f}**（"
            "{delta:+.3f}）。",
        "abl_repeat": "**文本重复某一段的地方**（{n} 次预测）：**{before:.3f} → {after:.3f}**（{delta:+.3f}）。",
        "abl_no_repeat": "文本没有重复的片段，所以没有归纳方面的测量。",
        "abl_short": "文本只有一个词元：没有下一个词元的损失可比较。",
    },
)


def role_label(role: str, score: float, lang: str) -> str:
    """"previous 0.98": a head's strongest role and its score."""
    word = text(ROLE_KEYS.get(role, "abl_role_none"), lang)
    return word if role == "none" else f"{word} {score:.2f}"


def label_roles(fig, patterns: np.ndarray, ids: list[int], lang: str):
    """Append each head's strongest role to its thumbnail title in an `attention_grid` figure."""
    roles = roles_from_patterns(patterns, ids)
    n_heads = patterns.shape[1]
    notes = list(fig.layout.annotations)
    for index, note in enumerate(notes[: patterns.shape[0] * n_heads]):
        layer, head = divmod(index, n_heads)
        label = role_label(roles.strongest[layer][head], roles.strongest_score[layer, head], lang)
        note.text = f"{note.text} · {label}"
    return fig


def head_choices(cfg) -> list[str]:
    return [f"L{layer}H{head}" for layer in range(cfg.n_layers) for head in range(cfg.n_heads)]


def on_model(model_name: str):
    """The model changed: offer its heads and MLP blocks, none chosen."""
    cfg = get_bundle(model_name).config
    return (gr.update(choices=head_choices(cfg), value=[]),
            gr.update(choices=[(f"MLP {i}", i) for i in range(cfg.n_layers)], value=[]))


def on_ablate(model_name: str, text_in: str, heads, mlps, mode: str, request: gr.Request | None = None):
    """Run the text unablated and ablated; outputs: result Markdown, before/after bars, attention after."""
    from .. import figures

    lang = language(request)
    bundle = get_bundle(model_name)
    result = api.inspect(bundle, text_in, max_tokens=api.MAX_VIEW_TOKENS)
    out = ablate(bundle, result, parse_heads(",".join(heads or [])), mlps or [], mode or "zero")
    n = out.losses_before.size
    if n:
        lines = [text("abl_result", lang, n=n, before=out.loss_before, after=out.loss_after,
                      delta=out.loss_after - out.loss_before)]
        repeated = [q for q in roles_from_patterns(out.patterns_before, result.ids).induction_queries if q < n]
        if repeated:
            before, after = out.loss_on(repeated)
            lines.append(text("abl_repeat", lang, n=len(repeated), before=before, after=after, delta=after - before))
        else:
            lines.append(text("abl_no_repeat", lang))
    else:
        lines = [text("abl_short", lang)]
    top = np.argsort(-out.probs_before.numpy(), kind="stable")[:TOP_K]
    bars = before_after_bars(
        [bundle.tokenizer.token_display(int(i)) for i in top], out.probs_before.numpy()[top],
        out.probs_after.numpy()[top], title=text("abl_bars_title", lang, token=out.tokens[-1]),
        before_label=text("abl_before", lang), after_label=text("abl_after", lang))
    what = ", ".join([f"L{layer}H{head}" for layer, head in out.heads] + [f"MLP {i}" for i in out.mlps])
    grid = figures.attention_grid(
        out.patterns_after, out.tokens, cell_px=grid_cell_px(out.patterns_after.shape[1]),
        title=text("abl_grid_title", lang, what=what or text("abl_nothing", lang), mode=text(f"abl_{out.mode}", lang)),
        layer_label=text("att_layer", lang), head_label=text("att_head", lang), **axis_words(lang))
    return "\n\n".join(lines), bars, label_roles(grid, out.patterns_after, result.ids, lang)


def build_panel(shared, demo: gr.Blocks) -> None:
    """The ablation controls and results, under the Attention tab's other views."""
    with gr.Column(elem_id="abl-panel"):
        gr.Markdown(t("abl_header"))
        gr.Markdown(t("abl_what"), elem_classes="att-explain")
        with gr.Row(equal_height=True, elem_id="abl-controls"):
            heads = gr.CheckboxGroup([], label=t("abl_heads"), elem_id="abl-heads", scale=3)
            mlps = gr.CheckboxGroup([], label=t("abl_mlps"), elem_id="abl-mlps", scale=2)
            mode = gr.Radio([(t("abl_zero"), "zero"), (t("abl_mean"), "mean")], value="zero", label=t("abl_mode"),
                            elem_id="abl-mode", scale=1)
            run = gr.Button(t("abl_run"), variant="primary", elem_id="abl-run", scale=1)
        result = gr.Markdown(elem_id="abl-result")
        with gr.Row():
            bars = FastPlot(label=t("abl_bars_label"), elem_id="abl-bars", scale=1)
            grid = FastPlot(label=t("abl_grid_label"), elem_id="abl-grid", scale=1)
    # after the shared bar's check (ui/shared.py), so a bad model name errs once, not here too
    shared.listen(on_model, [shared.picker], [heads, mlps], api_visibility="private",
                  concurrency_id="ablate-choices", concurrency_limit=4)
    run.click(on_ablate, [shared.picker, shared.text, heads, mlps, mode], [result, bars, grid],
              api_visibility="private", concurrency_id="ablate", concurrency_limit=4, trigger_mode="always_last")
