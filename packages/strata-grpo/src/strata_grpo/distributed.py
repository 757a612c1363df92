"""Multi-process training: each process generates a shard of a step's prompt groups, the shards
are gathered so that advantages (SAN normalises per domain over the *whole* batch) and the
curriculum see the global batch, and gradients are averaged across processes after backward.

Any launcher that sets up ``torch.distributed`` works: ``accelerate launch`` (CPU: gloo;
GPUs: nccl), ``torchrun``. Gradients are averaged by an explicit ``all_reduce`` rather than by
wrapping the model in DDP, because the trainer calls the decoder and the LM head directly
(chunked log-probs) and DDP only synchronises what passes through its own ``forward``. For the
adapter sizes LoRA trains, the lost overlap of communication with backward is negligible.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when no process group is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def rank_seed(seed: int) -> int:
    """This rank's rollout seed: each rank samples its own groups from its own stream (rank 0,
    and a single process, keep ``seed``)."""
    rank, _ = rank_and_world()
    return seed + 7919 * rank


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (a plain list on a single process)."""
    import torch.distributed as dist

    _, world = rank_and_world()
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def collective_device() -> torch.device:
    """Where tensors handed to a collective must live: NCCL reduces CUDA tensors only (a CPU
    tensor raises), gloo CPU ones."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Replace each gradient by its mean over the processes (missing ones count as zeros), in
    one collective over a flat buffer rather than one per tensor (210 for LoRA r=16 on every
    linear layer of SmolLM2)."""
    import torch.distributed as dist

    _, world = rank_and_world()
    if world == 1:
        return
    params = list(params)
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat.div_(world)
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def all_ranks_true(flag: bool) -> bool:
    """Whether ``flag`` holds on every rank (so all skip a step together, or none)."""
    import torch.distributed as dist

    _, world = rank_and_world()
    if world == 1:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def sum_over_ranks(value: float) -> float:
    import torch.distributed as dist

    _, world = rank_and_world()
    if world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=collective_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item())


def barrier() -> None:
    import torch.distributed as dist

    if rank_and_world()[1] > 1:
        dist.barrier()
