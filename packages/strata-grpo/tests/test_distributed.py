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
