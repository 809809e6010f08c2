"""Server-side latency of the Attention tab's /inspect endpoint, and of its cheap redraws; of the
Model tab (/model_view: pipeline, logit lens, attribution, q/k/v) and of an ablation re-run.

    python -m bench.inspect_latency [--repeats 15] [--lengths 16 64 128] [--threads 1]

For each text length: tokenize, forward with every activation captured, every figure of the
tab (grid, enlarged head, head view, step by step) and their JSON (`figures.to_json`, what the
tab's gr.Plot subclass sends; plotly's own `fig.to_json()` gives the same JSON, slower).
Median and p90 in milliseconds, with a breakdown, plus the redraws a selector change costs
(no model run). Runs on the `stories` checkpoint; without it, on the built-in checkpoint with
the longest context, and — if that context is shorter than a requested length — also on a
*stand-in*: an untrained model of stories' shape (README's train command) with that
checkpoint's tokenizer, so the 128-token budget is still measured. Prints JSON. Targets at 128
tokens: /inspect ≤ 100 ms; the Model tab ≤ 150 ms; an ablation re-run ≤ 100 ms (run interleaved in
the same loop, so the three share the machine's state).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from playground import api, figures
from playground.config import ModelConfig
from playground.model import TinyGPT
from playground.ui import ablation_panel, model_tab
from playground.ui import attention_tab as tab

TARGET_MS = 100.0
MODEL_TAB_TARGET_MS = 150.0
ABLATION_TARGET_MS = 100.0
# The stories checkpoint's shape (README: --layers 4 --heads 4 --d-model 192 --ctx 128 --vocab 2048).
STORIES_SHAPE = dict(n_layers=4, n_heads=4, d_model=192, n_ctx=128)
SAMPLE = ("Once upon a time a little dog saw a red cat under the old tree. She ran to it and they "
          "played until the sun went down. 从前，一只小狗在老树下看见了一只红色的猫。"
          "它跑过去，它们一直玩到太阳下山。")
PARTS = ("tokenize", "forward", "view", "grid", "big", "head_view", "steps", "json")


def choose_bundle() -> tuple[api.ModelBundle, str]:
    """stories, else the built-in with the longest context (then most parameters), else the demo."""
    names = api.builtin_names()
    if api.DEFAULT_MODEL in names:
        return api.load_model(api.DEFAULT_MODEL), f"{api.DEFAULT_MODEL} (checkpoint)"
    if names:
        bundles = [api.load_model(n) for n in names]
        best = max(bundles, key=lambda b: (b.config.n_ctx, b.model.n_params()))
        return best, f"{best.name} (fallback: no '{api.DEFAULT_MODEL}' checkpoint yet)"
    return api.demo_model(), f"{api.DEMO_MODEL} (fallback: no checkpoint at all)"


def stand_in(tokenizer_of: api.ModelBundle) -> api.ModelBundle:
    torch.manual_seed(0)
    cfg = ModelConfig(**STORIES_SHAPE, d_vocab=tokenizer_of.tokenizer.vocab_size)
    model = TinyGPT(cfg).eval()
    return api.ModelBundle("stories-shaped stand-in", model, tokenizer_of.tokenizer, {}, None, False)


def text_of(bundle: api.ModelBundle, n_tokens: int) -> str:
    """A prefix of a repeated bilingual story that tokenizes to (about) `n_tokens` tokens."""
    long = SAMPLE
    while len(bundle.tokenizer.encode(long).ids) < n_tokens:
        long += " " + SAMPLE
    tokens = bundle.tokenizer.encode(long).tokens
    return long[: tokens[n_tokens - 1].end]


def stats(values: list[float]) -> dict[str, float]:
    return {"best": round(float(np.min(values)), 2), "median": round(float(np.median(values)), 2),
            "p90": round(float(np.percentile(values, 90)), 2)}


def measure(bundle: api.ModelBundle, n_tokens: int, repeats: int) -> dict:
    text = text_of(bundle, n_tokens)
    parts: dict[str, list[float]] = {k: [] for k in (*PARTS, "total", "cpu", "handler+json", "redraw", "model_tab",
                                                     "logit_lens", "ablation", "model_tab_cpu", "ablation_cpu")}
    sizes: dict[str, int] = {}
    for rep in range(repeats + 2):  # two warm-up rounds
        c0, t0 = time.process_time(), time.perf_counter()
        bundle.tokenizer.encode(text)
        t1 = time.perf_counter()
        result = api.inspect(bundle, text)  # tokenizes again, then the forward with capture
        t2 = time.perf_counter()
        view = tab.make_view(result)
        t3 = time.perf_counter()
        n = len(view["labels"])
        layer, head, query = view["layer"], view["head"], n - 1
        figs, times = {}, {}
        for name, build, *args in (
            ("grid", tab.grid_figure, view, False),
            ("big", tab.big_figure, view, layer, head, False),
            ("head_view", tab.head_view_figure, view, layer, None),
            ("steps", tab.steps_figure, view, layer, head, query),
        ):
            s = time.perf_counter()
            figs[name] = build(*args)
            if name == "steps":
                tab.steps_line(view, layer, head, query)
            times[name] = time.perf_counter() - s
        t4 = time.perf_counter()
        payload = {name: figures.to_json(fig) for name, fig in figs.items()}  # what FastPlot sends
        t5, c5 = time.perf_counter(), time.process_time()

        # The real handler, end to end, as the endpoint runs it (+ gr.Plot's serialisation).
        s = time.perf_counter()
        out = tab.on_inspect(bundle.name, text) if bundle.name in api.builtin_names() else None
        if out is not None:
            [figures.to_json(o) for o in out[2:6]]
        handler = time.perf_counter() - s

        # The Model tab's handler end to end (one forward, every panel) + serialisation; the logit
        # lens alone (library + figure); an ablation re-run (two forwards) + serialisation.
        model_tab_ms = lens_ms = ablation_ms = None
        if out is not None:
            s, c = time.perf_counter(), time.process_time()
            for o in model_tab.on_text(bundle.name, text, 1.0, 0, 0):
                if hasattr(o, "to_plotly_json"):
                    figures.to_json(o)
            model_tab_ms, model_tab_cpu = time.perf_counter() - s, time.process_time() - c
            s = time.perf_counter()
            model_tab.lens_figures(bundle, result, n - 1, "en")
            lens_ms = time.perf_counter() - s
            s, c = time.perf_counter(), time.process_time()
            _, bars, grid = ablation_panel.on_ablate(bundle.name, text, ["L0H0"], [], "zero")
            figures.to_json(bars), figures.to_json(grid)
            ablation_ms, ablation_cpu = time.perf_counter() - s, time.process_time() - c

        # A selector change: the layer (enlarged head, head view, step by step) without the model.
        s = time.perf_counter()
        for o in tab.on_layer(view, min(1, result.cache.n_layers - 1), head, False, -1, query)[:3]:
            figures.to_json(o)
        redraw = time.perf_counter() - s

        if rep < 2:
            continue
        tokenize, forward = t1 - t0, (t2 - t1) - (t1 - t0)
        measured = {"tokenize": tokenize, "forward": forward, "view": t3 - t2, "json": t5 - t4, **times,
                    "total": tokenize + forward + (t5 - t2), "cpu": c5 - c0, "redraw": redraw}
        for key, value in measured.items():
            parts[key].append(1e3 * value)
        if out is not None:
            parts["handler+json"].append(1e3 * handler)
            parts["model_tab"].append(1e3 * model_tab_ms)
            parts["logit_lens"].append(1e3 * lens_ms)
            parts["ablation"].append(1e3 * ablation_ms)
            parts["model_tab_cpu"].append(1e3 * model_tab_cpu)
            parts["ablation_cpu"].append(1e3 * ablation_cpu)
        sizes = {name: round(len(js) / 1024, 1) for name, js in payload.items()}
    return {
        "tokens": n, "truncated_from": result.truncated_from,
        "total_ms": stats(parts["total"]),
        "total_cpu_ms": stats(parts["cpu"]),  # process CPU time: less sensitive to other jobs
        "breakdown_ms": {k: stats(parts[k]) for k in PARTS},
        "handler_plus_json_ms": stats(parts["handler+json"]) if parts["handler+json"] else None,
        "redraw_on_layer_change_ms": stats(parts["redraw"]),
        "payload_kb": sizes,
        "within_target": stats(parts["total"])["median"] <= TARGET_MS,
        # Model tab handler (every panel, one forward) + JSON; logit lens alone; ablation re-run + JSON
        "model_tab_ms": stats(parts["model_tab"]) if parts["model_tab"] else None,
        "logit_lens_ms": stats(parts["logit_lens"]) if parts["logit_lens"] else None,
        "ablation_rerun_ms": stats(parts["ablation"]) if parts["ablation"] else None,
        "model_tab_cpu_ms": stats(parts["model_tab_cpu"]) if parts["model_tab_cpu"] else None,
        "ablation_rerun_cpu_ms": stats(parts["ablation_cpu"]) if parts["ablation_cpu"] else None,
        "model_tab_within_target": (stats(parts["model_tab"])["median"] <= MODEL_TAB_TARGET_MS
                                    if parts["model_tab"] else None),
        "ablation_within_target": (stats(parts["ablation"])["median"] <= ABLATION_TARGET_MS
                                   if parts["ablation"] else None),
    }


def run(bundle: api.ModelBundle, label: str, lengths: list[int], repeats: int) -> dict:
    cfg = bundle.config
    return {
        "model": label,
        "shape": {k: getattr(cfg, k) for k in ("n_layers", "n_heads", "d_model", "n_ctx", "d_vocab")},
        "by_length": {str(n): measure(bundle, n, repeats) for n in lengths if n <= cfg.n_ctx},
        "skipped_lengths_over_context": [n for n in lengths if n > cfg.n_ctx],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: what a server with parallel requests "
                        "on 2 shared cores should use; 2 threads on a busy 2-core box ran the forward "
                        "10-40x slower)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    bundle, label = choose_bundle()
    report = {
        "benchmark": "inspect_latency",
        "target_ms_at_128_tokens": TARGET_MS,
        "model_tab_target_ms": MODEL_TAB_TARGET_MS,
        "ablation_target_ms": ABLATION_TARGET_MS,
        "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "runs": [run(bundle, label, args.lengths, args.repeats)],
    }
    if max(args.lengths) > bundle.config.n_ctx:
        label = (f"untrained model of the stories shape, with {bundle.name}'s tokenizer "
                 "(stand-in for the missing checkpoint)")
        report["runs"].append(run(stand_in(bundle), label, args.lengths, args.repeats))
    report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
