"""Two CPU processes (gloo, launched by accelerate) end with identical weights, equal to one
process learning on the same global batches."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).parent


@pytest.mark.slow
def test_two_processes_match_each_other_and_a_single_process(tmp_path: Path) -> None:
    launch = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        "29533",
    ]
    done = subprocess.run(
        [*launch, str(HERE / "ddp_run.py"), str(tmp_path), "distributed"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    single = subprocess.run(
        [sys.executable, str(HERE / "ddp_run.py"), str(tmp_path), "single"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    r0 = torch.load(tmp_path / "adapter-rank0.pt")
    r1 = torch.load(tmp_path / "adapter-rank1.pt")
    one = torch.load(tmp_path / "adapter-single.pt")
    assert all(torch.equal(r0[k], r1[k]) for k in r0), "ranks diverged"
    moved = sum(float((one[k] - r0[k]).abs().max()) for k in one)
    assert moved < 1e-4 * len(one), f"distributed differs from single-process by {moved}"
    initial_b = [k for k in r0 if "lora_B" in k]
    assert any(r0[k].abs().max() > 0 for k in initial_b), "the run must train to test anything"


def test_collectives_use_the_device_their_backend_reduces(monkeypatch: pytest.MonkeyPatch) -> None:
    """NCCL reduces CUDA tensors only: the flags and sums all_ranks_true and sum_over_ranks
    reduce must be put on the rank's GPU there (they were CPU tensors, which NCCL refuses)."""
    import torch.distributed as dist

    from strata_grpo.distributed import collective_device

    assert collective_device() == torch.device("cpu")  # no process group
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_backend", lambda: "gloo")
    assert collective_device() == torch.device("cpu")
    monkeypatch.setattr(dist, "get_backend", lambda: "nccl")
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    assert collective_device() == torch.device("cuda", 3)


def test_gradients_are_averaged_in_one_collective(monkeypatch: pytest.MonkeyPatch) -> None:
    """One all_reduce over a flat buffer, not one per tensor; every gradient gets its mean."""
    import torch.distributed as dist

    import strata_grpo.distributed as d

    calls = []

    def two_equal_ranks(tensor: torch.Tensor, op: object = None) -> None:
        calls.append(tensor.numel())
        tensor.mul_(2)  # the other rank holds the same gradients

    monkeypatch.setattr(d, "rank_and_world", lambda: (0, 2))
    monkeypatch.setattr(dist, "all_reduce", two_equal_ranks)
    params = [torch.nn.Parameter(torch.randn(3, 4)) for _ in range(5)]
    for p in params[:4]:
        p.grad = torch.randn_like(p)
    expected = [p.grad.clone() for p in params[:4]]
    d.average_gradients(params)
    assert calls == [5 * 12]
    assert all(torch.equal(p.grad, e) for p, e in zip(params, expected, strict=False))
    assert params[4].grad is not None
    assert not params[4].grad.any()
