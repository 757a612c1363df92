"""Two modes over the tiny setup, for the multi-process test.

``accelerate launch --multi_gpu --num_processes 2 ddp_run.py OUT distributed`` (torchrun
under the hood; ``Accelerator(cpu=True)`` makes it gloo on CPU): real distributed steps
(sharded generation, gathered batch, averaged gradients); rank 0 saves each step's global batch,
every rank saves its final adapter. ``python ddp_run.py OUT single``: one process learns on the
saved global batches and saves its adapter."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch
from tiny_setup import adapter, trainer

STEPS = 2

if __name__ == "__main__":
    out, mode = Path(sys.argv[1]), sys.argv[2]
    out.mkdir(parents=True, exist_ok=True)
    if mode == "distributed":
        from accelerate import Accelerator

        accelerator = Accelerator(cpu=True)
        rank = accelerator.process_index
        assert accelerator.num_processes == 2, accelerator.num_processes
        t = trainer()
        for step in range(STEPS):
            t.step()
            if rank == 0:
                torch.save(t.last_batch, out / f"batch-{step}.pt")
        torch.save(adapter(t), out / f"adapter-rank{rank}.pt")
        accelerator.wait_for_everyone()
    else:
        t = trainer()
        for step in range(STEPS):
            t.learn(torch.load(out / f"batch-{step}.pt", weights_only=False))
        torch.save(adapter(t), out / "adapter-single.pt")
