"""Training on several processes with `torchrun` and DistributedDataParallel — no scheduler of ours.

    torchrun --nproc_per_node=2 -m playground train --batch 16 ...

torchrun starts N copies of the command and tells each its place (RANK, WORLD_SIZE, LOCAL_RANK
and the rendezvous in MASTER_ADDR/PORT); `setup()` reads that and joins the group: NCCL between
GPUs (one per process, cuda:LOCAL_RANK), gloo between CPU processes. Every rank draws the same
global batch of N·b windows from the same seeded sampler and keeps its own b rows (`shard`), so
N ranks with `--batch b` take exactly the steps one process takes with `--batch N·b`:

- each rank's loss is the mean over its b·T tokens; DDP averages the gradients over ranks, which
  is the gradient of the mean over all N·b·T tokens — the single process's loss;
- DDP all-reduces during `backward()`, so gradient clipping afterwards sees the global gradient
  and every rank clips and steps identically (the weights never drift apart);
- the reported loss is the ranks' losses averaged (`mean`), the single process's number.

Launched without torchrun (no WORLD_SIZE, or WORLD_SIZE=1) everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from . import device as devices
from .errors import PlaygroundError, register

register({
    "distributed.device": (
        "torchrun training runs on CUDA GPUs (NCCL) or CPUs (gloo), not on {device}; set --device cpu or cuda",
        "torchrun 多进程训练只支持 CUDA GPU（NCCL）或 CPU（gloo），不支持 {device}；请设 --device cpu 或 cuda",
    ),
    "distributed.train_only": (
        "{command} runs in one process; of the commands only train runs under torchrun",
        "{command} 只能单进程运行；在 torchrun 下只能运行 train 命令",
    ),
    "distributed.gpus": (
        "this process is local rank {rank} but the machine has {count} CUDA GPU(s): start at most "
        "{count} processes per machine (--nproc_per_node), or use --device cpu",
        "这个进程的本机序号是 {rank}，但这台机器只有 {count} 块 CUDA GPU：每台机器最多启动 {count} 个进程"
        "（--nproc_per_node），或用 --device cpu",
    ),
})


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (a single process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes the checkpoint, the card, the history and the progress bar."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global batch `(N·b, ...)` -> `(b, ...)`."""
        if self.size == 1:
            return batch
        rows = batch.shape[0] // self.size
        return batch[self.rank * rows:(self.rank + 1) * rows]

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The average of a scalar over all ranks (for reporting; gradients are DDP's job)."""
        if self.size == 1:
            return value
        value = value.detach().clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value / self.size

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """What `training.optimizer_step` trains through (it calls `.loss(x, y)` and
        `.parameters()`): the model itself alone, a DDP-synchronised loss across ranks."""
        return model if self.size == 1 else _DistributedLoss(model)


class _Loss(torch.nn.Module):
    """`model.loss(x, y)` (or `model(x)`) as a forward pass: DDP averages the gradients of what
    runs through its forward only, so the loss itself must be that forward."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(x) if y is None else self.model.loss(x, y)


class _DistributedLoss(torch.nn.Module):
    """The model run through DistributedDataParallel (same parameters): `.loss(x, y)` and
    `(x)` both synchronise the gradients across ranks during backward."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        from torch.nn.parallel import DistributedDataParallel

        where = devices.device_of(model)
        self.ddp = DistributedDataParallel(_Loss(model), device_ids=[where] if where.type == "cuda" else None)

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.ddp(x, y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ddp(x)


SINGLE = World()


def launched() -> bool:
    """True inside a torchrun worker of a run with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup() -> tuple[World, torch.device]:
    """Join the torchrun group if there is one; return this process's World and device.

    The device follows the `PLAYGROUND_DEVICE` setting (device.py); with several processes a
    CUDA device becomes this process's own GPU, cuda:LOCAL_RANK."""
    where = devices.resolve()
    if not launched():
        return SINGLE, where
    world = World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    if where.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise PlaygroundError("distributed.gpus", rank=world.local_rank, count=torch.cuda.device_count())
        where = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(where)
        backend = "nccl"
    elif where.type == "cpu":
        backend = "gloo"
    else:
        raise PlaygroundError("distributed.device", device=where.type)
    if not dist.is_initialized():
        dist.init_process_group(backend, rank=world.rank, world_size=world.size)
    return world, where


def shutdown() -> None:
    """Leave the group (a no-op when there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
