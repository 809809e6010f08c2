"""Command line: `python -m playground train|train-translate|inspect|generate ...` (see --help)."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from . import api, distributed
from . import device as devices
from .config import OPTIMIZERS, PRECISIONS, ModelConfig, TrainConfig
from .errors import PlaygroundError
from .history import MAX_SNAPSHOTS
from .model import parameter_count
from .precision import status as precision_status
from .run import StopConditions, TrainingRun


def _train(args: argparse.Namespace) -> int:
    """One process, or one rank of a torchrun run (see distributed.py): the same code either way."""
    world, where = distributed.setup()
    try:
        return _train_on(args, world, where)
    finally:
        distributed.shutdown()


def _train_on(args: argparse.Namespace, world: distributed.World, where: torch.device) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    say = functools.partial(print, file=sys.stderr) if world.is_main else lambda *a, **k: None
    text = Path(args.text_file).read_bytes() if args.text_file else None
    say(f"preparing corpus {args.corpus!r} and a {args.tokenizer} tokenizer ...")
    data = api.prepare_data(args.corpus, args.tokenizer, args.vocab, seed=args.seed, size=args.size, text=text)
    model_cfg = ModelConfig(
        n_layers=args.layers, n_heads=args.heads, d_model=args.d_model, n_ctx=args.ctx,
        d_vocab=data.tokenizer.vocab_size,
    )
    train_cfg = _train_config(args, eval_interval=args.eval_interval, min_lr_ratio=args.min_lr_ratio)
    say(f"optimizer {train_cfg.optimizer}; {precision_status(train_cfg.precision)}")
    say(
        f"{data.corpus_name}: {len(data.train_ids):,} train / {len(data.val_ids):,} val tokens, "
        f"vocab {data.tokenizer.vocab_size}, {parameter_count(model_cfg):,} parameters, on {devices.describe(where)}"
        + (f", {world.size} processes x batch {args.batch} = global batch {world.size * args.batch}"
           if world.size > 1 else "")
    )
    if args.snapshots and not args.probe:
        raise SystemExit("--snapshots needs --probe (the text whose attention is photographed)")
    stop = StopConditions(max_seconds=args.max_seconds, target_val_loss=args.target_val_loss)
    try:
        run = TrainingRun(data, model_cfg, train_cfg, probe=args.probe if args.snapshots else None,
                          n_snapshots=args.snapshots, stop=stop, sample_prompt=args.sample_prompt,
                          sample_tokens=args.sample_tokens, device=where, world=world)
    except PlaygroundError as err:  # the only thing a run refuses here: the probe's length
        raise SystemExit(f"--{err}") from None
    bar = tqdm(total=train_cfg.steps, unit="step", file=sys.stderr, disable=not world.is_main)
    try:  # only rank 0 evaluates and photographs; the others go on to the next step's all-reduce
        for stats in run:
            bar.update(1)
            postfix = {"loss": f"{stats.loss:.3f}", "tok/s": f"{stats.tokens_per_s:,.0f}"}
            if stats.val_loss is not None:
                postfix["val"] = f"{stats.val_loss:.3f}"
            bar.set_postfix(postfix, refresh=False)
    except KeyboardInterrupt:
        print("\nstopped: saving the model at its last completed step", file=sys.stderr)
    finally:
        bar.close()
    if run.last is None:
        say("no step completed; nothing saved")
        return 1
    if not world.is_main:
        return 0
    if run.reason != "done":
        say(f"stopped at step {run.last.step:,}: {STOP_WHY[run.reason](stop)}")
    bundle = run.finish(args.name or Path(args.out).name)
    card = bundle.card
    card["command"] = "python -m playground " + shlex.join(sys.argv[1:])
    card["device"] = devices.describe(where)
    if world.size > 1:
        card["processes"] = world.size  # the steps of one process with batch processes x train.batch_size
        card["command"] = f"torchrun --nproc_per_node=<n> -m playground {shlex.join(sys.argv[1:])}"
    bundle.meta.update(corpus_seed=args.seed, corpus_size=args.size)
    out = run.save(args.out, bundle)
    print(f"saved {out}  val loss {card['val_loss']:.4f}\nsample: {card['sample']}", file=sys.stderr)
    return 0


# What the CLI prints when a run ends early (the card's "stop" entry records the same).
STOP_WHY = {
    "stopped": lambda stop: "interrupted",
    "time": lambda stop: f"the --max-seconds budget of {stop.max_seconds:g} s ran out",
    "target": lambda stop: f"the validation loss reached --target-val-loss {stop.target_val_loss:g}",
}


def _train_translate(args: argparse.Namespace) -> int:
    from . import seq2seq

    if distributed.launched():  # N independent copies would each train and write the same folder
        raise PlaygroundError("distributed.train_only", command="train-translate")
    if args.threads:
        torch.set_num_threads(args.threads)
    model_kwargs = dict(n_layers=args.layers, n_heads=args.heads, d_model=args.d_model, d_mlp=args.d_mlp)
    train_cfg = _train_config(args)
    print(f"{args.pairs:,} sentence pairs (seed {args.seed}); optimizer {train_cfg.optimizer}; "
          f"{precision_status(train_cfg.precision)}; training ...", file=sys.stderr)
    bar = tqdm(total=train_cfg.steps, unit="step", file=sys.stderr)

    def on_step(step) -> None:
        bar.update(1)
        bar.set_postfix({"loss": f"{step.loss:.4f}"}, refresh=False)

    try:
        translator, card = seq2seq.build_translator(
            model_kwargs, train_cfg, args.pairs, args.eval_pairs, args.eval_seed, on_step=on_step
        )
    finally:
        bar.close()
    card["name"] = args.name or Path(args.out).name
    card["command"] = "python -m playground " + shlex.join(sys.argv[1:])
    out = seq2seq.save_translator(args.out, translator, card)
    h = card["heldout"]
    print(
        f"saved {out}  exact match {card['exact_match']:.2%} on {h['n']} held-out pairs "
        f"(seed {h['seed']}, {h['in_training_skipped']} drawn sentences skipped: in the training set)",
        file=sys.stderr,
    )
    return 0


def _inspect(args: argparse.Namespace) -> int:
    bundle = api.load_model(args.model)
    result = api.inspect(bundle, args.text)
    print("tokens:", " | ".join(f"{t.display}({t.id})" for t in result.tokens))
    if result.truncated_from:
        print(f"(truncated from {result.truncated_from} tokens to the context of {bundle.config.n_ctx})")
    last = len(result.ids) - 1
    for layer in range(bundle.config.n_layers):
        pattern = result.cache.pattern(layer)[:, last]  # (H, Tk): where the last token looks
        looks = [result.tokens[int(row.argmax())].display for row in pattern]
        print(f"layer {layer}: last token's heads look most at {looks}")
    print("next:", ", ".join(f"{tok!r} {p:.1%}" for tok, p in result.top_next))
    return 0


def _generate(args: argparse.Namespace) -> int:
    bundle = api.load_model(args.model)
    for step in api.generate_stream(
        bundle, args.prompt, args.max_new_tokens, args.temperature, args.top_k, args.top_p, args.seed, args.greedy
    ):
        if step.index == 0:
            print(args.prompt, end="")
        print(bundle.tokenizer.decode([step.token_id]), end="", flush=True)
    print()
    return 0


def _add_recipe_options(parser: argparse.ArgumentParser, lr: float, muon_lr: float = 0.02,
                        precision: str = "auto") -> None:
    """--optimizer, --lr, --muon-lr, --precision: the same choice for `train` and `train-translate`,
    each command defaulting to the recipe measured fastest for its model (README, *Shipped checkpoints*)."""
    parser.add_argument("--optimizer", default="muon", choices=list(OPTIMIZERS),
                        help="muon: Muon for the hidden weight matrices, AdamW (--lr) for embeddings, output "
                             "head, biases, norms; adamw: plain AdamW for everything")
    parser.add_argument("--lr", type=float, default=lr, help="AdamW's peak learning rate")
    parser.add_argument("--muon-lr", type=float, default=muon_lr,
                        help=f"Muon's peak learning rate (--optimizer muon; default {muon_lr})")
    parser.add_argument("--precision", default=precision, choices=list(PRECISIONS),
                        help=f"auto: bfloat16 autocast where the CPU has bfloat16 instructions, else float32 "
                             f"(default {precision})")


def _train_config(args: argparse.Namespace, **extra) -> TrainConfig:
    """The TrainConfig both training commands read from their shared options (schedule, recipe,
    seed); `extra` adds what only one of them takes."""
    return TrainConfig(
        steps=args.steps, batch_size=args.batch, lr=args.lr, warmup_steps=min(args.warmup, args.steps),
        seed=args.seed, weight_decay=args.weight_decay, beta2=args.beta2, grad_clip=args.grad_clip,
        optimizer=args.optimizer, muon_lr=args.muon_lr, precision=args.precision, **extra,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)  # options every command takes
    common.add_argument("--device", default=None, metavar="|".join(devices.CHOICES),
                        help=f"where to compute (default: ${devices.ENV}, else auto = cuda, then mps, then cpu)")

    train = sub.add_parser("train", help="train a model and save a checkpoint folder", parents=[common])
    train.add_argument("--corpus", default="stories", help="built-in corpus name (ignored with --text-file)")
    train.add_argument("--text-file", help="train on your own UTF-8 .txt file instead")
    train.add_argument("--size", type=int, default=None, help="approximate train text size in bytes")
    train.add_argument("--tokenizer", default="bpe", choices=["char", "word", "bpe"])
    train.add_argument("--vocab", type=int, default=512, help="tokenizer vocabulary size")
    train.add_argument("--layers", type=int, default=4)
    train.add_argument("--heads", type=int, default=4)
    train.add_argument("--d-model", type=int, default=128)
    train.add_argument("--ctx", type=int, default=128, help="context length in tokens")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--batch", type=int, default=16)
    _add_recipe_options(train, lr=3e-3)
    train.add_argument("--warmup", type=int, default=50)
    train.add_argument("--min-lr-ratio", type=float, default=0.1, help="final lr / peak lr (1 = constant)")
    train.add_argument("--weight-decay", type=float, default=0.1)
    train.add_argument("--beta2", type=float, default=0.99)
    train.add_argument("--grad-clip", type=float, default=1.0)
    train.add_argument("--eval-interval", type=int, default=100)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--sample-prompt", default="\n")
    train.add_argument("--sample-tokens", type=int, default=80)
    train.add_argument("--name", help="model name in its card (default: the folder name)")
    train.add_argument("--probe", help="text whose attention is photographed during training (history.json)")
    train.add_argument("--snapshots", type=int, default=0, choices=range(0, MAX_SNAPSHOTS),
                       metavar=f"0..{MAX_SNAPSHOTS - 1}", help="photographs of --probe besides step 0 (0: none)")
    train.add_argument("--max-seconds", type=float, default=None,
                       help="stop after this many seconds of training and save the model as it is then")
    train.add_argument("--target-val-loss", type=float, default=None,
                       help="stop at the first evaluation (every --eval-interval steps) whose validation loss "
                       "is at or below this, and save that model")
    train.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    train.add_argument("--out", required=True, help="checkpoint folder to write")
    train.set_defaults(run=_train)

    tt = sub.add_parser("train-translate", help="train the English->Chinese encoder-decoder and save it",
                        parents=[common])
    tt.add_argument("--pairs", type=int, default=40_000, help="training sentence pairs (corpora.translation_pairs)")
    tt.add_argument("--layers", type=int, default=2, help="encoder layers (the decoder has as many)")
    tt.add_argument("--heads", type=int, default=4)
    tt.add_argument("--d-model", type=int, default=128)
    tt.add_argument("--d-mlp", type=int, default=256)
    tt.add_argument("--steps", type=int, default=1200)
    tt.add_argument("--batch", type=int, default=64)
    # the translator's shapes are small: bfloat16 made its step 1.66x slower, and Muon lr 0.005 beat 0.02
    _add_recipe_options(tt, lr=2e-3, muon_lr=0.005, precision="float32")
    tt.add_argument("--warmup", type=int, default=100)
    tt.add_argument("--weight-decay", type=float, default=0.01)
    tt.add_argument("--beta2", type=float, default=0.98)
    tt.add_argument("--grad-clip", type=float, default=1.0)
    tt.add_argument("--seed", type=int, default=0, help="seed of the training pairs and the weights")
    tt.add_argument("--eval-pairs", type=int, default=1000, help="held-out pairs not in the training set")
    tt.add_argument("--eval-seed", type=int, default=1, help="seed of the held-out pairs (not --seed)")
    tt.add_argument("--name", help="model name in its card (default: the folder name)")
    tt.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    tt.add_argument("--out", required=True, help="checkpoint folder to write")
    tt.set_defaults(run=_train_translate)

    inspect = sub.add_parser("inspect", help="tokenize a text and summarise the attention", parents=[common])
    inspect.add_argument("--model", default=api.DEFAULT_MODEL, help="built-in name, folder or .zip")
    inspect.add_argument("text")
    inspect.set_defaults(run=_inspect)

    gen = sub.add_parser("generate", help="continue a prompt", parents=[common])
    gen.add_argument("--model", default=api.DEFAULT_MODEL, help="built-in name, folder or .zip")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--max-new-tokens", type=int, default=80)
    gen.add_argument("--temperature", type=float, default=0.8)
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--greedy", action="store_true")
    gen.set_defaults(run=_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        devices.use(args.device)  # None keeps $PLAYGROUND_DEVICE / auto
        devices.resolve()  # a bad or absent device fails here, before any work
        return args.run(args)
    except ValueError as err:  # every expected failure is a ValueError with a clear message
        print(f"error: {err}", file=sys.stderr)
        return 2
