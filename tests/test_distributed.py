"""torchrun: N ranks with batch b take the steps of one process with batch N·b.

The real launcher (`python -m torch.distributed.run`, i.e. torchrun) starts 2 CPU processes on
the loopback interface (gloo); a single process with twice the batch is the reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from playground import distributed
from playground.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ["train", "--corpus", "stories", "--size", "20000", "--tokenizer", "char", "--layers", "2", "--heads", "2",
         "--d-model", "16", "--ctx", "16", "--steps", "8", "--warmup", "2", "--eval-interval", "4", "--seed", "3",
         "--lr", "1e-2", "--grad-clip", "0.5", "--probe", "abcabc", "--snapshots", "1", "--device", "cpu"]


def _run(cmd: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PLAYGROUND_CACHE": str(cache), "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


# float32 AdamW: the same maths up to float32 summation order (DDP's all-reduce vs one batch).
EXACT = ["--optimizer", "adamw", "--precision", "float32"]


def _pair(tmp: Path, cache: Path, extra: list[str], tag: str = "") -> tuple:
    two = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                "-m", "playground", *TRAIN, *extra, "--batch", "3", "--out", str(tmp / f"two{tag}")], cache)
    one = _run([sys.executable, "-m", "playground", *TRAIN, *extra, "--batch", "6", "--out", str(tmp / f"one{tag}")],
               cache)
    return one, two


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("torchrun")
    cache = tmp / "kernel-cache"  # empty: the two ranks race to build the fused kernel
    one, two = _pair(tmp, cache, EXACT)
    return tmp, one, two


def test_with_the_default_muon_and_bf16_the_ranks_track_one_process_closely(tmp_path):
    """Muon orthogonalises each update in bfloat16 (torch.optim.Muon) and the CPU may autocast to
    bf16: the ~1e-7 summation differences of the all-reduce then show at bf16 resolution, so the
    curves agree to 2e-3 rather than 2e-5 (measured: 2.1e-4 after 8 steps)."""
    _pair(tmp_path, tmp_path / "kernel-cache", [], "-muon")
    one, two = _history(tmp_path / "one-muon"), _history(tmp_path / "two-muon")
    assert one["losses"] == pytest.approx(two["losses"], abs=2e-3)
    assert one["losses"][-1] < one["losses"][0]


def _history(folder: Path) -> dict:
    return json.loads((folder / "history.json").read_text(encoding="utf-8"))


def test_two_ranks_give_the_losses_of_one_process_with_the_global_batch(runs):
    tmp, _, _ = runs
    one, two = _history(tmp / "one"), _history(tmp / "two")
    assert one["loss_steps"] == two["loss_steps"] == list(range(1, 9))
    assert one["losses"] == pytest.approx(two["losses"], abs=2e-5)
    assert one["val_steps"] == two["val_steps"] and one["val_losses"] == pytest.approx(two["val_losses"], abs=2e-5)
    assert one["losses"][-1] < one["losses"][0]  # it did learn something


def test_the_checkpoint_loads_and_matches_the_single_process(runs):
    tmp, _, _ = runs
    a, b = load_checkpoint(tmp / "one", device="cpu"), load_checkpoint(tmp / "two", device="cpu")
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4, msg=name)
    card = json.loads((tmp / "two" / "card.json").read_text(encoding="utf-8"))
    assert card["processes"] == 2 and card["train"]["batch_size"] == 3 and card["device"] == "cpu"
    assert card["command"].startswith("torchrun ")
    single = json.loads((tmp / "one" / "card.json").read_text(encoding="utf-8"))
    assert card["val_loss"] == pytest.approx(single["val_loss"], abs=2e-4) and "processes" not in single


def test_rank_zero_alone_reports_and_saves(runs):
    _, one, two = runs
    for run in (one, two):
        assert run.stderr.count("preparing corpus") == 1 and run.stderr.count("saved ") == 1
    assert "2 processes x batch 3 = global batch 6" in two.stderr


def test_shard_splits_a_global_batch_into_the_ranks_rows():
    batch = torch.arange(24).view(6, 4)  # (N·b, T) with N = 3, b = 2
    parts = [distributed.World(rank=r, size=3).shard(batch) for r in range(3)]
    assert all(p.shape == (2, 4) for p in parts)
    assert torch.equal(torch.cat(parts), batch)
    assert distributed.SINGLE.shard(batch) is batch and distributed.SINGLE.is_main


def test_without_torchrun_setup_is_a_single_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    world, where = distributed.setup()
    assert world == distributed.SINGLE and where.type in ("cpu", "cuda", "mps")
    model = torch.nn.Linear(2, 2)
    assert world.wrap(model) is model
    value = torch.tensor(3.0)
    assert world.mean(value) is value


def test_the_readme_torchrun_commands_parse():
    """Every command in the README's 'When one machine is not enough' is a valid train command."""
    import re
    import shlex

    from playground.cli import build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## When one machine is not enough", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1).replace("\\\n", " ")
    commands = [line for line in block.splitlines() if line.startswith("torchrun ")]
    assert len(commands) == 3
    for line in commands:
        words = shlex.split(line)
        args = build_parser().parse_args(words[words.index("playground") + 1:])
        assert args.command == "train" and args.out == "runs/big"
        assert "-m" in words and ("--standalone" in words or "--master_addr=MASTER" in words)


def test_the_ddp_wrapper_trains_through_loss_and_forward_alike(tmp_path):
    """One-process gloo group: `.loss(x, y)` and `(x)` go through DDP and give the plain model's
    loss and gradients (so either way an optimizer step is taken is synchronised)."""
    import torch.distributed as dist
    import torch.nn.functional as F

    from playground.config import ModelConfig
    from playground.training import init_model

    cfg = ModelConfig(n_layers=1, n_heads=2, d_model=8, n_ctx=8, d_vocab=16)
    x = torch.randint(0, 16, (2, 8), generator=torch.Generator().manual_seed(0))
    y = torch.roll(x, -1, dims=1)
    plain = init_model(cfg, 0, "cpu")
    plain.loss(x, y).backward()
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        for use_forward in (False, True):
            model = init_model(cfg, 0, "cpu")
            wrapped = distributed._DistributedLoss(model)
            if use_forward:
                logits = wrapped(x)
                loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.reshape(-1))
            else:
                loss = wrapped.loss(x, y)
            loss.backward()
            assert {id(p) for p in wrapped.parameters()} == {id(p) for p in model.parameters()}
            for a, b in zip(model.parameters(), plain.parameters()):
                torch.testing.assert_close(a.grad, b.grad)
    finally:
        dist.destroy_process_group()


def test_train_translate_refuses_to_run_under_torchrun(monkeypatch, capsys):
    from playground.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train-translate", "--out", "unused", "--steps", "1"]) == 2
    assert "only train runs under torchrun" in capsys.readouterr().err
