"""Article lab: the article's section-5 training run, with one toggle per problem in its code.

Runs `playground.article_lab.lab_steps` and streams the loss per epoch beside the article's
printed numbers; the findings below the plot are composed from the run's measurements.
"""

from __future__ import annotations

import math

import gradio as gr

from .. import article_lab as lab
from .. import figures
from .i18n import add, language, t, text

FIX_NAMES = lab.LabFixes.names()

add(
    en={
        "lab_what": "**What am I looking at?** Section 5 of the article trains a PyTorch encoder-decoder "
        "Transformer (vocabulary 10,000, d_model 512, 8 heads)"
        " on *random* token ids for 10 epochs and prints "
        "a loss falling from 4.4453 to 0.5931. Its code does not run as printed; here it runs with only the "
        "minimal fixes (a defined maximum length and vocabulary size, positions sliced on the token axis). "
        "Each box below repairs one more problem. Press"
        " **Run**: the real loss appears epoch by epoch next to "
        "the article's printed numbers, and the findings underneath are measured from that run. "
        "A run trains the full-size model on the CPU: from a few seconds to a few minutes, depending on "
        "the fixes and how busy the machine is.",
        "lab_fixes": "Fixes (all off = the article's code)",
        "lab_fix_batch_first": "batch_first=True (the data is (batch, sequence))",
        "lab_fix_causal_mask": "causal mask in the decoder",
        "lab_fix_shift_targets": "shifted targets: decoder reads [BOS] + targets[:-1] (teacher forcing)",
        "lab_fix_source_positions": "add positions to the source too",
        "lab_fix_decoder_layers_2": "2 decoder layers (not PyTorch's default 6)",
        "lab_help": "**What each fix changes**\n\n"
        "- **batch_first** — off (article): the (32, 10) batches go into a module that expects "
        "(sequence, batch), so it reads the 32 *examples* as the sequence: attention mixes the same position "
        "across different examples, and the 10 words of one sentence never see each other. On: attention "
        "runs over the 10 tokens of each sentence.\n"
        "- **causal mask** — off (article): every decoder position may look at later positions. On: position "
        "t sees positions 0..t only, as when generating (with batch_first off the mask is built for the 32 "
        "examples and applied across them instead).\n"
        "- **shifted targets** — off (article): the decoder reads the very targets it must predict, so the "
        "answer is in its input at the same position. On: it reads [BOS] + targets[:-1] and predicts the "
        "next token. Only shift + mask together hide the answer.\n"
        "- **source positions** — off (article): positions are added to the target only, so the encoder "
        "cannot tell the order of the source words. On: both sides.\n"
        "- **2 decoder layers** — off (article): `nn.Transformer(512, 8, 2)` puts 2 in `num_encoder_layers`; "
        "the decoder keeps the default **6**. On: 2 and 2, as the article probably meant.\n\n"
        "Source and target are independent random ids: there is nothing to learn except this one batch, "
        "which the model sees every epoch.",
        "lab_article_preset": "Article's code",
        "lab_fixed_preset": "All fixes",
        "lab_seed": "Seed",
        "lab_run": "Run 10 epochs",
        "lab_stop": "Stop",
        "lab_plot": "Loss per epoch",
        "lab_findings_label": "What this run shows",
        # handler-composed text
        "lab_fig_title": "Loss per epoch: this run vs the article's printed numbers",
        "lab_xlabel": "epoch",
        "lab_ylabel": "cross-entropy loss",
        "lab_printed": "article (printed)",
        "lab_reference": "ln 10,000: uniform guess",
        "lab_this_run": "this run ({setting})",
        "lab_previous_run": "previous run ({setting})",
        "lab_setting_article": "article's code",
        "lab_setting_fixed": "all fixes",
        "lab_setting_some": "fixes: {names}",
        "lab_progress": "Epoch {epoch}/{epochs}: loss {loss} ({elapsed} s)…",
        "lab_find_first": "1. **Epoch 1: {first}.** A 10,000-way classifier that guesses uniformly scores "
        "ln 10,000 = {uniform}; this freshly initialised model starts at {first}. {first_scale} {first_verdict}",
        "lab_first_scale": "It starts above ln 10,000, not at it: the output layer's weights are uniform in "
        "±{init} over {d} layer-normed inputs, so the first logits spread with a standard deviation of about "
        "√({d} · {init}² / 3) = {spread}, and random logits of spread s cost about s²/2 = {excess} more than a "
        "uniform guess: {expected}.",
        "lab_first_far": "The article's first printed loss, 4.4453, is {gap} lower — so it cannot be the "
        "first loss of a fresh model set up as described.",
        "lab_first_near": "The article's first printed loss, 4.4453, is within {gap} of it.",
        "lab_find_last": "2. **Epoch {epochs}: {last}** (article: {printed}) — {direction}.",
        "lab_lower": "lower than the article's",
        "lab_higher": "higher than the article's",
        "lab_find_learned": "3. **What it learned.** It predicts {train_acc} of the 320 targets of its one "
        "batch. Copy probe — the same target ids shuffled to other places, with new sources: {copy_acc}. "
        "{learned_verdict}",
        "lab_copies": "It copies what its decoder reads: the answer is in its input.",
        "lab_memorised": "It memorised this one batch (the same 320 random pairs every epoch); it did not "
        "learn to copy, and there is nothing general to learn.",
        "lab_neither": "In {epochs} epochs it has neither memorised the batch nor learned to copy.",
        "lab_find_axis": "4. **Attention axis:** {axis} (length {length}). Replacing the other 31 examples "
        "moved example 0's outputs by up to {change} — {axis_verdict}",
        "lab_axis_tokens": "the 10 tokens of each sentence",
        "lab_axis_examples": "the 32 examples of the batch",
        "lab_leaks": "examples leak into each other.",
        "lab_independent": "examples are independent, as they should be.",
        "lab_find_future": "5. **Looking ahead:** changing only the last decoder input moved the outputs at "
        "earlier positions by up to {future} — {future_verdict}",
        "lab_sees_future": "earlier positions can see later ones.",
        "lab_no_future": "no position sees a later one.",
        "lab_find_order": "6. **Source order:** reversing every source moved the outputs by up to {order} — "
        "{order_verdict}",
        "lab_order_blind": "the model cannot tell source word order.",
        "lab_order_seen": "the output depends on source word order.",
        "lab_future_examples": "not a sign of a working causal mask: with batch_first off, attention runs over "
        "the 32 examples at each position, never over the 10 tokens of a sentence, so no position sees any "
        "other position of its own sentence, earlier or later. {mask_note}",
        "lab_mask_examples": "The causal mask (on) is built for a length of 32 and applied across the examples: "
        "example i sees examples 0..i.",
        "lab_mask_off": "The causal mask is off.",
        "lab_order_examples": "not the model reading word order: reversing the sources changes which source "
        "token sits at each position, and with attention over the examples each output reads the 32 examples' "
        "sources at its own position.",
        "lab_find_setup": "7. **Setup:** {decoder_layers} decoder layers, {params} parameters, {seconds} s "
        "for {epochs} epochs on this machine.",
        "lab_find_previous": "**Previous run** ({setting}): epoch {epochs} loss {last}.",
        "lab_find_one_change": "**Only `{fix}` changed** since then: epoch-{epochs} loss {before} → {after}, "
        "copy probe {before_copy} → {after_copy}.",
    },
    zh={
        "lab_what": "**我在看什么？** 文章第 5 节用 PyTorch 的编码器-解码"
        "器 Transformer（词表 10,000，d_model 512，"
        "8 个头）在*随机*词元 id 上训练 10 轮，并印出从 4.4453 降到 0.5931 的损失。它的代码照原样无法运行；"
        "这里只做了最少的修复（定义最大长度和词表大小，位置"
        "编码在词元轴上切片）。下面每个勾选框再修好一个问题。"
        "按 **运行**：真实的损失逐轮出现在文章印出的数字旁边，下方的结论都由这次运行测得。"
        "一次运行要在 CPU 上训练完整大小的模型：从几秒到几分钟不等，"
        "取决于所选修复和机器的繁忙程度。",
        "lab_fixes": "修复（全不选 = 文章的代码）",
        "lab_fix_batch_first": "batch_first=True（数据是 (批, 序列)）",
        "lab_fix_causal_mask": "解码器加因果掩码",
        "lab_fix_shift_targets": "目标右移：解码器读 [BOS] + targets[:-1]（教师强制）",
        "lab_fix_source_positions": "源序列也加位置编码",
        "lab_fix_decoder_layers_2": "解码器 2 层（而不是 PyTorch 默认的 6 层）",
        "lab_help": "**每个修复改变了什么**\n\n"
        "- **batch_first** —— 不选（文章）：(32, 10)"
        " 的批次送进一个期望 (序列, 批) 的模块，于是它把 32 个*样本*"
        "当成序列：注意力在不同样本的同一位置之间混合，而同一"
        "句话的 10 个词彼此看不见。选中：注意力在每句话的 "
        "10 个词元之间进行。\n"
        "- **因果掩码** —— 不选（文章）：解码器每个位置都能看"
        "后面的位置。选中：位置 t 只能看 0..t，和生成时一样（不选 batch_first 时，掩码按 32 个样本构造，作用在样本之"
        "间）。\n"
        "- **目标右移** —— 不选（文章）：解码器读的正是它要预测的目标，答案就在同一位置的输入里。选中：它读 "
        "[BOS] + targets[:-1]，预测下一个词元。只有右移 + 掩码一起才能把答案藏起来。\n"
        "- **源序列位置** —— 不选（文章）：位置只加在目标上，编码器分不清源序列的词序。选中：两边都加。\n"
        "- **解码器 2 层** —— 不选（文章）：`nn.Transformer(512, 8, 2)` 把 2 传给了 `num_encoder_layers`；"
        "解码器保持默认的 **6** 层。选中：2 和 2，这大概是文章的本意。\n\n"
        "源和目标是相互独立的随机 id：除了每轮都看到的这一个批次，没有别的可学。",
        "lab_article_preset": "文章的代码",
        "lab_fixed_preset": "全部修复",
        "lab_seed": "随机种子",
        "lab_run": "运行 10 轮",
        "lab_stop": "停止",
        "lab_plot": "每轮的损失",
        "lab_findings_label": "这次运行说明了什么",
        "lab_fig_title": "每轮损失：这次运行 vs 文章印出的数字",
        "lab_xlabel": "轮次",
        "lab_ylabel": "交叉熵损失",
        "lab_printed": "文章（印出的）",
        "lab_reference": "ln 10,000：均匀猜测",
        "lab_this_run": "这次运行（{setting}）",
        "lab_previous_run": "上次运行（{setting}）",
        "lab_setting_article": "文章的代码",
        "lab_setting_fixed": "全部修复",
        "lab_setting_some": "修复：{names}",
        "lab_progress": "第 {epoch}/{epochs} 轮：损失 {loss}（{elapsed} 秒）…",
        "lab_find_first": "1. **第 1 轮：{first}。** 对 10,000 类均"
        "匀猜测的分类器，损失是 ln 10,000 = {uniform}；"
        "这个刚初始化的模型从 {first} 开始。{first_scale}{first_verdict}",
        "lab_first_scale": "它从高于 ln 10,000 的地方开始，而不是正好在那里：输出层的权重在 ±{init} 内均匀分布，"
        "作用于 {d} 个经过层归一化的输入，所以最初的 logit 的标准差约为 √({d} · {init}² / 3) = {spread}；"
        "分布宽度为 s 的随机 logit 比均匀猜测大约多 s²/2 = {excess} 的损失：{expected}。",
        "lab_first_far": "文章印出的第一轮损失 4.4453 比它低 {gap}"
        "——所以它不可能是按文中设置新建模型的第一轮损失。",
        "lab_first_near": "文章印出的第一轮损失 4.4453 与它相差不到 {gap}。",
        "lab_find_last": "2. **第 {epochs} 轮：{last}**（文章：{printed}）——{direction}。",
        "lab_lower": "比文章的低",
        "lab_higher": "比文章的高",
        "lab_find_learned": "3. **它学到了什么。** 它能预测出这一个批次 320 个目标中的 {train_acc}。"
        "复制测试——把同样的目标 id 打乱到别的位置，并换上新的源序列：{copy_acc}。{learned_verdict}",
        "lab_copies": "它在复制解码器读到的内容：答案就在它的输入里。",
        "lab_memorised": "它背下了这一个批次（每轮都是同样的 320 个随"
        "机配对）；它没有学会复制，也没有可推广的规律可学。",
        "lab_neither": "在 {epochs} 轮里，它既没有背下这个批次，也没有学会复制。",
        "lab_find_axis": "4. **注意力的轴：** {axis}（长度 {length}"
        "）。替换其余 31 个样本后，样本 0 的输出最多变化 "
        "{change}——{axis_verdict}",
        "lab_axis_tokens": "每句话的 10 个词元",
        "lab_axis_examples": "批次中的 32 个样本",
        "lab_leaks": "样本之间互相泄漏。",
        "lab_independent": "样本彼此独立，本该如此。",
        "lab_find_future": "5. **偷看后文：** 只改最后一个解码器输入，前面位置的输"
        "出最多变化 {future}——{future_verdict}",
        "lab_sees_future": "前面的位置能看到后面的。",
        "lab_no_future": "没有位置能看到后面的。",
        "lab_find_order": "6. **源序列词序：** 把每个源序列倒过来，输出最多变化 {order}——{order_verdict}",
        "lab_order_blind": "模型分不清源序列的词序。",
        "lab_order_seen": "输出依赖源序列的词序。",
        "lab_future_examples": "这并不说明因果掩码在起作用：不选 batch_first 时，注意力在每个位置上跨 32 个样本进行，"
        "从不在一句话的 10 个词元之间进行，所以任何位置都看不到自己句子里的其他位置，无论前后。{mask_note}",
        "lab_mask_examples": "因果掩码（已选）按长度 32 构造，作用在样本之间：样本 i 能看到样本 0..i。",
        "lab_mask_off": "因果掩码没有选。",
        "lab_order_examples": "这并不是模型读懂了词序：把源序列倒过来，改变了每个位置上的源词元；而注意力跨样本进行时，"
        "每个输出读的是 32 个样本在它自己这个位置上的源词元。",
        "lab_find_setup": "7. **设置：** 解码器 {decoder_layers} 层"
        "，{params} 个参数，在这台机器上 {epochs} 轮用时 "
        "{seconds} 秒。",
        "lab_find_previous": "**上次运行**（{setting}）：第 {epochs} 轮损失 {last}。",
        "lab_find_one_change": "**与上次相比只改了 `{fix}`**：第 {epochs} 轮损失 {before} → {after}，"
        "复制测试 {before_copy} → {after_copy}。",
    },
)

NOISE = 1e-4  # |Δ logits| below this is float rounding, not information flow


def _fixes(values) -> lab.LabFixes:
    return lab.LabFixes(**{name: bool(v) for name, v in zip(FIX_NAMES, values, strict=True)})


def first_scale(lang: str) -> str:
    """Why a fresh model's loss starts above ln V: logits of spread s cost ≈ s²/2 more than uniform."""
    spread = math.sqrt(lab.D_MODEL * lab.INIT_RANGE**2 / 3)  # std of fc_out(LayerNorm'd x) at init
    excess = spread**2 / 2
    return text("lab_first_scale", lang, init=f"{lab.INIT_RANGE:g}", d=lab.D_MODEL, spread=f"{spread:.2f}",
                excess=f"{excess:.2f}", expected=f"≈ {lab.FRESH_LOSS + excess:.2f}")


def setting_name(fixes: lab.LabFixes, lang: str) -> str:
    on = [name for name in FIX_NAMES if getattr(fixes, name)]
    if not on:
        return text("lab_setting_article", lang)
    if len(on) == len(FIX_NAMES):
        return text("lab_setting_fixed", lang)
    return text("lab_setting_some", lang, names=", ".join(on))


def loss_figure(losses, label: str, previous: dict | None, lang: str):
    runs = [(label, losses)]
    if previous:
        runs.append((text("lab_previous_run", lang, setting=previous["setting"]), previous["losses"]))
    return figures.lab_losses(
        runs, lab.ARTICLE_LOSSES, reference=lab.FRESH_LOSS, title=text("lab_fig_title", lang),
        xlabel=text("lab_xlabel", lang), ylabel=text("lab_ylabel", lang),
        printed_label=text("lab_printed", lang),
        reference_label=text("lab_reference", lang),
    )


def findings(result: lab.LabResult, lang: str, previous: dict | None = None) -> str:
    """The findings Markdown, every number and every verdict taken from `result`."""
    first, last = result.losses[0], result.losses[-1]
    printed_last = lab.ARTICLE_LOSSES[min(result.epochs, len(lab.ARTICLE_LOSSES)) - 1]
    gap = first - lab.ARTICLE_LOSSES[0]
    first_verdict = text("lab_first_far" if abs(gap) > 1.0 else "lab_first_near", lang, gap=f"{abs(gap):.2f}")
    if result.copy_accuracy >= 0.5:
        learned = text("lab_copies", lang)
    elif result.train_accuracy >= 0.5:
        learned = text("lab_memorised", lang)
    else:
        learned = text("lab_neither", lang, epochs=result.epochs)
    if result.attention_axis == "examples":  # both measurements are then about examples, not tokens
        mask_note = text("lab_mask_examples" if result.fixes.causal_mask else "lab_mask_off", lang)
        future_verdict = text("lab_future_examples", lang, mask_note=mask_note)
        order_verdict = text("lab_order_examples", lang)
    else:
        future_verdict = text("lab_sees_future" if result.future_change > NOISE else "lab_no_future", lang)
        order_verdict = text("lab_order_seen" if result.source_order_change > NOISE else "lab_order_blind", lang)
    lines = [
        text("lab_find_first", lang, first=f"{first:.4f}", uniform=f"{lab.FRESH_LOSS:.2f}",
             first_scale=first_scale(lang), first_verdict=first_verdict),
        text("lab_find_last", lang, epochs=result.epochs, last=f"{last:.4f}", printed=f"{printed_last:.4f}",
             direction=text("lab_lower" if last < printed_last else "lab_higher", lang)),
        text("lab_find_learned", lang, train_acc=f"{result.train_accuracy:.0%}",
             copy_acc=f"{result.copy_accuracy:.0%}", learned_verdict=learned),
        text("lab_find_axis", lang, axis=text(f"lab_axis_{result.attention_axis}", lang),
             length=result.attention_length, change=f"{result.cross_example_change:.3g}",
             axis_verdict=text("lab_leaks" if result.cross_example_change > NOISE else "lab_independent",
                               lang)),
        text("lab_find_future", lang, future=f"{result.future_change:.3g}", future_verdict=future_verdict),
        text("lab_find_order", lang, order=f"{result.source_order_change:.3g}", order_verdict=order_verdict),
        text("lab_find_setup", lang, decoder_layers=result.decoder_layers, params=f"{result.n_params:,}",
             seconds=f"{result.seconds:.1f}", epochs=result.epochs),
    ]
    if previous:
        lines.append(text("lab_find_previous", lang, setting=previous["setting"],
                          epochs=len(previous["losses"]),
                          last=f"{previous['losses'][-1]:.4f}"))
        changed = [n for n in FIX_NAMES if previous.get("fixes", {}).get(n) is not getattr(result.fixes, n)]
        if len(changed) == 1 and len(previous["losses"]) == result.epochs:
            lines.append(text("lab_find_one_change", lang, fix=changed[0], epochs=result.epochs,
                              before=f"{previous['losses'][-1]:.4f}", after=f"{last:.4f}",
                              before_copy=previous.get("copy", "?"),
                              after_copy=f"{result.copy_accuracy:.0%}"))
    return "\n".join(lines)


def on_run(batch_first: bool, causal_mask: bool, shift_targets: bool, source_positions: bool,
           decoder_layers_2: bool, seed, previous: dict | None, request: gr.Request | None = None):
    """Stream (figure, progress, last-run state) after every epoch, then the measured findings.

    One bool per fix (the `LabFixes` fields), the seed, and the previous run's {setting, losses}."""
    flags = [batch_first, causal_mask, shift_targets, source_positions, decoder_layers_2]
    lang = language(request)
    fixes = _fixes(flags)
    steps = lab.lab_steps(fixes, seed=seed, epochs=lab.EPOCHS)
    setting = setting_name(fixes, lang)
    label = text("lab_this_run", lang, setting=setting)
    losses: list[float] = []
    while True:
        try:
            ep = next(steps)
        except StopIteration as done:
            result = done.value
            break
        losses.append(ep.loss)
        progress = text("lab_progress", lang, epoch=ep.epoch, epochs=ep.epochs, loss=f"{ep.loss:.4f}",
                        elapsed=f"{ep.elapsed:.0f}")
        yield loss_figure(losses, label, previous, lang), progress, previous
    current = {"setting": setting, "losses": list(result.losses), "fixes": vars(fixes).copy(),
               "copy": f"{result.copy_accuracy:.0%}"}
    yield loss_figure(result.losses, label, previous, lang), findings(result, lang, previous), current


def build(shared, demo: gr.Blocks) -> None:
    """Layout of the article lab; `shared` is unused (this tab has its own inputs)."""
    gr.Markdown(t("lab_what"), elem_id="lab-what")
    with gr.Row():
        with gr.Column(scale=2):
            boxes = [gr.Checkbox(False, label=t(f"lab_fix_{name}"),
                                 elem_id=f"lab-fix-{name.replace('_', '-')}") for name in FIX_NAMES]
        with gr.Column(scale=1):
            with gr.Row():
                article = gr.Button(t("lab_article_preset"), size="sm", elem_id="lab-preset-article")
                fixed = gr.Button(t("lab_fixed_preset"), size="sm", elem_id="lab-preset-fixed")
            seed = gr.Number(0, label=t("lab_seed"), precision=0, minimum=0, elem_id="lab-seed")
            with gr.Row():
                run = gr.Button(t("lab_run"), variant="primary", elem_id="lab-run")
                stop = gr.Button(t("lab_stop"), variant="stop", elem_id="lab-stop")
    plot = gr.Plot(label=t("lab_plot"), elem_id="lab-plot")
    result = gr.Markdown(elem_id="lab-findings", label=t("lab_findings_label"))
    with gr.Accordion(t("lab_fixes"), open=True):
        gr.Markdown(t("lab_help"), elem_id="lab-help")
    previous = gr.State(None)

    article.click(lambda: [False] * len(boxes), None, boxes, api_visibility="private")
    fixed.click(lambda: [True] * len(boxes), None, boxes, api_visibility="private")
    event = run.click(on_run, [*boxes, seed, previous], [plot, result, previous], api_name="article_lab",
                      concurrency_id="article_lab", concurrency_limit=1)
    stop.click(None, None, None, cancels=[event])
